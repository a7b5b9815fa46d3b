/** Pruning with fine-tuning on small generated data: fixed masks, the gradual schedule, N:M, the subword constraint, batch-norm folding. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  bestModelPackingMasks,
  fineTuneSubwords,
  fineTuneWithMasks,
  type FineTuneOptions,
  gradualPrune,
  modelPackingMasks,
  nearestAllowed,
  nmMasks,
  ordersIn,
  packingLayers,
  subwordPacking,
  subwordPattern,
  subwordProjection,
  subwordRules,
  subwordViolations,
} from '../../src/compress/finetune.js';
import { packingCandidates } from '../../src/compress/masks.js';
import { maxCode, quantizeSymmetric } from '../../src/compress/matrix.js';
import { DEFAULT_SUBWORD } from '../../src/compress/subword.js';
import { initEngine, tf } from '../../src/core/engine.js';
import { Rng } from '../../src/core/rng.js';
import { makeSynthetic } from '../../src/data/synthetic.js';
import type { Dataset } from '../../src/data/types.js';
import { kernelValues, modelKernels } from '../../src/nn/constraint.js';
import { foldBatchNorm } from '../../src/nn/fold.js';
import { floatForward } from '../../src/nn/runtime/index.js';
import { workloadFromModel } from '../../src/nn/workload.js';
import { createModel } from '../../src/nn/models.js';

let data: Dataset;

before(async () => {
  await initEngine('wasm');
  data = makeSynthetic({ kind: 'gray', trainPerClass: 12, testPerClass: 4, seed: 5 });
});

const lenet = () => createModel('lenet5', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });

function opts(over: Partial<FineTuneOptions> = {}): FineTuneOptions {
  return { dataset: data, epochs: 2, optimizer: 'adam', lr: 2e-3, batchSize: 24, seed: 3, evalBatchSize: 64, ...over };
}

function randomMask(n: number, keep: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => (rng.next() < keep ? 1 : 0));
}

const kernels = (m: tf.LayersModel) => new Map(modelKernels(m).map((k) => [k.layer, kernelValues(k)]));

for (const optimizer of ['adam', 'sgd'] as const) {
  test(`fineTuneWithMasks (${optimizer}): masked weights stay exactly zero, kept weights train, unmasked layers train freely`, () => {
    const model = lenet();
    const start = kernels(model);
    const masks = new Map([
      ['conv2', randomMask(start.get('conv2')?.length ?? 0, 0.3, 1)],
      ['fc1', randomMask(start.get('fc1')?.length ?? 0, 0.1, 2)],
    ]);
    const tensors = tf.memory().numTensors;
    const r = fineTuneWithMasks(model, masks, opts({ optimizer, lr: optimizer === 'sgd' ? 0.05 : 2e-3, weightDecay: 1e-3 }));
    assert.equal(tf.memory().numTensors, tensors, 'no tensors leak');
    assert.equal(r.train.tensorLeak, 0);
    const end = kernels(model);
    for (const [layer, mask] of masks) {
      const w = end.get(layer) as Float32Array;
      const w0 = start.get(layer) as Float32Array;
      let changed = 0;
      for (let i = 0; i < w.length; i++) {
        if (!mask[i]) assert.ok(w[i] === 0, `${layer}[${i}] pruned but ${w[i]}`);
        else if (w[i] !== w0[i]) changed++;
      }
      assert.ok(changed > 0.9 * mask.reduce((s, v) => s + v, 0), `${layer}: kept weights train (${changed} changed)`);
      const l = r.layers.find((x) => x.layer === layer);
      assert.equal(l?.zeros, mask.length - mask.reduce((s, v) => s + v, 0));
    }
    // conv1 has no mask: it trains and is not forced to zero anywhere.
    assert.ok((end.get('conv1') as Float32Array).every((v) => v !== 0));
    assert.ok(r.sparsity > 0.7);
    model.dispose();
  });
}

test('gradualPrune reaches the target per layer on the cubic schedule and never revives a weight', () => {
  const model = lenet();
  const r = gradualPrune(model, { sparsity: 0.8, scope: 'layer', rampFraction: 0.5, pruneEvery: 2 }, opts({ epochs: 2 }));
  const steps = Math.ceil(data.train.count / 24) * 2;
  assert.equal(r.schedule.endStep, Math.round(steps / 2));
  assert.equal(r.steps[0].step, 0);
  assert.equal(r.steps[0].target, 0);
  const last = r.steps[r.steps.length - 1];
  assert.equal(last.step, r.schedule.endStep);
  assert.equal(last.target, 0.8);
  for (let i = 1; i < r.steps.length; i++) {
    assert.ok(r.steps[i].target >= r.steps[i - 1].target, 'the schedule rises');
    assert.ok(r.steps[i].sparsity >= r.steps[i - 1].sparsity - 1e-12, 'sparsity never falls');
  }
  for (const l of r.layers) assert.equal(l.zeros, Math.round(0.8 * l.weights), `${l.layer}: ${l.zeros} zeros of ${l.weights}`);
  // The final masks are what the model holds.
  const end = kernels(model);
  for (const [layer, mask] of r.masks) {
    const w = end.get(layer) as Float32Array;
    for (let i = 0; i < w.length; i++) assert.equal(w[i] === 0, mask[i] === 0, `${layer}[${i}]`);
  }
  model.dispose();
});

test('gradualPrune with global scope: one threshold, the total reaches the target; existing zeros are kept', () => {
  const model = lenet();
  const keep = new Map([['conv1', Uint8Array.from({ length: 150 }, (_, i) => (i % 2 ? 1 : 0))]]);
  const r = gradualPrune(model, { sparsity: 0.7, scope: 'global', keep }, opts({ epochs: 1 }));
  const total = r.layers.reduce((s, l) => s + l.weights, 0);
  const zeros = r.layers.reduce((s, l) => s + l.zeros, 0);
  assert.ok(Math.abs(zeros - Math.round(0.7 * total)) <= 75, `${zeros} zeros of ${total}`);
  assert.ok(new Set(r.layers.map((l) => l.sparsity.toFixed(3))).size > 1, 'layers differ under one threshold');
  const c1 = kernels(model).get('conv1') as Float32Array;
  for (let i = 0; i < c1.length; i += 2) assert.ok(c1[i] === 0);
  model.dispose();
});

test('N:M masks keep N of every M reduction weights per output, and hold through fine-tuning', () => {
  const model = lenet();
  const masks = nmMasks(model, 2, 4);
  fineTuneWithMasks(model, masks, opts({ epochs: 1 }));
  for (const k of modelKernels(model)) {
    const cols = k.shape[k.shape.length - 1];
    const rows = k.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const w = kernelValues(k);
    for (let j = 0; j < cols; j++)
      for (let g = 0; g < rows; g += 4) {
        const size = Math.min(4, rows - g);
        let nz = 0;
        for (let r = g; r < g + size; r++) if (w[r * cols + j] !== 0) nz++;
        assert.ok(nz <= Math.ceil((2 * size) / 4), `${k.layer} output ${j} group ${g}: ${nz} nonzeros`);
      }
  }
  model.dispose();
});

test('nearestAllowed is the nearest magnitude using only the allowed subwords (brute force)', () => {
  const q = maxCode(8);
  const table = nearestAllowed(DEFAULT_SUBWORD);
  for (let p = 0; p < 4; p++)
    for (let c = 0; c <= q; c++) {
      const v = table[p * (q + 1) + c];
      assert.equal(subwordPattern(v) & ~p, 0, `pattern ${p}, code ${c} → ${v}`);
      for (let u = 0; u <= q; u++) if ((subwordPattern(u) & ~p) === 0) assert.ok(Math.abs(u - c) >= Math.abs(v - c), `pattern ${p}, ${c}: ${u} is nearer than ${v}`);
    }
  assert.equal(subwordPattern(0x12), 3);
  // Bit 0 is the most significant subword.
  assert.equal(subwordPattern(0x30), 1);
  assert.equal(subwordPattern(-0x05), 2);
  const project = subwordProjection({ scale: 0.5, patterns: Uint8Array.from([1, 2, 3, 0]), pinned: 3 });
  const out = new Float32Array(4);
  project(Float32Array.from([15, -3, 9.2, 0.1]), out);
  // 30 → 32 (high subword only), −6 → −6, 18 → 18, pinned → 127.
  assert.deepEqual(Array.from(out), [16, -3, 9, 63.5]);
});

test('subword fine-tuning: the constraint holds after training (re-quantized as the packing does) and weights still move', () => {
  const model = lenet();
  const rules = subwordRules(model, { fraction: 0.5 });
  for (const l of rules) assert.ok(l.subwordsAfter < l.subwordsBefore * 0.55, `${l.layer}: ${l.subwordsAfter} of ${l.subwordsBefore}`);
  const start = kernels(model);
  const r = fineTuneSubwords(model, rules, opts({ epochs: 2, lr: 5e-3 }));
  assert.equal(r.violations, 0);
  assert.equal(subwordViolations(model, rules), 0);
  const end = kernels(model);
  for (const l of rules) {
    const w = end.get(l.layer) as Float32Array;
    const q = quantizeSymmetric(w, 8);
    // The scale survives (the pinned weight), so the codes are exactly the projected ones.
    assert.ok(Math.abs(q.scale - l.scale) <= 1e-6 * l.scale, `${l.layer}: scale ${q.scale} vs ${l.scale}`);
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i] / l.scale - q.codes[i]) < 1e-3, `${l.layer}[${i}] is on the grid`);
    const w0 = start.get(l.layer) as Float32Array;
    const c0 = quantizeSymmetric(w0, 8).codes;
    let moved = 0;
    for (let i = 0; i < w.length; i++) if (l.patterns[i] !== 0 && q.codes[i] !== c0[i]) moved++;
    assert.ok(moved > 0, `${l.layer}: codes move during fine-tuning`);
  }
  // A model that breaks the constraint is caught.
  const k = modelKernels(model)[1];
  const w = kernelValues(k);
  const l = rules[1];
  // A weight allowed only its high subword gains a low one.
  const i = l.patterns.findIndex((p, j) => p === 1 && Math.abs(w[j] / l.scale) < 100);
  assert.ok(i >= 0);
  w[i] = (w[i] < 0 ? -1 : 1) * (Math.abs(Math.round(w[i] / l.scale)) + 1) * l.scale;
  tf.tidy(() => {
    k.variable.write(tf.tensor(w, k.shape));
  });
  assert.equal(subwordViolations(model, rules), 1);
  model.dispose();
});

/** Non-trivial batch-norm statistics, so that folding changes the weights. */
function randomizeBatchNorm(model: tf.LayersModel): void {
  for (const layer of model.layers)
    if (layer.getClassName() === 'BatchNormalization') {
      const ws = layer.getWeights();
      const rng = new Rng(ws[0].size);
      layer.setWeights(
        ws.map((t, j) =>
          tf.tensor(
            Float32Array.from({ length: t.size }, () => (j === 3 ? 0.5 + rng.next() : rng.normal() * 0.3 + (j === 0 ? 1 : 0))),
            t.shape,
          ),
        ),
      );
    }
}

