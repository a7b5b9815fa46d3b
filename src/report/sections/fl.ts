/**
 * Report sections for federated learning: one run (`kind: 'fl'`), PKD vs FedAvg (`fl-compare`)
 * and the weak-class consistency grid (`fl-consistency`).
 */
import { type FlCompareResult, type FlConsistencyResult, type FlRunResult, meanStd } from '../../experiments/fl.js';
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
    spec: heatmapSpec(cells, { row: 'true', column: 'predicted', value: 'rate', text: 'count', order: names, rowTitle: 'true class', columnTitle: 'predicted class', valueTitle: 'row rate', size: 360 }),
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

/** PKD's target (docs/fl.md): weak-class mean up by at least 5 pp at a cost of at most 0.5 pp overall accuracy. */
export const PKD_TARGET = { weakGain: 0.05, accuracyLoss: -0.005 } as const;

/** One PKD setting on one seed minus the FedAvg run of the same seed (fractions, not pp). */
export interface SeedDelta {
  seed: number;
  method: string;
  accuracy: number;
  weakMean: number;
  worst: number;
  /** Per-class accuracy differences. */
  perClass: number[];
}

/** Per seed, every non-FedAvg row minus that seed's FedAvg row; seeds without a FedAvg row are skipped. */
export function compareDeltas(r: FlCompareResult): SeedDelta[] {
  const out: SeedDelta[] = [];
  for (const row of r.rows) {
    if (row.method === 'fedavg') continue;
    const fed = r.rows.find((x) => x.seed === row.seed && x.method === 'fedavg');
    if (!fed) continue;
    out.push({ seed: row.seed, method: row.method, accuracy: row.accuracy - fed.accuracy, weakMean: row.weakMean - fed.weakMean, worst: row.worst - fed.worst, perClass: row.perClass.map((a, c) => a - fed.perClass[c]) });
  }
  return out;
}

/** A difference of fractions as signed percentage points with one decimal: "+5.2", "−0.3", "0.0". */
export function signedPp(d: number | null | undefined): string {
  return signed(d === null || d === undefined ? d : 100 * d, 1);
}

/** Mean and sample standard deviation (0 for a single value) of the finite values; null when there are none. */
function meanSd(xs: (number | null | undefined)[]): { mean: number; sd: number; n: number } | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (!v.length) return null;
  const [mean, sd] = meanStd(v);
  return { mean, sd, n: v.length };
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
        encoding: { y, x: xField('value'), color: { field: 'seed', type: 'nominal', title: 'seed', sort: o.seeds, scale: { domain: o.seeds }, legend: { orient: 'bottom', direction: 'horizontal' } } },
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
function gainFigure(r: FlCompareResult, deltas: SeedDelta[]): ReportFigure | null {
  if (!deltas.length) return null;
  const methods = pkdMethods(r).filter((m) => deltas.some((d) => d.method === m));
  const seeds = [...new Set(deltas.map((d) => d.seed))].sort((a, b) => a - b).map(String);
  const panel = (key: 'weakMean' | 'accuracy') => {
    const dots = deltas.filter((d) => Number.isFinite(d[key])).map((d) => ({ method: d.method, seed: String(d.seed), value: pp2(d[key]) }));
    const stats = methods.flatMap((m) => {
      const s = meanSd(deltas.filter((d) => d.method === m).map((d) => d[key]));
      return s ? [{ method: m, mean: pp2(s.mean), lo: pp2(s.mean - s.sd), hi: pp2(s.mean + s.sd), n: s.n }] : [];
    });
    return { dots, stats };
  };
  const w = panel('weakMean');
  const a = panel('accuracy');
  const meets = (weak: number, acc: number) => weak >= PKD_TARGET.weakGain - 1e-9 && acc >= PKD_TARGET.accuracyLoss - 1e-9;
  const meanMeets = methods.filter((m) => {
    const ws = meanSd(deltas.filter((d) => d.method === m).map((d) => d.weakMean));
    const as = meanSd(deltas.filter((d) => d.method === m).map((d) => d.accuracy));
    return ws !== null && as !== null && meets(ws.mean, as.mean);
  });
  const seedMeets = deltas.filter((d) => meets(d.weakMean, d.accuracy)).length;
  return {
    title: 'Weak-class gain vs overall-accuracy change per setting',
    wide: true,
    spec: {
      hconcat: [
        gainPanel(w.dots, w.stats, methods, { title: ['Δ weak-class mean vs FedAvg (pp)', 'target: ≥ +5 (green)'], target: 100 * PKD_TARGET.weakGain, showLabels: true, seeds }),
        gainPanel(a.dots, a.stats, methods, { title: ['Δ overall accuracy vs FedAvg (pp)', 'target: ≥ −0.5 (green)'], target: 100 * PKD_TARGET.accuracyLoss, showLabels: false, seeds }),
      ],
      spacing: 18,
      resolve: { scale: { color: 'shared', y: 'shared' } },
    },
    caption: `Each dot is one seed: the PKD setting minus the FedAvg run of the same seed. Black tick: mean over seeds; bar: ± 1 standard deviation. Green: the target region (weak-class mean ≥ +5 pp and overall accuracy ≥ −0.5 pp); a setting meets the target only when it is inside both. On average: ${meanMeets.length ? meanMeets.join('; ') : 'no setting'}; single runs inside both: ${seedMeets} of ${deltas.length}.`,
  };
}

