/**
 * Shared pieces of the bit-serial crossbar evaluation: the ADC transfer, the order of input
 * bit-planes, the per-tile weight statistics behind the run-time bounds, the termination units of
 * a layer, the stop decision of one output, and the per-layer counters.
 *
 * Bounds (product units, i.e. Σ_i w_i·x_i of integer codes). After some planes have been applied,
 * input i has a not-yet-applied part r_i = Σ_{q remaining} 2^q·bit_q(x_i) ∈ [0, R], R = Σ_{q remaining} 2^q.
 * Per row tile t and output j, with W⁺ (W⁻) the sum of the positive (negative) weights of the tile's rows
 * and w⁺ (w⁻) their largest (most negative) weight, the remaining contribution lies in [lo, hi]:
 * - 'static':     hi = R·W⁺,                                   lo = R·W⁻
 * - 'max-weight': hi = min(R·W⁺, w⁺·Σ_i r_i),                  lo = max(R·W⁻, w⁻·Σ_i r_i)
 * - 'plane':      hi = Σ_q 2^q·min(W⁺, w⁺·pop_q),              lo = Σ_q 2^q·max(W⁻, w⁻·pop_q)
 * - 'sorted':     hi = Σ_q 2^q·top⁺(pop_q),                    lo = Σ_q 2^q·top⁻(pop_q)
 *   (pop_q = inputs of the tile whose bit q is 1; top⁺(p) = sum of the p largest positive weights of
 *   the tile's rows, top⁻(p) of the p most negative: prefix sums of the sorted weights, stored per
 *   output next to W⁺/W⁻; each bound is at least as tight as the one above it).
 * Layer bounds are the sums over row tiles. All are strict: the final value always lies inside.
 */
import type { QuantLayer } from '../../nn/runtime/index.js';
import { type RramConfig, adcBitsOf, exactAdcBits, physicalColumnsPerOutput, referenceColumns, thresholdOf } from './config.js';
import type { LayerMapping } from './mapping.js';
import { hashNormal } from './mapping.js';

/** Input bit-planes in application order. */
export function planeOrder(c: RramConfig): number[] {
  const b = c.activationBits;
  const msb = Array.from({ length: b }, (_, i) => b - 1 - i);
  return c.bitOrder === 'msb-first' ? msb : msb.reverse();
}

/** ADC model: uniform over the crossbar's full bit-line range, LSB = 2^(exact bits − adc bits) levels, saturating. */
export interface Adc {
  exact: boolean;
  lsb: number;
  maxCode: number;
  noise: number;
  seed: number;
}

export function adcOf(c: RramConfig): Adc {
  const bits = adcBitsOf(c);
  const need = exactAdcBits(c);
  return { exact: bits >= need && c.adcNoiseLsb === 0, lsb: 2 ** Math.max(0, need - bits), maxCode: 2 ** bits - 1, noise: c.adcNoiseLsb, seed: c.seed };
}

/** One conversion of bit-line sum v; `key` identifies the conversion (its noise draw depends on it only). */
export function convert(adc: Adc, v: number, key: readonly number[]): number {
  if (adc.exact) return v;
  const n = adc.noise > 0 ? adc.noise * hashNormal(adc.seed, ...key) : 0;
  const code = Math.round(v / adc.lsb + n);
  return Math.min(adc.maxCode, Math.max(0, code)) * adc.lsb;
}

/** Per (row tile, output) weight statistics, row-major T×N. */
export interface TileStats {
  tiles: number;
  rows: Int32Array;
  posSum: Float64Array;
  negSum: Float64Array;
  posMax: Float64Array;
  negMin: Float64Array;
  sum: Float64Array;
  /**
   * 'sorted' bound (else empty): per (tile, output) the prefix sums of its positive weights in
   * descending order and of its negative weights in ascending order, `stride` = rowsPerTile + 1
   * entries each (entry p = sum of the p largest; constant once the weights of that sign run out).
   */
  stride: number;
  topPos: Float64Array;
  topNeg: Float64Array;
}

