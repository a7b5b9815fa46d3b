/**
 * Report sections for federated learning: one run (`kind: 'fl'`), PKD vs FedAvg (`fl-compare`)
 * and the weak-class consistency grid (`fl-consistency`). The sections render what the results say:
 * deltas, target checks and the headline setting are computed in experiments/fl.ts.
 */
import type { FlCompareResult, FlConsistencyResult, FlRunResult } from '../../experiments/fl.js';
import { barSpec, heatmapSpec, lineSpec } from '../charts.js';
import type { Cell, ReportFigure, ReportSection, ReportTable } from '../types.js';
import { pct, round, signed } from '../format.js';

const r4 = (v: number | null | undefined): number | null => round(v, 4);
const pm = (x: [number, number] | null | undefined): string => (x ? `${pct(x[0])} ± ${pct(x[1])}` : '–');

function confusionFigure(confusion: number[][], names: string[], title: string): ReportFigure {
  const cells: Record<string, unknown>[] = [];
  confusion.forEach((row, t) => {
    const n = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      cells.push({ true: names[t], predicted: names[p], count, rate: n ? count / n : 0 });
    });
  });
  return {
    title,
    spec: heatmapSpec(cells, {
      row: 'true',
      column: 'predicted',
      value: 'rate',
      text: 'count',
      order: names,
      rowTitle: 'true class',
      columnTitle: 'predicted class',
      valueTitle: 'row rate',
      size: 360,
    }),
    caption: 'Rows: true class; colour: fraction of the row; numbers: counts. Weak classes lose most of their errors to the other members of their group.',
  };
}

/** Grouped bars: per-class accuracy of several methods side by side. */
function groupedBars(rows: { class: string; method: string; accuracy: number }[], order: string[]): Record<string, unknown> {
  const methods = new Set(rows.map((r) => r.method)).size;
  return {
    width: 420,
    // One band per class, subdivided per method: about 5 px per bar.
    height: { step: Math.max(16, 5 * methods + 6) },
    data: { values: rows },
    mark: { type: 'bar', cornerRadiusEnd: 2 },
    encoding: {
      y: { field: 'class', type: 'nominal', sort: order, title: null },
      yOffset: { field: 'method', type: 'nominal' },
      x: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      color: { field: 'method', type: 'nominal', title: null, legend: { orient: 'bottom' } },
    },
  };
}

// ---------------------------------------------------------------- PKD vs FedAvg: gains per seed

/** A difference of fractions as signed percentage points with one decimal: "+5.2", "−0.3", "0.0". */
export function signedPp(d: number | null | undefined): string {
  return signed(d === null || d === undefined ? d : 100 * d, 1);
}

const pp2 = (d: number): number => Number(round(100 * d, 2));
const METHOD_LABEL_LIMIT = 520;

/** PKD settings in summary order, then any others that appear only in the rows. */
function pkdMethods(r: FlCompareResult): string[] {
  const order = [...r.summary.map((s) => s.method), ...r.rows.map((x) => x.method)];
  return [...new Set(order)].filter((m) => m !== 'fedavg');
}

/**
 * One panel of the gain dot-plot: per-seed dots (colour = seed), mean (black tick) ± 1 std (bar),
 * a dashed line at zero and the target region shaded green.
 */
function gainPanel(
  dots: Record<string, unknown>[],
  stats: Record<string, unknown>[],
  methods: string[],
  o: { title: string[]; target: number; showLabels: boolean; seeds: string[] },
): Record<string, unknown> {
  const y = {
    field: 'method',
    type: 'nominal',
    sort: methods,
    scale: { domain: methods },
    title: null,
    axis: o.showLabels ? { labelLimit: METHOD_LABEL_LIMIT, labelFontSize: 11 } : { labels: false, ticks: false, domain: false, title: null },
  };
  const xField = (field: string) => ({ field, type: 'quantitative', title: o.title, scale: { zero: true, nice: true } });
  return {
    width: 260,
    height: { step: 26 },
    layer: [
      {
        data: { values: [{ x: o.target }] },
        mark: { type: 'rect', color: '#16a34a', opacity: 0.08 },
        encoding: { x: xField('x'), x2: { value: 'width' } },
      },
      {
        data: { values: [{ x: o.target }] },
        mark: { type: 'rule', color: '#16a34a', strokeDash: [5, 3], strokeWidth: 1.5 },
        encoding: { x: xField('x') },
      },
      { data: { values: [{ x: 0 }] }, mark: { type: 'rule', color: '#98a2b3' }, encoding: { x: xField('x') } },
      {
        data: { values: stats },
        mark: { type: 'rule', color: '#344054', strokeWidth: 2 },
        encoding: { y, x: xField('lo'), x2: { field: 'hi' } },
      },
      {
        data: { values: dots },
        mark: { type: 'point', filled: true, size: 42, opacity: 0.85 },
        encoding: {
          y,
          x: xField('value'),
          color: { field: 'seed', type: 'nominal', title: 'seed', sort: o.seeds, scale: { domain: o.seeds }, legend: { orient: 'bottom', direction: 'horizontal' } },
        },
      },
      {
        data: { values: stats },
        mark: { type: 'tick', color: '#101828', thickness: 3, size: 18 },
        encoding: { y, x: xField('mean') },
      },
    ],
  };
}

