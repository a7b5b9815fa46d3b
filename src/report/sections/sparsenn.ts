/**
 * Report sections for SparseNN: predictor training (`sparsenn-train`), the accelerator model
 * (`sparsenn-simulate`) and the tour's quick run (`sparsenn-quick`). Paragraphs are computed from the
 * result and state where the numbers fall short of the paper's.
 */
import type { SparseNNQuickResult, SparseNNSimulateResult, SparseNNTrainResult } from '../../experiments/sparsenn.js';
import { pct, points, round, sig, times } from '../format.js';
import type { ReportSection } from '../types.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

export function sparsennTrainSection(r: SparseNNTrainResult): ReportSection {
  const loss = r.accuracyLossPoints;
  const meets = r.overhead < 0.05 && loss <= 0.5;
  return {
    id: 'sparsenn-train',
    title: `SparseNN predictors: ${r.model} on ${r.dataset}`,
    highlights: [
      { label: 'accuracy (SparseNN)', value: pct(r.accuracy, 2), hint: `baseline ${pct(r.baselineAccuracy, 2)}` },
      { label: 'accuracy change', value: points(-loss / 100, 2), hint: 'vs the same network trained without predictors' },
      { label: 'predictor overhead', value: pct(r.overhead, 2), hint: 'predictor MACs / layer MACs (paper: < 5 %)' },
      { label: 'output sparsity', value: pct(r.outputSparsity), hint: `baseline ReLU ${pct(r.baselineOutputSparsity)}` },
      { label: 'false negatives', value: pct(r.falseNegativeRate, 2), hint: `false positives ${pct(r.falsePositiveRate, 2)}` },
    ],
    paragraphs: [
      `The network was trained ${r.config.pretrainEpochs} epoch(s), then ${r.config.epochs} more epoch(s) with rank-r predictors initialised from the truncated SVD of each ReLU layer and trained end to end (${r.config.method === 'ste' ? 'straight-through estimator on the mask' : 'sign-matching auxiliary loss'}); the baseline is the same network trained the same ${r.config.epochs} epoch(s) without predictors. ` +
        `Test accuracy ${pct(r.accuracy, 2)} against ${pct(r.baselineAccuracy, 2)} (${points(-loss / 100, 2)}) at ${pct(r.overhead, 2)} prediction overhead; the SVD-only predictor (conventional low-rank approximation, no joint training) on the pretrained network reaches ${pct(r.svd.accuracy, 2)} with ${pct(r.svd.falseNegativeRate, 2)} false negatives.`,
      meets
        ? `This meets the paper's claim (< 5 % overhead, negligible accuracy loss, read as ≤ 0.5 points).`
        : `This does not meet the paper's claim as read here (< 5 % overhead with ≤ 0.5 points accuracy loss): ${r.overhead >= 0.05 ? `overhead ${pct(r.overhead, 2)}` : ''}${r.overhead >= 0.05 && loss > 0.5 ? ', ' : ''}${loss > 0.5 ? `accuracy loss ${loss.toFixed(2)} points` : ''}.`,
    ],
    tables: [
      {
        title: 'Per layer (SparseNN network)',
        columns: ['layer', 'K', 'N', 'rank', 'overhead', 'input zeros', 'ReLU zeros', 'predicted zero', 'output zeros', 'false neg.', 'false pos.'],
        rows: r.perLayer.map((l) => [
          l.name,
          l.k,
          l.n,
          l.rank,
          pct(l.overhead, 2),
          pct(l.inputSparsity),
          pct(l.reluSparsity),
          pct(l.predictedSparsity),
          pct(l.outputSparsity),
          l.rank ? pct(l.falseNegativeRate, 2) : '–',
          l.rank ? pct(l.falsePositiveRate, 2) : '–',
        ]),
        note: 'Rates over the test images; false negatives are outputs predicted zero whose pre-activation is positive (they change the result), false positives outputs computed although the ReLU zeroes them (wasted work).',
      },
      ...(r.rankSweep.length
        ? [
            {
              title: `Rank sweep on the pretrained network (one rank for every ReLU layer; joint training ${r.config.rankSweepEpochs} epoch(s))`,
              columns: ['rank', 'overhead', 'SVD-only accuracy', 'SVD-only false neg.', 'joint accuracy', 'joint false neg.', 'predicted zero (joint)'],
              rows: r.rankSweep.map((x) => [
                x.rank,
                pct(x.overhead, 2),
                pct(x.svdAccuracy, 2),
                pct(x.svdFalseNegativeRate, 1),
                pct(x.accuracy, 2),
                pct(x.falseNegativeRate, 1),
                pct(x.predictedSparsity),
              ]),
            },
          ]
        : []),
    ],
  };
}

