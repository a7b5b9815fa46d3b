import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { runCharacterize, runCost, writeCharacterizeRun } from '../../../src/experiments/cim.js';
import { characterize, columnForMac } from '../../../src/hw/cim/characterize.js';
import { idealize, macroConfig } from '../../../src/hw/cim/config.js';
import { estimateCost, costParams } from '../../../src/hw/cim/cost.js';
import { energyPj } from '../../../src/hw/energy.js';
import { SECTIONS } from '../../../src/cli/studies/index.js';
import { buildSections } from '../../../src/report/sections/index.js';

test('stimulus columns realise the requested MAC exactly', () => {
  const rng = new Rng(1);
  for (const target of [-1575, -200, -1, 0, 1, 14, 113, 1570]) {
    const { x, w } = columnForMac(target, 17, rng);
    let mac = 0;
    for (let i = 0; i < 17; i++) {
      assert.ok(x[i] >= 0 && x[i] <= 15 && w[i] >= -7 && w[i] <= 7);
      mac += x[i] * w[i];
    }
    assert.equal(mac, target);
  }
});

test('ideal characterization: zero RMS error, zero INL/DNL, every technique variant', () => {
  const r = characterize({ config: idealize(macroConfig({ rows: 16 })), chips: 1, trials: 1, levelsPerCode: 2, seed: 1, techniques: true, noiseScale: 1 });
  assert.equal(r.variants.length, 4);
  for (const v of r.variants) {
    assert.equal(v.rmsErrorLsb, 0, v.name);
    assert.equal(v.inlMaxLsb, 0, v.name);
    assert.equal(v.dnlMaxLsb, 0, v.name);
    assert.ok(v.transfer.length > 10 && v.linearity.length > 10);
  }
  assert.equal(r.ideal, true);
});

test('non-ideal characterization shows errors that grow with the noise scale', () => {
  const base = { config: macroConfig({ rows: 16 }), chips: 2, trials: 1, levelsPerCode: 2, seed: 2, techniques: false };
  const r1 = characterize({ ...base, noiseScale: 1 });
  const r3 = characterize({ ...base, noiseScale: 3 });
  assert.ok(r1.rmsErrorLsb > 0 && r1.inlMaxLsb > 0);
  assert.ok(r3.variants[0].typicalRmsErrorMac > r1.variants[0].typicalRmsErrorMac);
  assert.equal(r1.variants[0].monteCarlo.length, 2);
});

test('characterize run folder holds config, result and CSVs; the report section builds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cim-char-'));
  try {
    const run = runCharacterize({ macro: { rows: 8 }, chips: 1, trials: 1, levelsPerCode: 1, techniques: true });
    writeCharacterizeRun(dir, run);
    for (const f of ['config.json', 'result.json', 'summary.csv', 'transfer.csv', 'linearity.csv', 'error-histogram.csv', 'monte-carlo.csv'])
      assert.ok(existsSync(join(dir, f)), f);
    const sections = buildSections(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')), SECTIONS);
    assert.equal(sections[0].id, 'cim-characterize');
    assert.equal(sections[0].figures?.length, 3);
    for (const f of sections[0].figures ?? []) assert.ok(JSON.stringify(f.spec).includes('"values"'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cost model: energy adds up, TOPS/W = 2N / energy, node scaling, report section', () => {
  const c = macroConfig({});
  const r = estimateCost(c, costParams({ samples: 64 }));
  const parts = Object.values(r.breakdownFj).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(parts - r.energyPerConversionFj) < 1e-9);
  assert.ok(Math.abs(r.topsPerW - (2 * c.rows) / (r.energyPerConversionFj / 1000)) < 1e-6);
  assert.equal(r.paperTopsPerW, 137.5);
  const r65 = estimateCost(c, costParams({ samples: 64, nodeNm: 65 }));
  assert.ok(r65.breakdownFj.comparator > r.breakdownFj.comparator);
  assert.ok(Math.abs(energyPj('sram-cim', 'comparator-decision', { nodeNm: 56, vdd: 0.9 }) / energyPj('sram-cim', 'comparator-decision', { nodeNm: 28, vdd: 0.9 }) - 2) < 1e-12);
  assert.throws(() => energyPj('sram-cim', 'no-such-action', { nodeNm: 28, vdd: 0.9 }), /no row/);
  const run = runCost({ cost: { samples: 32 } });
  assert.equal(run.variants.length, 4);
  assert.equal(buildSections(run, SECTIONS)[0].id, 'cim-cost');
});

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
test('CLI: cim characterize --ideal --json has the required fields; bad flags exit 2', { skip: existsSync(cli) ? false : 'CLI not built' }, () => {
  const ok = spawnSync(process.execPath, [cli, 'cim', 'characterize', '--ideal', '--json', '--rows', '8', '--chips', '1', '--trials', '1', '--no-techniques'], {
    encoding: 'utf8',
  });
  assert.equal(ok.status, 0, ok.stderr);
  const j = JSON.parse(ok.stdout);
  assert.equal(j.rmsErrorLsb, 0);
  assert.equal(j.inlMaxLsb, 0);
  assert.equal(j.dnlMaxLsb, 0);
  const bad = spawnSync(process.execPath, [cli, 'cim', 'characterize', '--folding', 'sideways'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--folding/);
  const badBoost = spawnSync(process.execPath, [cli, 'cim', 'cost', '--boost', '3'], { encoding: 'utf8' });
  assert.equal(badBoost.status, 2);
  assert.match(badBoost.stderr, /boost/);
});

test('inference results over disjoint test ranges merge by image-weighted accuracy', async () => {
  const { mergeInferResults } = await import('../../../src/experiments/cim.js');
  type R = Parameters<typeof mergeInferResults>[1];
  const row = (acc: number, images: number) => ({
    setting: 's',
    macFolding: 'sign-magnitude',
    boostedClipping: 'gain',
    noiseScale: 1,
    accuracy: acc,
    images,
    clipRate: 0,
    seconds: images / 10,
  });
  const part = (acc: number, ideal: number, images: number, offset: number): R =>
    ({
      kind: 'cim-infer',
      config: { testOffset: offset, testLimit: images, sweepLimit: 10, noiseLevels: [1] },
      model: 'm',
      dataset: 'd',
      macsPerImage: 100,
      macrosUsed: 3,
      floatAccuracy: ideal,
      ideal4bitAccuracy: ideal,
      enhanced: row(acc, images),
      techniques: [],
      noiseSweep: [],
      ideal4bitSweepAccuracy: ideal,
      lossVsIdealPoints: 0,
      simulatedMacsPerSecond: 0,
    }) as unknown as R;
  const m = mergeInferResults([part(0.8, 0.9, 100, 0), part(0.5, 0.6, 300, 100)], part(0.7, 0.7, 50, 0));
  assert.equal(m.enhanced.images, 400);
  assert.ok(Math.abs(m.enhanced.accuracy - (0.8 * 100 + 0.5 * 300) / 400) < 1e-12);
  assert.ok(Math.abs(m.lossVsIdealPoints - 100 * ((0.9 * 100 + 0.6 * 300) / 400 - m.enhanced.accuracy)) < 1e-9);
  assert.equal(m.config.testLimit, 400);
  assert.equal(m.ideal4bitSweepAccuracy, 0.7);
});
