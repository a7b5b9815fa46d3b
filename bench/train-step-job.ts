/**
 * The timed work of the `train-step` benchmark, as an executor job (runs inside a worker with its
 * own tfjs-wasm engine). One step = forward, softmax cross-entropy, backward and an SGD update
 * (lr 0.01) on a fixed random batch. Optional barrier: all jobs sharing it start timing together
 * after their warm-up, so concurrent workers are measured over the same period.
 */
import { engineInfo, tf } from '../src/core/engine.js';
import { Rng } from '../src/core/rng.js';
import { createModel, type ModelName } from '../src/nn/models.js';
import { KernelProfiler, type StepProfile } from './train-step-profile.js';

export interface TrainStepArgs {
  model: ModelName;
  inputShape: number[];
  batch: number;
  warmup: number;
  reps: number;
  stepsPerRep: number;
  seed: number;
  /** Int32Array over a SharedArrayBuffer: [arrived, parties]. */
  barrier?: Int32Array;
  /** After the timed repetitions, this many more steps with per-kernel timers (0: none). */
  profileSteps?: number;
  /** Profile entries per kernel and input shapes (else per kernel). */
  profileByShape?: boolean;
}

export interface TrainStepTiming {
  backend: string | null;
  /** Native BLAS kernels in use in this worker. */
  native: boolean;
  /** ms per step, one entry per repetition. */
  msPerStep: number[];
  /** Process CPU time (user + system, all threads) per step, ms, one entry per repetition. */
  cpuMsPerStep: number[];
  finalLoss: number;
  /** Per-kernel profile of `profileSteps` extra steps, or null. */
  profile: StepProfile | null;
}

function waitAll(b: Int32Array): void {
  Atomics.add(b, 0, 1);
  Atomics.notify(b, 0);
  for (;;) {
    const n = Atomics.load(b, 0);
    if (n >= b[1]) return;
    Atomics.wait(b, 0, n, 60_000);
  }
}

export function trainStepJob(a: TrainStepArgs): TrainStepTiming {
  const rng = new Rng(a.seed);
  const model = createModel(a.model, { inputShape: a.inputShape, numClasses: 10, seed: rng.seed() });
  const opt = tf.train.sgd(0.01);
  const n = a.batch * a.inputShape.reduce((p, v) => p * v, 1);
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) xs[i] = rng.next();
  const labels = new Int32Array(a.batch);
  for (let i = 0; i < a.batch; i++) labels[i] = rng.int(10);
  const x = tf.tensor(xs, [a.batch, ...a.inputShape]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat());
  let loss = Number.NaN;
  const forward = () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
  const step = (): void => {
    const cost = opt.minimize(forward, true);
    loss = cost!.dataSync()[0];
    cost!.dispose();
  };
  // The same step as opt.minimize (variableGrads, applyGradients, dispose), with phase marks.
  const profiledStep = (p: KernelProfiler): void => {
    p.beginStep();
    const { value, grads } = tf.variableGrads(() => {
      const l = forward();
      p.enter('backward');
      return l;
    });
    p.enter('optimizer');
    opt.applyGradients(grads);
    tf.dispose(grads);
    loss = value.dataSync()[0];
    value.dispose();
    p.endStep();
  };
  try {
    for (let i = 0; i < a.warmup; i++) step();
    if (a.barrier) waitAll(a.barrier);
    const msPerStep: number[] = [];
    const cpuMsPerStep: number[] = [];
    for (let r = 0; r < a.reps; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let s = 0; s < a.stepsPerRep; s++) step();
      msPerStep.push((performance.now() - t0) / a.stepsPerRep);
      const c = process.cpuUsage(c0);
      cpuMsPerStep.push((c.user + c.system) / 1000 / a.stepsPerRep);
    }
    let profile: StepProfile | null = null;
    if (a.profileSteps) {
      const p = new KernelProfiler(a.profileByShape ?? false);
      try {
        profiledStep(p);
        p.reset();
        for (let i = 0; i < a.profileSteps; i++) profiledStep(p);
        profile = p.result();
      } finally {
        p.stop();
      }
    }
    return { backend: engineInfo()?.backend ?? null, native: engineInfo()?.native.enabled ?? false, msPerStep, cpuMsPerStep, finalLoss: loss, profile };
  } finally {
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  }
}
