/**
 * Training and evaluation loops for image classifiers (tfjs LayersModel), seeded end to end.
 *
 * - A custom loop (`optimizer.minimize` around `model.apply(x, {training: true})`): one fused
 *   forward/backward per batch, no per-step callbacks or History bookkeeping as in `fit`.
 * - Every random choice (shuffling, crop offsets, flips) comes from an `Rng` seeded by `seed`.
 * - Each epoch is followed by a batched evaluation on the test split: loss, accuracy, per-class
 *   accuracy and the confusion matrix. Every tensor is created inside `tf.tidy` or disposed.
 * - The result is plain JSON (no tensors): see `TrainResult`.
 */
import { tf } from '../core/engine.js';
import { ConfigError } from '../core/errors.js';
import { pct } from '../core/format.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { batches, channelStats, knownNormalization, type Normalization } from '../data/pipeline.js';
import type { Dataset, Split } from '../data/types.js';
import { countParams } from './models.js';
import { type ClassificationMetrics, type ConfusionMatrix, metricsFromConfusion } from './metrics.js';

export type { Normalization };

export type OptimizerName = 'sgd' | 'adam';
export type LrSchedule = 'constant' | 'cosine';

export interface TrainOptions {
  dataset: Dataset;
  model: tf.LayersModel;
  epochs: number;
  optimizer: OptimizerName;
  lr: number;
  batchSize: number;
  seed: number;
  /** SGD momentum (0 = plain SGD). Default 0.9. */
  momentum?: number;
  /** L2 weight decay added to the loss for kernels (not biases / batch norm). Default 0. */
  weightDecay?: number;
  lrSchedule?: LrSchedule;
  /** Random crop (pad 4) + horizontal flip of training images. Default false. */
  augment?: boolean;
  /** Input normalisation; default: per-channel mean/std of the training split. */
  normalization?: Normalization;
  /** Batch size for evaluation (default 256). */
  evalBatchSize?: number;
  /** Evaluate on the test split after every epoch (default) or only after the last one. */
  evalEveryEpoch?: boolean;
  /** A constraint held on the weights through training (pruning masks, straight-through quantization): see `WeightConstraint`. */
  constraint?: WeightConstraint;
}

/**
 * A constraint on the trainable weights, held through training (nn/constraint.ts builds them).
 * With a constraint every step is: gradients of the loss with respect to the model's trainable
 * weights → `gradients` (may zero entries, or re-key a gradient to a latent copy of a weight:
 * the straight-through estimator) → optimizer step → `afterStep` (writes the constrained weights
 * back into the model).
 */
export interface WeightConstraint {
  /** Before the first step: set up and constrain the model's weights. */
  begin(): void;
  /** The gradients to apply, from the gradients of the model's trainable weights (keyed by variable name). Called inside tf.tidy. */
  gradients(grads: tf.NamedTensorMap): tf.NamedTensorMap;
  /** After each optimizer step (`step` counts from 1 over the whole run). */
  afterStep(step: number): void;
  /** After the last step or on failure: free what `begin` made (the model keeps the constrained weights). */
  end(): void;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  /** trainLoss: mean cross-entropy over the epoch's batches (without the weight-decay term). */
  /** Accuracy on training batches as seen during the epoch (training mode, augmented). */
  trainAccuracy: number;
  testLoss: number | null;
  testAccuracy: number | null;
  perClassAccuracy: (number | null)[] | null;
  interClassDiscrepancy: number | null;
  confusion: ConfusionMatrix | null;
  /** Wall time of the training pass (s) and the evaluation pass (s). */
  trainSeconds: number;
  evalSeconds: number;
  imagesPerSecond: number;
}

export interface EvalResult extends ClassificationMetrics {
  loss: number;
  seconds: number;
}

export interface TrainResult {
  kind: 'train';
  dataset: { name: string; source?: string; shape: [number, number, number]; numClasses: number; classNames: string[]; trainCount: number; testCount: number };
  model: { name: string; params: number };
  hyper: {
    epochs: number;
    optimizer: OptimizerName;
    lr: number;
    momentum: number;
    weightDecay: number;
    lrSchedule: LrSchedule;
    batchSize: number;
    seed: number;
    augment: boolean;
    evalBatchSize: number;
  };
  normalization: Normalization;
  /** The loss the model is trained with ('softmax-cross-entropy' on logits or 'categorical-cross-entropy' on softmax outputs). */
  loss: string;
  epochs: EpochRecord[];
  /** Training loss/accuracy averaged over windows of `curveWindow` batches (x in epochs). */
  curve: { epoch: number; loss: number; accuracy: number }[];
  curveWindow: number;
  /** Final evaluation on the test split. */
  final: EvalResult;
  testAccuracy: number;
  trainSeconds: number;
  totalSeconds: number;
  /** Tensors alive after training minus before (0 means no leak). */
  tensorLeak: number;
}

