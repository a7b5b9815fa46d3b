import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { Rng } from '../../src/core/rng.js';
import { conv2d } from '../../src/winograd/conv.js';
import { conv2dFast, disposeFast, prepareFast, runFast } from '../../src/winograd/fast.js';
import { predictWith } from '../../src/winograd/model.js';
import { randomTensor, relativeError, toFloat64 } from '../../src/winograd/tensor.js';

test('fast nested and OLA paths (engine GEMM per Winograd point) match the float64 reference twin', async () => {
  await initEngine('wasm');
  const rng = new Rng(5);
  for (const [n, h, c, co, k, stride, padding] of [
    [2, 13, 3, 4, 5, 1, 'same'],
    [1, 17, 2, 3, 9, 1, 'valid'],
    [3, 11, 4, 2, 7, 2, 'same'],
    [1, 16, 2, 2, 13, 1, 'same'],
    [1, 9, 3, 2, 3, 1, 'same'],
    // channels multiple of 4: the WebAssembly SIMD transform kernel
    [2, 12, 4, 8, 9, 1, 'same'],
    [1, 13, 8, 4, 5, 2, 'valid'],
    [2, 10, 4, 4, 3, 1, 'same'],
  ] as const) {
    const x = randomTensor(Float32Array, [n, h, h, c], rng);
    const w = randomTensor(Float32Array, [k, k, c, co], rng, 0.2);
    const ref = conv2d(toFloat64(x), toFloat64(w), 'direct', { stride, padding });
    for (const kind of ['nested', 'ola'] as const) {
      const y = conv2dFast(x, w, kind, { stride, padding });
      assert.deepEqual(y.shape, ref.shape);
      const e = relativeError(y.data, ref.data);
      assert.ok(e.maxRel < 2e-4, `${kind} k=${k} stride=${stride} ${padding}: ${e.maxRel}`);
    }
  }
  // explicit policies and chunking of the batch into several GEMM rounds
  const x = randomTensor(Float32Array, [3, 12, 12, 2], rng);
  const w = randomTensor(Float32Array, [9, 9, 2, 3], rng, 0.2);
  const ref = conv2d(toFloat64(x), toFloat64(w), 'direct', {});
  for (const nested of [
    { policy: 'pure3' as const, m1: 3 },
    { policy: 'mixed' as const, m1: 2 },
  ]) {
    const plan = prepareFast(w, 'nested', { nested, budget: 1 });
    const y = runFast(plan, x, 'same');
    disposeFast(plan);
    assert.ok(relativeError(y.data, ref.data).maxRel < 2e-4, JSON.stringify(nested));
  }
});

test('a large-kernel model predicts the same with direct, winograd (OLA) and nested convolutions', async () => {
  await initEngine('wasm');
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [16, 16, 3],
        filters: 6,
        kernelSize: 9,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }),
        biasInitializer: tf.initializers.randomNormal({ seed: 2, stddev: 0.1 }),
      }),
      tf.layers.conv2d({ filters: 4, kernelSize: 7, strides: 2, padding: 'valid', activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 4 }) }),
    ],
  });
  const x = tf.randomNormal([6, 16, 16, 3], 0, 1, 'float32', 9);
  const base = model.predict(x) as tf.Tensor;
  const ref = base.dataSync();
  const refLabels = base.argMax(-1).dataSync();
  for (const alg of ['direct', 'winograd', 'nested', 'auto'] as const) {
    const y = predictWith(model, x, alg);
    const e = relativeError(y.dataSync(), ref);
    assert.ok(e.maxAbs < 1e-4, `${alg}: ${e.maxAbs}`);
    assert.deepEqual(Array.from(y.argMax(-1).dataSync()), Array.from(refLabels), alg);
    y.dispose();
  }
  model.dispose();
});

test('the WebAssembly SIMD transform kernel matches its TypeScript twin', async () => {
  await initEngine('wasm');
  const { simdKernel, arena } = await import('../../src/winograd/simd.js');
  const k = simdKernel();
  if (!k) return; // no WebAssembly SIMD here: the TypeScript path is the only one used
  const [d, s, row] = arena(k, [12, 64, 6]);
  for (let i = 0; i < s.length; i++) s[i] = Math.sin(i);
  const ints = new Int32Array(row.buffer, row.byteOffset, 6);
  [
    [0, 2],
    [2, -0.5],
    [4, 3],
  ].forEach(([idx, v], e) => {
    ints[2 * e] = idx;
    row[2 * e + 1] = v;
  });
  k.combine(d.byteOffset, row.byteOffset, 3, s.byteOffset + 4, 12 * 4, 12);
  for (let i = 0; i < 12; i++) {
    const want = 2 * s[1 + i] - 0.5 * s[1 + 24 + i] + 3 * s[1 + 48 + i];
    assert.ok(Math.abs(d[i] - want) < 1e-5, `element ${i}: ${d[i]} vs ${want}`);
  }
  // whole fast path with and without SIMD
  const rng = new Rng(8);
  const x = randomTensor(Float32Array, [2, 14, 14, 4], rng);
  const w = randomTensor(Float32Array, [7, 7, 4, 8], rng, 0.1);
  const a = prepareFast(w, 'nested', { simd: true });
  const b = prepareFast(w, 'nested', { simd: false });
  const ya = runFast(a, x, 'same');
  const yb = runFast(b, x, 'same');
  disposeFast(a);
  disposeFast(b);
  assert.ok(relativeError(ya.data, yb.data).maxRel < 1e-5);
});
