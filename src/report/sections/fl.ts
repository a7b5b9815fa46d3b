/**
 * Report sections for federated learning: one run (`kind: 'fl'`), PKD vs FedAvg (`fl-compare`)
 * and the weak-class consistency grid (`fl-consistency`).
 */
import type { FlCompareResult, FlConsistencyResult, FlRunResult } from '../../experiments/fl.js';
import { barSpec, heatmapSpec, lineSpec } from '../charts.js';
import type { Cell, ReportFigure, ReportSection, ReportTable } from '../types.js';

const pct = (v: number | null | undefined, d = 1): string => (v === null || v === undefined || Number.isNaN(v) ? '–' : `${(100 * v).toFixed(d)} %`);
const r4 = (v: number | null | undefined): number | null => (v === null || v === undefined || Number.isNaN(v) ? null : Number(v.toFixed(4)));
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
  const methods = r.summary.map((s) => s.method);
  const bars: { class: string; method: string; accuracy: number }[] = [];
  for (const m of methods) {
    const rs = r.rows.filter((x) => x.method === m);
    names.forEach((n, c) => {
      bars.push({ class: n, method: m, accuracy: rs.reduce((a, x) => a + x.perClass[c], 0) / Math.max(1, rs.length) });
    });
  }
  const fed = r.summary.find((s) => s.method === 'fedavg');
  const best = r.summary.filter((s) => s.method !== 'fedavg').sort((a, b) => b.weakMean[0] - a.weakMean[0])[0];
  return {
    id: 'fl-compare',
    title: `PKD vs FedAvg on ${r.base.dataset}`,
    highlights: [
      { label: 'FedAvg weak-class mean', value: pm(fed?.weakMean) },
      { label: 'Best PKD weak-class mean', value: pm(best?.weakMean), hint: best?.method },
      { label: 'Gain (weak mean)', value: best && fed ? `${(100 * (best.weakMean[0] - fed.weakMean[0])).toFixed(1)} pp` : '–', hint: 'target ≥ 5 pp' },
      { label: 'Overall accuracy change', value: best && fed ? `${(100 * (best.accuracy[0] - fed.accuracy[0])).toFixed(2)} pp` : '–', hint: 'target ≥ −0.5 pp' },
    ],
    paragraphs: [
      `Same total global rounds (${r.base.rounds}) for every method, seeds ${r.seeds.join(', ')}; ${r.base.model}, ${r.base.clients} clients, ${r.base.partition}${r.base.trainLimit ? `, first ${r.base.trainLimit} training images` : ''}. The weak set of a seed is the one PKD identified after its warm-up; FedAvg is scored on the same set. Mean ± standard deviation over seeds.`,
    ],
    figures: [{ title: 'Per-class accuracy, mean over seeds', spec: groupedBars(bars, names) }],
    tables: [
      {
        title: 'Summary over seeds',
        columns: ['method', 'runs', 'accuracy', 'weak-class mean', 'discrepancy', 'expert within-group acc.', 'global within-group acc. (final, restricted)'],
        rows: r.summary.map((s) => [s.method, s.n, pm(s.accuracy), pm(s.weakMean), pm(s.discrepancy), pm(s.expertAcc), pm(s.groupAccFinal)]),
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
