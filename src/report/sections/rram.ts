/**
 * Report sections of the RRAM crossbar study: one run (`rram-run`), the budget sweep (`rram-sweep`)
 * and the tour's quick run (`rram-quick`). Paragraphs are computed from the results.
 */
import type { RramQuickResult, RramRunResult, RramSweepResult } from '../../experiments/rram.js';
import { barSpec, lineSpec } from '../charts.js';
import { pct, round, sig, times } from '../format.js';
import type { ReportFigure, ReportSection, ReportTable } from '../types.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

function layerTable(r: RramRunResult): ReportTable {
  return {
    title: 'Per layer (ratios against no termination on the same crossbars)',
    columns: ['layer', 'crossbars', 'MACs/image', 'computation removed', 'zero input planes', 'negative detection', 'adaptive', 'reads removed', 'energy ×', 'throughput ×'],
    rows: r.perLayer.map((l) => [
      l.layer,
      l.crossbars,
      Math.round(l.macs / r.images),
      pct(l.computeReduction),
      pct(l.skippedZeroPlaneFraction),
      pct(l.skippedNegativeFraction),
      pct(l.skippedAdaptiveFraction),
      pct(l.readReduction),
      times(l.energyRatio),
      times(l.throughputRatio),
    ]),
    note: "Computation = ADC conversions (bit line × input plane). Zero input planes: share of the conversions not made because a row tile's input bit-plane was all zero; negative detection and adaptive: shares of all (output, input plane) pairs.",
  };
}

function energyFigure(r: RramRunResult): ReportFigure {
  const rows = r.energyByComponent.flatMap((e) => [
    { component: `${e.component} (no termination)`, nJ: sig(e.baselineEnergyPj / 1000, 3) },
    { component: `${e.component} (${r.termination})`, nJ: sig(e.energyPj / 1000, 3) },
  ]);
  return { title: 'Energy per image by component (nJ)', spec: { $schema: SCHEMA, ...barSpec(rows, { category: 'component', value: 'nJ', valueTitle: 'nJ per image' }) } };
}

export function rramRunSection(r: RramRunResult): ReportSection {
  const same = r.samePredictions ? 'identical to' : 'different from';
  return {
    id: 'rram-run',
    title: `RRAM crossbars: ${r.model} on ${r.dataset}, termination ${r.termination}`,
    highlights: [
      { label: 'accuracy', value: pct(r.accuracy, 2), hint: `no termination ${pct(r.baselineAccuracy, 2)}` },
      { label: 'computation removed', value: pct(r.computeReduction), hint: 'paper: ~70 %' },
      { label: 'energy efficiency', value: times(r.energyRatio), hint: 'paper: > 2.9×' },
      { label: 'throughput', value: times(r.throughputRatio), hint: 'paper: > 2.8×' },
    ],
    paragraphs: [
      `${r.images} test images on ${r.crossbar.rows}×${r.crossbar.columns} crossbars (${r.crossbar.bitsPerCell} bits per cell, ${r.crossbar.signedEncoding} weights, ${r.crossbar.weightBits}-bit weights, ${r.crossbar.activationBits}-bit inputs applied ${r.crossbar.bitOrder}, bound '${r.crossbar.bound}', stopping per ${r.crossbar.granularity}). ` +
        `Termination removed ${pct(r.computeReduction)} of the ADC conversions (${pct(r.skippedZeroPlaneFraction)} of them as all-zero input bit-planes, ${pct(r.skippedNegativeFraction)} of all output-planes by early negative detection, ${pct(r.skippedAdaptiveFraction)} by adaptive termination) and ${pct(r.readReduction)} of the crossbar reads; the accuracy changed by ${(-r.accuracyLossPoints).toFixed(2)} points and the predictions are ${same} those without termination (hash ${r.predictionsHash} vs ${r.baselinePredictionsHash}). ` +
        `${r.changedPredictions} of ${r.images} predictions changed: one image is ${round(r.pointsPerImage, 3)} points and the standard error of the accuracy change is about ${round(r.accuracyStdErrPoints, 2)} points.`,
      `Energy ${times(r.energyRatio)} and throughput ${times(r.throughputRatio)} against the same crossbars without termination (ISAAC-like energy table, read cycle ${r.crossbar.readNs} ns, ${r.crossbar.adcsPerCrossbar} ADC per crossbar at ${r.crossbar.adcGsps} GS/s, column timing '${r.crossbar.columnTiming}', layers ${r.crossbar.pipeline}). The paper reports ~70 % of the computation removed with < 0.2 % accuracy loss, 2.9× energy efficiency and 2.8× throughput against ISAAC-class accelerators.`,
      ...(r.calibration
        ? [
            `Adaptive thresholds calibrated on ${r.calibration.images} held-out training images to a budget of ${r.calibration.budgetPoints} points (${r.calibration.metric}); held-out loss ${r.calibration.lossPoints.toFixed(2)} points; θ: ${Object.entries(
              r.thresholds,
            )
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}.`,
          ]
        : []),
    ],
    tables: [layerTable(r)],
    figures: [energyFigure(r)],
  };
}

