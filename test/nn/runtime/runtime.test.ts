import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import {
  ActivationStatsCollector,
  codeRange,
  convGeometry,
  evaluateAccuracy,
  exactIntGemm,
  floatForward,
  type IntGemmEngine,
  im2col,
  layerTiles,
  matmul,
  patchGeometry,
  quantizeWeights,
  quantizeWorkload,
  runQuantized,
  tiledEngine,
} from '../../../src/nn/runtime/index.js';
import type { ConvOp, Workload } from '../../../src/nn/workload.js';
import { tinyWorkload } from '../../hw/cim/fixtures.js';

/** Textbook convolution (NHWC, HWIO, TensorFlow padding), float64. */
function directConv(x: Float64Array, n: number, op: ConvOp): Float64Array {
  const [h, w, c] = op.inShape;
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.strides;
  const gh = convGeometry(h, kh, sh, op.padding);
  const gw = convGeometry(w, kw, sw, op.padding);
  const co = op.outShape[2];
  const out = new Float64Array(n * gh.out * gw.out * co);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < gh.out; oy++)
      for (let ox = 0; ox < gw.out; ox++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const iy = oy * sh + i - gh.padBefore;
              const ix = ox * sw + j - gw.padBefore;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (let ch = 0; ch < c; ch++) s += x[((b * h + iy) * w + ix) * c + ch] * op.weights[((i * kw + j) * c + ch) * co + o];
            }
          out[((b * gh.out + oy) * gw.out + ox) * co + o] = s;
        }
  return out;
}

function convOp(rng: Rng, inShape: [number, number, number], kernel: [number, number], strides: [number, number], padding: 'same' | 'valid', outC: number): ConvOp {
  const oh = convGeometry(inShape[0], kernel[0], strides[0], padding).out;
  const ow = convGeometry(inShape[1], kernel[1], strides[1], padding).out;
  return {
    kind: 'conv2d',
    name: 'c',
    inShape,
    outShape: [oh, ow, outC],
    kernel,
    strides,
    padding,
    weights: new Float32Array(kernel[0] * kernel[1] * inShape[2] * outC).map(() => rng.normal(0, 1)),
    bias: null,
    activation: 'linear',
  };
}

test('im2col + matmul equals a direct convolution for strides 1–3, same/valid, odd/even and non-square kernels', () => {
  const rng = new Rng(1);
  for (const [shape, kernel, strides, padding] of [
    [[7, 7, 2], [3, 3], [1, 1], 'same'],
    [[8, 6, 3], [2, 4], [2, 1], 'same'],
    [[9, 9, 1], [5, 5], [3, 3], 'same'],
    [[7, 8, 2], [3, 2], [2, 2], 'valid'],
    [[5, 5, 4], [1, 1], [1, 1], 'valid'],
  ] as const) {
    const op = convOp(rng, [...shape], [...kernel], [...strides], padding, 3);
    const x = new Float64Array(2 * shape[0] * shape[1] * shape[2]).map(() => rng.normal(0, 1));
    const g = patchGeometry(op);
    const cols = im2col(x, 2, g);
    const y = matmul(cols, op.weights, cols.length / (g.kh * g.kw * g.c), g.kh * g.kw * g.c, 3);
    assert.ok(y instanceof Float64Array);
    const want = directConv(x, 2, op);
    assert.equal(y.length, want.length);
    for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i] - want[i]) < 1e-9, `${JSON.stringify({ shape, kernel, strides, padding })}: ${y[i]} vs ${want[i]}`);
  }
  assert.throws(() => patchGeometry({ ...convOp(rng, [6, 6, 1], [3, 3], [1, 1], 'same', 1), outShape: [5, 6, 1] }), /does not match/);
});

