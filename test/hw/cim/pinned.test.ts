/**
 * Pins the CIM network results (ADC codes, layer MACs, logits, accuracies, partial-sum histograms,
 * per-layer β) on generated fixtures. The expected values were recorded from the implementation
 * before the workload runtime existed; any change in them is a change of the CIM model's results.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { macroConfig, type MacroConfigInput } from '../../../src/hw/cim/config.js';
import { MacroChip } from '../../../src/hw/cim/macro.js';
import { calibrateBoost, layerBoostMap, MappedNetwork, partialSumHistograms } from '../../../src/hw/cim/network.js';
import { evaluateAccuracy, floatForward, quantizeWorkload } from '../../../src/nn/runtime/index.js';
import type { ConvOp, Workload } from '../../../src/nn/workload.js';
import { tinyWorkload } from './fixtures.js';

/** FNV-1a over the 32-bit patterns of the values. */
class Hash {
  h = 0x811c9dc5;
  private readonly f = new Float32Array(1);
  private readonly u = new Uint32Array(this.f.buffer);
  int(v: number): void {
    this.word(v | 0);
  }
  float(v: number): void {
    this.f[0] = v;
    this.word(this.u[0]);
  }
  private word(w: number): void {
    for (let s = 0; s < 32; s += 8) {
      this.h ^= (w >>> s) & 255;
      this.h = Math.imul(this.h, 0x01000193) >>> 0;
    }
  }
  hex(): string {
    return this.h.toString(16).padStart(8, '0');
  }
}

/** conv 3×3 stride 2 'same' (1→3, relu) → conv 2×2 'valid' (3→5) → relu → maxpool 2 → flatten → dense → 4. */
function stridedWorkload(rng: Rng): Workload {
  const c1: ConvOp = {
    kind: 'conv2d',
    name: 'c1',
    inShape: [9, 9, 1],
    outShape: [5, 5, 3],
    kernel: [3, 3],
    strides: [2, 2],
    padding: 'same',
    weights: new Float32Array(27).map(() => rng.normal(0, 0.5)),
    bias: new Float32Array(3).map(() => rng.normal(0, 0.1)),
    activation: 'relu',
  };
  const c2: ConvOp = {
    kind: 'conv2d',
    name: 'c2',
    inShape: [5, 5, 3],
    outShape: [4, 4, 5],
    kernel: [2, 2],
    strides: [1, 1],
    padding: 'valid',
    weights: new Float32Array(60).map(() => rng.normal(0, 0.4)),
    bias: null,
    activation: 'linear',
  };
  return {
    name: 'strided',
    inputShape: [9, 9, 1],
    normalization: { mean: [0.4], std: [0.3] },
    ops: [
      c1,
      c2,
      { kind: 'relu', name: 'r' },
      { kind: 'maxpool', name: 'p', inShape: [4, 4, 5], outShape: [2, 2, 5], pool: [2, 2], strides: [2, 2] },
      { kind: 'flatten', name: 'f' },
      {
        kind: 'dense',
        name: 'd',
        inFeatures: 20,
        outFeatures: 4,
        weights: new Float32Array(80).map(() => rng.normal(0, 0.4)),
        bias: new Float32Array(4).map(() => rng.normal(0, 0.1)),
        activation: 'linear',
      },
    ],
  };
}

const MACROS: MacroConfigInput[] = [
  { rows: 8, columns: 2 },
  { rows: 16, columns: 4, macFolding: 'off', boostedClipping: 'off' },
  { rows: 16, columns: 3, macFolding: 'range', foldGroups: 2, boostedClipping: 'wl-boost' },
  { rows: 12, columns: 8, macFolding: 'signed-split', adc: 'ramp', inputEncoding: 'pulse-count' },
  { rows: 64, columns: 64 },
];

interface Pinned {
  floatLogits: string;
  quantized: string;
  ideal: string;
  idealAccuracy: number;
  macros: { codes: string; logits: string; accuracy: number; clipped: number; conversions: number; macros: number }[];
  histograms: string;
  boosts: number[];
}

