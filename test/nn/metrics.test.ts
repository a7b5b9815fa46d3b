import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addConfusion, classificationMetrics, confusionMatrix, interClassDiscrepancy, perClassAccuracy, topConfusions, weakestClasses } from '../../src/nn/metrics.js';

// Hand-made fixture, 3 classes, 10 examples.
//            true: 0 0 0 0 1 1 1 1 2 2
//            pred: 0 0 0 1 1 1 2 2 2 0
const yTrue = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2];
const yPred = [0, 0, 0, 1, 1, 1, 2, 2, 2, 0];
const names = ['cat', 'dog', 'bird'];

test('confusion matrix counts [true][pred]', () => {
  assert.deepEqual(confusionMatrix(yTrue, yPred, 3), [
    [3, 1, 0],
    [0, 2, 2],
    [1, 0, 1],
  ]);
});

test('confusion matrix rejects bad labels and length mismatch', () => {
  assert.throws(() => confusionMatrix([0, 3], [0, 1], 3), /true label 3/);
  assert.throws(() => confusionMatrix([0, 1], [0, -1], 3), /predicted label -1/);
  assert.throws(() => confusionMatrix([0], [0, 1], 3), /2 predictions/);
});

test('per-class accuracy, discrepancy and its standard deviation', () => {
  const pc = perClassAccuracy(confusionMatrix(yTrue, yPred, 3), names);
  assert.deepEqual(
    pc.map((c) => [c.className, c.correct, c.support, c.accuracy]),
    [
      ['cat', 3, 4, 0.75],
      ['dog', 2, 4, 0.5],
      ['bird', 1, 2, 0.5],
    ],
  );
  const d = interClassDiscrepancy(pc);
  assert.equal(d.discrepancy, 0.25);
  assert.ok(Math.abs(d.mean - 7 / 12) < 1e-12);
  assert.ok(Math.abs(d.std - Math.sqrt(1 / 72)) < 1e-12);
});

test('classes without examples are left out of the discrepancy', () => {
  const pc = perClassAccuracy([
    [2, 0, 0],
    [1, 1, 0],
    [0, 0, 0],
  ]);
  assert.equal(pc[2].accuracy, null);
  assert.equal(interClassDiscrepancy(pc).discrepancy, 0.5);
  assert.deepEqual(
    weakestClasses(pc, 5).map((c) => c.classIndex),
    [1, 0],
  );
});

test('weakest classes: lowest first, ties by index', () => {
  const pc = perClassAccuracy(confusionMatrix(yTrue, yPred, 3), names);
  assert.deepEqual(
    weakestClasses(pc, 2).map((c) => c.className),
    ['dog', 'bird'],
  );
});

test('top confusion pairs: by count, then true class', () => {
  const pairs = topConfusions(confusionMatrix(yTrue, yPred, 3), names, 3);
  assert.deepEqual(
    pairs.map((p) => [p.trueName, p.predictedName, p.count, p.rate]),
    [
      ['dog', 'bird', 2, 0.5],
      ['cat', 'dog', 1, 0.25],
      ['bird', 'cat', 1, 0.5],
    ],
  );
});

test('classificationMetrics puts it together; batches accumulate', () => {
  const m = classificationMetrics(yTrue, yPred, 3, names);
  assert.equal(m.numExamples, 10);
  assert.equal(m.accuracy, 0.6);
  assert.equal(m.interClassDiscrepancy, 0.25);
  assert.equal(m.weakestClasses[0].className, 'dog');
  assert.equal(m.topConfusions[0].count, 2);
  const a = confusionMatrix(yTrue.slice(0, 5), yPred.slice(0, 5), 3);
  const b = confusionMatrix(yTrue.slice(5), yPred.slice(5), 3);
  assert.deepEqual(addConfusion(a, b), m.confusion);
});

test('a perfect classifier has zero discrepancy', () => {
  const m = classificationMetrics([0, 1, 2, 2], [0, 1, 2, 2], 3);
  assert.equal(m.accuracy, 1);
  assert.equal(m.interClassDiscrepancy, 0);
  assert.equal(m.perClassAccuracyStd, 0);
  assert.deepEqual(m.topConfusions, []);
});
