import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LayerCounts, reluFollows, rramConfig, rramEngine } from '../../../src/hw/rram/index.js';
import { BoundNetwork, exactIntGemm, floatForward, type IntGemmEngine, type QuantizedWorkload } from '../../../src/nn/runtime/index.js';
import type { ConvOp, DenseOp } from '../../../src/nn/workload.js';
import { images, quantized, residualWorkload, rramWorkload, SMALL } from './fixtures.js';

/** Products and outputs of every layer, and the logits, for `n` images. */
function trace(qw: QuantizedWorkload, engine: IntGemmEngine, x: Float32Array, n: number): { products: Float32Array[]; outputs: Float32Array[]; logits: Float32Array } {
  const net = new BoundNetwork(qw, engine);
  const products: Float32Array[] = [];
  const outputs: Float32Array[] = [];
  const logits = net.forward(x, n, {
    capture: (c) => {
      products.push(Float32Array.from(c.products));
      outputs.push(Float32Array.from(c.output));
    },
  });
  net.dispose();
  return { products, outputs, logits };
}

const N = 6;
const wl = rramWorkload();
const qw = quantized(wl);
const x = images(N);
const exact = trace(qw, exactIntGemm(), x, N);

test('ideal crossbars reproduce the exact integer products of every layer (both encodings, several cell widths, both twins)', () => {
  for (const signedEncoding of ['differential', 'offset'] as const)
    for (const bitsPerCell of [1, 2, 3])
      for (const implementation of ['fast', 'reference'] as const) {
        const c = rramConfig({ ...SMALL, signedEncoding, bitsPerCell });
        const t = trace(qw, rramEngine(qw, c, { implementation }), x, N);
        for (const [i, p] of t.products.entries()) assert.deepEqual(p, exact.products[i], `${signedEncoding} ${bitsPerCell} b/cell ${implementation} layer ${i}`);
        assert.deepEqual(t.logits, exact.logits);
      }
});

test('a layer is tiled onto row × column crossbars', () => {
  const c = rramConfig(SMALL);
  const e = rramEngine(qw, c);
  trace(qw, e, x, 1);
  const [c1, d1, d2] = e.counts();
  // c1: K = 27 rows → 2 row tiles; 6 outputs × 8 columns (differential, 4 slices of 2 bits) on 24 columns → 3 per crossbar → 2 column tiles.
  assert.deepEqual([c1.rowTiles, c1.colTiles, c1.crossbars, c1.physicalColumns], [2, 2, 4, 96]);
  assert.deepEqual([d1.rowTiles, d1.colTiles], [4, 4]);
  assert.deepEqual([d2.rowTiles, d2.colTiles], [1, 2]);
  // Without termination every read is the dense schedule.
  for (const l of e.counts()) {
    assert.equal(l.crossbarReads, l.denseCrossbarReads);
    assert.equal(l.adcConversions, l.denseAdcConversions);
    assert.equal(l.crossbarReads, l.vectors * 8 * l.crossbars);
  }
});

function countsOf(e: { counts(): LayerCounts[] }): LayerCounts[] {
  return e.counts();
}