export function sparsennSimulateSection(r: SparseNNSimulateResult): ReportSection {
  const gain = r.throughputGainVsInputSparsity;
  const inRange = gain >= 0.1 && gain <= 0.7;
  const fig = {
    title: 'Cycles per image by layer',
    spec: {
      $schema: SCHEMA,
      width: 460,
      height: 240,
      data: {
        values: r.perLayer.flatMap((l) => [
          { layer: l.name, arch: 'dense', cycles: l.cyclesDense },
          { layer: l.name, arch: 'input-sparse', cycles: l.cyclesInputSparse },
          { layer: l.name, arch: 'sparsenn', cycles: l.cyclesSparseNN },
        ]),
      },
      mark: 'bar',
      encoding: {
        x: { field: 'layer', type: 'nominal', title: null, sort: null },
        xOffset: { field: 'arch', type: 'nominal' },
        y: { field: 'cycles', type: 'quantitative', title: 'cycles per image' },
        color: { field: 'arch', type: 'nominal', title: null, legend: { orient: 'bottom' } },
      },
    },
  };
  const sweep = r.peSweep.length
    ? [
        {
          title: 'PE-count sweep',
          columns: ['PEs', 'speed-up vs input-sparse', 'power ratio', 'energy ratio', 'speed-up vs dense'],
          rows: r.peSweep.map((p) => [
            p.pes,
            times(p.speedupVsInputSparsity),
            round(p.powerRatioVsInputSparsity, 3),
            round(p.energyRatioVsInputSparsity, 3),
            times(p.speedupVsDense),
          ]),
        },
      ]
    : [];
  return {
    id: 'sparsenn-simulate',
    title: `SparseNN accelerator: ${r.model}, ${r.config.accelerator.pes} PEs`,
    highlights: [
      { label: 'throughput vs input-sparse', value: `${gain >= 0 ? '+' : ''}${pct(gain)}`, hint: 'paper: +10 … +70 %' },
      { label: 'power vs input-sparse', value: `×${r.powerRatioVsInputSparsity.toFixed(2)}`, hint: 'paper: ≈ ×0.5' },
      { label: 'energy vs input-sparse', value: `×${r.energyRatioVsInputSparsity.toFixed(2)}` },
      { label: 'speed-up vs dense', value: times(r.speedupVsDense) },
    ],
    paragraphs: [
      `Cycle-level model on the activations of ${r.images} test images: every architecture has ${r.config.accelerator.pes} PEs with ${r.config.accelerator.macsPerPe} MAC(s) each and a network of ${r.config.accelerator.nocWordsPerCycle} word(s) per cycle (schedule '${r.config.accelerator.schedule}', V '${r.config.accelerator.vMapping}'). The baselines run the ${r.config.baselineNetwork === 'baseline' ? 'network trained without predictors' : 'SparseNN network without its predictors'}. Prediction is included in SparseNN's cycles and energy.`,
      `SparseNN's throughput is ${gain >= 0 ? '+' : ''}${pct(gain)} over the input-sparsity-only accelerator ${inRange ? "(inside the paper's 10–70 % range)" : gain < 0.1 ? "(below the paper's 10–70 %)" : "(above the paper's 10–70 %)"}; its power is ×${r.powerRatioVsInputSparsity.toFixed(2)} and its energy ×${r.energyRatioVsInputSparsity.toFixed(2)} of the baseline's ${r.powerRatioVsInputSparsity <= 0.6 ? "(about the paper's ≈ 50 % power reduction)" : "(short of the paper's ≈ 50 % power reduction)"}.`,
    ],
    figures: [fig],
    tables: [
      {
        title: 'Per architecture (per image)',
        columns: ['architecture', 'cycles', 'energy (nJ)', 'power (mW)', 'MACs', 'predictor MACs'],
        rows: r.architectures.map((a) => [
          a.arch,
          sig(a.cyclesPerExample, 4),
          sig(a.energyPerExamplePj / 1000, 4),
          sig(a.powerW * 1000, 4),
          sig(a.macs / a.examples, 4),
          sig(a.predictorMacs / a.examples, 4),
        ]),
      },
      {
        title: 'Per layer',
        columns: [
          'layer',
          'rank',
          'input zeros',
          'predicted zero',
          'cycles dense',
          'cycles input-sparse',
          'cycles SparseNN',
          'speed-up',
          'prediction share',
          'measured overhead',
          'load imbalance',
          'NoC utilisation',
        ],
        rows: r.perLayer.map((l) => [
          l.name,
          l.rank,
          pct(l.inputSparsity),
          pct(l.predictedSparsity),
          sig(l.cyclesDense, 4),
          sig(l.cyclesInputSparse, 4),
          sig(l.cyclesSparseNN, 4),
          times(l.speedupVsInputSparsity),
          pct(l.predictionShare),
          pct(l.measuredOverhead, 2),
          round(l.loadImbalance, 2),
          pct(l.nocUtilization),
        ]),
        note: 'Load imbalance: busiest PE ÷ mean PE work in the feed-forward phase. Measured overhead: predictor MACs ÷ the input-sparse feed-forward MACs actually executed.',
      },
      ...sweep,
      {
        title: 'SparseNN energy by action',
        columns: ['action', 'energy per image (nJ)', 'source'],
        rows: (r.architectures[2]?.byComponent ?? []).map((c) => [c.action, sig(c.energyPj / r.images / 1000, 4), c.source]),
      },
    ],
  };
}

export function sparsennQuickSections(r: SparseNNQuickResult): ReportSection[] {
  if (!r.train || !r.simulate) return [{ id: 'sparsenn-quick', title: 'SparseNN', paragraphs: [`Skipped: ${r.skipped ?? 'no data'}.`] }];
  return [sparsennTrainSection(r.train), sparsennSimulateSection(r.simulate)];
}