for (const name of ['vgg-small', 'resnet20'] as const)
  test(`foldBatchNorm (${name}): the folded model computes the same outputs without batch norm, with the kernels packingLayers sees`, () => {
    const model = createModel(name, { inputShape: [32, 32, 3], numClasses: 10, seed: 4 });
    randomizeBatchNorm(model);
    const folded = foldBatchNorm(model);
    assert.ok(!folded.layers.some((l) => l.getClassName() === 'BatchNormalization'));
    assert.equal(folded.layers.length, model.layers.filter((l) => l.getClassName() !== 'BatchNormalization').length);
    const rng = new Rng(9);
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 32 * 32 * 3 }, () => rng.normal()),
      [2, 32, 32, 3],
    );
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (folded.predict(x) as tf.Tensor).dataSync();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-3 * (1 + Math.abs(a[i])), `${i}: ${a[i]} vs ${b[i]}`);
    // The folded model's own kernels are the folded weights of the original.
    const before = packingLayers(model);
    const after = new Map(packingLayers(folded).map((l) => [l.name, l]));
    assert.equal(after.size, before.length);
    for (const l of before) assert.deepEqual(after.get(l.name)?.weights, l.weights, l.name);
    // The workload (batch norm folded, residual adds and global pooling as ops) computes the same on the runtime.
    const wl = workloadFromModel(model);
    assert.equal(wl.ops.filter((o) => o.kind === 'add').length, name === 'resnet20' ? 9 : 0);
    const c = floatForward(wl, x.dataSync() as Float32Array, 2);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - c[i]) < 1e-3 * (1 + Math.abs(a[i])), `runtime ${i}: ${a[i]} vs ${c[i]}`);
    x.dispose();
    model.dispose();
    folded.dispose();
  });

