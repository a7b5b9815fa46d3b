/**
 * Exact operation counts of the convolution algorithms (per output pixel and per layer).
 *
 * Conventions (stated in every table):
 * - Element-wise stage: multiplications in the Winograd domain (or the MACs of direct convolution),
 *   counted per output pixel per (input channel, output channel) pair, for an unbounded feature map
 *   (every tile full). This is the paper's convention (docs/winograd.md): OLA uses F(m×m, 3×3) tiles
 *   on each of ⌈K/3⌉² zero-padded 3×3 sub-filters; nested uses the same outer tile m1 = m.
 * - Transforms: multiplications by constants other than 0 and ±1, and additions, applied separably
 *   (rows, then columns). Nested transforms are counted as staged (outer stage on vectors of blocks,
 *   then the inner transform on each block, recursively), which is how a nested datapath computes them.
 *   The filter transform is offline and not counted. Input transforms are per tile per input channel,
 *   output transforms per tile per output channel; OLA with m = 3 reuses each input tile's transform
 *   for all sub-filters (they are tile-aligned) and sums the sub-filters in the Winograd domain,
 *   so it pays one input and one output transform per tile.
 * - Per layer: real tile counts ⌈H/m⌉·⌈W/m⌉ for a stride-1 'same' layer of size H × W (edge tiles full).
 */
import { ConfigError } from '../core/errors.js';
import type { Q } from './rational.js';
import { type ExactAlgorithm, cookToom, nestedAlgorithm } from './transforms.js';

export interface OpCount {
  mults: number;
  adds: number;
}

function matCost(m: Q[][], vecLen: number): OpCount {
  let mults = 0;
  let adds = 0;
  for (const row of m) {
    let nnz = 0;
    for (const v of row) {
      if (v.isZero()) continue;
      nnz++;
      if (!v.isTrivial()) mults++;
    }
    adds += Math.max(0, nnz - 1);
  }
  return { mults: mults * vecLen, adds: adds * vecLen };
}

/** 1D input-transform cost (Bᵀ), staged for nested algorithms. */
export function inputTransformCost1D(alg: ExactAlgorithm): OpCount {
  if (!alg.nested) return matCost(alg.BT, 1);
  const { outer, inner } = alg.nested;
  const s = inner.m;
  const o = matCost(outer.BT, 2 * s - 1);
  const i = inputTransformCost1D(inner);
  return { mults: o.mults + outer.mu * i.mults, adds: o.adds + outer.mu * i.adds };
}

/** 1D output-transform cost (Aᵀ), staged for nested algorithms. */
export function outputTransformCost1D(alg: ExactAlgorithm): OpCount {
  if (!alg.nested) return matCost(alg.AT, 1);
  const { outer, inner } = alg.nested;
  const o = matCost(outer.AT, inner.m);
  const i = outputTransformCost1D(inner);
  return { mults: o.mults + outer.mu * i.mults, adds: o.adds + outer.mu * i.adds };
}

export interface TileCost {
  algorithm: string;
  /** outputs per tile side */
  m: number;
  mu: number;
  /** element-wise multiplications per tile (μ²) per channel pair */
  elementwise: number;
  /** 2D input transform per tile per input channel */
  inputTransform: OpCount;
  /** 2D output transform per tile per output channel */
  outputTransform: OpCount;
}

export function tileCost(alg: ExactAlgorithm): TileCost {
  const L = alg.m + alg.r - 1;
  const bi = inputTransformCost1D(alg);
  const ao = outputTransformCost1D(alg);
  return {
    algorithm: alg.name,
    m: alg.m,
    mu: alg.mu,
    elementwise: alg.mu * alg.mu,
    inputTransform: { mults: bi.mults * (L + alg.mu), adds: bi.adds * (L + alg.mu) },
    outputTransform: { mults: ao.mults * (alg.mu + alg.m), adds: ao.adds * (alg.mu + alg.m) },
  };
}

export interface LayerShape {
  /** output height and width (stride 1, 'same') */
  h: number;
  w: number;
  cin: number;
  cout: number;
}

export interface AlgorithmCount {
  /** element-wise multiplications per output pixel per channel pair (unbounded map) */
  mulPerOutput: number;
  /** input/output transform multiplications and additions per output pixel (amortized: per channel) */
  transformMulPerOutput: number;
  transformAddPerOutput: number;
  /** whole layer (finite map, edge tiles counted in full) */
  layer: { elementwise: number; transformMults: number; transformAdds: number };
  detail: string;
}

