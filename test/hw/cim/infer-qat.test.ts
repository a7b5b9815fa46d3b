import assert from 'node:assert/strict';
import { test } from 'node:test';

test('runInfer with qatEpochs records QAT (before/after ideal 4-bit accuracy) on a small synthetic run', async () => {
  const { runInfer } = await import('../../../src/experiments/cim.js');
  const base = {
    dataset: 'synthetic-gray',
    model: 'mlp-300-100',
    epochs: 1,
    trainLimit: 300,
    testLimit: 40,
    sweepLimit: 10,
    noiseLevels: [1],
    calibCount: 64,
    boostCalibCount: 32,
    seed: 2,
  } as const;
  const off = await runInfer(base);
  assert.equal(off.qat.ran, false);
  const on = await runInfer({ ...base, qatEpochs: 1, qatLr: 1e-3 });
  assert.equal(on.qat.ran, true);
  assert.equal(on.qat.steps, Math.ceil(300 / 64));
  assert.equal(on.qat.ideal4bitAccuracyBefore, off.ideal4bitAccuracy, 'before-QAT accuracy is the plain PTQ accuracy');
  assert.equal(on.qat.ideal4bitAccuracyAfter, on.ideal4bitAccuracy);
  assert.ok(Number.isFinite(on.qat.epochLoss[0]));
  assert.ok(Number.isFinite(on.enhanced.accuracy));
});
