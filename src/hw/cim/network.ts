/**
 * Network inference on CIM macros.
 *
 * 1. Quantize a workload: per-output-channel symmetric 4-b weights (−7…7), unsigned 4-b activations
 *    (0…15) with a per-layer clip calibrated on a few examples (percentile of the float activations
 *    entering the layer). The first layer works on raw 0…1 pixels: the input normalisation
 *    (p − μ)/σ is folded into its weights (w/σ) and a per-position bias map (−Σ_valid w·μ/σ).
 * 2. Tile every conv/dense layer (im2col, K = kh·kw·inC rows) onto macros of `rows` × `columns`:
 *    row tile t and column tile u go to their own macro instance (own mismatch draws); the partial
 *    sums of the row tiles are added digitally after each macro's ADC (reconstructed MAC = bin centre).
 * 3. Evaluate in bulk: for each tile, ONE GEMM of the im2col block against the tile's per-line
 *    effective weights [A_BL | A_BLB] (mismatch folded in, see macro.ts) gives every column's bit-line
 *    cell-times; the macro's transfer (G⁻¹, floor, comparator, ADC search, folds) is then applied
 *    elementwise by `MacroChip.convert`. This equals the cell-level model (tests cross-check it).
 */
import { ConfigError } from '../../core/errors.js';
import { type Progress, silentProgress } from '../../core/progress.js';
import { Rng } from '../../core/rng.js';
import type { ConvOp, DenseOp, Workload } from '../../nn/workload.js';
import { type MacFoldingMode, type MacroConfig, scaleNoise } from './config.js';
import { CELLS_PER_WEIGHT, cellLines, codeToMac, designMacro, inputTimes, MacroChip, plainGemm, SLOT_SCALE } from './macro.js';

/** A GEMM engine: `prepare` uploads a K×N right-hand side once, `run` multiplies an M×K block by it. */
export interface GemmEngine {
  prepare(b: Float32Array, k: number, n: number): unknown;
  run(a: Float32Array, m: number, k: number, handle: unknown): Float32Array;
  release(handle: unknown): void;
}

/** Plain typed-array GEMM (reference). */
export const plainGemmEngine: GemmEngine = {
  prepare: (b, k, n) => ({ b, k, n }),
  run: (a, m, k, h) => {
    const { b, n } = h as { b: Float32Array; n: number };
    return plainGemm(a, b, m, k, n);
  },
  release: () => {},
};

export interface QuantLayer {
  opIndex: number;
  name: string;
  kind: 'conv2d' | 'dense';
  /** Rows (K) and output channels (N). */
  k: number;
  n: number;
  /** K×N integer weights. */
  wq: Int32Array;
  /** Per-output-channel weight scale. */
  wScale: Float32Array;
  /** Input activation scale: a = q·inScale, q ∈ 0…15. */
  inScale: number;
  /** Bias per channel, or per (position, channel) for the first layer with folded normalisation. */
  bias: Float32Array;
  biasPerPosition: boolean;
}

export interface QuantizedNetwork {
  workload: Workload;
  layers: QuantLayer[];
  weightMax: number;
  actMax: number;
}

export interface QuantizeOptions {
  /** Calibration inputs (raw 0…1, NHWC flattened) and their count. */
  calib: Float32Array;
  calibCount: number;
  /** Percentile of activations used as the clip of each layer's input. */
  percentile: number;
  weightMax?: number;
  /** Largest activation code (15 for 4 b). */
  actMax?: number;
}

// ---------------------------------------------------------------------------------------------
// Float building blocks

function convGeometry(op: ConvOp): { padTop: number; padLeft: number } {
  const [h, w] = op.inShape;
  const [ho, wo] = op.outShape;
  if (op.padding === 'valid') return { padTop: 0, padLeft: 0 };
  const ph = Math.max(0, (ho - 1) * op.strides[0] + op.kernel[0] - h);
  const pw = Math.max(0, (wo - 1) * op.strides[1] + op.kernel[1] - w);
  return { padTop: Math.floor(ph / 2), padLeft: Math.floor(pw / 2) };
}

