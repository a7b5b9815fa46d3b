/** Integration tests on the real data sets; each skips with a message when its data is absent. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CATALOG, NORMALIZATION, channelStats, classHistogram, findDataset, hashFile, loadDataset, partition, batches } from '../../src/data/index.js';

const fashion = findDataset('fashion-mnist');
const cifar = findDataset('cifar10-subset');

describe('real data', () => {
  test('Fashion-MNIST: official split, 6,000/1,000 per class, pixel statistics, fits in 80 MB', {
    skip: fashion ? false : 'Fashion-MNIST not found: `apt-get install dataset-fashion-mnist` or `accelab data fetch fashion-mnist` to run this test',
  }, async () => {
    const ds = await loadDataset('fashion-mnist');
    assert.equal(ds.train.count, 60000);
    assert.equal(ds.test.count, 10000);
    assert.deepEqual(classHistogram(ds.train.labels, 10), new Array(10).fill(6000));
    assert.deepEqual(classHistogram(ds.test.labels, 10), new Array(10).fill(1000));
    const bytes = [ds.train.images, ds.train.labels, ds.test.images, ds.test.labels];
    // No hidden copies: every array owns exactly its buffer, and together they stay under 80 MB.
    for (const a of bytes) assert.equal(a.buffer.byteLength, a.byteLength);
    assert.ok(bytes.reduce((s, a) => s + a.byteLength, 0) < 80e6);
    const st = channelStats(ds.train, ds.shape);
    assert.ok(Math.abs(st.mean[0] - NORMALIZATION['fashion-mnist'].mean[0]) < 0.005, `mean ${st.mean[0]}`);
    assert.ok(Math.abs(st.std[0] - NORMALIZATION['fashion-mnist'].std[0]) < 0.005, `std ${st.std[0]}`);
    const p = partition(ds.train.labels, 10, { method: 'balanced', clients: 10, seed: 1 });
    for (const h of p.histograms) assert.deepEqual(h, new Array(10).fill(600));
    const first = batches(ds.train, ds.shape, { batchSize: 64, seed: 1 }).next();
    assert.equal(first.done, false);
    assert.equal(first.value?.x.length, 64 * 784);
  });

  test('CIFAR-10 subset: found via ../shared/datasets, checksum, 1,000 per class, HWC pixels', {
    skip: cifar ? false : 'CIFAR-10 subset not found: it is expected at ../shared/datasets/cifar-10-subset-binary.tar.gz from the project root',
  }, async () => {
    assert.ok(cifar);
    if (cifar.layout === 'archive') {
      const h = await hashFile(cifar.files.archive);
      assert.equal(h.sha256, CATALOG['cifar10-subset'].files[0].sha256);
    }
    const ds = await loadDataset('cifar10-subset');
    assert.equal(ds.train.count, 10000);
    assert.equal(ds.test.count, 10000);
    assert.deepEqual(classHistogram(ds.train.labels, 10), new Array(10).fill(1000));
    assert.deepEqual(classHistogram(ds.test.labels, 10), new Array(10).fill(1000));
    assert.deepEqual(ds.classNames, CATALOG.cifar10.classNames);
    const st = channelStats(ds.test, ds.shape);
    // Decoded from a JPEG copy: statistics close to (not equal to) the official test set's.
    for (const [k, m] of st.mean.entries()) assert.ok(Math.abs(m - NORMALIZATION.cifar10.mean[k]) < 0.03, `channel ${k} mean ${m}`);
    // HWC order: neighbouring values within a pixel (R,G,B) correlate far more than values 1,024 apart would if planar.
    let near = 0;
    let far = 0;
    for (let i = 0; i < 3072 * 200; i += 3) {
      near += Math.abs(ds.train.images[i] - ds.train.images[i + 1]);
      far += Math.abs(ds.train.images[i] - ds.train.images[(i + 1537) % (3072 * 200)]);
    }
    assert.ok(near < far * 0.6, `R-G difference ${near} vs unrelated ${far}`);
  });
});
