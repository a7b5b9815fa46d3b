import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packBudgeted, searchBudgetOrders } from '../../src/compress/budget.js';
import { combineColumns, unpackColumnCombined } from '../../src/compress/column-combine.js';
import { type IntMatrix, intMatrix } from '../../src/compress/matrix.js';
import { searchOrders } from '../../src/compress/permute.js';
import { DEFAULT_SUBWORD, pruneSubwords, splitSubwords, subwordsPerWeight } from '../../src/compress/subword.js';
import { packTight } from '../../src/compress/tight.js';
import { Rng } from '../../src/core/rng.js';
import { assembleTileOutputs, columnCombinedTiles, type PackedTile, packedArrayLayers, tightTiles } from '../../src/experiments/compress-array.js';
import { simulateLayerAnalytical } from '../../src/hw/systolic/analytical.js';
import { packedFilterData, randomLayerData, referenceGemm, simulateLayerCycle } from '../../src/hw/systolic/cycle.js';
import { DEFAULT_CONFIG, type SystolicConfig, type SystolicLayer } from '../../src/hw/systolic/types.js';

const cfg: SystolicConfig = { ...DEFAULT_CONFIG, dataflow: 'ws', arrayHeight: 8, arrayWidth: 8, ifmapSramKb: 1, filterSramKb: 1, ofmapSramKb: 1 };
const base: SystolicLayer = { name: 'conv', ifmapHeight: 7, ifmapWidth: 6, filterHeight: 3, filterWidth: 3, channels: 4, numFilters: 20, strideHeight: 1, strideWidth: 1 };
const K = 36;
const N = 20;

function randomF(rng: Rng, density: number): IntMatrix {
  const m = intMatrix(N, K);
  for (let i = 0; i < m.values.length; i++) if (rng.next() < density) m.values[i] = (rng.int(127) + 1) * (rng.next() < 0.5 ? -1 : 1);
  return m;
}

/** Runs the tiles on the cycle-level mode and checks them against the dense layer with weights `f` (F layout = filter operand order). */
function checkOnArray(tiles: PackedTile[], f: IntMatrix, fanIn: number, slotBits: number, ifmap: Int32Array, what: string): void {
  const layers = packedArrayLayers(base, tiles, { name: what, fanIn, slotBits });
  const outs = layers.map((l, i) => {
    const r = simulateLayerCycle(l, cfg, { ifmap, filter: packedFilterData(tiles[i].values, tiles[i].depth, tiles[i].filters.length) });
    assert.deepEqual(r.result, simulateLayerAnalytical(l, cfg), `${what}: tile ${i} counts`);
    return r.ofmap;
  });
  const m = outs.length ? outs[0].length / tiles[0].filters.length : 0;
  const dense = referenceGemm(base, { ifmap, filter: f.values });
  assert.deepEqual(assembleTileOutputs(tiles, outs, dense.length / N, N), dense, `${what}: packed = dense pruned outputs`);
  assert.ok(m > 0);
}

test('packed layers on the cycle-level array give exactly the dense pruned layer outputs (tight, budgeted, column combining, subwords)', () => {
  const rng = new Rng(12);
  for (let trial = 0; trial < 2; trial++) {
    const f = randomF(rng, 0.25 + 0.2 * trial);
    const ifmap = randomLayerData(base, rng).ifmap;
    const layout = { tileRows: cfg.arrayWidth, groupSize: 4 };
    const tight = packTight(f, layout, searchOrders(f, layout, { seed: trial, movesPerTemperature: 1 }));
    checkOnArray(tightTiles(tight), f, 4, 8, ifmap, 'tight');
    const bl = { ...layout, slotsPerGroup: 1 };
    const bp = packBudgeted(f, bl, searchBudgetOrders(f, bl, { seed: trial, movesPerTemperature: 1 }));
    assert.ok(bp.stats.pruned > 0);
    checkOnArray(tightTiles(bp.packed), bp.pruned, 4, 8, ifmap, 'budgeted');
    const cc = combineColumns(f, { maxColumns: 4, maxOverlap: 0.3 });
    checkOnArray(columnCombinedTiles(cc, cfg.arrayWidth), unpackColumnCombined(cc), 4, 8, ifmap, 'column combining');
    const sp = pruneSubwords(f, { fraction: 0.3 }).matrix;
    const sm = splitSubwords(sp);
    const spk = packTight(sm, layout, searchOrders(sm, layout, { seed: trial, movesPerTemperature: 1 }));
    checkOnArray(tightTiles(spk, { perWeight: subwordsPerWeight(DEFAULT_SUBWORD), subwordBits: 4 }), sp, 4, 5, ifmap, 'subwords');
  }
});

