import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { simulateLayerAnalytical } from '../../../src/hw/systolic/analytical.js';
import { packedFilterData, randomLayerData, referenceGemm, simulateLayerCycle } from '../../../src/hw/systolic/cycle.js';
import { gemmLayer } from '../../../src/hw/systolic/operands.js';
import { layerActions, runEnergy } from '../../../src/hw/systolic/energy.js';
import { filterMatrix, rowBitmaskFormat, withPackedWeights } from '../../../src/hw/systolic/packed.js';
import { DATAFLOWS, DEFAULT_CONFIG, type SystolicConfig, type SystolicLayer } from '../../../src/hw/systolic/types.js';

function randomCase(rng: Rng, i: number): { layer: SystolicLayer; cfg: SystolicConfig } {
  const dataflow = DATAFLOWS[i % 3];
  const cfg: SystolicConfig = {
    ...DEFAULT_CONFIG,
    dataflow,
    arrayHeight: 1 + rng.int(12),
    arrayWidth: 1 + rng.int(12),
    ifmapSramKb: 1 + rng.int(3),
    filterSramKb: 1 + rng.int(3),
    ofmapSramKb: 1 + rng.int(2),
  };
  if (rng.next() < 0.4) return { cfg, layer: gemmLayer(`g${i}`, 1 + rng.int(60), 1 + rng.int(40), 1 + rng.int(70)) };
  const fh = 1 + rng.int(4);
  const fw = 1 + rng.int(4);
  const layer: SystolicLayer = {
    name: `c${i}`,
    ifmapHeight: fh + rng.int(10),
    ifmapWidth: fw + rng.int(10),
    filterHeight: fh,
    filterWidth: fw,
    channels: 1 + rng.int(6),
    numFilters: 1 + rng.int(20),
    strideHeight: 1 + rng.int(3),
    strideWidth: 1 + rng.int(3),
  };
  return { cfg, layer };
}

test('cycle-level counts equal the analytical counts and outputs equal an integer GEMM (random shapes, all dataflows)', () => {
  const rng = new Rng(12);
  for (let i = 0; i < 90; i++) {
    const { layer, cfg } = randomCase(rng, i);
    const data = randomLayerData(layer, rng.fork(i));
    for (const compat of [false, true]) {
      const ana = simulateLayerAnalytical(layer, cfg, { scalesimCompat: compat });
      const cyc = simulateLayerCycle(layer, cfg, data, { scalesimCompat: compat });
      assert.deepEqual(cyc.result, ana, `case ${i} (${cfg.dataflow} ${cfg.arrayHeight}×${cfg.arrayWidth}, ${JSON.stringify(layer)}) compat=${compat}`);
      if (!compat) assert.deepEqual(cyc.ofmap, referenceGemm(layer, data), `case ${i}: outputs`);
    }
  }
});

test('the reference GEMM is a plain matmul of the im2col matrix (hand-checked 1×1 conv)', () => {
  const layer = gemmLayer('g', 2, 2, 3);
  const out = referenceGemm(layer, { ifmap: Int32Array.from([1, 2, 3, 4, 5, 6]), filter: Int32Array.from([1, 0, -1, 2, 2, 2]) });
  assert.deepEqual([...out], [1 - 3, 12, 4 - 6, 30]);
});

test('packed weights: fewer cycles and ifmap reads, metadata traffic, same outputs as the dense layer', () => {
  const rng = new Rng(3);
  for (const dataflow of DATAFLOWS) {
    const cfg: SystolicConfig = { ...DEFAULT_CONFIG, dataflow, arrayHeight: 8, arrayWidth: 8, ifmapSramKb: 1, filterSramKb: 1, ofmapSramKb: 1 };
    const dense: SystolicLayer = { name: 'p', ifmapHeight: 9, ifmapWidth: 9, filterHeight: 3, filterWidth: 3, channels: 8, numFilters: 12, strideHeight: 1, strideWidth: 1 };
    const data = randomLayerData(dense, rng);
    const K = 72;
    const w = filterMatrix(data.filter, K, 12);
    // Prune two of every three rows (e.g. channel/position pruning after a permutation).
    for (let r = 0; r < K; r++) if (r % 3 !== 0) w.fill(0, r * 12, r * 12 + 12);
    for (let j = 0; j < 12; j++) for (let r = 0; r < K; r++) data.filter[j * K + r] = w[r * 12 + j];
    const packed = withPackedWeights(dense, rowBitmaskFormat, w);
    assert.equal(packed.packed?.keptRows.length, 24);
    assert.equal(packed.packed?.metadataWords, 9);
    const pd = { ifmap: data.ifmap, filter: packedFilterData(packed.packed?.values as Int32Array, 24, 12) };
    const cyc = simulateLayerCycle(packed, cfg, pd);
    assert.deepEqual(cyc.ofmap, referenceGemm(dense, data), `${dataflow}: packed outputs`);
    assert.deepEqual(cyc.result, simulateLayerAnalytical(packed, cfg), `${dataflow}: packed counts`);
    const d = simulateLayerAnalytical(dense, cfg);
    assert.ok(cyc.result.totalCycles < d.totalCycles, `${dataflow}: fewer cycles`);
    assert.equal(cyc.result.macs * 3, d.macs);
    assert.ok(cyc.result.metadata.sramReads > 0 && cyc.result.metadata.dramReads > 0);
    assert.equal(d.metadata.sramReads, 0);
  }
});