test('weight quantization: per-channel vs per-layer scales, signed narrow range, unsigned with zero-points', () => {
  const w = Float32Array.from([0.5, -2, 0.25, -1, 1, 4]); // K=3, N=2
  const pc = quantizeWeights(w, 3, 2, { bits: 4, signed: true, granularity: 'per-channel' });
  assert.deepEqual(
    Array.from(pc.wScale),
    [1 / 7, 4 / 7].map((v) => Math.fround(v)),
  );
  // −2·7/4 = −3.5 rounds half up to −3.
  assert.deepEqual(Array.from(pc.wq), [4, -3, 2, -2, 7, 7]);
  const pl = quantizeWeights(w, 3, 2, { bits: 4, signed: true, granularity: 'per-layer' });
  assert.deepEqual(
    Array.from(pl.wScale),
    [4 / 7, 4 / 7].map((v) => Math.fround(v)),
  );
  const u = quantizeWeights(w, 3, 2, { bits: 3, signed: false, granularity: 'per-channel' });
  // Column 0: [-1, 1] over 0…7 → scale 2/7, zero 4 (−1 → 0, 1 → 7 after rounding half up).
  for (let j = 0; j < 2; j++)
    for (let r = 0; r < 3; r++) {
      const deq = (u.wq[r * 2 + j] - u.wZero[j]) * u.wScale[j];
      assert.ok(Math.abs(deq - w[r * 2 + j]) <= u.wScale[j] / 2 + 1e-6, `w[${r},${j}] ${w[r * 2 + j]} → ${deq}`);
      assert.ok(u.wq[r * 2 + j] >= 0 && u.wq[r * 2 + j] <= 7);
    }
  assert.deepEqual(codeRange({ bits: 8, signed: true }), [-127, 127]);
  assert.deepEqual(codeRange({ bits: 1, signed: false }), [0, 1]);
  assert.throws(() => codeRange({ bits: 1, signed: true }), /bits/);
});

/** The dequantized network in float: what exact integer inference must reproduce (up to float rounding). */
function dequantizedReference(wl: Workload, qw: ReturnType<typeof quantizeWorkload>, x: Float32Array, n: number): Float32Array {
  const ops = wl.ops.map((op, i) => {
    const L = qw.layers.find((l) => l.opIndex === i);
    if (!L || (op.kind !== 'conv2d' && op.kind !== 'dense')) return op;
    const w = new Float32Array(L.k * L.n);
    for (let r = 0; r < L.k; r++) for (let j = 0; j < L.n; j++) w[r * L.n + j] = (L.wq[r * L.n + j] - L.wZero[j]) * L.wScale[j];
    return { ...op, weights: w, bias: L.biasPerPosition ? null : L.bias };
  });
  const plain: Workload = { ...wl, normalization: null, ops };
  // Op by op in float, with each conv/dense input rounded to its activation grid.
  const [lo, hi] = qw.actRange;
  let a = x;
  let li = 0;
  for (let i = 0; i < plain.ops.length; i++) {
    const op = plain.ops[i];
    const one: Workload = { ...plain, ops: [op] };
    if (op.kind === 'conv2d' || op.kind === 'dense') {
      const L = qw.layers[li++];
      a = a.map((v) => Math.min(hi, Math.max(lo, Math.round(v / L.inScale))) * L.inScale);
    }
    a = floatForward(one, a, n);
  }
  return a;
}

test('exact integer inference equals the dequantized float network for per-layer/per-channel, signed/unsigned weights and 2–8 bits', () => {
  const rng = new Rng(2);
  const wl = tinyWorkload(rng);
  const x = new Float32Array(30 * 72).map(() => (rng.next() < 0.3 ? 0 : rng.next()));
  for (const weights of [
    { bits: 4, signed: true, granularity: 'per-channel' },
    { bits: 8, signed: true, granularity: 'per-layer' },
    { bits: 3, signed: false, granularity: 'per-channel' },
    { bits: 2, signed: false, granularity: 'per-layer' },
  ] as const) {
    for (const activations of [
      { bits: 4, signed: false },
      { bits: 8, signed: true },
    ] as const) {
      const qw = quantizeWorkload(wl, { calib: x, calibCount: 30, percentile: 0.99, weights, activations });
      const got = runQuantized(qw, x, 30, exactIntGemm());
      const want = dequantizedReference(wl, qw, x, 30);
      for (let i = 0; i < got.length; i++)
        assert.ok(Math.abs(got[i] - want[i]) < 1e-4 * Math.max(1, Math.abs(want[i])), `${JSON.stringify({ weights, activations })} [${i}]: ${got[i]} vs ${want[i]}`);
    }
  }
});

/**
 * A bit-serial engine, as a crossbar model would write one: inputs enter one bit per cycle, weights
 * are split into `slice`-bit slices on separate columns, partial products are shifted and added.
 */
