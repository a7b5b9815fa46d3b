/** The experiment recipes (compare, consistency) and their report sections, on tiny synthetic runs. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../../src/core/engine.js';
import { runComparison, runConsistency, runFlExperiment } from '../../src/experiments/fl.js';
import type { FlConfigInput } from '../../src/fl/config.js';
import { flCompareSection, flConsistencySection, flSection } from '../../src/report/sections/fl.js';

const base: FlConfigInput = { dataset: 'fl-blobs', model: 'fl-mlp', clients: 3, rounds: 4, batchSize: 16, lr: 0.05, valPerClass: 10, trainLimit: 600, testLimit: 200 };

before(async () => {
  await initEngine('cpu');
});

test('a PKD run renders per-class bars, discrepancy over rounds, confusion matrix and the groups table', async () => {
  const r = await runFlExperiment({ ...base, method: 'pkd', pkd: { warmupRounds: 2, expertRounds: 1, groups: [[0, 6]] } }, { executor: { kind: 'inprocess' } });
  const s = flSection(r);
  assert.deepEqual(
    s.figures?.map((f) => f.title),
    ['Per-class accuracy of the global model', 'Inter-class discrepancy over rounds', 'Confusion matrix (final global model)'],
  );
  const groups = s.tables?.find((t) => t.title === 'Weak groups and experts');
  assert.equal(groups?.rows.length, 1);
  assert.equal(s.tables?.find((t) => t.title === 'Rounds')?.rows.length, 4);
});

test('compare: FedAvg and PKD per seed on the same weak set; consistency: overlap of weak sets', async () => {
  const cmp = await runComparison({ ...base, pkd: { warmupRounds: 2, expertRounds: 1 } }, [1, 2], [{ name: 'pkd', pkd: {} }, { name: 'λ=0', pkd: { lambda: 0 } }], { executor: { kind: 'inprocess' } });
  assert.equal(cmp.rows.length, 6);
  for (const seed of [1, 2]) {
    const rows = cmp.rows.filter((r) => r.seed === seed);
    assert.deepEqual(rows[0].weak, rows[1].weak, 'FedAvg is scored on the weak set PKD identified');
    // λ = 0 is FedAvg: identical accuracy.
    assert.equal(rows.find((r) => r.method === 'λ=0')?.accuracy, rows.find((r) => r.method === 'fedavg')?.accuracy);
  }
  assert.equal(cmp.summary.length, 3);
  assert.equal(flCompareSection(cmp).tables?.[0].rows.length, 3);

  const con = await runConsistency({ ...base, rounds: 2 }, { models: ['fl-mlp'], partitions: ['balanced', 'iid'], seeds: [1, 2] }, { executor: { kind: 'inprocess' } });
  assert.equal(con.runs.length, 4);
  assert.ok(con.jaccard.all >= 0 && con.jaccard.all <= 1);
  assert.equal(con.weakFrequency.length, 10);
  assert.ok(con.runs.every((r) => r.weakByRound.length === 2));
  assert.equal(flConsistencySection(con).tables?.[0].rows.length, 4);
});
