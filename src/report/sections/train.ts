/** Report section for a training run (`kind: 'train'`): curves, per-class bars, confusion heatmap, tables. */
import type { EvalRunResult } from '../../experiments/train.js';
import type { TrainResult } from '../../nn/train.js';
import { barSpec, heatmapSpec, lineSpec } from '../charts.js';
import { pct, round } from '../format.js';
import type { Cell, ReportFigure, ReportSection, ReportTable } from '../types.js';

const r4 = (v: number | null): number | null => round(v, 4);

/** Figures for a training run (also used by the tour). */
export function trainFigures(r: TrainResult): ReportFigure[] {
  const curves: Record<string, unknown>[] = [];
  const accs: Record<string, unknown>[] = [];
  for (const e of r.epochs) {
    curves.push({ epoch: e.epoch, split: 'train', loss: e.trainLoss });
    if (e.testLoss !== null) curves.push({ epoch: e.epoch, split: 'test', loss: e.testLoss });
    accs.push({ epoch: e.epoch, split: 'train', accuracy: e.trainAccuracy });
    if (e.testAccuracy !== null) accs.push({ epoch: e.epoch, split: 'test', accuracy: e.testAccuracy });
  }
  const weakest = new Set(r.final.weakestClasses.map((c) => c.classIndex));
  const bars = r.final.perClass.map((c) => ({ class: c.className, accuracy: c.accuracy ?? 0, weakest: weakest.has(c.classIndex) }));
  const cells: Record<string, unknown>[] = [];
  r.final.confusion.forEach((row, t) => {
    const support = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      cells.push({ true: r.dataset.classNames[t], predicted: r.dataset.classNames[p], count, rate: support > 0 ? count / support : 0 });
    });
  });
  const single = r.epochs.length === 1;
  const curveRows: Record<string, unknown>[] = [];
  for (const p of r.curve ?? []) {
    curveRows.push({ epoch: p.epoch, metric: 'loss', value: p.loss });
  }
  const curveAcc = (r.curve ?? []).map((p) => ({ epoch: p.epoch, accuracy: p.accuracy }));
  const perClassFig: ReportFigure = {
    title: 'Per-class test accuracy',
    spec: barSpec(bars, { category: 'class', value: 'accuracy', valueTitle: 'test accuracy', valueDomain: [0, 1], valueFormat: '.0%', highlight: 'weakest' }),
    caption: `Orange: the ${weakest.size} weakest classes. Inter-class discrepancy (max − min) ${pct(r.final.interClassDiscrepancy)}.`,
  };
  const confusionFig: ReportFigure = {
    title: 'Confusion matrix (test set)',
    spec: heatmapSpec(cells, {
      row: 'true',
      column: 'predicted',
      value: 'rate',
      text: 'count',
      order: r.dataset.classNames,
      rowTitle: 'true class',
      columnTitle: 'predicted class',
      valueTitle: 'share of row',
    }),
    caption: 'Cell text: number of test images; colour: share of the true class (row).',
    wide: true,
  };
  const curveFigs: ReportFigure[] = curveRows.length
    ? [
        {
          title: 'Training loss during training',
          spec: lineSpec(curveRows, { x: 'epoch', y: 'value', xTitle: 'epoch', yTitle: 'training loss', points: false }),
          caption: `Mean over windows of ${r.curveWindow} batch${r.curveWindow > 1 ? 'es' : ''} (training mode${r.hyper.augment ? ', augmented' : ''}).`,
        },
        {
          title: 'Training accuracy during training',
          spec: lineSpec(curveAcc, { x: 'epoch', y: 'accuracy', xTitle: 'epoch', yTitle: 'training accuracy', yFormat: '.0%', points: false }),
          caption: single ? `Test accuracy after the epoch: ${pct(r.testAccuracy, 2)}.` : undefined,
        },
      ]
    : [];
  if (single) {
    return [...curveFigs, { ...perClassFig, wide: true }, confusionFig];
  }
  const figs: ReportFigure[] = [
    {
      title: 'Loss per epoch',
      spec: lineSpec(curves, { x: 'epoch', y: 'loss', series: 'split', xTitle: 'epoch', yTitle: 'cross-entropy loss' }),
      caption: 'Train loss is the mean over the epoch’s batches (training mode); test loss is measured after each epoch.',
    },
    {
      title: 'Accuracy per epoch',
      spec: lineSpec(accs, { x: 'epoch', y: 'accuracy', series: 'split', xTitle: 'epoch', yTitle: 'accuracy', yFormat: '.0%' }),
    },
    perClassFig,
  ];
  if (r.epochs.every((e) => e.perClassAccuracy)) {
    const rows: Record<string, unknown>[] = [];
    for (const e of r.epochs) for (const [i, a] of (e.perClassAccuracy ?? []).entries()) rows.push({ epoch: e.epoch, class: r.dataset.classNames[i], accuracy: a });
    figs.push({
      title: 'Per-class test accuracy per epoch',
      spec: lineSpec(rows, { x: 'epoch', y: 'accuracy', series: 'class', seriesOrder: r.dataset.classNames, yTitle: 'test accuracy', yFormat: '.0%' }),
    });
  } else {
    figs[2] = { ...perClassFig, wide: true };
  }
  figs.push(confusionFig, ...curveFigs);
  return figs;
}