/** Figure: Δ weak-class mean and Δ accuracy (pp) of every PKD setting over FedAvg, per seed and mean ± std. */
function gainFigure(r: FlCompareResult): ReportFigure | null {
  const deltas = r.deltas;
  if (!deltas.length) return null;
  const methods = r.gains.map((g) => g.method);
  const seeds = [...new Set(deltas.map((d) => d.seed))].sort((a, b) => a - b).map(String);
  const panel = (key: 'weakMean' | 'accuracy') => {
    const dots = deltas.filter((d) => Number.isFinite(d[key])).map((d) => ({ method: d.method, seed: String(d.seed), value: pp2(d[key]) }));
    const stats = r.gains.flatMap((g) => {
      const s = g[key];
      return s ? [{ method: g.method, mean: pp2(s[0]), lo: pp2(s[0] - s[1]), hi: pp2(s[0] + s[1]), n: g.n }] : [];
    });
    return { dots, stats };
  };
  const w = panel('weakMean');
  const a = panel('accuracy');
  const meanMeets = r.gains.filter((g) => g.meetsTarget).map((g) => g.method);
  const seedMeets = r.gains.reduce((n, g) => n + g.seedsMeetingTarget, 0);
  const weakPp = signedPp(r.target.weakGain);
  const accPp = signedPp(r.target.accuracyLoss);
  return {
    title: 'Weak-class gain vs overall-accuracy change per setting',
    wide: true,
    spec: {
      hconcat: [
        gainPanel(w.dots, w.stats, methods, {
          title: ['Δ weak-class mean vs FedAvg (pp)', `target: ≥ ${weakPp} (green)`],
          target: 100 * r.target.weakGain,
          showLabels: true,
          seeds,
        }),
        gainPanel(a.dots, a.stats, methods, {
          title: ['Δ overall accuracy vs FedAvg (pp)', `target: ≥ ${accPp} (green)`],
          target: 100 * r.target.accuracyLoss,
          showLabels: false,
          seeds,
        }),
      ],
      spacing: 18,
      resolve: { scale: { color: 'shared', y: 'shared' } },
    },
    caption: `Each dot is one seed: the PKD setting minus the FedAvg run of the same seed. Black tick: mean over seeds; bar: ± 1 standard deviation. Green: the target region (weak-class mean ≥ ${weakPp} pp and overall accuracy ≥ ${accPp} pp); a setting meets the target only when it is inside both. On average: ${meanMeets.length ? meanMeets.join('; ') : 'no setting'}; single runs inside both: ${seedMeets} of ${deltas.length}.`,
  };
}

