import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { type Partition, partition } from '../../src/data/partition.js';

function labelsWith(counts: number[], seed = 1): Uint8Array {
  const l: number[] = [];
  counts.forEach((n, c) => {
    for (let i = 0; i < n; i++) l.push(c);
  });
  return new Rng(seed).shuffle(Uint8Array.from(l));
}

function checkConsistent(p: Partition, labels: Uint8Array): void {
  const all = p.clients.flat();
  assert.equal(new Set(all).size, all.length, 'no example on two clients');
  assert.equal(all.length + p.unassigned, labels.length);
  p.clients.forEach((ids, k) => {
    const h = new Array(p.numClasses).fill(0);
    for (const i of ids) h[labels[i]]++;
    assert.deepEqual(p.histograms[k], h, `histogram of client ${k}`);
  });
  assert.doesNotThrow(() => JSON.stringify(p));
}

describe('partitioners', () => {
  test('balanced: every client has exactly the same count of every class; remainders unassigned', () => {
    const labels = labelsWith([6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000]);
    const p = partition(labels, 10, { method: 'balanced', clients: 10, seed: 4 });
    checkConsistent(p, labels);
    for (const h of p.histograms) assert.deepEqual(h, new Array(10).fill(600));
    assert.equal(p.unassigned, 0);
    // Uneven classes: q = floor(min / K) per class per client; the rest is left out.
    const uneven = labelsWith([53, 40, 71, 40]);
    const q = partition(uneven, 4, { method: 'balanced', clients: 3, seed: 1 });
    checkConsistent(q, uneven);
    for (const h of q.histograms) assert.deepEqual(h, [13, 13, 13, 13]);
    assert.equal(q.unassigned, 53 + 40 + 71 + 40 - 3 * 4 * 13);
    assert.equal(q.params.perClassPerClient, 13);
  });

  test('seeded: same seed same partition, different seed different partition', () => {
    const labels = labelsWith([50, 50, 50, 50, 50]);
    for (const method of ['balanced', 'iid', 'dirichlet', 'shards'] as const) {
      const a = partition(labels, 5, { method, clients: 5, seed: 9 });
      const b = partition(labels, 5, { method, clients: 5, seed: 9 });
      const c = partition(labels, 5, { method, clients: 5, seed: 10 });
      assert.deepEqual(a.clients, b.clients, method);
      assert.notDeepEqual(a.clients, c.clients, method);
      checkConsistent(a, labels);
    }
  });

  test('iid: sizes differ by at most one and cover everything', () => {
    const labels = labelsWith([23, 30, 31]);
    const p = partition(labels, 3, { method: 'iid', clients: 7, seed: 2 });
    checkConsistent(p, labels);
    const sizes = p.clients.map((c) => c.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    assert.equal(p.unassigned, 0);
  });

  test('dirichlet: small alpha skews labels more than large alpha', () => {
    const labels = labelsWith(new Array(10).fill(300));
    const skew = (alpha: number): number => {
      const p = partition(labels, 10, { method: 'dirichlet', clients: 10, seed: 3, alpha });
      checkConsistent(p, labels);
      assert.equal(p.unassigned, 0);
      // Mean share of each client's largest class.
      return (
        p.histograms.reduce(
          (s, h) =>
            s +
            Math.max(...h) /
              Math.max(
                1,
                h.reduce((a, b) => a + b, 0),
              ),
          0,
        ) / 10
      );
    };
    const low = skew(0.1);
    const high = skew(100);
    assert.ok(low > 0.4, `alpha 0.1: top-class share ${low}`);
    assert.ok(high < 0.2, `alpha 100: top-class share ${high}`);
  });

  test('shards: each client holds few classes', () => {
    const labels = labelsWith(new Array(10).fill(100));
    const p = partition(labels, 10, { method: 'shards', clients: 10, seed: 5, shardsPerClient: 2 });
    checkConsistent(p, labels);
    for (const h of p.histograms) {
      assert.ok(h.filter((v) => v > 0).length <= 4, `classes on a client: ${h}`);
      assert.equal(
        h.reduce((a, b) => a + b, 0),
        100,
      );
    }
  });

  test('bad configs are ConfigErrors naming the field', () => {
    const labels = labelsWith([3, 3]);
    assert.throws(() => partition(labels, 2, { method: 'balanced', clients: 4, seed: 1 }), ConfigError);
    assert.throws(() => partition(labels, 2, { method: 'dirichlet', clients: 2, seed: 1, alpha: -1 }), /field 'alpha'/);
    assert.throws(() => partition(labels, 2, { method: 'nope' as 'iid', clients: 2 }), /field 'method'/);
  });
});
