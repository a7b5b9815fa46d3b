/**
 * Post-training quantization of a workload into integer GEMM layers.
 *
 * Weights: any bit width, per output channel or per layer; 'signed' is symmetric with a narrow range
 * (−(2^(b−1)−1)…2^(b−1)−1, zero-point 0), 'unsigned' is asymmetric (0…2^b−1 with a zero-point).
 * Activations entering each conv/dense layer: per layer, any bit width; 'unsigned' codes 0…2^b−1
 * (zero-point 0: negative values clip to 0, right for post-ReLU activations), 'signed' symmetric.
 * The clip of each layer's input is a percentile of the float activations on calibration inputs;
 * the first layer sees raw inputs (0…1 by default, `inputClip`).
 *
 * The input normalisation (x − μ)/σ is folded into the first layer: its weights become w/σ and its
 * bias a per-position map bias − conv(μ/σ, w) (exact, also at the zero-padded border), so quantized
 * networks run on raw inputs. Codes round half up (Math.round).
 */
import { ConfigError } from '../../core/errors.js';
import type { Workload } from '../workload.js';
import { floatForward, gemmInput, gemmShape, isMacOp, macOpIndices } from './forward.js';
import { matmul, type MatMulEngine } from './matmul.js';

export type QuantGranularity = 'per-channel' | 'per-layer';

export interface WeightQuantSpec {
  bits: number;
  signed: boolean;
  granularity: QuantGranularity;
}

export interface ActivationQuantSpec {
  bits: number;
  signed: boolean;
}

/** Smallest and largest code of a spec. */
export function codeRange(s: { bits: number; signed: boolean }): [number, number] {
  if (!Number.isInteger(s.bits) || s.bits < 1 || s.bits > 24 || (s.signed && s.bits < 2)) {
    throw new ConfigError(`quantization: ${s.bits} bits is not usable for ${s.signed ? 'signed' : 'unsigned'} codes (use 2…24 signed, 1…24 unsigned)`);
  }
  return s.signed ? [-(2 ** (s.bits - 1) - 1), 2 ** (s.bits - 1) - 1] : [0, 2 ** s.bits - 1];
}

/** One conv/dense layer as an integer GEMM: y = Σ_k x_q·inScale · (w_q − wZero)·wScale + bias. */
export interface QuantLayer {
  opIndex: number;
  name: string;
  kind: 'conv2d' | 'dense';
  /** Rows (K) and output channels (N). */
  k: number;
  n: number;
  /** K×N integer weight codes (row-major). */
  wq: Int32Array;
  /** Per-output-channel weight scale and zero-point (per-layer quantization repeats one value). */
  wScale: Float32Array;
  wZero: Int32Array;
  /** Input activation scale: a = q·inScale (zero-point 0). */
  inScale: number;
  /** Bias per channel, or per (output position, channel) for a first layer with folded normalisation. */
  bias: Float32Array;
  biasPerPosition: boolean;
}

export interface QuantizedWorkload {
  workload: Workload;
  layers: QuantLayer[];
  weights: WeightQuantSpec;
  activations: ActivationQuantSpec;
  /** Code ranges of weights and activations. */
  weightRange: [number, number];
  actRange: [number, number];
}

export interface QuantizeOptions {
  /** Calibration inputs (raw, NHWC flattened) and their count. Use training data, never test data. */
  calib: Float32Array;
  calibCount: number;
  /** Percentile of the activations (of |a| for signed codes) used as the clip of each layer's input. */
  percentile: number;
  /** Default: 4-bit signed per channel. */
  weights?: Partial<WeightQuantSpec>;
  /** Default: 4-bit unsigned. */
  activations?: Partial<ActivationQuantSpec>;
  /** Clip of the first layer's (raw) input. Default 1 (inputs 0…1). */
  inputClip?: number;
  /** Float product used for calibration (default: plain). */
  matmul?: MatMulEngine;
}

export const DEFAULT_WEIGHT_SPEC: WeightQuantSpec = { bits: 4, signed: true, granularity: 'per-channel' };
export const DEFAULT_ACTIVATION_SPEC: ActivationQuantSpec = { bits: 4, signed: false };

/** The p-quantile of the positive values (of |v| when `abs`), on at most ~200,000 evenly spaced samples; 1 when none. */
export function percentileOf(values: Float32Array, p: number, abs = false): number {
  const sample: number[] = [];
  const step = Math.max(1, Math.floor(values.length / 200000));
  for (let i = 0; i < values.length; i += step) {
    const v = abs ? Math.abs(values[i]) : values[i];
    if (v > 0) sample.push(v);
  }
  if (sample.length === 0) return 1;
  sample.sort((a, b) => a - b);
  return sample[Math.min(sample.length - 1, Math.floor(p * sample.length))];
}

