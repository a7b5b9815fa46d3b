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

/** The studies this file's other tests use; any further study needs no change here. */
const ORIGINAL = ['train', 'winograd', 'cim', 'fl'];

/** True when `sub` appears in `list` in the same relative order. */
const inOrder = (list: readonly string[], sub: readonly string[]): boolean => sub.every((x, i) => list.includes(x) && (i === 0 || list.indexOf(sub[i - 1]) < list.indexOf(x)));

test('every study kind has a section and a summary; the tour and engine kinds are the application’s own', () => {
  assert.ok(
    inOrder(
      STUDIES.map((s) => s.name),
      ORIGINAL,
    ),
    STUDIES.map((s) => s.name).join(', '),
  );
  const studyKinds = STUDIES.flatMap((s) => Object.keys(s.results));
  assert.deepEqual(Object.keys(SECTIONS).sort(), ['engine', 'tour', ...studyKinds].sort());
  for (const kind of ['train', 'eval', 'winograd', 'cim-characterize', 'cim-infer', 'cim-cost', 'cim-quick', 'fl', 'fl-compare', 'fl-consistency'])
    assert.ok(studyKinds.includes(kind), kind);
  for (const [kind, k] of Object.entries(REGISTRY.kinds)) {
    assert.equal(typeof k.section, 'function', kind);
    assert.equal(typeof k.summary, 'function', kind);
  }
});

test('the tour is the engine step, then each study’s step in list order', () => {
  const names = TOUR_STEPS.map((s) => s.name);
  assert.deepEqual(names, ['engine', ...STUDIES.flatMap((s) => (s.tour ? [s.tour.name] : []))]);
  assert.ok(inOrder(names, ['engine', ...ORIGINAL]), names.join(', '));
});

test('the CLI registers every study’s commands, in list order', () => {
  const program = new Command();
  REGISTRY.register(program);
  const each = STUDIES.map((s) => {
    const p = new Command();
    s.register(p);
    assert.ok(p.commands.length > 0, `study ${s.name} registers no command`);
    return p.commands.map((c) => c.name());
  });
  const names = program.commands.map((c) => c.name());
  assert.deepEqual(names, each.flat());
  assert.equal(new Set(names).size, names.length, 'a command name is registered twice');
  assert.ok(inOrder(names, ['train', 'eval', 'winograd', 'cim', 'fl']), names.join(', '));
});

test('every benchmark a study names is the module bench/<name>.ts and registers that name', async () => {
  assert.deepEqual(
    [...BENCHMARKS],
    STUDIES.flatMap((s) => s.benchmarks ?? []),
  );
  assert.ok(inOrder(BENCHMARKS, ['train-step', 'winograd', 'cim', 'fl']), BENCHMARKS.join(', '));
  await import('../../bench/benchmarks.js');
  const registered = benchmarks().map((b) => b.name);
  for (const name of BENCHMARKS) assert.ok(registered.includes(name), name);
});

test('the result union is a union of literal kinds (checked by the compiler)', () => {
  const known: StudyResult['kind'] = 'winograd';
  // @ts-expect-error: not a kind any study writes
  const unknown: StudyResult['kind'] = 'no-such-kind';
  assert.ok(Object.hasOwn(SECTIONS, known) && !Object.hasOwn(SECTIONS, unknown));
});

test('summaries are one line with the headline figures', () => {
  const train = summarize(fakeTrainResult(2));
  assert.match(train ?? '', /^cnn-small on fashion-mnist: test accuracy \d+\.\d\d %, discrepancy \d+\.\d %, weakest \S+/);
  const wino = summarize(runWinograd({ kernels: kernelRange('3..9'), error: { kernels: [5], formats: ['float32'], filters: ['smooth'], size: 8, channels: 1, outChannels: 1 } }));
  assert.match(
    wino ?? '',
    /^OLA\/nested multiplications 1\.44× at 5×5 \(paper 1\.41×\), 3\.24× at 9×9 \(paper 3\.29×\), 10\.50× at 27×27 \(paper 10\.50×\); nested float32 RMS error ≤ \d\.\de-\d+$/,
  );
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
    defineStudy<{ kind: string }>({
      name,
      register: () => {},
      results: { [kind]: { section: () => ({ id: kind, title: kind }), summary: () => kind } },
      tour: { name: step, title: step, run: async () => ({ kind }) },
    });
  assert.throws(() => studyRegistry([twin('a', 'x', 'a'), twin('a', 'y', 'b')]), /two studies are named 'a'/);
  assert.throws(() => studyRegistry([twin('a', 'x', 'a'), twin('b', 'x', 'b')]), /result kind 'x' of study 'b' is already registered by study 'a'/);
  assert.throws(() => studyRegistry([twin('a', 'tour', 'a')]), /result kind 'tour' of study 'a' is already registered by the tour/);
  assert.throws(() => studyRegistry([twin('a', 'x', 'engine')]), /tour step 'engine' of study 'a' is already taken/);
});

test('the FL summary names the method, accuracy and weak classes', async () => {
  await initEngine('cpu');
  const r = await runFlExperiment(
    { dataset: 'fl-blobs', model: 'fl-mlp', clients: 2, rounds: 2, batchSize: 16, lr: 0.05, valPerClass: 10, trainLimit: 300, testLimit: 100 },
    { executor: { kind: 'inprocess' } },
  );
  const s = summarize(r) ?? '';
  assert.match(s, /^fedavg on fl-blobs, 2 clients, 2 rounds: accuracy \d+\.\d %, inter-class discrepancy \d+\.\d %, weak classes .+ \(mean (\d+\.\d %|–)\)$/);
});
