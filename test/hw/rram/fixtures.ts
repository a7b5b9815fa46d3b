/** Small generated workloads and crossbar settings for the RRAM tests. */
import { Rng } from '../../../src/core/rng.js';
import { type QuantizedWorkload, quantizeWorkload } from '../../../src/nn/runtime/index.js';
import type { Workload } from '../../../src/nn/workload.js';

/** conv 3×3 (3→6, relu) → maxpool 2 → flatten → dense 54→10 (relu) → dense 10→4; seeded weights and biases. */
export function rramWorkload(seed = 1): Workload {
  const rng = new Rng(seed);
  const r = (n: number, s: number): Float32Array => new Float32Array(n).map(() => rng.normal(0, s));
  return {
    name: 'rram-tiny',
    inputShape: [6, 6, 3],
    normalization: null,
    ops: [
      {
        kind: 'conv2d',
        name: 'c1',
        inShape: [6, 6, 3],
        outShape: [6, 6, 6],
        kernel: [3, 3],
        strides: [1, 1],
        padding: 'same',
        weights: r(3 * 3 * 3 * 6, 0.4),
        bias: r(6, 0.2),
        activation: 'relu',
      },
      { kind: 'maxpool', name: 'p', inShape: [6, 6, 6], outShape: [3, 3, 6], pool: [2, 2], strides: [2, 2] },
      { kind: 'flatten', name: 'f' },
      { kind: 'dense', name: 'd1', inFeatures: 54, outFeatures: 10, weights: r(54 * 10, 0.3), bias: r(10, 0.1), activation: 'relu' },
      { kind: 'dense', name: 'd2', inFeatures: 10, outFeatures: 4, weights: r(10 * 4, 0.5), bias: null, activation: 'linear' },
    ],
  };
}

export function images(count: number, seed = 2): Float32Array {
  const rng = new Rng(seed);
  return new Float32Array(count * 108).map(() => rng.next());
}

/** The workload quantized to 8-bit signed weights and 8-bit unsigned activations (or other widths). */
export function quantized(wl: Workload, bits = 8, actBits = 8): QuantizedWorkload {
  return quantizeWorkload(wl, {
    calib: images(16, 7),
    calibCount: 16,
    percentile: 0.999,
    weights: { bits, signed: true, granularity: 'per-channel' },
    activations: { bits: actBits, signed: false },
  });
}

/** Small crossbars so that every layer spans several row and column tiles. */
export const SMALL = { rows: 16, columns: 24 } as const;
