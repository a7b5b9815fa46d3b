/** The experiment recipes (compare, consistency) and their report sections, on tiny synthetic runs. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { flStudy } from '../../src/cli/studies/fl.js';
import { initEngine } from '../../src/core/engine.js';
import { type CompareRow, type FlCompareResult, analyzeComparison, compareDeltas, runComparison, runConsistency, runFlExperiment } from '../../src/experiments/fl.js';
import { type FlConfigInput, parseFlConfig } from '../../src/fl/config.js';
import { renderSvg } from '../../src/report/charts.js';
import { flCompareSection, flConsistencySection, flSection, signedPp } from '../../src/report/sections/fl.js';

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
  const cmp = await runComparison(
    { ...base, pkd: { warmupRounds: 2, expertRounds: 1 } },
    [1, 2],
    [
      { name: 'pkd', pkd: {} },
      { name: 'λ=0', pkd: { lambda: 0 } },
    ],
    { executor: { kind: 'inprocess' } },
  );
  assert.equal(cmp.rows.length, 6);
  for (const seed of [1, 2]) {
    const rows = cmp.rows.filter((r) => r.seed === seed);
    assert.deepEqual(rows[0].weak, rows[1].weak, 'FedAvg is scored on the weak set PKD identified');
    // λ = 0 is FedAvg: identical accuracy.
    assert.equal(rows.find((r) => r.method === 'λ=0')?.accuracy, rows.find((r) => r.method === 'fedavg')?.accuracy);
  }
  assert.equal(cmp.summary.length, 3);
  const cs = flCompareSection(cmp);
  assert.equal(cs.tables?.[0].rows.length, 3);
  assert.ok(cs.figures?.some((f) => f.title === 'Weak-class gain vs overall-accuracy change per setting'));
  // λ = 0 is FedAvg: zero gain on every seed.
  const gains = cs.tables?.find((t) => t.title === 'Gain over FedAvg per seed')?.rows ?? [];
  assert.equal(gains.length, 4);
  for (const g of gains.filter((x) => x[1] === 'λ=0')) assert.deepEqual(g.slice(2), ['0.0', '0.0', '0.0', '0.0']);
  // FedAvg's final model is scored inside every PKD group; with λ = 0 it is the PKD model.
  for (const r of cmp.rows.filter((x) => x.method === 'λ=0')) for (const e of r.experts) assert.equal(e.withinGroupAccuracy.final, e.withinGroupAccuracy.fedavg);
  assert.ok(cmp.rows.filter((x) => x.method !== 'fedavg').every((x) => x.experts.every((e) => typeof e.withinGroupAccuracy.fedavg === 'number')));

  const con = await runConsistency({ ...base, rounds: 2 }, { models: ['fl-mlp'], partitions: ['balanced', 'iid'], seeds: [1, 2] }, { executor: { kind: 'inprocess' } });
  assert.equal(con.runs.length, 4);
  assert.ok(con.jaccard.all >= 0 && con.jaccard.all <= 1);
  assert.equal(con.weakFrequency.length, 10);
  assert.ok(con.runs.every((r) => r.weakByRound.length === 2));
  assert.equal(flConsistencySection(con).tables?.[0].rows.length, 4);
});

// ---------------------------------------------------------------- compare section on a hand-built result

const LONG = 'cnn expert 3×2 λ=4, trigger any-weak-miss';

function row(seed: number, method: string, accuracy: number, weakMean: number, worstAccuracy: number, experts: CompareRow['experts'] = []): CompareRow {
  return {
    seed,
    method,
    accuracy,
    weakMean,
    worstAccuracy,
    interClassDiscrepancy: 0.3,
    perClassAccuracyStd: 0.1,
    perClass: new Array<number>(10).fill(accuracy),
    weak: [6],
    groups: experts.map((e) => e.group),
    experts,
    kdTriggered: 0,
  };
}

function fixture(rows: CompareRow[]): FlCompareResult {
  const methods = [...new Set(rows.map((r) => r.method))];
  return {
    kind: 'fl-compare',
    base: parseFlConfig({ dataset: 'fl-blobs', model: 'fl-mlp' }),
    classNames: Array.from({ length: 10 }, (_, c) => `c${c}`),
    seeds: [...new Set(rows.map((r) => r.seed))],
    rows,
    ...analyzeComparison(rows, methods, 10),
    durationS: 1,
  };
}

const values = (spec: Record<string, unknown>): Record<string, unknown>[] => (spec.data as { values: Record<string, unknown>[] } | undefined)?.values ?? [];

test('compare section: gains over FedAvg per seed (figure + table), expert vs global figure; seeds without FedAvg are skipped', async () => {
  const g = [0, 6];
  const r = fixture([
    row(1, 'fedavg', 0.8, 0.5, 0.4),
    row(1, LONG, 0.797, 0.58, 0.45, [{ group: g, withinGroupAccuracy: { expert: 0.9, warmup: 0.8, final: 0.85, fedavg: 0.8 } }]),
    row(1, 'no experts', 0.81, 0.49, 0.4),
    row(2, 'fedavg', 0.7, 0.6, 0.3),
    row(2, LONG, 0.69, 0.62, 0.35, [{ group: g, withinGroupAccuracy: { expert: 0.7, warmup: 0.6, final: null, fedavg: 0.75 } }]),
    row(2, 'no experts', 0.7, 0.6, 0.3),
    // Seed 3 has no FedAvg run: no delta can be formed.
    row(3, LONG, 0.5, 0.5, 0.5, [{ group: g, withinGroupAccuracy: { expert: 0.5, warmup: 0.5, final: 0.5, fedavg: null } }]),
  ]);
  const d = compareDeltas(r.rows);
  assert.deepEqual(
    d.map((x) => [x.seed, x.method]),
    [
      [1, LONG],
      [1, 'no experts'],
      [2, LONG],
      [2, 'no experts'],
    ],
  );
  assert.ok(Math.abs(d[0].accuracy - -0.003) < 1e-12 && Math.abs(d[0].weakMean - 0.08) < 1e-12 && Math.abs(d[0].worstAccuracy - 0.05) < 1e-12);
  // In-group gain: PKD's final within-group accuracy minus FedAvg's (seed 2 has no final figure).
  assert.ok(Math.abs((d[0].withinGroupAccuracy ?? Number.NaN) - 0.05) < 1e-12);
  assert.equal(d[2].withinGroupAccuracy, null);

  const s = flCompareSection(r);
  assert.deepEqual(
    s.figures?.map((f) => f.title),
    [
      'Per-class accuracy, mean over seeds: FedAvg and “no experts”',
      'Per-class change over FedAvg, every setting',
      'Weak-class gain vs overall-accuracy change per setting',
      'Within-group accuracy: expert, PKD and FedAvg global models',
    ],
  );
  // Headline: LONG gains more on the weak classes but loses 0.65 pp on average; 'no experts' keeps accuracy.
  assert.deepEqual(r.headline, { method: 'no experts', meetsAccuracy: true });
  assert.deepEqual(fixture(r.rows.filter((x) => x.method !== 'no experts')).headline, { method: LONG, meetsAccuracy: false });
  assert.deepEqual(r.seedsWithoutFedavg, [3]);
  assert.match(flStudy.results['fl-compare'].summary(r), /; best setting no experts: weak-class mean −0\.5 pp, accuracy \+0\.5 pp, within-group – vs FedAvg$/);
  assert.deepEqual(
    r.gains.map((x) => [x.method, x.meetsTarget, x.seedsMeetingTarget]),
    [
      [LONG, false, 1],
      ['no experts', false, 0],
    ],
  );
  // Per-class change heatmap: mean over seeds of the per-seed differences (every class moves with accuracy here).
  const heat = values(s.figures?.find((f) => f.title.startsWith('Per-class change'))?.spec ?? {});
  assert.equal(heat.length, 20);
  assert.ok(heat.filter((x) => x.method === LONG).every((x) => x.delta === -0.65));
  assert.ok(heat.filter((x) => x.method === 'no experts').every((x) => x.delta === 0.5));
  assert.deepEqual(
    s.tables?.map((t) => t.title),
    ['Summary over seeds', 'Gain over FedAvg per seed', 'Runs'],
  );
  const gain = s.tables?.find((t) => t.title === 'Gain over FedAvg per seed');
  assert.deepEqual(gain?.rows, [
    [1, LONG, '−0.3', '+8.0', '+5.0', '+5.0'],
    [1, 'no experts', '+1.0', '−1.0', '0.0', '–'],
    [2, LONG, '−1.0', '+2.0', '+5.0', '–'],
    [2, 'no experts', '0.0', '0.0', '0.0', '–'],
  ]);
  assert.match(gain?.note ?? '', /seed 3 has no FedAvg run/);

  // Gain figure: one panel per metric; per-seed dots and mean ± std per setting, in pp.
  const fig = s.figures?.find((f) => f.title.startsWith('Weak-class gain'));
  const panels = fig?.spec.hconcat as { layer: Record<string, unknown>[] }[];
  assert.equal(panels.length, 2);
  const weakLayers = panels[0].layer.map(values);
  const dots = weakLayers.find((v) => v.some((x) => 'seed' in x)) ?? [];
  assert.deepEqual(
    dots.filter((x) => x.method === LONG).map((x) => [x.seed, x.value]),
    [
      ['1', 8],
      ['2', 2],
    ],
  );
  const stats = weakLayers.find((v) => v.some((x) => 'mean' in x)) ?? [];
  const longStats = stats.find((x) => x.method === LONG);
  assert.equal(longStats?.mean, 5);
  assert.equal(longStats?.lo, Number((5 - 3 * Math.SQRT2).toFixed(2)));
  assert.equal(longStats?.n, 2);
  // The target lines sit at +5 pp (weak mean) and −0.5 pp (accuracy).
  assert.ok(weakLayers.some((v) => v.length === 1 && v[0].x === 5));
  assert.ok(panels[1].layer.map(values).some((v) => v.length === 1 && v[0].x === -0.5));
  // Mean Δweak is +5.0 but mean Δaccuracy −0.65 pp: no setting meets the target on average; one single run does.
  assert.match(fig?.caption ?? '', /On average: no setting; single runs inside both: 1 of 4\./);

  // Within-group figure: only settings with experts; null accuracies are left out of the mean.
  const ex = values(s.figures?.find((f) => f.title.startsWith('Within-group accuracy'))?.spec ?? {});
  assert.deepEqual(
    ex.map((x) => [x.method, x.measure, x.mean]),
    [
      [LONG, 'expert', 0.7],
      [LONG, 'PKD global after warm-up', 0.6333],
      [LONG, 'PKD global at the end', 0.675],
      [LONG, 'FedAvg global at the end', 0.775],
    ],
  );

  // Both specs compile and render; the long setting name is not truncated.
  for (const f of s.figures ?? []) {
    const svg = await renderSvg(f.spec, f.title);
    assert.match(svg, /<svg/);
    // (Vega shortens a label that does not fit to "cnn expe…" in the axis text; aria labels keep the full name.)
    if (!f.title.startsWith('Per-class accuracy')) assert.ok(svg.includes(`>${LONG}</text>`), `${f.title}: full axis label "${LONG}"`);
  }
});

test('compare section without PKD runs or without any FedAvg run: no gain figures, no throw', () => {
  const onlyFed = flCompareSection(fixture([row(1, 'fedavg', 0.8, 0.5, 0.4), row(2, 'fedavg', 0.7, 0.6, 0.3)]));
  assert.equal(onlyFed.figures?.length, 1);
  assert.deepEqual(onlyFed.tables?.find((t) => t.title === 'Gain over FedAvg per seed')?.rows, []);
  const noFed = flCompareSection(fixture([row(1, 'pkd', 0.8, 0.5, 0.4)]));
  assert.deepEqual(
    noFed.figures?.map((f) => f.title),
    ['Per-class accuracy, mean over seeds: FedAvg and PKD'],
  );
  assert.equal(signedPp(Number.NaN), '–');
  assert.equal(signedPp(-0.0004), '0.0');
  assert.equal(signedPp(0.0251), '+2.5');
});