/** Figure: within-group accuracy of the expert, the PKD global model (warm-up, end) and FedAvg's final model (mean over seeds and groups ± std). */
function expertFigure(r: FlCompareResult): ReportFigure | null {
  const measures = ['expert', 'PKD global after warm-up', 'PKD global at the end', 'FedAvg global at the end'];
  const keys = ['expert', 'warmup', 'final', 'fedavg'] as const;
  const stats: Record<string, unknown>[] = [];
  for (const s of r.summary) {
    if (s.method === 'fedavg') continue;
    keys.forEach((k, i) => {
      const v = s.withinGroupAccuracy[k];
      if (v) stats.push({ method: s.method, measure: measures[i], mean: r4(v[0]), lo: r4(v[0] - v[1]), hi: r4(v[0] + v[1]) });
    });
  }
  if (!stats.length) return null;
  const shown = pkdMethods(r).filter((m) => stats.some((s) => s.method === m));
  const y = { field: 'method', type: 'nominal', sort: shown, title: null, axis: { labelLimit: METHOD_LABEL_LIMIT, labelFontSize: 11 } };
  const yOffset = { field: 'measure', type: 'nominal', sort: measures, scale: { domain: measures, paddingInner: 0.2 } };
  const color = {
    field: 'measure',
    type: 'nominal',
    title: null,
    sort: measures,
    scale: { domain: measures, range: ['#9333ea', '#98a2b3', '#2563eb', '#f59e0b'] },
    legend: { orient: 'bottom', direction: 'horizontal' },
  };
  const x = (field: string) => ({
    field,
    type: 'quantitative',
    title: 'within-group accuracy (test images of the group, argmax over its classes)',
    scale: { zero: false, nice: true },
    axis: { format: '.1~%' },
  });
  return {
    title: 'Within-group accuracy: expert, PKD and FedAvg global models',
    wide: true,
    spec: {
      width: 360,
      // With yOffset the step is per measure: four measures and padding make one method's band.
      height: { step: 11 },
      data: { values: stats },
      layer: [
        { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y, yOffset, x: x('lo'), x2: { field: 'hi' }, color } },
        { mark: { type: 'point', filled: true, size: 50, opacity: 1 }, encoding: { y, yOffset, x: x('mean'), color } },
      ],
    },
    caption:
      'Dot: mean over seeds and weak groups; bar: ± 1 standard deviation. Every model is scored with the argmax restricted to the group’s classes, like the expert. PKD at the end minus FedAvg at the end is the in-group gain of the distillation; an expert that is not better than the warm-up global model has little to distil.',
  };
}

/** Figure: per-class change of every PKD setting over FedAvg (pp, mean over seeds of the per-seed differences). */
function classDeltaFigure(r: FlCompareResult): ReportFigure | null {
  const cells: { method: string; class: string; delta: number }[] = [];
  for (const g of r.gains) {
    r.classNames.forEach((name, c) => {
      const d = g.perClass[c];
      if (d !== null) cells.push({ method: g.method, class: name, delta: pp2(d) });
    });
  }
  if (!cells.length) return null;
  const shown = pkdMethods(r).filter((m) => cells.some((x) => x.method === m));
  // Clamped at ±15 pp so that a diverged setting does not wash out the colours of the others (the numbers stay exact).
  const span = Math.min(15, Math.max(5, ...cells.map((x) => Math.abs(x.delta))));
  return {
    title: 'Per-class change over FedAvg, every setting',
    wide: true,
    spec: {
      width: { step: 56 },
      height: { step: 24 },
      data: { values: cells },
      encoding: {
        x: { field: 'class', type: 'nominal', sort: r.classNames, title: null, axis: { orient: 'top', labelAngle: -30 } },
        y: { field: 'method', type: 'nominal', sort: shown, title: null, axis: { labelLimit: METHOD_LABEL_LIMIT, labelFontSize: 11 } },
      },
      layer: [
        {
          mark: { type: 'rect', stroke: '#ffffff', strokeWidth: 1 },
          encoding: {
            color: {
              field: 'delta',
              type: 'quantitative',
              title: 'Δ pp',
              scale: { domain: [-span, 0, span], range: ['#b42318', '#f9fafb', '#15803d'], interpolate: 'rgb', clamp: true },
            },
          },
        },
        { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'delta', type: 'quantitative', format: '+.1f' }, color: { value: '#1f2937' } } },
      ],
    },
    caption:
      'Test accuracy of each class under the setting minus FedAvg of the same seed, in percentage points, mean over seeds. Green: the class gained; red: it lost. A gain on the weak classes paid for by their group partners shows as green next to red in the same row.',
  };
}