/** Sum of the `count` largest positive (most negative) weights of tile t for output j ('sorted' stats). */
export function topSum(s: TileStats, positive: boolean, t: number, j: number, n: number, count: number): number {
  return (positive ? s.topPos : s.topNeg)[(t * n + j) * s.stride + Math.min(count, s.stride - 1)];
}

export function tileStats(L: QuantLayer, rowsPerTile: number, sorted = false): TileStats {
  const T = Math.ceil(L.k / rowsPerTile);
  const n = L.n;
  const s: TileStats = {
    tiles: T,
    rows: new Int32Array(T),
    posSum: new Float64Array(T * n),
    negSum: new Float64Array(T * n),
    posMax: new Float64Array(T * n),
    negMin: new Float64Array(T * n),
    sum: new Float64Array(T * n),
    stride: sorted ? rowsPerTile + 1 : 0,
    topPos: new Float64Array(sorted ? T * n * (rowsPerTile + 1) : 0),
    topNeg: new Float64Array(sorted ? T * n * (rowsPerTile + 1) : 0),
  };
  for (let i = 0; i < L.k; i++) {
    const t = Math.floor(i / rowsPerTile);
    s.rows[t]++;
    for (let j = 0; j < n; j++) {
      const w = L.wq[i * n + j];
      const p = t * n + j;
      s.sum[p] += w;
      if (w > 0) {
        s.posSum[p] += w;
        if (w > s.posMax[p]) s.posMax[p] = w;
      } else if (w < 0) {
        s.negSum[p] += w;
        if (w < s.negMin[p]) s.negMin[p] = w;
      }
    }
  }
  if (sorted) {
    const col = new Float64Array(rowsPerTile);
    for (let t = 0; t < T; t++) {
      const r0 = t * rowsPerTile;
      const rows = s.rows[t];
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < rows; i++) col[i] = L.wq[(r0 + i) * n + j];
        const w = col.subarray(0, rows).sort();
        const base = (t * n + j) * s.stride;
        let pos = 0;
        let neg = 0;
        for (let p = 1; p <= rowsPerTile; p++) {
          if (p <= rows && w[rows - p] > 0) pos += w[rows - p];
          if (p <= rows && w[p - 1] < 0) neg += w[p - 1];
          s.topPos[base + p] = pos;
          s.topNeg[base + p] = neg;
        }
      }
    }
  }
  return s;
}

/** A set of outputs of one column tile that stops together. */
export interface Unit {
  colTile: number;
  o0: number;
  o1: number;
}

export function termUnits(c: RramConfig, m: LayerMapping, n: number): Unit[] {
  const out: Unit[] = [];
  const size = c.granularity === 'output' ? 1 : c.granularity === 'column-group' ? c.groupSize : m.outputsPerCrossbar;
  for (let u = 0; u < m.colTiles; u++) {
    const a = u * m.outputsPerCrossbar;
    const b = Math.min(n, a + m.outputsPerCrossbar);
    for (let o = a; o < b; o += size) out.push({ colTile: u, o0: o, o1: Math.min(b, o + size) });
  }
  return out;
}

/** What a layer's engine needs to decide, besides its plane sums. */
export interface LayerControl {
  termination: RramConfig['termination'];
  /** ReLU (directly or after max-pooling/flatten) follows: a provably non-positive output is final. */
  relu: boolean;
  theta: number;
  rule: RramConfig['adaptiveRule'];
  estimate: RramConfig['estimate'];
  inScale: number;
  wScale: Float32Array;
  bias: Float32Array;
  biasPerPosition: boolean;
  /** Bias in product units per (position or 1) × N. */
  biasProducts: Float64Array;
  positions: number;
}