test('packing masks held through fine-tuning: budgeted words, and budgeted subwords under the subword constraint', () => {
  const model = lenet();
  gradualPrune(model, { sparsity: 0.7, scope: 'layer', rampFraction: 0.5 }, opts({ epochs: 1 }));
  const o = { tileRows: 8, seed: 1 };
  const pm = modelPackingMasks(model, { method: 'budgeted', groupSize: 8, slotsPerGroup: 1, search: { method: 'greedy' } }, o);
  assert.ok(pm.total.pruned > 0, 'k = 1 prunes overflow weights');
  const masks = new Map(pm.layers.map((l) => [l.name, l.mask]));
  fineTuneWithMasks(model, masks, opts({ epochs: 1 }));
  for (const k of modelKernels(model)) {
    const w = kernelValues(k);
    const m = masks.get(k.layer) as Uint8Array;
    for (let i = 0; i < w.length; i++) if (!m[i]) assert.ok(w[i] === 0, `${k.layer}[${i}]`);
  }

  const sp = subwordPacking(model, { method: 'budgeted', groupSize: 8, slotsPerGroup: 1, search: { method: 'greedy' } }, o);
  assert.ok(sp.total.pruned > 0 && sp.total.rate > 0);
  for (const l of sp.layers) {
    // The largest weight keeps both subwords; the patterns only name subwords the code has.
    assert.equal(l.rule.patterns[l.rule.pinned], 3);
    assert.equal(
      l.rule.patterns.reduce((s, p) => s + (p & 1) + ((p >> 1) & 1), 0),
      l.subwords - l.pruned,
    );
  }
  // Per-layer settings within a pruned share: each layer's share stays within it, the lossless grid member always qualifies.
  const eps = 0.03;
  const grid = [{ method: 'tight' as const, groupSize: 4 }];
  const best = subwordPacking(model, { candidates: packingCandidates('budgeted', { method: 'greedy' }), maxL1Share: eps }, o);
  for (const l of best.layers) {
    assert.ok(l.prunedL1Share <= eps + 1e-12, `${l.name}: ${l.prunedL1Share}`);
    // A packed layer's patterns name exactly the kept subwords; an unpacked one allows both subwords of every nonzero weight.
    const allowed = l.rule.patterns.reduce((s, p) => s + (p & 1) + ((p >> 1) & 1), 0);
    if (l.spec.method === 'dense') assert.equal(l.pruned, 0);
    else assert.equal(allowed, l.subwords - l.pruned);
  }
  const lossless = subwordPacking(model, { candidates: grid, maxL1Share: 0 }, o);
  assert.equal(lossless.total.pruned, 0);
  const r = fineTuneSubwords(
    model,
    sp.layers.map((l) => l.rule),
    opts({ epochs: 1 }),
  );
  assert.equal(r.violations, 0);
  model.dispose();
});

