import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Q } from '../../src/winograd/rational.js';
import { checkExact, cookToom, defaultPoints, nest, nestedAlgorithm, pure3Square } from '../../src/winograd/transforms.js';

test('default points follow 0, ±1, ±2, ±1/2, ±3, ±1/3 …', () => {
  assert.deepEqual(
    defaultPoints(11).map((p) => p.toString()),
    ['0', '1', '-1', '2', '-2', '1/2', '-1/2', '3', '-3', '1/3', '-1/3'],
  );
});

test('F(3,3) from points 0, 1, −1, 2 matches independently derived matrices', () => {
  const f = cookToom(3, 3);
  const s = (m: Q[][]) => m.map((r) => r.map((v) => v.toString()));
  assert.deepEqual(s(f.AT), [
    ['1', '1', '1', '1', '0'],
    ['0', '1', '-1', '2', '0'],
    ['0', '1', '1', '4', '1'],
  ]);
  assert.deepEqual(s(f.BT)[0], ['2', '-1', '-2', '1', '0']);
  assert.deepEqual(s(f.BT)[4], ['0', '2', '-1', '-2', '1']);
  assert.deepEqual(s(f.G)[3], ['1/6', '1/3', '2/3']);
});

test('Cook–Toom F(m, r) computes the r-tap correlation exactly for every m, r ≤ 8 (symbolic, rationals)', () => {
  for (let m = 1; m <= 8; m++)
    for (let r = 1; r <= 8; r++) {
      const f = cookToom(m, r);
      assert.equal(f.mu, m + r - 1);
      assert.equal(checkExact(f), null, `F(${m},${r}) violates the bilinear identity`);
    }
});

test('the exactness check detects a wrong transform', () => {
  const f = cookToom(2, 3);
  const bad = { ...f, G: f.G.map((r, k) => (k === 1 ? r.map((v, j) => (j === 0 ? v.add(Q.of(1, 7)) : v)) : r)) };
  assert.notEqual(checkExact(bad), null);
});

test('nested algorithms are exact and have the expected multiplication counts', () => {
  const cases: [number, number, number, number][] = [
    // outer m1, r1, inner s, expected μ
    [2, 3, 3, 20],
    [3, 3, 3, 25],
    [4, 3, 3, 30],
    [2, 2, 3, 15],
    [3, 2, 3, 20],
  ];
  for (const [m1, r1, s, mu] of cases) {
    const alg = nest(cookToom(m1, r1), cookToom(s, s));
    assert.equal(alg.mu, mu);
    assert.equal(alg.m, m1 * s);
    assert.equal(alg.r, r1 * s);
    assert.equal(checkExact(alg), null, alg.name);
  }
  const f27 = pure3Square(3);
  assert.equal(f27.mu, 125);
  assert.equal(checkExact(f27), null);
});

test('nesting policies pick the documented shapes', () => {
  assert.equal(nestedAlgorithm(5).r, 9);
  assert.equal(nestedAlgorithm(9).mu, 25);
  assert.equal(nestedAlgorithm(27).mu, 125);
  assert.equal(nestedAlgorithm(31).r, 81);
  const mixed5 = nestedAlgorithm(5, { policy: 'mixed' });
  assert.equal(mixed5.r, 6);
  assert.equal(mixed5.mu, 20);
  for (const k of [2, 5, 7, 11, 13, 31]) assert.equal(checkExact(nestedAlgorithm(k, { policy: 'mixed' })), null, `mixed ${k}`);
  for (const k of [4, 12]) assert.equal(checkExact(nestedAlgorithm(k, { policy: 'pure3', m1: 2 })), null, `pure3 ${k}`);
});
