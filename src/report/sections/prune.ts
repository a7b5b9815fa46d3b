/**
 * Report section for pruning with fine-tuning (`kind: 'compress-prune'`): accuracy before and
 * after, sparsity per layer, the test accuracy per fine-tuning epoch and, for gradual pruning, the
 * sparsity schedule.
 */
import type { PruneResult } from '../../experiments/prune.js';
import { barSpec, groupedBarSpec, lineSpec } from '../charts.js';
import { pct, points, round, times } from '../format.js';
import type { ReportFigure, ReportSection } from '../types.js';

function method(r: PruneResult): string {
  const c = r.config;
  if (c.method === 'magnitude')
    return `gradual magnitude pruning to ${pct(c.sparsity, 1)} (${c.scope} scope, Zhu & Gupta's cubic schedule over ${pct(c.rampFraction, 0)} of the steps)`;
  if (c.method === 'nm') return `${c.nm.n}:${c.nm.m} structured pruning along the reduction axis`;
  if (c.method === 'packing') {
    const p = c.packing;
    const sw = p.subwords ? ` of 4-bit subwords${p.subwordLayers === 'best' ? ' (each layer in the denser of subwords and 8-bit words)' : ''}` : '';
    if (p.maxPrunedL1 !== null)
      return `the mask of ${p.format} packing${sw} held while fine-tuning (array ${p.array.rows}×${p.array.cols}; per layer the highest-rate setting of the format's grid that prunes at most ${pct(p.maxPrunedL1, 1)} of the layer's Σ|w|, ${p.search} search)`;
    return `the mask of ${p.format} packing${sw} held while fine-tuning (array ${p.array.rows}×${p.array.cols}, multiplexer fan-in ${p.groupSize}${p.format === 'budgeted' ? `, ${p.slotsPerGroup} slot(s) per row and group` : ''}${p.format === 'columnCombining' ? `, γ = ${p.maxOverlap}` : ''}, ${p.search} search)`;
  }
  return `subword pruning: ${pct(c.subword.fraction, 0)} of the nonzero 4-bit subwords of the 8-bit sign-magnitude codes removed, fine-tuned with the straight-through estimator`;
}

