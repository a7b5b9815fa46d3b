/**
 * Fused batch normalization for training (channels-last, normalizing over every axis but the last).
 *
 * tfjs's BatchNormalization layer trains through `tf.moments` + `batchNorm` and their generic
 * gradients: about 35 kernel calls over the full activation per layer (Multiply, Sub, Sum, Mean,
 * Tile, ...), a third of a ResNet-20 step on wasm. Here the training forward is one kernel (moments
 * and normalization) and the backward is one gradient kernel
 * (dβ = Σdy, dγ = Σdy·x̂, dx = γ/(σ·M)·(M·dy − dβ − x̂·dγ)), wrapped in tf.customGrad.
 * On wasm both passes are typed-array loops (./wasm.ts, float64 accumulators); on other backends
 * the same math runs as a few tf ops (`batchNormTrainingOps`, also the tests' reference twin).
 *
 * `FastBatchNormalization` is a drop-in subclass of the tfjs layer (same config, weights and
 * serialized class name 'BatchNormalization', so checkpoints stay standard tfjs); it takes the fused
 * path when training with a last-axis, centred and scaled layer, and defers to tfjs otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { BN_FORWARD_KERNEL, BN_GRAD_KERNEL } from './wasm.js';

export interface BatchNormTrainingResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Forward pass: [y, batch mean, batch variance]. */
function forward(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  if (hasKernel(BN_FORWARD_KERNEL)) {
    return tf.engine().runKernel(BN_FORWARD_KERNEL, { x, gamma, beta }, { epsilon }) as unknown as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  }
  return batchNormForwardOps(x, gamma, beta, epsilon);
}

/** Forward pass as plain tf ops (reference twin; non-wasm backends). */
export function batchNormForwardOps(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  return tf.tidy(() => {
    const axes = x.shape.map((_, i) => i).slice(0, -1);
    const m = tf.moments(x, axes);
    const mean = m.mean as tf.Tensor1D;
    const variance = m.variance as tf.Tensor1D;
    return [tf.batchNorm(x, mean, variance, beta, gamma, epsilon), mean, variance];
  });
}

/** Gradient of batch norm w.r.t. x, gamma, beta as plain tf ops (reference twin; non-wasm backends). */
export function batchNormGradOps(
  x: tf.Tensor,
  dy: tf.Tensor,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  gamma: tf.Tensor1D,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  return tf.tidy(() => {
    const axes = x.shape.map((_, i) => i).slice(0, -1);
    const M = x.size / x.shape[x.shape.length - 1];
    const inv = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(tf.sub(x, mean), inv);
    const db = tf.sum(dy, axes) as tf.Tensor1D;
    const dg = tf.sum(tf.mul(dy, xhat), axes) as tf.Tensor1D;
    const k = tf.div(tf.mul(gamma, inv), M);
    const dx = tf.mul(k, tf.sub(tf.sub(tf.mul(dy, M), db), tf.mul(xhat, dg)));
    return [dx, dg, db];
  });
}

function batchNormGrad(x: tf.Tensor, dy: tf.Tensor, mean: tf.Tensor1D, variance: tf.Tensor1D, gamma: tf.Tensor1D, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  if (hasKernel(BN_GRAD_KERNEL)) {
    return tf.engine().runKernel(BN_GRAD_KERNEL, { x, dy, mean, variance, gamma }, { epsilon }) as unknown as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  }
  return batchNormGradOps(x, dy, mean, variance, gamma, epsilon);
}

/**
 * Training-mode batch norm of a channels-last `x` with batch statistics; differentiable w.r.t.
 * x, gamma and beta. Returns the batch mean and (biased) variance too, for moving averages
 * (they are not differentiable outputs). The caller owns all three results.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainingResult {
  let stats: [tf.Tensor1D, tf.Tensor1D] | null = null;
  const f = tf.customGrad((...args: (tf.Tensor | ((t: tf.Tensor[]) => void))[]) => {
    const [xi, g, b] = args as tf.Tensor[];
    const save = args[3] as (t: tf.Tensor[]) => void;
    const [y, mean, variance] = forward(xi, g as tf.Tensor1D, b as tf.Tensor1D, epsilon);
    stats = [tf.keep(mean.clone()), tf.keep(variance.clone())];
    save([xi, mean, variance, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sm, sv, sg] = saved;
        return batchNormGrad(sx, dy as tf.Tensor, sm as tf.Tensor1D, sv as tf.Tensor1D, sg as tf.Tensor1D, epsilon);
      },
    };
  });
  const y = (f as unknown as (...t: tf.Tensor[]) => tf.Tensor)(x, gamma, beta);
  const [mean, variance] = stats as unknown as [tf.Tensor1D, tf.Tensor1D];
  return { y, mean, variance };
}

type BNLayer = ReturnType<typeof tf.layers.batchNormalization>;
type BNArgs = Parameters<typeof tf.layers.batchNormalization>[0];
interface BNInternals {
  axis: number;
  epsilon: number;
  momentum: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

const BaseBatchNormalization = tf.layers.batchNormalization({}).constructor as new (args?: BNArgs) => BNLayer;

export class FastBatchNormalization extends BaseBatchNormalization {
  static className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const me = this as unknown as BNInternals;
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const rank = input.shape.length;
    const axis = me.axis >= 0 ? me.axis : me.axis + rank;
    if (!kwargs.training || axis !== rank - 1 || !me.center || !me.scale || input.dtype !== 'float32') return super.call(inputs, kwargs);
    const r = batchNormTraining(input, me.gamma.read() as tf.Tensor1D, me.beta.read() as tf.Tensor1D, me.epsilon);
    tf.tidy(() => {
      const decay = 1 - me.momentum;
      for (const [v, batch] of [
        [me.movingMean, r.mean],
        [me.movingVariance, r.variance],
      ] as const) {
        const orig = v.read();
        v.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), decay)));
      }
    });
    tf.dispose([r.mean, r.variance]);
    return r.y;
  }
}

tf.serialization.registerClass(FastBatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/** Drop-in for tf.layers.batchNormalization with the fused training path. */
export function fastBatchNormalization(args?: BNArgs): BNLayer {
  return new FastBatchNormalization(args);
}
