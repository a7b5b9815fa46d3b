import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataError } from '../../src/core/errors.js';
import { findDataset, loadDataset, missingMessage, readCifarArchive, readCifarFolder, readIdx, searchRoots } from '../../src/data/index.js';
import {
  CIFAR_TEST_START,
  cifarLabel,
  cifarPixel,
  cifarRecords,
  IDX_NAMES,
  idxBytes,
  packCifarArchive,
  patternImages,
  patternLabels,
  tempDir,
  writeCifarFolder,
  writeIdxDataset,
} from './fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());
let n = 0;
const fresh = (): string => {
  const d = join(tmp.dir, `case-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const noEnv = { ACCELAB_DATA: '', XDG_CACHE_HOME: '/nonexistent-accelab-cache' } as NodeJS.ProcessEnv;

async function rejectsData(p: Promise<unknown>, pattern: RegExp, file?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${String(e)}`);
    assert.equal(e.exitCode, 2);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    if (file) assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    return true;
  });
}

describe('IDX reader', () => {
  test('reads gzipped and raw files identically, with exact bytes', async () => {
    for (const gzip of [true, false]) {
      const d = fresh();
      writeIdxDataset(d, { train: 30, test: 12, gzip });
      const ds = await loadDataset('fashion-mnist', { dataDir: d, env: noEnv });
      assert.equal(ds.train.count, 30);
      assert.equal(ds.test.count, 12);
      assert.deepEqual(ds.shape, [28, 28, 1]);
      assert.deepEqual(ds.train.images, patternImages(30, 784));
      assert.deepEqual(ds.train.labels, patternLabels(30));
      assert.deepEqual(ds.test.images, patternImages(12, 784));
      assert.equal(ds.classNames[6], 'Shirt');
    }
  });

  test('limit reads only a prefix', async () => {
    const d = fresh();
    writeIdxDataset(d, { train: 40, test: 15 });
    const ds = await loadDataset('fashion-mnist', { dataDir: d, env: noEnv, limit: 7 });
    assert.equal(ds.train.count, 7);
    assert.equal(ds.test.count, 7);
    assert.deepEqual(ds.train.images, patternImages(7, 784));
    assert.deepEqual(ds.test.labels, patternLabels(7));
  });

  test('finds a data set in <dir>/<name>/ and in <dir>/ itself', () => {
    const d = fresh();
    writeIdxDataset(join(d, 'mnist'));
    const loc = findDataset('mnist', { dataDir: d, env: noEnv });
    assert.ok(loc);
    assert.equal(loc.source, 'data-dir');
    assert.equal(loc.dir, join(d, 'mnist'));
    const d2 = fresh();
    writeIdxDataset(d2);
    assert.equal(findDataset('mnist', { dataDir: d2, env: noEnv })?.dir, d2);
    assert.equal(findDataset('mnist', { dataDir: fresh(), env: noEnv }), null);
  });

  test('ACCELAB_DATA is searched after --data-dir', () => {
    const a = fresh();
    const b = fresh();
    writeIdxDataset(join(a, 'mnist'));
    writeIdxDataset(join(b, 'mnist'));
    const env = { ...noEnv, ACCELAB_DATA: b };
    assert.equal(findDataset('mnist', { env })?.source, 'env');
    assert.equal(findDataset('mnist', { dataDir: a, env })?.dir, join(a, 'mnist'));
  });

  test('the user cache folder ($XDG_CACHE_HOME/accelab) comes after ACCELAB_DATA; look-up order is as documented', () => {
    const c = fresh();
    writeIdxDataset(join(c, 'accelab', 'mnist'));
    const env = { ACCELAB_DATA: '', XDG_CACHE_HOME: c } as NodeJS.ProcessEnv;
    assert.equal(findDataset('mnist', { env })?.source, 'cache');
    const roots = searchRoots('fashion-mnist', { dataDir: '/d', env: { ACCELAB_DATA: '/e', XDG_CACHE_HOME: '/c' } });
    assert.deepEqual(
      roots.map((r) => `${r.source}:${r.dir}`),
      ['data-dir:/d', 'env:/e', 'cache:/c/accelab', 'debian:/usr/share/datasets/fashion-mnist'],
    );
    const sub = searchRoots('cifar10-subset', { env: noEnv, cwd: '/w/main' });
    assert.ok(sub.some((r) => r.source === 'project' && r.dir === '/w/shared/datasets'));
  });

  test('missing data set: the message gives both ways to get it', async () => {
    const d = fresh();
    await rejectsData(loadDataset('mnist', { dataDir: d, env: noEnv }), /accelab data fetch mnist.*http:\/\/yann\.lecun\.com/);
    const m = missingMessage('fashion-mnist', { dataDir: d, env: noEnv });
    assert.match(m, /accelab data fetch fashion-mnist/);
    assert.match(m, /apt-get install dataset-fashion-mnist/);
    await rejectsData(loadDataset('no-such-set', {}), /not known/);
  });

  test('wrong magic number is named', async () => {
    const d = fresh();
    writeIdxDataset(d, { gzip: false, mutate: { [IDX_NAMES.trainImages]: (b) => Object.assign(new Uint8Array(b), { 3: 1 }) } });
    await rejectsData(loadDataset('fashion-mnist', { dataDir: d, env: noEnv }), /wrong magic number/, 'train-images-idx3-ubyte');
    const d2 = fresh();
    writeIdxDataset(d2, { mutate: { [IDX_NAMES.trainLabels]: () => gzipSync(Buffer.from('PK\u0003\u0004 not an idx file')) } });
    await rejectsData(loadDataset('fashion-mnist', { dataDir: d2, env: noEnv }), /wrong magic number/, 'train-labels-idx1-ubyte.gz');
  });

  test('truncated raw file, truncated gzip and a file cut inside its header are named', async () => {
    const d = fresh();
    writeIdxDataset(d, { gzip: false, mutate: { [IDX_NAMES.testImages]: (b) => b.subarray(0, b.length - 100) } });
    await rejectsData(loadDataset('fashion-mnist', { dataDir: d, env: noEnv }), /truncated/, 't10k-images-idx3-ubyte');
    const d2 = fresh();
    writeIdxDataset(d2, { mutate: { [IDX_NAMES.trainImages]: (b) => b.subarray(0, Math.floor(b.length / 2)) } });
    await rejectsData(loadDataset('fashion-mnist', { dataDir: d2, env: noEnv }), /truncated/, 'train-images-idx3-ubyte.gz');
    const d3 = fresh();
    writeIdxDataset(d3, { gzip: false, mutate: { [IDX_NAMES.trainLabels]: (b) => b.subarray(0, 6) } });
    await rejectsData(loadDataset('fashion-mnist', { dataDir: d3, env: noEnv }), /truncated/, 'train-labels-idx1-ubyte');
  });

  test('size mismatch: trailing bytes, label/image count and image size', async () => {
    const d = fresh();
    writeIdxDataset(d, { gzip: false, mutate: { [IDX_NAMES.trainImages]: (b) => new Uint8Array([...b, 1, 2, 3]) } });
    await rejectsData(loadDataset('fashion-mnist', { dataDir: d, env: noEnv }), /size mismatch: 3 bytes after/, 'train-images-idx3-ubyte');
    const d2 = fresh();
    writeIdxDataset(d2, { mutate: { [IDX_NAMES.trainLabels]: () => gzipSync(idxBytes([49], patternLabels(49))) } });
    await rejectsData(loadDataset('fashion-mnist', { dataDir: d2, env: noEnv }), /size mismatch: 49 labels for 50 images/, 'train-labels-idx1-ubyte.gz');
    const d3 = fresh();
    writeIdxDataset(d3, { h: 32, w: 32 });
    await rejectsData(loadDataset('fashion-mnist', { dataDir: d3, env: noEnv }), /size mismatch: images are 32×32, expected 28×28/);
  });

  test('bad label value is named with its index', async () => {
    const d = fresh();
    writeIdxDataset(d, {
      mutate: {
        [IDX_NAMES.testLabels]: (b) => {
          const raw = new Uint8Array(gunzipSync(b));
          raw[8 + 5] = 12;
          return gzipSync(raw);
        },
      },
    });
    await rejectsData(loadDataset('fashion-mnist', { dataDir: d, env: noEnv }), /bad label value 12 at index 5/, 't10k-labels-idx1-ubyte.gz');
  });

  test('readIdx reports dims and rejects an empty file', async () => {
    const d = fresh();
    const p = join(d, 'x-idx3-ubyte');
    writeFileSync(p, idxBytes([3, 2, 4], patternImages(3, 8)));
    const r = await readIdx(p, { expectDims: 3 });
    assert.deepEqual(r.dims, [3, 2, 4]);
    assert.equal(r.items, 3);
    writeFileSync(p, new Uint8Array(0));
    await rejectsData(readIdx(p), /empty/, p);
  });
});

