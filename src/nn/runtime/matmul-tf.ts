/**
 * A `MatMulEngine` on the tfjs backend in use (wasm/tensorflow/cpu): right-hand sides are uploaded
 * once. Loads tfjs: import it from experiments, benchmarks or studies, never from `hw/`.
 */
import { tf } from '../../core/engine.js';
import type { MatMulEngine, MatMulOperand } from './matmul.js';

interface TfOperand extends MatMulOperand {
  readonly t: tf.Tensor2D;
}

export const tfMatMul: MatMulEngine = {
  prepare: (b, k, n): TfOperand => ({ k, n, t: tf.tensor2d(b, [k, n]) }),
  run: (a, m, k, op) => {
    // Return the tensor from tidy (returning the typed array would make tidy walk every element).
    const y = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), (op as TfOperand).t));
    const out = y.dataSync() as Float32Array;
    y.dispose();
    return out;
  },
  release: (op) => (op as TfOperand).t.dispose(),
};
