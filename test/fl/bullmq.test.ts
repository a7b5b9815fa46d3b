/**
 * BullMQ on Redis, end to end: two `accelab fl worker` processes serve a federated run; the one
 * holding a job in round 2 is killed (SIGKILL) mid-job. Its job stalls, is retried on the other
 * worker, and the run ends with the same final model as an in-process run without faults.
 * Needs Redis at $ACCELAB_REDIS_URL (CI's .ci/run starts one); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Job, Queue, QueueEvents } from 'bullmq';
import { initEngine } from '../../src/core/engine.js';
import { parseFlConfig } from '../../src/fl/config.js';
import { BullmqExecutor, parseRedisUrl, redisReachable } from '../../src/fl/executors/bullmq.js';
import { InProcessExecutor } from '../../src/fl/executors/inprocess.js';
import { closeStores } from '../../src/fl/job.js';
import { runFederated } from '../../src/fl/run.js';

const url = process.env.ACCELAB_REDIS_URL;
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function startWorker(name: string, queue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'fl', 'worker', '--redis', url!, '--queue', queue, '--lock-ms', '1500', '--name', name, '--backend', 'cpu', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready"')) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => reject(new Error(`worker ${name} exited with ${code} before it was ready: ${err}`)));
  });
}

test('BullMQ: a worker killed mid-round is detected, its job retried elsewhere, same final model', { timeout: 120000 }, async (t) => {
  if (!url) {
    t.skip('ACCELAB_REDIS_URL is not set: start redis-server and set it (CI does) to run the Redis fault test');
    return;
  }
  if (!(await redisReachable(url))) {
    t.skip(`no Redis answers at ${url}: start redis-server to run the Redis fault test`);
    return;
  }
  await initEngine('cpu');
  const cfg = parseFlConfig({ dataset: 'fl-blobs', model: 'fl-mlp', clients: 3, rounds: 2, batchSize: 16, lr: 0.05, valPerClass: 10, trainLimit: 600, testLimit: 200, seed: 5 });
  const reference = await runFederated(cfg, { executor: new InProcessExecutor() });

  const queueName = `accelab-fl-test-${process.pid}-${Date.now()}`;
  const connection = parseRedisUrl(url);
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  await events.waitUntilReady();
  const workers = new Map<string, ChildProcess>();
  const ex = new BullmqExecutor({ url, queue: queueName });
  let killed = '';
  let stalled = 0;
  try {
    workers.set('wA', await startWorker('wA', queueName));
    workers.set('wB', await startWorker('wB', queueName));
    events.on('stalled', () => {
      stalled++;
    });
    events.on('active', async ({ jobId }) => {
      if (killed || !jobId.includes('-r2-')) return;
      killed = 'pending';
      const job = await Job.fromId(queue, jobId);
      const victim = job?.processedBy && workers.has(job.processedBy) ? job.processedBy : 'wA';
      workers.get(victim)!.kill('SIGKILL');
      killed = victim;
    });
    const r = await runFederated(cfg, { executor: ex, holdMs: 500 });
    assert.ok(killed === 'wA' || killed === 'wB', 'a worker was killed during round 2');
    assert.ok(stalled >= 1, 'the killed worker’s job was detected as stalled and retried');
    assert.equal(r.finalFingerprint, reference.finalFingerprint);
    assert.deepEqual(r.final.perClass, reference.final.perClass);
  } finally {
    for (const w of workers.values()) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
    await ex.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await closeStores();
  }
});
