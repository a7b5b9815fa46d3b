import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { ENERGY_TABLE } from '../../../src/hw/energy.js';
import { runSystolic } from '../../../src/hw/systolic/run.js';
import { formatScalesimConfig, formatTopology, parseReport, parseScalesimConfig, parseTopology, pyFloat, scalesimReports } from '../../../src/hw/systolic/scalesim-io.js';
import { DEFAULT_CONFIG } from '../../../src/hw/systolic/types.js';

const CFG = `[general]
run_name = t

[architecture_presets]
ArrayHeight:    8
ArrayWidth:     4
IfmapSramSzkB:    1
FilterSramSzkB:   2
OfmapSramSzkB:    1
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : ws
MemoryBanks:   1

[run_presets]
InterfaceBandwidth: CALC
`;

test('cfg: parses SCALE-Sim keys case-insensitively and round-trips', () => {
  const c = parseScalesimConfig(CFG.replace('ArrayWidth', 'arraywidth'), 'a.cfg');
  assert.equal(c.arrayHeight, 8);
  assert.equal(c.arrayWidth, 4);
  assert.equal(c.dataflow, 'ws');
  assert.equal(c.filterSramKb, 2);
  assert.deepEqual(parseScalesimConfig(formatScalesimConfig(c), 'b.cfg'), c);
});

test('cfg: a bad line names file, line and field', () => {
  assert.throws(
    () => parseScalesimConfig(CFG.replace('ArrayHeight:    8', 'ArrayHeight:    eight'), 'a.cfg'),
    (e: Error) => e instanceof ConfigError && /^a\.cfg:5: field ArrayHeight = 'eight'/.test(e.message),
  );
  assert.throws(() => parseScalesimConfig(CFG.replace('Dataflow : ws', 'Dataflow : xs'), 'a.cfg'), /a\.cfg:14: field Dataflow = 'xs' must be one of os, ws, is/);
  assert.throws(() => parseScalesimConfig(CFG.replace('OfmapSramSzkB:    1\n', ''), 'a.cfg'), /a\.cfg:4: \[architecture_presets\] has no OfmapSramSzkB/);
  assert.throws(() => parseScalesimConfig(CFG.replace('[run_presets]', 'run presets'), 'a.cfg'), /a\.cfg:17: 'run presets' is neither/);
});

test('topology: conv rows (trailing comma optional, second stride optional, DP expansion) and GEMM rows', () => {
  const t = parseTopology('Layer name, H, W, R, S, C, M, Stride,\nConv1, 9, 9, 3, 3, 4, 8, 2,\nDP_x, 9, 9, 3, 3, 3, 1, 1\nC3, 9, 8, 3, 2, 1, 2, 1, 2,\n', 't.csv', false);
  assert.deepEqual(
    t.map((l) => l.name),
    ['Conv1', 'DP_xChannel_0', 'DP_xChannel_1', 'DP_xChannel_2', 'C3'],
  );
  assert.equal(t[0].strideWidth, 2);
  assert.equal(t[1].channels, 1);
  assert.equal(t[4].strideWidth, 2);
  assert.deepEqual(parseTopology(formatTopology([t[0], t[4]]), 'u.csv', false), [t[0], t[4]]);
  const g = parseTopology('Layer, M, N, K,\nA, 128, 64, 256,\n', 'g.csv', true);
  assert.deepEqual([g[0].ifmapHeight, g[0].ifmapWidth, g[0].filterWidth, g[0].numFilters], [128, 256, 256, 64]);
});

test('topology: a bad line names file, line and field', () => {
  assert.throws(() => parseTopology('h\nConv1, 9, 9, 3, x, 4, 8, 1,\n', 't.csv', false), /t\.csv:2: field 'Filter Width' = 'x' must be a positive integer/);
  assert.throws(() => parseTopology('h\nConv1, 9, 9, 3, 3, 4,\n', 't.csv', false), /t\.csv:2: field '.*' is missing/);
  assert.throws(() => parseTopology('h\nConv1, 2, 9, 3, 3, 4, 8, 1,\n', 't.csv', false), /t\.csv:2: field 'Filter Height' = 3 is larger/);
  assert.throws(() => parseTopology('h\nA, 1, 0, 3,\n', 'g.csv', true), /g\.csv:2: field 'N' = '0'/);
  assert.throws(() => parseTopology('h\n\n', 'e.csv', true), /e\.csv: no layers/);
});

test('pyFloat writes numbers as Python str() does', () => {
  assert.equal(pyFloat(1), '1.0');
  assert.equal(pyFloat(-3275), '-3275.0');
  assert.equal(pyFloat(88.30022075055187), '88.30022075055187');
  assert.equal(pyFloat(1e-5), '1e-05');
  assert.equal(pyFloat(0.5), '0.5');
  assert.equal(pyFloat(1.5e16), '1.5e+16');
});

test('run: reports keep SCALE-Sim columns; energy rows all have sources; larger SRAMs cost more per access', () => {
  const layers = parseTopology('h\nC1, 12, 12, 3, 3, 4, 16, 1,\nC2, 10, 10, 3, 3, 16, 8, 1,\n', 't.csv', false);
  const run = runSystolic(layers, { ...DEFAULT_CONFIG, arrayHeight: 8, arrayWidth: 8, ifmapSramKb: 2, filterSramKb: 2, ofmapSramKb: 2 });
  const rep = scalesimReports(run.layers);
  assert.equal(parseReport(rep['COMPUTE_REPORT.csv']).rows.length, 2);
  assert.ok(run.energyPj > 0 && run.areaMm2 > 0);
  assert.equal(run.totalCycles, run.layers[0].totalCycles + run.layers[1].totalCycles);
  for (const a of run.actions) assert.ok(a.source.length > 10, `${a.component}/${a.action} has a source`);
  const sum = run.layers.reduce((s, l) => s + l.energyPj, 0);
  assert.ok(Math.abs(sum - run.energyPj) < 1e-6 * run.energyPj);
  const sram = (kb: number) => ENERGY_TABLE.find((r) => r.component === `systolic-sram-${kb}kB` && r.action === 'read-8b')?.energyPj ?? Number.NaN;
  assert.ok(sram(1) < sram(8) && sram(8) < sram(1024));
  assert.ok(Math.abs(sram(8) - 10 / 8) < 1e-12 && Math.abs(sram(32) - 20 / 8) < 1e-12 && Math.abs(sram(1024) - 100 / 8) < 1e-9);
  const cyc = runSystolic(layers, { ...DEFAULT_CONFIG, arrayHeight: 8, arrayWidth: 8, ifmapSramKb: 2, filterSramKb: 2, ofmapSramKb: 2 }, { mode: 'cycle', verify: true, seed: 5 });
  assert.ok(cyc.layers.every((l) => l.outputsMatchReference === true));
  assert.equal(cyc.totalCycles, run.totalCycles);
  assert.equal(cyc.energyPj, run.energyPj);
});
