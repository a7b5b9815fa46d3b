/**
 * End-to-end federated runs on the tiny synthetic `fl-blobs` set with the `fl-mlp` model on the
 * reference cpu backend: FedAvg learns, runs are deterministic, PKD with λ = 0 equals FedAvg bit
 * for bit, checkpoint + resume reaches the same final model, and the worker-thread executor
 * survives a killed thread with the same result.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initEngine } from '../../src/core/engine.js';
import { type FlConfigInput, parseFlConfig } from '../../src/fl/config.js';
import { InProcessExecutor } from '../../src/fl/executors/inprocess.js';
import { redisReachable } from '../../src/fl/executors/bullmq.js';
import { ThreadExecutor } from '../../src/fl/executors/threads.js';
import { storeFor } from '../../src/fl/job.js';
import { Interrupted, runFederated } from '../../src/fl/run.js';
import { openStore } from '../../src/fl/weights.js';

const base: FlConfigInput = { dataset: 'fl-blobs', model: 'fl-mlp', clients: 4, rounds: 6, batchSize: 16, lr: 0.05, valPerClass: 10, trainLimit: 800, testLimit: 400, seed: 3 };
let dir = '';

before(async () => {
  await initEngine('cpu');
  dir = mkdtempSync(join(tmpdir(), 'accelab-fl-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('FedAvg learns above chance, evaluates every round, and is deterministic', async () => {
  const cfg = parseFlConfig({ ...base, method: 'fedavg' });
  const a = await runFederated(cfg, { executor: new InProcessExecutor() });
  assert.equal(a.rounds.length, 6);
  assert.ok(a.rounds.every((r) => r.eval && r.eval.perClass.length === 10));
  assert.ok(a.final.accuracy > 0.5, `accuracy ${a.final.accuracy}`);
  assert.ok(a.final.interClassDiscrepancy > 0 && a.final.weak.length > 0);
  // Balanced partition: every client has the same class histogram.
  for (const h of a.histograms) assert.deepEqual(h, a.histograms[0]);
  const b = await runFederated(cfg, { executor: new InProcessExecutor() });
  assert.equal(b.finalFingerprint, a.finalFingerprint);
  const c = await runFederated(parseFlConfig({ ...base, seed: 4 }), { executor: new InProcessExecutor() });
  assert.notEqual(c.finalFingerprint, a.finalFingerprint);
});

test('PKD with λ = 0 equals FedAvg bit for bit (the KD term is computed and fires), λ = 1 differs', async () => {
  const fed = await runFederated(parseFlConfig({ ...base, method: 'fedavg' }), { executor: new InProcessExecutor() });
  const pkd0 = await runFederated(
    parseFlConfig({
      ...base,
      method: 'pkd',
      pkd: {
        warmupRounds: 3,
        expertRounds: 2,
        lambda: 0,
        trigger: 'any-weak-miss',
        triggerOn: 'group',
        groups: [
          [0, 6],
          [2, 4],
        ],
      },
    }),
    { executor: new InProcessExecutor() },
  );
  assert.equal(pkd0.finalFingerprint, fed.finalFingerprint);
  assert.deepEqual(pkd0.final.perClass, fed.final.perClass);
  const kdRounds = pkd0.rounds.filter((r) => r.phase === 'pkd');
  assert.equal(kdRounds.length, 3);
  assert.ok(
    kdRounds.every((r) => r.kdTriggered > 0),
    'the KD term must fire on some samples',
  );
  assert.equal(pkd0.pkd?.experts.length, 2);
  assert.ok(pkd0.pkd!.experts.every((e) => e.rounds === 2 && e.perRound.length === 2));
  const pkd1 = await runFederated(
    parseFlConfig({
      ...base,
      method: 'pkd',
      pkd: {
        warmupRounds: 3,
        expertRounds: 2,
        lambda: 1,
        trigger: 'any-weak-miss',
        triggerOn: 'group',
        groups: [
          [0, 6],
          [2, 4],
        ],
      },
    }),
    { executor: new InProcessExecutor() },
  );
  assert.notEqual(pkd1.finalFingerprint, fed.finalFingerprint);
});

test('PKD identifies weak classes and groups on the validation split', async () => {
  const r = await runFederated(parseFlConfig({ ...base, method: 'pkd', groupTau: 0.02, pkd: { warmupRounds: 3, expertRounds: 1 } }), { executor: new InProcessExecutor() });
  const p = r.pkd!;
  assert.equal(p.identifiedOn, 'validation');
  assert.ok(p.weak.length > 0);
  for (const g of p.groups) {
    assert.ok(g.length >= 2 && g.length <= 4);
    assert.ok(
      g.some((c) => p.weak.includes(c)),
      'every group holds a weak class',
    );
  }
});

test('checkpoint after every round; resume continues to the same final model', async () => {
  const cfg = parseFlConfig({ ...base, method: 'pkd', pkd: { warmupRounds: 2, expertRounds: 2, lambda: 1, groups: [[0, 6]] } });
  const full = await runFederated(cfg, { executor: new InProcessExecutor() });
  const out = join(dir, 'resume');
  // Interrupt inside expert training (rounds: 2 warm-up, then expert round 1).
  await assert.rejects(runFederated(cfg, { executor: new InProcessExecutor(), dir: out, stopAfter: 3 }), Interrupted);
  // Interrupt again in the PKD stage, then finish.
  await assert.rejects(runFederated(cfg, { executor: new InProcessExecutor(), dir: out, resume: true, stopAfter: 2 }), Interrupted);
  const resumed = await runFederated(cfg, { executor: new InProcessExecutor(), dir: out, resume: true });
  assert.equal(resumed.finalFingerprint, full.finalFingerprint);
  assert.equal(resumed.rounds.length, full.rounds.length);
  assert.deepEqual(resumed.pkd?.experts[0].withinGroupAccuracy, full.pkd?.experts[0].withinGroupAccuracy);
  await assert.rejects(runFederated(parseFlConfig({ ...base, seed: 9 }), { executor: new InProcessExecutor(), dir: out, resume: true }), /different config/);
});

test('resume deletes the store keys left by the interrupted run, and only those', async () => {
  const cfg = parseFlConfig({ ...base, method: 'fedavg', rounds: 3 });
  const out = join(dir, 'stale-keys');
  await assert.rejects(runFederated(cfg, { executor: new InProcessExecutor(), dir: out, stopAfter: 1 }), Interrupted);
  const { keyPrefix } = JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8')) as { keyPrefix?: string };
  assert.match(keyPrefix ?? '', /^accelab-fl-/, 'the checkpoint names its store keys');
  // What a coordinator killed in round 2 leaves: the round's global weights and a client's update.
  const store = await storeFor({ kind: 'memory' });
  const w = [new Float32Array([1, 2, 3])];
  await store.put(`${keyPrefix}-fedavg-r2-global`, w);
  await store.put(`${keyPrefix}-fedavg-r2-c1`, w);
  await store.put('accelab-fl-other-run-r2-global', w);
  let deleted = -1;
  await runFederated(cfg, { executor: new InProcessExecutor(), dir: out, resume: true, onStaleKeys: (n) => (deleted = n) });
  assert.equal(deleted, 2);
  await assert.rejects(store.get(`${keyPrefix}-fedavg-r2-global`), /not in the in-process store/);
  assert.deepEqual(await store.get('accelab-fl-other-run-r2-global'), w, "another run's keys are kept");
  await store.delete('accelab-fl-other-run-r2-global');
});

test('deletePrefix on Redis deletes the keys with the prefix only', async (t) => {
  const base = process.env.ACCELAB_REDIS_URL;
  if (!base) return t.skip('ACCELAB_REDIS_URL is not set: start redis-server and set it (CI does)');
  const url = `${base.replace(/\/\d*$/, '')}/15`;
  if (!(await redisReachable(url, 2000))) return t.skip(`no Redis answers at ${url}`);
  const store = await openStore({ kind: 'redis', url });
  const tag = `accelab-fl-prefixtest-${process.pid}-${Date.now()}`;
  const w = [new Float32Array([4, 5])];
  try {
    for (const k of ['a-r1-global', 'a-r1-c0', 'a-r2-c1']) await store.put(`${tag}-${k}`, w);
    await store.put(`${tag}x-keep`, w);
    assert.equal(await store.deletePrefix(`${tag}-`), 3);
    await assert.rejects(store.get(`${tag}-a-r1-c0`), /not in Redis/);
    assert.deepEqual(await store.get(`${tag}x-keep`), w);
  } finally {
    await store.deletePrefix(tag);
    await store.close();
  }
});

test('worker threads: same result as in-process, and a thread killed mid-job is retried', async () => {
  const cfg = parseFlConfig({ ...base, rounds: 2 });
  const ref = await runFederated(cfg, { executor: new InProcessExecutor() });
  const ex = new ThreadExecutor({ workers: 2, dir: join(dir, 'store'), backend: 'cpu' });
  try {
    // The job of client 1 in round 2 kills its thread on its first attempt.
    let crashId = '';
    const r = await runFederated(cfg, {
      executor: {
        name: 'threads',
        store: ex.store,
        run: (jobs, onDone) => {
          for (const j of jobs) if (j.round === 2 && j.clientId === 1) ex.crashOnce.set((crashId = j.id), join(dir, 'crash-1'));
          return ex.run(jobs, onDone);
        },
        close: () => ex.close(),
      },
    });
    assert.ok(crashId !== '');
    assert.equal(ex.retries, 1);
    assert.equal(r.finalFingerprint, ref.finalFingerprint);
  } finally {
    await ex.close();
  }
});

test('a PKD run started from the FedAvg run’s warm-up snapshot equals the PKD run from scratch', async () => {
  const pkdCfg = parseFlConfig({ ...base, method: 'pkd', pkd: { warmupRounds: 3, expertRounds: 1, lambda: 1, groups: [[0, 6]] } });
  const scratch = await runFederated(pkdCfg, { executor: new InProcessExecutor() });
  let snap: Float32Array[] | null = null;
  const fed = await runFederated(parseFlConfig({ ...base, method: 'fedavg' }), {
    executor: new InProcessExecutor(),
    onWeights: (round, w) => {
      if (round === 3) snap = w;
    },
  });
  assert.ok(snap);
  const shared = await runFederated(pkdCfg, { executor: new InProcessExecutor(), startFrom: { round: 3, rounds: fed.rounds, weights: snap } });
  assert.equal(shared.finalFingerprint, scratch.finalFingerprint);
  assert.deepEqual(
    shared.rounds.map((r) => r.phase),
    scratch.rounds.map((r) => r.phase),
  );
});

test('experts shared through the cache: a variant that differs only in λ reuses them and equals its run from scratch', async () => {
  const mk = (lambda: number, expertRounds = 2) => parseFlConfig({ ...base, method: 'pkd', pkd: { warmupRounds: 3, expertRounds, lambda, groups: [[0, 6]] } });
  const cache = new Map<string, unknown>();
  const first = await runFederated(mk(1), { executor: new InProcessExecutor(), cache });
  assert.equal(cache.size, 1);
  const cached = await runFederated(mk(3), { executor: new InProcessExecutor(), cache });
  const scratch = await runFederated(mk(3), { executor: new InProcessExecutor() });
  assert.equal(cache.size, 1, 'same expert options: no second entry');
  assert.equal(cached.finalFingerprint, scratch.finalFingerprint);
  assert.deepEqual(
    cached.pkd?.experts.map((e) => e.withinGroupAccuracy),
    scratch.pkd?.experts.map((e) => e.withinGroupAccuracy),
  );
  assert.notEqual(cached.finalFingerprint, first.finalFingerprint);
  // Different expert training: a new entry, not a reuse.
  await runFederated(mk(1, 1), { executor: new InProcessExecutor(), cache });
  assert.equal(cache.size, 2);
});

test('the partial-KD trigger fires exactly on the eligible samples', async () => {
  const { localFit } = await import('../../src/fl/client.js');
  const { prepareTask } = await import('../../src/fl/task.js');
  const { initialWeights, taskSpecOf } = await import('../../src/fl/run.js');
  const cfg = parseFlConfig({ ...base });
  const task = await prepareTask(taskSpecOf(cfg));
  const w = initialWeights(task, 'fl-mlp', 10, 1);
  const expert = initialWeights(task, 'fl-mlp', 2, 2);
  const train = { epochs: 2, batchSize: 16, optimizer: 'sgd' as const, lr: 0.01, momentum: 0 };
  const labels = Array.from(task.clientIndices[0], (i) => task.dataset.train.labels[i]);
  const count = (cs: number[]) => labels.filter((y) => cs.includes(y)).length;
  // A briefly trained student confuses the near-identical classes 0 and 6.
  const trained = (await localFit({ task, clientId: 0, seed: 1, weights: w, train: { ...train, epochs: 5, lr: 0.05 }, model: 'fl-mlp' })).weights;
  const fit = (trigger: 'always' | 'within-group', triggerOn: 'weak' | 'group', weak: number[], expertGate: 'none' | 'expert-correct' = 'none') =>
    localFit({
      task,
      clientId: 0,
      seed: 1,
      weights: trained,
      train,
      model: 'fl-mlp',
      kd: { groups: [[0, 6]], weak, triggerOn, experts: [expert], expertModel: 'fl-mlp', temperature: 2, lambda: 1, trigger, expertGate },
    });
  assert.equal((await fit('always', 'group', [])).kdTriggered, 2 * count([0, 6]));
  assert.equal((await fit('always', 'weak', [6])).kdTriggered, 2 * count([6]));
  assert.equal((await fit('within-group', 'weak', [])).kdTriggered, 0);
  const within = (await fit('within-group', 'group', [])).kdTriggered;
  assert.ok(within > 0 && within < 2 * count([0, 6]), `within-group fired ${within} times`);
  // The expert gate: 'always' then fires exactly on the group's samples the (frozen) expert gets right.
  const { cachedModel, setWeights } = await import('../../src/fl/client.js');
  const { predictLabels } = await import('../../src/nn/train.js');
  const em = cachedModel('fl-mlp', task.inputShape, 2);
  setWeights(em, expert);
  const groupIdx = Array.from(task.clientIndices[0]).filter((i) => [0, 6].includes(task.dataset.train.labels[i]));
  const ep = predictLabels(em, task.dataset.train, task.dataset.shape, groupIdx, task.norm);
  const expertRight = groupIdx.filter((i, k) => [0, 6][ep[k]] === task.dataset.train.labels[i]).length;
  assert.ok(expertRight > 0 && expertRight < groupIdx.length, `expert right on ${expertRight}/${groupIdx.length}`);
  assert.equal((await fit('always', 'group', [], 'expert-correct')).kdTriggered, 2 * expertRight);
  assert.ok((await fit('within-group', 'group', [], 'expert-correct')).kdTriggered <= within);
});

test('PKD rounds train on the wasm backend too (worker thread), close to the cpu reference', async () => {
  const cfg = parseFlConfig({ ...base, rounds: 3, method: 'pkd', pkd: { warmupRounds: 1, expertRounds: 1, lambda: 1, trigger: 'always', triggerOn: 'group', groups: [[0, 6]] } });
  const ref = await runFederated(cfg, { executor: new InProcessExecutor() });
  const ex = new ThreadExecutor({ workers: 1, dir: join(dir, 'store-wasm'), backend: 'wasm' });
  try {
    const r = await runFederated(cfg, { executor: ex });
    assert.equal(ex.retries, 0);
    assert.ok(r.rounds.filter((x) => x.phase === 'pkd').every((x) => x.kdTriggered > 0));
    // Different backends round differently; the models must still agree closely.
    assert.ok(Math.abs(r.final.accuracy - ref.final.accuracy) < 0.05, `wasm ${r.final.accuracy} vs cpu ${ref.final.accuracy}`);
  } finally {
    await ex.close();
  }
});
