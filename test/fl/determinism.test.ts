/**
 * Pinned results of the federated fixtures (tiny synthetic `fl-blobs`, `fl-mlp`, reference cpu backend):
 * FedAvg and PKD must reproduce these final-weight fingerprints and per-round digests bit for bit.
 * The values were recorded before the strategies were split out of the round driver; a change here
 * means a change of results, not a refactoring.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, test } from 'node:test';
import { initEngine } from '../../src/core/engine.js';
import { type FlConfigInput, parseFlConfig } from '../../src/fl/config.js';
import { InProcessExecutor } from '../../src/fl/executors/inprocess.js';
import { type FlResult, runFederated } from '../../src/fl/run.js';

const base: FlConfigInput = { dataset: 'fl-blobs', model: 'fl-mlp', clients: 4, rounds: 6, batchSize: 16, lr: 0.05, valPerClass: 10, trainLimit: 800, testLimit: 400, seed: 3 };

const FIXTURES: Record<string, FlConfigInput> = {
  fedavg: { ...base, method: 'fedavg' },
  'fedavg-sampled-dirichlet': { ...base, method: 'fedavg', clients: 6, fraction: 0.5, partition: 'dirichlet', alpha: 0.3, evalEvery: 2 },
  'fedavg-adam': { ...base, method: 'fedavg', optimizer: 'adam', lr: 0.01, rounds: 3 },
  'fedavg-plain-sgd': { ...base, method: 'fedavg', optimizer: 'sgd', momentum: 0, rounds: 3 },
  'pkd-fixed-groups': {
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
  },
  'pkd-identified': { ...base, method: 'pkd', groupTau: 0.02, pkd: { warmupRounds: 3, expertRounds: 1 } },
  'pkd-scratch-expert': {
    ...base,
    method: 'pkd',
    pkd: { warmupRounds: 2, expertRounds: 2, expertEpochs: 2, expertLr: 0.1, expertInit: 'scratch', lambda: 3, temperature: 4, expertGate: 'none', groups: [[0, 6]] },
  },
};

/** sha256 (first 16 hex digits) of every number a run produced, in order (durations left out). */
function digest(r: FlResult): string {
  const nums: unknown[] = r.rounds.map((x) => [x.round, x.clients, x.meanLoss, x.kdTriggered, x.eval ? [x.eval.accuracy, x.eval.perClass, x.eval.confusion] : null]);
  const p = r.pkd;
  if (p)
    nums.push(
      p.weak,
      p.groups,
      p.identification.confusion,
      p.experts.map((e) => [
        e.group,
        e.rounds,
        e.perRound.map((q) => [q.round, q.meanLoss, q.withinGroupAccuracy]),
        [e.withinGroupAccuracy.expert, e.withinGroupAccuracy.warmup, e.accuracyOnGroup.warmup, e.withinGroupAccuracy.final, e.accuracyOnGroup.final],
      ]),
    );
  nums.push(r.final.confusion);
  return createHash('sha256').update(JSON.stringify(nums)).digest('hex').slice(0, 16);
}

const PINNED: Record<string, { fingerprint: string; digest: string }> = {
  fedavg: { fingerprint: '422baa539ff74ad0', digest: 'dc0b160e4156144e' },
  'fedavg-sampled-dirichlet': { fingerprint: '4912521e701ad389', digest: '9c63c98e100cff0c' },
  'fedavg-adam': { fingerprint: '6d08536585eea352', digest: 'f483412e998ccfb7' },
  'fedavg-plain-sgd': { fingerprint: 'df1ad946109616bd', digest: '0ca254a4c57ac9f7' },
  'pkd-fixed-groups': { fingerprint: '492553e62696f731', digest: 'aac3cd6967765d15' },
  'pkd-identified': { fingerprint: 'd7cb55340dec9067', digest: '893a38f3b406bfc0' },
  'pkd-scratch-expert': { fingerprint: 'c7f2d10d6ccaadd2', digest: '7a3fd01263375087' },
};

before(async () => {
  await initEngine('cpu');
});

for (const [name, input] of Object.entries(FIXTURES)) {
  test(`pinned result: ${name}`, async () => {
    const r = await runFederated(parseFlConfig(input), { executor: new InProcessExecutor() });
    const got = { fingerprint: r.finalFingerprint, digest: digest(r) };
    if (process.env.ACCELAB_PRINT_PINS) process.stdout.write(`PIN ${JSON.stringify({ [name]: got })}\n`);
    assert.deepEqual(got, PINNED[name]);
  });
}
