/**
 * Float reference forward pass of a workload on plain typed arrays (im2col + matmul per conv/dense
 * layer), with per-layer activation capture.
 */
import type { ConvOp, DenseOp, Workload, WorkloadOp } from '../workload.js';
import { im2col, maxpool, patchGeometry } from './geometry.js';
import { type MatMulEngine, plainMatMul } from './matmul.js';

export type MacOp = ConvOp | DenseOp;

export function isMacOp(op: WorkloadOp): op is MacOp {
  return op.kind === 'conv2d' || op.kind === 'dense';
}

/** Indices of the conv/dense ops of a workload. */
export function macOpIndices(wl: Workload): number[] {
  const out: number[] = [];
  wl.ops.forEach((op, i) => {
    if (isMacOp(op)) out.push(i);
  });
  return out;
}

/** Rows K (patch size or input features) and columns N (output channels) of a conv/dense op as a GEMM. */
export function gemmShape(op: MacOp): { k: number; n: number } {
  return op.kind === 'conv2d' ? { k: op.kernel[0] * op.kernel[1] * op.inShape[2], n: op.outShape[2] } : { k: op.inFeatures, n: op.outFeatures };
}

/** The GEMM input (M×K) of a conv/dense op for a batch of its input activations. */
export function gemmInput(op: MacOp, a: Float32Array, batch: number): Float32Array {
  return op.kind === 'conv2d' ? im2col(a, batch, patchGeometry(op)) : a;
}

/** What a float forward pass shows of one conv/dense layer. */
export interface FloatLayerCapture {
  opIndex: number;
  op: MacOp;
  batch: number;
  /** The layer's input activations (B × input size, NHWC), before im2col. */
  input: Float32Array;
  /** The layer's output after bias and activation (B × output size). */
  output: Float32Array;
}

export interface FloatForwardOptions {
  /** The float product (default: the plain reference). */
  matmul?: MatMulEngine;
  /** Called for every conv/dense layer. */
  capture?: (c: FloatLayerCapture) => void;
}

/** Applies the workload's input normalisation (x − μ)/σ (per channel, last axis). */
export function normalizeInput(x: Float32Array, wl: Workload): Float32Array {
  const n = wl.normalization;
  if (!n) return x;
  const c = n.mean.length;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] - n.mean[i % c]) / n.std[i % c];
  return out;
}

/** Applies a pooling, flatten or relu op (the ops without weights). */
export function applyShapeOp(op: WorkloadOp, a: Float32Array, batch: number): Float32Array {
  if (op.kind === 'maxpool') return maxpool(a, batch, op.inShape, op.outShape, op.pool, op.strides);
  if (op.kind === 'relu') return a.map((v) => Math.max(v, 0));
  return a;
}

/** Float forward pass of the workload on raw inputs (B examples, NHWC flattened); returns the last op's output. */
export function floatForward(wl: Workload, x: Float32Array, batch: number, o: FloatForwardOptions = {}): Float32Array {
  const mm = o.matmul ?? plainMatMul;
  let a = normalizeInput(x, wl);
  wl.ops.forEach((op, i) => {
    if (!isMacOp(op)) {
      a = applyShapeOp(op, a, batch);
      return;
    }
    const input = a;
    const { k, n } = gemmShape(op);
    const cols = gemmInput(op, a, batch);
    const m = cols.length / k;
    const h = mm.prepare(op.weights, k, n);
    const y = mm.run(cols, m, k, h);
    mm.release(h);
    for (let r = 0; r < m; r++) {
      for (let j = 0; j < n; j++) {
        let v = y[r * n + j] + (op.bias ? op.bias[j] : 0);
        if (op.activation === 'relu' && v < 0) v = 0;
        y[r * n + j] = v;
      }
    }
    a = y;
    o.capture?.({ opIndex: i, op, batch, input, output: a });
  });
  return a;
}
