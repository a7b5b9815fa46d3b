import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyze, analyzeConfusion, confusionGroups, jaccard, meanPairwiseJaccard, spearman, weakClasses } from '../../src/fl/analysis.js';
import { expertFromGlobal } from '../../src/fl/pkd.js';
import { type FitResult, FedAvgPlan, fedAvg, mixSeed } from '../../src/fl/strategy.js';
import { decodeWeights, encodeWeights, weightsEqual } from '../../src/fl/weights.js';

test('per-class accuracy, discrepancy (max − min and std) and weak classes from labels', () => {
  // class 0: 3/4 right, class 1: 4/4, class 2: 1/4
  const y = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
  const p = [0, 0, 0, 2, 1, 1, 1, 1, 2, 0, 0, 1];
  const a = analyze(y, p, 3);
  assert.deepEqual(a.perClass, [0.75, 1, 0.25]);
  assert.equal(a.accuracy, 8 / 12);
  assert.equal(a.interClassDiscrepancy, 0.75);
  const mean = 2 / 3;
  const std = Math.sqrt(((0.75 - mean) ** 2 + (1 - mean) ** 2 + (0.25 - mean) ** 2) / 3);
  assert.ok(Math.abs(a.perClassAccuracyStd - std) < 1e-12);
  assert.deepEqual(a.weak, [2]);
  assert.equal(a.worstClass, 2);
  assert.equal(a.weakMean, 0.25);
  assert.deepEqual(a.confusion[2], [2, 1, 1]);
});

test('weak-class rules: mean − delta and bottom-k', () => {
  const acc = [0.9, 0.6, 0.95, 0.8, 0.7];
  // mean = 0.79; with delta 0.05: below 0.74 → 0.6 (1), 0.7 (4)
  assert.deepEqual(weakClasses(acc, { rule: 'mean-minus-delta', delta: 0.05, k: 0 }), [1, 4]);
  assert.deepEqual(weakClasses(acc, { rule: 'bottom-k', delta: 0, k: 3 }), [1, 4, 3]);
});

test('confusion groups: connected components through weak classes, capped at gMax', () => {
  // 6 classes, 100 samples each. Weak 0 confused with 2 and 3; weak 4 with 5; 1 clean.
  const M = Array.from({ length: 6 }, (_, c) => Array.from({ length: 6 }, (_, d) => (c === d ? 100 : 0)));
  const conf = (a: number, b: number, n: number) => {
    M[a][b] += n;
    M[a][a] -= n;
  };
  conf(0, 2, 20);
  conf(0, 3, 10);
  conf(4, 5, 15);
  conf(1, 5, 1); // 1/200 = 0.5% < tau
  const a = analyzeConfusion(M);
  assert.deepEqual([...a.weak].sort(), [0, 4]);
  assert.deepEqual(confusionGroups(M, a.weak, { tau: 0.02, gMax: 4 }), [
    [0, 2, 3],
    [4, 5],
  ]);
  // gMax = 2 keeps the two most-confused members of {0,2,3}: 0 and 2.
  assert.deepEqual(confusionGroups(M, a.weak, { tau: 0.02, gMax: 2 })[0], [0, 2]);
  // No edges between two non-weak classes: 2↔3 confusion does not join them when neither is weak.
  assert.deepEqual(confusionGroups(M, [4], { tau: 0.02, gMax: 4 }), [[4, 5]]);
});

test('overlap measures: Jaccard, mean pairwise Jaccard, Spearman', () => {
  assert.equal(jaccard([0, 2, 6], [2, 6, 4]), 2 / 4);
  assert.equal(jaccard([], []), 1);
  assert.equal(meanPairwiseJaccard([[1, 2], [1, 2], [1]]), (1 + 0.5 + 0.5) / 3);
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
});

test('weights round-trip through the binary format bit for bit', () => {
  const w = [Float32Array.from([1.5, -0, Number.NaN, 3e-39]), new Float32Array(0), Float32Array.from([7])];
  const back = decodeWeights(encodeWeights(w));
  assert.ok(weightsEqual(w, back));
  assert.equal(back.length, 3);
  assert.throws(() => decodeWeights(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), /magic/);
});

test('fedAvg is the sample-weighted mean, independent of result order', () => {
  const r = (id: number, n: number, v: number[]): FitResult => ({ clientId: id, numExamples: n, weights: [Float32Array.from(v)], meanLoss: 0, kdTriggered: 0 });
  const a = fedAvg([r(0, 1, [0, 4]), r(1, 3, [4, 8])]);
  assert.deepEqual(Array.from(a[0]), [3, 7]);
  const b = fedAvg([r(1, 3, [4, 8]), r(0, 1, [0, 4])]);
  assert.ok(weightsEqual(a, b));
});

test('client selection honours fraction and minClients and depends only on seed and round', () => {
  const train = { epochs: 1, batchSize: 8, optimizer: 'sgd' as const, lr: 0.1, momentum: 0 };
  const s = new FedAvgPlan({ seed: 5, phase: 'global', model: 'm', train, fraction: 0.3, minClients: 2 });
  const a = s.configureFit(3, 10).map((i) => i.clientId);
  assert.equal(a.length, 3);
  assert.deepEqual(
    a,
    [...a].sort((x, y) => x - y),
  );
  assert.deepEqual(
    new FedAvgPlan({ seed: 5, phase: 'global', model: 'm', train, fraction: 0.3, minClients: 2 }).configureFit(3, 10).map((i) => i.clientId),
    a,
  );
  assert.equal(new FedAvgPlan({ seed: 5, phase: 'global', model: 'm', train, fraction: 0.05, minClients: 2 }).configureFit(1, 10).length, 2);
  const seeds = s.configureFit(3, 10).map((i) => i.seed);
  assert.equal(new Set(seeds).size, 3);
  assert.equal(
    seeds[0],
    mixSeed(
      5,
      (() => {
        let h = 7;
        for (const ch of 'global') h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
        return h;
      })(),
      3,
      a[0],
    ),
  );
});

test('expert initialised from the global model keeps the backbone and slices the head', () => {
  // backbone [2 values], kernel 2 rows × 3 classes, bias 3
  const g = [Float32Array.from([1, 2]), Float32Array.from([10, 11, 12, 20, 21, 22]), Float32Array.from([0.1, 0.2, 0.3])];
  const fresh = [new Float32Array(2), new Float32Array(4), new Float32Array(2)];
  const e = expertFromGlobal(g, fresh, [0, 2], 3);
  assert.deepEqual(Array.from(e[0]), [1, 2]);
  assert.deepEqual(Array.from(e[1]), [10, 12, 20, 22]);
  assert.deepEqual(Array.from(e[2]), [Math.fround(0.1), Math.fround(0.3)]);
});
