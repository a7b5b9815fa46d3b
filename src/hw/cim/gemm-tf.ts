/** A `GemmEngine` on the tfjs backend in use (wasm/tensorflow/cpu): weights uploaded once per tile. */
import { tf } from '../../core/engine.js';
import type { GemmEngine } from './network.js';

export const tfGemmEngine: GemmEngine = {
  prepare: (b, k, n) => tf.tensor2d(b, [k, n]),
  run: (a, m, k, handle) => {
    // Return the tensor from tidy (returning the typed array would make tidy walk every element).
    const y = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), handle as tf.Tensor2D));
    const out = y.dataSync() as Float32Array;
    y.dispose();
    return out;
  },
  release: (handle) => (handle as tf.Tensor).dispose(),
};
