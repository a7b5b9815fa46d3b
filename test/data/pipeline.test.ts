import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { batches, channelStats, numBatches, toFloat } from '../../src/data/pipeline.js';
import type { Split } from '../../src/data/types.js';

function split(n: number, shape: [number, number, number], seed = 1): Split {
  const size = shape[0] * shape[1] * shape[2];
  const rng = new Rng(seed);
  const images = new Uint8Array(n * size);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % 10;
  return { images, labels, count: n };
}

/** Reference twin of the crop+flip: pad with zeros, take the window at (pad+dy, pad+dx), mirror. */
function refCropFlip(img: Uint8Array, h: number, w: number, c: number, pad: number, dy: number, dx: number, flip: boolean): Uint8Array {
  const ph = h + 2 * pad;
  const pw = w + 2 * pad;
  const padded = new Uint8Array(ph * pw * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) padded[((y + pad) * pw + x + pad) * c + k] = img[(y * w + x) * c + k];
  const out = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const xs = flip ? w - 1 - x : x;
      for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = padded[((y + pad + dy) * pw + xs + pad + dx) * c + k];
    }
  return out;
}

describe('input pipeline', () => {
  test('batches cover every example once per epoch, in a seeded order, and scale to [0,1]', () => {
    const s = split(53, [4, 4, 1]);
    const seen: number[] = [];
    let nb = 0;
    for (const b of batches(s, [4, 4, 1], { batchSize: 10, seed: 7 })) {
      nb++;
      assert.equal(b.x.length, b.size * 16);
      for (let j = 0; j < b.size; j++) {
        const i = b.indices[j];
        seen.push(i);
        assert.equal(b.y[j], s.labels[i]);
        for (let p = 0; p < 16; p++) assert.ok(Math.abs(b.x[j * 16 + p] - s.images[i * 16 + p] / 255) < 1e-6);
      }
    }
    assert.equal(nb, numBatches(53, 10));
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: 53 }, (_, i) => i),
    );
    assert.notDeepEqual(
      seen,
      Array.from({ length: 53 }, (_, i) => i),
      'shuffled',
    );
    const again = [...batches(s, [4, 4, 1], { batchSize: 10, seed: 7 })].flatMap((b) => [...b.indices]);
    assert.deepEqual(again, seen, 'same seed, same order');
    const other = [...batches(s, [4, 4, 1], { batchSize: 10, seed: 8 })].flatMap((b) => [...b.indices]);
    assert.notDeepEqual(other, seen);
    const inOrder = [...batches(s, [4, 4, 1], { batchSize: 10, shuffle: false, dropLast: true })];
    assert.equal(inOrder.length, 5);
    assert.deepEqual([...inOrder[1].indices], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  test('per-channel normalisation and channel statistics', () => {
    const s = split(20, [3, 3, 3]);
    const st = channelStats(s, [3, 3, 3]);
    const norm = { mean: st.mean, std: st.std };
    const x = toFloat(s, [3, 3, 3], { normalize: norm });
    for (let k = 0; k < 3; k++) {
      let m = 0;
      let v = 0;
      const n = 20 * 9;
      for (let i = k; i < x.length; i += 3) m += x[i];
      m /= n;
      for (let i = k; i < x.length; i += 3) v += (x[i] - m) ** 2;
      v /= n;
      assert.ok(Math.abs(m) < 1e-4, `channel ${k} mean ${m}`);
      assert.ok(Math.abs(v - 1) < 1e-3, `channel ${k} var ${v}`);
    }
    const one = [...batches(s, [3, 3, 3], { batchSize: 20, shuffle: false, normalize: norm })][0];
    assert.deepEqual(one.x, x);
    assert.throws(() => [...batches(s, [3, 3, 3], { batchSize: 4, shuffle: false, normalize: { mean: [0], std: [0] } })], ConfigError);
  });

  test('random crop (pad 4) + flip matches the pad-then-crop reference and is seeded', () => {
    const shape: [number, number, number] = [8, 8, 3];
    const s = split(12, shape, 3);
    const seed = 11;
    const got = [...batches(s, shape, { batchSize: 5, seed, augment: 'crop-flip' })];
    // Replay the draws: shuffle, then per sample (dy, dx, flip), from the same generator.
    const rng = new Rng(seed);
    const order = new Int32Array(12).map((_, i) => i);
    rng.shuffle(order);
    let flips = 0;
    let shifted = 0;
    for (const b of got) {
      for (let j = 0; j < b.size; j++) {
        const dy = rng.int(9) - 4;
        const dx = rng.int(9) - 4;
        const flip = rng.next() < 0.5;
        flips += flip ? 1 : 0;
        shifted += dy !== 0 || dx !== 0 ? 1 : 0;
        const i = b.indices[j];
        const want = refCropFlip(s.images.subarray(i * 192, (i + 1) * 192), 8, 8, 3, 4, dy, dx, flip);
        for (let p = 0; p < 192; p++) assert.ok(Math.abs(b.x[j * 192 + p] - want[p] / 255) < 1e-6, `image ${i} value ${p}`);
      }
    }
    assert.ok(flips > 0 && flips < 12, 'some flipped, some not');
    assert.ok(shifted > 0);
    const again = [...batches(s, shape, { batchSize: 5, seed, augment: 'crop-flip' })];
    assert.deepEqual(
      again.map((b) => b.x),
      got.map((b) => b.x),
    );
  });

  test('indices restrict the iteration (a federated client share); bad input is a ConfigError', () => {
    const s = split(30, [2, 2, 1]);
    const ids = [3, 7, 8, 21, 29];
    const got = [...batches(s, [2, 2, 1], { batchSize: 2, seed: 1, indices: ids })].flatMap((b) => [...b.indices]);
    assert.deepEqual(
      got.sort((a, b) => a - b),
      ids,
    );
    assert.throws(() => [...batches(s, [2, 2, 1], { batchSize: 2, seed: 1, indices: [30] })], ConfigError);
    assert.throws(() => [...batches(s, [2, 2, 1], { batchSize: 0, seed: 1 })], ConfigError);
    assert.throws(() => [...batches(s, [2, 2, 1], { batchSize: 2 })], /needs a seed/);
  });
});