/** im2col of a B×H×W×C batch: (B·Ho·Wo) × (kh·kw·C), K ordered (kh, kw, C) like HWIO weights. */
export function im2col(x: Float32Array, batch: number, op: ConvOp, scale = 1, quantMax = 0): Float32Array {
  const [h, w, c] = op.inShape;
  const [ho, wo] = op.outShape;
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.strides;
  const { padTop, padLeft } = convGeometry(op);
  const k = kh * kw * c;
  const out = new Float32Array(batch * ho * wo * k);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const xb = b * h * w * c;
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        for (let i = 0; i < kh; i++) {
          const iy = oy * sh + i - padTop;
          for (let j = 0; j < kw; j++) {
            const ix = ox * sw + j - padLeft;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
              o += c;
              continue;
            }
            const src = xb + (iy * w + ix) * c;
            if (quantMax > 0) {
              for (let ch = 0; ch < c; ch++) {
                const q = Math.round(x[src + ch] / scale);
                out[o++] = q < 0 ? 0 : Math.min(q , quantMax);
              }
            } else {
              for (let ch = 0; ch < c; ch++) out[o++] = x[src + ch];
            }
          }
        }
      }
    }
  }
  return out;
}

function maxpool(x: Float32Array, batch: number, inShape: [number, number, number], outShape: [number, number, number], pool: [number, number], strides: [number, number]): Float32Array {
  const [h, w, c] = inShape;
  const [ho, wo] = outShape;
  const out = new Float32Array(batch * ho * wo * c);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let m = Number.NEGATIVE_INFINITY;
          for (let i = 0; i < pool[0]; i++) {
            const iy = oy * strides[0] + i;
            if (iy >= h) continue;
            for (let j = 0; j < pool[1]; j++) {
              const ix = ox * strides[1] + j;
              if (ix >= w) continue;
              const v = x[((b * h + iy) * w + ix) * c + ch];
              if (v > m) m = v;
            }
          }
          out[o++] = m;
        }
      }
    }
  }
  return out;
}

function applyNormalization(x: Float32Array, wl: Workload): Float32Array {
  const n = wl.normalization;
  if (!n) return x;
  const c = n.mean.length;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] - n.mean[i % c]) / n.std[i % c];
  return out;
}

/** Float forward pass of the workload on raw inputs. Calls `tap(i, input)` before every conv/dense op i. */
export function floatForward(wl: Workload, x: Float32Array, batch: number, gemm: GemmEngine = plainGemmEngine, tap?: (opIndex: number, input: Float32Array) => void): Float32Array {
  let a = applyNormalization(x, wl);
  wl.ops.forEach((op, i) => {
    if (op.kind === 'conv2d' || op.kind === 'dense') {
      tap?.(i, a);
      const isConv = op.kind === 'conv2d';
      const k = isConv ? op.kernel[0] * op.kernel[1] * op.inShape[2] : op.inFeatures;
      const n = isConv ? op.outShape[2] : op.outFeatures;
      const cols = isConv ? im2col(a, batch, op) : a;
      const m = cols.length / k;
      const h = gemm.prepare(op.weights, k, n);
      const y = gemm.run(cols, m, k, h);
      gemm.release(h);
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < n; j++) {
          let v = y[r * n + j] + (op.bias ? op.bias[j] : 0);
          if (op.activation === 'relu' && v < 0) v = 0;
          y[r * n + j] = v;
        }
      }
      a = y;
    } else if (op.kind === 'maxpool') {
      a = maxpool(a, batch, op.inShape, op.outShape, op.pool, op.strides);
    } else if (op.kind === 'relu') {
      a = a.map((v) => (Math.max(v , 0)));
    }
  });
  return a;
}

function percentileOf(values: Float32Array, p: number): number {
  const sample: number[] = [];
  const step = Math.max(1, Math.floor(values.length / 200000));
  for (let i = 0; i < values.length; i += step) if (values[i] > 0) sample.push(values[i]);
  if (sample.length === 0) return 1;
  sample.sort((a, b) => a - b);
  return sample[Math.min(sample.length - 1, Math.floor(p * sample.length))];
}