function bitSerialEngine(inBits: number, slice: number, counter: { cycles: number }): IntGemmEngine {
  return tiledEngine(8, 4, (_layer, t, w) => {
    const kk = t.r1 - t.r0;
    const cc = t.c1 - t.c0;
    const slices = Math.ceil(8 / slice);
    // Two's complement weight slices (the top slice signed).
    const ws = Array.from({ length: slices }, (_, s) => Int32Array.from(w, (v) => (s === slices - 1 ? v >> (s * slice) : (v >> (s * slice)) & ((1 << slice) - 1))));
    return {
      run(x, m) {
        const out = new Float32Array(m * cc);
        for (let b = 0; b < inBits; b++) {
          counter.cycles++;
          for (let r = 0; r < m; r++)
            for (let s = 0; s < slices; s++)
              for (let j = 0; j < cc; j++) {
                let col = 0;
                for (let i = 0; i < kk; i++) col += ((x[r * kk + i] >> b) & 1) * ws[s][i * cc + j];
                out[r * cc + j] += col * 2 ** (b + s * slice);
              }
        }
        return out;
      },
    };
  });
}

test('a hardware model supplies its own per-layer integer GEMM (bit-serial, tiled) and gets the exact integer result', () => {
  const rng = new Rng(3);
  const wl = tinyWorkload(rng, { mean: [0.3, 0.5], std: [0.2, 0.4] });
  const x = new Float32Array(12 * 72).map(() => rng.next());
  const qw = quantizeWorkload(wl, { calib: x, calibCount: 12, percentile: 0.999, weights: { bits: 6 }, activations: { bits: 5 } });
  const counter = { cycles: 0 };
  const exactCaps: Float32Array[] = [];
  const exact = runQuantized(qw, x, 12, exactIntGemm(), { capture: (c) => exactCaps.push(c.products) });
  const serialCaps: Float32Array[] = [];
  const serial = runQuantized(qw, x, 12, bitSerialEngine(5, 2, counter), { capture: (c) => serialCaps.push(c.products) });
  assert.deepEqual(serial, exact);
  assert.deepEqual(serialCaps, exactCaps);
  // conv 18×4 → 3×1 tiles, dense 36×3 → 5×1 tiles; 5 input bits per tile run.
  assert.equal(counter.cycles, (3 + 5) * 5);
  assert.equal(layerTiles(18, 4, 8, 4).length, 3);
});

test('capture: per-layer codes, products and outputs; activation statistics and batched accuracy', () => {
  const rng = new Rng(4);
  const wl = tinyWorkload(rng);
  const n = 25;
  const x = new Float32Array(n * 72).map(() => rng.next());
  const qw = quantizeWorkload(wl, { calib: x, calibCount: n, percentile: 0.99 });
  const stats = new ActivationStatsCollector();
  const seen: string[] = [];
  runQuantized(qw, x, n, exactIntGemm(), {
    capture: (c) => {
      seen.push(`${c.layer.name}:${c.m}x${c.layer.k}`);
      assert.equal(c.codes.length, c.m * c.layer.k);
      assert.equal(c.output.length, c.m * c.layer.n);
      stats.add(c.layer.opIndex, c.layer.name, c.codes);
    },
  });
  assert.deepEqual(seen, [`c1:${n * 36}x18`, `d:${n}x36`]);
  const s = stats.stats();
  assert.equal(s.length, 2);
  assert.equal(s[0].values, n * 36 * 18);
  // 'same' padding of a 6×6 input with a 3×3 kernel: 20 border positions miss 3 or 5 taps (2 channels each).
  assert.ok(s[0].zeros >= n * (16 * 3 + 4 * 5) * 2);
  assert.ok(s[1].zeroFraction > 0 && s[1].zeroFraction < 1);
  const logits = floatForward(wl, x, n);
  const labels = Array.from({ length: n }, (_, b) => [0, 1, 2].reduce((best, c) => (logits[b * 3 + c] > logits[b * 3 + best] ? c : best), 0));
  assert.equal(
    evaluateAccuracy((xb, b) => floatForward(wl, xb, b), { x, labels, count: n }, 3, 7),
    1,
  );
});
