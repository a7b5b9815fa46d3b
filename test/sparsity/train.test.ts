import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { Rng } from '../../src/core/rng.js';
import type { Workload } from '../../src/nn/workload.js';
import { chooseRanks, initPredictors } from '../../src/sparsity/index.js';
import { type JointTrainOptions, steStep, trainJoint } from '../../src/sparsity/train.js';

function mlp(): Workload {
  const rng = new Rng(11);
  const r = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.normal(0, s));
  return {
    name: 'mlp-test',
    inputShape: [8],
    normalization: null,
    ops: [
      { kind: 'dense', name: 'fc1', inFeatures: 8, outFeatures: 16, weights: r(128, 0.5), bias: r(16, 0.1), activation: 'relu' },
      { kind: 'dense', name: 'fc2', inFeatures: 16, outFeatures: 2, weights: r(32, 0.5), bias: null, activation: 'linear' },
    ],
  };
}

/** Two Gaussian classes in 8 dimensions. */
function data(n: number) {
  const rng = new Rng(12);
  const x = new Float32Array(n * 8);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let j = 0; j < 8; j++) x[i * 8 + j] = rng.normal(labels[i] ? 0.8 : -0.8, 1);
  }
  return { x, labels, count: n };
}

const base: JointTrainOptions = { method: 'ste', epochs: 2, lr: 0.01, batchSize: 16, seed: 1, steWindow: 1, auxWeight: 0.1, auxTemperature: 1, positiveWeight: 2, l1: 0 };

describe('joint training of network and predictors', () => {
  before(async () => {
    await initEngine('wasm');
  });

  it('the STE step passes the gradient only inside the window', () => {
    const g = tf.tidy(() =>
      tf
        .grad((p: tf.Tensor) => tf.sum(tf.mul(steStep(p, 0, 1), tf.tensor1d([1, 2, 3, 4]))))(tf.tensor1d([-2, -0.5, 0.5, 3]))
        .arraySync(),
    );
    assert.deepEqual(g, [0, 2, 3, 0]);
    const v = tf.tidy(() => steStep(tf.tensor1d([-1, 0, 1e-3]), 0, 1).arraySync());
    assert.deepEqual(v, [0, 0, 1]);
  });

  for (const method of ['ste', 'aux'] as const) {
    it(`${method}: trains U and V, is deterministic, leaks no tensors`, () => {
      const wl = mlp();
      const preds = initPredictors(wl, chooseRanks(wl, { overheadBudget: 0, rank: 2 }));
      const before = tf.memory().numTensors;
      const a = trainJoint(wl, preds, data(128), 2, { ...base, method });
      const b = trainJoint(wl, preds, data(128), 2, { ...base, method });
      assert.equal(tf.memory().numTensors, before);
      assert.deepEqual(Array.from(a.predictors[0].u), Array.from(b.predictors[0].u));
      assert.notDeepEqual(Array.from(a.predictors[0].u), Array.from(preds[0].u));
      assert.notDeepEqual(Array.from((a.workload.ops[0] as { weights: Float32Array }).weights), Array.from((wl.ops[0] as { weights: Float32Array }).weights));
      assert.equal(a.stats.steps, 16);
      assert.ok(a.stats.epochLoss[1] < a.stats.epochLoss[0] * 1.5);
    });
  }

  it("'none' trains the network only and leaves the predictors as they were", () => {
    const wl = mlp();
    const preds = initPredictors(wl, chooseRanks(wl, { overheadBudget: 0, rank: 2 }));
    const r = trainJoint(wl, preds, data(64), 2, { ...base, method: 'none', epochs: 1 });
    assert.deepEqual(Array.from(r.predictors[0].v), Array.from(preds[0].v));
    assert.notDeepEqual(Array.from((r.workload.ops[1] as { weights: Float32Array }).weights), Array.from((wl.ops[1] as { weights: Float32Array }).weights));
  });
});