/** Figure: expert vs global model inside the weak group (mean over seeds and groups ± std). */
function expertFigure(r: FlCompareResult): ReportFigure | null {
  const measures = ['expert', 'global after warm-up (restricted)', 'global at the end (restricted)'];
  const stats: Record<string, unknown>[] = [];
  const methods = pkdMethods(r);
  for (const m of methods) {
    const ex = r.rows.filter((x) => x.method === m).flatMap((x) => x.experts ?? []);
    const values = [ex.map((e) => e.expertAcc), ex.map((e) => e.warmupRestrictedAcc), ex.map((e) => e.finalRestrictedAcc)];
    values.forEach((v, i) => {
      const s = meanSd(v);
      if (s) stats.push({ method: m, measure: measures[i], mean: r4(s.mean), lo: r4(s.mean - s.sd), hi: r4(s.mean + s.sd), n: s.n });
    });
  }
  if (!stats.length) return null;
  const shown = methods.filter((m) => stats.some((s) => s.method === m));
  const y = { field: 'method', type: 'nominal', sort: shown, title: null, axis: { labelLimit: METHOD_LABEL_LIMIT, labelFontSize: 11 } };
  const yOffset = { field: 'measure', type: 'nominal', sort: measures, scale: { domain: measures, paddingInner: 0.2 } };
  const color = { field: 'measure', type: 'nominal', title: null, sort: measures, scale: { domain: measures, range: ['#9333ea', '#98a2b3', '#2563eb'] }, legend: { orient: 'bottom', direction: 'horizontal' } };
  const x = (field: string) => ({ field, type: 'quantitative', title: 'test accuracy on the group’s images (within-group argmax)', scale: { zero: false, nice: true }, axis: { format: '.1~%' } });
  return {
    title: 'Expert vs global model inside the group',
    wide: true,
    spec: {
      width: 360,
      // With yOffset the step is per measure: three measures and padding make one method's band.
      height: { step: 11 },
      data: { values: stats },
      layer: [
        { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y, yOffset, x: x('lo'), x2: { field: 'hi' }, color } },
        { mark: { type: 'point', filled: true, size: 50, opacity: 1 }, encoding: { y, yOffset, x: x('mean'), color } },
      ],
    },
    caption: 'Dot: mean over seeds and weak groups; bar: ± 1 standard deviation. The global model is scored with the argmax restricted to the group’s classes, like the expert. An expert that is not better than the warm-up global model has little to distil.',
  };
}