test('fast path and cell-level reference twin agree: outputs and every counter (variation, faults, ADC noise and resolution, termination options)', () => {
  const device = { conductanceSpread: 0.05, stuckAtZero: 0.01, stuckAtOne: 0.005, adcNoiseLsb: 0.5, adcBits: 7 };
  const cases = [
    { termination: 'none' },
    { termination: 'lossless', bound: 'plane' },
    { termination: 'lossless', bound: 'sorted', granularity: 'column-group', groupSize: 2 },
    { termination: 'adaptive', defaultThreshold: 0.5, bound: 'sorted', adaptiveRule: 'both' },
    { termination: 'lossless', bound: 'static', granularity: 'crossbar' },
    { termination: 'lossless', bound: 'max-weight', granularity: 'column-group', groupSize: 2, bitOrder: 'lsb-first' },
    { termination: 'adaptive', defaultThreshold: 0.5, estimate: 'mean-weight' },
    { termination: 'adaptive', thresholds: { c1: 2, d1: 0.25 }, estimate: 'midpoint', granularity: 'column-group', groupSize: 2 },
    { termination: 'adaptive', defaultThreshold: 1, estimate: 'partial', signedEncoding: 'offset', columnTiming: 'lockstep' },
    { termination: 'adaptive', defaultThreshold: 2, adaptiveRule: 'negative' },
    { termination: 'adaptive', thresholds: { c1: 4, d1: 0.5 }, adaptiveRule: 'both', estimate: 'midpoint' },
  ] as const;
  for (const devices of [{}, device])
    for (const k of cases) {
      const c = rramConfig({ ...SMALL, ...devices, ...k, seed: 3 });
      const fast = rramEngine(qw, c, { implementation: 'fast', firstImage: 5 });
      const ref = rramEngine(qw, c, { implementation: 'reference', firstImage: 5 });
      const a = trace(qw, fast, x.subarray(0, 3 * 108), 3);
      const b = trace(qw, ref, x.subarray(0, 3 * 108), 3);
      const what = JSON.stringify({ ...devices, ...k });
      for (const [i, p] of a.products.entries()) assert.deepEqual(p, b.products[i], `${what} layer ${i}`);
      assert.deepEqual(countsOf(fast), countsOf(ref), what);
    }
});

test('ADC noise is keyed by the image index, not by the batching', () => {
  const c = rramConfig({ ...SMALL, adcNoiseLsb: 1, adcBits: 6 });
  const whole = trace(qw, rramEngine(qw, c), x, N).logits;
  const per = x.length / N;
  const first = trace(qw, rramEngine(qw, c), x.subarray(0, 2 * per), 2).logits;
  const rest = trace(qw, rramEngine(qw, c, { firstImage: 2 }), x.subarray(2 * per), N - 2).logits;
  assert.deepEqual(whole, Float32Array.from([...first, ...rest]));
  assert.notDeepEqual(whole, exact.logits, 'noise changes the result');
});

test('lossless termination leaves every ReLU output and the logits bit-identical, and skips work; tighter bounds skip more', () => {
  const many = 40;
  const xs = images(many, 11);
  const none = trace(qw, rramEngine(qw, rramConfig(SMALL)), xs, many);
  const reduction: Record<string, number> = {};
  for (const bound of ['static', 'max-weight', 'plane', 'sorted'] as const)
    for (const granularity of ['output', 'column-group', 'crossbar'] as const)
      for (const bitOrder of ['msb-first', 'lsb-first'] as const) {
        const e = rramEngine(qw, rramConfig({ ...SMALL, termination: 'lossless', bound, granularity, bitOrder }));
        const t = trace(qw, e, xs, many);
        for (const [i, o] of t.outputs.entries()) assert.deepEqual(o, none.outputs[i], `${bound} ${granularity} ${bitOrder} layer ${i}`);
        assert.deepEqual(t.logits, none.logits);
        const ls = e.counts();
        const conv = ls.reduce((s, l) => s + l.adcConversions, 0);
        const dense = ls.reduce((s, l) => s + l.denseAdcConversions, 0);
        reduction[`${bound}/${granularity}/${bitOrder}`] = 1 - conv / dense;
        assert.equal(
          ls.reduce((s, l) => s + l.skippedAdaptive, 0),
          0,
          'lossless never stops adaptively',
        );
        assert.equal(ls[2].stoppedNegative, 0, 'no negative detection without a following ReLU');
      }
  assert.ok(reduction['plane/output/msb-first'] > 0.1, `negative detection skips work (${reduction['plane/output/msb-first']})`);
  assert.ok(reduction['sorted/output/msb-first'] > reduction['plane/output/msb-first'], `sorted ${reduction['sorted/output/msb-first']}`);
  assert.ok(reduction['plane/output/msb-first'] >= reduction['max-weight/output/msb-first']);
  assert.ok(reduction['max-weight/output/msb-first'] >= reduction['static/output/msb-first']);
  assert.ok(reduction['plane/output/msb-first'] >= reduction['plane/crossbar/msb-first']);
  assert.ok(reduction['plane/output/msb-first'] > reduction['plane/output/lsb-first'], 'MSB first stops earlier');
});