export function flSection(r: FlRunResult): ReportSection {
  const names = r.classNames;
  const weak = new Set(r.final.weak);
  const evals = r.rounds.filter((x) => x.eval);
  const icd: Record<string, unknown>[] = [];
  for (const x of evals) {
    icd.push({ round: x.round, metric: 'inter-class discrepancy (max − min)', value: x.eval!.interClassDiscrepancy });
    icd.push({ round: x.round, metric: 'per-class accuracy std', value: x.eval!.perClassAccuracyStd });
    icd.push({ round: x.round, metric: 'overall accuracy', value: x.eval!.accuracy });
  }
  const figures: ReportFigure[] = [
    {
      title: 'Per-class accuracy of the global model',
      spec: barSpec(
        r.final.perClass.map((a, c) => ({ class: names[c], accuracy: a, weak: weak.has(c) })),
        { category: 'class', value: 'accuracy', valueTitle: 'test accuracy', valueDomain: [0, 1], valueFormat: '.0%', highlight: 'weak' },
      ),
      caption: `Orange: weak classes (${r.config.weakRule === 'bottom-k' ? `the ${r.config.weakK} lowest` : `more than ${(100 * r.config.weakDelta).toFixed(0)} pp below the mean`}).`,
    },
    {
      title: 'Inter-class discrepancy over rounds',
      spec: lineSpec(icd, { x: 'round', y: 'value', series: 'metric', xTitle: 'round', yTitle: 'fraction', yFormat: '.0%' }),
      caption: r.pkd ? `Rounds 1–${r.config.pkd.warmupRounds} are the warm-up (plain FedAvg); PKD starts after it.` : undefined,
    },
    confusionFigure(r.final.confusion, names, 'Confusion matrix (final global model)'),
  ];
  const tables: ReportTable[] = [
    {
      title: 'Per-class accuracy',
      columns: ['class', 'accuracy', 'weak'],
      rows: r.final.perClass.map((a, c) => [names[c], r4(a), weak.has(c)]),
    },
    {
      title: 'Rounds',
      columns: ['round', 'phase', 'accuracy', 'inter-class discrepancy', 'per-class std', 'weak classes', 'KD-triggered samples', 'duration (s)'],
      rows: r.rounds.map((x) => [
        x.round,
        x.phase,
        r4(x.eval?.accuracy),
        r4(x.eval?.interClassDiscrepancy),
        r4(x.eval?.perClassAccuracyStd),
        x.eval ? x.eval.weak.map((c) => names[c]).join(', ') : null,
        x.kdTriggered,
        Number(x.durationS.toFixed(1)),
      ]),
    },
    {
      title: 'Client class histograms',
      columns: ['client', ...names],
      rows: r.histograms.map((h, k) => [k, ...h] as Cell[]),
      note: `${r.config.partition} partition over ${r.config.clients} clients.`,
    },
  ];
  const paragraphs = [
    `${r.config.method === 'pkd' ? 'PKD' : 'FedAvg'} on ${r.dataset} with ${r.config.model}, ${r.config.clients} clients (${r.config.partition}), ${r.rounds.length} rounds of ${r.config.epochs} local epoch(s), executor ${r.executor}. Accuracy per class is measured on the ${r.numTest} test images after every evaluated round.`,
  ];
  if (r.pkd) {
    paragraphs.push(
      `Weak classes identified on the ${r.pkd.identifiedOn} data after the warm-up: ${r.pkd.weak.map((c) => names[c]).join(', ') || 'none'}; groups of mutually confused classes: ${r.pkd.groups.map((g) => `{${g.map((c) => names[c]).join(', ')}}`).join(' ') || 'none'}.`,
    );
    tables.push({
      title: 'Weak groups and experts',
      columns: [
        'group',
        'expert rounds',
        'within-group acc.: expert',
        'within-group acc.: global after warm-up',
        'within-group acc.: global at the end',
        'global at the end, argmax over all classes',
      ],
      rows: r.pkd.experts.map((e) => [
        e.groupNames.join(', '),
        e.rounds,
        r4(e.withinGroupAccuracy.expert),
        r4(e.withinGroupAccuracy.warmup),
        r4(e.withinGroupAccuracy.final),
        r4(e.accuracyOnGroup.final),
      ]),
      note: 'Accuracy on the test images of the group. Within-group: argmax over the group’s classes only, comparable with the expert.',
    });
  }
  return {
    id: `fl-${r.config.method}-${r.dataset}`,
    title: `Federated learning: ${r.config.method === 'pkd' ? 'PKD' : 'FedAvg'} on ${r.dataset}`,
    highlights: [
      { label: 'Accuracy', value: pct(r.final.accuracy) },
      { label: 'Inter-class discrepancy (max − min)', value: pct(r.final.interClassDiscrepancy), hint: `per-class std ${pct(r.final.perClassAccuracyStd)}` },
      { label: 'Weak classes', value: r.final.weak.map((c) => names[c]).join(', ') || '–', hint: `mean ${pct(r.final.weakMean)}` },
      { label: 'Throughput', value: `${r.roundsPerMinute.toFixed(2)} rounds/min`, hint: r.executor },
    ],
    paragraphs,
    figures,
    tables,
  };
}

