/**
 * Report sections for the SRAM CIM macro: characterization (`cim-characterize`), network inference
 * on macros (`cim-infer`), the cost estimate (`cim-cost`) and the tour's quick run (`cim-quick`).
 * Figures are Vega-Lite v5 specs with inline data.
 */
import type { CimCharacterizeRun, CimCostRun, CimInferResult, CimQuickResult } from '../../experiments/cim.js';
import type { CharacterizeResult } from '../../hw/cim/characterize.js';
import { pct, points, round } from '../format.js';
import type { ReportFigure, ReportSection, ReportTable } from '../types.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

function transferFigure(r: CharacterizeResult): ReportFigure {
  const values = r.variants.flatMap((v) => v.transfer.map((t) => ({ variant: v.name, mac: t.mac, code: t.simulated, kind: 'simulated (mean over chips)' })));
  const ideal = r.variants.slice(0, 1).flatMap((v) => v.transfer.map((t) => ({ variant: 'ideal (configured step)', mac: t.mac, code: t.ideal, kind: 'ideal' })));
  return {
    title: 'Transfer curve: ideal vs simulated code',
    spec: {
      $schema: SCHEMA,
      width: 520,
      height: 300,
      data: { values: [...ideal, ...values] },
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'mac', type: 'quantitative', title: 'signed MAC input (4b×4b products summed)' },
        y: { field: 'code', type: 'quantitative', title: 'ADC code (9-b signed)' },
        color: { field: 'variant', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2 } },
        strokeDash: { field: 'kind', type: 'nominal', legend: null },
      },
    },
    caption: 'Codes saturate at ±256 outside the ADC range; boosted-clipping shrinks the LSB (steeper curve) and clips earlier.',
  };
}

function linearityFigure(r: CharacterizeResult): ReportFigure {
  const values = r.variants.flatMap((v) =>
    v.linearity.flatMap((p) => [
      { variant: v.name, code: p.code, metric: 'INL (LSB)', value: p.inl },
      { variant: v.name, code: p.code, metric: 'DNL (LSB)', value: p.dnl },
    ]),
  );
  return {
    title: 'INL and DNL (code density, chip 0)',
    spec: {
      $schema: SCHEMA,
      data: { values },
      facet: { row: { field: 'metric', type: 'nominal', title: null } },
      spec: {
        width: 520,
        height: 140,
        mark: { type: 'line', strokeWidth: 1 },
        encoding: {
          x: { field: 'code', type: 'quantitative', title: 'output code' },
          y: { field: 'value', type: 'quantitative', title: 'LSB' },
          color: { field: 'variant', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2 } },
        },
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

function histogramFigure(r: CharacterizeResult): ReportFigure {
  const values = r.variants.flatMap((v) => {
    const total = v.errorHistogram.reduce((s, h) => s + h.count, 0) || 1;
    return v.errorHistogram.map((h) => ({ variant: v.name, error: h.error, fraction: h.count / total }));
  });
  return {
    title: 'Error histogram (simulated − ideal code)',
    spec: {
      $schema: SCHEMA,
      width: 520,
      height: 220,
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'error', type: 'ordinal', title: 'code error (LSB, clamped to ±10)' },
        xOffset: { field: 'variant', type: 'nominal' },
        y: { field: 'fraction', type: 'quantitative', title: 'fraction of conversions' },
        color: { field: 'variant', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2 } },
      },
    },
  };
}

function characterizeTable(r: CharacterizeResult): ReportTable {
  return {
    title: 'Characterization per technique setting',
    columns: [
      'setting',
      'LSB (MAC units)',
      'boost',
      'margin (mV/LSB)',
      'RMS error (LSB)',
      'RMS error (MAC)',
      'max |INL| (LSB)',
      'max |DNL| (LSB)',
      'worst-chip INL',
      'DNN-like RMS error (MAC)',
      'DNN-like clip rate',
    ],
    rows: r.variants.map((v) => [
      v.name,
      v.design.step,
      v.design.boost,
      round(v.marginMvPerLsb, 3),
      round(v.rmsErrorLsb, 3),
      round(v.rmsErrorMac, 2),
      round(v.inlMaxLsb, 2),
      round(v.dnlMaxLsb, 2),
      round(v.inlWorstLsb, 2),
      round(v.typicalRmsErrorMac, 2),
      round(v.typicalClipRate, 3),
    ]),
    note: `Mean over ${r.chips} Monte-Carlo chips (mismatch draws), ${r.rows} rows per conversion, noise ×${r.noiseScale}${r.ideal ? ', every non-ideality OFF' : ''}. RMS error in MAC units compares settings with different LSBs; "DNN-like" columns: 50 % zero inputs, Gaussian 4-b weights, error of the reconstructed MAC including clipping.`,
  };
}