/** Quantizes a workload to 4-b weights and 4-b unsigned activations (post-training, calibrated). */
export function quantizeWorkload(wl: Workload, o: QuantizeOptions, gemm: GemmEngine = plainGemmEngine): QuantizedNetwork {
  const weightMax = o.weightMax ?? 7;
  const actMax = o.actMax ?? 15;
  const clips = new Map<number, number>();
  floatForward(wl, o.calib, o.calibCount, gemm, (i, input) => {
    clips.set(i, i === firstMacOp(wl) ? 1 : percentileOf(input, o.percentile));
  });
  const layers: QuantLayer[] = [];
  const first = firstMacOp(wl);
  wl.ops.forEach((op, i) => {
    if (op.kind !== 'conv2d' && op.kind !== 'dense') return;
    const isConv = op.kind === 'conv2d';
    const k = isConv ? op.kernel[0] * op.kernel[1] * op.inShape[2] : op.inFeatures;
    const n = isConv ? op.outShape[2] : op.outFeatures;
    const w = Float32Array.from(op.weights);
    let bias: Float32Array = op.bias ? Float32Array.from(op.bias) : new Float32Array(n);
    let biasPerPosition = false;
    if (i === first && wl.normalization) {
      const norm = wl.normalization;
      const c = norm.mean.length;
      if (!isConv && c !== 1) throw new ConfigError('cim: per-channel normalisation before a dense first layer is not supported');
      for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) w[r * n + j] /= norm.std[r % c];
      // Bias map: bias − Σ_valid w·μ/σ, i.e. the float op applied to a constant image μ/σ.
      if (isConv) {
        const [h, ww] = op.inShape;
        const img = new Float32Array(h * ww * c);
        for (let p = 0; p < img.length; p++) img[p] = norm.mean[p % c] / norm.std[p % c];
        const cols = im2col(img, 1, op);
        const y = plainGemm(cols, op.weights, cols.length / k, k, n);
        const P = cols.length / k;
        const map = new Float32Array(P * n);
        for (let p = 0; p < P; p++) for (let j = 0; j < n; j++) map[p * n + j] = bias[j] - y[p * n + j];
        bias = map;
        biasPerPosition = true;
      } else {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let r = 0; r < k; r++) s += op.weights[r * n + j] * (norm.mean[0] / norm.std[0]);
          bias[j] -= s;
        }
      }
    }
    const wScale = new Float32Array(n);
    const wq = new Int32Array(k * n);
    for (let j = 0; j < n; j++) {
      let mx = 0;
      for (let r = 0; r < k; r++) mx = Math.max(mx, Math.abs(w[r * n + j]));
      const s = mx > 0 ? mx / weightMax : 1;
      wScale[j] = s;
      for (let r = 0; r < k; r++) wq[r * n + j] = Math.max(-weightMax, Math.min(weightMax, Math.round(w[r * n + j] / s)));
    }
    layers.push({ opIndex: i, name: op.name, kind: op.kind, k, n, wq, wScale, inScale: (clips.get(i) ?? 1) / actMax, bias, biasPerPosition });
  });
  return { workload: wl, layers, weightMax, actMax };
}

function firstMacOp(wl: Workload): number {
  return wl.ops.findIndex((op) => op.kind === 'conv2d' || op.kind === 'dense');
}

// ---------------------------------------------------------------------------------------------
// Quantized inference, exact or on macros

export type InferenceMode =
  | { kind: 'ideal' }
  | {
      kind: 'macro';
      config: MacroConfig;
      seed: number;
      noiseScale?: number;
      /** Per-layer boost factor β (layer opIndex → β), e.g. from `calibrateBoost`; layers not listed use `config.boost`. */
      layerBoost?: Readonly<Record<number, number>>;
    };

interface TilePlan {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
  chip: MacroChip;
  /** Per group: [A_BL | A_BLB] handle and, for PWM edges, [E_BL | E_BLB]; group row ranges. */
  groups: { g0: number; g1: number; lines: unknown; edges: unknown | null }[];
}

/** A network mapped onto macros (or onto exact integer arithmetic), ready to evaluate batches. */
export class MappedNetwork {
  readonly net: QuantizedNetwork;
  readonly mode: InferenceMode;
  private readonly gemm: GemmEngine;
  private readonly plans: Map<number, TilePlan[] | unknown>;
  /** Conversions, macro instances and clipped codes (statistics). */
  conversions = 0;
  clipped = 0;
  readonly macros: number;

