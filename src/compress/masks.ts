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
 *
 * `bestPackingMasks` chooses per layer, from a family's grid of parameter settings
 * (`packingCandidates`), the one with the highest rate (index bits counted) whose pruned share of the
 * layer's weight magnitude (Σ|w| pruned / Σ|w|) stays within `maxL1Share`. Layers differ a lot
 * (a first conv layer is nearly dense, a large dense layer is 95 % zeros after global pruning), so one
 * (groupSize, k) or (α, γ) for every layer either prunes the dense layers heavily or leaves the sparse
 * ones loosely packed; the same allowance for both families makes their rates comparable.
 */
import { type BudgetSearchOptions, type BudgetSearchStats, budgetMask, type PrunedStats, prunedStats, searchBudgetOrders } from './budget.js';
import { ConfigError } from '../core/errors.js';
import { columnCombineMask } from './column-combine.js';
import { type IntMatrix, intMatrix } from './matrix.js';
import { type Orders, type SearchOptions, type SearchStats, searchOrders } from './permute.js';
import { columnCombinedRate, type PackRate, type ShiftSelect, tightRate } from './rates.js';
import { packTight } from './tight.js';

/** One layer: K×N weights, row-major (reduction index major). */
export interface MaskLayer {
  name: string;
  k: number;
  n: number;
  weights: Float32Array | Float64Array | Int32Array;
  /** Input vectors per image on the array (output pixels of a convolution, 1 for a dense layer); default 1. */
  vectors?: number;
  /**
   * Warm start of the tight and budgeted searches: output-channel order (n) and reduction-index
   * order (k), e.g. an earlier packing's orders; used where it costs no more than the greedy start.
   */
  start?: Orders;
}

export type PackingMethodSpec =
  | { method: 'budgeted'; groupSize: number; slotsPerGroup: number; search?: Omit<BudgetSearchOptions, 'seed' | 'onTemperature'> }
  | { method: 'columnCombining'; maxColumns: number; maxOverlap: number; candidates?: number }
  | { method: 'tight'; groupSize: number; search?: Omit<SearchOptions, 'seed' | 'onTemperature'> }
  /** The layer left unpacked: dense weights on the array, no index bits, nothing pruned (rate 1). */
  | { method: 'dense' };

export interface PackingMaskOptions {
  /** Output channels per tile (the array's columns). */
  tileRows: number;
  /** Bits of a dense weight (rates). Default 8. */
  weightBits?: number;
  seed: number;
  /**
   * The layers are subword matrices (K·perWeight rows): rates count subword slots of `valueBits`
   * (and the shift select as `shiftSelect` says) against the dense weights, so candidates are ranked
   * by the rate the subword format really has. Column combining packs words only.
   */
  subwords?: { perWeight: number; valueBits: number; shiftSelect?: ShiftSelect };
}

export interface LayerPackingMask extends PackRate {
  name: string;
  /** The method and parameters this layer was packed with. */
  spec: PackingMethodSpec;
  k: number;
  n: number;
  /** K×N, 1 = kept (a subset of the nonzeros). */
  mask: Uint8Array;
  pruned: PrunedStats;
  /** Output-channel order and reduction-index order of the packing (identity for column combining's rows). */
  rowOrder: Int32Array;
  colOrder: Int32Array;
  search: BudgetSearchStats | SearchStats | null;
  /** Column combining: the combined columns (original reduction indices); null for the other formats. */
  ccGroups: Int32Array[] | null;
}

