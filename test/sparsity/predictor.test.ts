import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { floatForward } from '../../src/nn/runtime/index.js';
import type { Workload } from '../../src/nn/workload.js';
import {
  chooseRanks,
  initPredictor,
  initPredictors,
  maskedForward,
  PredictorStatsCollector,
  predictorOverhead,
  predictScores,
  rankForBudget,
  summarizePredictorStats,
  svd,
} from '../../src/sparsity/index.js';

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal(0, scale));
}

/** A small MLP and a small CNN workload with random weights. */
function mlp(seed: number): Workload {
  const rng = new Rng(seed);
  return {
    name: 'mlp-test',
    inputShape: [4, 4, 1],
    normalization: { mean: [0.3], std: [0.5] },
    ops: [
      { kind: 'flatten', name: 'flatten' },
      { kind: 'dense', name: 'fc1', inFeatures: 16, outFeatures: 12, weights: randn(rng, 16 * 12, 0.4), bias: randn(rng, 12, 0.1), activation: 'relu' },
      { kind: 'dense', name: 'fc2', inFeatures: 12, outFeatures: 8, weights: randn(rng, 12 * 8, 0.4), bias: randn(rng, 8, 0.1), activation: 'relu' },
      { kind: 'dense', name: 'fc3', inFeatures: 8, outFeatures: 3, weights: randn(rng, 8 * 3, 0.4), bias: null, activation: 'linear' },
    ],
  };
}

function cnn(seed: number): Workload {
  const rng = new Rng(seed);
  return {
    name: 'cnn-test',
    inputShape: [6, 6, 2],
    normalization: null,
    ops: [
      {
        kind: 'conv2d',
        name: 'conv1',
        inShape: [6, 6, 2],
        outShape: [6, 6, 5],
        kernel: [3, 3],
        strides: [1, 1],
        padding: 'same',
        weights: randn(rng, 3 * 3 * 2 * 5, 0.3),
        bias: randn(rng, 5, 0.1),
        activation: 'relu',
      },
      { kind: 'maxpool', name: 'pool1', inShape: [6, 6, 5], outShape: [3, 3, 5], pool: [2, 2], strides: [2, 2] },
      { kind: 'flatten', name: 'flatten' },
      { kind: 'dense', name: 'fc1', inFeatures: 45, outFeatures: 4, weights: randn(rng, 45 * 4, 0.3), bias: null, activation: 'linear' },
    ],
  };
}

describe('svd (one-sided Jacobi)', () => {
  for (const [m, n] of [
    [7, 4],
    [4, 7],
    [9, 9],
  ]) {
    it(`reconstructs a random ${m}×${n} matrix with orthonormal factors`, () => {
      const rng = new Rng(m * 10 + n);
      const a = Array.from({ length: m * n }, () => rng.normal());
      const d = svd(a, m, n);
      const r = Math.min(m, n);
      assert.equal(d.rank, r);
      for (let i = 1; i < r; i++) assert.ok(d.s[i - 1] >= d.s[i]);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let v = 0;
          for (let c = 0; c < r; c++) v += d.u[i * r + c] * d.s[c] * d.v[j * r + c];
          assert.ok(Math.abs(v - a[i * n + j]) < 1e-10, `A[${i}][${j}]`);
        }
      }
      const gram = (x: Float64Array, rows: number) => {
        for (let p = 0; p < r; p++) {
          for (let q = 0; q < r; q++) {
            let s = 0;
            for (let i = 0; i < rows; i++) s += x[i * r + p] * x[i * r + q];
            assert.ok(Math.abs(s - (p === q ? 1 : 0)) < 1e-10);
          }
        }
      };
      gram(d.u, m);
      gram(d.v, n);
    });
  }

  it('matches known singular values (diagonal and rank-one matrices) and truncates', () => {
    const d = svd([0, 3, 0, 0, 0, -5, 2, 0, 0], 3, 3);
    assert.deepEqual(
      Array.from(d.s).map((v) => +v.toFixed(12)),
      [5, 3, 2],
    );
    // rank one: a = x yᵀ with |x| = 3, |y| = 5 → σ₁ = 15, others 0
    const x = [1, 2, 2];
    const y = [3, 4, 0, 0];
    const a = x.flatMap((xi) => y.map((yj) => xi * yj));
    const t = svd(a, 3, 4, { rank: 1 });
    assert.equal(t.rank, 1);
    assert.ok(Math.abs(t.s[0] - 15) < 1e-12);
  });
});