function checkCifar(ds: Awaited<ReturnType<typeof readCifarArchive>>, train: number, test: number): void {
  assert.equal(ds.train.count, train);
  assert.equal(ds.test.count, test);
  assert.deepEqual(ds.shape, [32, 32, 3]);
  assert.equal(ds.classNames[9], 'truck');
  for (const id of [0, train - 1, Math.floor(train / 2)]) {
    assert.equal(ds.train.labels[id], cifarLabel(id));
    for (const p of [0, 1, 31, 32, 1023]) {
      for (let ch = 0; ch < 3; ch++) assert.equal(ds.train.images[id * 3072 + p * 3 + ch], cifarPixel(id, p, ch), `HWC pixel ${p} channel ${ch}`);
    }
  }
  assert.equal(ds.test.labels[test - 1], cifarLabel(CIFAR_TEST_START + test - 1));
  assert.equal(ds.test.images[(test - 1) * 3072 + 500 * 3 + 2], cifarPixel(CIFAR_TEST_START + test - 1, 500, 2));
}

describe('CIFAR-10 binary reader', () => {
  test('folder with any number of training batches, planar records become HWC', () => {
    for (const batches of [1, 3]) {
      const d = fresh();
      const folder = writeCifarFolder(d, { batches, perBatch: 12, test: 9 });
      checkCifar(readCifarFolder(folder), 12 * batches, 9);
    }
  });

  test('tar.gz archive streams to the same bytes as the folder', async () => {
    const d = fresh();
    const folder = writeCifarFolder(d, { batches: 2, perBatch: 15, test: 8 });
    const archive = join(d, 'cifar-10-binary.tar.gz');
    await packCifarArchive(d, archive);
    const a = await readCifarArchive(archive);
    checkCifar(a, 30, 8);
    const f = readCifarFolder(folder);
    assert.deepEqual(a.train.images, f.train.images);
    assert.deepEqual(a.test.labels, f.test.labels);
    const lim = await readCifarArchive(archive, { trainLimit: 20, testLimit: 3 });
    assert.equal(lim.train.count, 20);
    assert.equal(lim.test.count, 3);
    assert.deepEqual(lim.train.images, f.train.images.subarray(0, 20 * 3072));
  });

  test('loadDataset finds the archive and prefers an extracted folder', async () => {
    const d = fresh();
    const src = fresh();
    writeCifarFolder(src, { batches: 1, perBatch: 10, test: 5 });
    await packCifarArchive(src, join(d, 'cifar-10-binary.tar.gz'));
    const loc = findDataset('cifar10', { dataDir: d, env: noEnv });
    assert.equal(loc?.layout, 'archive');
    const ds = await loadDataset('cifar10', { dataDir: d, env: noEnv });
    checkCifar(ds, 10, 5);
    writeCifarFolder(d, { batches: 1, perBatch: 10, test: 5 });
    assert.equal(findDataset('cifar10', { dataDir: d, env: noEnv })?.layout, 'folder');
  });

  test('size mismatch (partial record) and bad label value are named', async () => {
    const d = fresh();
    const folder = writeCifarFolder(d, { batches: 1, perBatch: 5, mutate: { 'data_batch_1.bin': (b) => b.subarray(0, b.length - 7) } });
    assert.throws(
      () => readCifarFolder(folder),
      (e: unknown) => e instanceof DataError && /data_batch_1\.bin: size mismatch/.test(e.message),
    );
    const d2 = fresh();
    const folder2 = writeCifarFolder(d2, { batches: 1, perBatch: 5, mutate: { 'test_batch.bin': (b) => Object.assign(new Uint8Array(b), { [3073 * 2]: 10 }) } });
    assert.throws(
      () => readCifarFolder(folder2),
      (e: unknown) => e instanceof DataError && /test_batch\.bin: bad label value 10 in record 2/.test(e.message),
    );
    await packCifarArchive(d2, join(d2, 'c.tar.gz'));
    await rejectsData(readCifarArchive(join(d2, 'c.tar.gz')), /test_batch\.bin: bad label value 10/, 'c.tar.gz');
  });

  test('truncated archive, missing test batch and a non-archive are named', async () => {
    const d = fresh();
    writeCifarFolder(d, { batches: 1, perBatch: 30, test: 10 });
    const archive = join(d, 'cifar-10-binary.tar.gz');
    await packCifarArchive(d, archive);
    const bytes = readFileSync(archive);
    const cut = join(d, 'cut.tar.gz');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await rejectsData(readCifarArchive(cut), /truncated|damaged/, 'cut.tar.gz');
    const d2 = fresh();
    writeCifarFolder(d2, { batches: 1, perBatch: 4 });
    rmSync(join(d2, 'cifar-10-batches-bin', 'test_batch.bin'));
    await packCifarArchive(d2, join(d2, 'nt.tar.gz'));
    await rejectsData(readCifarArchive(join(d2, 'nt.tar.gz')), /test_batch\.bin is missing/, 'nt.tar.gz');
    const junk = join(d2, 'junk.tar.gz');
    writeFileSync(junk, gzipSync(cifarRecords(3)));
    await rejectsData(readCifarArchive(junk), /./, 'junk.tar.gz');
  });
});
