/**
 * Packing masks for fine-tuning: given the layers' weights (integer codes or floats) and a packing
 * method with its parameters, the mask of the weights the packed format keeps (1 = kept) and the
 * compression rate with every bit counted. Pruning by packing happens here; the caller fine-tunes
 * the network with the mask fixed (training loop in nn/experiments).
 *
 * Layers come in the K×N reduction-major layout (the workload runtime's layout; a tfjs conv kernel
 * [kh, kw, cin, cout] or dense kernel [in, out] flattened), the mask is returned in the same
 * layout. Internally the filter matrix F = transpose (rows = output channels) is packed on tiles
 * of `tileRows` output channels (the array's columns in the weight-stationary mapping).
 *
 * Methods:
 * - 'budgeted': k = slotsPerGroup slots per row per group of groupSize columns, orders searched
 *   to minimise the pruned magnitude (budget.ts);
 * - 'columnCombining': Kung et al.'s combining with α = maxColumns and γ = maxOverlap (one weight
 *   per row per combined column);
 * - 'tight': the lossless tight format (mask = the nonzeros; the rate after the permutation search).
 */
import { type BudgetSearchOptions, type BudgetSearchStats, budgetMask, type PrunedStats, prunedStats, searchBudgetOrders } from './budget.js';
import { ConfigError } from '../core/errors.js';
import { columnCombineMask } from './column-combine.js';
import { type IntMatrix, intMatrix } from './matrix.js';
import { type SearchOptions, type SearchStats, searchOrders } from './permute.js';
import { columnCombinedRate, type PackRate, tightRate } from './rates.js';
import { packTight } from './tight.js';

/** One layer: K×N weights, row-major (reduction index major). */
export interface MaskLayer {
  name: string;
  k: number;
  n: number;
  weights: Float32Array | Float64Array | Int32Array;
}

export type PackingMethodSpec =
  | { method: 'budgeted'; groupSize: number; slotsPerGroup: number; search?: Omit<BudgetSearchOptions, 'seed' | 'onTemperature'> }
  | { method: 'columnCombining'; maxColumns: number; maxOverlap: number; candidates?: number }
  | { method: 'tight'; groupSize: number; search?: Omit<SearchOptions, 'seed' | 'onTemperature'> };

export interface PackingMaskOptions {
  /** Output channels per tile (the array's columns). */
  tileRows: number;
  /** Bits of a dense weight (rates). Default 8. */
  weightBits?: number;
  seed: number;
}

export interface LayerPackingMask extends PackRate {
  name: string;
  k: number;
  n: number;
  /** K×N, 1 = kept (a subset of the nonzeros). */
  mask: Uint8Array;
  pruned: PrunedStats;
  /** Output-channel order and reduction-index order of the packing (identity for column combining's rows). */
  rowOrder: Int32Array;
  colOrder: Int32Array;
  search: BudgetSearchStats | SearchStats | null;
}

export interface PackingMasks {
  method: PackingMethodSpec['method'];
  layers: LayerPackingMask[];
  /** Σ dense bits / Σ packed bits over the layers, and the pruned weights over all layers. */
  total: { rate: number; rateNoIndex: number; denseBits: number; packedBits: number; nonzeros: number; pruned: number; l1Share: number; l2Share: number };
}

/** F (rows = N output channels, cols = K) of a K×N matrix. */
function filterMatrixOf(w: ArrayLike<number>, k: number, n: number): Float64Array {
  const f = new Float64Array(k * n);
  for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) f[j * k + r] = w[r * n + j];
  return f;
}

function maskToKxN(mask: Uint8Array, k: number, n: number): Uint8Array {
  const out = new Uint8Array(k * n);
  for (let j = 0; j < n; j++) for (let r = 0; r < k; r++) out[r * n + j] = mask[j * k + r];
  return out;
}

/** An integer matrix with the kept pattern (value 1): all the rate accounting needs. */
function patternMatrix(rows: number, cols: number, keep: (i: number) => boolean): IntMatrix {
  const m = intMatrix(rows, cols);
  for (let i = 0; i < m.values.length; i++) if (keep(i)) m.values[i] = 1;
  return m;
}

