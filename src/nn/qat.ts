/**
 * Quantization-aware fine-tuning (QAT) of a workload for integer inference on the runtime
 * (nn/runtime): a functional tfjs forward pass built from the workload's layer list, with fake
 * quantization that matches the runtime's quantizer (`quantizeWorkload`, signed weights, unsigned
 * activations) exactly:
 *  - weights: symmetric per output channel (or per layer), scale max|w|/weightMax from the CURRENT
 *    weights each step, codes clamp(round(w/s), −weightMax, weightMax); the first layer's weights are folded with the
 *    input normalisation (w/σ) before quantization and its bias becomes the map bias − conv(μ/σ, w);
 *  - activations entering each conv/dense layer: unsigned, codes clamp(round(a/s), 0, actMax) with the
 *    per-layer scale s = clip/actMax from `quantizeWorkload` (percentile clip on a calibration batch,
 *    recomputed from the current weights at the start of every epoch; the first layer sees raw 0…1
 *    pixels with clip 1).
 * Gradients use the straight-through estimator: identity for weights, identity inside [0, clip] and
 * zero outside for activations.
 */
import { gatherBatch } from '../data/pipeline.js';
import { tf } from '../core/engine.js';
import { ConfigError } from '../core/errors.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { codeRange, type EvalSet, macOpIndices, type MatMulEngine, plainMatMul, type QuantGranularity, type QuantizedWorkload, quantizeWorkload } from './runtime/index.js';
import { type ConvOp, type DenseOp, requireSequential, type Workload } from './workload.js';

/** Round half up, like Math.round (tf.round rounds half to even). */
function roundHalfUp(x: tf.Tensor): tf.Tensor {
  return tf.floor(tf.add(x, 0.5));
}

/** Fake-quantized activation (forward: quantize-dequantize to 0…actMax codes; backward: STE, zero outside [0, clip]). */
export function fakeQuantAct(x: tf.Tensor, scale: number, actMax: number): tf.Tensor {
  const clip = scale * actMax;
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi]);
    const value = tf.mul(tf.clipByValue(roundHalfUp(tf.div(xi, scale)), 0, actMax), scale);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
      const inside = tf.logicalAnd(tf.greaterEqual(saved[0], 0), tf.lessEqual(saved[0], clip));
      return tf.mul(dy, tf.cast(inside, 'float32'));
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x);
}

