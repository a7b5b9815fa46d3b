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
import { arena, simdKernel } from './simd.js';
import type { Filter4, Padding, Tensor4 } from './tensor.js';
import { type ExactAlgorithm, type FloatAlgorithm, type NestedOptions, cookToom, nestedAlgorithm, toFloat } from './transforms.js';

export type FastKind = 'nested' | 'ola';

interface SparseRow {
  idx: Int32Array;
  val: Float64Array;
  /** byte offset of the (idx, val) pairs in the SIMD kernel's memory, when used there */
  ptr?: number;
}

type Combine = (d: Float32Array, di: number, row: SparseRow, s: Float32Array, base: number, stride: number, n: number) => void;

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

/**
 * Two-level view of Bᵀ: inner F(s,s) transforms of s-spaced blocks (length 2s − 1), then an outer
 * combination of n1 blocks per tile. A flat algorithm is the case s = 1 (blocks are single pixels).
 */
export interface Staged {
  s: number;
  m1: number;
  n1: number;
  mui: number;
  innerRows: SparseRow[];
  outerRows: SparseRow[];
}

export function stagedForm(alg: ExactAlgorithm): Staged {
  if (alg.nested) {
    const { outer, inner } = alg.nested;
    return { s: inner.m, m1: outer.m, n1: outer.mu, mui: inner.mu, innerRows: sparse(toFloat(inner).BT), outerRows: sparse(toFloat(outer).BT) };
  }
  return { s: 1, m1: alg.m, n1: alg.mu, mui: 1, innerRows: sparse([[1]]), outerRows: sparse(toFloat(alg).BT) };
}

/**
 * d[di + i] = Σ_e row.val[e] · s[base + row.idx[e]·stride + i] for i < n. The one hot kernel of the
 * transforms: kept small and monomorphic (Float32Array only) so V8 optimizes it once.
 */
function combine(d: Float32Array, di: number, row: SparseRow, s: Float32Array, base: number, stride: number, n: number): void {
  const { idx, val } = row;
  let v = val[0];
  let si = base + idx[0] * stride;
  for (let i = 0; i < n; i++) d[di + i] = v * s[si + i];
  for (let e = 1; e < idx.length; e++) {
    v = val[e];
    si = base + idx[e] * stride;
    for (let i = 0; i < n; i++) d[di + i] += v * s[si + i];
  }
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
  at: SparseRow[];
  /** Floats per GEMM operand buffer before the batch is split into chunks. */
  budget: number;
  /** Two-level form of the input transform (flat algorithms: s = 1). */
  staged: Staged;
  /** Use the WebAssembly SIMD transform kernel when available (default true). */
  useSimd: boolean;
  /** Milliseconds spent per stage, accumulated over runs (for the benchmark's breakdown). */
  stageMs: { input: number; gather: number; gemm: number; output: number };
}

