/** The study registry: one descriptor per study gives its commands, sections, summaries, tour step and benchmarks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { BENCHMARKS, REGISTRY, SECTIONS, STUDIES, type StudyResult, studyRegistry, summarize, TOUR_STEPS } from '../../src/cli/studies/index.js';
import { type AnyStudy, defineStudy } from '../../src/cli/studies/study.js';
import { initEngine } from '../../src/core/engine.js';
import { runCharacterize, runCost } from '../../src/experiments/cim.js';
import { runFlExperiment } from '../../src/experiments/fl.js';
import { kernelRange, runWinograd } from '../../src/experiments/winograd.js';
import { buildSections } from '../../src/report/sections/index.js';
import { benchmarks } from '../../bench/registry.js';
import { fakeTrainResult } from '../report/fixtures.js';

test('every study kind has a section and a summary; the tour and engine kinds are the application’s own', () => {
  assert.deepEqual(
    STUDIES.map((s) => s.name),
    ['train', 'winograd', 'cim', 'fl'],
  );
  assert.deepEqual(Object.keys(SECTIONS).sort(), ['cim-characterize', 'cim-cost', 'cim-infer', 'cim-quick', 'engine', 'eval', 'fl', 'fl-compare', 'fl-consistency', 'tour', 'train', 'winograd']);
  for (const [kind, k] of Object.entries(REGISTRY.kinds)) {
    assert.equal(typeof k.section, 'function', kind);
    assert.equal(typeof k.summary, 'function', kind);
  }
});

test('the tour is the engine step, then each study’s step in list order', () => {
  assert.deepEqual(
    TOUR_STEPS.map((s) => s.name),
    ['engine', 'train', 'winograd', 'cim', 'fl'],
  );
});

test('the CLI registers every study’s commands', () => {
  const program = new Command();
  REGISTRY.register(program);
  assert.deepEqual(
    program.commands.map((c) => c.name()),
    ['train', 'eval', 'winograd', 'cim', 'fl'],
  );
});

test('every benchmark a study names is the module bench/<name>.ts and registers that name', async () => {
  assert.deepEqual([...BENCHMARKS], ['train-step', 'winograd', 'cim', 'fl']);
  await import('../../bench/benchmarks.js');
  const registered = benchmarks().map((b) => b.name);
  for (const name of BENCHMARKS) assert.ok(registered.includes(name), name);
});

test('summaries are one line with the headline figures', () => {
  const train = summarize(fakeTrainResult(2));
  assert.match(train ?? '', /^cnn-small on fashion-mnist: test accuracy \d+\.\d\d %, discrepancy \d+\.\d %, weakest \S+/);
  const wino = summarize(runWinograd({ kernels: kernelRange('3..9'), error: { kernels: [5], formats: ['float32'], filters: ['smooth'], size: 8, channels: 1, outChannels: 1 } }));
  assert.match(wino ?? '', /^OLA\/nested multiplications 1\.44× at 5×5 \(paper 1\.41×\), 3\.24× at 9×9 \(paper 3\.29×\), 10\.50× at 27×27 \(paper 10\.50×\); nested float32 RMS error ≤ \d\.\de-\d+$/);
  const cost = summarize(runCost({}));
  assert.match(cost ?? '', /^estimated \d+ TOPS\/W at 28 nm \(paper [\d.]+ TOPS\/W measured\), [\d.]+ fJ\/MAC$/);
  const ch = summarize(runCharacterize({ chips: 1, trials: 1, levelsPerCode: 1, techniques: false, seed: 1 }));
  assert.match(ch ?? '', /^RMS error [\d.]+ LSB, max \|INL\| [\d.]+ LSB, max \|DNL\| [\d.]+ LSB, margin [\d.]+ mV\/LSB$/);
  for (const s of [train, wino, cost, ch]) assert.ok(s && !s.includes('\n'), s ?? 'null');
  assert.equal(summarize({ kind: 'no-such-kind' }), null);
});

/** A study added in one place: its command, section, summary, tour step and benchmark all appear. */
test('a new study is one entry in the list', () => {
  interface DemoResult {
    kind: 'demo';
    value: number;
  }
  const demo = defineStudy<DemoResult>({
    name: 'demo',
    register: (program) => {
      program.command('demo').description('a demo study');
    },
    results: {
      demo: {
        section: (r) => ({ id: 'demo', title: `Demo ${r.value}` }),
        summary: (r) => `value ${r.value}`,
      },
    },
    tour: { name: 'demo', title: 'Demo', run: async () => ({ kind: 'demo', value: 7 }) },
    benchmarks: ['demo-bench'],
  });
  const reg = studyRegistry([...STUDIES, demo]);
  const program = new Command();
  reg.register(program);
  assert.ok(program.commands.some((c) => c.name() === 'demo'));
  assert.deepEqual(buildSections({ kind: 'demo', value: 3 }, reg.sections), [{ id: 'demo', title: 'Demo 3' }]);
  assert.equal(reg.summarize({ kind: 'demo', value: 3 } as DemoResult), 'value 3');
  assert.equal(reg.tourSteps.at(-1)?.name, 'demo');
  assert.equal(reg.benchmarks.at(-1), 'demo-bench');
  // The tour's report renders the new study's step through the same registry.
  const tour = { kind: 'tour', notices: [], totalSeconds: 1, steps: [{ name: 'demo', title: 'Demo', seconds: 1, ok: true, result: { kind: 'demo', value: 5 } }] };
  assert.deepEqual(
    buildSections(tour, reg.sections).map((s) => s.title),
    ['Tour overview', 'Demo 5'],
  );
});

