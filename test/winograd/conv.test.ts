import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { type ConvAlgorithm, conv2d } from '../../src/winograd/conv.js';
import { type Padding, randomTensor, relativeError } from '../../src/winograd/tensor.js';

function naive(x: Float64Array, xs: number[], w: Float64Array, ws: number[], stride: number, padding: Padding) {
  // textbook loop, independent of the library's padding helper
  const [n, h, wd, c] = xs;
  const [k, , , co] = ws;
  const oh = padding === 'same' ? Math.ceil(h / stride) : Math.floor((h - k) / stride) + 1;
  const ow = padding === 'same' ? Math.ceil(wd / stride) : Math.floor((wd - k) / stride) + 1;
  const pt = padding === 'same' ? Math.floor(Math.max((oh - 1) * stride + k - h, 0) / 2) : 0;
  const pl = padding === 'same' ? Math.floor(Math.max((ow - 1) * stride + k - wd, 0) / 2) : 0;
  const out = new Float64Array(n * oh * ow * co);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let p = 0; p < k; p++)
            for (let q = 0; q < k; q++) {
              const y = i * stride + p - pt;
              const xx = j * stride + q - pl;
              if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
              for (let ci = 0; ci < c; ci++) s += x[((b * h + y) * wd + xx) * c + ci] * w[((p * k + q) * c + ci) * co + o];
            }
          out[((b * oh + i) * ow + j) * co + o] = s;
        }
  return { out, shape: [n, oh, ow, co] };
}

const cases: { k: number; h: number; w: number; c: number; co: number; n: number; stride: number; padding: Padding }[] = [
  { k: 1, h: 5, w: 4, c: 2, co: 3, n: 1, stride: 1, padding: 'same' },
  { k: 3, h: 7, w: 8, c: 3, co: 2, n: 2, stride: 1, padding: 'same' },
  { k: 3, h: 9, w: 6, c: 2, co: 2, n: 1, stride: 2, padding: 'valid' },
  { k: 4, h: 8, w: 9, c: 1, co: 2, n: 1, stride: 2, padding: 'same' },
  { k: 5, h: 11, w: 10, c: 2, co: 3, n: 1, stride: 1, padding: 'valid' },
  { k: 5, h: 9, w: 9, c: 2, co: 2, n: 2, stride: 2, padding: 'same' },
  { k: 7, h: 12, w: 13, c: 2, co: 2, n: 1, stride: 1, padding: 'same' },
  { k: 9, h: 14, w: 12, c: 2, co: 2, n: 1, stride: 1, padding: 'same' },
  { k: 11, h: 13, w: 13, c: 1, co: 2, n: 1, stride: 2, padding: 'valid' },
  { k: 13, h: 15, w: 14, c: 1, co: 1, n: 1, stride: 1, padding: 'same' },
];

test('direct, im2col, OLA and nested (both policies) agree with a textbook loop in float64 to 1e-9', () => {
  const rng = new Rng(7);
  for (const cs of cases) {
    const x = randomTensor(Float64Array, [cs.n, cs.h, cs.w, cs.c], rng);
    const w = randomTensor(Float64Array, [cs.k, cs.k, cs.c, cs.co], rng);
    const ref = naive(x.data, x.shape, w.data, w.shape, cs.stride, cs.padding);
    const runs: [string, ConvAlgorithm, object][] = [
      ['direct', 'direct', {}],
      ['im2col', 'im2col', {}],
      ['ola m=3', 'ola', { m: 3 }],
      ['ola m=2', 'ola', { m: 2 }],
      ['nested pure3', 'nested', { nested: { policy: 'pure3' } }],
      ['nested pure3 m1=2', 'nested', { nested: { policy: 'pure3', m1: 2 } }],
      ['nested mixed', 'nested', { nested: { policy: 'mixed' } }],
    ];
    for (const [label, alg, o] of runs) {
      const y = conv2d(x, w, alg, { stride: cs.stride, padding: cs.padding, ...o });
      assert.deepEqual(y.shape, ref.shape, `${label} shape for ${JSON.stringify(cs)}`);
      const e = relativeError(y.data, ref.out);
      assert.ok(e.maxRel <= 1e-9, `${label} k=${cs.k} stride=${cs.stride} ${cs.padding}: rel err ${e.maxRel}`);
    }
  }
});

test('single-tile Winograd F(m, K) is exact in float64 for small K (large K is the numerical problem nesting avoids)', () => {
  const rng = new Rng(11);
  for (const [k, m, stride] of [
    [2, 2, 1],
    [3, 2, 1],
    [3, 4, 2],
    [5, 3, 1],
    [6, 2, 2],
  ] as const) {
    const x = randomTensor(Float64Array, [1, 10, 9, 2], rng);
    const w = randomTensor(Float64Array, [k, k, 2, 2], rng);
    const ref = naive(x.data, x.shape, w.data, w.shape, stride, 'same');
    const y = conv2d(x, w, 'winograd', { m, stride });
    assert.ok(relativeError(y.data, ref.out).maxRel <= 1e-9, `F(${m},${k})`);
  }
});

test('float32 tensors give float32 results close to float64', () => {
  const rng = new Rng(3);
  const x = randomTensor(Float32Array, [1, 12, 12, 3], rng);
  const w = randomTensor(Float32Array, [9, 9, 3, 2], rng);
  const ref = naive(Float64Array.from(x.data), x.shape, Float64Array.from(w.data), w.shape, 1, 'same');
  const y = conv2d(x, w, 'nested', {});
  assert.ok(y.data instanceof Float32Array);
  assert.ok(relativeError(y.data, ref.out).maxRel < 1e-4);
});