export function pruneSection(r: PruneResult): ReportSection {
  const figures: ReportFigure[] = [
    {
      title: 'Sparsity per layer',
      spec: barSpec(
        r.layers.map((l) => ({ layer: l.layer, sparsity: l.sparsity, pruned: l.pruned })),
        { category: 'layer', value: 'sparsity', valueTitle: 'fraction of weights that are zero', valueDomain: [0, 1], valueFormat: '.0%', labels: true },
      ),
    },
    {
      title: 'Test accuracy per fine-tuning epoch',
      spec: lineSpec([{ epoch: 0, accuracy: r.before.accuracy }, ...r.epochs.filter((e) => e.testAccuracy !== null).map((e) => ({ epoch: e.epoch, accuracy: e.testAccuracy }))], {
        x: 'epoch',
        y: 'accuracy',
        xTitle: 'epoch (0 = before pruning)',
        yTitle: 'test accuracy',
        yFormat: '.1%',
      }),
    },
  ];
  if (r.pruneSteps.length > 1)
    figures.push({
      title: 'Sparsity schedule',
      spec: lineSpec(
        r.pruneSteps.flatMap((s) => [
          { step: s.step, sparsity: s.target, series: 'scheduled' },
          { step: s.step, sparsity: s.sparsity, series: 'reached' },
        ]),
        { x: 'step', y: 'sparsity', series: 'series', xTitle: 'training step', yTitle: 'sparsity of the pruned layers', yFormat: '.0%' },
      ),
      caption: 'Masks are recomputed at each point; the last update is at the end of the ramp.',
    });
  const rows = r.layers.map((l) => [l.layer, l.weights, l.zerosBefore, l.zeros, round(100 * l.sparsity, 2), l.pruned ? 'yes' : 'no'] as (string | number | null)[]);
  const tables = [{ title: 'Layers', columns: ['layer', 'weights', 'zeros before', 'zeros after', 'sparsity %', 'pruned'], rows }];
  if (r.subwords)
    tables.push({
      title: 'Subwords (8-bit codes, 4-bit subwords, per-layer scale)',
      columns: ['layer', 'nonzero subwords before', 'after pruning', 'after fine-tuning', 'weights zeroed', 'scale'],
      rows: r.subwords.map((s) => [s.layer, s.subwordsBefore, s.subwordsAfter, s.subwordsAfterFineTune, s.weightsZeroed, round(s.scale, 6)]),
    });
  if (r.packing)
    tables.push({
      title: `Packing (${r.packing.format}${r.packing.subwords ? ', subwords' : ''}): compression rate with every bit counted`,
      columns: [
        'layer',
        'setting',
        'rate ×',
        'rate, value bits ×',
        'slots',
        r.packing.subwords ? 'nonzero subwords' : 'nonzero weights',
        'pruned by packing',
        'pruned share of Σ|w| %',
        'throughput ×',
        'energy efficiency ×',
      ],
      rows: [
        ...r.packing.layers.map((l) => {
          const a = r.packing?.array?.layers.find((x) => x.name === l.layer);
          return [
            l.layer,
            l.format === 'words' ? `${l.setting ?? ''}, 8-bit words` : (l.setting ?? ''),
            round(l.rate, 2),
            round(l.rateNoIndex, 2),
            l.slots,
            l.nonzeros,
            l.pruned,
            l.prunedL1Share === undefined ? null : round(100 * l.prunedL1Share, 2),
            a ? round(a.throughput, 2) : null,
            a ? round(a.energyEfficiency, 2) : null,
          ];
        }),
        [
          'total',
          '',
          round(r.packing.rate, 2),
          round(r.packing.rateNoIndex, 2),
          null,
          r.packing.nonzeros,
          r.packing.pruned,
          null,
          r.packing.array ? round(r.packing.array.throughput, 2) : null,
          r.packing.array ? round(r.packing.array.energyEfficiency, 2) : null,
        ],
      ],
    });
  const arr = r.packing?.array;
  if (arr)
    figures.push({
      title: `Packed vs dense on the ${arr.array.rows}×${arr.array.cols} array, per layer`,
      wide: true,
      spec: groupedBarSpec(
        arr.layers.flatMap((l) => [
          { category: l.name, metric: 'throughput', value: l.throughput },
          { category: l.name, metric: 'energy efficiency', value: l.energyEfficiency },
        ]),
        { order: arr.layers.map((l) => l.name), valueTitle: 'dense / packed (×)' },
      ),
      caption: `Systolic simulator, analytical mode, weight stationary, one image; energy from action counts including the index, multiplexer and bus rows. Whole network: throughput ${times(arr.throughput)}, energy efficiency ${times(arr.energyEfficiency)}.`,
    });
  return {
    id: 'compress-prune',
    title: `Pruning with fine-tuning: ${r.source.model} on ${r.dataset.name}`,
    paragraphs: [
      `${method(r)}; ${r.config.epochs} fine-tuning epoch(s), ${r.config.optimizer} lr ${r.config.lr} (${r.config.lrSchedule}), batch ${r.config.batch}, seed ${r.config.seed}; ${r.dataset.trainCount} training and ${r.dataset.testCount} test images. Source: ${r.source.run}.`,
      ...(r.foldedBatchNorm ? ['Batch norm was folded into the convolutions before fine-tuning (the packing quantizes folded weights).'] : []),
      ...(r.subwordViolations !== null ? [`Subword constraint after fine-tuning: ${r.subwordViolations} weights use a removed subword.`] : []),
    ],
    highlights: [
      { label: 'accuracy before', value: pct(r.before.accuracy, 2) },
      { label: 'accuracy after', value: pct(r.after.accuracy, 2), hint: points(r.after.accuracy - r.before.accuracy, 2) },
      { label: 'sparsity', value: pct(r.sparsity, 1), hint: 'of the pruned layers' },
      ...(r.packing ? [{ label: 'compression rate', value: times(r.packing.rate), hint: 'every index bit counted' }] : []),
      ...(r.packing?.array
        ? [
            { label: 'throughput', value: times(r.packing.array.throughput), hint: 'vs dense, same array' },
            { label: 'energy efficiency', value: times(r.packing.array.energyEfficiency), hint: 'vs dense, same array' },
          ]
        : []),
    ],
    figures,
    tables,
  };
}
