/** A `GemmEngine` on the tfjs backend in use (wasm/tensorflow/cpu): weights uploaded once per tile. */
import { tf } from '../../core/engine.js';
import type { GemmEngine } from './network.js';

export const tfGemmEngine: GemmEngine = {
  prepare: (b, k, n) => tf.tensor2d(b, [k, n]),
  run: (a, m, k, handle) =>
    tf.tidy(() => {
      const y = tf.matMul(tf.tensor2d(a, [m, k]), handle as tf.Tensor2D);
      return y.dataSync() as Float32Array;
    }),
  release: (handle) => (handle as tf.Tensor).dispose(),
};
