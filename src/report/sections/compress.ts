/**
 * Report section for the compression study (`kind: 'compress'`): compression rate per layer by
 * method (with every index bit, and value bits only), the network totals next to the paper's,
 * weights pruned by each packing, throughput and energy efficiency on the array vs dense, and a
 * picture of one weight-matrix tile before and after permutation packing. Results written before
 * a method existed show the methods they have.
 */
import { type CompressResult, METHOD_LABELS, METHODS, type MethodName, type PackPicture } from '../../experiments/compress.js';
import { groupedBarSpec } from '../charts.js';
import { pct, round, times } from '../format.js';
import type { ReportFigure, ReportSection } from '../types.js';

/** The methods this result has (older results lack the budgeted ones). */
function methodsOf(r: CompressResult): MethodName[] {
  return METHODS.filter((k) => r.layers.every((l) => l[k]) && r.total[k]);
}

function rateFigure(r: CompressResult): ReportFigure {
  const ms = methodsOf(r);
  const values = r.layers.flatMap((l) => ms.map((k) => ({ layer: l.name, method: METHOD_LABELS[k], rate: l[k].rate })));
  return {
    title: 'Compression rate per layer (every index bit counted)',
    wide: true,
    spec: {
      width: Math.max(360, 46 * r.layers.length),
      height: 240,
      data: { values },
      mark: 'bar',
      encoding: {
        x: { field: 'layer', type: 'nominal', sort: r.layers.map((l) => l.name), title: null, axis: { labelAngle: -40 } },
        xOffset: { field: 'method', sort: ms.map((k) => METHOD_LABELS[k]) },
        y: { field: 'rate', type: 'quantitative', title: 'dense bits / packed bits (×)' },
        color: { field: 'method', type: 'nominal', sort: ms.map((k) => METHOD_LABELS[k]), title: null, legend: { orient: 'bottom', columns: 3 } },
      },
    },
    caption: `Array ${r.config.array.rows}×${r.config.array.cols}, multiplexer fan-in ${r.config.groupSize}. Column combining prunes conflicting weights (γ = ${r.config.maxOverlap}; γ = 1 fills every group); the budgeted formats prune what overflows k = ${r.config.budgetSlots ?? 1} slots per row and group; the tight formats are lossless.`,
  };
}

function arrayFigure(r: CompressResult): ReportFigure | null {
  const a = r.array;
  if (!a) return null;
  const ms = Object.keys(a.methods) as (keyof typeof a.methods)[];
  const values = ms.flatMap((k) => [
    { category: METHOD_LABELS[k], metric: 'throughput', value: a.methods[k].throughput },
    { category: METHOD_LABELS[k], metric: 'energy efficiency', value: a.methods[k].energyEfficiency },
  ]);
  return {
    title: 'Throughput and energy efficiency vs the dense layers on the same array',
    wide: true,
    spec: groupedBarSpec(values, { order: ms.map((k) => METHOD_LABELS[k]), valueTitle: 'dense / packed (×)' }),
    caption: `Systolic simulator, analytical mode, ${r.config.array.rows}×${r.config.array.cols} weight-stationary array, SCALE-Sim's default scratchpads, one image (${r.layers.map((l) => l.array?.vectors ?? 0).join('/')} input vectors per layer). Energy includes the packings' own rows (index words, multiplexers and bus registers, extra bus reads: ${ms.map((k) => `${METHOD_LABELS[k]} ${pct(a.methods[k].overheadPj / a.methods[k].energyPj)}`).join(', ')} of their energy).`,
  };
}

function pictureFigure(p: PackPicture, array: number): ReportFigure {
  const cells = (g: PackPicture['before'], which: string) => g.density.map((d, i) => ({ which, row: Math.floor(i / g.cols), col: i % g.cols, density: d }));
  const values = [...cells(p.before, 'before: first tile, original order'), ...cells(p.after, 'after: the same tile packed')];
  return {
    title: `Layer ${p.layer}: one ${array}-row tile before and after permutation packing`,
    wide: true,
    spec: {
      data: { values },
      facet: { row: { field: 'which', type: 'nominal', title: null, sort: ['before: first tile, original order', 'after: the same tile packed'] } },
      spec: {
        width: Math.max(120, p.before.cols * 6),
        height: Math.max(40, p.before.rows * 6),
        mark: 'rect',
        encoding: {
          x: { field: 'col', type: 'ordinal', title: `columns (cells of ${p.cell})`, axis: null },
          y: { field: 'row', type: 'ordinal', title: null, axis: null },
          color: { field: 'density', type: 'quantitative', title: 'nonzero fraction', scale: { domain: [0, 1], range: ['#f5f8ff', '#1e3a8a'] } },
        },
      },
      resolve: { scale: { x: 'independent' } },
    },
    caption: `Each cell is ${p.cell}×${p.cell} weights, coloured by its fraction of nonzeros. After packing, the tile keeps its rows and shrinks to its packed columns (${p.after.cols} vs ${p.before.cols} cells).`,
  };
}

