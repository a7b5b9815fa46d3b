import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { classHistogram, loadDataset, makeSynthetic, type Split } from '../../src/data/index.js';

/** Plain nearest-centroid classifier: per-class test accuracy. */
function nearestCentroidPerClass(train: Split, test: Split, size: number, k: number): number[] {
  const cent = Array.from({ length: k }, () => new Float64Array(size));
  const cnt = new Array<number>(k).fill(0);
  for (let i = 0; i < train.count; i++) {
    const c = train.labels[i];
    cnt[c]++;
    for (let p = 0; p < size; p++) cent[c][p] += train.images[i * size + p];
  }
  for (let c = 0; c < k; c++) for (let p = 0; p < size; p++) cent[c][p] /= cnt[c];
  const correct = new Array<number>(k).fill(0);
  const total = new Array<number>(k).fill(0);
  for (let i = 0; i < test.count; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      let d = 0;
      for (let p = 0; p < size; p++) {
        const t = test.images[i * size + p] - cent[c][p];
        d += t * t;
      }
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    const y = test.labels[i];
    total[y]++;
    if (best === y) correct[y]++;
  }
  return correct.map((c, i) => c / total[i]);
}

const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;

describe('synthetic data', () => {
  test('seeded: same seed same bytes, another seed different bytes; splits exactly balanced', () => {
    const a = makeSynthetic({ seed: 5, trainPerClass: 20, testPerClass: 5 });
    const b = makeSynthetic({ seed: 5, trainPerClass: 20, testPerClass: 5 });
    const c = makeSynthetic({ seed: 6, trainPerClass: 20, testPerClass: 5 });
    assert.deepEqual(a.train.images, b.train.images);
    assert.deepEqual(a.test.labels, b.test.labels);
    assert.notDeepEqual(a.train.images, c.train.images);
    assert.deepEqual(classHistogram(a.train.labels, 10), new Array(10).fill(20));
    assert.deepEqual(classHistogram(a.test.labels, 10), new Array(10).fill(5));
    assert.equal(a.train.images.length, 200 * 784);
    const rgb = makeSynthetic({ kind: 'rgb', trainPerClass: 3, testPerClass: 1 });
    assert.deepEqual(rgb.shape, [32, 32, 3]);
    assert.equal(rgb.train.images.length, 30 * 3072);
  });

  for (const kind of ['gray', 'rgb'] as const) {
    test(`${kind}: the confusable group is measurably harder for a nearest-centroid classifier, and harder the more confusable`, () => {
      const group = [2, 4, 6];
      const size = kind === 'rgb' ? 3072 : 784;
      const run = (confusability: number) => {
        const ds = makeSynthetic({ kind, seed: 3, trainPerClass: 60, testPerClass: 60, confusability, confusableGroup: group });
        const acc = nearestCentroidPerClass(ds.train, ds.test, size, 10);
        const inGroup = mean(group.map((c) => acc[c]));
        const rest = mean(acc.filter((_, c) => !group.includes(c)));
        return { inGroup, rest };
      };
      const hard = run(0.9);
      const none = run(0);
      assert.ok(hard.rest - hard.inGroup > 0.15, `group ${hard.inGroup.toFixed(3)} vs rest ${hard.rest.toFixed(3)}`);
      assert.ok(none.inGroup - hard.inGroup > 0.15, `confusability 0: ${none.inGroup.toFixed(3)} vs 0.9: ${hard.inGroup.toFixed(3)}`);
      assert.ok(Math.abs(none.rest - none.inGroup) < 0.1, `without confusability the group is like the rest (${none.inGroup.toFixed(3)} vs ${none.rest.toFixed(3)})`);
    });
  }

  test('bad options are ConfigErrors; loadDataset serves the synthetic names', async () => {
    assert.throws(() => makeSynthetic({ confusability: 1.5 }), ConfigError);
    assert.throws(() => makeSynthetic({ confusableGroup: [11] }), ConfigError);
    const ds = await loadDataset('synthetic-rgb', { limit: 25, seed: 2 });
    assert.equal(ds.name, 'synthetic-rgb');
    assert.equal(ds.train.count, 25);
    assert.equal(ds.test.count, 25);
  });
});
