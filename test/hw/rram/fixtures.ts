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

/**
 * A residual network: c1 (relu) → c2a (relu) → c2b → a1 = c2b + c1 → relu r2; cp reads c1 (a
 * projection branch, listed between a1 and r2) → a2 = cp + r2 → relu r3 → global average pool →
 * dense 6→4.
 */
export function residualWorkload(seed = 3): Workload {
  const rng = new Rng(seed);
  const r = (n: number, s: number): Float32Array => new Float32Array(n).map(() => rng.normal(0, s));
  const conv = (name: string, cin: number, activation: 'relu' | 'linear', input?: string) => ({
    kind: 'conv2d' as const,
    name,
    ...(input ? { input } : {}),
    inShape: [6, 6, cin] as [number, number, number],
    outShape: [6, 6, 6] as [number, number, number],
    kernel: [3, 3] as [number, number],
    strides: [1, 1] as [number, number],
    padding: 'same' as const,
    weights: r(9 * cin * 6, 0.35),
    bias: r(6, 0.2),
    activation,
  });
  return {
    name: 'rram-residual',
    inputShape: [6, 6, 3],
    normalization: null,
    ops: [
      conv('c1', 3, 'relu'),
      conv('c2a', 6, 'relu'),
      conv('c2b', 6, 'linear'),
      { kind: 'add', name: 'a1', inputs: ['c2b', 'c1'] },
      // The relu after cp in the list reads a1, not cp.
      conv('cp', 6, 'linear', 'c1'),
      { kind: 'relu', name: 'r2', input: 'a1' },
      { kind: 'add', name: 'a2', inputs: ['cp', 'r2'] },
      { kind: 'relu', name: 'r3' },
      { kind: 'globalavgpool', name: 'gap', inShape: [6, 6, 6] },
      { kind: 'dense', name: 'd', inFeatures: 6, outFeatures: 4, weights: r(24, 0.5), bias: null, activation: 'linear' },
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