export function compressSection(r: CompressResult): ReportSection {
  const t = r.total;
  const pruned = r.layers.reduce((s, l) => s + l.columnCombining.prunedByConflicts, 0);
  const nnz = r.layers.reduce((s, l) => s + l.nonzeros, 0);
  const src =
    r.config.source === 'matrix'
      ? `one synthetic ${r.config.matrix.rows}×${r.config.matrix.cols} matrix`
      : r.config.source === 'checkpoint'
        ? `the layers of ${r.config.checkpoint}`
        : `the layer shapes of ${r.config.source} with synthetic 8-bit weights`;
  const figures = [rateFigure(r)];
  const af = arrayFigure(r);
  if (af) figures.push(af);
  if (r.picture) figures.push(pictureFigure(r.picture, r.config.array.cols));
  const ms = methodsOf(r);
  return {
    id: 'compress',
    title: 'Compression: tight permutation packing vs column combining',
    highlights: [
      { label: 'column combining', value: times(t.columnCombining.rate), hint: `paper's state of the art ${times(r.paper.stateOfTheArt)}` },
      { label: 'tight + permutation', value: times(t.permutation.rate), hint: `lossless; paper ${times(r.paper.unstructured)}` },
      ...(t.budgeted ? [{ label: 'budgeted + permutation', value: times(t.budgeted.rate), hint: `prunes ${pct(t.budgeted.l1Share)} of Σ|w|` }] : []),
      { label: '+ subwords', value: times(t.permutationSubword.rate), hint: `paper ${times(r.paper.subword)}` },
      ...(r.array?.methods.budgeted
        ? [
            {
              label: 'budgeted on the array',
              value: `${times(r.array.methods.budgeted.throughput)} / ${times(r.array.methods.budgeted.energyEfficiency)}`,
              hint: `throughput / energy vs dense; paper ${r.paper.throughput}× / ${r.paper.energyEfficiency}× vs its baseline`,
            },
          ]
        : []),
      { label: 'word-level bound', value: times(r.idealRate), hint: '1 / weight density' },
    ],
    paragraphs: [
      `Weights: ${src}${r.config.sparsity === null ? " at each layer's published density" : ` at ${pct(r.config.sparsity)} sparsity`} (seed ${r.config.seed}). Rates count every stored bit (values, multiplexer selects, block widths, orders); value bits only: column combining ${times(t.columnCombining.rateNoIndex)}, permutation ${times(t.permutation.rateNoIndex)}, with subwords ${times(t.permutationSubword.rateNoIndex)}.`,
      `Column combining reaches its rate by pruning ${pruned} of ${nnz} nonzero weights (${pct(pruned / Math.max(1, nnz))}) that conflict inside a combined column; the tight formats keep every weight and unpack exactly: ${r.exact ? 'yes' : 'NO'}.`,
      `Paper (Tight Compression, TCAD 2022): ${r.paper.stateOfTheArt}× (state of the art) → ${r.paper.unstructured}× (permutation) → ${r.paper.subword}× (with subword pruning). Here: ${times(t.columnCombining.rate)} → ${times(t.permutation.rate)} → ${times(t.permutationSubword.rate)}${t.permutation.rate < r.paper.unstructured ? ', below the paper' : ''}.`,
    ],
    figures,
    tables: [
      {
        title: 'Methods over the network',
        columns: ['method', 'rate, every bit', 'rate, value bits', 'index/order bits', 'weights changed', 'Σ|Δw| / Σ|w|', 'ΣΔw² / Σw²', 'throughput', 'energy efficiency'],
        rows: ms.map((k) => {
          const t = r.total[k];
          const a = r.array && k !== 'tight' ? r.array.methods[k] : null;
          return [
            METHOD_LABELS[k],
            times(t.rate),
            times(t.rateNoIndex),
            t.indexShare === undefined ? '–' : pct(t.indexShare),
            t.changed ?? '–',
            t.l1Share === undefined ? '–' : pct(t.l1Share),
            t.l2Share === undefined ? '–' : pct(t.l2Share),
            a ? times(a.throughput) : '–',
            a ? times(a.energyEfficiency) : '–',
          ];
        }),
        note: 'Weights changed: pruned by packing (column combining, budgeted) or by subword pruning (subword methods); shares are of the pruned input matrix. Throughput and energy efficiency: dense cycles (energy) / packed cycles (energy) on the same array.',
      },
      {
        title: 'Compression rate per layer (value bits only in brackets)',
        columns: ['layer', 'rows', 'cols', 'sparsity', ...ms.map((k) => METHOD_LABELS[k]), 'search s'],
        rows: r.layers.map((l) => [l.name, l.rows, l.cols, pct(l.sparsity), ...ms.map((k) => `${times(l[k].rate)} (${times(l[k].rateNoIndex)})`), round(l.seconds, 1)]),
      },
    ],
  };
}