  constructor(net: QuantizedNetwork, mode: InferenceMode, gemm: GemmEngine = plainGemmEngine) {
    this.net = net;
    this.mode = mode;
    this.gemm = gemm;
    this.plans = new Map();
    let macros = 0;
    const rng = new Rng(mode.kind === 'macro' ? mode.seed : 0);
    for (const L of net.layers) {
      if (mode.kind === 'ideal') {
        this.plans.set(L.opIndex, gemm.prepare(Float32Array.from(L.wq), L.k, L.n));
        continue;
      }
      const beta = mode.layerBoost?.[L.opIndex];
      const cfg = scaleNoise(beta === undefined ? mode.config : { ...mode.config, boost: beta }, mode.noiseScale ?? 1);
      const tiles: TilePlan[] = [];
      for (let r0 = 0; r0 < L.k; r0 += cfg.rows) {
        const r1 = Math.min(L.k, r0 + cfg.rows);
        for (let c0 = 0; c0 < L.n; c0 += cfg.columns) {
          const c1 = Math.min(L.n, c0 + cfg.columns);
          const chip = new MacroChip(cfg, rng.nextU32());
          macros++;
          const kk = r1 - r0;
          const cc = c1 - c0;
          const G = chip.design.groups;
          const per = Math.ceil(kk / G);
          const groups: TilePlan['groups'] = [];
          for (let g = 0; g < G; g++) {
            const g0 = g * per;
            const g1 = Math.min(kk, g0 + per);
            if (g1 <= g0) continue;
            const w = new Int8Array((g1 - g0) * cc);
            for (let i = g0; i < g1; i++) for (let j = 0; j < cc; j++) w[(i - g0) * cc + j] = L.wq[(r0 + i) * L.n + c0 + j];
            const lw = chip.lineWeights(w, g1 - g0, cc, g0, 0);
            const both = new Float32Array((g1 - g0) * cc * 2);
            for (let i = 0; i < g1 - g0; i++) {
              both.set(lw.bl.subarray(i * cc, (i + 1) * cc), i * 2 * cc);
              both.set(lw.blb.subarray(i * cc, (i + 1) * cc), i * 2 * cc + cc);
            }
            let edges: unknown | null = null;
            if (lw.edgeBl && lw.edgeBlb) {
              const e = new Float32Array((g1 - g0) * cc * 2);
              for (let i = 0; i < g1 - g0; i++) {
                e.set(lw.edgeBl.subarray(i * cc, (i + 1) * cc), i * 2 * cc);
                e.set(lw.edgeBlb.subarray(i * cc, (i + 1) * cc), i * 2 * cc + cc);
              }
              edges = gemm.prepare(e, g1 - g0, 2 * cc);
            }
            groups.push({ g0, g1, lines: gemm.prepare(both, g1 - g0, 2 * cc), edges });
          }
          tiles.push({ r0, r1, c0, c1, chip, groups });
        }
      }
      this.plans.set(L.opIndex, tiles);
    }
    this.macros = macros;
  }

  dispose(): void {
    for (const p of this.plans.values()) {
      if (Array.isArray(p)) {
        for (const t of p as TilePlan[]) for (const g of t.groups) {
          this.gemm.release(g.lines);
          if (g.edges) this.gemm.release(g.edges);
        }
      } else this.gemm.release(p);
    }
  }

  /** The macro tiles of a layer (macro mode only): row/column ranges and the macro instance. */
  tiles(L: QuantLayer): { r0: number; r1: number; c0: number; c1: number; chip: MacroChip }[] {
    const p = this.plans.get(L.opIndex);
    return Array.isArray(p) ? (p as TilePlan[]) : [];
  }