export interface CountRow {
  kernel: number;
  direct: AlgorithmCount;
  ola: AlgorithmCount;
  nested: AlgorithmCount;
  nestedMixed: AlgorithmCount;
  /** OLA / nested element-wise multiplications per output (the paper's metric) */
  olaOverNested: number;
  directOverNested: number;
  olaOverNestedMixed: number;
  directOverNestedMixed: number;
  /** same ratios for the finite layer (edge tiles) */
  olaOverNestedLayer: number;
  directOverNestedLayer: number;
  /** the paper's published ratio for this size, when there is one */
  paper: number | null;
}

export const PAPER_RATIOS: Record<number, number> = { 5: 1.41, 9: 3.29, 27: 10.5 };

export interface CountOptions {
  /** OLA tile outputs m, also the nested outer m1 (matched, as in the paper's convention). Default 3. */
  m?: number;
  layer?: LayerShape;
  maxOuterTaps?: number;
}

function bilinearCount(alg: ExactAlgorithm, layer: LayerShape, subFilters: number, sharedInput: boolean): AlgorithmCount {
  const t = tileCost(alg);
  const perOut = (subFilters * t.elementwise) / (alg.m * alg.m);
  const inFactor = sharedInput ? 1 : subFilters;
  const tmPer = (inFactor * t.inputTransform.mults + t.outputTransform.mults) / (alg.m * alg.m);
  const taPer = (inFactor * t.inputTransform.adds + t.outputTransform.adds) / (alg.m * alg.m);
  const tiles = Math.ceil(layer.h / alg.m) * Math.ceil(layer.w / alg.m);
  return {
    mulPerOutput: perOut,
    transformMulPerOutput: tmPer,
    transformAddPerOutput: taPer,
    layer: {
      elementwise: tiles * subFilters * t.elementwise * layer.cin * layer.cout,
      transformMults: tiles * (inFactor * t.inputTransform.mults * layer.cin + t.outputTransform.mults * layer.cout),
      transformAdds: tiles * (inFactor * t.inputTransform.adds * layer.cin + t.outputTransform.adds * layer.cout),
    },
    detail: subFilters > 1 ? `${subFilters}× ${alg.name}` : alg.name,
  };
}

export function countKernel(k: number, opts: CountOptions = {}): CountRow {
  const m = opts.m ?? 3;
  const layer = opts.layer ?? { h: 56, w: 56, cin: 64, cout: 64 };
  if (!Number.isInteger(k) || k < 1 || k > 31) throw new ConfigError(`kernel size ${k} is out of range: use 1…31`);
  const T = Math.ceil(k / 3);
  const outputs = layer.h * layer.w;
  const direct: AlgorithmCount = {
    mulPerOutput: k * k,
    transformMulPerOutput: 0,
    transformAddPerOutput: 0,
    layer: { elementwise: outputs * k * k * layer.cin * layer.cout, transformMults: 0, transformAdds: 0 },
    detail: `${k}×${k} direct`,
  };
  const ola = bilinearCount(cookToom(m, 3), layer, T * T, m === 3);
  const nested = bilinearCount(nestedAlgorithm(k, { policy: 'pure3', m1: m }), layer, 1, true);
  const nestedMixed = bilinearCount(nestedAlgorithm(k, { policy: 'mixed', m1: m, maxOuterTaps: opts.maxOuterTaps }), layer, 1, true);
  return {
    kernel: k,
    direct,
    ola,
    nested,
    nestedMixed,
    olaOverNested: ola.mulPerOutput / nested.mulPerOutput,
    directOverNested: direct.mulPerOutput / nested.mulPerOutput,
    olaOverNestedMixed: ola.mulPerOutput / nestedMixed.mulPerOutput,
    directOverNestedMixed: direct.mulPerOutput / nestedMixed.mulPerOutput,
    olaOverNestedLayer: ola.layer.elementwise / nested.layer.elementwise,
    directOverNestedLayer: direct.layer.elementwise / nested.layer.elementwise,
    paper: PAPER_RATIOS[k] ?? null,
  };
}

export const COUNT_CONVENTION =
  'element-wise multiplications per output pixel per channel pair, unbounded feature map; OLA = ⌈K/3⌉² zero-padded 3×3 sub-filters each by F(m×m,3×3); nested = pure-3 nesting (K padded to 3^L) with outer tile m1 = m; transforms (constants ∉ {0,±1} count as multiplications) are listed separately, filter transforms offline; the "layer" ratios use a finite H×W map with full edge tiles';

export function countTable(kernels: readonly number[], opts: CountOptions = {}): { convention: string; m: number; layer: LayerShape; rows: CountRow[] } {
  const layer = opts.layer ?? { h: 56, w: 56, cin: 64, cout: 64 };
  return { convention: COUNT_CONVENTION, m: opts.m ?? 3, layer, rows: kernels.map((k) => countKernel(k, { ...opts, layer })) };
}