test('adaptive termination skips more as θ grows', () => {
  let prev = -1;
  for (const theta of [0, 0.5, 2, 8]) {
    const e = rramEngine(qw, rramConfig({ ...SMALL, termination: 'adaptive', defaultThreshold: theta }));
    trace(qw, e, x, N);
    const ls = e.counts();
    const r = 1 - ls.reduce((s, l) => s + l.adcConversions, 0) / ls.reduce((s, l) => s + l.denseAdcConversions, 0);
    assert.ok(r >= prev, `θ ${theta}: reduction ${r} ≥ ${prev}`);
    prev = r;
  }
  assert.ok(prev > 0.3);
});

test("adaptive rule 'negative' only zeroes ReLU outputs, skips more as θ grows, and adds to negative detection", () => {
  const many = 20;
  const xs = images(many, 17);
  const none = trace(qw, rramEngine(qw, rramConfig(SMALL)), xs, many);
  const reductionOf = (ls: LayerCounts[]): number => 1 - ls.reduce((s, l) => s + l.adcConversions, 0) / ls.reduce((s, l) => s + l.denseAdcConversions, 0);
  const lossless = rramEngine(qw, rramConfig({ ...SMALL, termination: 'lossless' }));
  trace(qw, lossless, xs, many);
  let prev = reductionOf(lossless.counts());
  let changed = 0;
  for (const theta of [0.25, 1, 4, 64]) {
    const e = rramEngine(qw, rramConfig({ ...SMALL, termination: 'adaptive', adaptiveRule: 'negative', defaultThreshold: theta }));
    const t = trace(qw, e, xs, many);
    // The first layer (same inputs as without termination): every output is the exact one, or zero.
    const got = t.outputs[0];
    const want = none.outputs[0];
    for (let q = 0; q < got.length; q++) {
      if (got[q] === want[q]) continue;
      assert.equal(got[q], 0, `θ ${theta}: a changed output is zeroed`);
      changed++;
    }
    const ls = e.counts();
    assert.equal(ls[2].stoppedAdaptive, 0, 'no prediction of the sign without a following ReLU');
    const r = reductionOf(ls);
    assert.ok(r >= prev, `θ ${theta}: reduction ${r} ≥ ${prev}`);
    prev = r;
  }
  assert.ok(changed > 0, 'a large θ zeroes some positive outputs');
});

test('quantization that does not fit the crossbar is refused with the fix', () => {
  assert.throws(() => rramEngine(quantized(wl, 6), rramConfig(SMALL)), /weights are quantized to 6 bits but weightBits is 8/);
  assert.throws(() => rramConfig({ columns: 4 }), /field 'columns'/);
  assert.throws(() => rramConfig({ bound: 'loose' }), /field 'bound'/);
});

test('all-zero input bit-planes are not read (with termination); the outputs do not change and the skipped reads are counted', () => {
  const many = 12;
  const xs = images(many, 13);
  const none = trace(qw, rramEngine(qw, rramConfig(SMALL)), xs, many);
  const conversions = (ls: LayerCounts[]): number => ls.reduce((s, l) => s + l.adcConversions, 0);
  const on = rramEngine(qw, rramConfig({ ...SMALL, termination: 'lossless' }));
  const off = rramEngine(qw, rramConfig({ ...SMALL, termination: 'lossless', skipZeroPlanes: false }));
  const a = trace(qw, on, xs, many);
  const b = trace(qw, off, xs, many);
  for (const [i, o] of a.outputs.entries()) assert.deepEqual(o, none.outputs[i], `layer ${i}`);
  assert.deepEqual(b.logits, none.logits);
  const zeroReads = on.counts().reduce((s, l) => s + l.zeroPlaneReads, 0);
  assert.ok(zeroReads > 0, 'the fixture has all-zero planes');
  assert.equal(
    off.counts().reduce((s, l) => s + l.zeroPlaneReads, 0),
    0,
  );
  // The termination decisions are the same; only the zero planes' conversions go.
  assert.equal(
    conversions(off.counts()) - conversions(on.counts()),
    on.counts().reduce((s, l) => s + l.zeroPlaneConversions, 0),
  );
  for (const [i, l] of on.counts().entries()) assert.equal(l.crossbarReads + l.zeroPlaneReads, off.counts()[i].crossbarReads, l.layer);
  // Without termination nothing is skipped (the popcounts belong to the termination control).
  const plain = rramEngine(qw, rramConfig({ ...SMALL, skipZeroPlanes: true }));
  trace(qw, plain, xs, many);
  for (const l of plain.counts()) assert.equal(l.crossbarReads, l.denseCrossbarReads);
});

