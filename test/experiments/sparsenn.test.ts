import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine } from '../../src/core/engine.js';
import { NotFoundError } from '../../src/core/errors.js';
import { loadDataset } from '../../src/data/load.js';
import { toFloat } from '../../src/data/pipeline.js';
import { summarize } from '../../src/cli/studies/index.js';
import { sparsennSimulateSection, sparsennTrainSection } from '../../src/report/sections/sparsenn.js';
import { evaluateNetwork, loadTrainRun, runSimulate, runTrain, writeTrainRun } from '../../src/experiments/sparsenn.js';

describe('sparsenn experiments (synthetic data)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accelab-sparsenn-'));
  before(async () => {
    await initEngine('wasm');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains, writes a run folder, reloads it and simulates the three accelerators', async () => {
    const ds = await loadDataset('synthetic-gray', { trainLimit: 300, testLimit: 40, seed: 1 });
    const { result: r, artifacts } = await runTrain({ dataset: 'synthetic-gray', pretrainEpochs: 1, epochs: 1, testLimit: 40, seed: 3 }, undefined, ds);
    assert.equal(r.kind, 'sparsenn-train');
    assert.deepEqual(
      r.ranks.map((x) => [x.name, x.rank]),
      [
        ['fc1', 10],
        ['fc2', 3],
      ],
    );
    assert.ok(r.overhead > 0 && r.overhead < 0.05, `overhead ${r.overhead}`);
    for (const v of [r.accuracy, r.baselineAccuracy, r.outputSparsity, r.falseNegativeRate, r.falsePositiveRate, r.svd.accuracy]) assert.ok(v >= 0 && v <= 1);
    await writeTrainRun(dir, r, artifacts);
    for (const f of ['config.json', 'result.json', 'layers.csv', 'predictors.json', 'checkpoint/model.json', 'baseline/model.json']) assert.ok(existsSync(join(dir, f)), f);
    const run = await loadTrainRun(dir);
    assert.deepEqual(Array.from(run.predictors[0].u), Array.from(artifacts.predictors[0].u));
    // The reloaded network gives the accuracy measured at training time on the same images.
    const set = { x: toFloat(ds.test, ds.shape, { count: 40, normalize: null }), labels: ds.test.labels, count: 40 };
    assert.equal(evaluateNetwork(run.workload, run.predictors, set, ds.numClasses).accuracy, r.accuracy);

    const s = await runSimulate({ checkpoint: dir, testLimit: 20, peSweep: [16], accelerator: { pes: 32 } }, undefined, ds);
    assert.equal(s.kind, 'sparsenn-simulate');
    assert.equal(s.images, 20);
    assert.deepEqual(
      s.architectures.map((a) => a.arch),
      ['dense', 'input-sparse', 'sparsenn'],
    );
    const [d, i, sn] = s.architectures;
    assert.ok(d.cycles >= i.cycles, 'skipping zero inputs never costs cycles');
    assert.ok(Math.abs(s.speedupVsInputSparsity - i.cycles / sn.cycles) < 1e-12);
    assert.ok(Math.abs(s.throughputGainVsInputSparsity - (i.cycles / sn.cycles - 1)) < 1e-12);
    assert.ok(Math.abs(s.powerRatioVsInputSparsity - sn.powerW / i.powerW) < 1e-12);
    assert.equal(s.perLayer.length, 3);
    assert.equal(s.perLayer[2].rank, 0);
    assert.equal(s.peSweep.length, 1);
    assert.ok(s.simulatedCyclesPerSecond > 0);

    // Report sections and console summaries are computed from the results.
    const ts = sparsennTrainSection(r);
    assert.equal(ts.tables?.[0].rows.length, 3);
    assert.match(ts.paragraphs?.[1] ?? '', /paper's claim/);
    const ss = sparsennSimulateSection(s);
    assert.equal(ss.tables?.find((t) => t.title === 'Per layer')?.rows.length, 3);
    assert.equal(ss.tables?.find((t) => t.title === 'PE-count sweep')?.rows.length, 1);
    for (const line of [summarize(r), summarize(s)]) assert.ok(line && !line.includes('\n') && /paper|overhead/.test(line), line ?? 'null');
  });

  it('a folder that is not a training run is a NotFoundError naming the fix', async () => {
    await assert.rejects(
      () => runSimulate({ checkpoint: join(dir, 'nope') }),
      (e: unknown) => e instanceof NotFoundError && /sparsenn train --out/.test(e.message),
    );
  });
});