  /** Integer-domain MAC results (M×N) of one layer for a quantized im2col block q (M×K). */
  layerMacs(L: QuantLayer, q: Float32Array, m: number): Float32Array {
    const plan = this.plans.get(L.opIndex);
    if (this.mode.kind === 'ideal') return this.gemm.run(q, m, L.k, plan);
    const out = new Float32Array(m * L.n);
    for (const t of plan as TilePlan[]) {
      const cc = t.c1 - t.c0;
      const gBL: Float32Array[] = [];
      const gBLB: Float32Array[] = [];
      const spans: (Float32Array | null)[] = [];
      for (const g of t.groups) {
        const kk = g.g1 - g.g0;
        const xs = new Float32Array(m * kk);
        const a0 = t.r0 + g.g0;
        for (let r = 0; r < m; r++) xs.set(q.subarray(r * L.k + a0, r * L.k + a0 + kk), r * kk);
        const pre = inputTimes(xs, m, kk, t.chip.config);
        const y = this.gemm.run(xs, m, kk, g.lines);
        if (g.edges) {
          const e = this.gemm.run(pre.on, m, kk, g.edges);
          for (let i = 0; i < y.length; i++) y[i] += e[i];
        }
        const bl = new Float32Array(m * cc);
        const blb = new Float32Array(m * cc);
        for (let r = 0; r < m; r++) {
          bl.set(y.subarray(r * 2 * cc, r * 2 * cc + cc), r * cc);
          blb.set(y.subarray(r * 2 * cc + cc, (r + 1) * 2 * cc), r * cc);
        }
        gBL.push(bl);
        gBLB.push(blb);
        spans.push(pre.span);
      }
      const codes = new Int32Array(m * cc);
      t.chip.convert(gBL, gBLB, spans, m, cc, 0, codes);
      const d = t.chip.design;
      const half = 2 ** (t.chip.config.adcBits - 1);
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < cc; j++) {
          const code = codes[r * cc + j];
          if (d.groups === 1 && (code >= half - 1 || code <= -half)) this.clipped++;
          out[r * L.n + t.c0 + j] += codeToMac(code, d);
        }
      }
      this.conversions += m * cc;
    }
    return out;
  }

  /** Logits (B × classes) for raw inputs x (B examples, 0…1). `tap` sees each layer's quantized im2col block (M×K). */
  forward(x: Float32Array, batch: number, tap?: (L: QuantLayer, q: Float32Array, m: number) => void): Float32Array {
    const wl = this.net.workload;
    let a = x;
    let li = 0;
    wl.ops.forEach((op, i) => {
      if (op.kind === 'conv2d' || op.kind === 'dense') {
        const L = this.net.layers[li++];
        if (L.opIndex !== i) throw new ConfigError('cim: quantized layers do not match the workload');
        const isConv = op.kind === 'conv2d';
        let q: Float32Array;
        if (isConv) q = im2col(a, batch, op as ConvOp, L.inScale, this.net.actMax);
        else {
          q = new Float32Array(a.length);
          for (let p = 0; p < a.length; p++) {
            const v = Math.round(a[p] / L.inScale);
            q[p] = v < 0 ? 0 : Math.min(v , this.net.actMax);
          }
        }
        const m = q.length / L.k;
        tap?.(L, q, m);
        const acc = this.layerMacs(L, q, m);
        const act = (op as ConvOp | DenseOp).activation;
        const P = L.biasPerPosition ? L.bias.length / L.n : 1;
        for (let r = 0; r < m; r++) {
          const bOff = L.biasPerPosition ? (r % P) * L.n : 0;
          for (let j = 0; j < L.n; j++) {
            let v = acc[r * L.n + j] * L.inScale * L.wScale[j] + L.bias[bOff + j];
            if (act === 'relu' && v < 0) v = 0;
            acc[r * L.n + j] = v;
          }
        }
        a = acc;
      } else if (op.kind === 'maxpool') {
        a = maxpool(a, batch, op.inShape, op.outShape, op.pool, op.strides);
      } else if (op.kind === 'relu') {
        a = a.map((v) => (Math.max(v , 0)));
      }
    });
    return a;
  }
}

// ---------------------------------------------------------------------------------------------
// Per-layer calibration of the boost factor β (boosted-clipping)

