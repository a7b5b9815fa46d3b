import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataError } from '../../src/core/errors.js';
import type { Progress } from '../../src/core/progress.js';
import { type CatalogEntry, downloadFile, fetchDataset, loadDataset } from '../../src/data/index.js';
import { idxBytes, patternImages, patternLabels, tempDir } from './fixtures.js';

/** A deterministic, incompressible-enough payload. */
function payload(n: number, salt: number): Uint8Array {
  const a = new Uint8Array(n);
  let x = 2463534242 ^ salt;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = x & 255;
  }
  return a;
}
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

const FILE = payload(300_000, 1);
const files = new Map<string, Uint8Array>([['data.bin', FILE]]);
interface Seen {
  path: string;
  range: string | undefined;
}
const seen: Seen[] = [];
const flakyCount = new Map<string, number>();

/**
 * Routes: /good/<f> (Range supported), /norange/<f> (ignores Range), /bad/<f> (wrong bytes),
 * /trunc/<f> (always cut halfway), /flaky/<f> (first request cut halfway, then Range works), /redirect/<f>.
 */
const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const [, route, name] = url.pathname.split('/');
  seen.push({ path: url.pathname, range: req.headers.range });
  const body = files.get(name ?? '');
  if (!body) {
    res.writeHead(404).end('not found');
    return;
  }
  const cut = (): void => {
    res.writeHead(200, { 'content-length': String(body.length) });
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
  };
  const serveRange = (): void => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-length': String(body.length - start), 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  };
  switch (route) {
    case 'good':
      serveRange();
      return;
    case 'norange':
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
      return;
    case 'bad': {
      const wrong = new Uint8Array(body);
      wrong[1000] ^= 0xff;
      res.writeHead(200, { 'content-length': String(wrong.length) }).end(wrong);
      return;
    }
    case 'trunc':
      cut();
      return;
    case 'flaky': {
      const k = flakyCount.get(name) ?? 0;
      flakyCount.set(name, k + 1);
      if (k === 0) cut();
      else serveRange();
      return;
    }
    case 'redirect':
      res.writeHead(302, { location: `/good/${name}` }).end();
      return;
    default:
      res.writeHead(404).end();
  }
});

