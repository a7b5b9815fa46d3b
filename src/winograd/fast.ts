/**
 * Fast path for nested and OLA Winograd on float32 NHWC tensors (stride 1).
 *
 * - Input and output transforms are tight typed-array kernels: sparse coefficient lists applied
 *   separably, with the channel loop innermost (NHWC keeps channels contiguous).
 * - The Winograd-domain products are one GEMM per Winograd point on the engine (tfjs): the tiles of
 *   ALL images of the batch are the rows, [tiles, T²·Cin] × [T²·Cin, Cout]. Many small batched matmuls
 *   are slow on tfjs-wasm, and a batched matMul over points is slower still, so the loop over points
 *   issues plain 2D matMuls (measured: 625 × (784×64·64×64) in ~0.2 s vs ~1.9 s as one batched call).
 * - OLA uses F(3×3, 3×3) so that the 3×3 sub-filters are tile-aligned: every input tile is transformed
 *   once, the sub-filters' shifted tiles are concatenated along the GEMM's inner dimension, and the
 *   partial outputs are summed in the Winograd domain (one output transform per tile).
 * Filter transforms are done once in `prepareFast` (offline, as for inference).
 */
import { tf } from '../core/engine.js';
import { ConfigError } from '../core/errors.js';
import { checkShapes, convWithCore, padFilter, placeInput, splitFilter, transformFilter } from './conv.js';
import type { Filter4, Padding, Tensor4 } from './tensor.js';
import { type ExactAlgorithm, type FloatAlgorithm, type NestedOptions, cookToom, nestedAlgorithm, toFloat } from './transforms.js';

export type FastKind = 'nested' | 'ola';

interface SparseRow {
  idx: Int32Array;
  val: Float64Array;
}

function sparse(rows: number[][]): SparseRow[] {
  return rows.map((r) => {
    const idx: number[] = [];
    const val: number[] = [];
    r.forEach((v, i) => {
      if (v !== 0) {
        idx.push(i);
        val.push(v);
      }
    });
    return { idx: Int32Array.from(idx), val: Float64Array.from(val) };
  });
}

export interface FastPlan {
  kind: FastKind;
  alg: FloatAlgorithm;
  /** sub-filter blocks per side (1 for nested) */
  T: number;
  K: number;
  cin: number;
  cout: number;
  /** per Winograd point: [T²·cin, cout] */
  U: tf.Tensor2D[];
  bt: SparseRow[];
  at: SparseRow[];
  /** Floats per GEMM operand buffer before the batch is split into chunks. */
  budget: number;
  /** Milliseconds spent per stage, accumulated over runs (for the benchmark's breakdown). */
  stageMs: { input: number; gather: number; gemm: number; output: number };
}

export interface FastOptions {
  /** Nested algorithm; 'auto' (default) picks the cheapest for the layer size by a simple cost model. */
  nested?: NestedOptions | 'auto';
  /** Output size the 'auto' choice optimizes for (default 56). */
  outSize?: number;
  /** Max floats per GEMM operand buffer (default 24M = 96 MB). */
  budget?: number;
}

/** Candidate nested algorithms for a K×K filter: both policies, outer m1 1…4, outer taps ≤ 5. */
export function nestedCandidates(K: number): ExactAlgorithm[] {
  const seen = new Map<string, ExactAlgorithm>();
  for (const policy of ['pure3', 'mixed'] as const)
    for (let m1 = 1; m1 <= 4; m1++)
      for (let maxOuterTaps = 3; maxOuterTaps <= 5; maxOuterTaps++) {
        const a = nestedAlgorithm(K, { policy, m1, maxOuterTaps });
        // a plain single-tile F(m1, K) is not nested: keep it only for small filters (numerics)
        if (!a.nested && a.r > 4) continue;
        seen.set(a.name, a);
      }
  return [...seen.values()];
}

/**
 * Estimated seconds for one layer (model constants, not measurements of this run): GEMM at 20 GFLOP/s,
 * typed-array transforms at 1 GFLOP/s, 0.25 ms per engine round trip per Winograd point.
 */