/** The normalisation used for a data set: known statistics, else the training split's. */
export function normalizationFor(dataset: Dataset): Normalization {
  const known = knownNormalization(dataset.name);
  if (known && known.mean.length === dataset.shape[2]) return { mean: known.mean.slice(), std: known.std.slice() };
  const s = channelStats(dataset.train, dataset.shape);
  return { mean: s.mean.map((v) => +v.toFixed(6)), std: s.std.map((v) => +v.toFixed(6)) };
}

/** Whether the model ends in a softmax (then its outputs are probabilities, not logits). */
export function outputsProbabilities(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const cfg = last?.getConfig() as { activation?: unknown } | undefined;
  return cfg?.activation === 'softmax' || last?.getClassName() === 'Softmax';
}

function lossFn(probs: boolean): (labels: tf.Tensor, out: tf.Tensor) => tf.Scalar {
  if (probs) {
    return (labels, out) => tf.mean(tf.metrics.categoricalCrossentropy(labels, out)) as tf.Scalar;
  }
  return (labels, out) => tf.losses.softmaxCrossEntropy(labels, out) as tf.Scalar;
}

function lrAt(base: number, schedule: LrSchedule, step: number, total: number): number {
  if (schedule === 'cosine') return base * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
  return base;
}

/** What the optimizer factory needs: 'sgd' with `momentum` > 0 is SGD with (heavy-ball) momentum, with 0 plain SGD. */
export interface OptimizerOptions {
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
}

/** The one optimizer factory (central training and federated clients). Free it with `disposeOptimizer`. */
export function makeOptimizer(o: OptimizerOptions): tf.Optimizer {
  if (o.optimizer === 'adam') return tf.train.adam(o.lr);
  if (o.momentum > 0) return tf.train.momentum(o.lr, o.momentum);
  return tf.train.sgd(o.lr);
}