/** Fake-quantized weights, per output channel (last axis) or per layer, scale max|w|/weightMax; backward: identity. */
export function fakeQuantWeights(w: tf.Tensor, weightMax: number, granularity: QuantGranularity = 'per-channel'): tf.Tensor {
  const f = tf.customGrad(((wi: tf.Tensor) => {
    const axes = (granularity === 'per-channel' ? wi.shape.slice(0, -1) : wi.shape).map((_, i) => i);
    const mx = tf.max(tf.abs(wi), axes, true);
    const s = tf.where(tf.greater(mx, 0), tf.div(mx, weightMax), tf.onesLike(mx));
    const value = tf.mul(tf.clipByValue(roundHalfUp(tf.div(wi, s)), -weightMax, weightMax), s);
    return { value, gradFunc: (dy: tf.Tensor) => dy };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(w);
}

interface LayerParams {
  opIndex: number;
  w: tf.Variable;
  b: tf.Variable;
}

/** Code ranges and weight granularity of the quantizer being emulated. */
interface FakeQuant {
  weightMax: number;
  actMax: number;
  granularity: QuantGranularity;
}

function fakeQuantOf(net: QuantizedWorkload): FakeQuant {
  if (!net.weights.signed || net.activations.signed)
    throw new ConfigError('qat: only signed weights and unsigned activations can be fine-tuned (set weights.signed true, activations.signed false)');
  return { weightMax: net.weightRange[1], actMax: net.actRange[1], granularity: net.weights.granularity };
}

function makeParams(wl: Workload): Map<number, LayerParams> {
  const m = new Map<number, LayerParams>();
  for (const i of macOpIndices(wl)) {
    const op = wl.ops[i] as ConvOp | DenseOp;
    const shape = op.kind === 'conv2d' ? [op.kernel[0], op.kernel[1], op.inShape[2], op.outShape[2]] : [op.inFeatures, op.outFeatures];
    const n = shape[shape.length - 1];
    m.set(i, { opIndex: i, w: tf.variable(tf.tensor(op.weights, shape)), b: tf.variable(op.bias ? tf.tensor1d(op.bias) : tf.zeros([n])) });
  }
  return m;
}

/**
 * Fake-quantized logits of a raw (0…1) batch x (B×H×W×C or B×features): the same arithmetic as the
 * runtime's exact integer inference, as a differentiable tf graph. `inScales` maps each conv/dense
 * op to its input activation scale.
 */
function qatLogits(wl: Workload, params: Map<number, LayerParams>, inScales: Map<number, number>, x: tf.Tensor, q: FakeQuant): tf.Tensor {
  const first = macOpIndices(wl)[0];
  const norm = wl.normalization;
  let a = x;
  wl.ops.forEach((op, i) => {
    if (op.kind === 'conv2d' || op.kind === 'dense') {
      const p = params.get(i);
      const scale = inScales.get(i);
      if (!p || scale === undefined) throw new ConfigError(`qat: no parameters for layer ${op.name}`);
      let w: tf.Tensor = p.w;
      let bias: tf.Tensor = p.b;
      if (i === first && norm) {
        const c = norm.mean.length;
        const ratio = norm.mean.map((m, k) => m / norm.std[k]);
        if (op.kind === 'conv2d') {
          w = tf.div(p.w, tf.tensor4d(norm.std, [1, 1, c, 1]));
          const [h, ww] = op.inShape;
          const img = tf.tile(tf.tensor4d(ratio, [1, 1, 1, c]), [1, h, ww, 1]);
          const y = tf.conv2d(img as tf.Tensor4D, p.w as tf.Tensor4D, op.strides, op.padding);
          bias = tf.sub(p.b, y); // 1×Ho×Wo×N per-position bias map
        } else {
          if (c !== 1) throw new ConfigError('qat: per-channel normalisation before a dense first layer is not supported');
          w = tf.div(p.w, norm.std[0]);
          bias = tf.sub(p.b, tf.mul(tf.sum(p.w, 0), ratio[0]));
        }
      }
      const wq = fakeQuantWeights(w, q.weightMax, q.granularity);
      const aq = fakeQuantAct(a, scale, q.actMax);
      let y: tf.Tensor;
      if (op.kind === 'conv2d') y = tf.conv2d(aq as tf.Tensor4D, wq as tf.Tensor4D, op.strides, op.padding);
      else y = tf.matMul(aq.reshape([aq.shape[0], -1]) as tf.Tensor2D, wq as tf.Tensor2D);
      y = tf.add(y, bias);
      a = op.activation === 'relu' ? tf.relu(y) : y;
    } else if (op.kind === 'maxpool') {
      const [h, w] = op.inShape;
      const valid = [Math.floor((h - op.pool[0]) / op.strides[0]) + 1, Math.floor((w - op.pool[1]) / op.strides[1]) + 1];
      if (valid[0] !== op.outShape[0] || valid[1] !== op.outShape[1]) throw new ConfigError(`qat: pooling layer ${op.name} must use 'valid' padding`);
      a = tf.maxPool(a as tf.Tensor4D, op.pool, op.strides, 'valid');
    } else if (op.kind === 'flatten') {
      a = a.reshape([a.shape[0], -1]);
    } else if (op.kind === 'relu') {
      a = tf.relu(a);
    }
  });
  return a;
}

function inputShape(wl: Workload, batch: number): number[] {
  return [batch, ...wl.inputShape];
}

function scalesOf(net: QuantizedWorkload): Map<number, number> {
  return new Map(net.layers.map((L) => [L.opIndex, L.inScale]));
}

/**
 * Fake-quantized logits of a quantized network (its workload's float weights, its activation scales):
 * equals the runtime's exact integer inference (`runQuantized` with `exactIntGemm`) up to float
 * rounding. For tests and checks.
 */
export function fakeQuantForward(net: QuantizedWorkload, x: Float32Array, batch: number): Float32Array {
  requireSequential(net.workload, 'qat');
  const params = makeParams(net.workload);
  try {
    return tf.tidy(() => qatLogits(net.workload, params, scalesOf(net), tf.tensor(x, inputShape(net.workload, batch)), fakeQuantOf(net))).dataSync() as Float32Array;
  } finally {
    for (const p of params.values()) {
      p.w.dispose();
      p.b.dispose();
    }
  }
}

export interface QatOptions {
  epochs: number;
  /** Adam learning rate. */
  lr: number;
  batch: number;
  seed: number;
  /** Calibration images (the first `calibCount` of `train`) and percentile for the activation clips, as in `quantizeWorkload`. */
  calibCount: number;
  percentile: number;
  /** Quantizer being emulated (defaults as in `quantizeWorkload`: 4-b signed per-channel weights, 4-b unsigned activations). */
  weightBits?: number;
  weightGranularity?: QuantGranularity;
  activationBits?: number;
  /** Stop after this many steps (tests); default: full epochs. */
  maxSteps?: number;
}

export interface QatStats {
  epochs: number;
  lr: number;
  batch: number;
  steps: number;
  /** Mean training loss of the fake-quantized network per epoch. */
  epochLoss: number[];
  seconds: number;
}

/** Current workload with the parameters' values. */
function workloadWith(wl: Workload, params: Map<number, LayerParams>): Workload {
  return {
    ...wl,
    ops: wl.ops.map((op, i) => {
      const p = params.get(i);
      if (!p || (op.kind !== 'conv2d' && op.kind !== 'dense')) return op;
      return { ...op, weights: Float32Array.from(p.w.dataSync()), bias: Float32Array.from(p.b.dataSync()) };
    }),
  };
}

/**
 * Quantization-aware fine-tuning of a workload on raw training images (`train.x` 0…1): returns the
 * fine-tuned float workload (quantize it with `quantizeWorkload` as usual) and statistics.
 * Seeded: the shuffle order comes from `o.seed`.
 */
export function qatFineTune(
  wl: Workload,
  train: EvalSet,
  classes: number,
  o: QatOptions,
  matmul: MatMulEngine = plainMatMul,
  progress: Progress = silentProgress,
): { workload: Workload; stats: QatStats } {
  requireSequential(wl, 'qat');
  const weights = { bits: o.weightBits ?? 4, signed: true, granularity: o.weightGranularity ?? 'per-channel' } as const;
  const activations = { bits: o.activationBits ?? 4, signed: false } as const;
  const fq: FakeQuant = { weightMax: codeRange(weights)[1], actMax: codeRange(activations)[1], granularity: weights.granularity };
  const per = train.x.length / train.count;
  const params = makeParams(wl);
  const vars = [...params.values()].flatMap((p) => [p.w, p.b]);
  const opt = tf.train.adam(o.lr);
  const rng = new Rng(o.seed);
  const t0 = performance.now();
  const epochLoss: number[] = [];
  let steps = 0;
  const calibN = Math.min(o.calibCount, train.count);
  const calib = train.x.subarray(0, calibN * per);
  const stepsPerEpoch = Math.ceil(train.count / o.batch);
  try {
    for (let e = 0; e < o.epochs; e++) {
      const current = workloadWith(wl, params);
      const scales = scalesOf(quantizeWorkload(current, { calib, calibCount: calibN, percentile: o.percentile, weights, activations, matmul }));
      const order = Array.from({ length: train.count }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      progress.start(`qat epoch ${e + 1}/${o.epochs}`, stepsPerEpoch);
      let sum = 0;
      let nb = 0;
      for (let s = 0; s < train.count; s += o.batch) {
        if (o.maxSteps !== undefined && steps >= o.maxSteps) break;
        const b = Math.min(o.batch, train.count - s);
        const { x: xb, labels: yb } = gatherBatch(train.x, train.labels, per, order, s, b);
        const loss = tf.tidy(() => {
          const x = tf.tensor(xb, inputShape(wl, b));
          const y = tf.oneHot(tf.tensor1d(yb, 'int32'), classes);
          return opt.minimize(() => tf.losses.softmaxCrossEntropy(y, qatLogits(wl, params, scales, x, fq)) as tf.Scalar, true, vars) ?? tf.scalar(Number.NaN);
        });
        sum += loss.dataSync()[0];
        loss.dispose();
        nb++;
        steps++;
        progress.tick(1);
      }
      progress.stop();
      epochLoss.push(nb > 0 ? sum / nb : Number.NaN);
    }
    return { workload: workloadWith(wl, params), stats: { epochs: o.epochs, lr: o.lr, batch: o.batch, steps, epochLoss, seconds: (performance.now() - t0) / 1000 } };
  } finally {
    for (const v of vars) v.dispose();
    opt.dispose();
  }
}
