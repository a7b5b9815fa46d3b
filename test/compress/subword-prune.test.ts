import assert from 'node:assert/strict';
import { test } from 'node:test';
import { intMatrix, matricesEqual, syntheticWeights, sparsityOf } from '../../src/compress/matrix.js';
import { cubicSparsity, magnitudeMask, magnitudeMasks, maskSparsity, nmMask } from '../../src/compress/prune.js';
import { mergeSubwords, nonzeroSubwords, pruneSubwords, splitSubwords } from '../../src/compress/subword.js';
import { Rng } from '../../src/core/rng.js';

test('subwords split and merge back exactly in both encodings', () => {
  const all = intMatrix(
    1,
    255,
    Int32Array.from({ length: 255 }, (_, i) => i - 127),
  );
  for (const encoding of ['sign-magnitude', 'twos-complement'] as const) {
    const spec = { weightBits: 8, subwordBits: 4, encoding };
    const sm = splitSubwords(all, spec);
    assert.equal(sm.cols, 510);
    assert.ok(matricesEqual(mergeSubwords(sm, spec), all));
  }
  // sign-magnitude: −3 is one subword; two's complement: two (high nibble all ones)
  const m3 = intMatrix(1, 1, Int32Array.from([-3]));
  assert.equal(nonzeroSubwords(m3), 1);
  assert.equal(nonzeroSubwords(m3, { weightBits: 8, subwordBits: 4, encoding: 'twos-complement' }), 2);
  assert.deepEqual([...splitSubwords(intMatrix(1, 1, Int32Array.from([-0x35]))).values], [-3, -5]);
});

test('subword pruning removes the cheapest subwords with the rounding rule', () => {
  const m = intMatrix(1, 5, Int32Array.from([0x31, -0x1e, 0x20, 5, 0x7c]));
  // subwords: 2, 2, 1, 1, 2 = 8; cheapest changes: 0x31→0x30 (1), −0x1e→−0x20 (2), 0x7c→0x70 (12; 0x80 overflows), 5→0 (5), 0x20→0 (32)
  const r = pruneSubwords(m, { fraction: 0.375 });
  assert.equal(r.subwordsBefore, 8);
  assert.deepEqual([...r.matrix.values], [0x30, -0x20, 0x20, 0, 0x7c]);
  assert.equal(r.subwordsAfter, 5);
  assert.equal(r.weightsZeroed, 1);
  const t = pruneSubwords(m, { fraction: 0.25, rounding: 'truncate' });
  assert.deepEqual([...t.matrix.values], [0x30, -0x1e, 0x20, 0, 0x7c]);
  assert.equal(t.subwordsAfter, nonzeroSubwords(t.matrix));
});

test('magnitude masks per layer and global, N:M masks, cubic schedule', () => {
  const rng = new Rng(1);
  const a = Float32Array.from({ length: 100 }, () => rng.normal());
  const b = Float32Array.from({ length: 300 }, () => rng.normal() * 3);
  const [ma, mb] = magnitudeMasks([a, b], 0.5, 'layer');
  assert.equal(maskSparsity(ma), 0.5);
  assert.equal(maskSparsity(mb), 0.5);
  const [ga, gb] = magnitudeMasks([a, b], 0.5, 'global');
  assert.equal((maskSparsity(ga) * 100 + maskSparsity(gb) * 300) / 400, 0.5);
  assert.ok(maskSparsity(ga) > maskSparsity(gb));
  const m1 = magnitudeMask(Float32Array.from([3, -1, 0.5, -4]), 0.5);
  assert.deepEqual([...m1], [1, 0, 0, 1]);
  // 2:4 along the reduction axis of a 6×2 weight (last group of 2 keeps 1)
  const w = Float32Array.from([1, -9, 2, 8, -3, 7, 4, 6, 5, 1, 6, 2]);
  assert.deepEqual([...nmMask(w, 6, 2, 2, 4)], [0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1]);
  const s = { initialSparsity: 0, finalSparsity: 0.9, startStep: 0, endStep: 10 };
  assert.equal(cubicSparsity(s, 0), 0);
  assert.equal(cubicSparsity(s, 10), 0.9);
  assert.equal(cubicSparsity(s, 20), 0.9);
  assert.ok(Math.abs(cubicSparsity(s, 5) - 0.9 * (1 - 0.125)) < 1e-12);
});

test('synthetic weights: seeded, 8-bit, at the requested sparsity', () => {
  const a = syntheticWeights({ rows: 20, cols: 30, sparsity: 0.8, seed: 7 });
  const b = syntheticWeights({ rows: 20, cols: 30, sparsity: 0.8, seed: 7 });
  assert.ok(matricesEqual(a, b));
  assert.ok(Math.abs(sparsityOf(a) - 0.8) < 1e-9);
  assert.ok(a.values.every((v) => v >= -127 && v <= 127));
  assert.ok(a.values.some((v) => Math.abs(v) === 127));
});