export function estimateSeconds(alg: FloatAlgorithm, outH: number, outW: number, n: number, cin: number, cout: number): number {
  const tiles = n * Math.ceil(outH / alg.m) * Math.ceil(outW / alg.m);
  const P = alg.mu * alg.mu;
  const nnzB = alg.BT.reduce((s, r) => s + r.filter((v) => v !== 0).length, 0);
  const nnzA = alg.AT.reduce((s, r) => s + r.filter((v) => v !== 0).length, 0);
  const gemm = (2 * tiles * P * cin * cout) / 20e9;
  const trans = (2 * tiles * ((alg.L + alg.mu) * nnzB * cin + (alg.mu + alg.m) * nnzA * cout)) / 1e9;
  return gemm + trans + P * 0.25e-3;
}

export function chooseNested(K: number, outSize: number, n: number, cin: number, cout: number): ExactAlgorithm {
  let best: ExactAlgorithm | null = null;
  let bestT = Infinity;
  for (const a of nestedCandidates(K)) {
    const t = estimateSeconds(toFloat(a), outSize, outSize, n, cin, cout);
    if (t < bestT) {
      bestT = t;
      best = a;
    }
  }
  if (!best) throw new ConfigError(`no nested algorithm for kernel ${K}`);
  return best;
}

/** Transforms the filter once and uploads one [T²·cin, cout] matrix per Winograd point. Needs initEngine(). */
export function prepareFast(w: Filter4<Float32Array>, kind: FastKind, opts: FastOptions = {}): FastPlan {
  const [K, kw, cin, cout] = w.shape;
  if (K !== kw) throw new ConfigError(`only square filters are supported, got ${K}×${kw}`);
  let alg: FloatAlgorithm;
  let subs: Filter4[];
  if (kind === 'nested') {
    const exact = opts.nested === undefined || opts.nested === 'auto' ? chooseNested(K, opts.outSize ?? 56, 1, cin, cout) : nestedAlgorithm(K, opts.nested);
    alg = toFloat(exact);
    subs = [padFilter(w, alg.r)];
  } else {
    alg = toFloat(cookToom(3, 3));
    subs = splitFilter(w, 3).map((s) => s.w);
  }
  const T = Math.round(Math.sqrt(subs.length));
  const P = alg.mu * alg.mu;
  const KC = subs.length * cin;
  const us = subs.map((s) => transformFilter(alg, s));
  const U: tf.Tensor2D[] = [];
  const buf = new Float32Array(KC * cout);
  for (let p = 0; p < P; p++) {
    for (let s = 0; s < us.length; s++) buf.set(us[s].subarray(p * cin * cout, (p + 1) * cin * cout), s * cin * cout);
    U.push(tf.tensor2d(buf, [KC, cout]));
  }
  return { kind, alg, T, K, cin, cout, U, bt: sparse(alg.BT), at: sparse(alg.AT), budget: opts.budget ?? 24 * 2 ** 20, stageMs: { input: 0, gather: 0, gemm: 0, output: 0 } };
}

export function disposeFast(plan: FastPlan): void {
  for (const u of plan.U) u.dispose();
  plan.U.length = 0;
}