describe('low-rank predictor', () => {
  it('overhead and budget rank follow r·(K+N)/(K·N)', () => {
    assert.equal(predictorOverhead(1000, 1000, 20), 0.04);
    assert.equal(rankForBudget(1000, 1000, 0.05), 25);
    assert.equal(rankForBudget(784, 300, 0.05), 10);
    assert.equal(rankForBudget(9, 32, 0.05), 0);
    const wl = mlp(1);
    assert.deepEqual(
      [...chooseRanks(wl, { overheadBudget: 0.5, ranks: { fc2: 2 } })],
      [
        [1, 3],
        [2, 2],
      ],
    );
    assert.throws(() => chooseRanks(wl, { overheadBudget: 0.05, ranks: { fc3: 1 } }), /fc3/);
  });

  for (const make of [mlp, cnn]) {
    it(`${make(0).name}: with the mask forced to all ones the network equals the dense network`, () => {
      const wl = make(2);
      const rng = new Rng(3);
      const batch = 5;
      const per = wl.inputShape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: batch * per }, () => (rng.next() < 0.4 ? 0 : rng.next()));
      const preds = initPredictors(wl, chooseRanks(wl, { overheadBudget: 0, rank: 1 }));
      assert.ok(preds.length > 0);
      const dense = floatForward(wl, x, batch);
      const forced = maskedForward(wl, preds, x, batch, { forceDense: true });
      assert.deepEqual(Array.from(forced), Array.from(dense));
      // and a low-rank mask does change something on this random network
      const masked = maskedForward(wl, preds, x, batch);
      assert.notDeepEqual(Array.from(masked), Array.from(dense));
    });

    it(`${make(0).name}: at full rank with SVD initialisation the predicted mask is the ReLU mask up to rounding`, () => {
      const wl = make(4);
      const rng = new Rng(5);
      const batch = 8;
      const per = wl.inputShape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: batch * per }, () => rng.next());
      const preds = initPredictors(wl, chooseRanks(wl, { overheadBudget: 0, rank: 10_000 }));
      let checked = 0;
      maskedForward(wl, preds, x, batch, {
        capture: (c) => {
          if (!c.mask || !c.predictor) return;
          const scores = predictScores(c.predictor, c.op.bias, c.gemmInput, c.m);
          for (let e = 0; e < c.pre.length; e++) {
            assert.ok(Math.abs(scores[e] - c.pre[e]) < 1e-4, 'full-rank scores equal the pre-activations');
            if (Math.abs(c.pre[e]) > 1e-4) assert.equal(c.mask[e], c.pre[e] > 0 ? 1 : 0, `mask at ${c.op.name}[${e}]`);
            checked++;
          }
        },
      });
      assert.ok(checked > 50);
      // With full-rank predictors the masked network is the dense one up to rounding.
      const dense = floatForward(wl, x, batch);
      const masked = maskedForward(wl, preds, x, batch);
      for (let i = 0; i < dense.length; i++) assert.ok(Math.abs(dense[i] - masked[i]) < 1e-3);
    });
  }

  it('statistics count false negatives and positives against the pre-activation sign', () => {
    const wl = mlp(6);
    const rng = new Rng(7);
    const batch = 20;
    const x = Float32Array.from({ length: batch * 16 }, () => rng.next());
    const preds = [initPredictor(wl.ops[1] as never, 1, 1)];
    const col = new PredictorStatsCollector();
    let fn = 0;
    let pos = 0;
    maskedForward(wl, preds, x, batch, {
      capture: (c) => {
        col.add(c);
        if (c.mask) {
          for (let e = 0; e < c.pre.length; e++) {
            if (c.pre[e] > 0) {
              pos++;
              if (c.mask[e] === 0) fn++;
            }
          }
        }
      },
    });
    const s = col.stats();
    assert.equal(s.length, 3);
    assert.equal(s[0].rank, 1);
    assert.equal(s[0].falseNegativeRate, fn / pos);
    assert.equal(s[1].rank, 0);
    assert.equal(s[1].falseNegativeRate, 0);
    const sum = summarizePredictorStats(s);
    const macs = s.reduce((a, l) => a + l.layerMacs, 0);
    assert.ok(Math.abs(sum.overhead - (1 * (16 + 12)) / macs) < 1e-12);
  });
});