export interface FastOptions {
  /** Nested algorithm; 'auto' (default) picks the cheapest for the layer size by a simple cost model. */
  nested?: NestedOptions | 'auto';
  /** Output size the 'auto' choice optimizes for (default 56). */
  outSize?: number;
  /** Batch size the 'auto' choice optimizes for (default 16). */
  batchHint?: number;
  /** Max floats per GEMM operand buffer (default 24M = 96 MB). */
  budget?: number;
  /** Use the WebAssembly SIMD transform kernel when available (default true). */
  simd?: boolean;
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
 * Estimated seconds for one layer (model constants calibrated once on the development machine, not
 * measurements of this run): engine GEMM at 16 GFLOP/s, SIMD transforms at 16 GFLOP/s on the flat
 * nonzero count (the staged transforms do less), 0.05 ms per engine round trip per Winograd point.
 * Only used to rank candidates.
 */
export function estimateSeconds(alg: FloatAlgorithm, outH: number, outW: number, n: number, cin: number, cout: number): number {
  const tiles = n * Math.ceil(outH / alg.m) * Math.ceil(outW / alg.m);
  const P = alg.mu * alg.mu;
  const nnzB = alg.BT.reduce((s, r) => s + r.filter((v) => v !== 0).length, 0);
  const nnzA = alg.AT.reduce((s, r) => s + r.filter((v) => v !== 0).length, 0);
  const gemm = (2 * tiles * P * cin * cout) / 16e9;
  const trans = (2 * tiles * ((alg.L + alg.mu) * nnzB * cin + (alg.mu + alg.m) * nnzA * cout)) / 16e9;
  return gemm + trans + P * 0.05e-3;
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
  let exact: ExactAlgorithm;
  if (kind === 'nested') {
    exact = opts.nested === undefined || opts.nested === 'auto' ? chooseNested(K, opts.outSize ?? 56, opts.batchHint ?? 16, cin, cout) : nestedAlgorithm(K, opts.nested);
    alg = toFloat(exact);
    subs = [padFilter(w, alg.r)];
  } else {
    exact = cookToom(3, 3);
    alg = toFloat(exact);
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
  return {
    kind,
    alg,
    T,
    K,
    cin,
    cout,
    U,
    staged: stagedForm(exact),
    useSimd: opts.simd ?? true,
    at: sparse(alg.AT),
    budget: opts.budget ?? 24 * 2 ** 20,
    stageMs: { input: 0, gather: 0, gemm: 0, output: 0 },
  };
}

export function disposeFast(plan: FastPlan): void {
  for (const u of plan.U) u.dispose();
  plan.U.length = 0;
}

interface Geometry {
  C: number;
  Co: number;
  M: number;
  mu: number;
  L: number;
  T: number;
  nTy: number;
  nTx: number;
  nTyIn: number;
  nTxIn: number;
  Hq: number;
  Wq: number;
}

/** Stage 1 (along x, once per image row) of the staged input transform: S1[tx][y][k][c]. */
function inputStage1(comb: Combine, g: Geometry, st: Staged, img: Float32Array, S1: Float32Array, tmpB: Float32Array, nxx: number): void {
  const { C, mu, Hq, Wq } = g;
  const { s, m1, n1, mui, innerRows, outerRows } = st;
  const nBx = (nxx - 1) * m1 + n1;
  const len = mui * C;
  for (let y = 0; y < Hq; y++) {
    const rb = y * Wq * C;
    let blk = img;
    let bOff = rb;
    if (s > 1) {
      blk = tmpB;
      bOff = 0;
      for (let j = 0; j < nBx; j++) for (let pi = 0; pi < mui; pi++) comb(tmpB, (j * mui + pi) * C, innerRows[pi], img, rb + j * s * C, C, C);
    }
    for (let tx = 0; tx < nxx; tx++) for (let ko = 0; ko < n1; ko++) comb(S1, ((tx * Hq + y) * mu + ko * mui) * C, outerRows[ko], blk, bOff + tx * m1 * len, len, len);
  }
}

/** Stage 2 (along y, per tile column) of the staged input transform, writing V[p][tile][c]. */
function inputStage2(
  comb: Combine,
  g: Geometry,
  st: Staged,
  S1: Float32Array,
  tmpY: Float32Array,
  V: Float32Array,
  vRows: number,
  tileBase: number,
  nyy: number,
  nxx: number,
): void {
  const { C, mu, Hq } = g;
  const { s, m1, n1, mui, innerRows, outerRows } = st;
  const nBy = (nyy - 1) * m1 + n1;
  const muC = mu * C;
  for (let tx = 0; tx < nxx; tx++) {
    const lb = tx * Hq * muC;
    let blk = S1;
    let bOff = lb;
    if (s > 1) {
      blk = tmpY;
      bOff = 0;
      for (let j = 0; j < nBy; j++) for (let pi = 0; pi < mui; pi++) comb(tmpY, (j * mui + pi) * muC, innerRows[pi], S1, lb + j * s * muC, muC, muC);
    }
    for (let ty = 0; ty < nyy; ty++) {
      const tile = tileBase + ty * nxx + tx;
      for (let ko = 0; ko < n1; ko++)
        for (let pi = 0; pi < mui; pi++) {
          const kh = ko * mui + pi;
          const rowBase = bOff + (ty * m1 * mui + pi) * muC;
          for (let kw = 0; kw < mu; kw++) comb(V, ((kh * mu + kw) * vRows + tile) * C, outerRows[ko], blk, rowBase + kw * C, mui * muC, C);
        }
    }
  }
}

/** Output transform of one tile: Y = Aᵀ M A from M[p][row][o], written into out (cropped at the edges). */
function outputTile(
  comb: Combine,
  g: Geometry,
  at: SparseRow[],
  Mb: Float32Array,
  rows: number,
  row: number,
  t2: Float32Array,
  out: Float32Array,
  outBase: number,
  outW: number,
  vMax: number,
  uMax: number,
): void {
  const { Co, M, mu } = g;
  for (let kh = 0; kh < mu; kh++) for (let u = 0; u < M; u++) comb(t2, (kh * M + u) * Co, at[u], Mb, (kh * mu * rows + row) * Co, rows * Co, Co);
  for (let v = 0; v < vMax; v++) for (let u = 0; u < uMax; u++) comb(out, outBase + (v * outW + u) * Co, at[v], t2, u * Co, M * Co, Co);
}

/** Stride-1 'valid' convolution of a padded input (at least (outH+K−1) × (outW+K−1)) with a prepared plan. */
export function runFastValid(plan: FastPlan, xp: Tensor4<Float32Array>, outH: number, outW: number): Tensor4<Float32Array> {
  const { alg, T, cin: C, cout: Co, at, staged } = plan;
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
  const g: Geometry = { C, Co, M, mu, L, T, nTy, nTx, nTyIn, nTxIn, Hq, Wq };
  const tilesPerImg = nTy * nTx;
  const perImg = P * tilesPerImg * Math.max(KC, Co);
  const imgsPerChunk = Math.max(1, Math.min(N, Math.floor(plan.budget / perImg)));
  const { s, m1, n1, mui } = staged;
  const sizes = [
    N * outH * outW * Co, // out
    Hq * Wq * C, // img
    nTxIn * Hq * mu * C, // S1
    s > 1 ? ((nTxIn - 1) * m1 + n1) * mui * C : 0, // tmpB
    s > 1 ? ((nTyIn - 1) * m1 + n1) * mui * mu * C : 0, // tmpY
    mu * M * Co, // t2
    T > 1 ? P * imgsPerChunk * nTyIn * nTxIn * C : 0, // tinBuf
    P * imgsPerChunk * tilesPerImg * KC, // A
    P * imgsPerChunk * tilesPerImg * Co, // Mb
  ];
  const simd = plan.useSimd && C % 4 === 0 && Co % 4 === 0 ? simdKernel() : null;
  let comb: Combine = combine;
  let st = staged;
  let atRows = at;
  let bufs: Float32Array[];
  if (simd) {
    const rowSets = [staged.innerRows, staged.outerRows, at];
    const pairs = rowSets.reduce((a, rs) => a + rs.reduce((b, r) => b + r.idx.length, 0), 0);
    bufs = arena(simd, [...sizes, 2 * pairs]);
    for (const b of bufs) b.fill(0);
    const rowMem = bufs[sizes.length];
    const ints = new Int32Array(rowMem.buffer, rowMem.byteOffset, rowMem.length);
    let off = 0;
    const place = (rs: SparseRow[]) =>
      rs.map((r) => {
        const ptr = rowMem.byteOffset + off * 4;
        for (let e = 0; e < r.idx.length; e++) {
          ints[off + 2 * e] = r.idx[e];
          rowMem[off + 2 * e + 1] = r.val[e];
        }
        off += 2 * r.idx.length;
        return { idx: r.idx, val: r.val, ptr };
      });
    st = { ...staged, innerRows: place(staged.innerRows), outerRows: place(staged.outerRows) };
    atRows = place(at);
    const f = simd.combine;
    comb = (d, di, row, src, base, stride, n) => f(d.byteOffset + di * 4, row.ptr as number, row.idx.length, src.byteOffset + base * 4, stride * 4, n);
  } else {
    bufs = sizes.map((n) => new Float32Array(n));
  }
  const [out, img, S1, tmpB, tmpY, t2, tinRaw, A, Mb] = bufs;
  const tinBuf = T > 1 ? tinRaw : null;

  for (let n0 = 0; n0 < N; n0 += imgsPerChunk) {
    const imgs = Math.min(imgsPerChunk, N - n0);
    const rows = imgs * tilesPerImg;
    const tilesIn = imgs * nTyIn * nTxIn;
    // ---- input transform: V[p][tile][c] (directly into A when T = 1), staged and shared:
    // stage 1 runs along x once per image row (not per tile); with a nested algorithm the inner
    // transforms of the s-blocks are shared by neighbouring tiles; the outer stage combines blocks.
    let t0 = cpuMs();
    const V = tinBuf ?? A;
    const vRows = tinBuf ? tilesIn : rows;
    const nyy = tinBuf ? nTyIn : nTy;
    const nxx = tinBuf ? nTxIn : nTx;
    for (let bi = 0; bi < imgs; bi++) {
      img.fill(0);
      const b = n0 + bi;
      const hc = Math.min(hp, Hq);
      const wc = Math.min(wp, Wq);
      for (let y = 0; y < hc; y++) {
        const src = (b * hp + y) * wp * C;
        img.set(xp.data.subarray(src, src + wc * C), y * Wq * C);
      }
      inputStage1(comb, g, st, img, S1, tmpB, nxx);
      inputStage2(comb, g, st, S1, tmpY, V, vRows, bi * nyy * nxx, nyy, nxx);
    }
    let t1n = cpuMs();
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
              for (let a = 0; a < T; a++) {
                const src = (p * tilesIn + (bi * nTyIn + ty + a) * nTxIn + tx) * C;
                A.set(tinBuf.subarray(src, src + T * C), db + a * T * C);
              }
            }
    }
    t1n = cpuMs();
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
    t1n = cpuMs();
    plan.stageMs.gemm += t1n - t0;
    t0 = t1n;
    // ---- output transform
    for (let bi = 0; bi < imgs; bi++)
      for (let ty = 0; ty < nTy; ty++)
        for (let tx = 0; tx < nTx; tx++) {
          const row = (bi * nTy + ty) * nTx + tx;
          const outBase = (((n0 + bi) * outH + ty * M) * outW + tx * M) * Co;
          outputTile(comb, g, atRows, Mb, rows, row, t2, out, outBase, outW, Math.min(M, outH - ty * M), Math.min(M, outW - tx * M));
        }
    plan.stageMs.output += cpuMs() - t0;
  }
  return { data: simd ? Float32Array.from(out) : out, shape: [N, outH, outW, Co] };
}

/**
 * Fast convolution (stride 1 or 2, 'same' or 'valid'); prepares and disposes a plan per call
 * (stride 2: per polyphase component). Needs initEngine().
 */
export function conv2dFast(
  x: Tensor4<Float32Array>,
  w: Filter4<Float32Array>,
  kind: FastKind,
  opts: FastOptions & { stride?: number; padding?: Padding } = {},
): Tensor4<Float32Array> {
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

/** Process CPU time in ms (user + system): robust to other jobs sharing the machine (the engine is single-threaded). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
