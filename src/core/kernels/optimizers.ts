/**
 * Fused optimizer updates on the native path: tfjs's SGD and Adam update each variable with a chain of
 * elementwise kernels (SGD: Multiply, Add; Adam: about a dozen, each a pass over the variable). With
 * the native kernels in use, `tf.SGDOptimizer` and `tf.AdamOptimizer` update each variable with one
 * kernel instead (AccelabSgdUpdate, AccelabAdamUpdate in ./native.ts) that repeats tfjs's float32
 * operations in the same order, so the weights are bit-identical to the stock update (tested).
 *
 * Installed by `registerNativeKernels` on the two classes' prototypes; every call defers to the stock
 * method when the native path is switched off, the backend is not wasm, or a variable or gradient is
 * not float32. Optimizer state (Adam's moments and β powers, `getWeights`/`setWeights`) is the stock one.
 */
import * as tf from '@tensorflow/tfjs';

export const SGD_UPDATE_KERNEL = 'AccelabSgdUpdate';
export const ADAM_UPDATE_KERNEL = 'AccelabAdamUpdate';

type Grads = Parameters<tf.SGDOptimizer['applyGradients']>[0] | Parameters<tf.AdamOptimizer['applyGradients']>[0];

interface OptimizerInternals {
  learningRate: number;
  incrementIterations(): void;
}

interface AdamInternals extends OptimizerInternals {
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | null | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | null | undefined)[];
}

/** [name, gradient] pairs in the optimizer's order. */
function entries(g: Grads): [string, tf.Tensor | null | undefined][] {
  return Array.isArray(g) ? g.map((v): [string, tf.Tensor] => [v.name, v.tensor]) : Object.keys(g).map((name): [string, tf.Tensor] => [name, g[name]]);
}

function variable(name: string): tf.Variable {
  return tf.engine().registeredVariables[name];
}

/** Every variable and gradient float32, non-empty and of one size (else the stock update runs). */
function fusable(g: Grads): boolean {
  return entries(g).every(([name, t]) => {
    if (!t) return true;
    const v = variable(name);
    return v !== undefined && v.dtype === 'float32' && t.dtype === 'float32' && v.size === t.size && v.size > 0;
  });
}

let installed = false;

/** Patches SGD and Adam (once per thread) to use the fused kernels while `useFused()` holds. */
export function installFusedOptimizers(useFused: () => boolean): void {
  if (installed) return;
  installed = true;
  const sgdProto = tf.SGDOptimizer.prototype;
  const stockSgd = sgdProto.applyGradients;
  sgdProto.applyGradients = function (this: tf.SGDOptimizer, grads: Parameters<tf.SGDOptimizer['applyGradients']>[0]): void {
    if (!useFused() || !fusable(grads)) {
      stockSgd.call(this, grads);
      return;
    }
    const me = this as unknown as OptimizerInternals;
    for (const [name, g] of entries(grads)) {
      if (!g) continue;
      const value = variable(name);
      tf.tidy(() => {
        value.assign(tf.engine().runKernel(SGD_UPDATE_KERNEL, { x: value, g }, { c: -me.learningRate }) as tf.Tensor);
      });
    }
    me.incrementIterations();
  };

  const adamProto = tf.AdamOptimizer.prototype;
  const stockAdam = adamProto.applyGradients;
  adamProto.applyGradients = function (this: tf.AdamOptimizer, grads: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!useFused() || !fusable(grads)) {
      stockAdam.call(this, grads);
      return;
    }
    const me = this as unknown as AdamInternals;
    tf.tidy(() => {
      const s1 = tf.sub(1, me.accBeta1);
      const s2 = tf.sub(1, me.accBeta2);
      entries(grads).forEach(([name, g], i) => {
        const value = variable(name);
        // Moments are created on first use, as the stock method does (non-trainable, named <var>/m, /v).
        me.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.variable(tf.zerosLike(value), false)) };
        me.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.variable(tf.zerosLike(value), false)) };
        if (!g) return;
        const m = me.accumulatedFirstMoment[i].variable;
        const v = me.accumulatedSecondMoment[i].variable;
        const [x2, m2, v2] = tf
          .engine()
          .runKernel(
            ADAM_UPDATE_KERNEL,
            { x: value, g, m, v, s1, s2 },
            { beta1: me.beta1, beta2: me.beta2, epsilon: me.epsilon, learningRate: me.learningRate },
          ) as unknown as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        value.assign(x2);
      });
      me.accBeta1.assign(tf.mul(me.accBeta1, me.beta1));
      me.accBeta2.assign(tf.mul(me.accBeta2, me.beta2));
    });
    me.incrementIterations();
  };
}