/** Histogram of the exact per-macro-column partial sums (one row tile, one column) of a layer. */
export interface PartialSumHistogram {
  opIndex: number;
  name: string;
  /** Rows per macro (row-tile height) the partial sums were formed with. */
  rows: number;
  /** counts[v + offset] = number of partial sums equal to v. */
  offset: number;
  counts: Float64Array;
  total: number;
  /** Standard deviation and largest magnitude of the partial sums (MAC units). */
  sigma: number;
  maxAbs: number;
  /**
   * Per MAC-folding mode: histogram of the larger of the two bit-line cell-times (T0 units, ideal
   * cells) of each conversion, max over the row groups ('range'). counts[t] = conversions with ⌈max⌉ = t.
   */
  lines: Partial<Record<MacFoldingMode, { counts: Float64Array; total: number; max: number }>>;
}

/** Cell-time scale of a weight on BL and on BLB under a folding mode (ideal cells). */
function lineScales(w: number, mode: MacFoldingMode): [number, number] {
  const l = cellLines(w, mode);
  let bl = 0;
  let blb = 0;
  for (let k = 0; k < CELLS_PER_WEIGHT; k++) {
    if (l[k] === 1) bl += SLOT_SCALE[k];
    else if (l[k] === 2) blb += SLOT_SCALE[k];
  }
  return [bl, blb];
}

/**
 * Exact partial sums Σ_{i∈tile} w·x of every macro column (each row tile of `rows` rows, each output
 * channel) over calibration inputs (raw 0…1 — use TRAINING images, never test images), per layer.
 * The activations entering each layer come from the exact (ideal 4-bit) network.
 */
