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