test('packedNetworkOnArray: per-layer packings of a pruned network against its dense layers (sparse layers faster, a dense one only when pruned, totals = sums)', async () => {
  const { packingMasks } = await import('../../src/compress/masks.js');
  const { fromKxN } = await import('../../src/compress/matrix.js');
  const { packedNetworkOnArray } = await import('../../src/experiments/compress.js');
  const rng = new Rng(31);
  const layer = (name: string, k: number, n: number, density: number) => {
    const w = new Int32Array(k * n);
    for (let i = 0; i < w.length; i++) if (rng.next() < density) w[i] = 1 + Math.floor(rng.next() * 100) * (rng.next() < 0.5 ? -1 : 1);
    return { name, k, n, weights: w, vectors: 49 };
  };
  const sparse = layer('sparse', 288, 64, 0.08);
  const dense = layer('dense', 72, 16, 1);
  const specs = [
    { method: 'budgeted' as const, groupSize: 16, slotsPerGroup: 2, search: { method: 'greedy' as const } },
    { method: 'columnCombining' as const, maxColumns: 8, maxOverlap: 0.05 },
    { method: 'tight' as const, groupSize: 4, search: { method: 'greedy' as const } },
  ];
  for (const spec of specs) {
    const o = { tileRows: 16, seed: 1 };
    const pm = packingMasks([sparse, dense], spec, o);
    const layers = pm.layers.map((l, i) => {
      const src = [sparse, dense][i];
      const codes = Int32Array.from(src.weights, (v, j) => (l.mask[j] ? v : 0));
      return { name: l.name, vectors: 49, codes: fromKxN(codes, l.k, l.n), spec: l.spec, rowOrder: l.rowOrder, colOrder: l.colOrder, ccGroups: l.ccGroups, subwords: false };
    });
    const r = packedNetworkOnArray(layers, { rows: 16, cols: 16 });
    assert.ok(r.layers[0].throughput > 2, `${spec.method}: sparse layer ${r.layers[0].throughput}`);
    // A dense layer gains nothing from lossless packing; the lossy formats prune it to their shape.
    if (spec.method === 'tight') assert.ok(r.layers[1].throughput <= 1 + 1e-9, `tight: dense layer ${r.layers[1].throughput}`);
    else assert.ok(r.layers[1].throughput >= 1 - 1e-9, `${spec.method}: pruned dense layer ${r.layers[1].throughput}`);
    assert.equal(r.dense.cycles, r.layers[0].denseCycles + r.layers[1].denseCycles);
    assert.equal(r.packed.cycles, r.layers[0].cycles + r.layers[1].cycles);
    assert.ok(Math.abs(r.throughput - r.dense.cycles / r.packed.cycles) < 1e-12);
    assert.ok(r.energyEfficiency > 0 && Number.isFinite(r.energyEfficiency));
  }
  const cc = packingMasks([sparse], specs[1], { tileRows: 16, seed: 1 }).layers[0];
  assert.throws(
    () =>
      packedNetworkOnArray(
        [{ name: 'x', vectors: 1, codes: fromKxN(sparse.weights, 288, 64), spec: specs[1], rowOrder: cc.rowOrder, colOrder: cc.colOrder, ccGroups: null, subwords: false }],
        { rows: 16, cols: 16 },
      ),
    /ccGroups/,
  );
});
