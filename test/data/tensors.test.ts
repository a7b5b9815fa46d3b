import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { batches } from '../../src/data/pipeline.js';
import { batchToTensors } from '../../src/data/tensors.js';
import { makeSynthetic } from '../../src/data/synthetic.js';

test('batchToTensors: NHWC floats and one-hot labels', async () => {
  await initEngine('cpu');
  const ds = makeSynthetic({ kind: 'rgb', trainPerClass: 2, testPerClass: 1, seed: 2 });
  const b = batches(ds.train, ds.shape, { batchSize: 7, seed: 1 }).next().value;
  assert.ok(b);
  const { xs, ys } = batchToTensors(b, ds.shape, 10);
  assert.deepEqual(xs.shape, [7, 32, 32, 3]);
  assert.deepEqual(ys.shape, [7, 10]);
  assert.deepEqual(Array.from(await xs.data()), Array.from(b.x));
  assert.deepEqual(Array.from(await ys.argMax(-1).data()), Array.from(b.y));
  const { ys: idx } = batchToTensors(b, ds.shape, 10, { oneHot: false });
  assert.equal(idx.dtype, 'int32');
  tf.dispose([xs, ys, idx]);
});