/** Figure: per-class change of every PKD setting over FedAvg (pp, mean over seeds of the per-seed differences). */
function classDeltaFigure(r: FlCompareResult, deltas: SeedDelta[]): ReportFigure | null {
  const methods = pkdMethods(r);
  const cells: { method: string; class: string; delta: number }[] = [];
  for (const m of methods) {
    const ds = deltas.filter((d) => d.method === m);
    r.classNames.forEach((name, c) => {
      const s = meanSd(ds.map((d) => d.perClass[c]));
      if (s) cells.push({ method: m, class: name, delta: pp2(s.mean) });
    });
  }
  if (!cells.length) return null;
  const shown = methods.filter((m) => cells.some((x) => x.method === m));
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
          encoding: { color: { field: 'delta', type: 'quantitative', title: 'Δ pp', scale: { domain: [-span, 0, span], range: ['#b42318', '#f9fafb', '#15803d'], interpolate: 'rgb', clamp: true } } },
        },
        { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'delta', type: 'quantitative', format: '+.1f' }, color: { value: '#1f2937' } } },
      ],
    },
    caption: 'Test accuracy of each class under the setting minus FedAvg of the same seed, in percentage points, mean over seeds. Green: the class gained; red: it lost. A gain on the weak classes paid for by their group partners shows as green next to red in the same row.',
  };
}

/**
 * The setting to headline: the largest mean weak-class gain among settings whose mean accuracy change
 * meets the target (≥ −0.5 pp); when none does, the largest gain overall (flagged).
 */
export function headlineSetting(r: FlCompareResult): { method: string; meetsAccuracy: boolean } | null {
  const deltas = compareDeltas(r);
  const stats = pkdMethods(r).flatMap((m) => {
    const ds = deltas.filter((d) => d.method === m);
    const weak = meanSd(ds.map((d) => d.weakMean));
    const acc = meanSd(ds.map((d) => d.accuracy));
    return weak && acc ? [{ method: m, weak: weak.mean, acc: acc.mean }] : [];
  });
  const ok = stats.filter((x) => x.acc >= PKD_TARGET.accuracyLoss - 1e-9);
  const pool = ok.length ? ok : stats;
  if (!pool.length) return null;
  const best = pool.reduce((a, b) => (b.weak > a.weak ? b : a));
  return { method: best.method, meetsAccuracy: ok.length > 0 };
}