export interface PackingMasks {
  method: PackingMethodSpec['method'];
  /** `bestPackingMasks`: the allowance of pruned weight magnitude per layer (else null). */
  maxL1Share: number | null;
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

const ident = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

function packLayer(l: MaskLayer, spec: PackingMethodSpec, o: PackingMaskOptions, seed: number): LayerPackingMask {
  if (!Number.isInteger(l.k) || !Number.isInteger(l.n) || l.k < 1 || l.n < 1 || l.weights.length !== l.k * l.n)
    throw new ConfigError(`packing masks: layer '${l.name}' has ${l.weights.length} weights, expected k·n = ${l.k}×${l.n}`);
  const weightBits = o.weightBits ?? 8;
  const f = { rows: l.n, cols: l.k, values: filterMatrixOf(l.weights, l.k, l.n) };
  const sw = o.subwords;
  const word = sw
    ? { weightBits, valueBits: sw.valueBits, subwordsPerWeight: sw.perWeight, shiftSelect: sw.shiftSelect }
    : { weightBits, valueBits: weightBits, subwordsPerWeight: 1 };
  if (spec.method === 'dense') {
    // The unpacked layer: its dense weights (of K / perWeight rows for a subword matrix).
    const denseBits = (f.rows * f.cols * weightBits) / word.subwordsPerWeight;
    const mask = Uint8Array.from(f.values, (v) => (v !== 0 ? 1 : 0));
    return {
      name: l.name,
      spec,
      k: l.k,
      n: l.n,
      slots: denseBits / weightBits,
      bits: { values: denseBits, index: 0, blocks: 0, permutation: 0, total: denseBits },
      denseBits,
      rate: 1,
      rateNoIndex: 1,
      mask: maskToKxN(mask, l.k, l.n),
      pruned: prunedStats(f.values, mask),
      rowOrder: ident(f.rows),
      colOrder: ident(f.cols),
      search: null,
      ccGroups: null,
    };
  }
  if (spec.method === 'columnCombining') {
    if (sw) throw new ConfigError('packing masks: column combining packs whole weights, not subwords (use budgeted or tight)');
    const cc = columnCombineMask(f, { maxColumns: spec.maxColumns, maxOverlap: spec.maxOverlap, candidates: spec.candidates });
    const rate = columnCombinedRate({ rows: f.rows, cols: f.cols, groups: cc.groups, maxColumns: cc.maxColumns }, o.tileRows, weightBits);
    return {
      name: l.name,
      spec,
      k: l.k,
      n: l.n,
      ...rate,
      mask: maskToKxN(cc.mask, l.k, l.n),
      pruned: prunedStats(f.values, cc.mask),
      rowOrder: ident(f.rows),
      colOrder: ident(f.cols),
      search: null,
      ccGroups: cc.groups,
    };
  }
  if (spec.method === 'tight') {
    const pm = patternMatrix(f.rows, f.cols, (i) => f.values[i] !== 0);
    const layout = { tileRows: o.tileRows, groupSize: spec.groupSize };
    const found = searchOrders(pm, layout, { ...spec.search, seed, start: l.start });
    const rate = tightRate(packTight(pm, layout, found), word);
    const mask = Uint8Array.from(pm.values);
    return {
      name: l.name,
      spec,
      k: l.k,
      n: l.n,
      ...rate,
      mask: maskToKxN(mask, l.k, l.n),
      pruned: prunedStats(f.values, mask),
      rowOrder: found.rowOrder,
      colOrder: found.colOrder,
      search: found.stats,
      ccGroups: null,
    };
  }
  const layout = { tileRows: o.tileRows, groupSize: spec.groupSize, slotsPerGroup: spec.slotsPerGroup };
  const found = searchBudgetOrders(f, layout, { ...spec.search, seed, start: l.start });
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
    spec,
    k: l.k,
    n: l.n,
    ...rate,
    mask: maskToKxN(mask, l.k, l.n),
    pruned: prunedStats(f.values, mask),
    rowOrder: found.rowOrder,
    colOrder: found.colOrder,
    search: found.stats,
    ccGroups: null,
  };
}

function checkSpec(spec: PackingMethodSpec, o: PackingMaskOptions): void {
  if (!['budgeted', 'columnCombining', 'tight', 'dense'].includes(spec.method))
    throw new ConfigError(`packing masks: method '${spec.method}' is not known (use budgeted, columnCombining, tight or dense)`);
  if (!Number.isInteger(o.tileRows) || o.tileRows < 1) throw new ConfigError(`packing masks: tileRows ${o.tileRows} must be a positive integer (the array's columns)`);
}

/**
 * Packing masks and rates for a network's layers (see the module comment). Layer i is searched
 * with seed `seed + i`; the result is plain data (typed arrays for masks and orders).
 */
export function packingMasks(layers: readonly MaskLayer[], spec: PackingMethodSpec, o: PackingMaskOptions): PackingMasks {
  checkSpec(spec, o);
  return summarize(
    spec.method,
    null,
    layers,
    layers.map((l, i) => packLayer(l, spec, o, o.seed + i)),
  );
}

/** A short label of a spec, e.g. "budgeted g=16 k=2", "columnCombining α=8 γ=0.05", "tight g=8". */
export function specLabel(spec: PackingMethodSpec): string {
  if (spec.method === 'budgeted') return `budgeted g=${spec.groupSize} k=${spec.slotsPerGroup}`;
  if (spec.method === 'columnCombining') return `columnCombining α=${spec.maxColumns} γ=${spec.maxOverlap}`;
  if (spec.method === 'dense') return 'dense (unpacked)';
  return `tight g=${spec.groupSize}`;
}

/** Group sizes (multiplexer fan-ins) of the default grids. */
export const CANDIDATE_GROUP_SIZES = [4, 8, 16, 32] as const;
/** Column combining's γ values of the default grid (0 = lossless combining). */
export const CANDIDATE_OVERLAPS = [0, 0.01, 0.02, 0.05, 0.1, 0.2] as const;