function packLayer(l: MaskLayer, spec: PackingMethodSpec, o: PackingMaskOptions, seed: number): LayerPackingMask {
  if (!Number.isInteger(l.k) || !Number.isInteger(l.n) || l.k < 1 || l.n < 1 || l.weights.length !== l.k * l.n)
    throw new ConfigError(`packing masks: layer '${l.name}' has ${l.weights.length} weights, expected k·n = ${l.k}×${l.n}`);
  const weightBits = o.weightBits ?? 8;
  const f = { rows: l.n, cols: l.k, values: filterMatrixOf(l.weights, l.k, l.n) };
  const word = { weightBits, valueBits: weightBits, subwordsPerWeight: 1 };
  if (spec.method === 'columnCombining') {
    const cc = columnCombineMask(f, { maxColumns: spec.maxColumns, maxOverlap: spec.maxOverlap, candidates: spec.candidates });
    const rate = columnCombinedRate({ rows: f.rows, cols: f.cols, groups: cc.groups, maxColumns: cc.maxColumns }, o.tileRows, weightBits);
    const ident = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    return {
      name: l.name,
      k: l.k,
      n: l.n,
      ...rate,
      mask: maskToKxN(cc.mask, l.k, l.n),
      pruned: prunedStats(f.values, cc.mask),
      rowOrder: ident(f.rows),
      colOrder: ident(f.cols),
      search: null,
    };
  }
  if (spec.method === 'tight') {
    const pm = patternMatrix(f.rows, f.cols, (i) => f.values[i] !== 0);
    const layout = { tileRows: o.tileRows, groupSize: spec.groupSize };
    const found = searchOrders(pm, layout, { ...spec.search, seed });
    const rate = tightRate(packTight(pm, layout, found), word);
    const mask = Uint8Array.from(pm.values);
    return {
      name: l.name,
      k: l.k,
      n: l.n,
      ...rate,
      mask: maskToKxN(mask, l.k, l.n),
      pruned: prunedStats(f.values, mask),
      rowOrder: found.rowOrder,
      colOrder: found.colOrder,
      search: found.stats,
    };
  }
  const layout = { tileRows: o.tileRows, groupSize: spec.groupSize, slotsPerGroup: spec.slotsPerGroup };
  const found = searchBudgetOrders(f, layout, { ...spec.search, seed });
  // The kept set depends on the magnitudes (floats included): mask from the weights, rate from its pattern.
  const mask = budgetMask(f, layout, found);
  const rate = tightRate(
    packTight(
      patternMatrix(f.rows, f.cols, (i) => mask[i] === 1),
      layout,
      found,
    ),
    { ...word, maxWidth: spec.slotsPerGroup },
  );
  return {
    name: l.name,
    k: l.k,
    n: l.n,
    ...rate,
    mask: maskToKxN(mask, l.k, l.n),
    pruned: prunedStats(f.values, mask),
    rowOrder: found.rowOrder,
    colOrder: found.colOrder,
    search: found.stats,
  };
}

/**
 * Packing masks and rates for a network's layers (see the module comment). Layer i is searched
 * with seed `seed + i`; the result is plain data (typed arrays for masks and orders).
 */
export function packingMasks(layers: readonly MaskLayer[], spec: PackingMethodSpec, o: PackingMaskOptions): PackingMasks {
  if (!['budgeted', 'columnCombining', 'tight'].includes(spec.method))
    throw new ConfigError(`packing masks: method '${spec.method}' is not known (use budgeted, columnCombining or tight)`);
  if (!Number.isInteger(o.tileRows) || o.tileRows < 1) throw new ConfigError(`packing masks: tileRows ${o.tileRows} must be a positive integer (the array's columns)`);
  const out = layers.map((l, i) => packLayer(l, spec, o, o.seed + i));
  const sum = (f: (x: LayerPackingMask) => number) => out.reduce((s, x) => s + f(x), 0);
  const denseBits = sum((x) => x.denseBits);
  const packedBits = sum((x) => x.bits.total);
  const nonzeros = sum((x) => x.pruned.nonzerosBefore);
  const pruned = sum((x) => x.pruned.pruned);
  // Magnitude shares over all layers, weighted by each layer's own totals.
  let l1 = 0;
  let l1p = 0;
  let l2 = 0;
  let l2p = 0;
  layers.forEach((l, i) => {
    let a1 = 0;
    let a2 = 0;
    for (const v of l.weights) {
      a1 += Math.abs(v);
      a2 += v * v;
    }
    l1 += a1;
    l2 += a2;
    l1p += a1 * out[i].pruned.l1Share;
    l2p += a2 * out[i].pruned.l2Share;
  });
  return {
    method: spec.method,
    layers: out,
    total: {
      rate: denseBits / packedBits,
      rateNoIndex: denseBits / sum((x) => x.bits.values),
      denseBits,
      packedBits,
      nonzeros,
      pruned,
      l1Share: l1 > 0 ? l1p / l1 : 0,
      l2Share: l2 > 0 ? l2p / l2 : 0,
    },
  };
}
