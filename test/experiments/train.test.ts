import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initEngine } from '../../src/core/engine.js';
import { resolveTrainConfig, runEval, runTrain, writeTrainRun } from '../../src/experiments/train.js';
import { engineStep, runTour, type TourStep } from '../../src/experiments/tour.js';
import { buildDocument } from '../../src/report/sections/index.js';
import { writeReport } from '../../src/report/write.js';
import { SECTIONS } from '../../src/cli/studies/index.js';

let dir: string;
before(async () => {
  await initEngine('wasm');
  dir = mkdtempSync(join(tmpdir(), 'accelab-exp-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const quick = { dataset: 'synthetic-gray', model: 'mlp-300-100', epochs: 2, batch: 32, seed: 5, trainLimit: 400, testLimit: 200 } as const;

test('config defaults depend on model and data; bad fields are named', () => {
  const a = resolveTrainConfig({ model: 'cnn-small' }, [28, 28, 1]);
  assert.equal(a.optimizer, 'adam');
  assert.equal(a.lr, 1e-3);
  assert.equal(a.augment, false);
  const b = resolveTrainConfig({ model: 'resnet20', dataset: 'cifar10-subset' }, [32, 32, 3]);
  assert.equal(b.augment, true);
  assert.equal(b.lrSchedule, 'cosine');
  assert.equal(resolveTrainConfig({ optimizer: 'sgd' }).lr, 0.02);
  // Resolving a resolved config changes nothing (config.json reruns the same run).
  assert.deepEqual(resolveTrainConfig(b, [32, 32, 3]), b);
  assert.throws(() => resolveTrainConfig({ model: 'resnet99' }), /field 'model'/);
  assert.throws(() => resolveTrainConfig({ epochs: 0 }), /field 'epochs'/);
  assert.throws(() => resolveTrainConfig({ lr: 1e-3, bogus: 1 }), /bogus|Unrecognized/);
});

test('a run folder is reproducible: config.json reruns to the same result, eval matches', async () => {
  const run = await runTrain(quick);
  const out = join(dir, 'run');
  await writeTrainRun(out, run);
  const rep = await writeReport(out, buildDocument(run.result, SECTIONS));
  run.model.dispose();
  for (const f of ['config.json', 'result.json', 'report.html', 'checkpoint/model.json', 'checkpoint/weights.bin']) assert.ok(existsSync(join(out, f)), f);
  assert.ok(rep.figures.length >= 4 && rep.tables.length >= 3);
  const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(saved.kind, 'train');
  assert.equal(saved.testAccuracy, run.result.testAccuracy);
  // Rerun from config.json.
  const again = await runTrain(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')));
  again.model.dispose();
  assert.deepEqual(again.result.final.confusion, run.result.final.confusion);
  assert.equal(again.result.epochs[1].trainLoss, run.result.epochs[1].trainLoss);
  // The checkpoint evaluates to the same metrics.
  const ev = await runEval(out);
  assert.equal(ev.kind, 'eval');
  assert.deepEqual(ev.metrics.confusion, run.result.final.confusion);
  assert.equal(buildDocument(ev, SECTIONS).sections.length, 1);
});

test('runEval on a folder that is not a run is a named error', async () => {
  await assert.rejects(runEval(join(dir, 'nothing-here')), /not a training run folder/);
});

test('the tour records every step, keeps going after a failure and renders one report', async () => {
  const fake: TourStep = { name: 'fake', title: 'A fake study', run: async () => ({ kind: 'unknown-kind' }) };
  const broken: TourStep = {
    name: 'broken',
    title: 'A broken step',
    run: async () => {
      throw new Error('boom');
    },
  };
  const out = join(dir, 'tour');
  const r = await runTour({ outDir: out, seed: 2, steps: [engineStep, broken, fake] });
  assert.deepEqual(
    r.steps.map((s) => [s.name, s.ok]),
    [
      ['engine', true],
      ['broken', false],
      ['fake', true],
    ],
  );
  assert.equal(r.steps[1].error, 'boom');
  const w = await writeReport(out, buildDocument(r, SECTIONS));
  const html = readFileSync(w.html, 'utf8');
  assert.match(html, /Tour overview/);
  assert.match(html, /Engine and data/);
  assert.match(html, /failed: boom/);
  assert.ok(existsSync(join(out, 'config.json')));
});
