import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { Rng } from '../../src/core/rng.js';
import { fakeQuantAct, fakeQuantForward, fakeQuantWeights, qatFineTune } from '../../src/nn/qat.js';
import { accuracyOf, exactIntGemm, floatForward, quantizeWorkload, runQuantized } from '../../src/nn/runtime/index.js';
import type { Workload } from '../../src/nn/workload.js';
import { tinyWorkload } from '../hw/cim/fixtures.js';

before(async () => {
  await initEngine('cpu');
});

function tinyMlp(rng: Rng, inF: number, hidden: number, classes: number): Workload {
  return {
    name: 'tiny-mlp',
    inputShape: [inF],
    normalization: { mean: [0.5], std: [0.25] },
    ops: [
      {
        kind: 'dense',
        name: 'd1',
        inFeatures: inF,
        outFeatures: hidden,
        weights: new Float32Array(inF * hidden).map(() => rng.normal(0, 0.5)),
        bias: new Float32Array(hidden).map(() => rng.normal(0, 0.1)),
        activation: 'relu',
      },
      {
        kind: 'dense',
        name: 'd2',
        inFeatures: hidden,
        outFeatures: classes,
        weights: new Float32Array(hidden * classes).map(() => rng.normal(0, 0.5)),
        bias: new Float32Array(classes),
        activation: 'linear',
      },
    ],
  };
}

/** Raw inputs on the 1/255 grid, like image bytes. */
function pixels(rng: Rng, n: number): Float32Array {
  return new Float32Array(n).map(() => rng.int(256) / 255);
}

test('fake-quant forward equals exact 4-bit integer inference (conv + folded normalisation, MLP)', () => {
  const rng = new Rng(3);
  for (const [wl, per] of [
    [tinyWorkload(rng, { mean: [0.3, 0.5], std: [0.2, 0.4] }), 72],
    [tinyMlp(rng, 16, 12, 4), 16],
  ] as const) {
    const n = 40;
    const x = pixels(rng, n * per);
    const net = quantizeWorkload(wl, { calib: x, calibCount: n, percentile: 0.99 });
    const ref = runQuantized(net, x, n, exactIntGemm());
    const fq = fakeQuantForward(net, x, n);
    assert.equal(fq.length, ref.length);
    let maxErr = 0;
    let scale = 0;
    for (let i = 0; i < ref.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(fq[i] - ref[i]));
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    assert.ok(maxErr <= 1e-4 * Math.max(1, scale), `${wl.name}: max |fake-quant − ideal 4-bit| = ${maxErr} (logit scale ${scale})`);
    // And it is really quantized: differs from the float forward.
    const fl = floatForward(wl, x, n);
    assert.ok(
      fl.some((v, i) => Math.abs(v - ref[i]) > 1e-3),
      `${wl.name}: quantized logits equal the float ones`,
    );
  }
});

test('STE: activation gradient is identity inside [0, clip] and zero outside; weight gradient is identity', () => {
  const scale = 0.1;
  const xs = [-0.3, -0.01, 0, 0.04, 0.26, 0.9, 1.5, 1.51, 2.0, 7];
  const x = tf.tensor1d(xs);
  const fwd = fakeQuantAct(x, scale, 15).dataSync();
  assert.deepEqual(
    Array.from(fwd).map((v) => Math.round(v * 1000) / 1000),
    xs.map((v) => Math.round(Math.max(0, Math.min(15, Math.round(v / scale))) * scale * 1000) / 1000),
  );
  const g = tf
    .grad((t: tf.Tensor) => tf.sum(tf.mul(fakeQuantAct(t, scale, 15), tf.tensor1d(xs.map((_, i) => i + 1)))))(x)
    .dataSync();
  xs.forEach((v, i) => {
    assert.equal(g[i], v >= 0 && v <= 1.5 + 1e-6 ? i + 1 : 0, `grad at x=${v}`);
  });
  const w = tf.tensor2d([0.5, -0.2, 0.03, 0.7, -0.9, 0.1], [3, 2]);
  const c = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
  const gw = tf
    .grad((t: tf.Tensor) => tf.sum(tf.mul(fakeQuantWeights(t, 7), c)))(w)
    .dataSync();
  assert.deepEqual(Array.from(gw), [1, 2, 3, 4, 5, 6]);
  // Per output channel (last axis): column max maps to code 7.
  const wq = fakeQuantWeights(w, 7).dataSync();
  assert.ok(Math.abs(wq[4] + 0.9) < 1e-6 && Math.abs(wq[3] - 0.7) < 1e-6, `column maxima: ${wq}`);
  assert.ok(Math.abs(wq[0] - (4 * 0.9) / 7) < 1e-6 && Math.abs(wq[5] - 0.1) < 1e-6, `codes: ${wq}`);
  for (const t of [x, w, c]) t.dispose();
});

