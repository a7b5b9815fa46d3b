import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetCost, budgetMask, packBudgeted, prunedStats, searchBudgetOrders } from '../../src/compress/budget.js';
import { columnCombineMask } from '../../src/compress/column-combine.js';
import { searchOrders } from '../../src/compress/permute.js';
import { bestPackingMasks, packingCandidates, packingMasks, specLabel } from '../../src/compress/masks.js';
import { type IntMatrix, intMatrix, matricesEqual, syntheticWeights } from '../../src/compress/matrix.js';
import { unpackTight } from '../../src/compress/tight.js';
import { ConfigError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';

function randomSparse(rng: Rng, rows: number, cols: number, density: number): IntMatrix {
  const m = intMatrix(rows, cols);
  for (let i = 0; i < m.values.length; i++) if (rng.next() < density) m.values[i] = (rng.int(127) + 1) * (rng.next() < 0.5 ? -1 : 1);
  return m;
}

test('budgeted packing keeps the k largest per (row, group), unpacks to the pruned matrix, k = groupSize is lossless', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 40; trial++) {
    const rows = 1 + rng.int(30);
    const cols = 1 + rng.int(40);
    const m = randomSparse(rng, rows, cols, rng.next());
    const g = 1 + rng.int(8);
    const k = 1 + rng.int(g);
    const layout = { tileRows: 1 + rng.int(10), groupSize: g, slotsPerGroup: k };
    const orders = { rowOrder: rng.permutation(rows), colOrder: rng.permutation(cols) };
    const bp = packBudgeted(m, layout, orders);
    assert.ok(matricesEqual(unpackTight(bp.packed), bp.pruned), `trial ${trial}`);
    for (const w of bp.packed.widths) assert.ok(w <= k);
    // Per (row, group): min(k, nnz) kept, and every kept |w| ≥ every pruned |w|.
    for (let r = 0; r < rows; r++) {
      for (let p = 0; p * g < cols; p++) {
        const pos = Array.from({ length: Math.min(g, cols - p * g) }, (_, i) => orders.colOrder[p * g + i]);
        const nz = pos.filter((c) => m.values[r * cols + c] !== 0);
        const kept = nz.filter((c) => bp.mask[r * cols + c]);
        assert.equal(kept.length, Math.min(k, nz.length));
        const minKept = Math.min(...kept.map((c) => Math.abs(m.values[r * cols + c])));
        for (const c of nz) if (!bp.mask[r * cols + c]) assert.ok(Math.abs(m.values[r * cols + c]) <= minKept);
      }
    }
    const lossless = packBudgeted(m, { ...layout, slotsPerGroup: g }, orders);
    assert.equal(lossless.stats.pruned, 0);
    assert.ok(matricesEqual(lossless.pruned, m));
  }
});

test('budgeted search: incremental objective equals the recomputed one, and the pruned L1 share of the mask', () => {
  const rng = new Rng(8);
  for (const [k, objective] of [
    [1, 'l1'],
    [2, 'l2'],
    [1, 'count'],
  ] as const) {
    const m = randomSparse(rng, 48, 96, 0.15);
    const layout = { tileRows: 16, groupSize: 8, slotsPerGroup: k };
    const found = searchBudgetOrders(m, layout, { seed: 4, objective, movesPerTemperature: 1 });
    const recomputed = budgetCost(m, layout, found, objective);
    assert.ok(Math.abs(recomputed - found.stats.bestCost) < 1e-9, `${objective}: ${recomputed} vs ${found.stats.bestCost}`);
    assert.ok(found.stats.bestCost <= found.stats.greedyCost + 1e-12);
    const stats = prunedStats(m.values, budgetMask(m, layout, found));
    const share = objective === 'l1' ? stats.l1Share : objective === 'l2' ? stats.l2Share : stats.pruned / stats.nonzerosBefore;
    assert.ok(Math.abs(share - found.stats.bestCost) < 1e-9);
  }
});

test('budgeted search finds the brute-force optimum over column orders of small matrices', () => {
  const perms = (n: number): number[][] => (n === 1 ? [[0]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)])));
  const rng = new Rng(21);
  for (let trial = 0; trial < 5; trial++) {
    const m = randomSparse(rng, 5, 6, 0.5);
    const layout = { tileRows: 5, groupSize: 3, slotsPerGroup: 1 };
    let best = Number.POSITIVE_INFINITY;
    for (const c of perms(6)) best = Math.min(best, budgetCost(m, layout, { rowOrder: Int32Array.from([0, 1, 2, 3, 4]), colOrder: Int32Array.from(c) }));
    const found = searchBudgetOrders(m, layout, { seed: trial, movesPerTemperature: 20, patience: 30 });
    assert.ok(Math.abs(found.stats.bestCost - best) < 1e-12, `trial ${trial}: ${found.stats.bestCost} vs optimum ${best}`);
  }
});