function pin(wl: Workload, inputSize: number, seed: number): Pinned {
  const rng = new Rng(seed);
  const count = 48;
  const x = new Float32Array(count * inputSize).map(() => (rng.next() < 0.3 ? 0 : rng.next()));
  const floatLogits = floatForward(wl, x, count);
  const classes = floatLogits.length / count;
  // Labels: the float network's prediction on a perturbed copy, so accuracies are informative (< 1).
  const xp = x.map((v) => Math.max(0, Math.min(1, v + rng.normal(0, 0.2))));
  const lp = floatForward(wl, xp, count);
  const labels = Array.from({ length: count }, (_, b) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (lp[b * classes + c] > lp[b * classes + best]) best = c;
    return best;
  });
  const set = { x, labels, count };
  const hf = new Hash();
  for (const v of floatLogits) hf.float(v);
  const net = quantizeWorkload(wl, { calib: x.subarray(0, 16 * inputSize), calibCount: 16, percentile: 0.999 });
  const hq = new Hash();
  for (const L of net.layers) {
    for (const v of L.wq) hq.int(v);
    for (const v of L.wScale) hq.float(v);
    hq.float(L.inScale);
    for (const v of L.bias) hq.float(v);
  }
  const ideal = new MappedNetwork(net, { kind: 'ideal' });
  const hi = new Hash();
  for (const v of ideal.forward(x, count)) hi.float(v);
  const idealAccuracy = evaluateAccuracy((xb, b) => ideal.forward(xb, b), set, classes, 20);
  const hh = new Hash();
  const boosts: number[] = [];
  const macros = MACROS.map((input, mi) => {
    const config = macroConfig(input);
    const hists = partialSumHistograms(net, x, count, config.rows, undefined, 20, [{ mode: config.macFolding, groups: config.macFolding === 'range' ? config.foldGroups : 1 }]);
    for (const h of hists) {
      for (let i = 0; i < h.counts.length; i++)
        if (h.counts[i] > 0) {
          hh.int(i);
          hh.int(h.counts[i]);
        }
      hh.float(h.sigma);
      const lh = h.lines[config.macFolding];
      if (lh)
        for (let i = 0; i < lh.counts.length; i++)
          if (lh.counts[i] > 0) {
            hh.int(i);
            hh.int(lh.counts[i]);
          }
    }
    const lb = calibrateBoost(hists, config, { clipRateTarget: 1e-2, maxBoost: 16 });
    for (const b of lb) boosts.push(b.boost);
    const hc = new Hash();
    const orig = MacroChip.prototype.convert;
    MacroChip.prototype.convert = function (this: MacroChip, ...args: Parameters<MacroChip['convert']>): void {
      orig.apply(this, args);
      for (const c of args[6]) hc.int(c);
    };
    try {
      const mapped = new MappedNetwork(net, { kind: 'macro', config, seed: 3 + mi, noiseScale: mi === 2 ? 2 : 1, layerBoost: layerBoostMap(lb) });
      const hl = new Hash();
      for (const v of mapped.forward(x, count)) hl.float(v);
      const accuracy = evaluateAccuracy((xb, b) => mapped.forward(xb, b), set, classes, 20);
      return { codes: hc.hex(), logits: hl.hex(), accuracy, clipped: mapped.clipped, conversions: mapped.conversions, macros: mapped.macros };
    } finally {
      MacroChip.prototype.convert = orig;
    }
  });
  return { floatLogits: hf.hex(), quantized: hq.hex(), ideal: hi.hex(), idealAccuracy, macros, histograms: hh.hex(), boosts };
}

// Recorded from the implementation before the workload runtime (hw/cim/network.ts with its own quantizer and im2col).
const TINY: Pinned = {
  floatLogits: '97954eff',
  quantized: 'b9f4ea9a',
  ideal: 'a3f6aa1f',
  idealAccuracy: 0.6458333333333334,
  macros: [
    { codes: '92381ce3', logits: '149ad702', accuracy: 0.6875, clipped: 2, conversions: 42912, macros: 16 },
    { codes: 'bb505b57', logits: '3a8e0e97', accuracy: 0.5416666666666666, clipped: 0, conversions: 28512, macros: 5 },
    { codes: 'ac659b88', logits: 'a38d87ef', accuracy: 0.6666666666666666, clipped: 0, conversions: 28512, macros: 7 },
    { codes: '4b5ef7f0', logits: 'cef0d2bf', accuracy: 0.6458333333333334, clipped: 0, conversions: 28512, macros: 5 },
    { codes: '191490e0', logits: '54c75326', accuracy: 0.6458333333333334, clipped: 0, conversions: 14112, macros: 2 },
  ],
  histograms: '217e0d28',
  boosts: [4, 4, 1, 1, 8, 8, 4, 8, 16, 16],
};
const STRIDED: Pinned = {
  floatLogits: 'c1b10a13',
  quantized: '077482c8',
  ideal: 'ab8a36ab',
  idealAccuracy: 0.9375,
  macros: [
    { codes: '5f55bf90', logits: '0dba13f6', accuracy: 0.9375, clipped: 0, conversions: 30912, macros: 16 },
    { codes: '1bd6c5e1', logits: 'a82985f6', accuracy: 0.8958333333333334, clipped: 0, conversions: 15648, macros: 5 },
    { codes: 'cdbacae2', logits: 'd5895ace', accuracy: 0.8958333333333334, clipped: 0, conversions: 15648, macros: 7 },
    { codes: '40e4dbfa', logits: '3e8da684', accuracy: 0.875, clipped: 0, conversions: 15648, macros: 4 },
    { codes: '7e32d278', logits: 'e1ff4480', accuracy: 0.9166666666666666, clipped: 0, conversions: 15264, macros: 3 },
  ],
  histograms: '890af5a1',
  boosts: [4, 4, 4, 1, 1, 1, 8, 8, 8, 4, 8, 8, 16, 16, 16],
};

test('CIM results on the tiny fixture are unchanged', () => {
  assert.deepEqual(pin(tinyWorkload(new Rng(21), { mean: [0.3, 0.5], std: [0.2, 0.4] }), 72, 22), TINY);
});

test('CIM results on the strided fixture (stride 2, valid padding, relu op) are unchanged', () => {
  assert.deepEqual(pin(stridedWorkload(new Rng(31)), 81, 32), STRIDED);
});
