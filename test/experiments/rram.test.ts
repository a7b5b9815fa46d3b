import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { loadDataset } from '../../src/data/load.js';
import { silentProgress } from '../../src/core/progress.js';
import { heldOutSet, type RramQuickResult, runRram } from '../../src/experiments/rram.js';
import { rramQuickSections } from '../../src/report/sections/rram.js';
import type { Workload } from '../../src/nn/workload.js';

/** conv 3×3 (1→8, relu) on 28×28 → maxpool 4 → flatten → dense 392→10, seeded. */
function smallNet(): Workload {
  const rng = new Rng(5);
  const r = (n: number, s: number): Float32Array => new Float32Array(n).map(() => rng.normal(0, s));
  return {
    name: 'small',
    inputShape: [28, 28, 1],
    normalization: null,
    ops: [
      {
        kind: 'conv2d',
        name: 'c1',
        inShape: [28, 28, 1],
        outShape: [28, 28, 8],
        kernel: [3, 3],
        strides: [1, 1],
        padding: 'same',
        weights: r(72, 0.5),
        bias: r(8, 0.1),
        activation: 'relu',
      },
      { kind: 'maxpool', name: 'p', inShape: [28, 28, 8], outShape: [7, 7, 8], pool: [4, 4], strides: [4, 4] },
      { kind: 'flatten', name: 'f' },
      { kind: 'dense', name: 'd', inFeatures: 392, outFeatures: 10, weights: r(3920, 0.1), bias: null, activation: 'linear' },
    ],
  };
}

test('rram run: lossless keeps the predictions (same hash) and removes computation; adaptive is calibrated to its budget on held-out images', async () => {
  const ds = await loadDataset('synthetic-gray', { trainLimit: 200, testLimit: 40, seed: 1 });
  const base = { dataset: 'synthetic-gray', testLimit: 40, heldOutCount: 40, calibCount: 32, workers: 1, batchSize: 20 };
  const lossless = await runRram({ ...base, termination: 'lossless' }, undefined, ds, smallNet());
  assert.equal(lossless.kind, 'rram-run');
  assert.equal(lossless.images, 40);
  assert.ok(lossless.samePredictions);
  assert.equal(lossless.predictionsHash, lossless.baselinePredictionsHash);
  assert.equal(lossless.accuracy, lossless.baselineAccuracy);
  assert.ok(lossless.computeReduction > 0 && lossless.computeReduction < 1);
  assert.ok(lossless.energyRatio > 1);
  assert.equal(lossless.perLayer.length, 2);
  assert.equal(lossless.skippedAdaptiveFraction, 0);
  const adaptive = await runRram({ ...base, termination: 'adaptive', budget: 5 }, undefined, ds, smallNet());
  assert.ok(adaptive.calibration);
  assert.ok(adaptive.calibration.lossPoints <= 5);
  assert.deepEqual(Object.keys(adaptive.thresholds), ['c1', 'd']);
  assert.ok(adaptive.computeReduction >= lossless.computeReduction - 1e-12);
});

test('held-out calibration images: the last training images, or the last test images never overlapping the evaluated ones', async () => {
  const ds = await loadDataset('synthetic-gray', { trainLimit: 100, testLimit: 50, seed: 1 });
  const px = 28 * 28;
  const train = heldOutSet(ds, 20);
  assert.equal(train.count, 20);
  assert.deepEqual(Array.from(train.labels), Array.from(ds.train.labels.subarray(80, 100)));
  const test = heldOutSet(ds, 20, 'test', 30);
  assert.equal(test.count, 20);
  assert.equal(test.labels.length, 20);
  assert.deepEqual(Array.from(test.labels), Array.from(ds.test.labels.subarray(30, 50)));
  assert.equal(test.x.length, 20 * px);
  assert.equal(test.x[0], ds.test.images[30 * px] / 255);
  assert.throws(
    () => heldOutSet(ds, 21, 'test', 30),
    /field 'heldOutCount': 21 held-out test images and 30 evaluated ones exceed the 50 test images; lower --held-out or --test-limit/,
  );
});

test('rram run: bad input is one line on stderr and exit code 2', () => {
  const main = resolve('dist/src/cli/main.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [main, 'rram', 'run', ...args], { encoding: 'utf8' });
  for (const [args, msg] of [
    [[], /--checkpoint is required/],
    [['--checkpoint', 'x', '--termination', 'sometimes'], /--termination .*'sometimes' is invalid\. Allowed choices are none, lossless, adaptive/],
    [['--checkpoint', 'x', '--bound', 'loose'], /--bound .*'loose' is invalid/],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('rram tour step runs on a small Fashion-MNIST slice (lossless same predictions, adaptive within its budget), or says why it skipped', async () => {
  const { rramStudy } = await import('../../src/cli/studies/rram.js');
  const step = rramStudy.tour;
  assert.ok(step);
  const r = (await step.run({ outDir: '.', seed: 1, progress: silentProgress, notice: () => {}, trainLimit: 400, testLimit: 30 })) as RramQuickResult;
  assert.equal(r.kind, 'rram-quick');
  if (r.skipped !== null) {
    assert.match(r.skipped, /fashion-mnist|Fashion-MNIST/i);
    return;
  }
  assert.ok(r.lossless && r.adaptive);
  assert.equal(r.lossless.images, 30);
  assert.ok(r.lossless.samePredictions);
  assert.ok(r.lossless.computeReduction > 0);
  assert.ok(r.adaptive.calibration && r.adaptive.calibration.lossPoints <= 1);
  assert.ok(r.adaptive.computeReduction >= r.lossless.computeReduction - 1e-12);
  assert.equal(rramQuickSections(r).length, 2);
});