function setLr(opt: tf.Optimizer, lr: number): void {
  // SGD and momentum keep −lr as a scalar tensor (replaced by setLearningRate); Adam reads the field.
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** Frees an optimizer and every tensor it holds. */
export function disposeOptimizer(opt: tf.Optimizer): void {
  opt.dispose();
  // tfjs 4.22's MomentumOptimizer.dispose() forgets the inherited learning-rate scalar `c`.
  (opt as unknown as { c?: tf.Tensor }).c?.dispose();
}

/**
 * Evaluates `model` on a split in batches: loss, accuracy, per-class accuracy, confusion matrix.
 */
export function evaluate(
  model: tf.LayersModel,
  split: Split,
  info: { shape: [number, number, number]; numClasses: number; classNames: string[] },
  norm: Normalization,
  opts: { batchSize?: number; progress?: Progress; label?: string } = {},
): EvalResult {
  const t0 = performance.now();
  const batchSize = opts.batchSize ?? 256;
  const progress = opts.progress ?? silentProgress;
  const k = info.numClasses;
  const probs = outputsProbabilities(model);
  const conf: ConfusionMatrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let lossSum = 0;
  const steps = Math.ceil(split.count / batchSize);
  progress.start(opts.label ?? 'evaluate', steps);
  for (const b of batches(split, info.shape, { batchSize, shuffle: false, normalize: norm })) {
    const { x, y } = b;
    const [predData, lossVal] = tf.tidy(() => {
      const xt = tf.tensor4d(x, [b.size, ...info.shape]);
      const out = model.apply(xt, { training: false }) as tf.Tensor;
      const yt = tf.oneHot(tf.tensor1d(Int32Array.from(y), 'int32'), k);
      const l = probs ? tf.sum(tf.metrics.categoricalCrossentropy(yt, out)) : tf.mul(tf.losses.softmaxCrossEntropy(yt, out), b.size);
      return [tf.argMax(out, 1).dataSync() as Int32Array, (l as tf.Tensor).dataSync()[0]] as const;
    });
    lossSum += lossVal;
    for (let i = 0; i < y.length; i++) conf[y[i]][predData[i]]++;
    progress.tick(1);
  }
  progress.stop();
  const m = metricsFromConfusion(conf, info.classNames);
  return { ...m, loss: split.count > 0 ? lossSum / split.count : 0, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Predicted classes of `model` for the examples `indices` of a split, in batches (inference mode).
 * With `classes`, the argmax is taken over those output columns only and returned as class ids
 * (the within-group prediction of a model trained on all classes).
 */
export function predictLabels(
  model: tf.LayersModel,
  split: Split,
  shape: [number, number, number],
  indices: ArrayLike<number>,
  norm: Normalization | null,
  opts: { classes?: readonly number[]; batchSize?: number } = {},
): Int32Array {
  const { classes, batchSize = 500 } = opts;
  const out = new Int32Array(indices.length);
  let at = 0;
  for (const b of batches(split, shape, { batchSize, shuffle: false, indices, normalize: norm })) {
    const p = tf.tidy(() => {
      const logits = model.predict(tf.tensor4d(b.x, [b.size, ...shape])) as tf.Tensor2D;
      return tf.argMax(classes ? tf.gather(logits, classes as number[], 1) : logits, 1);
    });
    const a = p.dataSync();
    for (let i = 0; i < a.length; i++) out[at + i] = classes ? classes[a[i]] : a[i];
    at += a.length;
    p.dispose();
  }
  return out;
}

function isKernel(w: tf.LayerVariable): boolean {
  return /kernel/.test(w.originalName) && w.shape.length > 1;
}

/**
 * Trains `model` on `dataset.train`, evaluating on `dataset.test` after every epoch.
 * Deterministic for a given seed on a given backend (up to floating-point summation order).
 */
export function train(o: TrainOptions, progress: Progress = silentProgress): TrainResult {
  const { dataset, model } = o;
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new ConfigError(`train: field 'epochs' must be a whole number ≥ 1, got ${o.epochs}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new ConfigError(`train: field 'batchSize' must be a whole number ≥ 1, got ${o.batchSize}`);
  if (!(o.lr > 0)) throw new ConfigError(`train: field 'lr' must be > 0, got ${o.lr}`);
  if (dataset.train.count === 0) throw new ConfigError(`train: data set '${dataset.name}' has no training examples`);
  const inShape = model.inputs[0].shape.slice(1);
  if (inShape.join('x') !== dataset.shape.join('x')) {
    throw new ConfigError(
      `train: the model expects inputs ${inShape.join('×')} but data set '${dataset.name}' has images ${dataset.shape.join('×')}: pick a model built for this data set`,
    );
  }
  const tensorsBefore = tf.memory().numTensors;
  const t0 = performance.now();
  const momentum = o.momentum ?? 0.9;
  const weightDecay = o.weightDecay ?? 0;
  const schedule = o.lrSchedule ?? 'constant';
  const augment = o.augment ?? false;
  const evalBatchSize = o.evalBatchSize ?? 256;
  const norm = o.normalization ?? normalizationFor(dataset);
  const info = { shape: dataset.shape, numClasses: dataset.numClasses, classNames: dataset.classNames };
  const rng = new Rng(o.seed);
  const optimizer = makeOptimizer({ optimizer: o.optimizer, lr: o.lr, momentum });
  const probs = outputsProbabilities(model);
  const loss = lossFn(probs);
  const decayed = weightDecay > 0 ? model.trainableWeights.filter(isKernel) : [];
  const k = dataset.numClasses;
  const n = dataset.train.count;
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const totalSteps = stepsPerEpoch * o.epochs;
  const epochs: EpochRecord[] = [];
  let step = 0;
  let trainSeconds = 0;
  const curveWindow = Math.max(1, Math.ceil(totalSteps / 120));
  const curve: { epoch: number; loss: number; accuracy: number }[] = [];
  let wLoss = 0;
  let wCorrect = 0;
  let wSeen = 0;
  let wSteps = 0;
  let final: EvalResult | null = null;
  const constraint = o.constraint;
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  constraint?.begin();

  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const te = performance.now();
    const epochRng = rng.fork(epoch);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const epochLr = lrAt(o.lr, schedule, step, totalSteps);
    progress.start(`epoch ${epoch}/${o.epochs}`, stepsPerEpoch);
    let bi = 0;
    for (const b of batches(dataset.train, dataset.shape, {
      batchSize: o.batchSize,
      rng: epochRng,
      normalize: norm,
      augment: augment ? 'crop-flip' : 'none',
      pad: Math.round(dataset.shape[0] / 8),
    })) {
      const bs = b.size;
      const x = b.x;
      const y = Int32Array.from(b.y);
      bi++;
      if (schedule !== 'constant') setLr(optimizer, lrAt(o.lr, schedule, step, totalSteps));
      // The step's outputs kept out of the tidy: number correct and the data loss (without weight decay).
      const kept: { correct: tf.Scalar | null; dataLoss: tf.Scalar | null } = { correct: null, dataLoss: null };
      const totalT = tf.tidy(() => {
        const xt = tf.tensor4d(x, [bs, ...dataset.shape]);
        const yt = tf.oneHot(tf.tensor1d(y, 'int32'), k);
        const objective = (): tf.Scalar => {
          const out = model.apply(xt, { training: true }) as tf.Tensor;
          kept.correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out, 1), tf.tensor1d(y, 'int32')), 'float32')) as tf.Scalar);
          const l = loss(yt, out);
          if (decayed.length === 0) return l;
          kept.dataLoss = tf.keep(l);
          const reg = tf.addN(decayed.map((w) => tf.sum(tf.square(w.read()))));
          return tf.add(l, tf.mul(reg, weightDecay / 2)) as tf.Scalar;
        };
        if (!constraint) return optimizer.minimize(objective, true) as tf.Scalar;
        const { value, grads } = optimizer.computeGradients(objective, trainable);
        optimizer.applyGradients(constraint.gradients(grads));
        return value;
      });
      if (constraint) constraint.afterStep(step + 1);
      const lv = (kept.dataLoss ?? totalT).dataSync()[0];
      const cv = kept.correct ? kept.correct.dataSync()[0] : 0;
      tf.dispose([totalT, kept.correct, kept.dataLoss].filter((t): t is tf.Scalar => t !== null));
      if (!Number.isFinite(lv)) {
        progress.stop();
        disposeOptimizer(optimizer);
        constraint?.end();
        throw new ConfigError(`train: the loss became ${lv} at epoch ${epoch}, step ${bi}: lower --lr (now ${o.lr})`);
      }
      lossSum += lv * bs;
      correct += cv;
      seen += bs;
      step++;
      wLoss += lv * bs;
      wCorrect += cv;
      wSeen += bs;
      if (++wSteps === curveWindow || bi === stepsPerEpoch) {
        curve.push({ epoch: +(epoch - 1 + bi / stepsPerEpoch).toFixed(4), loss: wLoss / wSeen, accuracy: wCorrect / wSeen });
        wLoss = wCorrect = wSeen = wSteps = 0;
      }
      progress.tick(1, `loss ${(lossSum / seen).toFixed(3)} acc ${pct(correct / seen)}`);
    }
    progress.stop();
    const trainSec = (performance.now() - te) / 1000;
    trainSeconds += trainSec;
    const doEval = o.evalEveryEpoch !== false || epoch === o.epochs;
    let ev: EvalResult | null = null;
    if (doEval) {
      ev = evaluate(model, dataset.test, info, norm, { batchSize: evalBatchSize, progress, label: `test ${epoch}/${o.epochs}` });
      if (epoch === o.epochs) final = ev;
    }
    epochs.push({
      epoch,
      lr: epochLr,
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      testLoss: ev?.loss ?? null,
      testAccuracy: ev?.accuracy ?? null,
      perClassAccuracy: ev ? ev.perClass.map((c) => c.accuracy) : null,
      interClassDiscrepancy: ev?.interClassDiscrepancy ?? null,
      confusion: ev ? ev.confusion : null,
      trainSeconds: trainSec,
      evalSeconds: ev?.seconds ?? 0,
      imagesPerSecond: seen / trainSec,
    });
  }
  disposeOptimizer(optimizer);
  constraint?.end();
  const fin = final as EvalResult;
  return {
    kind: 'train',
    dataset: {
      name: dataset.name,
      source: dataset.source,
      shape: dataset.shape,
      numClasses: k,
      classNames: dataset.classNames,
      trainCount: dataset.train.count,
      testCount: dataset.test.count,
    },
    model: { name: model.name, params: countParams(model) },
    hyper: { epochs: o.epochs, optimizer: o.optimizer, lr: o.lr, momentum, weightDecay, lrSchedule: schedule, batchSize: o.batchSize, seed: o.seed, augment, evalBatchSize },
    normalization: norm,
    loss: probs ? 'categorical-cross-entropy' : 'softmax-cross-entropy',
    epochs,
    curve,
    curveWindow,
    final: fin,
    testAccuracy: fin.accuracy,
    trainSeconds,
    totalSeconds: (performance.now() - t0) / 1000,
    tensorLeak: tf.memory().numTensors - tensorsBefore,
  };
}