let base = '';
const tmp = tempDir('accelab-dl-');
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  tmp.cleanup();
});
let n = 0;
const fresh = (): string => {
  const d = join(tmp.dir, `c${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const want = { size: FILE.length, sha256: sha256(FILE), md5: md5(FILE), timeoutMs: 5000 };

function recorder(): Progress & { total: number; ticked: number } {
  const p = {
    total: 0,
    ticked: 0,
    start(_l: string, total: number) {
      p.total = total;
      p.ticked = 0;
    },
    tick(k = 1) {
      p.ticked += k;
    },
    stop() {},
  };
  return p;
}

describe('downloader against a local HTTP server', () => {
  test('good file: verified, written atomically, progress reaches the total', async () => {
    const d = fresh();
    const dest = join(d, 'data.bin');
    const progress = recorder();
    const r = await downloadFile(`${base}/good/data.bin`, dest, { ...want, progress });
    assert.deepEqual(new Uint8Array(readFileSync(dest)), FILE);
    assert.equal(r.sha256, want.sha256);
    assert.equal(r.resumed, false);
    assert.equal(existsSync(`${dest}.part`), false);
    assert.equal(progress.total, FILE.length);
    assert.equal(progress.ticked, FILE.length);
  });

  test('redirects are followed', async () => {
    const dest = join(fresh(), 'data.bin');
    await downloadFile(`${base}/redirect/data.bin`, dest, want);
    assert.equal(statSync(dest).size, FILE.length);
  });

  test('bad checksum: DataError naming the file, nothing left behind', async () => {
    const dest = join(fresh(), 'data.bin');
    await assert.rejects(downloadFile(`${base}/bad/data.bin`, dest, want), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.match(e.message, /data\.bin: checksum mismatch: sha256/);
      return true;
    });
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(`${dest}.part`), false);
    // md5 only (as published by the data-set authors) is checked too.
    await assert.rejects(downloadFile(`${base}/bad/data.bin`, dest, { md5: want.md5 }), /checksum mismatch: md5/);
  });

  test('404: DataError', async () => {
    const dest = join(fresh(), 'nope.bin');
    await assert.rejects(downloadFile(`${base}/good/nope.bin`, dest, {}), (e: unknown) => e instanceof DataError && /HTTP 404/.test(e.message));
    assert.equal(existsSync(dest), false);
  });

  test('truncated transfer: DataError after the retries, the .part is kept for a later resume', async () => {
    const dest = join(fresh(), 'data.bin');
    const before = seen.length;
    await assert.rejects(downloadFile(`${base}/trunc/data.bin`, dest, { ...want, retries: 1 }), (e: unknown) => e instanceof DataError && /truncated transfer/.test(e.message));
    assert.equal(existsSync(dest), false);
    assert.equal(statSync(`${dest}.part`).size, FILE.length / 2);
    assert.equal(seen.length - before, 2, 'one retry');
    assert.equal(seen[seen.length - 1].range, `bytes=${FILE.length / 2}-`, 'the retry asked for the rest');
  });

  test('resume after interruption: a second run continues the .part with a Range request', async () => {
    files.set('r1.bin', FILE);
    const dest = join(fresh(), 'r1.bin');
    await assert.rejects(downloadFile(`${base}/flaky/r1.bin`, dest, { ...want, retries: 0 }), /truncated transfer/);
    assert.equal(statSync(`${dest}.part`).size, FILE.length / 2);
    const r = await downloadFile(`${base}/flaky/r1.bin`, dest, want);
    assert.equal(r.resumed, true);
    assert.equal(seen[seen.length - 1].range, `bytes=${FILE.length / 2}-`);
    assert.deepEqual(new Uint8Array(readFileSync(dest)), FILE);
    // In-process: one call survives a cut by resuming.
    files.set('r2.bin', FILE);
    const dest2 = join(fresh(), 'r2.bin');
    const r2 = await downloadFile(`${base}/flaky/r2.bin`, dest2, want);
    assert.equal(r2.requests, 2);
    assert.equal(r2.resumed, true);
    assert.equal(sha256(readFileSync(dest2)), want.sha256);
  });

  test('a server without Range support makes the download restart cleanly', async () => {
    const dest = join(fresh(), 'data.bin');
    writeFileSync(`${dest}.part`, FILE.subarray(0, 1000));
    const r = await downloadFile(`${base}/norange/data.bin`, dest, want);
    assert.equal(r.resumed, false);
    assert.deepEqual(new Uint8Array(readFileSync(dest)), FILE);
    // A stale .part longer than the file gets 416 and restarts too.
    const dest2 = join(fresh(), 'data.bin');
    writeFileSync(`${dest2}.part`, payload(FILE.length + 10, 9));
    await downloadFile(`${base}/good/data.bin`, dest2, want);
    assert.equal(sha256(readFileSync(dest2)), want.sha256);
  });
});

describe('fetchDataset with an overridden catalog entry', () => {
  const train = idxBytes([6, 28, 28], patternImages(6, 784));
  const trainL = idxBytes([6], patternLabels(6));
  const testI = idxBytes([4, 28, 28], patternImages(4, 784));
  const testL = idxBytes([4], patternLabels(4));
  const entry: CatalogEntry = {
    name: 'mnist',
    title: 'test',
    format: 'idx',
    homepage: '',
    baseUrls: [],
    files: [
      { role: 'train-images', name: 'train-images-idx3-ubyte', size: train.length, sha256: sha256(train) },
      { role: 'train-labels', name: 'train-labels-idx1-ubyte', size: trainL.length, sha256: sha256(trainL) },
      { role: 'test-images', name: 't10k-images-idx3-ubyte', size: testI.length, md5: md5(testI) },
      { role: 'test-labels', name: 't10k-labels-idx1-ubyte', size: testL.length, sha256: sha256(testL) },
    ],
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: [],
    trainCount: 6,
    testCount: 4,
  };

  test('downloads every file into <data-dir>/<name>, then loads; a second fetch finds them present', async () => {
    files.set('train-images-idx3-ubyte', train);
    files.set('train-labels-idx1-ubyte', trainL);
    files.set('t10k-images-idx3-ubyte', testI);
    files.set('t10k-labels-idx1-ubyte', testL);
    const d = fresh();
    const env = { ACCELAB_DATA: '', XDG_CACHE_HOME: join(d, 'cache') } as NodeJS.ProcessEnv;
    const r = await fetchDataset('mnist', { entry, baseUrl: `${base}/good/`, dataDir: d, env });
    assert.equal(r.dir, join(d, 'mnist'));
    assert.deepEqual(
      r.files.map((f) => f.status),
      ['downloaded', 'downloaded', 'downloaded', 'downloaded'],
    );
    const ds = await loadDataset('mnist', { dataDir: d, env });
    assert.equal(ds.train.count, 6);
    assert.deepEqual(ds.test.images, patternImages(4, 784));
    const again = await fetchDataset('mnist', { entry, baseUrl: `${base}/good/`, dataDir: d, env });
    assert.ok(again.files.every((f) => f.status === 'present'));
    // Default target without --data-dir: the user cache folder.
    const c = await fetchDataset('mnist', { entry, baseUrl: `${base}/good/`, env });
    assert.equal(c.dir, join(d, 'cache', 'accelab', 'mnist'));
  });

  test('the real catalog entry rejects a file whose checksum differs from the official one', async () => {
    files.set('train-images-idx3-ubyte.gz', payload(9912422 % 100000, 3));
    const d = fresh();
    await assert.rejects(
      fetchDataset('mnist', { baseUrl: `${base}/good/`, dataDir: d }),
      (e: unknown) => e instanceof DataError && /train-images-idx3-ubyte\.gz: size mismatch/.test(e.message),
    );
  });

  test('CLI: `accelab data fetch` exits 2 with one line on 404 and on a bad checksum', async () => {
    const run = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, ['dist/src/cli/main.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        p.on('close', (code) => resolve({ code, stderr }));
      });
    if (!existsSync('dist/src/cli/main.js')) {
      assert.fail('dist/src/cli/main.js missing: run the tests from the project root after building');
    }
    const d = fresh();
    const r404 = await run(['data', 'fetch', 'fashion-mnist', '--data-dir', d, '--base-url', `${base}/missing/`]);
    assert.equal(r404.code, 2);
    assert.match(r404.stderr, /^error: .*HTTP 404.*\n$/);
    const rbad = await run(['data', 'fetch', 'mnist', '--data-dir', d, '--base-url', `${base}/good/`]);
    assert.equal(rbad.code, 2);
    assert.match(rbad.stderr, /^error: .*train-images-idx3-ubyte\.gz: size mismatch.*\n$/);
  });
});