/** Stride-1 'valid' convolution of a padded input (at least (outH+K−1) × (outW+K−1)) with a prepared plan. */
export function runFastValid(plan: FastPlan, xp: Tensor4<Float32Array>, outH: number, outW: number): Tensor4<Float32Array> {
  const { alg, T, cin: C, cout: Co, bt, at } = plan;
  if (xp.shape[3] !== C) throw new ConfigError(`input has ${xp.shape[3]} channels, the plan expects ${C}`);
  if (plan.U.length === 0) throw new ConfigError('this fast plan was disposed: prepare it again');
  const [N, hp, wp] = xp.shape;
  const { m: M, mu, L } = alg;
  const P = mu * mu;
  const KC = T * T * C;
  const nTy = Math.ceil(outH / M);
  const nTx = Math.ceil(outW / M);
  const nTyIn = nTy + T - 1;
  const nTxIn = nTx + T - 1;
  const Hq = (nTyIn - 1) * M + L;
  const Wq = (nTxIn - 1) * M + L;
  const tilesPerImg = nTy * nTx;
  const perImg = P * tilesPerImg * Math.max(KC, Co);
  const imgsPerChunk = Math.max(1, Math.min(N, Math.floor(plan.budget / perImg)));
  const out = new Float32Array(N * outH * outW * Co);
  const img = new Float32Array(Hq * Wq * C);
  const t1 = new Float64Array(L * mu * C);
  const t2 = new Float64Array(mu * M * Co);
  const tinBuf = T > 1 ? new Float32Array(P * imgsPerChunk * nTyIn * nTxIn * C) : null;
  const A = new Float32Array(P * imgsPerChunk * tilesPerImg * KC);
  const Mb = new Float32Array(P * imgsPerChunk * tilesPerImg * Co);

  for (let n0 = 0; n0 < N; n0 += imgsPerChunk) {
    const imgs = Math.min(imgsPerChunk, N - n0);
    const rows = imgs * tilesPerImg;
    const tilesIn = imgs * nTyIn * nTxIn;
    // ---- input transform: V[p][tile][c] (directly into A when T = 1)
    let t0 = performance.now();
    const V = tinBuf ?? A;
    const vRows = tinBuf ? tilesIn : rows;
    for (let bi = 0; bi < imgs; bi++) {
      img.fill(0);
      const b = n0 + bi;
      const hc = Math.min(hp, Hq);
      const wc = Math.min(wp, Wq);
      for (let y = 0; y < hc; y++) {
        const src = ((b * hp + y) * wp) * C;
        img.set(xp.data.subarray(src, src + wc * C), y * Wq * C);
      }
      const nyy = tinBuf ? nTyIn : nTy;
      const nxx = tinBuf ? nTxIn : nTx;
      for (let ty = 0; ty < nyy; ty++)
        for (let tx = 0; tx < nxx; tx++) {
          const tile = (bi * nyy + ty) * nxx + tx;
          const oy = ty * M;
          const ox = tx * M;
          for (let y = 0; y < L; y++) {
            const rb = ((oy + y) * Wq + ox) * C;
            for (let k = 0; k < mu; k++) {
              const { idx, val } = bt[k];
              const tb = (y * mu + k) * C;
              let off = rb + idx[0] * C;
              let v = val[0];
              for (let c = 0; c < C; c++) t1[tb + c] = v * img[off + c];
              for (let e = 1; e < idx.length; e++) {
                off = rb + idx[e] * C;
                v = val[e];
                for (let c = 0; c < C; c++) t1[tb + c] += v * img[off + c];
              }
            }
          }
          for (let kh = 0; kh < mu; kh++) {
            const { idx, val } = bt[kh];
            for (let kw = 0; kw < mu; kw++) {
              const dst = ((kh * mu + kw) * vRows + tile) * C;
              let sb = (idx[0] * mu + kw) * C;
              let v = val[0];
              for (let c = 0; c < C; c++) V[dst + c] = v * t1[sb + c];
              for (let e = 1; e < idx.length; e++) {
                sb = (idx[e] * mu + kw) * C;
                v = val[e];
                for (let c = 0; c < C; c++) V[dst + c] += v * t1[sb + c];
              }
            }
          }
        }
    }
    let t1n = performance.now();
    plan.stageMs.input += t1n - t0;
    t0 = t1n;
    // ---- OLA: gather the shifted tiles of the T² sub-filters along the inner dimension
    if (tinBuf) {
      for (let p = 0; p < P; p++)
        for (let bi = 0; bi < imgs; bi++)
          for (let ty = 0; ty < nTy; ty++)
            for (let tx = 0; tx < nTx; tx++) {
              const row = (bi * nTy + ty) * nTx + tx;
              const db = (p * rows + row) * KC;
              for (let a = 0; a < T; a++)
                for (let b = 0; b < T; b++) {
                  const src = (p * tilesIn + (bi * nTyIn + ty + a) * nTxIn + tx + b) * C;
                  A.set(tinBuf.subarray(src, src + C), db + (a * T + b) * C);
                }
            }
    }
    t1n = performance.now();
    plan.stageMs.gather += t1n - t0;
    t0 = t1n;
    // ---- one GEMM per Winograd point on the engine
    for (let p = 0; p < P; p++) {
      const a = tf.tensor2d(A.subarray(p * rows * KC, (p + 1) * rows * KC), [rows, KC]);
      const r = tf.matMul(a, plan.U[p]);
      Mb.set(r.dataSync() as Float32Array, p * rows * Co);
      a.dispose();
      r.dispose();
    }
    t1n = performance.now();
    plan.stageMs.gemm += t1n - t0;
    t0 = t1n;
    // ---- output transform
    for (let bi = 0; bi < imgs; bi++)
      for (let ty = 0; ty < nTy; ty++)
        for (let tx = 0; tx < nTx; tx++) {
          const row = (bi * nTy + ty) * nTx + tx;
          for (let kh = 0; kh < mu; kh++)
            for (let u = 0; u < M; u++) {
              const { idx, val } = at[u];
              const tb = (kh * M + u) * Co;
              let sb = ((kh * mu + idx[0]) * rows + row) * Co;
              let v = val[0];
              for (let o = 0; o < Co; o++) t2[tb + o] = v * Mb[sb + o];
              for (let e = 1; e < idx.length; e++) {
                sb = ((kh * mu + idx[e]) * rows + row) * Co;
                v = val[e];
                for (let o = 0; o < Co; o++) t2[tb + o] += v * Mb[sb + o];
              }
            }
          const b = n0 + bi;
          for (let vy = 0; vy < M && ty * M + vy < outH; vy++) {
            const { idx, val } = at[vy];
            for (let u = 0; u < M && tx * M + u < outW; u++) {
              const ob = ((b * outH + ty * M + vy) * outW + tx * M + u) * Co;
              let sb = (idx[0] * M + u) * Co;
              let v = val[0];
              for (let o = 0; o < Co; o++) out[ob + o] = v * t2[sb + o];
              for (let e = 1; e < idx.length; e++) {
                sb = (idx[e] * M + u) * Co;
                v = val[e];
                for (let o = 0; o < Co; o++) out[ob + o] += v * t2[sb + o];
              }
            }
          }
        }
    plan.stageMs.output += performance.now() - t0;
  }
  return { data: out, shape: [N, outH, outW, Co] };
}