test('a few QAT steps raise the ideal 4-bit accuracy of a tiny MLP (teacher labels) and lower the quantized loss', () => {
  const rng = new Rng(7);
  const inF = 16;
  const classes = 4;
  const wl = tinyMlp(rng, inF, 10, classes);
  const n = 600;
  const x = pixels(rng, n * inF);
  // Labels from the float network itself: the float model is 100 % right, 4-bit is not.
  const logits = floatForward(wl, x, n);
  const labels = new Uint8Array(n);
  for (let b = 0; b < n; b++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[b * classes + c] > logits[b * classes + best]) best = c;
    labels[b] = best;
  }
  const q = { calibCount: 128, percentile: 0.99 };
  const evalIdeal = (w: Workload): { acc: number; loss: number } => {
    const net = quantizeWorkload(w, { calib: x, calibCount: q.calibCount, percentile: q.percentile });
    const out = runQuantized(net, x, n, exactIntGemm());
    let loss = 0;
    for (let b = 0; b < n; b++) {
      const row = out.subarray(b * classes, (b + 1) * classes);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      loss += lse - row[labels[b]];
    }
    return { acc: accuracyOf(out, labels, 0, n, classes) / n, loss: loss / n };
  };
  const before0 = evalIdeal(wl);
  const { workload, stats } = qatFineTune(wl, { x, labels, count: n }, classes, { epochs: 4, lr: 3e-3, batch: 50, seed: 1, ...q });
  const after = evalIdeal(workload);
  assert.equal(stats.steps, 4 * 12);
  assert.ok(after.acc >= before0.acc, `ideal 4-bit accuracy ${before0.acc} → ${after.acc}`);
  assert.ok(after.loss < before0.loss, `ideal 4-bit loss ${before0.loss} → ${after.loss}`);
  // Seeded: the same call gives the same weights.
  const again = qatFineTune(wl, { x, labels, count: n }, classes, { epochs: 1, lr: 3e-3, batch: 50, seed: 1, maxSteps: 3, ...q });
  const again2 = qatFineTune(wl, { x, labels, count: n }, classes, { epochs: 1, lr: 3e-3, batch: 50, seed: 1, maxSteps: 3, ...q });
  assert.deepEqual(again.workload.ops[0], again2.workload.ops[0]);
});

test('fake-quant forward follows per-layer weight quantization and other bit widths', () => {
  const rng = new Rng(5);
  const wl = tinyWorkload(rng, { mean: [0.3, 0.5], std: [0.2, 0.4] });
  const x = pixels(rng, 20 * 72);
  const net = quantizeWorkload(wl, { calib: x, calibCount: 20, percentile: 0.99, weights: { bits: 6, granularity: 'per-layer' }, activations: { bits: 5 } });
  assert.equal(net.weightRange[1], 31);
  assert.equal(net.actRange[1], 31);
  const ref = runQuantized(net, x, 20, exactIntGemm());
  const fq = fakeQuantForward(net, x, 20);
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(fq[i] - ref[i]) <= 1e-4 * Math.max(1, Math.abs(ref[i])), `${fq[i]} vs ${ref[i]}`);
  assert.throws(() => fakeQuantForward({ ...net, weights: { ...net.weights, signed: false } }, x, 20), /signed weights/);
});
