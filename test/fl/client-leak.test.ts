/**
 * Client jobs hold no tensors after they return: the tensor count stays flat over 100 local-training
 * jobs (momentum SGD, whose learning-rate scalar tfjs 4.22 does not free itself; Adam; and jobs
 * with the partial-KD term), on a tiny synthetic task.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { type LocalFitInput, type TrainOptions, localFit } from '../../src/fl/client.js';
import { parseFlConfig } from '../../src/fl/config.js';
import { initialWeights, taskSpecOf } from '../../src/fl/run.js';
import { prepareTask } from '../../src/fl/task.js';

before(async () => {
  await initEngine('cpu');
});

test('the tensor count stays flat over 100 client jobs', async () => {
  const cfg = parseFlConfig({ dataset: 'fl-blobs', model: 'fl-mlp', clients: 4, trainLimit: 200, testLimit: 50, valPerClass: 2, seed: 1 });
  const task = await prepareTask(taskSpecOf(cfg));
  const weights = initialWeights(task, 'fl-mlp', 10, 1);
  const expert = initialWeights(task, 'fl-mlp', 2, 2);
  const optimizers: TrainOptions[] = [
    { epochs: 1, batchSize: 16, optimizer: 'sgd', lr: 0.05, momentum: 0.9 },
    { epochs: 1, batchSize: 16, optimizer: 'sgd', lr: 0.05, momentum: 0 },
    { epochs: 1, batchSize: 16, optimizer: 'adam', lr: 0.01, momentum: 0 },
  ];
  const job = (k: number): LocalFitInput => ({
    task,
    clientId: k % 4,
    seed: k,
    weights,
    train: optimizers[k % 3],
    model: 'fl-mlp',
    kd:
      k % 2
        ? { groups: [[0, 6]], weak: [6], triggerOn: 'group', experts: [expert], expertModel: 'fl-mlp', temperature: 2, lambda: 1, trigger: 'always', expertGate: 'expert-correct' }
        : undefined,
  });
  // The first jobs build and cache the models (their weights are tensors that stay): count after them.
  for (let k = 0; k < 6; k++) await localFit(job(k));
  const before = tf.memory().numTensors;
  for (let k = 0; k < 100; k++) await localFit(job(k));
  assert.equal(tf.memory().numTensors - before, 0, 'tensors left behind by 100 client jobs');
});
