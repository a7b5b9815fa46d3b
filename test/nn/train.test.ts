import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { ConfigError } from '../../src/core/errors.js';
import { makeSynthetic } from '../../src/data/synthetic.js';
import type { Dataset } from '../../src/data/types.js';
import { createModel } from '../../src/nn/models.js';
import { evaluate, normalizationFor, train, type TrainOptions } from '../../src/nn/train.js';

let data: Dataset;

before(async () => {
  await initEngine('wasm');
  // 10 classes, 60 train / 20 test images each; classes 2, 4, 6 confusable by construction.
  data = makeSynthetic({ kind: 'gray', trainPerClass: 60, testPerClass: 20, seed: 3 });
});

function opts(over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    dataset: data,
    model: createModel('mlp-300-100', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }),
    epochs: 3,
    optimizer: 'adam',
    lr: 1e-3,
    batchSize: 32,
    seed: 7,
    ...over,
  };
}

test('training learns the synthetic task, reports per-epoch metrics and leaks no tensors', () => {
  const o = opts();
  const before = tf.memory().numTensors;
  const r = train(o);
  assert.equal(r.kind, 'train');
  assert.equal(r.epochs.length, 3);
  assert.equal(r.tensorLeak, 0);
  // The model's own weights are all that stays alive.
  assert.equal(tf.memory().numTensors, before);
  // Far above chance (10 %) on held-out data, and the loss falls.
  assert.ok(r.testAccuracy > 0.5, `test accuracy ${r.testAccuracy}`);
  assert.ok(r.epochs[2].trainLoss < r.epochs[0].trainLoss, 'train loss falls');
  for (const e of r.epochs) {
    assert.ok(e.testAccuracy !== null && e.confusion !== null && e.perClassAccuracy !== null);
    const total = e.confusion.flat().reduce((a, b) => a + b, 0);
    assert.equal(total, data.test.count);
    const diag = e.confusion.reduce((a, row, i) => a + row[i], 0);
    assert.equal(diag / total, e.testAccuracy);
    assert.equal(e.perClassAccuracy.length, 10);
  }
  assert.equal(r.final.accuracy, r.testAccuracy);
  assert.ok(r.curve.length > 0 && r.curve[r.curve.length - 1].epoch === 3);
  // Plain JSON: survives a round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  o.model.dispose();
});

test('same seed, same result; a different seed gives a different run', () => {
  const a = opts({ epochs: 1 });
  const b = opts({ epochs: 1 });
  const c = opts({ epochs: 1, seed: 8 });
  const ra = train(a);
  const rb = train(b);
  const rc = train(c);
  assert.equal(ra.epochs[0].trainLoss, rb.epochs[0].trainLoss);
  assert.deepEqual(ra.final.confusion, rb.final.confusion);
  assert.notEqual(ra.epochs[0].trainLoss, rc.epochs[0].trainLoss);
  for (const x of [a, b, c]) x.model.dispose();
});

test('sgd with momentum, cosine schedule, weight decay and augmentation run', () => {
  const o = opts({ epochs: 2, optimizer: 'sgd', lr: 0.02, lrSchedule: 'cosine', weightDecay: 5e-4, augment: true });
  const r = train(o);
  assert.equal(r.tensorLeak, 0);
  assert.ok(r.epochs[1].lr < r.epochs[0].lr, 'cosine schedule lowers the rate');
  assert.ok(r.testAccuracy > 0.2, `test accuracy ${r.testAccuracy}`);
  o.model.dispose();
});

test('evaluation after the last epoch only', () => {
  const o = opts({ epochs: 2, evalEveryEpoch: false });
  const r = train(o);
  assert.equal(r.epochs[0].testAccuracy, null);
  assert.equal(r.epochs[0].confusion, null);
  assert.equal(r.epochs[1].testAccuracy, r.testAccuracy);
  o.model.dispose();
});

test('evaluate agrees with the training loop on the final model', () => {
  const o = opts({ epochs: 1 });
  const r = train(o);
  const ev = evaluate(o.model, data.test, data, normalizationFor(data), { batchSize: 7 });
  assert.deepEqual(ev.confusion, r.final.confusion);
  assert.ok(Math.abs(ev.loss - r.final.loss) < 1e-4);
  o.model.dispose();
});

test('bad options are named', () => {
  const o = opts();
  assert.throws(
    () => train({ ...o, epochs: 0 }),
    (e: unknown) => e instanceof ConfigError && /epochs/.test((e as Error).message),
  );
  assert.throws(() => train({ ...o, lr: -1 }), /lr/);
  const rgb = createModel('mlp-300-100', { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  assert.throws(() => train({ ...o, model: rgb }), /expects inputs 32×32×3/);
  rgb.dispose();
  o.model.dispose();
});
