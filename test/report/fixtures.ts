/** A hand-made training result (no training needed) for the report tests. */
import { Rng } from '../../src/core/rng.js';
import { metricsFromConfusion } from '../../src/nn/metrics.js';
import type { TrainResult } from '../../src/nn/train.js';

export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** A confusion matrix with 100 images per class; class `weak` is mostly confused with `weak + 1`. */
export function fakeConfusion(seed: number, weak = 6, quality = 0.9): number[][] {
  const rng = new Rng(seed);
  return CLASS_NAMES.map((_, t) => {
    const row = new Array<number>(10).fill(0);
    const right = t === weak ? Math.round(100 * (quality - 0.4)) : Math.round(100 * quality) - rng.int(5);
    row[t] = right;
    for (let k = right; k < 100; k++) row[t === weak && rng.next() < 0.7 ? (t + 1) % 10 : rng.int(10)]++;
    return row;
  });
}

export function fakeTrainResult(epochs = 3, seed = 1): TrainResult {
  const recs = Array.from({ length: epochs }, (_, i) => {
    const m = metricsFromConfusion(fakeConfusion(seed + i, 6, 0.8 + 0.05 * i), CLASS_NAMES);
    return {
      epoch: i + 1,
      lr: 1e-3,
      trainLoss: 0.6 / (i + 1),
      trainAccuracy: 0.8 + 0.04 * i,
      testLoss: 0.5 / (i + 1),
      testAccuracy: m.accuracy,
      perClassAccuracy: m.perClass.map((c) => c.accuracy),
      interClassDiscrepancy: m.interClassDiscrepancy,
      confusion: m.confusion,
      trainSeconds: 100 + i,
      evalSeconds: 5,
      imagesPerSecond: 600,
    };
  });
  const last = recs[recs.length - 1];
  const final = { ...metricsFromConfusion(last.confusion, CLASS_NAMES), loss: last.testLoss, seconds: 5 };
  return {
    kind: 'train',
    dataset: { name: 'fashion-mnist', shape: [28, 28, 1], numClasses: 10, classNames: CLASS_NAMES, trainCount: 60000, testCount: 1000 },
    model: { name: 'cnn-small', params: 421642 },
    hyper: { epochs, optimizer: 'adam', lr: 1e-3, momentum: 0.9, weightDecay: 0, lrSchedule: 'constant', batchSize: 64, seed, augment: false, evalBatchSize: 256 },
    normalization: { mean: [0.286], std: [0.353] },
    loss: 'softmax-cross-entropy',
    epochs: recs,
    curve: Array.from({ length: 30 * epochs }, (_, i) => ({ epoch: (i + 1) / 30, loss: 2 / (1 + i / 10), accuracy: 1 - 0.9 / (1 + i / 10) })),
    curveWindow: 10,
    final,
    testAccuracy: final.accuracy,
    trainSeconds: recs.reduce((a, e) => a + e.trainSeconds, 0),
    totalSeconds: 400,
    tensorLeak: 0,
  };
}
