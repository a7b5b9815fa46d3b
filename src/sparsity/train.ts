/**
 * End-to-end training of a network together with its output-sparsity predictors: a functional tfjs
 * forward pass built from the workload's layer list in which every layer with a predictor outputs
 * ReLU(x·W + b) ⊙ s, s = 1[(x·V)·U + b_p > threshold], so the following layers learn to live with the
 * predictor's mistakes. Two ways to train the predictor (`method`):
 *  - 'ste': straight-through estimator on the mask. Forward s = H(p); backward ∂s/∂p = 1[|p − θ| ≤ β]
 *    (hard-tanh surrogate), so ∂L/∂p = ∂L/∂h ⊙ ReLU(a) ⊙ 1[|p − θ| ≤ β] reaches U and V;
 *  - 'aux': the mask is a constant in the backward pass and U, V learn from an auxiliary sign-matching
 *    loss μ · mean(w · BCE(σ((p − θ)/κ), 1[a > 0])), weight w = `positiveWeight` on truly active outputs.
 * Method 'none' trains the network alone (the baseline, same loop and schedule). An optional L1
 * penalty α · Σ_layers mean|h| on the masked outputs raises activation sparsity (Davis & Arel 2013).
 * Seeded: the shuffle order comes from `seed`.
 */
import { gatherBatch } from '../data/pipeline.js';
import { tf } from '../core/engine.js';
import { ConfigError } from '../core/errors.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { type EvalSet, isMacOp } from '../nn/runtime/index.js';
import { type ConvOp, type DenseOp, requireSequential, type Workload } from '../nn/workload.js';
import type { LayerPredictor } from './predictor.js';

export const TRAIN_METHODS = ['ste', 'aux', 'none'] as const;
export type TrainMethod = (typeof TRAIN_METHODS)[number];

export interface JointTrainOptions {
  method: TrainMethod;
  epochs: number;
  /** Adam learning rate. */
  lr: number;
  batchSize: number;
  seed: number;
  /** STE window β: the surrogate gradient is 1 where |p − θ| ≤ β. */
  steWindow: number;
  /** Auxiliary loss weight μ, sigmoid temperature κ and weight of truly active outputs. */
  auxWeight: number;
  auxTemperature: number;
  positiveWeight: number;
  /** L1 activation penalty α (0 = off). */
  l1: number;
  /** Stop after this many steps (tests); default: full epochs. */
  maxSteps?: number;
}

export interface JointTrainStats {
  method: TrainMethod;
  epochs: number;
  steps: number;
  /** Mean total training loss per epoch. */
  epochLoss: number[];
  seconds: number;
}

interface LayerVars {
  w: tf.Variable;
  b: tf.Variable;
}

interface PredVars {
  v: tf.Variable;
  u: tf.Variable;
  bias: tf.Variable | null;
  p: LayerPredictor;
}

