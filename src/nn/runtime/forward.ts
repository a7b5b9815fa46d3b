/**
 * Float reference forward pass of a workload on plain typed arrays (im2col + matmul per conv/dense
 * layer), with per-layer activation capture.
 */
import { ConfigError } from '../../core/errors.js';
import { type ConvOp, type DenseOp, opInputs, type Workload, type WorkloadOp } from '../workload.js';
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

/** Applies a pooling, flatten or relu op (the single-input ops without weights). */
export function applyShapeOp(op: Exclude<WorkloadOp, MacOp | { kind: 'add' }>, a: Float32Array, batch: number): Float32Array {
  if (op.kind === 'maxpool') return maxpool(a, batch, op.inShape, op.outShape, op.pool, op.strides);
  if (op.kind === 'relu') return a.map((v) => Math.max(v, 0));
  if (op.kind === 'globalavgpool') {
    const [h, w, c] = op.inShape;
    const out = new Float32Array(batch * c);
    for (let b = 0; b < batch; b++)
      for (let p = 0; p < h * w; p++) {
        const o = (b * h * w + p) * c;
        for (let j = 0; j < c; j++) out[b * c + j] += a[o + j];
      }
    for (let i = 0; i < out.length; i++) out[i] /= h * w;
    return out;
  }
  return a;
}

/**
 * Runs a workload's ops in order on input `x` (B examples): each op reads the previous op's output
 * or the op it names, 'add' sums the outputs it names, `mac` computes a conv/dense op (op index,
 * its input). Outputs that a later op names are kept until the end. Returns the last op's output.
 */
export function walkWorkload(wl: Workload, x: Float32Array, batch: number, mac: (op: MacOp, i: number, a: Float32Array) => Float32Array): Float32Array {
  const named = new Set(wl.ops.flatMap((op) => (op.kind === 'add' ? op.inputs : op.input !== undefined ? [op.input] : [])));
  const kept = new Map<string, Float32Array>();
  const read = (name: string): Float32Array => {
    const v = kept.get(name);
    if (!v) throw new ConfigError(`runtime: op reads '${name}', which has not run yet`);
    return v;
  };
  let a = x;
  wl.ops.forEach((op, i) => {
    if (op.kind === 'add') {
      const [first, ...rest] = opInputs(wl.ops, i).map(read);
      a = Float32Array.from(first);
      for (const r of rest) {
        if (r.length !== a.length) throw new ConfigError(`runtime: add '${op.name}' sums outputs of different sizes`);
        for (let p = 0; p < a.length; p++) a[p] += r[p];
      }
    } else {
      const input = op.input !== undefined ? read(op.input) : a;
      a = isMacOp(op) ? mac(op, i, input) : applyShapeOp(op, input, batch);
    }
    if (named.has(op.name)) kept.set(op.name, a);
  });
  return a;
}

/** Float forward pass of the workload on raw inputs (B examples, NHWC flattened); returns the last op's output. */
export function floatForward(wl: Workload, x: Float32Array, batch: number, o: FloatForwardOptions = {}): Float32Array {
  const mm = o.matmul ?? plainMatMul;
  return walkWorkload(wl, normalizeInput(x, wl), batch, (op, i, a) => {
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
    o.capture?.({ opIndex: i, op, batch, input, output: y });
    return y;
  });
}