export function partialSumHistograms(
  net: QuantizedNetwork,
  calib: Float32Array,
  calibCount: number,
  rows: number,
  gemm: GemmEngine = plainGemmEngine,
  batchSize = 64,
  lineModes: readonly { mode: MacFoldingMode; groups: number }[] = [],
): PartialSumHistogram[] {
  const offset = 16 * 15 * rows;
  const hists = new Map<number, PartialSumHistogram & { sum: number; sum2: number }>();
  const handles = new Map<number, unknown[]>();
  /** Per layer, per mode, per row tile: per group [rows, handle of [S_BL | S_BLB]]. */
  const lineHandles = new Map<number, { mode: MacFoldingMode; tiles: { g0: number; g1: number; h: unknown }[][] }[]>();
  for (const L of net.layers) {
    const lines: PartialSumHistogram['lines'] = {};
    for (const { mode } of lineModes) lines[mode] = { counts: new Float64Array(offset + 2), total: 0, max: 0 };
    hists.set(L.opIndex, { opIndex: L.opIndex, name: L.name, rows, offset, counts: new Float64Array(2 * offset + 1), total: 0, sigma: 0, maxAbs: 0, lines, sum: 0, sum2: 0 });
    const hs: unknown[] = [];
    for (let r0 = 0; r0 < L.k; r0 += rows) {
      const r1 = Math.min(L.k, r0 + rows);
      hs.push(gemm.prepare(Float32Array.from(L.wq.subarray(r0 * L.n, r1 * L.n)), r1 - r0, L.n));
    }
    handles.set(L.opIndex, hs);
    lineHandles.set(
      L.opIndex,
      lineModes.map(({ mode, groups }) => ({
        mode,
        tiles: hs.map((_, t) => {
          const r0 = t * rows;
          const kk = Math.min(L.k, r0 + rows) - r0;
          const G = Math.min(groups, rows);
          const per = Math.ceil(kk / G);
          const out: { g0: number; g1: number; h: unknown }[] = [];
          for (let g0 = 0; g0 < kk; g0 += per) {
            const g1 = Math.min(kk, g0 + per);
            const both = new Float32Array((g1 - g0) * 2 * L.n);
            for (let i = g0; i < g1; i++)
              for (let j = 0; j < L.n; j++) {
                const [bl, blb] = lineScales(L.wq[(r0 + i) * L.n + j], mode);
                both[(i - g0) * 2 * L.n + j] = bl;
                both[(i - g0) * 2 * L.n + L.n + j] = blb;
              }
            out.push({ g0, g1, h: gemm.prepare(both, g1 - g0, 2 * L.n) });
          }
          return out;
        }),
      })),
    );
  }
  const ideal = new MappedNetwork(net, { kind: 'ideal' }, gemm);
  const per = calib.length / calibCount;
  const tap = (L: QuantLayer, q: Float32Array, m: number): void => {
    const h = hists.get(L.opIndex);
    const hs = handles.get(L.opIndex);
    if (!h || !hs) return;
    hs.forEach((handle, t) => {
      const r0 = t * rows;
      const kk = Math.min(L.k, r0 + rows) - r0;
      const xs = new Float32Array(m * kk);
      for (let r = 0; r < m; r++) xs.set(q.subarray(r * L.k + r0, r * L.k + r0 + kk), r * kk);
      const y = gemm.run(xs, m, kk, handle);
      for (let i = 0; i < y.length; i++) {
        const v = Math.round(y[i]);
        h.counts[Math.max(0, Math.min(2 * offset, v + offset))]++;
        h.sum += v;
        h.sum2 += v * v;
        const a = Math.abs(v);
        if (a > h.maxAbs) h.maxAbs = a;
      }
      h.total += y.length;
      for (const lm of lineHandles.get(L.opIndex) ?? []) {
        const lh = h.lines[lm.mode];
        if (!lh) continue;
        const worst = new Float32Array(m * L.n);
        for (const g of lm.tiles[t]) {
          const gk = g.g1 - g.g0;
          const xg = new Float32Array(m * gk);
          for (let r = 0; r < m; r++) xg.set(q.subarray(r * L.k + r0 + g.g0, r * L.k + r0 + g.g1), r * gk);
          const z = gemm.run(xg, m, gk, g.h);
          for (let r = 0; r < m; r++)
            for (let j = 0; j < L.n; j++) {
              const v = Math.max(z[r * 2 * L.n + j], z[r * 2 * L.n + L.n + j]);
              if (v > worst[r * L.n + j]) worst[r * L.n + j] = v;
            }
        }
        for (let i = 0; i < worst.length; i++) {
          const v = Math.ceil(worst[i] - 1e-3);
          lh.counts[Math.min(offset + 1, Math.max(0, v))]++;
          if (v > lh.max) lh.max = v;
        }
        lh.total += worst.length;
      }
    });
  };
  for (let s = 0; s < calibCount; s += batchSize) {
    const b = Math.min(batchSize, calibCount - s);
    ideal.forward(calib.subarray(s * per, (s + b) * per), b, tap);
  }
  ideal.dispose();
  for (const hs of handles.values()) for (const h of hs) gemm.release(h);
  for (const lms of lineHandles.values()) for (const lm of lms) for (const t of lm.tiles) for (const g of t) gemm.release(g.h);
  return net.layers.map((L) => {
    const { sum, sum2, ...h } = hists.get(L.opIndex) as PartialSumHistogram & { sum: number; sum2: number };
    const mean = h.total > 0 ? sum / h.total : 0;
    return { ...h, sigma: h.total > 0 ? Math.sqrt(Math.max(0, sum2 / h.total - mean * mean)) : 0 };
  });
}

/**
 * Clip rate of a layer under `config`: the fraction of partial sums whose ideal ADC code falls
 * outside the code range, plus (when the histograms hold the line cell-times of `config.macFolding`)
 * the fraction of conversions whose larger bit line needs more cell-time than the design budget
 * `designCellTime` (the worst-case MAC swing ÷ β plus the ADC's reference overshoot): beyond it the
 * line runs into the floor. The sum is an upper bound of the union of both events.
 */
export function clipRateOf(h: PartialSumHistogram, config: MacroConfig): number {
  if (config.rows !== h.rows) throw new ConfigError(`cim: partial sums were formed with ${h.rows} rows per macro, the config has ${config.rows}`);
  const d = designMacro(config);
  let clipped = 0;
  for (let i = 0; i < h.counts.length; i++) {
    if (h.counts[i] === 0) continue;
    const code = Math.floor((i - h.offset) / d.step);
    if (code > d.codeMax || code < d.codeMin) clipped += h.counts[i];
  }
  let rate = h.total > 0 ? clipped / h.total : 0;
  const lh = h.lines[config.macFolding];
  if (lh && lh.total > 0) {
    let over = 0;
    for (let t = Math.floor(d.designCellTime) + 1; t < lh.counts.length; t++) over += lh.counts[t];
    rate += over / lh.total;
  }
  return rate;
}