export function layerControl(c: RramConfig, L: QuantLayer, relu: boolean): LayerControl {
  const P = L.biasPerPosition ? L.bias.length / L.n : 1;
  const biasProducts = new Float64Array(L.bias.length);
  for (let p = 0; p < P; p++) for (let j = 0; j < L.n; j++) biasProducts[p * L.n + j] = L.bias[p * L.n + j] / (L.inScale * L.wScale[j]);
  return {
    termination: c.termination,
    relu,
    theta: thresholdOf(c, L.name),
    rule: c.adaptiveRule,
    estimate: c.estimate,
    inScale: L.inScale,
    wScale: L.wScale,
    bias: L.bias,
    biasPerPosition: L.biasPerPosition,
    biasProducts,
    positions: P,
  };
}

/**
 * The layer value the runtime computes from an emitted product (the same float expression as
 * nn/runtime's BoundNetwork, on the float32 value it will read): a provably non-positive value
 * stays non-positive after the runtime's rounding because every step is monotone.
 */
export function layerValue(ctl: LayerControl, product: number, row: number, j: number, n: number): number {
  const b = ctl.biasPerPosition ? ctl.bias[(row % ctl.positions) * n + j] : ctl.bias[j];
  return Math.fround(product) * ctl.inScale * ctl.wScale[j] + b;
}

export type StopReason = 'negative' | 'adaptive';

/**
 * Stop test of one output after a plane: a (partial product), [lo, hi] (remaining contribution),
 * est (estimate of the remaining contribution). Returns the reason or null to go on. With θ > 0,
 * `rule` 'range' stops when (hi − lo)/2 ≤ θ·|e| and 'negative' when a ReLU follows and
 * e + (hi − est)/(1 + θ) ≤ 0, where e = a + est + bias is the estimated final value ('both': either).
 */
export function stopTest(ctl: LayerControl, a: number, lo: number, hi: number, est: number, row: number, j: number, n: number): StopReason | null {
  if (ctl.relu && layerValue(ctl, a + hi, row, j, n) <= 0) return 'negative';
  if (ctl.theta > 0) {
    const bp = ctl.biasPerPosition ? ctl.biasProducts[(row % ctl.positions) * n + j] : ctl.biasProducts[j];
    const e = a + est + bp;
    if (ctl.rule !== 'negative' && (hi - lo) / 2 <= ctl.theta * Math.abs(e)) return 'adaptive';
    if (ctl.rule !== 'range' && ctl.relu && e + Math.max(0, hi - est) / (1 + ctl.theta) <= 0) return 'adaptive';
  }
  return null;
}

/** The product an output emits when its unit stops early: the upper bound when it is provably non-positive, else partial + estimate. */
export function emitted(ctl: LayerControl, a: number, hi: number, est: number, row: number, j: number, n: number): number {
  if (ctl.relu && layerValue(ctl, a + hi, row, j, n) <= 0) return Math.fround(a + hi);
  return a + est;
}

/** Counters of one layer (sums over the rows it has run). */
export interface LayerCounts {
  layer: string;
  opIndex: number;
  kind: 'conv2d' | 'dense';
  k: number;
  n: number;
  rowTiles: number;
  colTiles: number;
  crossbars: number;
  /** Physical bit lines (data + reference) over all crossbars of the layer. */
  physicalColumns: number;
  /** Input vectors (GEMM rows) processed and their multiply-accumulates (K·N each). */
  vectors: number;
  macs: number;
  crossbarReads: number;
  adcConversions: number;
  /** Word-line bits driven (rows of a crossbar per read). */
  inputBitsApplied: number;
  shiftAdds: number;
  boundChecks: number;
  /** Per-plane input bit counts per row tile (for the run-time bounds). */
  popcounts: number;
  /** Crossbar reads and ADC conversions not made because the row tile's input bit-plane was all zero (`skipZeroPlanes`). */
  zeroPlaneReads: number;
  zeroPlaneConversions: number;
  /** (output, plane) pairs computed, and those skipped by each technique. */
  outputPlanes: number;
  skippedNegative: number;
  skippedAdaptive: number;
  /** Outputs emitted early by each technique. */
  stoppedNegative: number;
  stoppedAdaptive: number;
  denseCrossbarReads: number;
  denseAdcConversions: number;
  denseInputBits: number;
  denseOutputPlanes: number;
  /** Busy time (ns) of each column tile summed over vectors, with termination and without. */
  tileTimeNs: number[];
  denseTileTimeNs: number[];
}

