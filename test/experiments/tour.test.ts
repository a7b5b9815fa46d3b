/** The tour's worker-thread steps (`parallel`): order, records, failures, notices, sequential fallback. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initEngine } from '../../src/core/engine.js';
import type { Progress } from '../../src/core/progress.js';
import { engineStep, runTour, type TourHooks, type TourStep, trainStep } from '../../src/experiments/tour.js';
import type { TrainResult } from '../../src/nn/train.js';

const JOBS = new URL('./fixtures/tour-jobs.js', import.meta.url);
let dir: string;
before(async () => {
  await initEngine('wasm');
  dir = mkdtempSync(join(tmpdir(), 'accelab-tour-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A main-thread step that waits (≤ 60 s) until the worker step has started, then signals it. */
const mainStep: TourStep = {
  name: 'main',
  title: 'Main-thread step',
  async run(ctx) {
    for (let i = 0; i < 600 && !existsSync(join(ctx.outDir, 'echo', 'started')); i++) await new Promise((r) => setTimeout(r, 100));
    const sawWorker = existsSync(join(ctx.outDir, 'echo', 'started'));
    await new Promise((r) => setTimeout(r, 200)); // lets the worker's progress messages arrive
    writeFileSync(join(ctx.outDir, 'main-done'), 'yes');
    ctx.notice('note from main');
    return { kind: 'main', sawWorker } as { kind: string };
  },
};
const echo = (fn: string): TourStep => ({
  name: fn === 'handshake' ? 'echo' : 'broken',
  title: `Worker ${fn}`,
  parallel: { module: JOBS, fn },
  run: async () => {
    throw new Error('this step must run on a worker in this test');
  },
});

function recorder(): { events: string[]; hooks: TourHooks } {
  const events: string[] = [];
  return {
    events,
    hooks: {
      onStepStart: (s, i, _n, info) => events.push(`start ${i} ${s.name}${info.worker ? ' worker' : ''}`),
      onStepEnd: (r, i, _n, info) => events.push(`end ${i} ${r.name} ${r.ok ? 'ok' : 'failed'}${info.worker ? ' worker' : ''}`),
      onWaiting: (steps) => events.push(`waiting ${steps.map((s) => s.name).join(',')}`),
    },
  };
}

test('parallel steps run on a worker while the main thread runs the others; records keep the step order', async () => {
  const out = join(dir, 'par');
  mkdirSync(out, { recursive: true });
  const { events, hooks } = recorder();
  const calls: string[] = [];
  const progress: Progress = {
    start: (label, total) => calls.push(`start ${label} ${total}`),
    tick: (n = 1, status) => calls.push(`tick ${n}${status ? ` ${status}` : ''}`),
    stop: () => calls.push('stop'),
  };
  const r = await runTour({ outDir: out, seed: 7, steps: [engineStep, echo('broken'), echo('handshake'), mainStep], hooks, progress, sequential: false });
  assert.deepEqual(
    r.steps.map((s) => [s.name, s.ok, s.worker ?? false]),
    [
      ['engine', true, false],
      ['broken', false, true],
      ['echo', true, true],
      ['main', true, false],
    ],
  );
  // Both sides saw each other: the worker step ran during the main-thread step.
  assert.deepEqual(r.steps[2].result, { kind: 'echo', step: 'echo', seed: 7, backend: 'wasm', sawMain: true });
  assert.deepEqual(r.steps[3].result, { kind: 'main', sawWorker: true });
  // A failing job is that step's failure, with the first line of its message and no job prefix.
  assert.equal(r.steps[1].error, 'step broken broke on purpose');
  for (const s of r.steps) assert.ok(Number.isFinite(s.seconds) && s.seconds >= 0, s.name);
  // Notices come back from the worker and are listed in step order.
  assert.deepEqual(r.notices, ['note from echo', 'note from main']);
  assert.deepEqual(events.slice(0, 6), ['start 0 engine', 'end 0 engine ok', 'start 1 broken worker', 'start 2 echo worker', 'start 3 main', 'end 3 main ok']);
  assert.deepEqual(events.slice(-2), ['end 1 broken failed worker', 'end 2 echo ok worker']);
  // The worker's progress is shown (replayed) while the tour waits for it, then stopped.
  assert.equal(calls[0], 'start echo phase 3', calls.join('; '));
  assert.equal(
    calls.filter((c) => c.startsWith('tick')).reduce((s, c) => s + Number(c.split(' ')[1]), 0),
    3,
    calls.join('; '),
  );
  assert.equal(calls.at(-1), 'stop');
  const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.deepEqual(
    saved.steps.map((s: { name: string }) => s.name),
    ['engine', 'broken', 'echo', 'main'],
  );
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).sequential, false);
});

test('sequential: every step on the main thread, in order', async () => {
  const out = join(dir, 'seq');
  const { events, hooks } = recorder();
  const r = await runTour({ outDir: out, steps: [engineStep, echo('handshake')], hooks, sequential: true });
  assert.deepEqual(
    r.steps.map((s) => [s.name, s.ok, s.worker ?? false]),
    [
      ['engine', true, false],
      ['echo', false, false],
    ],
  );
  assert.equal(r.steps[1].error, 'this step must run on a worker in this test');
  assert.deepEqual(events, ['start 0 engine', 'end 0 engine ok', 'start 1 echo', 'end 1 echo failed']);
});

test('the train step gives the same result on a worker thread as on the main thread', async () => {
  const limits = { seed: 3, trainLimit: 256, testLimit: 200, steps: [engineStep, trainStep], only: ['train'] };
  const par = await runTour({ outDir: join(dir, 'train-par'), ...limits, sequential: false });
  const seq = await runTour({ outDir: join(dir, 'train-seq'), ...limits, sequential: true });
  assert.equal(par.steps.length, 1);
  assert.ok(par.steps[0].ok && par.steps[0].worker, par.steps[0].error);
  assert.ok(seq.steps[0].ok && !seq.steps[0].worker, seq.steps[0].error);
  const a = par.steps[0].result as TrainResult;
  const b = seq.steps[0].result as TrainResult;
  assert.equal(a.dataset.testCount, 200);
  assert.equal(a.testAccuracy, b.testAccuracy);
  assert.deepEqual(a.final.confusion, b.final.confusion);
  assert.deepEqual(par.notices, seq.notices);
  for (const f of ['config.json', 'result.json', 'checkpoint/model.json']) assert.ok(existsSync(join(dir, 'train-par', 'train', f)), f);
});