/** Quantizes K×N float weights column-group-wise: returns codes, per-channel scales and zero-points. */
export function quantizeWeights(w: Float32Array, k: number, n: number, spec: WeightQuantSpec): { wq: Int32Array; wScale: Float32Array; wZero: Int32Array } {
  const [qmin, qmax] = codeRange(spec);
  const wScale = new Float32Array(n);
  const wZero = new Int32Array(n);
  const wq = new Int32Array(k * n);
  const groups = spec.granularity === 'per-channel' ? Array.from({ length: n }, (_, j) => [j]) : [Array.from({ length: n }, (_, j) => j)];
  for (const cols of groups) {
    let lo = 0;
    let hi = 0;
    for (const j of cols)
      for (let r = 0; r < k; r++) {
        const v = w[r * n + j];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    let s: number;
    let z = 0;
    if (spec.signed) {
      const mx = Math.max(-lo, hi);
      s = mx > 0 ? mx / qmax : 1;
    } else {
      // Asymmetric: [lo, hi] (always containing 0) onto 0…qmax.
      s = hi > lo ? (hi - lo) / qmax : 1;
      z = Math.min(qmax, Math.max(0, Math.round(-lo / s)));
    }
    for (const j of cols) {
      wScale[j] = s;
      wZero[j] = z;
      for (let r = 0; r < k; r++) wq[r * n + j] = Math.max(qmin, Math.min(qmax, Math.round(w[r * n + j] / s) + z));
    }
  }
  return { wq, wScale, wZero };
}

/** Activation codes of float values: clamp(round(a/scale), range). */
export function quantizeActivations(a: Float32Array, scale: number, range: readonly [number, number]): Float32Array {
  const [lo, hi] = range;
  const q = new Float32Array(a.length);
  for (let p = 0; p < a.length; p++) {
    const v = Math.round(a[p] / scale);
    q[p] = v < lo ? lo : Math.min(v, hi);
  }
  return q;
}

/** Post-training quantization of a workload (see the module comment). */
export function quantizeWorkload(wl: Workload, o: QuantizeOptions): QuantizedWorkload {
  const weights: WeightQuantSpec = { ...DEFAULT_WEIGHT_SPEC, ...o.weights };
  const activations: ActivationQuantSpec = { ...DEFAULT_ACTIVATION_SPEC, ...o.activations };
  const weightRange = codeRange(weights);
  const actRange = codeRange(activations);
  const actMax = actRange[1];
  const first = macOpIndices(wl)[0];
  const clips = new Map<number, number>();
  // Calibration: the clip of every layer's input from the float network (the first layer: raw inputs).
  floatForward(wl, o.calib, o.calibCount, {
    matmul: o.matmul,
    capture: ({ opIndex, input }) => clips.set(opIndex, opIndex === first ? (o.inputClip ?? 1) : percentileOf(input, o.percentile, activations.signed)),
  });
  const layers: QuantLayer[] = [];
  wl.ops.forEach((op, i) => {
    if (!isMacOp(op)) return;
    const { k, n } = gemmShape(op);
    const w = Float32Array.from(op.weights);
    let bias: Float32Array = op.bias ? Float32Array.from(op.bias) : new Float32Array(n);
    let biasPerPosition = false;
    if (i === first && wl.normalization) {
      const norm = wl.normalization;
      const c = norm.mean.length;
      if (op.kind === 'dense' && c !== 1) throw new ConfigError('quantization: per-channel normalisation before a dense first layer is not supported');
      for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) w[r * n + j] /= norm.std[r % c];
      if (op.kind === 'conv2d') {
        // Bias map: bias − Σ_valid w·μ/σ, i.e. the float op applied to a constant image μ/σ.
        const [h, ww] = op.inShape;
        const img = new Float32Array(h * ww * c);
        for (let p = 0; p < img.length; p++) img[p] = norm.mean[p % c] / norm.std[p % c];
        const cols = gemmInput(op, img, 1);
        const P = cols.length / k;
        const y = matmul(cols, op.weights, P, k, n);
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
    const { wq, wScale, wZero } = quantizeWeights(w, k, n, weights);
    layers.push({ opIndex: i, name: op.name, kind: op.kind, k, n, wq, wScale, wZero, inScale: (clips.get(i) ?? 1) / actMax, bias, biasPerPosition });
  });
  return { workload: wl, layers, weights, activations, weightRange, actRange };
}