export function cimCharacterizeSection(run: CimCharacterizeRun | { kind: 'cim-characterize'; result: CharacterizeResult }): ReportSection {
  const r = run.result;
  return {
    id: 'cim-characterize',
    title: 'SRAM CIM macro: characterization',
    highlights: [
      { label: 'RMS error', value: `${r.rmsErrorLsb.toFixed(2)} LSB`, hint: r.variants[0].name },
      { label: 'max |INL|', value: `${r.inlMaxLsb.toFixed(2)} LSB` },
      { label: 'max |DNL|', value: `${r.dnlMaxLsb.toFixed(2)} LSB` },
      { label: 'Signal margin', value: `${r.marginMvPerLsb.toFixed(2)} mV/LSB` },
    ],
    paragraphs: [
      'Behavioral model of the 4b×4b SRAM CIM macro of arXiv 2307.05944 as reconstructed in docs/cim.md: inputs as word-line pulse widths, 4 cells per weight on one column, discharge of BL/BLB with a voltage-dependent cell current, a 9-b binary-search ADC built from reference cells discharging the same bit lines, MAC-folding and boosted-clipping as switchable modes. Every mechanism beyond the abstract is a hypothesis (the PDF was not available).',
      'Linearity test: a stimulus hits every code bin evenly (code-density INL/DNL); the DNN-like error shows what a network sees.',
    ],
    figures: [transferFigure(r), linearityFigure(r), histogramFigure(r)],
    tables: [
      characterizeTable(r),
      {
        title: 'Monte-Carlo over chips (configured setting)',
        columns: ['chip', 'RMS error (LSB)', 'max |INL|', 'max |DNL|'],
        rows: r.variants[0].monteCarlo.map((m) => [m.chip, round(m.rmsErrorLsb, 3), round(m.inlMaxLsb, 2), round(m.dnlMaxLsb, 2)]),
      },
    ],
  };
}