/** Heaviside step 1[x > threshold] treated as a constant in the backward pass. */
function constStep(x: tf.Tensor, threshold: number): tf.Tensor {
  const f = tf.customGrad(((xi: tf.Tensor) => ({ value: tf.cast(tf.greater(xi, threshold), 'float32'), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<
    typeof tf.customGrad
  >[0]);
  return f(x);
}

/** Heaviside step with the hard-tanh straight-through gradient 1[|p − θ| ≤ β]. */
export function steStep(p: tf.Tensor, threshold: number, window: number): tf.Tensor {
  const f = tf.customGrad(((pi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([pi]);
    const value = tf.cast(tf.greater(pi, threshold), 'float32');
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => tf.mul(dy, tf.cast(tf.lessEqual(tf.abs(tf.sub(saved[0], threshold)), window), 'float32'));
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(p);
}

function layerShape(op: ConvOp | DenseOp): number[] {
  return op.kind === 'conv2d' ? [op.kernel[0], op.kernel[1], op.inShape[2], op.outShape[2]] : [op.inFeatures, op.outFeatures];
}

/** Logits and the auxiliary/L1 terms of a raw batch x through the masked network. */
function forward(
  wl: Workload,
  layers: Map<number, LayerVars>,
  preds: Map<number, PredVars>,
  x: tf.Tensor,
  o: JointTrainOptions,
): { logits: tf.Tensor; aux: tf.Scalar | null; l1: tf.Scalar | null } {
  const norm = wl.normalization;
  let a = norm ? tf.div(tf.sub(x, tf.tensor1d(norm.mean)), tf.tensor1d(norm.std)) : x;
  const auxTerms: tf.Scalar[] = [];
  const l1Terms: tf.Scalar[] = [];
  wl.ops.forEach((op, i) => {
    if (isMacOp(op)) {
      const L = layers.get(i);
      if (!L) throw new ConfigError(`sparsity train: no parameters for layer ${op.name}`);
      const gemm = (inp: tf.Tensor, w: tf.Tensor): tf.Tensor =>
        op.kind === 'conv2d'
          ? tf.conv2d(inp as tf.Tensor4D, w as tf.Tensor4D, op.strides, op.padding)
          : tf.matMul(inp.reshape([inp.shape[0], -1]) as tf.Tensor2D, w as tf.Tensor2D);
      const pre = tf.add(gemm(a, L.w), L.b);
      const P = o.method === 'none' ? undefined : preds.get(i);
      if (!P) {
        a = op.activation === 'relu' ? tf.relu(pre) : pre;
        if (op.activation === 'relu' && o.l1 > 0) l1Terms.push(tf.mean(a) as tf.Scalar);
        return;
      }
      const pr = P.p;
      const vShape = op.kind === 'conv2d' ? [op.kernel[0], op.kernel[1], op.inShape[2], pr.rank] : [pr.k, pr.rank];
      const t = gemm(a, P.v.reshape(vShape));
      const tShape = t.shape;
      const p = tf.add(tf.matMul(t.reshape([-1, pr.rank]) as tf.Tensor2D, P.u as tf.Tensor2D).reshape([...tShape.slice(0, -1), pr.n]), P.bias ?? L.b);
      let s: tf.Tensor;
      if (o.method === 'ste') s = steStep(p, pr.threshold, o.steWindow);
      else {
        s = constStep(p, pr.threshold);
        const target = constStep(pre, 0);
        const logit = tf.div(tf.sub(p, pr.threshold), o.auxTemperature);
        // BCE with logits: softplus(z) − y·z, weighted by w on positives.
        const bce = tf.sub(tf.softplus(logit), tf.mul(target, logit));
        const weight = tf.add(1, tf.mul(target, o.positiveWeight - 1));
        auxTerms.push(tf.mean(tf.mul(weight, bce)) as tf.Scalar);
      }
      a = tf.mul(tf.relu(pre), s);
      if (o.l1 > 0) l1Terms.push(tf.mean(a) as tf.Scalar);
    } else if (op.kind === 'maxpool') {
      a = tf.maxPool(a as tf.Tensor4D, op.pool, op.strides, 'valid');
    } else if (op.kind === 'flatten') {
      a = a.reshape([a.shape[0], -1]);
    } else if (op.kind === 'relu') {
      a = tf.relu(a);
    }
  });
  return { logits: a, aux: auxTerms.length ? (tf.addN(auxTerms) as tf.Scalar) : null, l1: l1Terms.length ? (tf.addN(l1Terms) as tf.Scalar) : null };
}

/**
 * Trains the workload's weights (and the predictors' U, V and own biases unless method is 'none')
 * on raw training images; returns new workload and predictors (the inputs are not modified).
 */
export function trainJoint(
  wl: Workload,
  predictors: readonly LayerPredictor[],
  train: EvalSet,
  classes: number,
  o: JointTrainOptions,
  progress: Progress = silentProgress,
): { workload: Workload; predictors: LayerPredictor[]; stats: JointTrainStats } {
  if (!Number.isInteger(o.epochs) || o.epochs < 0) throw new ConfigError(`sparsity train: 'epochs' must be a whole number ≥ 0, got ${o.epochs}`);
  requireSequential(wl, 'sparsity train');
  for (const op of wl.ops) {
    if (op.kind === 'maxpool') {
      const [h, w] = op.inShape;
      if (Math.floor((h - op.pool[0]) / op.strides[0]) + 1 !== op.outShape[0] || Math.floor((w - op.pool[1]) / op.strides[1]) + 1 !== op.outShape[1])
        throw new ConfigError(`sparsity train: pooling layer ${op.name} must use 'valid' padding`);
    }
  }
  const layers = new Map<number, LayerVars>();
  wl.ops.forEach((op, i) => {
    if (!isMacOp(op)) return;
    const shape = layerShape(op);
    const n = shape[shape.length - 1];
    layers.set(i, { w: tf.tidy(() => tf.variable(tf.tensor(op.weights, shape))), b: tf.tidy(() => tf.variable(op.bias ? tf.tensor1d(op.bias) : tf.zeros([n]))) });
  });
  const preds = new Map<number, PredVars>();
  for (const p of predictors) {
    const bias = p.bias;
    preds.set(p.opIndex, {
      p,
      v: tf.tidy(() => tf.variable(tf.tensor2d(p.v, [p.k, p.rank]))),
      u: tf.tidy(() => tf.variable(tf.tensor2d(p.u, [p.rank, p.n]))),
      bias: bias ? tf.tidy(() => tf.variable(tf.tensor1d(bias))) : null,
    });
  }
  const vars: tf.Variable[] = [...layers.values()].flatMap((l) => [l.w, l.b]);
  if (o.method !== 'none') for (const P of preds.values()) vars.push(P.v, P.u, ...(P.bias ? [P.bias] : []));
  const per = train.x.length / train.count;
  const inShape = wl.inputShape;
  const opt = tf.train.adam(o.lr);
  const rng = new Rng(o.seed);
  const t0 = performance.now();
  const epochLoss: number[] = [];
  let steps = 0;
  const stepsPerEpoch = Math.ceil(train.count / o.batchSize);
  try {
    for (let e = 0; e < o.epochs; e++) {
      const order = rng.fork(e + 1).permutation(train.count);
      progress.start(`${o.method === 'none' ? 'baseline' : o.method} epoch ${e + 1}/${o.epochs}`, stepsPerEpoch);
      let sum = 0;
      let nb = 0;
      for (let s = 0; s < train.count; s += o.batchSize) {
        if (o.maxSteps !== undefined && steps >= o.maxSteps) break;
        const b = Math.min(o.batchSize, train.count - s);
        const { x: xb, labels: yb } = gatherBatch(train.x, train.labels, per, order, s, b);
        const loss = tf.tidy(() => {
          const x = tf.tensor(xb, [b, ...inShape]);
          const y = tf.oneHot(tf.tensor1d(yb, 'int32'), classes);
          return (
            opt.minimize(
              () => {
                const f = forward(wl, layers, preds, x, o);
                let l = tf.losses.softmaxCrossEntropy(y, f.logits) as tf.Scalar;
                if (f.aux) l = tf.add(l, tf.mul(f.aux, o.auxWeight)) as tf.Scalar;
                if (f.l1) l = tf.add(l, tf.mul(f.l1, o.l1)) as tf.Scalar;
                return l;
              },
              true,
              vars,
            ) ?? tf.scalar(Number.NaN)
          );
        });
        const lv = loss.dataSync()[0];
        loss.dispose();
        if (!Number.isFinite(lv)) throw new ConfigError(`sparsity train: the loss became ${lv} at epoch ${e + 1}: lower 'lr' (now ${o.lr})`);
        sum += lv;
        nb++;
        steps++;
        progress.tick(1, `loss ${(sum / nb).toFixed(3)}`);
      }
      progress.stop();
      epochLoss.push(nb > 0 ? sum / nb : Number.NaN);
    }
    const workload: Workload = {
      ...wl,
      ops: wl.ops.map((op, i) => {
        const L = layers.get(i);
        if (!L || !isMacOp(op)) return op;
        return { ...op, weights: Float32Array.from(L.w.dataSync()), bias: Float32Array.from(L.b.dataSync()) };
      }),
    };
    const out = predictors.map((p) => {
      const P = preds.get(p.opIndex) as PredVars;
      return { ...p, v: Float32Array.from(P.v.dataSync()), u: Float32Array.from(P.u.dataSync()), bias: P.bias ? Float32Array.from(P.bias.dataSync()) : null };
    });
    return { workload, predictors: out, stats: { method: o.method, epochs: o.epochs, steps, epochLoss, seconds: (performance.now() - t0) / 1000 } };
  } finally {
    opt.dispose();
    for (const l of layers.values()) tf.dispose([l.w, l.b]);
    for (const P of preds.values()) tf.dispose([P.v, P.u, ...(P.bias ? [P.bias] : [])]);
  }
}
