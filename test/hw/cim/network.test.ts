import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../../src/core/engine.js';
import { Rng } from '../../../src/core/rng.js';
import { macroConfig } from '../../../src/hw/cim/config.js';
import { codeToMac } from '../../../src/hw/cim/macro.js';
import { MappedNetwork } from '../../../src/hw/cim/network.js';
import { floatForward, gemmInput, quantizeActivations, quantizeWorkload } from '../../../src/nn/runtime/index.js';
import type { ConvOp } from '../../../src/nn/workload.js';
import { workloadFromModel } from '../../../src/nn/workload.js';
import { tinyWorkload } from './fixtures.js';

/** Direct convolution (no im2col), 'same' padding, stride 1. */
function naiveConv(x: Float32Array, op: ConvOp): Float32Array {
  const [h, w, c] = op.inShape;
  const oc = op.outShape[2];
  const out = new Float32Array(h * w * oc);
  for (let y = 0; y < h; y++)
    for (let xx = 0; xx < w; xx++)
      for (let o = 0; o < oc; o++) {
        let s = op.bias ? op.bias[o] : 0;
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) {
            const iy = y + i - 1;
            const ix = xx + j - 1;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            for (let ch = 0; ch < c; ch++) s += x[(iy * w + ix) * c + ch] * op.weights[((i * 3 + j) * c + ch) * oc + o];
          }
        out[(y * w + xx) * oc + o] = Math.max(0, s);
      }
  return out;
}

test('im2col-based float forward matches a direct convolution', () => {
  const rng = new Rng(1);
  const wl = tinyWorkload(rng);
  const x = new Float32Array(72).map(() => rng.next());
  let tapped: Float32Array | null = null;
  floatForward(wl, x, 1, {
    capture: ({ opIndex, input }) => {
      if (opIndex === 3) tapped = input;
    },
  });
  const want = naiveConv(x, wl.ops[0] as ConvOp);
  // The dense layer's input is the pooled conv output: compare the conv itself through im2col.
  const cols = gemmInput(wl.ops[0] as ConvOp, x, 1);
  assert.equal(cols.length, 36 * 18);
  assert.ok(tapped !== null);
  const conv = wl.ops[0] as ConvOp;
  for (let p = 0; p < 36; p++)
    for (let o = 0; o < 4; o++) {
      let s = conv.bias![o];
      for (let k = 0; k < 18; k++) s += cols[p * 18 + k] * conv.weights[k * 4 + o];
      assert.ok(Math.abs(Math.max(0, s) - want[p * 4 + o]) < 1e-5);
    }
});

test('ideal 4-bit mapping equals an exact integer computation; folded normalisation is exact', () => {
  const rng = new Rng(2);
  const wl = tinyWorkload(rng, { mean: [0.3, 0.5], std: [0.2, 0.4] });
  const calib = new Float32Array(72 * 8).map(() => rng.next());
  const net = quantizeWorkload(wl, { calib, calibCount: 8, percentile: 0.999 });
  const ideal = new MappedNetwork(net, { kind: 'ideal' });
  const x = calib.subarray(0, 72);
  // First layer: the integer MACs of the quantized input and weights.
  const L = net.layers[0];
  const q = gemmInput(wl.ops[0] as ConvOp, quantizeActivations(x, L.inScale, [0, 15]), 1);
  const macs = ideal.layerMacs(L, q, 36);
  for (let p = 0; p < 36; p++)
    for (let o = 0; o < 4; o++) {
      let s = 0;
      for (let k = 0; k < L.k; k++) s += q[p * L.k + k] * L.wq[k * 4 + o];
      assert.equal(macs[p * 4 + o], s);
    }
  // With very fine quantization, the folded normalisation (weights/σ + bias map) reproduces the float net.
  const fine = new MappedNetwork(quantizeWorkload(wl, { calib, calibCount: 8, percentile: 1, weights: { bits: 22 }, activations: { bits: 21 } }), { kind: 'ideal' });
  const floatLogits = floatForward(wl, calib, 8);
  const qLogits = fine.forward(calib, 8);
  for (let i = 0; i < floatLogits.length; i++) assert.ok(Math.abs(floatLogits[i] - qLogits[i]) < 1e-3, `${floatLogits[i]} vs ${qLogits[i]}`);
});

test('bulk macro path equals the cell-level reference column by column (small layers)', () => {
  const rng = new Rng(3);
  const wl = tinyWorkload(rng);
  const calib = new Float32Array(72 * 4).map(() => rng.next());
  const net = quantizeWorkload(wl, { calib, calibCount: 4, percentile: 0.999 });
  const base = macroConfig({ rows: 8, columns: 2 });
  const config = { ...base, nonIdeal: { ...base.nonIdeal, irDrop: 0, comparatorNoise: 0 } };
  const mapped = new MappedNetwork(net, { kind: 'macro', config, seed: 5 });
  const L = net.layers[1]; // dense 36 -> 3: 5 row tiles × 2 column tiles
  const m = 6;
  const q = new Float32Array(m * L.k).map(() => rng.int(16));
  const fast = mapped.layerMacs(L, q, m);
  const tiles = mapped.tiles(L);
  assert.equal(tiles.length, Math.ceil(36 / 8) * Math.ceil(3 / 2));
  let same = 0;
  let total = 0;
  for (let r = 0; r < m; r++)
    for (let j = 0; j < L.n; j++) {
      let ref = 0;
      for (const t of tiles) {
        if (j < t.c0 || j >= t.c1) continue;
        const xs = Array.from(q.subarray(r * L.k + t.r0, r * L.k + t.r1));
        const ws = xs.map((_, i) => L.wq[(t.r0 + i) * L.n + j]);
        ref += codeToMac(t.chip.referenceColumn(xs, ws, j - t.c0).code, t.chip.design);
      }
      total++;
      if (ref === fast[r * L.n + j]) same++;
      assert.ok(Math.abs(ref - fast[r * L.n + j]) <= 2 * tiles[0].chip.design.step, `row ${r} col ${j}: ${ref} vs ${fast[r * L.n + j]}`);
    }
  assert.ok(same >= 0.9 * total, `${same}/${total} identical`);
});

test('workload extracted from a tf model reproduces model.predict', async () => {
  await initEngine('cpu');
  const input = tf.input({ shape: [8, 8, 1] });
  let y = tf.layers
    .conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })
    .apply(input) as tf.SymbolicTensor;
  y = tf.layers.maxPooling2d({ poolSize: 2 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'valid', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(y) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ movingMeanInitializer: 'ones', movingVarianceInitializer: tf.initializers.constant({ value: 2 }) }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU().apply(y) as tf.SymbolicTensor;
  y = tf.layers.flatten().apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(y) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: y });
  const rng = new Rng(4);
  const x = new Float32Array(2 * 64).map(() => rng.next());
  const want = (model.predict(tf.tensor4d(x, [2, 8, 8, 1])) as tf.Tensor).dataSync();
  const wl = workloadFromModel(model);
  assert.deepEqual(
    wl.ops.map((o) => o.kind),
    ['conv2d', 'maxpool', 'conv2d', 'relu', 'flatten', 'dense'],
  );
  const got = floatForward(wl, x, 2);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `${got[i]} vs ${want[i]}`);
  model.dispose();
});
