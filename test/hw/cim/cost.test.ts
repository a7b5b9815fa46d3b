import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { macroConfig } from '../../../src/hw/cim/config.js';
import { cellPulses, costParams, cycleSeconds, estimateCost, networkCost } from '../../../src/hw/cim/cost.js';
import { designMacro } from '../../../src/hw/cim/macro.js';
import { MappedNetwork } from '../../../src/hw/cim/network.js';
import { ENERGY_TABLE, energyPj, priceArea } from '../../../src/hw/energy.js';
import { gemmInput, quantizeActivations, quantizeWorkload } from '../../../src/nn/runtime/index.js';
import type { ConvOp } from '../../../src/nn/workload.js';
import { tinyWorkload } from './fixtures.js';

test('macro cost as action rows: every row priced from the table with its source; parts add up; area from instances', () => {
  const c = macroConfig({});
  const p = costParams({ samples: 128 });
  const r = estimateCost(c, p);
  assert.equal(r.conversions, 128);
  assert.ok(r.actions.every((a) => a.layer === 'macro' && a.component === 'sram-cim' && ENERGY_TABLE.some((t) => t.component === a.component && t.action === a.action)));
  assert.ok(r.energy.rows.every((row) => row.source.length > 0));
  const sum = r.energy.rows.reduce((s, row) => s + row.energyPj, 0);
  assert.ok(Math.abs(sum * 1e3 - r.energyPerConversionFj * r.conversions) < 1e-6);
  const parts = Object.values(r.breakdownFj).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(parts - r.energyPerConversionFj) < 1e-9);
  // Binary search: adcBits decisions per conversion; word-line drivers serve `columns` cells.
  assert.equal(r.actions.find((a) => a.action === 'comparator-decision')?.count, 128 * c.adcBits);
  const cells = r.actions.find((a) => a.action === 'wl-pulse-per-cell')?.count ?? 0;
  assert.equal(r.actions.find((a) => a.action === 'wl-driver-pulse')?.count, cells / c.columns);
  // Bit-line charge counted in fC prices as Q·V_PRE, linear in V (vddExp 1), node-independent.
  const q = r.actions.find((a) => a.action === 'bit-line-charge-fc')?.count ?? 0;
  assert.ok(Math.abs(r.breakdownFj.bitLines * r.conversions - q * 0.9) < 1e-6);
  assert.ok(Math.abs(energyPj('sram-cim', 'bit-line-charge-fc', { nodeNm: 65, vdd: 1.8 }) / energyPj('sram-cim', 'bit-line-charge-fc', { nodeNm: 28, vdd: 0.9 }) - 2) < 1e-12);
  const area = priceArea(r.instances, { nodeNm: 28, vdd: 0.9 });
  assert.ok(Math.abs(area.totalUm2 * 1e-6 - r.areaMm2) < 1e-15);
  assert.equal(r.instances.find((i) => i.action === 'cell-6t')?.count, (64 * 5 + p.refCellsPerColumn) * 64);
  // Latency: precharge + longest pulse (8 × 15 × T0 × β) + adcBits steps.
  const d = designMacro(c);
  assert.ok(Math.abs(r.latencyNs - (p.tPrecharge + 8 * 15 * c.t0 * d.boost + c.adcBits * p.tAdcStep) * 1e9) < 1e-9);
});

test('ramp ADC latency: the slowest column of each cycle; pulse-count MAC phase includes the pulse gap', () => {
  const p = costParams({ samples: 64 });
  const one = estimateCost(macroConfig({ adc: 'ramp', columns: 8 }), p);
  const d = designMacro(macroConfig({ adc: 'ramp', columns: 8 }));
  const meanSteps = one.decisionsPerConversion; // ramp: steps + 1 decisions per conversion
  const base = cycleSeconds(macroConfig({ adc: 'ramp' }), d, p, 0) * 1e9;
  assert.ok(one.latencyNs - base > meanSteps * p.tAdcStep * 1e9, 'the slowest of 8 columns takes longer than the mean');
  const pc = macroConfig({ inputEncoding: 'pulse-count' });
  const dp = designMacro(pc);
  assert.ok(Math.abs(cycleSeconds(pc, dp, p, 0) - cycleSeconds({ ...pc, inputEncoding: 'pwm' }, dp, p, 0) - 8 * 15 * dp.t0Effective * p.pulseGap) < 1e-18);
});

test('network cost: per-layer β carried into energy and latency; activity matches a direct count', () => {
  const rng = new Rng(9);
  const wl = tinyWorkload(rng);
  const n = 6;
  const x = new Float32Array(n * 72).map(() => (rng.next() < 0.4 ? 0 : rng.next()));
  const net = quantizeWorkload(wl, { calib: x, calibCount: n, percentile: 0.99 });
  const config = macroConfig({ rows: 8, columns: 2 });
  const run = (layerBoost: Record<number, number>) => {
    const mapped = new MappedNetwork(net, { kind: 'macro', config, seed: 1, layerBoost }, undefined);
    mapped.forward(x, n);
    const act = mapped.activity();
    mapped.dispose();
    return { act, cost: networkCost(act, n, costParams({})) };
  };
  const a = run({ 0: 1, 3: 1 });
  const b = run({ 0: 4, 3: 1 });
  assert.deepEqual(
    b.cost.layers.map((l) => l.boost),
    [4, 1],
  );
  assert.ok(b.cost.layers[0].latencyS > a.cost.layers[0].latencyS, 'a larger β (gain) stretches the MAC phase');
  assert.equal(b.cost.layers[1].latencyS, a.cost.layers[1].latencyS);
  // Direct count for the conv layer: conversions, MACs, word-line pulses.
  const L = net.layers[0];
  const q = gemmInput(wl.ops[0] as ConvOp, quantizeActivations(x, L.inScale, net.actRange), n);
  const m = q.length / L.k;
  let pulses = 0;
  for (let r = 0; r < m; r++) for (let k = 0; k < L.k; k++) if (q[r * L.k + k] > 0) for (let j = 0; j < L.n; j++) pulses += cellPulses(L.wq[k * L.n + j], q[r * L.k + k], config);
  const conv = a.act[0];
  assert.equal(conv.activity.wlCellPulses, pulses);
  assert.equal(conv.activity.conversions, m * L.n * Math.ceil(L.k / 8));
  assert.equal(conv.macs, m * L.k * L.n);
  assert.equal(conv.gemmRows, m);
  assert.equal(conv.activity.decisions, conv.activity.conversions * config.adcBits);
  assert.equal(a.cost.macsPerImage, (m * L.k * L.n + n * 36 * 3) / n);
  assert.ok(Math.abs(a.cost.energyPerImagePj * n - a.cost.energy.totalPj) < 1e-9);
  assert.ok(a.cost.energy.byLayer.length === 2);
});