test('crossbarLayers: the other layers run the exact product (no counters); on exact crossbars the outputs equal the full simulation', () => {
  const c = rramConfig({ ...SMALL, termination: 'adaptive', thresholds: { d1: 1 } });
  const full = rramEngine(qw, c);
  const part = rramEngine(qw, c, { crossbarLayers: ['d1'] });
  const a = trace(qw, full, x, N);
  const b = trace(qw, part, x, N);
  assert.deepEqual(b.logits, a.logits);
  assert.deepEqual(
    part.counts().map((l) => l.layer),
    ['d1'],
  );
  assert.deepEqual(part.counts()[0], full.counts()[1]);
  assert.throws(() => rramEngine(qw, rramConfig({ ...SMALL, conductanceSpread: 0.1 }), { crossbarLayers: ['d1'] }), /exact crossbars/);
});

test('residual network: adds and global pooling on the runtime; negative detection only where a ReLU follows on every path; lossless stays bit-identical', () => {
  const rw = residualWorkload();
  const rq = quantized(rw);
  const many = 12;
  const xs = images(many, 5);
  // The walker against a hand-written forward pass of the same graph (float).
  const f = floatForward(rw, xs, many);
  const conv = (name: string, a: Float32Array): Float32Array => {
    const { input: _from, ...op } = rw.ops.find((o) => o.name === name) as ConvOp | DenseOp;
    return floatForward({ ...rw, ops: [op] }, a, many);
  };
  const relu = (a: Float32Array) => a.map((v) => Math.max(v, 0));
  const add = (a: Float32Array, b: Float32Array) => a.map((v, i) => v + b[i]);
  const c1 = conv('c1', xs);
  const r2 = relu(add(conv('c2b', conv('c2a', c1)), c1));
  const r3 = relu(add(conv('cp', c1), r2));
  const pooled = new Float32Array(many * 6);
  for (let b = 0; b < many; b++) for (let p = 0; p < 36; p++) for (let j = 0; j < 6; j++) pooled[b * 6 + j] += r3[(b * 36 + p) * 6 + j] / 36;
  const want = conv('d', pooled);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(f[i] - want[i]) < 1e-5, `${i}: ${f[i]} vs ${want[i]}`);
  // Which layers a ReLU follows.
  const follows = Object.fromEntries(rq.layers.map((L) => [L.name, reluFollows(rq, L.opIndex)]));
  assert.deepEqual(follows, { c1: true, c2a: true, c2b: false, cp: false, d: false });
  // Ideal crossbars give the exact integer network; lossless termination changes nothing.
  const none = trace(rq, rramEngine(rq, rramConfig(SMALL)), xs, many);
  assert.deepEqual(none.logits, trace(rq, exactIntGemm(), xs, many).logits);
  const e = rramEngine(rq, rramConfig({ ...SMALL, termination: 'lossless', bound: 'plane' }));
  const t = trace(rq, e, xs, many);
  for (const [i, o] of t.outputs.entries()) assert.deepEqual(o, none.outputs[i], `layer ${i}`);
  assert.deepEqual(t.logits, none.logits);
  const counts = new Map(e.counts().map((c) => [c.layer, c]));
  for (const name of ['c2b', 'cp', 'd']) assert.equal(counts.get(name)?.stoppedNegative, 0, `${name} feeds an add or the logits`);
  assert.ok((counts.get('c2a')?.stoppedNegative ?? 0) > 0, 'c2a is followed by its ReLU');
});