test("subwordPacking 'best': each layer keeps the denser of its subword and word packings, and fine-tuning holds either", () => {
  const model = lenet();
  const ks = modelKernels(model);
  // The first layer's codes use both subwords (two subword slots per weight), the others one each.
  const rng = new Rng(4);
  ks.forEach((k, li) => {
    const n = k.shape.reduce((a, b) => a * b, 1);
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (rng.next() < 0.7) continue;
      const sign = rng.next() < 0.5 ? -1 : 1;
      const code = li === 0 ? 16 * (1 + Math.floor(rng.next() * 6)) + 1 + Math.floor(rng.next() * 15) : 1 + Math.floor(rng.next() * 15);
      w[i] = (sign * code) / 127;
    }
    w[0] = 1; // pins the per-layer scale at 1/127, so the codes are exactly the ones drawn
    tf.tidy(() => {
      k.variable.write(tf.tensor(w, k.shape));
    });
  });
  const o = { tileRows: 8, seed: 1 };
  const choice = { candidates: packingCandidates('budgeted', { method: 'greedy' }), maxL1Share: 0.05 };
  const all = subwordPacking(model, choice, o, [], DEFAULT_SUBWORD, 'all');
  const best = subwordPacking(model, choice, o, [], DEFAULT_SUBWORD, 'best');
  const words = bestModelPackingMasks(model, choice.candidates, o, choice.maxL1Share);
  const formats = best.layers.map((l) => l.format);
  assert.equal(formats[0], 'words', 'two subwords per weight: words pack denser');
  assert.ok(formats.includes('subwords'), `one subword per weight: subwords pack denser somewhere (${formats})`);
  best.layers.forEach((l, i) => {
    assert.equal(l.rate.rate, Math.max(all.layers[i].rate.rate, words.layers[i].rate), l.name);
    if (l.format === 'subwords') {
      assert.deepEqual(l.rule.patterns, all.layers[i].rule.patterns, l.name);
      return;
    }
    // A word layer keeps exactly the word packing's weights, each with every subword allowed.
    const m = words.layers[i].mask;
    for (let j = 0; j < m.length; j++) assert.equal(l.rule.patterns[j], m[j] || j === l.rule.pinned ? 3 : 0, `${l.name}[${j}]`);
    assert.deepEqual(l.rowOrder, words.layers[i].rowOrder);
  });
  assert.ok(best.total.rate > all.total.rate);
  const r = fineTuneSubwords(
    model,
    best.layers.map((l) => l.rule),
    opts({ epochs: 1 }),
  );
  assert.equal(r.violations, 0);
  model.dispose();
});

test('ordersIn: a weight order and its subword-column order map into each other', () => {
  const rng = new Rng(8);
  const words = { layer: 'l', columns: 'words' as const, rowOrder: rng.permutation(5), colOrder: rng.permutation(7) };
  const sub = ordersIn(words, 'subwords', 2);
  // The subwords of a weight sit side by side, most significant first, in the weights' order.
  assert.deepEqual(Array.from(sub.colOrder.slice(0, 4)), [2 * words.colOrder[0], 2 * words.colOrder[0] + 1, 2 * words.colOrder[1], 2 * words.colOrder[1] + 1]);
  assert.deepEqual(ordersIn({ ...words, ...sub, columns: 'subwords' }, 'words', 2).colOrder, words.colOrder);
  // A subword order whose subwords are apart gives the weights by their first subword column.
  assert.deepEqual(Array.from(ordersIn({ layer: 'l', columns: 'subwords', rowOrder: words.rowOrder, colOrder: Int32Array.from([3, 0, 2, 1]) }, 'words', 2).colOrder), [1, 0]);
});