/**
 * The default grid of a family for `bestPackingMasks`:
 * - 'budgeted': permutation packing, k = 1…min(4, g − 1) slots per row per group, plus the lossless
 *   tight format, for every g of CANDIDATE_GROUP_SIZES (so a layer that cannot lose anything packs losslessly);
 * - 'tight': the lossless tight format for every g;
 * - 'columnCombining': α of CANDIDATE_GROUP_SIZES × γ of CANDIDATE_OVERLAPS (γ = 0 is lossless);
 * and in every family the unpacked dense layer (rate 1: a nearly dense layer costs more packed,
 * with its index bits, than dense). `search` applies to the budgeted and tight searches.
 */
export type PermutationSpec = Extract<PackingMethodSpec, { method: 'budgeted' | 'tight' | 'dense' }>;
export function packingCandidates(family: 'budgeted' | 'tight', search?: Omit<SearchOptions, 'seed' | 'onTemperature'>): PermutationSpec[];
export function packingCandidates(family: PackingMethodSpec['method'], search?: Omit<SearchOptions, 'seed' | 'onTemperature'>): PackingMethodSpec[];
export function packingCandidates(family: PackingMethodSpec['method'], search?: Omit<SearchOptions, 'seed' | 'onTemperature'>): PackingMethodSpec[] {
  const out: PackingMethodSpec[] = [{ method: 'dense' }];
  for (const g of CANDIDATE_GROUP_SIZES) {
    if (family === 'columnCombining') {
      for (const gamma of CANDIDATE_OVERLAPS) out.push({ method: 'columnCombining', maxColumns: g, maxOverlap: gamma });
      continue;
    }
    out.push({ method: 'tight', groupSize: g, search });
    if (family === 'budgeted') for (let k = 1; k <= Math.min(4, g - 1); k++) out.push({ method: 'budgeted', groupSize: g, slotsPerGroup: k, search });
  }
  return out;
}

/** The same spec with the quick greedy search (screening a grid), when it searches at all. */
function screeningSpec(spec: PackingMethodSpec): PackingMethodSpec {
  if (spec.method === 'columnCombining' || spec.method === 'dense') return spec;
  const method = spec.search?.method ?? 'anneal';
  return method === 'anneal' ? { ...spec, search: { ...spec.search, method: 'greedy' } } : spec;
}

/**
 * Per layer, the candidate with the highest rate (index bits counted; ties: the smaller pruned
 * share) whose pruned share of the layer's Σ|w| is at most `maxL1Share`. The grid is screened with
 * the greedy search; the chosen setting is then packed with its own search (annealing starts from
 * the greedy orders and keeps the best state, so it prunes no more; if it ever did, the screened
 * packing is kept). A layer where no candidate qualifies (only possible without a lossless
 * candidate) gets the one that prunes least. `overrides` gives some layers their own allowance.
 */
export function bestPackingMasks(
  layers: readonly MaskLayer[],
  candidates: readonly PackingMethodSpec[],
  o: PackingMaskOptions,
  maxL1Share: number,
  overrides: Readonly<Record<string, number>> = {},
): PackingMasks {
  if (candidates.length === 0) throw new ConfigError('packing masks: the candidate list is empty (give at least one packing spec)');
  for (const [name, share] of [['all layers', maxL1Share], ...Object.entries(overrides)] as const)
    if (!(share >= 0 && share <= 1)) throw new ConfigError(`packing masks: maxL1Share ${share} (${name}) must be in 0…1 (a share of each layer's weight magnitude)`);
  for (const c of candidates) checkSpec(c, o);
  const tol = 1e-12;
  const out = layers.map((l, i) => {
    const allowance = overrides[l.name] ?? maxL1Share;
    let best: LayerPackingMask | null = null;
    let bestSpec: PackingMethodSpec = candidates[0];
    let least: LayerPackingMask | null = null;
    for (const spec of candidates) {
      const r = packLayer(l, screeningSpec(spec), o, o.seed + i);
      if (!least || r.pruned.l1Share < least.pruned.l1Share) least = r;
      if (r.pruned.l1Share > allowance + tol) continue;
      if (!best || r.rate > best.rate || (r.rate === best.rate && r.pruned.l1Share < best.pruned.l1Share)) {
        best = r;
        bestSpec = spec;
      }
    }
    const chosen = best ?? (least as LayerPackingMask);
    if (!best) bestSpec = chosen.spec;
    const spec = bestSpec;
    if (spec === chosen.spec) return chosen;
    const final = packLayer(l, spec, o, o.seed + i);
    return final.pruned.l1Share <= Math.max(allowance, chosen.pruned.l1Share) + tol ? final : chosen;
  });
  // The family the grid belongs to (its lossless and unpacked members aside).
  const family = (['budgeted', 'columnCombining', 'tight', 'dense'] as const).find((m) => candidates.some((c) => c.method === m)) ?? 'dense';
  return summarize(family, maxL1Share, layers, out);
}

function summarize(method: PackingMethodSpec['method'], maxL1Share: number | null, layers: readonly MaskLayer[], out: LayerPackingMask[]): PackingMasks {
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
    method,
    maxL1Share,
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
