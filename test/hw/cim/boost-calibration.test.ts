import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { macroConfig } from '../../../src/hw/cim/config.js';
import { designMacro } from '../../../src/hw/cim/macro.js';
import { calibrateBoost, clipRateOf, MappedNetwork, partialSumHistograms } from '../../../src/hw/cim/network.js';
import { DEFAULT_ACTIVATION_SPEC, DEFAULT_WEIGHT_SPEC, type QuantizedWorkload } from '../../../src/nn/runtime/index.js';
import type { Workload } from '../../../src/nn/workload.js';

const K = 64;
const N = 8;

/** One dense layer K→N with integer weights drawn by `w`, inputs on raw 0…1 quantized with scale 1/15. */
function denseNet(w: () => number): QuantizedWorkload {
  const wq = new Int32Array(K * N).map(() => w());
  const workload: Workload = {
    name: 'gen',
    inputShape: [K],
    normalization: null,
    ops: [{ kind: 'dense', name: 'd', inFeatures: K, outFeatures: N, weights: Float32Array.from(wq), bias: null, activation: 'linear' }],
  };
  return {
    workload,
    weights: DEFAULT_WEIGHT_SPEC,
    activations: DEFAULT_ACTIVATION_SPEC,
    weightRange: [-7, 7],
    actRange: [0, 15],
    layers: [
      {
        opIndex: 0,
        name: 'd',
        kind: 'dense',
        k: K,
        n: N,
        wq,
        wScale: new Float32Array(N).fill(1),
        wZero: new Int32Array(N),
        inScale: 1 / 15,
        bias: new Float32Array(N),
        biasPerPosition: false,
      },
    ],
  };
}

/** Plain reference: the exact partial sums of every (image, row tile, column). */
function referenceSums(net: QuantizedWorkload, x: Float32Array, count: number, rows: number): number[] {
  const L = net.layers[0];
  const out: number[] = [];
  for (let b = 0; b < count; b++)
    for (let r0 = 0; r0 < L.k; r0 += rows)
      for (let j = 0; j < L.n; j++) {
        let s = 0;
        for (let i = r0; i < Math.min(L.k, r0 + rows); i++) s += Math.min(15, Math.max(0, Math.round(x[b * K + i] * 15))) * L.wq[i * L.n + j];
        out.push(s);
      }
  return out;
}

test('boost calibration: larger β for a narrow partial-sum distribution, clip rate within the target', () => {
  const rng = new Rng(11);
  const count = 200;
  const rows = 32;
  const config = macroConfig({ rows, boostedClipping: 'gain', macFolding: 'sign-magnitude' });
  // Narrow: small random-sign weights and sparse small inputs (a DNN-like σ ≪ worst case).
  const narrow = denseNet(() => rng.int(5) - 2);
  const xNarrow = new Float32Array(count * K).map(() => (rng.next() < 0.3 ? rng.int(4) / 15 : 0));
  // Wide: same-sign large weights and large inputs (partial sums near the worst case).
  const wide = denseNet(() => 4 + rng.int(4));
  const xWide = new Float32Array(count * K).map(() => (8 + rng.int(8)) / 15);
  const target = 1e-3;
  const hN = partialSumHistograms(narrow, xNarrow, count, rows, undefined, 64);
  const hW = partialSumHistograms(wide, xWide, count, rows, undefined, 64);
  // The histograms hold exactly the reference partial sums.
  for (const [net, x, h] of [
    [narrow, xNarrow, hN[0]],
    [wide, xWide, hW[0]],
  ] as const) {
    const ref = referenceSums(net, x, count, rows);
    assert.equal(h.total, ref.length);
    const counts = new Map<number, number>();
    for (const v of ref) counts.set(v, (counts.get(v) ?? 0) + 1);
    for (const [v, c] of counts) assert.equal(h.counts[v + h.offset], c, `count of partial sum ${v}`);
    assert.equal(h.maxAbs, Math.max(...ref.map(Math.abs)));
  }
  const bN = calibrateBoost(hN, config, { clipRateTarget: target, maxBoost: 64 })[0];
  const bW = calibrateBoost(hW, config, { clipRateTarget: target, maxBoost: 64 })[0];
  assert.ok(bW.clipRate < clipRateOf(hW[0], { ...config, boost: 2 * bW.boost }), 'the wide layer clips at twice its β');
  assert.ok(bN.boost > bW.boost, `narrow β ${bN.boost} should exceed wide β ${bW.boost}`);
  for (const [b, h] of [
    [bN, hN[0]],
    [bW, hW[0]],
  ] as const) {
    assert.ok(b.clipRate <= target, `clip rate ${b.clipRate} > target ${target}`);
    assert.equal(b.clipRate, clipRateOf(h, { ...config, boost: b.boost }));
    // β is the LARGEST such power of two: doubling it (while it still changes the ADC step) breaks the target.
    const d2 = designMacro({ ...config, boost: 2 * b.boost });
    if (b.boost < 64 && d2.step < b.step) assert.ok(clipRateOf(h, { ...config, boost: 2 * b.boost }) > target);
  }
  // Boosted-clipping off: β = 1 regardless of the distribution.
  assert.equal(calibrateBoost(hN, { ...config, boostedClipping: 'off' }, { clipRateTarget: target, maxBoost: 64 })[0].boost, 1);
  // The macro path uses the per-layer β.
  const mapped = new MappedNetwork(narrow, { kind: 'macro', config, seed: 1, layerBoost: { 0: bN.boost } });
  assert.equal(mapped.tiles(narrow.layers[0])[0].chip.design.boost, bN.boost);
  mapped.dispose();
  assert.throws(() => calibrateBoost(hN, config, { clipRateTarget: target, maxBoost: 48 }), /maxBoost/);
});