test('a study name, result kind or tour step used twice is an error naming both', () => {
  const twin = (name: string, kind: string, step: string): AnyStudy =>
    defineStudy<{ kind: string }>({ name, register: () => {}, results: { [kind]: { section: () => ({ id: kind, title: kind }), summary: () => kind } }, tour: { name: step, title: step, run: async () => ({ kind }) } });
  assert.throws(() => studyRegistry([twin('a', 'x', 'a'), twin('a', 'y', 'b')]), /two studies are named 'a'/);
  assert.throws(() => studyRegistry([twin('a', 'x', 'a'), twin('b', 'x', 'b')]), /result kind 'x' of study 'b' is already registered by study 'a'/);
  assert.throws(() => studyRegistry([twin('a', 'tour', 'a')]), /result kind 'tour' of study 'a' is already registered by the tour/);
  assert.throws(() => studyRegistry([twin('a', 'x', 'engine')]), /tour step 'engine' of study 'a' is already taken/);
});

test('the result union names every kind the studies write (checked by the compiler)', () => {
  // A kind added to or removed from a study without updating this list fails to compile.
  const kinds: Record<StudyResult['kind'], true> = {
    train: true,
    eval: true,
    winograd: true,
    'cim-characterize': true,
    'cim-infer': true,
    'cim-cost': true,
    'cim-quick': true,
    fl: true,
    'fl-compare': true,
    'fl-consistency': true,
  };
  assert.deepEqual(Object.keys(kinds).sort(), Object.keys(SECTIONS).filter((k) => k !== 'tour' && k !== 'engine').sort());
});

test('the FL summary names the method, accuracy and weak classes', async () => {
  await initEngine('cpu');
  const r = await runFlExperiment({ dataset: 'fl-blobs', model: 'fl-mlp', clients: 2, rounds: 2, batchSize: 16, lr: 0.05, valPerClass: 10, trainLimit: 300, testLimit: 100 }, { executor: { kind: 'inprocess' } });
  const s = summarize(r) ?? '';
  assert.match(s, /^fedavg on fl-blobs, 2 clients, 2 rounds: accuracy \d+\.\d %, discrepancy \d+\.\d %, weak classes .+ \(mean (\d+\.\d %|–)\)$/);
});