export function rramSweepSection(r: RramSweepResult): ReportSection {
  const adaptive = r.rows.filter((x) => x.termination === 'adaptive');
  const best = adaptive.filter((x) => x.accuracyLossPoints <= 0.2).sort((a, b) => b.computeReduction - a.computeReduction)[0];
  const lossless = r.rows.find((x) => x.setting === 'lossless');
  const curve = [...(lossless ? [lossless] : []), ...adaptive].map((x) => ({
    reduction: round(100 * x.computeReduction, 2),
    loss: round(x.accuracyLossPoints, 3),
    setting: x.setting,
  }));
  return {
    id: 'rram-sweep',
    title: `RRAM crossbars: accuracy budget sweep, ${r.model} on ${r.dataset}`,
    paragraphs: [
      `${r.images} test images. Lossless (early negative detection only) removes ${pct(lossless?.computeReduction)} of the computation with ${lossless?.samePredictions ? 'identical' : 'DIFFERENT'} predictions. ` +
        (best
          ? `The largest reduction with ≤ 0.2 points of test accuracy loss is ${pct(best.computeReduction)} (${best.setting}: loss ${best.accuracyLossPoints.toFixed(2)} points, energy ${times(best.energyRatio)}, throughput ${times(best.throughputRatio)}); the paper reports ~70 %, 2.9× and 2.8×.`
          : 'No adaptive setting stayed within 0.2 points of test accuracy loss.'),
    ],
    figures: [
      {
        title: 'Trade-off: computation removed vs accuracy loss',
        spec: { $schema: SCHEMA, ...lineSpec(curve, { x: 'reduction', y: 'loss', xTitle: 'computation removed (%)', yTitle: 'accuracy loss (points)' }) },
      },
    ],
    tables: [
      {
        title: 'Settings',
        columns: [
          'setting',
          'accuracy',
          'loss (pp)',
          'held-out loss (pp)',
          'computation removed',
          'zero planes',
          'negative detection',
          'adaptive',
          'energy ×',
          'throughput ×',
          'changed predictions',
          's.e. (pp)',
        ],
        rows: r.rows.map((x) => [
          x.setting,
          pct(x.accuracy, 2),
          round(x.accuracyLossPoints, 2),
          x.heldOutLossPoints === null ? null : round(x.heldOutLossPoints, 2),
          pct(x.computeReduction),
          pct(x.skippedZeroPlaneFraction),
          pct(x.skippedNegativeFraction),
          pct(x.skippedAdaptiveFraction),
          times(x.energyRatio),
          times(x.throughputRatio),
          x.changedPredictions,
          round(x.accuracyStdErrPoints, 2),
        ]),
        note: 'Variation rows compare lossless against no termination on the same (varied) crossbars. s.e.: one standard error of the paired accuracy change, √(changed predictions)/images.',
      },
    ],
  };
}

export function rramQuickSections(r: RramQuickResult): ReportSection[] {
  if (!r.lossless || !r.adaptive) return [{ id: 'rram-quick', title: 'RRAM crossbars (skipped)', paragraphs: [`Skipped: ${r.skipped ?? 'no data'}.`] }];
  return [rramRunSection(r.lossless), rramRunSection(r.adaptive)].map((s, i) => ({ ...s, id: `rram-quick-${i}` }));
}