export interface LayerBoost {
  opIndex: number;
  name: string;
  /** Chosen (effective) boost factor β: the ADC step is stepFull/β. */
  boost: number;
  /** ADC step and clipping level (largest |partial sum| inside the code range) in MAC units. */
  step: number;
  fullScaleMac: number;
  /** Clip rate of the calibration partial sums at the chosen β. */
  clipRate: number;
  /** σ and max |·| of the calibration partial sums (MAC units), and how many there were. */
  sigma: number;
  maxAbs: number;
  partialSums: number;
  /** Largest bit-line cell-time seen (ideal cells, T0 units) and the design budget at β; null without line histograms. */
  lineMax: number | null;
  lineBudget: number;
}

export interface BoostCalibrationOptions {
  /** Largest clip rate allowed per layer (fraction of partial sums whose code saturates). */
  clipRateTarget: number;
  /** Largest β tried (power of two). */
  maxBoost: number;
}

/**
 * Per-layer boost calibration: for each layer, the largest power-of-two β ≤ maxBoost whose clip rate
 * on the calibration partial sums stays ≤ clipRateTarget (β = 1 if even that clips more). With
 * boosted-clipping off, β is 1 everywhere. Betas that give the same ADC step (step floors at 1 MAC)
 * collapse to the smallest such β.
 */
export function calibrateBoost(hists: PartialSumHistogram[], config: MacroConfig, o: BoostCalibrationOptions): LayerBoost[] {
  if (o.maxBoost < 1 || o.maxBoost & (o.maxBoost - 1)) throw new ConfigError(`cim: field 'maxBoost' must be a power of two (1, 2, 4, …), got ${o.maxBoost}`);
  return hists.map((h) => {
    let chosen = 1;
    let rate = clipRateOf(h, { ...config, boost: 1 });
    if (config.boostedClipping !== 'off') {
      for (let b = o.maxBoost; b >= 1; b /= 2) {
        const r = clipRateOf(h, { ...config, boost: b });
        if (r <= o.clipRateTarget || b === 1) {
          chosen = b;
          rate = r;
          break;
        }
      }
    }
    const d = designMacro({ ...config, boost: chosen });
    const lh = h.lines[config.macFolding];
    return {
      opIndex: h.opIndex,
      name: h.name,
      boost: d.boost,
      step: d.step,
      fullScaleMac: (d.codeMax + 1) * d.step - 1,
      clipRate: rate,
      sigma: h.sigma,
      maxAbs: h.maxAbs,
      partialSums: h.total,
      lineMax: lh ? lh.max : null,
      lineBudget: d.designCellTime,
    };
  });
}

/** The layer → β map of a calibration, for `InferenceMode.layerBoost`. */
export function layerBoostMap(boosts: LayerBoost[]): Record<number, number> {
  return Object.fromEntries(boosts.map((b) => [b.opIndex, b.boost]));
}

export interface EvalSet {
  /** Raw inputs 0…1, NHWC flattened, and labels. */
  x: Float32Array;
  labels: ArrayLike<number>;
  count: number;
}

/** Top-1 accuracy of logits. */
export function accuracyOf(logits: Float32Array, labels: ArrayLike<number>, offset: number, batch: number, classes: number): number {
  let ok = 0;
  for (let b = 0; b < batch; b++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[b * classes + c] > logits[b * classes + best]) best = c;
    if (best === labels[offset + b]) ok++;
  }
  return ok;
}

/** Evaluates accuracy of a forward function over an evaluation set in batches. */
export function evaluateAccuracy(forward: (x: Float32Array, batch: number) => Float32Array, set: EvalSet, classes: number, batchSize = 100, progress: Progress = silentProgress, label = 'evaluate'): number {
  const per = set.x.length / set.count;
  let ok = 0;
  progress.start(label, set.count);
  for (let s = 0; s < set.count; s += batchSize) {
    const b = Math.min(batchSize, set.count - s);
    const logits = forward(set.x.subarray(s * per, (s + b) * per), b);
    ok += accuracyOf(logits, set.labels, s, b, classes);
    progress.tick(b);
  }
  progress.stop();
  return ok / set.count;
}