test('boost calibration: bit-line headroom limits β without sign routing (folding off)', () => {
  const rng = new Rng(12);
  const count = 100;
  const rows = 32;
  // Symmetric weights, dense large inputs: signed partial sums stay small (σ ≪ worst case), but in two's
  // complement each line carries a large common mode.
  const net = denseNet(() => rng.int(15) - 7);
  const x = new Float32Array(count * K).map(() => (10 + rng.int(6)) / 15);
  const modes = [
    { mode: 'off' as const, groups: 1 },
    { mode: 'sign-magnitude' as const, groups: 1 },
  ];
  const [h] = partialSumHistograms(net, x, count, rows, undefined, 32, modes);
  const off = h.lines.off;
  const sm = h.lines['sign-magnitude'];
  assert.ok(off && sm);
  // Plain reference of the largest line cell-time in two's complement (bits 0–2 set → BLB, bit 3 set → BL, bias → BL).
  let refMax = 0;
  for (let b = 0; b < count; b++)
    for (let r0 = 0; r0 < K; r0 += rows)
      for (let j = 0; j < N; j++) {
        let bl = 0;
        let blb = 0;
        for (let i = r0; i < r0 + rows; i++) {
          const xq = Math.round(x[b * K + i] * 15);
          const u = net.layers[0].wq[i * N + j] & 15;
          for (let k = 0; k < 3; k++) {
            if ((u >> k) & 1) blb += xq * 2 ** k;
            else bl += xq * 2 ** k;
          }
          if ((u >> 3) & 1) bl += 8 * xq;
          else blb += 8 * xq;
          bl += xq;
        }
        refMax = Math.max(refMax, bl, blb);
      }
  assert.equal(off.max, refMax);
  assert.ok(off.max > sm.max, "two's complement lines carry more cell-time than sign-routed lines");
  const cfgOff = macroConfig({ rows, macFolding: 'off', boostedClipping: 'gain' });
  const cfgSm = macroConfig({ rows, macFolding: 'sign-magnitude', boostedClipping: 'gain' });
  const target = 1e-3;
  const bOff = calibrateBoost([h], cfgOff, { clipRateTarget: target, maxBoost: 64 })[0];
  const bSm = calibrateBoost([h], cfgSm, { clipRateTarget: target, maxBoost: 64 })[0];
  assert.ok(bSm.boost > bOff.boost, `sign-magnitude β ${bSm.boost} should exceed folding-off β ${bOff.boost}`);
  assert.ok(bOff.clipRate <= target && bSm.clipRate <= target);
  // Without line histograms only the ADC code range counts, and the folding-off β would be larger.
  const noLines = { ...h, lines: {} };
  assert.ok(calibrateBoost([noLines], cfgOff, { clipRateTarget: target, maxBoost: 64 })[0].boost > bOff.boost);
});