export function flCompareSection(r: FlCompareResult): ReportSection {
  const names = r.classNames;
  const head = r.headline;
  // Bars for FedAvg and the headline setting only (every setting's per-class change is in the heatmap).
  const methods = r.summary.map((s) => s.method).filter((m) => m === 'fedavg' || m === head?.method);
  const bars: { class: string; method: string; accuracy: number }[] = [];
  for (const m of methods) {
    const rs = r.rows.filter((x) => x.method === m);
    names.forEach((n, c) => {
      bars.push({ class: n, method: m, accuracy: rs.reduce((a, x) => a + x.perClass[c], 0) / Math.max(1, rs.length) });
    });
  }
  const fed = r.summary.find((s) => s.method === 'fedavg');
  const best = r.summary.find((s) => s.method === head?.method);
  const gain = r.gains.find((g) => g.method === head?.method);
  const skipped = r.seedsWithoutFedavg;
  const weakPp = signedPp(r.target.weakGain);
  const accPp = signedPp(r.target.accuracyLoss);
  const meanPp = (x: [number, number] | null | undefined) => (x ? signedPp(x[0]) : '–');
  return {
    id: 'fl-compare',
    title: `PKD vs FedAvg on ${r.base.dataset}`,
    highlights: [
      { label: 'FedAvg weak-class mean', value: pm(fed?.weakMean) },
      {
        label: 'Best PKD weak-class mean',
        value: pm(best?.weakMean),
        hint: head ? `${head.method}${head.meetsAccuracy ? '' : ` (no setting keeps accuracy within ${accPp} pp)`}` : undefined,
      },
      { label: 'Gain (weak mean)', value: gain ? `${meanPp(gain.weakMean)} pp` : '–', hint: `target ≥ ${weakPp} pp` },
      { label: 'Overall accuracy change', value: gain ? `${meanPp(gain.accuracy)} pp` : '–', hint: `target ≥ ${accPp} pp` },
      { label: 'In-group gain over FedAvg', value: gain?.withinGroupAccuracy ? `${meanPp(gain.withinGroupAccuracy)} pp` : '–', hint: 'within-group accuracy, PKD − FedAvg' },
    ],
    paragraphs: [
      `Same total global rounds (${r.base.rounds}) for every method, seeds ${r.seeds.join(', ')}; ${r.base.model}, ${r.base.clients} clients, ${r.base.partition}${r.base.trainLimit ? `, first ${r.base.trainLimit} training images` : ''}. The weak set of a seed is the one PKD identified after its warm-up; FedAvg is scored on the same set and, inside each PKD group, with the same within-group argmax. Mean ± standard deviation over seeds.`,
    ],
    figures: [
      {
        title: `Per-class accuracy, mean over seeds: FedAvg and ${head ? `“${head.method}”` : 'PKD'}`,
        spec: groupedBars(bars, names),
        caption: `The PKD setting shown is the one with the largest mean weak-class gain among those whose mean accuracy change is ≥ ${accPp} pp (or the largest gain overall when none is).`,
      },
      ...[classDeltaFigure(r), gainFigure(r), expertFigure(r)].filter((f): f is ReportFigure => f !== null),
    ],
    tables: [
      {
        title: 'Summary over seeds',
        columns: [
          'method',
          'runs',
          'accuracy',
          'weak-class mean',
          'inter-class discrepancy',
          'within-group acc.: expert',
          'within-group acc.: global at the end',
          'within-group acc.: FedAvg at the end',
        ],
        rows: r.summary.map((s) => [
          s.method,
          s.n,
          pm(s.accuracy),
          pm(s.weakMean),
          pm(s.interClassDiscrepancy),
          pm(s.withinGroupAccuracy.expert),
          pm(s.withinGroupAccuracy.final),
          pm(s.withinGroupAccuracy.fedavg),
        ]),
      },
      {
        title: 'Gain over FedAvg per seed',
        columns: ['seed', 'method', 'Δ accuracy (pp)', 'Δ weak mean (pp)', 'Δ worst class (pp)', 'Δ within-group (pp)'],
        rows: r.deltas.map((d) => [d.seed, d.method, signedPp(d.accuracy), signedPp(d.weakMean), signedPp(d.worstAccuracy), signedPp(d.withinGroupAccuracy)]),
        note: `Each PKD run minus the FedAvg run of the same seed, in percentage points${skipped.length ? `; ${skipped.length > 1 ? 'seeds' : 'seed'} ${skipped.join(', ')} ${skipped.length > 1 ? 'have' : 'has'} no FedAvg run and ${skipped.length > 1 ? 'are' : 'is'} left out` : ''}. Target: weak mean ≥ ${weakPp} with accuracy ≥ ${accPp}. Within-group: mean over the groups of the final global models' within-group accuracies.`,
      },
      {
        title: 'Runs',
        columns: [
          'seed',
          'method',
          'accuracy',
          'weak mean',
          'worst class',
          'inter-class discrepancy',
          'weak',
          'groups',
          'within-group: expert',
          'within-group: global after warm-up',
          'within-group: global at the end',
          'within-group: FedAvg at the end',
          'KD-triggered',
        ],
        rows: r.rows.map((x) => [
          x.seed,
          x.method,
          r4(x.accuracy),
          r4(x.weakMean),
          r4(x.worstAccuracy),
          r4(x.interClassDiscrepancy),
          x.weak.map((c) => names[c]).join(', '),
          x.groups.map((g) => `{${g.map((c) => names[c]).join(', ')}}`).join(' '),
          x.experts.map((e) => pct(e.withinGroupAccuracy.expert)).join(' / '),
          x.experts.map((e) => pct(e.withinGroupAccuracy.warmup)).join(' / '),
          x.experts.map((e) => pct(e.withinGroupAccuracy.final)).join(' / '),
          x.experts.map((e) => pct(e.withinGroupAccuracy.fedavg)).join(' / '),
          x.kdTriggered,
        ]),
      },
    ],
  };
}