export function flSection(r: FlRunResult): ReportSection {
  const names = r.classNames;
  const weak = new Set(r.final.weak);
  const evals = r.rounds.filter((x) => x.eval);
  const icd: Record<string, unknown>[] = [];
  for (const x of evals) {
    icd.push({ round: x.round, metric: 'discrepancy (max − min)', value: x.eval!.discrepancy });
    icd.push({ round: x.round, metric: 'std over classes', value: x.eval!.discrepancyStd });
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
      columns: ['round', 'phase', 'accuracy', 'discrepancy', 'std', 'weak classes', 'KD-triggered samples', 'seconds'],
      rows: r.rounds.map((x) => [x.round, x.phase, r4(x.eval?.accuracy), r4(x.eval?.discrepancy), r4(x.eval?.discrepancyStd), x.eval ? x.eval.weak.map((c) => names[c]).join(', ') : null, x.kdTriggered, Number((x.durationMs / 1000).toFixed(1))]),
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
      columns: ['group', 'expert rounds', 'expert within-group acc.', 'global (warm-up), restricted to group', 'global (final), restricted to group', 'global (final), plain'],
      rows: r.pkd.experts.map((e) => [e.groupNames.join(', '), e.rounds, r4(e.expertAcc), r4(e.warmupRestrictedAcc), r4(e.finalRestrictedAcc), r4(e.finalAcc)]),
      note: 'Accuracy on the test images of the group. "Restricted": argmax over the group’s classes only, comparable with the expert.',
    });
  }
  return {
    id: `fl-${r.config.method}-${r.dataset}`,
    title: `Federated learning: ${r.config.method === 'pkd' ? 'PKD' : 'FedAvg'} on ${r.dataset}`,
    highlights: [
      { label: 'Accuracy', value: pct(r.final.accuracy) },
      { label: 'Discrepancy (max − min)', value: pct(r.final.discrepancy), hint: `std ${pct(r.final.discrepancyStd)}` },
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
  const head = headlineSetting(r);
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
  const deltas = compareDeltas(r);
  const skipped = [...new Set(r.rows.map((x) => x.seed))].filter((seed) => !r.rows.some((x) => x.seed === seed && x.method === 'fedavg'));
  const best = r.summary.find((s) => s.method === head?.method);
  return {
    id: 'fl-compare',
    title: `PKD vs FedAvg on ${r.base.dataset}`,
    highlights: [
      { label: 'FedAvg weak-class mean', value: pm(fed?.weakMean) },
      { label: 'Best PKD weak-class mean', value: pm(best?.weakMean), hint: head ? `${head.method}${head.meetsAccuracy ? '' : ' (no setting keeps accuracy within 0.5 pp)'}` : undefined },
      { label: 'Gain (weak mean)', value: best && fed ? `${(100 * (best.weakMean[0] - fed.weakMean[0])).toFixed(1)} pp` : '–', hint: 'target ≥ 5 pp' },
      { label: 'Overall accuracy change', value: best && fed ? `${(100 * (best.accuracy[0] - fed.accuracy[0])).toFixed(2)} pp` : '–', hint: 'target ≥ −0.5 pp' },
    ],
    paragraphs: [
      `Same total global rounds (${r.base.rounds}) for every method, seeds ${r.seeds.join(', ')}; ${r.base.model}, ${r.base.clients} clients, ${r.base.partition}${r.base.trainLimit ? `, first ${r.base.trainLimit} training images` : ''}. The weak set of a seed is the one PKD identified after its warm-up; FedAvg is scored on the same set. Mean ± standard deviation over seeds.`,
    ],
    figures: [
      { title: `Per-class accuracy, mean over seeds: FedAvg and ${head ? `“${head.method}”` : 'PKD'}`, spec: groupedBars(bars, names), caption: 'The PKD setting shown is the one with the largest mean weak-class gain among those whose mean accuracy change is ≥ −0.5 pp (or the largest gain overall when none is).' },
      ...[classDeltaFigure(r, deltas), gainFigure(r, deltas), expertFigure(r)].filter((f): f is ReportFigure => f !== null),
    ],
    tables: [
      {
        title: 'Summary over seeds',
        columns: ['method', 'runs', 'accuracy', 'weak-class mean', 'discrepancy', 'expert within-group acc.', 'global within-group acc. (final, restricted)'],
        rows: r.summary.map((s) => [s.method, s.n, pm(s.accuracy), pm(s.weakMean), pm(s.discrepancy), pm(s.expertAcc), pm(s.groupAccFinal)]),
      },
      {
        title: 'Gain over FedAvg per seed',
        columns: ['seed', 'method', 'Δ accuracy (pp)', 'Δ weak mean (pp)', 'Δ worst class (pp)'],
        rows: deltas.map((d) => [d.seed, d.method, signedPp(d.accuracy), signedPp(d.weakMean), signedPp(d.worst)]),
        note: `Each PKD run minus the FedAvg run of the same seed, in percentage points${skipped.length ? `; ${skipped.length > 1 ? 'seeds' : 'seed'} ${skipped.join(', ')} ${skipped.length > 1 ? 'have' : 'has'} no FedAvg run and ${skipped.length > 1 ? 'are' : 'is'} left out` : ''}. Target: weak mean ≥ +5.0 with accuracy ≥ −0.5.`,
      },
      {
        title: 'Runs',
        columns: ['seed', 'method', 'accuracy', 'weak mean', 'worst class', 'discrepancy', 'weak', 'groups', 'expert acc.', 'global in-group (warm-up)', 'global in-group (final)', 'KD-triggered'],
        rows: r.rows.map((x) => [
          x.seed,
          x.method,
          r4(x.accuracy),
          r4(x.weakMean),
          r4(x.worst),
          r4(x.discrepancy),
          x.weak.map((c) => names[c]).join(', '),
          x.groups.map((g) => `{${g.map((c) => names[c]).join(', ')}}`).join(' '),
          x.experts.map((e) => pct(e.expertAcc)).join(' / '),
          x.experts.map((e) => pct(e.warmupRestrictedAcc)).join(' / '),
          x.experts.map((e) => pct(e.finalRestrictedAcc)).join(' / '),
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
        columns: ['model', 'partition', 'seed', 'accuracy', 'discrepancy', 'std', 'weak', ...names],
        rows: r.runs.map((x) => [x.model, x.partition, x.seed, r4(x.accuracy), r4(x.discrepancy), r4(x.discrepancyStd), x.weak.map((c) => names[c]).join(', '), ...x.perClass.map(r4)] as Cell[]),
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
