import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrateThresholds, greedyPath, rramConfig, simulateNetwork, type ThresholdProfile } from '../../../src/hw/rram/index.js';
import type { EvalSet } from '../../../src/nn/runtime/index.js';
import { images, quantized, rramWorkload, SMALL } from './fixtures.js';

const point = (theta: number, changedPoints: number, savedConversions: number) => ({ theta, lossPoints: changedPoints, changedPoints, savedConversions });

test('greedy path: the move with the most savings per changed prediction first, a layer may jump over flat grid values', () => {
  const profile: ThresholdProfile = {
    images: 100,
    grid: [0, 1, 2, 4],
    denseConversions: 1000,
    losslessConversions: 800,
    referenceCorrect: 50,
    referencePredictions: [],
    layers: [
      { layer: 'a', losslessConversions: 400, points: [point(0, 0, 0), point(1, 1, 100), point(2, 5, 110)] },
      // b: θ 1 saves nothing; θ 2 saves much at no cost: reached in one move.
      { layer: 'b', losslessConversions: 400, points: [point(0, 0, 0), point(1, 0, 0), point(2, 0, 60), point(4, 3, 90)] },
    ],
  };
  const path = greedyPath(profile);
  assert.deepEqual(path, [
    { a: 0, b: 0 },
    { a: 0, b: 2 },
    { a: 1, b: 2 },
    { a: 1, b: 4 },
    { a: 2, b: 4 },
  ]);
});

test('calibration keeps the held-out loss within the budget (greedy and bisect); greedy simulates only the layers it varies', async () => {
  const wl = rramWorkload();
  const qw = quantized(wl);
  const n = 60;
  const x = images(n, 21);
  // Labels: the exact network's own predictions, so the baseline accuracy is 100 % and every change is a loss.
  const ref = simulateNetwork(qw, rramConfig(SMALL), { x, labels: new Int32Array(n), count: n }, 4);
  const set: EvalSet = { x, labels: Int32Array.from(ref.predictions), count: n };
  const base = rramConfig({ ...SMALL, termination: 'adaptive' });
  const seen: (string[] | undefined)[] = [];
  for (const budget of [0, 5]) {
    const greedy = await calibrateThresholds(qw, base, set, 4, {
      budgetPoints: budget,
      simulate: async (runs) =>
        runs.map((r) => {
          seen.push(r.crossbarLayers);
          return simulateNetwork(qw, r.config, set, 4, { crossbarLayers: r.crossbarLayers });
        }),
    });
    assert.equal(greedy.search, 'greedy');
    assert.ok(greedy.lossPoints <= budget, `greedy loss ${greedy.lossPoints} ≤ ${budget}`);
    assert.deepEqual(Object.keys(greedy.thresholds).sort(), ['c1', 'd1', 'd2']);
    assert.ok(greedy.profile?.layers.every((l) => l.points[0].theta === 0));
    // Re-running the chosen thresholds gives the reported loss.
    const check = simulateNetwork(qw, { ...base, thresholds: greedy.thresholds }, set, 4);
    assert.equal(((n - check.correct) / n) * 100, greedy.lossPoints);
    const bisect = await calibrateThresholds(qw, base, set, 4, { budgetPoints: budget, search: 'bisect' });
    assert.ok(bisect.lossPoints <= budget);
    if (budget === 5) {
      const reduction = (t: Record<string, number>): number => {
        const s = simulateNetwork(qw, { ...base, thresholds: t }, set, 4);
        return 1 - s.layers.reduce((a, l) => a + l.adcConversions, 0) / s.layers.reduce((a, l) => a + l.denseAdcConversions, 0);
      };
      assert.ok(reduction(greedy.thresholds) > reduction({}), 'a budget of 5 points buys some adaptive termination');
    }
  }
  // The profile runs one layer at a time on crossbars (plus one full lossless reference).
  assert.ok(seen.some((l) => l === undefined));
  assert.ok(seen.some((l) => l?.length === 1));
});
