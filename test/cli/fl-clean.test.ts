/**
 * `accelab fl clean`: deletes the weight keys a killed coordinator left in Redis, keeps other keys
 * and (with --older-than) recent ones. Uses Redis database 15 of $ACCELAB_REDIS_URL so that it never
 * touches the keys of runs in progress; skipped without Redis.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { redisReachable } from '../../src/fl/executors/bullmq.js';

const MAIN = resolve('dist/src/cli/main.js');
const base = process.env.ACCELAB_REDIS_URL;

test('fl clean deletes old accelab-fl-* weight keys only', { timeout: 60_000 }, async (t) => {
  if (!base) return t.skip('ACCELAB_REDIS_URL is not set: start redis-server and set it (CI does)');
  const url = `${base.replace(/\/\d*$/, '')}/15`;
  if (!(await redisReachable(url, 2000))) return t.skip(`no Redis answers at ${url}`);
  const { Redis } = await import('ioredis');
  const r = new Redis(url);
  const tag = `${process.pid}-${Date.now()}`;
  const old = `accelab-fl-cleantest-${tag}-old`;
  const fresh = `accelab-fl-cleantest-${tag}-fresh`;
  const other = `not-accelab-${tag}`;
  try {
    await r.set(old, Buffer.alloc(1000), 'EX', 24 * 3600 - 3600); // written an hour ago
    await r.set(fresh, Buffer.alloc(10), 'EX', 24 * 3600);
    await r.set(other, 'x', 'EX', 600);
    const dry = spawnSync(process.execPath, [MAIN, 'fl', 'clean', '--redis', url, '--older-than', '1800', '--dry-run', '--json'], { encoding: 'utf8' });
    assert.equal(dry.status, 0, dry.stderr);
    assert.ok(JSON.parse(dry.stdout).keys >= 1);
    assert.equal(await r.exists(old), 1, '--dry-run deletes nothing');
    const run = spawnSync(process.execPath, [MAIN, 'fl', 'clean', '--redis', url, '--older-than', '1800', '--json'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { keys: number; bytes: number; kept: number };
    assert.ok(out.keys >= 1 && out.bytes >= 1000 && out.kept >= 1, run.stdout);
    assert.equal(await r.exists(old), 0, 'the old weight key is deleted');
    assert.equal(await r.exists(fresh), 1, 'a key younger than --older-than is kept');
    assert.equal(await r.exists(other), 1, 'keys of other programs are kept');
  } finally {
    await r.del(old, fresh, other);
    r.disconnect();
  }
});
