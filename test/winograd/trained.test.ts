import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { runWinograd } from '../../src/experiments/winograd.js';
import { saveModel } from '../../src/nn/checkpoint.js';
import { winogradSection } from '../../src/report/sections/winograd.js';
import { predictWith } from '../../src/winograd/model.js';
import { relativeError } from '../../src/winograd/tensor.js';
import { buildLargeKernelCnn, convFilterBanks, loadTrainedFilters, trainedExtraFilters } from '../../src/winograd/trained.js';

test('the 9×9 large-kernel CNN (seeded random weights) gives the same logits and predictions with every conv algorithm', async () => {
  await initEngine('wasm');
  const model = buildLargeKernelCnn({ kernel: 9, seed: 3 });
  const conv = model.layers.filter((l) => l.getClassName() === 'Conv2D');
  assert.equal(conv.length, 2);
  for (const l of conv) assert.deepEqual((l.getWeights()[0].shape as number[]).slice(0, 2), [9, 9]);
  const x = tf.randomNormal([5, 28, 28, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  const base = model.predict(x) as tf.Tensor;
  const ref = base.dataSync();
  const refLabels = Array.from(base.argMax(-1).dataSync());
  for (const alg of ['direct', 'winograd', 'nested', 'auto'] as const) {
    const y = predictWith(model, x, alg);
    assert.deepEqual(y.shape, base.shape);
    const e = relativeError(y.dataSync(), ref);
    assert.ok(e.maxRel < 1e-4, `${alg}: logits max rel err ${e.maxRel}`);
    assert.deepEqual(Array.from(y.argMax(-1).dataSync()), refLabels, alg);
    y.dispose();
  }
  tf.dispose([x, base]);
  model.dispose();
});

test('trained-filter banks: every channel pair of every conv layer, in HWIO order, survive a checkpoint and feed the error study', async () => {
  await initEngine('wasm');
  const model = buildLargeKernelCnn({ kernel: 7, filters: [2, 3], inputShape: [12, 12, 1], seed: 5 });
  const banks = convFilterBanks(model);
  assert.deepEqual(
    banks.map((b) => [b.layer, b.kernel, b.cin, b.cout, b.filter.shape.join('x')]),
    [
      ['conv1', 7, 1, 2, '7x7x1x2'],
      ['conv2', 7, 2, 3, '7x7x1x6'],
    ],
  );
  // element (p, q, ci, o) of the layer kernel is single-channel filter ci·cout + o
  const k2 = model.getLayer('conv2').getWeights()[0];
  const w = (await k2.array()) as number[][][][];
  const f = banks[1].filter;
  for (const [p, q, ci, o] of [
    [0, 0, 0, 0],
    [3, 5, 1, 2],
    [6, 1, 0, 1],
  ])
    assert.equal(f.data[(p * 7 + q) * 6 + ci * 3 + o], Math.fround(w[p][q][ci][o]));

  const dir = mkdtempSync(join(tmpdir(), 'wino-trained-'));
  try {
    await saveModel(model, dir);
    const loaded = await loadTrainedFilters(dir, { minKernel: 5 });
    assert.equal(loaded.length, 2);
    assert.deepEqual(Array.from(loaded[1].filter.data), Array.from(f.data));
    await assert.rejects(loadTrainedFilters(dir, { minKernel: 9 }), /no square Conv2D kernels/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  model.dispose();

  const run = runWinograd({
    kernels: [5, 9],
    error: { kernels: [3], filters: ['random'], formats: ['float64', 'float32'], methods: ['direct', 'ola', 'nested'], size: 10, seed: 2 },
    extraFilters: trainedExtraFilters(banks),
  });
  const r = run.errors;
  assert.ok(r);
  const trained = r.rows.filter((x) => x.filters.startsWith('trained/'));
  assert.equal(trained.length, 2 * 3 * 2);
  for (const row of trained) {
    assert.equal(row.kernel, 7);
    const bound = row.format === 'float64' ? 1e-12 : 1e-4;
    assert.ok(row.maxRel < bound && row.maxRel >= 0, `${row.filters} ${row.method} ${row.format}: ${row.maxRel}`);
  }
  // the report section pivots the trained rows: one row per (layer, method), one column per format
  const table = (winogradSection(run).tables ?? []).find((t) => t.title.startsWith('Numerical error on trained filters'));
  assert.ok(table, 'trained-filter table in the report section');
  assert.deepEqual(table.columns.slice(4), ['float64', 'float32']);
  assert.deepEqual(
    table.rows.map((row) => `${row[0]} ${row[2]}`),
    ['conv1 direct', 'conv1 ola', 'conv1 nested', 'conv2 direct', 'conv2 ola', 'conv2 nested'],
  );
  assert.equal(
    (winogradSection(runWinograd({ kernels: [5], error: { kernels: [3], formats: ['float32'], filters: ['random'], size: 6 } })).tables ?? []).some((t) =>
      t.title.includes('trained'),
    ),
    false,
  );
});