test('at the same shape (g, k = 1) the searched budgeted format prunes less magnitude than column combining', () => {
  const m = syntheticWeights({ rows: 96, cols: 512, sparsity: 0.9, seed: 2 });
  const g = 8;
  const cc = columnCombineMask(m, { maxColumns: g, maxOverlap: 1 });
  const ccStats = prunedStats(m.values, cc.mask);
  const layout = { tileRows: 32, groupSize: g, slotsPerGroup: 1 };
  const found = searchBudgetOrders(m, layout, { seed: 1 });
  const bStats = prunedStats(m.values, budgetMask(m, layout, found));
  // Same number of packed columns per tile (all groups full), less pruned magnitude.
  assert.equal(cc.groups.length, Math.ceil(512 / g));
  assert.ok(bStats.l1Share < ccStats.l1Share, `budgeted ${bStats.l1Share} vs column combining ${ccStats.l1Share}`);
  assert.ok(found.stats.bestCost < found.stats.identityCost);
});

test('packingMasks: K×N layout in and out, masks within the nonzeros, rates, float weights, bad input', () => {
  const rng = new Rng(9);
  const k = 36;
  const n = 20;
  const w = new Float32Array(k * n);
  for (let i = 0; i < w.length; i++) if (rng.next() < 0.3) w[i] = rng.normal();
  const layers = [{ name: 'a', k, n, weights: w }];
  const b = packingMasks(layers, { method: 'budgeted', groupSize: 6, slotsPerGroup: 1 }, { tileRows: 8, seed: 1 });
  const mask = b.layers[0].mask;
  assert.equal(mask.length, k * n);
  for (let i = 0; i < w.length; i++) if (mask[i]) assert.notEqual(w[i], 0);
  // The mask is the budgeted mask of F = transpose under the returned orders.
  const f = { rows: n, cols: k, values: Float64Array.from({ length: k * n }, (_, i) => w[(i % k) * n + Math.floor(i / k)]) };
  const fm = budgetMask(f, { tileRows: 8, groupSize: 6, slotsPerGroup: 1 }, b.layers[0]);
  for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) assert.equal(mask[r * n + j], fm[j * k + r]);
  assert.ok(b.layers[0].pruned.pruned > 0 && b.total.rate > 1);
  const t = packingMasks(layers, { method: 'tight', groupSize: 6 }, { tileRows: 8, seed: 1 });
  assert.equal(t.total.pruned, 0);
  for (let i = 0; i < w.length; i++) assert.equal(t.layers[0].mask[i], w[i] !== 0 ? 1 : 0);
  const c = packingMasks(layers, { method: 'columnCombining', maxColumns: 6, maxOverlap: 1 }, { tileRows: 8, seed: 1 });
  assert.ok(c.total.pruned > 0 && c.total.l1Share > 0 && c.total.l1Share < 1);
  assert.throws(() => packingMasks([{ name: 'x', k: 3, n: 3, weights: new Float32Array(8) }], { method: 'tight', groupSize: 4 }, { tileRows: 8, seed: 1 }), ConfigError);
  assert.throws(() => packingMasks(layers, { method: 'budgeted', groupSize: 4, slotsPerGroup: 5 }, { tileRows: 8, seed: 1 }), /slotsPerGroup/);
});