export function emptyCounts(L: QuantLayer, m: LayerMapping): LayerCounts {
  return {
    layer: L.name,
    opIndex: L.opIndex,
    kind: L.kind,
    k: L.k,
    n: L.n,
    rowTiles: m.rowTiles,
    colTiles: m.colTiles,
    crossbars: m.crossbars.length,
    physicalColumns: m.crossbars.reduce((s, x) => s + x.columns.length, 0),
    vectors: 0,
    macs: 0,
    crossbarReads: 0,
    adcConversions: 0,
    inputBitsApplied: 0,
    shiftAdds: 0,
    boundChecks: 0,
    popcounts: 0,
    zeroPlaneReads: 0,
    zeroPlaneConversions: 0,
    outputPlanes: 0,
    skippedNegative: 0,
    skippedAdaptive: 0,
    stoppedNegative: 0,
    stoppedAdaptive: 0,
    denseCrossbarReads: 0,
    denseAdcConversions: 0,
    denseInputBits: 0,
    denseOutputPlanes: 0,
    tileTimeNs: new Array(m.colTiles).fill(0),
    denseTileTimeNs: new Array(m.colTiles).fill(0),
  };
}

/** Sums counters of the same layer (e.g. from several workers). */
export function addCounts(a: LayerCounts, b: LayerCounts): LayerCounts {
  const out = { ...a, tileTimeNs: a.tileTimeNs.map((v, i) => v + b.tileTimeNs[i]), denseTileTimeNs: a.denseTileTimeNs.map((v, i) => v + b.denseTileTimeNs[i]) };
  for (const key of Object.keys(a) as (keyof LayerCounts)[]) {
    if (
      [
        'vectors',
        'macs',
        'crossbarReads',
        'adcConversions',
        'inputBitsApplied',
        'shiftAdds',
        'boundChecks',
        'popcounts',
        'zeroPlaneReads',
        'zeroPlaneConversions',
        'outputPlanes',
        'skippedNegative',
        'skippedAdaptive',
        'stoppedNegative',
        'stoppedAdaptive',
        'denseCrossbarReads',
        'denseAdcConversions',
        'denseInputBits',
        'denseOutputPlanes',
      ].includes(key)
    ) {
      (out as Record<string, unknown>)[key] = (a[key] as number) + (b[key] as number);
    }
  }
  return out;
}

/** Per-column-tile timing: physical columns of its crossbars and the cycle time for `active` converting columns. */
export interface Timing {
  readNs: number;
  convNs: number;
  adcs: number;
  lockstep: boolean;
}

export function timingOf(c: RramConfig): Timing {
  return { readNs: c.readNs, convNs: 1 / c.adcGsps, adcs: c.adcsPerCrossbar, lockstep: c.columnTiming === 'lockstep' };
}

/** Time of one read cycle with `active` of `total` columns to convert (ADC conversions overlap the next read). */
export function cycleNs(t: Timing, active: number, total: number): number {
  return Math.max(t.readNs, ((t.lockstep ? total : active) * t.convNs) / t.adcs);
}

/** Data + reference columns of one crossbar of column tile u. */
export function tileColumns(c: RramConfig, m: LayerMapping, n: number, u: number): number {
  const outs = Math.min(n, (u + 1) * m.outputsPerCrossbar) - u * m.outputsPerCrossbar;
  return outs * physicalColumnsPerOutput(c) + referenceColumns(c);
}