export function trainTables(r: TrainResult): ReportTable[] {
  const epochRows: Cell[][] = r.epochs.map((e) => [
    e.epoch,
    r4(e.trainLoss),
    r4(e.trainAccuracy),
    r4(e.testLoss),
    r4(e.testAccuracy),
    r4(e.interClassDiscrepancy),
    Number(e.trainSeconds.toFixed(1)),
    Number(e.evalSeconds.toFixed(1)),
    Math.round(e.imagesPerSecond),
  ]);
  const weakest = new Set(r.final.weakestClasses.map((c) => c.classIndex));
  return [
    {
      title: 'Epochs',
      columns: ['epoch', 'train loss', 'train acc', 'test loss', 'test acc', 'discrepancy', 'train s', 'eval s', 'images/s'],
      rows: epochRows,
    },
    {
      title: 'Per-class test accuracy',
      columns: ['class', 'name', 'correct', 'support', 'accuracy', 'weakest'],
      rows: r.final.perClass.map((c) => [c.classIndex, c.className, c.correct, c.support, r4(c.accuracy), weakest.has(c.classIndex)]),
    },
    {
      title: 'Most frequent confusions',
      columns: ['true class', 'predicted as', 'count', 'share of true class'],
      rows: r.final.topConfusions.map((p) => [p.trueName, p.predictedName, p.count, r4(p.rate)]),
      note: 'Off-diagonal cells of the confusion matrix, largest first.',
    },
  ];
}

export function trainSection(r: TrainResult): ReportSection {
  const last = r.epochs[r.epochs.length - 1];
  const meanEpoch = r.trainSeconds / r.epochs.length;
  const h = r.hyper;
  return {
    id: 'training',
    title: `Training: ${r.model.name} on ${r.dataset.name}`,
    highlights: [
      { label: 'Test accuracy', value: pct(r.testAccuracy, 2), hint: `${r.final.numExamples.toLocaleString('en-US')} test images` },
      { label: 'Inter-class discrepancy', value: pct(r.final.interClassDiscrepancy), hint: `std ${pct(r.final.perClassAccuracyStd)}` },
      { label: 'Weakest class', value: r.final.weakestClasses[0]?.className ?? '–', hint: pct(r.final.weakestClasses[0]?.accuracy) },
      { label: 'Epoch time', value: `${meanEpoch.toFixed(1)} s`, hint: `${Math.round(last.imagesPerSecond)} images/s` },
    ],
    paragraphs: [
      `Model \`${r.model.name}\` (${r.model.params.toLocaleString('en-US')} trainable parameters) trained for ${h.epochs} epoch${h.epochs > 1 ? 's' : ''} on ${r.dataset.trainCount.toLocaleString('en-US')} images of \`${r.dataset.name}\` (${r.dataset.shape.join('×')}), ` +
        `optimizer ${h.optimizer}${h.optimizer === 'sgd' && h.momentum > 0 ? ` (momentum ${h.momentum})` : ''}, learning rate ${h.lr}${h.lrSchedule !== 'constant' ? ` (${h.lrSchedule} schedule)` : ''}, batch size ${h.batchSize ?? (h as { batch?: number }).batch}, seed ${h.seed}${h.augment ? ', random crop + flip augmentation' : ''}.`,
      `Most frequent confusion: ${r.final.topConfusions[0] ? `**${r.final.topConfusions[0].trueName}** predicted as **${r.final.topConfusions[0].predictedName}** (${r.final.topConfusions[0].count} images, ${pct(r.final.topConfusions[0].rate)} of the class)` : 'none'}.`,
    ],
    figures: trainFigures(r),
    tables: trainTables(r),
  };
}

export function evalSection(r: EvalRunResult): ReportSection {
  const m = r.metrics;
  const weakest = new Set(m.weakestClasses.map((c) => c.classIndex));
  const cells: Record<string, unknown>[] = [];
  m.confusion.forEach((row, t) => {
    const support = row.reduce((a, b) => a + b, 0);
    for (const [p, count] of row.entries()) cells.push({ true: r.dataset.classNames[t], predicted: r.dataset.classNames[p], count, rate: support > 0 ? count / support : 0 });
  });
  return {
    id: 'evaluation',
    title: `Evaluation: ${r.model.name} on ${r.dataset.name}`,
    highlights: [
      { label: 'Test accuracy', value: pct(m.accuracy, 2), hint: `${m.numExamples} images` },
      { label: 'Inter-class discrepancy', value: pct(m.interClassDiscrepancy), hint: `std ${pct(m.perClassAccuracyStd)}` },
      { label: 'Weakest class', value: m.weakestClasses[0]?.className ?? '–', hint: pct(m.weakestClasses[0]?.accuracy) },
    ],
    paragraphs: [`Checkpoint from \`${r.run}\`, evaluated in ${m.seconds.toFixed(1)} s.`],
    figures: [
      {
        title: 'Per-class accuracy',
        spec: barSpec(
          m.perClass.map((c) => ({ class: c.className, accuracy: c.accuracy ?? 0, weakest: weakest.has(c.classIndex) })),
          { category: 'class', value: 'accuracy', valueDomain: [0, 1], valueFormat: '.0%', highlight: 'weakest' },
        ),
      },
      {
        title: 'Confusion matrix',
        spec: heatmapSpec(cells, {
          row: 'true',
          column: 'predicted',
          value: 'rate',
          text: 'count',
          order: r.dataset.classNames,
          rowTitle: 'true class',
          columnTitle: 'predicted class',
          valueTitle: 'share of row',
        }),
      },
    ],
    tables: [
      {
        title: 'Per-class accuracy',
        columns: ['class', 'name', 'correct', 'support', 'accuracy'],
        rows: m.perClass.map((c) => [c.classIndex, c.className, c.correct, c.support, r4(c.accuracy)]),
      },
    ],
  };
}