export function cimInferSection(r: CimInferResult): ReportSection {
  const sweepValues = [
    ...r.noiseSweep.map((s) => ({ setting: s.setting, noise: s.noiseScale, accuracy: s.accuracy })),
    ...[...new Set(r.noiseSweep.map((s) => s.noiseScale))].map((n) => ({ setting: 'ideal 4-bit (no macro)', noise: n, accuracy: r.ideal4bitSweepAccuracy })),
  ];
  const baseline = r.techniques.find((t) => t.macFolding === 'off' && t.boostedClipping === 'off');
  return {
    id: 'cim-infer',
    title: `Network inference on CIM macros: ${r.model} on ${r.dataset}`,
    highlights: [
      { label: 'Float', value: pct(r.floatAccuracy, 2) },
      { label: 'Ideal 4-bit', value: pct(r.ideal4bitAccuracy, 2) },
      { label: 'Macro, both techniques', value: pct(r.enhanced.accuracy, 2), hint: `${r.enhanced.images} images, noise ×1` },
      {
        label: 'Macro vs ideal 4-bit',
        value: points(r.enhanced.accuracy - r.ideal4bitAccuracy, 2),
        hint: r.lossVsIdealPoints <= 1 ? 'within the 1 pp loss target' : 'above the 1 pp loss target',
      },
    ],
    paragraphs: [
      `Weights 4-b per-channel symmetric (−7…7), activations 4-b unsigned, per-layer clip at the ${(100 * r.config.percentile).toFixed(2)}th percentile. Each layer is tiled onto ${r.config.macro.rows ?? 64}-row macros (${r.macrosUsed} macro instances, each with its own mismatch draw); partial sums of row tiles are added digitally after each 9-b conversion. ${r.macsPerImage.toLocaleString('en')} MACs per image; the macro in the loop ran at ${(r.simulatedMacsPerSecond / 1e6).toFixed(1)} M simulated MACs/s.`,
      r.layerBoost && r.layerBoost.length > 0
        ? `Boosted-clipping β per layer (${r.boostMode === 'auto' ? 'auto: calibrated on training images, see the table below' : 'fixed'}): ${r.layerBoost.map((b) => `${b.name} ×${b.boost}`).join(', ')}.`
        : '',
      baseline
        ? `Technique recovery at the default noise (${baseline.images} images): both off ${pct(baseline.accuracy, 2)}; ${r.techniques
            .filter((t) => t !== baseline)
            .map((t) => `${t.setting} ${pct(t.accuracy, 2)} (${points(t.accuracy - baseline.accuracy)})`)
            .join('; ')}.`
        : '',
      r.qat?.ran
        ? `Quantization-aware fine-tuning: ${r.qat.epochs} epoch(s) on ${r.qat.trainImages} training images (Adam, lr ${r.qat.lr}, fake quantization matching the inference quantizer, straight-through estimator): ideal 4-bit ${pct(r.qat.ideal4bitAccuracyBefore ?? 0, 2)} → ${pct(r.qat.ideal4bitAccuracyAfter ?? 0, 2)}, float ${pct(r.qat.floatAccuracyBefore ?? 0, 2)} → ${pct(r.qat.floatAccuracyAfter ?? 0, 2)}.`
        : '',
    ],
    figures: [
      {
        title: 'Accuracy vs noise level, each technique on/off',
        spec: {
          $schema: SCHEMA,
          width: 460,
          height: 260,
          data: { values: sweepValues },
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'noise', type: 'quantitative', title: 'noise scale (× default mismatch, offsets, comparator noise)' },
            y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', axis: { format: '.0%' }, scale: { zero: false } },
            color: { field: 'setting', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1 } },
          },
        },
        caption: `Noise sweep on the first ${r.noiseSweep[0]?.images ?? 0} test images.`,
      },
    ],
    tables: [
      {
        title: 'Accuracy per setting',
        columns: ['setting', 'noise ×', 'images', 'accuracy', 'ADC clip rate', 'seconds'],
        rows: [
          ['float (no quantization)', '–', r.config.testLimit, round(r.floatAccuracy * 100, 3), '–', '–'],
          ['ideal 4-bit (exact integer MACs)', '–', r.config.testLimit, round(r.ideal4bitAccuracy * 100, 3), '–', '–'],
          [`${r.enhanced.setting} (full test set)`, 1, r.enhanced.images, round(r.enhanced.accuracy * 100, 3), round(r.enhanced.clipRate, 3), round(r.enhanced.seconds, 2)],
          ...r.noiseSweep.map((s) => [s.setting, s.noiseScale, s.images, round(s.accuracy * 100, 3), round(s.clipRate, 3), round(s.seconds, 2)]),
        ],
        note: 'Accuracy in %. Clip rate: fraction of conversions at the end codes.',
      },
      ...(r.layerBoost && r.layerBoost.length > 0
        ? [
            {
              title:
                r.boostMode === 'auto'
                  ? `Boost β per layer (auto: largest power of two ≤ ${r.config.maxBoost} with partial-sum clip rate ≤ ${r.config.clipRateTarget} on ${r.config.boostCalibCount} training images)`
                  : 'Boost β per layer (fixed)',
              columns: [
                'layer',
                'β',
                'ADC step (MAC)',
                'clip level ±(MAC)',
                'σ partial sum (MAC)',
                'max |partial sum|',
                'max line cell-time / budget (T0)',
                'calib. clip rate',
                'partial sums',
              ],
              rows: r.layerBoost.map((b) => [
                b.name,
                b.boost,
                b.step,
                b.fullScaleMac,
                round(b.sigma, 2),
                b.maxAbs,
                b.lineMax === null || b.lineMax === undefined ? '–' : `${b.lineMax} / ${round(b.lineBudget, 2)}`,
                b.clipRate.toExponential(1),
                b.partialSums,
              ]),
              note: `Per-macro-column partial sums (${r.config.macro.rows ?? 64} rows per conversion) of the exact 4-bit network on training images, for the fully enhanced setting. β shrinks the ADC step to stepFull/β; partial sums beyond the clip level saturate.`,
            },
          ]
        : []),
      ...(r.cost
        ? [
            {
              title: `Energy and latency per image by layer (ESTIMATE at ${r.cost.nodeNm} nm; ${round(r.cost.energyPerImagePj / 1e3, 2)} nJ, ${round(r.cost.latencyPerImageS * 1e6, 2)} µs, ${round(r.cost.topsPerW, 2)} TOPS/W)`,
              columns: ['layer', 'β', 'macros', 'conversions', 'MACs', 'energy (pJ)', 'latency (µs)'],
              rows: r.cost.layers.map((l) => [l.layer, l.boost, l.macros, Math.round(l.conversions), Math.round(l.macs), round(l.energyPj, 2), round(l.latencyS * 1e6, 3)]),
              note: 'Action counts measured during the fully enhanced run (word-line pulses, bit-line charge, ADC steps, comparator decisions, digital adds), priced by the sram-cim rows of src/hw/energy.ts; each layer at its own β. Layers run one after the other, the tiles of a layer in parallel.',
            },
          ]
        : []),
    ],
  };
}