test('multiplexed packed weights (per-PE selects): cycle outputs = reference = the dense scatter, counts = analytical, overhead rows', () => {
  const rng = new Rng(17);
  const cfg: SystolicConfig = { ...DEFAULT_CONFIG, dataflow: 'ws', arrayHeight: 4, arrayWidth: 4, ifmapSramKb: 1, filterSramKb: 1, ofmapSramKb: 1 };
  const dense: SystolicLayer = { name: 'mux', ifmapHeight: 6, ifmapWidth: 5, filterHeight: 3, filterWidth: 2, channels: 3, numFilters: 6, strideHeight: 2, strideWidth: 1 };
  const K = 18;
  const N = 6;
  for (let trial = 0; trial < 4; trial++) {
    const kp = 3 + rng.int(8);
    const select = new Int32Array(kp * N);
    const values = new Int32Array(kp * N);
    for (let i = 0; i < select.length; i++) {
      select[i] = rng.next() < 0.2 ? -1 : rng.int(K);
      values[i] = select[i] < 0 ? 0 : rng.int(255) - 127;
    }
    const keptRows = Int32Array.from({ length: kp }, (_, i) => Math.max(select[i * N], 0));
    const layer: SystolicLayer = {
      ...dense,
      packed: { format: 'test-mux', keptRows, values, metadataWords: kp, select, muxFanIn: 4, busWordsPerVector: 2 * kp, slotBits: trial % 2 ? 5 : 8 },
    };
    const data = randomLayerData(dense, rng);
    const pd = { ifmap: data.ifmap, filter: packedFilterData(values, kp, N) };
    const cyc = simulateLayerCycle(layer, cfg, pd);
    assert.deepEqual(cyc.ofmap, referenceGemm(layer, pd), `trial ${trial}: cycle = reference`);
    // The dense layer with the packed weights scattered back (duplicate selects add up).
    const w = new Int32Array(K * N);
    for (let k = 0; k < kp; k++) for (let n = 0; n < N; n++) if (select[k * N + n] >= 0) w[select[k * N + n] * N + n] += values[k * N + n];
    const dd = { ifmap: data.ifmap, filter: new Int32Array(K * N) };
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) dd.filter[n * K + k] = w[k * N + n];
    assert.deepEqual(cyc.ofmap, referenceGemm(dense, dd), `trial ${trial}: packed = dense`);
    assert.deepEqual(cyc.result, simulateLayerAnalytical(layer, cfg), `trial ${trial}: counts`);
    const mux = cyc.result.mux;
    assert.ok(mux);
    assert.equal(mux.selects, cyc.result.macs);
    assert.equal(mux.busReads, 2 * kp * cyc.result.gemm.m * Math.ceil(N / 4));
    const rows = layerActions(cyc.result, cfg);
    const row = (c: string, a: string) => rows.find((r) => r.component === c && r.action === a)?.count;
    assert.equal(row('systolic-mux', 'mux2-8b'), 3 * cyc.result.macs);
    assert.equal(row('systolic-pe', trial % 2 ? 'mac-sub4x8' : 'mac-int8'), cyc.result.macs);
    assert.ok(runEnergy([cyc.result], cfg).totalPj > 0);
  }
  const bad: SystolicLayer = { ...dense, packed: { format: 'x', keptRows: Int32Array.from([0]), values: new Int32Array(N), metadataWords: 0, select: new Int32Array(N).fill(K) } };
  assert.throws(() => simulateLayerAnalytical(bad, cfg), /select/);
  const os: SystolicLayer = { ...dense, packed: { format: 'x', keptRows: Int32Array.from([0]), values: new Int32Array(N), metadataWords: 0, select: new Int32Array(N) } };
  assert.throws(() => simulateLayerCycle(os, { ...cfg, dataflow: 'os' }, { ifmap: randomLayerData(dense, rng).ifmap, filter: new Int32Array(N) }), /weight-stationary/);
});
