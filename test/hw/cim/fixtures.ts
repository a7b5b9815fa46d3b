/** Small generated workloads shared by the CIM network and QAT tests. */
import type { Rng } from '../../../src/core/rng.js';
import type { ConvOp, Workload } from '../../../src/nn/workload.js';

/** conv 3×3 (2→4 channels, relu) → maxpool 2 → flatten → dense 36→3, seeded weights. */
export function tinyWorkload(rng: Rng, normalization: Workload['normalization'] = null): Workload {
  const conv: ConvOp = {
    kind: 'conv2d',
    name: 'c1',
    inShape: [6, 6, 2],
    outShape: [6, 6, 4],
    kernel: [3, 3],
    strides: [1, 1],
    padding: 'same',
    weights: new Float32Array(3 * 3 * 2 * 4).map(() => rng.normal(0, 0.4)),
    bias: new Float32Array(4).map(() => rng.normal(0, 0.1)),
    activation: 'relu',
  };
  return {
    name: 'tiny',
    inputShape: [6, 6, 2],
    normalization,
    ops: [
      conv,
      { kind: 'maxpool', name: 'p', inShape: [6, 6, 4], outShape: [3, 3, 4], pool: [2, 2], strides: [2, 2] },
      { kind: 'flatten', name: 'f' },
      { kind: 'dense', name: 'd', inFeatures: 36, outFeatures: 3, weights: new Float32Array(36 * 3).map(() => rng.normal(0, 0.3)), bias: null, activation: 'linear' },
    ],
  };
}