test('bestPackingMasks: per layer the highest-rate candidate within the pruned-magnitude allowance; 0 gives a lossless packing', () => {
  const rng = new Rng(21);
  const layer = (name: string, k: number, n: number, density: number) => {
    const w = new Float32Array(k * n);
    for (let i = 0; i < w.length; i++) if (rng.next() < density) w[i] = rng.normal();
    return { name, k, n, weights: w };
  };
  // A nearly dense layer and a very sparse one: they need different settings.
  const layers = [layer('dense', 40, 16, 0.7), layer('sparse', 128, 24, 0.06)];
  const o = { tileRows: 8, seed: 3 };
  for (const family of ['budgeted', 'columnCombining'] as const) {
    const grid = packingCandidates(family, { method: 'greedy' });
    const eps = 0.05;
    const best = bestPackingMasks(layers, grid, o, eps);
    assert.equal(best.maxL1Share, eps);
    assert.equal(best.method, family);
    best.layers.forEach((l, i) => {
      assert.ok(l.pruned.l1Share <= eps + 1e-12, `${family} ${l.name}: pruned ${l.pruned.l1Share}`);
      for (let j = 0; j < l.mask.length; j++) if (l.mask[j]) assert.notEqual(layers[i].weights[j], 0);
      // No qualifying candidate of the grid packs this layer at a higher rate.
      for (const spec of grid) {
        const r = packingMasks([layers[i]], spec, { ...o, seed: o.seed + i }).layers[0];
        if (r.pruned.l1Share <= eps + 1e-12) assert.ok(r.rate <= l.rate + 1e-12, `${family} ${l.name}: ${specLabel(spec)} ${r.rate} > chosen ${specLabel(l.spec)} ${l.rate}`);
      }
    });
    assert.notEqual(specLabel(best.layers[0].spec), specLabel(best.layers[1].spec));
    // Every layer packs at least as well as unpacked (the dense member of the grid: rate 1, nothing pruned).
    for (const l of best.layers) assert.ok(l.rate >= 1 - 1e-12, `${family} ${l.name}: ${l.rate}`);
    assert.equal(grid[0].method, 'dense');
    const lossless = bestPackingMasks(layers, grid, o, 0);
    assert.equal(lossless.total.pruned, 0);
    assert.ok(lossless.total.rate <= best.total.rate + 1e-12);
  }
  assert.throws(() => bestPackingMasks(layers, [], o, 0.1), /candidate list is empty/);
  // Subword matrices (2 rows per weight): candidates are ranked by the subword format's own rate, so the
  // unpacked layer (rate 1 against its dense weights) is chosen whenever every packing costs more.
  const sub = { ...o, subwords: { perWeight: 2, valueBits: 5 } };
  const subGrid = packingCandidates('budgeted', { method: 'greedy' });
  const swBest = bestPackingMasks(layers, subGrid, sub, 0.05);
  swBest.layers.forEach((l, i) => {
    assert.equal(l.denseBits, (layers[i].k / 2) * layers[i].n * 8, l.name);
    assert.ok(l.rate >= 1 - 1e-12, `${l.name}: ${l.rate}`);
    for (const spec of subGrid) {
      const r = packingMasks([layers[i]], spec, { ...sub, seed: sub.seed + i }).layers[0];
      if (r.pruned.l1Share <= 0.05 + 1e-12) assert.ok(r.rate <= l.rate + 1e-12, `${l.name}: ${specLabel(spec)}`);
    }
  });
  assert.equal(specLabel(swBest.layers[0].spec), 'dense (unpacked)', 'the nearly dense layer stays unpacked with 5-bit subword slots');
  assert.throws(() => bestPackingMasks(layers, packingCandidates('columnCombining'), sub, 0.05), /column combining packs whole weights/);
  assert.throws(() => bestPackingMasks(layers, packingCandidates('tight'), o, 2), /maxL1Share 2 \(all layers\) must be in 0…1/);
});

test('warm start: orders under which the matrix packs without pruning are kept, the greedy start alone does not find them; bad orders are refused', () => {
  // A matrix with at most k nonzeros per (row, group) under hidden orders, then scrambled.
  const rows = 32;
  const cols = 128;
  const layout = { tileRows: 8, groupSize: 8, slotsPerGroup: 1 };
  const rng = new Rng(21);
  const hidden = { rowOrder: rng.permutation(rows), colOrder: rng.permutation(cols) };
  const values = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let p = 0; p < cols / layout.groupSize; p++) {
      const q = p * layout.groupSize + rng.int(layout.groupSize);
      values[hidden.rowOrder[r] * cols + hidden.colOrder[q]] = 1 + rng.int(100);
    }
  const m = { rows, cols, values };
  const cold = searchBudgetOrders(m, layout, { seed: 1, method: 'greedy' });
  assert.ok(cold.stats.greedyCost > 0, 'the fixture is not found by the greedy start alone');
  assert.equal(cold.stats.startCost, null);
  for (const method of ['greedy', 'anneal'] as const) {
    const warm = searchBudgetOrders(m, layout, { seed: 1, method, start: hidden });
    assert.equal(warm.stats.startCost, 0);
    assert.equal(warm.stats.bestCost, 0);
    assert.equal(budgetCost(m, layout, warm), 0);
  }
  // The tight search keeps a start that packs no wider than the greedy one.
  const pm = intMatrix(
    rows,
    cols,
    Int32Array.from(values, (v) => (v !== 0 ? 1 : 0)),
  );
  const t = searchOrders(pm, layout, { seed: 1, method: 'greedy', start: hidden });
  assert.ok(t.stats.startCost !== null && t.stats.bestCost === Math.min(t.stats.startCost, t.stats.greedyCost));
  assert.throws(() => searchBudgetOrders(m, layout, { seed: 1, start: { rowOrder: hidden.rowOrder, colOrder: hidden.colOrder.slice(1) } }), /colOrder is not a permutation/);
});