export function cimCostSection(run: CimCostRun): ReportSection {
  const r = run.result;
  const parts = Object.entries(r.breakdownFj).map(([part, fj]) => ({ part, fj }));
  return {
    id: 'cim-cost',
    title: 'SRAM CIM macro: cost estimate',
    highlights: [
      { label: 'Estimated efficiency', value: `${r.topsPerW.toFixed(0)} TOPS/W`, hint: `ESTIMATE at ${r.nodeNm} nm, ${r.vdd} V` },
      { label: 'Paper (measured)', value: `${r.paperTopsPerW} TOPS/W` },
      { label: 'Energy per MAC', value: `${r.energyPerMacFj.toFixed(2)} fJ` },
      { label: 'Throughput', value: `${r.gops.toFixed(0)} GOPS`, hint: `${r.columns} columns × ${r.rows} rows, ${r.latencyNs.toFixed(1)} ns per conversion` },
    ],
    paragraphs: [
      r.note,
      '1 MAC = 2 OPs. The estimate counts bit-line, word-line, reference, comparator and digital energy per conversion from the parameters in src/hw/energy.ts; it omits leakage, clock and timing generation, I/O and test overhead, so it is an optimistic bound.',
    ],
    figures: [
      {
        title: 'Energy per conversion by component (fJ)',
        spec: {
          $schema: SCHEMA,
          width: 400,
          height: 160,
          data: { values: parts },
          mark: 'bar',
          encoding: { y: { field: 'part', type: 'nominal', title: null, sort: '-x' }, x: { field: 'fj', type: 'quantitative', title: 'fJ per conversion' } },
        },
      },
    ],
    tables: [
      {
        title: 'Cost per technique setting (estimate)',
        columns: ['folding', 'boosted-clipping', 'fJ/conversion', 'fJ/MAC', 'latency (ns)', 'GOPS', 'TOPS/W', 'TOPS/W·b² (1b×1b)', 'TOPS/mm²'],
        rows: run.variants.map((v) => [
          v.macFolding,
          v.boostedClipping,
          round(v.energyPerConversionFj, 2),
          round(v.energyPerMacFj, 3),
          round(v.latencyNs, 2),
          round(v.gops, 2),
          round(v.topsPerW, 2),
          round(v.topsPerWBinary, 2),
          round(v.topsPerMm2, 2),
        ]),
        note: `Paper: ${r.paperTopsPerW} TOPS/W (conditions not retrieved).`,
      },
      ...(r.energy
        ? [
            {
              title: `Action counts per conversion and their price (configured macro, ${r.energy.tech.nodeNm} nm, ${r.energy.tech.vdd} V)`,
              columns: ['component', 'action', 'count per conversion', 'fJ per action', 'fJ per conversion', 'source'],
              rows: r.energy.rows.map((a) => [
                a.component,
                a.action,
                round(a.count / r.conversions, 3),
                round(a.energyPerActionPj * 1e3, 3),
                round((a.energyPj * 1e3) / r.conversions, 2),
                a.source,
              ]),
            },
          ]
        : []),
    ],
  };
}

export function cimQuickSections(r: CimQuickResult): ReportSection[] {
  const out: ReportSection[] = [cimCharacterizeSection({ kind: 'cim-characterize', result: r.characterize }), cimCostSection(r.cost)];
  if (r.infer) out.push(cimInferSection(r.infer));
  else if (r.inferSkipped) out.push({ id: 'cim-infer', title: 'Network inference on CIM macros', paragraphs: [`Skipped: ${r.inferSkipped}`] });
  return out;
}