/**
 * Fast convolution (stride 1 or 2, 'same' or 'valid'); prepares and disposes a plan per call
 * (stride 2: per polyphase component). Needs initEngine().
 */
export function conv2dFast(x: Tensor4<Float32Array>, w: Filter4<Float32Array>, kind: FastKind, opts: FastOptions & { stride?: number; padding?: Padding } = {}): Tensor4<Float32Array> {
  checkShapes(x, w, opts.stride ?? 1);
  return convWithCore(x, w, opts.stride ?? 1, opts.padding ?? 'same', () => (xp, wk, oh, ow) => {
    const plan = prepareFast(wk as Filter4<Float32Array>, kind, { ...opts, outSize: Math.max(oh, ow) });
    try {
      return runFastValid(plan, xp as Tensor4<Float32Array>, oh, ow) as unknown as typeof xp;
    } finally {
      disposeFast(plan);
    }
  });
}

/** Pads for a stride-1 layer and runs a prepared plan (what the benchmark times). */
export function runFast(plan: FastPlan, x: Tensor4<Float32Array>, padding: Padding): Tensor4<Float32Array> {
  const K = plan.K;
  const [, h, w] = x.shape;
  const outH = padding === 'same' ? h : h - K + 1;
  const outW = padding === 'same' ? w : w - K + 1;
  const top = padding === 'same' ? Math.floor((K - 1) / 2) : 0;
  const left = top;
  return runFastValid(plan, placeInput(x, top, left, outH + K - 1, outW + K - 1), outH, outW);
}
