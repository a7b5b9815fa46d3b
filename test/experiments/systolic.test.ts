/** The systolic experiments and CLI end to end: run folder with SCALE-Sim reports, sweep with Pareto front, bad input. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { SECTIONS } from '../../src/cli/studies/index.js';
import { paretoFront, runSweep } from '../../src/experiments/systolic.js';
import { buildSections } from '../../src/report/sections/index.js';

const main = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'accelab-systolic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TOPO = 'Layer name, H, W, R, S, C, M, Stride,\nConv1, 15, 15, 3, 3, 4, 16, 2,\nConv2, 7, 7, 3, 3, 16, 24, 1,\n';
const CFG =
  '[general]\nrun_name = t\n\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 1\nFilterSramSzkB: 1\nOfmapSramSzkB: 1\nIfmapOffset: 0\nFilterOffset: 10000000\nOfmapOffset: 20000000\nBandwidth : 10\nDataflow : ws\nMemoryBanks: 1\n\n[run_presets]\nInterfaceBandwidth: CALC\n';

test('systolic run: --json fields, SCALE-Sim reports and energy file in the run folder, cycle mode verified', () => {
  writeFileSync(join(dir, 'topo.csv'), TOPO);
  writeFileSync(join(dir, 'a.cfg'), CFG);
  const out = join(dir, 'run');
  const r = cli('systolic', 'run', '--config', join(dir, 'a.cfg'), '--topology', join(dir, 'topo.csv'), '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.layers.length, 2);
  for (const k of ['name', 'totalCycles', 'stallCycles', 'overallUtilPct', 'mappingEfficiencyPct', 'computeUtilPct', 'energyPj']) assert.ok(k in j.layers[0], k);
  assert.equal(j.totalCycles, j.layers[0].totalCycles + j.layers[1].totalCycles);
  assert.ok(j.energyPj > 0);
  for (const f of ['COMPUTE_REPORT.csv', 'BANDWIDTH_REPORT.csv', 'DETAILED_ACCESS_REPORT.csv', 'energy.csv', 'energy-actions.csv', 'config.json', 'result.json', 'report.html'])
    assert.ok(existsSync(join(out, f)), f);
  assert.match(readFileSync(join(out, 'COMPUTE_REPORT.csv'), 'utf8'), /^LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n0, /);
  const c = cli('systolic', 'run', '--config', join(dir, 'a.cfg'), '--topology', join(dir, 'topo.csv'), '--mode', 'cycle', '--verify', '--json');
  assert.equal(c.code, 0, c.stderr);
  const cj = JSON.parse(c.stdout);
  assert.equal(cj.totalCycles, j.totalCycles);
  assert.ok(cj.layers.every((l: { outputsMatchReference: boolean }) => l.outputsMatchReference === true));
});

test('systolic: a bad cfg or topology line names file, line and field, exit 2', () => {
  writeFileSync(join(dir, 'bad.cfg'), CFG.replace('ArrayWidth: 8', 'ArrayWidth: wide'));
  writeFileSync(join(dir, 'bad.csv'), TOPO.replace('Conv2, 7, 7, 3, 3, 16', 'Conv2, 7, 7, 3, 3, -16'));
  const a = cli('systolic', 'run', '--config', join(dir, 'bad.cfg'), '--topology', join(dir, 'topo.csv'));
  assert.equal(a.code, 2);
  assert.match(a.stderr, /bad\.cfg:6: field ArrayWidth = 'wide'/);
  assert.equal(a.stderr.trim().split('\n').length, 1, a.stderr);
  const b = cli('systolic', 'run', '--topology', join(dir, 'bad.csv'));
  assert.equal(b.code, 2);
  assert.match(b.stderr, /bad\.csv:3: field 'Channels' = '-16'/);
  const c = cli('systolic', 'run');
  assert.equal(c.code, 2);
});

test('sweep on worker threads: every point, Pareto front non-dominated, report section', async () => {
  const r = await runSweep({ network: { topology: join(dir, 'topo.csv') }, arrays: ['4x4', '8x8', '16x4'], dataflows: ['os', 'ws'], sramKb: [1, 4], workers: 2 });
  assert.equal(r.points.length, 12);
  assert.ok(r.front.length >= 1);
  const again = paretoFront(r.points);
  assert.deepEqual(
    again,
    r.points.map((p) => p.pareto),
  );
  for (const p of r.points.filter((x) => !x.pareto)) assert.ok(r.front.some((q) => q.totalCycles <= p.totalCycles && q.energyPj <= p.energyPj && q.areaMm2 <= p.areaMm2));
  const s = buildSections(r, SECTIONS);
  assert.equal(s[0].id, 'systolic-sweep');
  assert.equal(s[0].tables?.[0].rows.length, r.front.length);
});

test('paretoFront: hand-made points', () => {
  const pts = [
    { totalCycles: 1, energyPj: 5, areaMm2: 1 },
    { totalCycles: 2, energyPj: 2, areaMm2: 1 },
    { totalCycles: 3, energyPj: 3, areaMm2: 1 },
    { totalCycles: 3, energyPj: 3, areaMm2: 0.5 },
  ];
  assert.deepEqual(paretoFront(pts), [true, true, false, true]);
});