export function flConsistencySection(r: FlConsistencyResult): ReportSection {
  const names = r.classNames;
  return {
    id: 'fl-consistency',
    title: `Weak-class consistency on ${r.base.dataset}`,
    highlights: [
      { label: 'Runs', value: String(r.runs.length) },
      { label: 'Jaccard of weak sets', value: r.jaccard.all.toFixed(2), hint: 'mean over all pairs of runs' },
      { label: 'Across models (same seed)', value: Number.isNaN(r.jaccard.acrossModelsSameSeed) ? '–' : r.jaccard.acrossModelsSameSeed.toFixed(2) },
      { label: 'Spearman of per-class acc.', value: r.spearman.toFixed(2) },
    ],
    paragraphs: [
      `FedAvg over models ${[...new Set(r.runs.map((x) => x.model))].join(', ')} × partitions ${[...new Set(r.runs.map((x) => x.partition))].join(', ')} × seeds ${[...new Set(r.runs.map((x) => x.seed))].join(', ')}; ${r.base.clients} clients, ${r.base.rounds} rounds${r.base.trainLimit ? `, first ${r.base.trainLimit} training images` : ''}. Overlap is the mean pairwise Jaccard index of the final weak sets; "across rounds" compares each run's weak sets over its last half of rounds.`,
    ],
    figures: [
      {
        title: 'How often each class is weak',
        spec: barSpec(
          r.weakFrequency.map((f, c) => ({ class: names[c], frequency: f, weak: f >= 0.5 })),
          { category: 'class', value: 'frequency', valueTitle: 'fraction of runs', valueDomain: [0, 1], valueFormat: '.0%', highlight: 'weak' },
        ),
      },
    ],
    tables: [
      {
        title: 'Runs',
        columns: ['model', 'partition', 'seed', 'accuracy', 'inter-class discrepancy', 'per-class std', 'weak', ...names],
        rows: r.runs.map(
          (x) =>
            [
              x.model,
              x.partition,
              x.seed,
              r4(x.accuracy),
              r4(x.interClassDiscrepancy),
              r4(x.perClassAccuracyStd),
              x.weak.map((c) => names[c]).join(', '),
              ...x.perClass.map(r4),
            ] as Cell[],
        ),
      },
      {
        title: 'Overlap',
        columns: ['scope', 'mean pairwise Jaccard'],
        rows: [
          ['all runs', r4(r.jaccard.all)],
          ...Object.entries(r.jaccard.byModel).map(([k, v]) => [`model ${k}`, r4(v)] as Cell[]),
          ...Object.entries(r.jaccard.byPartition).map(([k, v]) => [`partition ${k}`, r4(v)] as Cell[]),
          ['across models, same seed', r4(r.jaccard.acrossModelsSameSeed)],
          ['across rounds (last half)', r4(r.jaccard.acrossRounds)],
        ],
      },
    ],
  };
}
