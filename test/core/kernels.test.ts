/**
 * The project's wasm training kernels against the stock tfjs `cpu` backend (the reference twin).
 * Inputs are seeded random arrays; each kernel runs once on 'cpu' and on 'wasm' in the same
 * process (tf.setBackend switches; the wasm backend keeps the project kernels registered by
 * initEngine). Where the native BLAS kernels are in use, every wasm run is done twice: native on
 * and native off (setNativeEnabled), so both paths are checked against cpu; with ACCELAB_NATIVE=0
 * only the wasm path runs. Error measure: max |wasm − cpu| / max |cpu| over the whole output tensor.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { MAXPOOL_RELU_BIAS_GRAD_KERNEL, NATIVE_KERNELS, nativeKernelCalls, RELU_BIAS_GRAD_KERNEL, setNativeEnabled, setNativeSmallConvK } from '../../src/core/kernels/native.js';
import { fastConv2d, reluBiasGradOps } from '../../src/core/kernels/conv.js';
import { Rng } from '../../src/core/rng.js';
import { batchNormForwardOps, batchNormGradOps, fastBatchNormalization } from '../../src/core/kernels/batchnorm.js';
import { BN_FORWARD_KERNEL, BN_GRAD_KERNEL } from '../../src/core/kernels/wasm.js';

const TOL = 1e-5;

interface Arr {
  shape: number[];
  data: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
}

function rand(rng: Rng, shape: number[], quantized = false): Arr {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = quantized ? Math.max(0, rng.int(7) - 3) : rng.uniform(-1, 1);
  return { shape, data };
}

function run(backend: string, kernel: string, inputs: Record<string, Arr>, attrs: object): Arr {
  if (!tf.setBackend(backend)) throw new Error(`backend ${backend} not available`);
  return tf.tidy(() => {
    const ts: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape, v.dtype ?? 'float32');
    const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape, data: out.dataSync() as Float32Array };
  });
}

function relErr(a: Arr, ref: Arr): number {
  assert.deepEqual(a.shape, ref.shape);
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.data.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref.data[i]));
    maxDiff = Math.max(maxDiff, Math.abs(a.data[i] - ref.data[i]));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

/** wasm paths under test: native BLAS kernels on and off where they are in use, else wasm only. */
let PATHS: ('native' | 'wasm')[] = ['wasm'];

/** Runs on cpu and on each wasm path, checks the errors, returns the largest (for the log line). */
function check(kernel: string, inputs: Record<string, Arr>, attrs: object, label: string): number {
  const ref = run('cpu', kernel, inputs, attrs);
  let worst = 0;
  try {
    for (const path of PATHS) {
      setNativeEnabled(path === 'native');
      const e = relErr(run('wasm', kernel, inputs, attrs), ref);
      assert.ok(Number.isFinite(e) && e <= TOL, `${kernel} ${label} (${path}): relative error ${e} > ${TOL}`);
      worst = Math.max(worst, e);
    }
  } finally {
    setNativeEnabled(true);
  }
  return worst;
}

const errors: Record<string, number> = {};
function note(kernel: string, e: number): void {
  errors[kernel] = Math.max(errors[kernel] ?? 0, e);
}

interface ConvCase {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  s: number | [number, number];
  pad: 'same' | 'valid';
}

// batch 1 and >1; strides 1 and 2 (and 2×1); same and valid; 1×1, 3×3 and 5×5 kernels; few input
// channels (im2col path of Conv2DBackpropFilter) and many (conv path).
const CONV_CASES: ConvCase[] = [
  { x: [1, 8, 8, 3], k: [3, 3], co: 4, s: 1, pad: 'same' },
  { x: [2, 9, 9, 2], k: [3, 3], co: 5, s: 2, pad: 'same' },
  { x: [3, 7, 7, 4], k: [1, 1], co: 6, s: 1, pad: 'valid' },
  { x: [2, 10, 10, 3], k: [5, 5], co: 4, s: 2, pad: 'valid' },
  { x: [1, 11, 11, 2], k: [5, 5], co: 3, s: 1, pad: 'same' },
  { x: [4, 8, 8, 8], k: [1, 1], co: 8, s: 2, pad: 'same' },
  { x: [2, 9, 8, 3], k: [3, 3], co: 4, s: 2, pad: 'valid' },
  { x: [2, 7, 7, 16], k: [3, 3], co: 8, s: [2, 1], pad: 'same' },
  // Many input channels (XNNPACK conv path of the filter gradient) with a cropped bottom row.
  { x: [2, 10, 9, 8], k: [3, 3], co: 4, s: 2, pad: 'valid' },
  // Stride 1 with C ≤ CO (swapped formulation: x as the filter), same and valid, non-square.
  { x: [2, 6, 7, 8], k: [3, 3], co: 8, s: 1, pad: 'valid' },
  { x: [3, 5, 6, 8], k: [3, 3], co: 16, s: 1, pad: 'same' },
  { x: [2, 7, 6, 6], k: [5, 3], co: 12, s: 1, pad: 'same' },
  // Stride 1 with C > CO (conv formulation).
  { x: [2, 7, 7, 16], k: [3, 3], co: 8, s: 1, pad: 'same' },
  // 1×1 stride 1 with many channels (native: no im2col), and 1×1 stride 2 (a ResNet projection).
  { x: [3, 5, 4, 24], k: [1, 1], co: 10, s: 1, pad: 'same' },
  { x: [2, 8, 8, 16], k: [1, 1], co: 32, s: 2, pad: 'valid' },
  // 3×3 stride 2 'same' on an even size (uneven padding: 0 before, 1 after) and on an odd size.
  { x: [2, 8, 8, 16], k: [3, 3], co: 32, s: 2, pad: 'same' },
  { x: [2, 9, 7, 16], k: [3, 3], co: 12, s: 2, pad: 'same' },
  // Larger than one native im2col block (several blocks, accumulation across blocks).
  { x: [4, 34, 34, 32], k: [3, 3], co: 16, s: 1, pad: 'same' },
];

function convOut(c: ConvCase, depthwiseMul?: number): number[] {
  const f = [c.k[0], c.k[1], c.x[3], depthwiseMul ?? c.co] as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(c.x, f, c.s, 1, c.pad, undefined, depthwiseMul !== undefined);
  return info.outShape;
}

describe('project wasm kernels vs the cpu backend', () => {
  before(async () => {
    const info = await initEngine('wasm');
    if (info.native.enabled) PATHS = ['native', 'wasm'];
    else console.log(`# native BLAS kernels not tested here: ${info.native.reason}`);
    if (process.env.ACCELAB_NATIVE_BUILD === 'require' && process.env.ACCELAB_NATIVE !== '0') {
      assert.ok(info.native.enabled, `ACCELAB_NATIVE_BUILD=require but the native path is off: ${info.native.reason}`);
    }
  });
  after(() => {
    tf.setBackend('wasm');
  });

  it('Conv2D and FusedConv2D (bias, relu)', () => {
    const rng = new Rng(11);
    for (const c of CONV_CASES) {
      const f = rand(rng, [c.k[0], c.k[1], c.x[3], c.co]);
      const x = rand(rng, c.x);
      note('Conv2D', check('Conv2D', { x, filter: f }, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: 1 }, JSON.stringify(c)));
      const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
      note('FusedConv2D', check('FusedConv2D', { x, filter: f, bias: rand(rng, [c.co]) }, attrs, JSON.stringify(c)));
      note('FusedConv2D', check('FusedConv2D', { x, filter: f }, { ...attrs, activation: 'linear' }, `${JSON.stringify(c)} no bias`));
    }
    // Explicit uneven padding; an unsupported activation (falls through on the native path).
    const pad = [
      [0, 0],
      [2, 0],
      [1, 3],
      [0, 0],
    ];
    const x = rand(rng, [2, 9, 8, 8]);
    const f = rand(rng, [3, 3, 8, 5]);
    note('Conv2D', check('Conv2D', { x, filter: f }, { strides: 2, pad, dataFormat: 'NHWC', dilations: 1 }, 'explicit pad'));
    note('FusedConv2D', check('FusedConv2D', { x, filter: f, bias: rand(rng, [5]) }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'elu' }, 'elu'));
  });

  it('Conv2DBackpropFilter', () => {
    const rng = new Rng(1);
    for (const c of CONV_CASES) {
      const filterShape = [c.k[0], c.k[1], c.x[3], c.co];
      const inputs = { x: rand(rng, c.x), dy: rand(rng, convOut(c)) };
      note('Conv2DBackpropFilter', check('Conv2DBackpropFilter', inputs, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape }, JSON.stringify(c)));
    }
  });

  it('Conv2DBackpropInput', () => {
    const rng = new Rng(2);
    for (const c of CONV_CASES) {
      const inputs = { dy: rand(rng, convOut(c)), filter: rand(rng, [c.k[0], c.k[1], c.x[3], c.co]) };
      note('Conv2DBackpropInput', check('Conv2DBackpropInput', inputs, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x }, JSON.stringify(c)));
    }
    // Explicit padding the phase decomposition does not cover (zero-dilation fallback), both kernels.
    const pad = [
      [0, 0],
      [2, 0],
      [1, 1],
      [0, 0],
    ];
    const x: [number, number, number, number] = [2, 9, 8, 3];
    const info = tf.backend_util.computeConv2DInfo(x, [3, 3, 3, 4], 2, 1, pad as never);
    const dy = rand(rng, info.outShape);
    note('Conv2DBackpropInput', check('Conv2DBackpropInput', { dy, filter: rand(rng, [3, 3, 3, 4]) }, { strides: 2, pad, dataFormat: 'NHWC', inputShape: x }, 'explicit pad'));
    note('Conv2DBackpropFilter', check('Conv2DBackpropFilter', { x: rand(rng, x), dy }, { strides: 2, pad, dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] }, 'explicit pad'));
  });

  it('DepthwiseConv2dNativeBackpropFilter and ...BackpropInput', () => {
    const rng = new Rng(3);
    for (const c of CONV_CASES) {
      for (const mul of [1, 2]) {
        const filterShape = [c.k[0], c.k[1], c.x[3], mul];
        const dyShape = convOut(c, mul);
        const attrsF = { strides: c.s, dilations: 1, pad: c.pad, filterShape };
        note('DepthwiseConv2dNativeBackpropFilter', check('DepthwiseConv2dNativeBackpropFilter', { x: rand(rng, c.x), dy: rand(rng, dyShape) }, attrsF, JSON.stringify(c)));
        const attrsI = { strides: c.s, dilations: 1, pad: c.pad, inputShape: c.x };
        note(
          'DepthwiseConv2dNativeBackpropInput',
          check('DepthwiseConv2dNativeBackpropInput', { dy: rand(rng, dyShape), filter: rand(rng, filterShape) }, attrsI, JSON.stringify(c)),
        );
      }
    }
  });

  it('MaxPool and MaxPoolGrad (including ties after ReLU)', () => {
    const rng = new Rng(4);
    const cases: { x: number[]; f: number | [number, number]; s: number; pad: 'same' | 'valid' }[] = [
      { x: [1, 8, 8, 3], f: 2, s: 2, pad: 'valid' },
      { x: [2, 9, 9, 4], f: 2, s: 2, pad: 'same' },
      { x: [3, 7, 7, 2], f: 3, s: 2, pad: 'same' },
      { x: [2, 8, 8, 5], f: 3, s: 1, pad: 'valid' },
      { x: [1, 10, 10, 1], f: [2, 3], s: 2, pad: 'same' },
      { x: [4, 6, 6, 8], f: 1, s: 1, pad: 'valid' },
      // 2×2 / stride 2 without padding (single-pass fast path): even, odd trailing row/column, 'same' on even.
      { x: [2, 6, 8, 3], f: 2, s: 2, pad: 'valid' },
      { x: [3, 7, 9, 5], f: 2, s: 2, pad: 'valid' },
      { x: [2, 10, 6, 16], f: 2, s: 2, pad: 'same' },
    ];
    for (const c of cases) {
      for (const quantized of [false, true]) {
        const xa = rand(rng, c.x, quantized);
        // MaxPool output, needed as a kernel input by the cpu version.
        const y = run('cpu', 'MaxPool', { x: xa }, { filterSize: c.f, strides: c.s, pad: c.pad });
        note('MaxPool', check('MaxPool', { x: xa }, { filterSize: c.f, strides: c.s, pad: c.pad }, JSON.stringify(c)));
        const inputs = { dy: rand(rng, y.shape), input: xa, output: y };
        note('MaxPoolGrad', check('MaxPoolGrad', inputs, { filterSize: c.f, strides: c.s, pad: c.pad }, JSON.stringify(c)));
      }
    }
  });

  it('MaxPool and MaxPoolGrad 2×2/stride 2 with NaN and ±Infinity inputs', () => {
    const rng = new Rng(41);
    const xa = rand(rng, [2, 6, 6, 4]);
    const specials = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
    for (let i = 0; i < xa.data.length; i += 7) xa.data[i] = specials[i % 3];
    // A window that is entirely −∞ (no gradient on cpu) and one that is entirely NaN.
    for (const [base, v] of [
      [0, Number.NEGATIVE_INFINITY],
      [2 * 4, Number.NaN],
    ] as const) {
      for (const off of [0, 4, 6 * 4, 6 * 4 + 4]) xa.data[base + off + 1] = v;
    }
    const y = run('cpu', 'MaxPool', { x: xa }, { filterSize: 2, strides: 2, pad: 'valid' });
    const dy = rand(rng, y.shape);
    note('MaxPoolGrad', check('MaxPoolGrad', { dy, input: xa, output: y }, { filterSize: 2, strides: 2, pad: 'valid' }, 'non-finite'));
    // The native MaxPool forward on the same data equals cpu exactly (NaN never wins, an all-NaN window gives −∞).
    if (PATHS.includes('native')) {
      setNativeEnabled(true);
      const got = run('wasm', 'MaxPool', { x: xa }, { filterSize: 2, strides: 2, pad: 'valid' });
      assert.deepEqual(Array.from(got.data), Array.from(y.data));
      assert.ok(Array.from(y.data).includes(Number.NEGATIVE_INFINITY) && Array.from(y.data).includes(Number.POSITIVE_INFINITY));
    }
  });

  it('Sum (leading axes fast path and stock fallbacks)', () => {
    const rng = new Rng(42);
    const cases: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
      { shape: [2, 3, 4, 5], axis: [0, 1, 2], keepDims: false },
      { shape: [6, 7], axis: 0, keepDims: false },
      { shape: [3, 4, 5], axis: [1, 0], keepDims: true },
      { shape: [3, 4, 5], axis: -3, keepDims: false },
      { shape: [64, 9, 9, 32], axis: [0, 1, 2], keepDims: false },
      { shape: [2, 3, 4], axis: [0, 2], keepDims: false },
      { shape: [4, 5], axis: -1, keepDims: true },
      { shape: [4, 5], axis: [0, 1], keepDims: false },
      { shape: [7, 5000], axis: 0, keepDims: false },
    ];
    for (const c of cases) {
      note('Sum', check('Sum', { x: rand(rng, c.shape) }, { axis: c.axis, keepDims: c.keepDims }, JSON.stringify(c)));
    }
  });

  it('Add (same shape, bias over the last axis, other broadcasts), Relu and its gradient', () => {
    const rng = new Rng(45);
    const cases: [number[], number[]][] = [
      [
        [4, 5, 6, 7],
        [4, 5, 6, 7],
      ],
      [[4, 5, 6, 7], [7]],
      [[7], [4, 5, 6, 7]],
      [
        [3, 8],
        [1, 8],
      ],
      [
        [2, 3, 4],
        [3, 1],
      ],
      [
        [2, 3, 4],
        [2, 1, 4],
      ],
    ];
    for (const [a, b] of cases) note('Add', check('Add', { a: rand(rng, a), b: rand(rng, b) }, {}, `${a} + ${b}`));
    note('Relu', check('Relu', { x: rand(rng, [5, 7, 3, 4]) }, {}, 'relu'));
    const x = rand(rng, [3, 6, 5, 4]);
    // Zeros, NaN and ±Infinity at the kink and beyond.
    for (let i = 0; i < x.data.length; i += 5) x.data[i] = [0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0][(i / 5) % 5];
    const w = rand(rng, [3, 6, 5, 4]);
    const grad = (backend: string): Arr =>
      tf.tidy(() => {
        tf.setBackend(backend);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), tf.tensor(w.data, w.shape))))(tf.tensor(x.data, x.shape));
        return { shape: g.shape, data: g.dataSync() as Float32Array };
      });
    const ref = grad('cpu');
    for (const path of PATHS) {
      setNativeEnabled(path === 'native');
      const got = grad('wasm');
      // Same NaN positions, and equal elsewhere.
      for (let i = 0; i < ref.data.length; i++) {
        assert.equal(Number.isNaN(got.data[i]), Number.isNaN(ref.data[i]), `relu gradient (${path}) at ${i}: ${got.data[i]} vs ${ref.data[i]}`);
        if (!Number.isNaN(ref.data[i])) assert.equal(got.data[i], ref.data[i], `relu gradient (${path}) at ${i}`);
      }
    }
    setNativeEnabled(true);
  });

  it('Cast (same dtype shares data and survives disposal of its input; other casts stock)', () => {
    const rng = new Rng(43);
    const a = rand(rng, [3, 4, 5]);
    note('Cast', check('Cast', { x: a }, { dtype: 'float32' }, 'float32->float32'));
    note('Cast', check('Cast', { x: a }, { dtype: 'int32' }, 'float32->int32'));
    const ints: Arr = { shape: [7], data: Int32Array.from([3, -2, 0, 9, 1, -7, 4]), dtype: 'int32' };
    assert.deepEqual(Array.from(run('wasm', 'Cast', { x: ints }, { dtype: 'int32' }).data), Array.from(ints.data));
    assert.deepEqual(Array.from(run('wasm', 'Cast', { x: ints }, { dtype: 'float32' }).data), Array.from(ints.data));
    tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor(a.data, a.shape);
    const y = tf.engine().runKernel('Cast', { x }, { dtype: 'float32' }) as tf.Tensor;
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), Array.from(a.data));
    y.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('UnsortedSegmentSum (float32 and int32, ids out of range) and the gradient of tf.gather', () => {
    const rng = new Rng(44);
    const ids = (shape: number[], hi: number): Arr => {
      const n = shape.reduce((p, v) => p * v, 1);
      return { shape, data: Int32Array.from({ length: n }, () => rng.int(hi + 2) - 1), dtype: 'int32' };
    };
    const cases: { x: number[]; ids: number[]; k: number }[] = [
      { x: [10], ids: [10], k: 4 },
      { x: [12, 5], ids: [12], k: 6 },
      { x: [6, 3, 4], ids: [6], k: 3 },
      { x: [9, 2, 2], ids: [9], k: 7 },
      { x: [1, 8], ids: [1], k: 1 },
    ];
    for (const c of cases) {
      const seg = ids(c.ids, c.k);
      note('UnsortedSegmentSum', check('UnsortedSegmentSum', { x: rand(rng, c.x), segmentIds: seg }, { numSegments: c.k }, JSON.stringify(c)));
      const xi = rand(rng, c.x, true);
      const ints: Arr = { shape: c.x, data: Int32Array.from(xi.data), dtype: 'int32' };
      const got = run('wasm', 'UnsortedSegmentSum', { x: ints, segmentIds: seg }, { numSegments: c.k });
      const ref = run('cpu', 'UnsortedSegmentSum', { x: ints, segmentIds: seg }, { numSegments: c.k });
      assert.deepEqual(got.shape, ref.shape);
      assert.deepEqual(Array.from(got.data), Array.from(ref.data));
    }
    // d/dtable of sum(gather(table, idx) * w), with repeated indices.
    const table = rand(rng, [7, 3]);
    const idx = Int32Array.from([0, 3, 3, 6, 1, 3, 0, 5]);
    const w = rand(rng, [8, 3]);
    const grad = (backend: string): Arr => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(idx, 'int32')), tf.tensor(w.data, w.shape))));
        const r = g(tf.tensor(table.data, table.shape));
        return { shape: r.shape, data: r.dataSync() as Float32Array };
      });
    };
    const e = relErr(grad('wasm'), grad('cpu'));
    assert.ok(e <= TOL, `gradient of gather: relative error ${e}`);
    note('UnsortedSegmentSum', e);
  });

  it('Tile (float32 and int32)', () => {
    const rng = new Rng(5);
    const cases: [number[], number[]][] = [
      [[3], [4]],
      [
        [2, 3],
        [1, 1],
      ],
      [
        [2, 3],
        [3, 2],
      ],
      [
        [2, 1, 4],
        [1, 5, 1],
      ],
      [
        [1, 1, 1, 6],
        [4, 5, 5, 1],
      ],
      [
        [2, 3, 1, 2],
        [2, 1, 3, 2],
      ],
      [
        [4, 1],
        [1, 7],
      ],
    ];
    for (const [shape, reps] of cases) {
      const a = rand(rng, shape);
      note('Tile', check('Tile', { x: a }, { reps }, `${shape} x ${reps}`));
      const ints: Arr = { shape, data: Int32Array.from(a.data, (v) => Math.round(v * 100)), dtype: 'int32' };
      const got = run('wasm', 'Tile', { x: ints }, { reps });
      const ref = run('cpu', 'Tile', { x: ints }, { reps });
      assert.deepEqual(Array.from(got.data), Array.from(ref.data));
    }
  });

  it('BatchMatMul and _FusedMatMul with transposed operands', () => {
    const rng = new Rng(6);
    const cases: { a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
      { a: [1, 5, 7], b: [1, 5, 3], tA: true, tB: false },
      { a: [1, 5, 7], b: [1, 3, 7], tA: false, tB: true },
      { a: [2, 7, 5], b: [2, 3, 7], tA: true, tB: true },
      { a: [3, 4, 6], b: [3, 6, 2], tA: false, tB: false },
      { a: [1, 64, 33], b: [1, 64, 17], tA: true, tB: false },
      { a: [2, 9, 16], b: [1, 9, 16], tA: false, tB: true },
      // a·bᵀ with a large b (computed as (b·aᵀ)ᵀ), rank 3 and rank 2.
      { a: [1, 4, 6], b: [1, 50, 6], tA: false, tB: true },
      { a: [3, 8], b: [40, 8], tA: false, tB: true },
      // Rank 2 in every transpose combination; batched rank 4; one operand broadcast over the batch.
      { a: [9, 12], b: [12, 7], tA: false, tB: false },
      { a: [12, 9], b: [7, 12], tA: true, tB: true },
      { a: [2, 3, 5, 4], b: [2, 3, 4, 6], tA: false, tB: false },
      { a: [2, 3, 4, 5], b: [2, 3, 6, 4], tA: true, tB: true },
      { a: [1, 6, 5], b: [4, 5, 3], tA: false, tB: false },
      { a: [4, 5, 6], b: [1, 3, 5], tA: true, tB: true },
    ];
    for (const c of cases) {
      const inputs = { a: rand(rng, c.a), b: rand(rng, c.b) };
      note('BatchMatMul', check('BatchMatMul', inputs, { transposeA: c.tA, transposeB: c.tB }, JSON.stringify(c)));
      if (c.a[0] === c.b[0]) {
        const r = c.b.length;
        const n = c.tB ? c.b[r - 2] : c.b[r - 1];
        const fused = { ...inputs, bias: rand(rng, [n]) };
        note('_FusedMatMul', check('_FusedMatMul', fused, { transposeA: c.tA, transposeB: c.tB, activation: 'relu' }, JSON.stringify(c)));
      }
    }
  });

  it('batch-norm training kernels (forward with moments, gradient) vs the op-based twin on cpu', () => {
    const rng = new Rng(8);
    for (const shape of [
      [4, 5, 5, 3],
      [1, 7, 6, 8],
      [16, 10],
      [2, 4, 4, 16],
      [3, 3, 3, 1],
      [64, 2, 2, 5],
    ]) {
      const C = shape[shape.length - 1];
      const xa = rand(rng, shape);
      for (let i = 0; i < xa.data.length; i++) xa.data[i] = xa.data[i] * 3 + 1.5; // non-zero mean
      const dya = rand(rng, shape);
      const ga = rand(rng, [C]);
      const ba = rand(rng, [C]);
      const eps = 1e-3;
      const ref = (b: string) => {
        tf.setBackend(b);
        return tf.tidy(() => {
          const x = tf.tensor(xa.data, shape);
          const [y, mean, variance] = batchNormForwardOps(x, tf.tensor1d(ga.data), tf.tensor1d(ba.data), eps);
          const outs = batchNormGradOps(x, tf.tensor(dya.data, shape), mean, variance, tf.tensor1d(ga.data), eps);
          return [y, mean, variance, ...outs].map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
        });
      };
      const expected = ref('cpu');
      tf.setBackend('wasm');
      for (const path of PATHS) {
        setNativeEnabled(path === 'native');
        const got = tf.tidy(() => {
          const x = tf.tensor(xa.data, shape);
          const [y, mean, variance] = tf
            .engine()
            .runKernel(BN_FORWARD_KERNEL, { x, gamma: tf.tensor1d(ga.data), beta: tf.tensor1d(ba.data) }, { epsilon: eps }) as unknown as tf.Tensor[];
          const outs = tf
            .engine()
            .runKernel(BN_GRAD_KERNEL, { x, dy: tf.tensor(dya.data, shape), mean, variance, gamma: tf.tensor1d(ga.data) }, { epsilon: eps }) as unknown as tf.Tensor[];
          return [y, mean, variance, ...outs].map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
        });
        [
          'AccelabBatchNormForward.y',
          'AccelabBatchNormForward.mean',
          'AccelabBatchNormForward.variance',
          'AccelabBatchNormGrad.dx',
          'AccelabBatchNormGrad.dgamma',
          'AccelabBatchNormGrad.dbeta',
        ].forEach((name, i) => {
          const e = relErr(got[i], expected[i]);
          assert.ok(e <= TOL, `${name} ${shape} (${path}): relative error ${e}`);
          note(name.split('.')[0], e);
        });
      }
      setNativeEnabled(true);
    }
  });

  it('FastBatchNormalization trains like the tfjs layer (outputs, gradients, moving statistics)', async () => {
    const rng = new Rng(9);
    const xa = rand(rng, [6, 4, 4, 5]);
    const wa = rand(rng, [6, 4, 4, 5]);
    const results: Record<string, Float32Array[]> = {};
    for (const backend of ['cpu', 'wasm']) {
      tf.setBackend(backend);
      for (const kind of ['stock', 'fast']) {
        const layer = kind === 'fast' ? fastBatchNormalization({ momentum: 0.9, epsilon: 1e-3 }) : tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
        const x = tf.tensor4d(xa.data, [6, 4, 4, 5]);
        const w = tf.tensor4d(wa.data, [6, 4, 4, 5]);
        layer.build(x.shape);
        // Make gamma/beta non-trivial.
        layer.setWeights([tf.linspace(0.5, 1.5, 5), tf.linspace(-0.2, 0.2, 5), tf.zeros([5]), tf.ones([5])]);
        const loss = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, w)) as tf.Scalar;
        const dx = tf.grad(loss)(x);
        const vg = tf.variableGrads(() => loss(x));
        const [gammaVar, betaVar] = layer.trainableWeights.map((v) => (v.read() as tf.Variable).name);
        const out = [loss(x), dx, vg.grads[gammaVar], vg.grads[betaVar], ...layer.getWeights().slice(2)];
        results[`${backend}-${kind}`] = out.map((t) => t.dataSync().slice() as Float32Array);
        tf.dispose([x, w, dx, vg.value, ...Object.values(vg.grads), ...out]);
      }
    }
    // The fast layer really takes the fused path on wasm.
    tf.setBackend('wasm');
    const probe = fastBatchNormalization();
    const info = await tf.profile(() => tf.grad((xi: tf.Tensor) => tf.sum(probe.apply(xi, { training: true }) as tf.Tensor))(tf.ones([2, 3, 3, 4])));
    const names = new Set(info.kernels.map((k) => k.name));
    assert.ok(names.has('AccelabBatchNormForward') && names.has('AccelabBatchNormGrad'), [...names].join(','));
    const ref = results['cpu-stock'];
    for (const key of ['cpu-fast', 'wasm-fast', 'wasm-stock']) {
      results[key].forEach((arr, i) => {
        const e = relErr({ shape: [arr.length], data: arr }, { shape: [ref[i].length], data: ref[i] });
        assert.ok(e <= 1e-4, `${key} output ${i}: relative error ${e}`);
      });
    }
  });

  it('direct small-K convolutions (first layers) match cpu and the im2col + sgemm twin', () => {
    const rng = new Rng(12);
    // K = KH·KW·C ≤ 32 with CO a multiple of 8: forward and (K ≤ 16) filter gradient take the direct
    // kernels; more output pixels than one 1024-row block; stride 2, valid, 5×5 (forward only).
    const cases: ConvCase[] = [
      { x: [3, 12, 11, 1], k: [3, 3], co: 32, s: 1, pad: 'same' },
      { x: [4, 20, 20, 1], k: [3, 3], co: 16, s: 1, pad: 'same' },
      { x: [2, 9, 10, 3], k: [3, 3], co: 24, s: 2, pad: 'valid' },
      { x: [2, 13, 13, 1], k: [5, 5], co: 8, s: 1, pad: 'valid' },
      { x: [2, 8, 8, 2], k: [2, 2], co: 40, s: 2, pad: 'same' },
    ];
    const limits = PATHS.includes('native') ? [32, 0] : [32];
    try {
      for (const limit of limits) {
        if (PATHS.includes('native')) setNativeSmallConvK(limit);
        for (const c of cases) {
          const label = `${JSON.stringify(c)} small-K limit ${limit}`;
          const f = rand(rng, [c.k[0], c.k[1], c.x[3], c.co]);
          const x = rand(rng, c.x);
          const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: 1 };
          note('FusedConv2D', check('FusedConv2D', { x, filter: f, bias: rand(rng, [c.co]) }, { ...attrs, activation: 'relu' }, label));
          note('Conv2D', check('Conv2D', { x, filter: f }, attrs, label));
          const filterShape = [c.k[0], c.k[1], c.x[3], c.co];
          note('Conv2DBackpropFilter', check('Conv2DBackpropFilter', { x, dy: rand(rng, convOut(c)) }, { ...attrs, filterShape }, label));
        }
      }
    } finally {
      if (PATHS.includes('native')) setNativeSmallConvK(32);
    }
  });

  it('relu/bias and max-pool/relu/bias gradient kernels match their op twins on cpu (ties, NaN, odd sizes)', (t) => {
    if (!PATHS.includes('native')) return t.skip('the native path is not in use');
    const rng = new Rng(13);
    const same = (got: Float32Array, ref: Float32Array, what: string, tol: number) => {
      assert.equal(got.length, ref.length, what);
      let maxRef = 0;
      for (const v of ref) if (Number.isFinite(v)) maxRef = Math.max(maxRef, Math.abs(v));
      for (let i = 0; i < ref.length; i++) {
        if (Number.isNaN(ref[i])) assert.ok(Number.isNaN(got[i]), `${what}[${i}]: ${got[i]} vs NaN`);
        else assert.ok(Math.abs(got[i] - ref[i]) <= tol * Math.max(maxRef, 1e-30), `${what}[${i}]: ${got[i]} vs ${ref[i]}`);
      }
    };
    // A relu output with ties (quantized values, many zeros) and a few NaN.
    const reluOut = (shape: number[], nan: boolean): Arr => {
      const a = rand(rng, shape, true);
      if (nan) for (let i = 5; i < a.data.length; i += 97) a.data[i] = Number.NaN;
      return a;
    };
    for (const [shape, nan] of [
      [[4, 5, 6, 7], false],
      [[2, 3, 3, 16], true],
    ] as const) {
      const y = reluOut([...shape], nan);
      const dy = rand(rng, [...shape]);
      tf.setBackend('cpu');
      const ref = tf.tidy(() => reluBiasGradOps(tf.tensor(dy.data, dy.shape), tf.tensor(y.data, y.shape)).map((r) => r.dataSync() as Float32Array));
      tf.setBackend('wasm');
      const got = tf.tidy(() =>
        (tf.engine().runKernel(RELU_BIAS_GRAD_KERNEL, { dy: tf.tensor(dy.data, dy.shape), y: tf.tensor(y.data, y.shape) }, {}) as unknown as tf.Tensor[]).map(
          (r) => r.dataSync() as Float32Array,
        ),
      );
      same(got[0], ref[0], `${RELU_BIAS_GRAD_KERNEL} dz ${shape}`, 0);
      same(got[1], ref[1], `${RELU_BIAS_GRAD_KERNEL} db ${shape}`, 1e-6);
    }
    for (const [shape, pad, nan] of [
      [[2, 6, 8, 3], 'valid', false],
      [[3, 7, 9, 5], 'valid', true],
      [[2, 10, 6, 16], 'same', true],
      [[1, 2, 2, 1], 'valid', false],
    ] as const) {
      const y = reluOut([...shape], nan);
      const attrs = { filterSize: 2, strides: 2, pad };
      const pooled = run('cpu', 'MaxPool', { x: y }, attrs);
      const dy = rand(rng, pooled.shape);
      tf.setBackend('cpu');
      const ref = tf.tidy(() => {
        const yt = tf.tensor(y.data, y.shape);
        const dmp = tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor(dy.data, dy.shape), input: yt, output: tf.tensor(pooled.data, pooled.shape) }, attrs) as tf.Tensor;
        return reluBiasGradOps(dmp, yt).map((r) => r.dataSync() as Float32Array);
      });
      tf.setBackend('wasm');
      const got = tf.tidy(() =>
        (tf.engine().runKernel(MAXPOOL_RELU_BIAS_GRAD_KERNEL, { dy: tf.tensor(dy.data, dy.shape), y: tf.tensor(y.data, y.shape) }, attrs) as unknown as tf.Tensor[]).map(
          (r) => r.dataSync() as Float32Array,
        ),
      );
      same(got[0], ref[0], `${MAXPOOL_RELU_BIAS_GRAD_KERNEL} dz ${shape}`, 0);
      same(got[1], ref[1], `${MAXPOOL_RELU_BIAS_GRAD_KERNEL} db ${shape}`, 1e-6);
    }
    // Pools it does not take are refused (the gradient code checks before calling).
    tf.setBackend('wasm');
    assert.throws(
      () => tf.engine().runKernel(MAXPOOL_RELU_BIAS_GRAD_KERNEL, { dy: tf.ones([1, 2, 2, 1]), y: tf.ones([1, 6, 6, 1]) }, { filterSize: 3, strides: 2, pad: 'valid' }),
      /2×2/,
    );
  });

  it('FastConv2D (+ max pool) trains like the tfjs layers on each path (losses, gradients, no leaks)', () => {
    const build = (fast: boolean): tf.LayersModel => {
      const conv = fast ? fastConv2d : tf.layers.conv2d;
      const init = (seed: number) => tf.initializers.glorotUniform({ seed });
      const m = tf.sequential();
      m.add(conv({ inputShape: [11, 10, 2], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), biasInitializer: init(5) }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(conv({ filters: 6, kernelSize: 3, padding: 'valid', activation: 'relu', kernelInitializer: init(2), biasInitializer: init(6) }));
      m.add(conv({ filters: 4, kernelSize: 1, activation: 'linear', kernelInitializer: init(3), biasInitializer: init(7) }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 5, kernelInitializer: init(4) }));
      return m;
    };
    const rng = new Rng(17);
    const xa = rand(rng, [4, 11, 10, 2]);
    const labels = new Float32Array(4 * 5);
    for (let i = 0; i < 4; i++) labels[i * 5 + rng.int(5)] = 1;
    const runs: Record<string, { losses: number[]; grads: Float32Array[] }> = {};
    for (const [name, backend, fast] of [['cpu-stock', 'cpu', false], ['cpu-fast', 'cpu', true], ...PATHS.map((p) => [`${p}-fast`, p, true] as const)] as const) {
      tf.setBackend(backend === 'cpu' ? 'cpu' : 'wasm');
      setNativeEnabled(backend === 'native');
      const model = build(fast);
      const opt = tf.train.sgd(0.1);
      const x = tf.tensor4d(xa.data, [4, 11, 10, 2]);
      const y = tf.tensor2d(labels, [4, 5]);
      const loss = () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
      const vg = tf.variableGrads(loss);
      const grads = model.trainableWeights.map((w) => vg.grads[(w.read() as tf.Variable).name].dataSync().slice() as Float32Array);
      tf.dispose([vg.value, ...Object.values(vg.grads)]);
      const losses: number[] = [];
      const counts: number[] = [];
      for (let step = 0; step < 4; step++) {
        const cost = opt.minimize(loss, true);
        losses.push(cost!.dataSync()[0]);
        cost!.dispose();
        counts.push(tf.memory().numTensors);
      }
      assert.deepEqual(counts.slice(2), [counts[1], counts[1]], `${name}: tensor count flat`);
      runs[name] = { losses, grads };
      tf.dispose([x, y]);
      opt.dispose();
      model.dispose();
    }
    setNativeEnabled(true);
    const ref = runs['cpu-stock'];
    for (const [name, r] of Object.entries(runs)) {
      r.grads.forEach((g, i) => {
        const e = relErr({ shape: [g.length], data: g }, { shape: [ref.grads[i].length], data: ref.grads[i] });
        assert.ok(e <= 1e-4, `${name} gradient ${i}: relative error ${e}`);
      });
      r.losses.forEach((l, i) => {
        assert.ok(Math.abs(l - ref.losses[i]) <= 1e-4 * Math.max(1, Math.abs(ref.losses[i])), `${name} step ${i}: ${l} vs ${ref.losses[i]}`);
      });
      assert.ok(r.losses[3] < r.losses[0], `${name}: loss falls`);
    }
    if (PATHS.includes('native')) {
      const calls = nativeKernelCalls();
      assert.ok((calls[MAXPOOL_RELU_BIAS_GRAD_KERNEL] ?? 0) > 0 && (calls[RELU_BIAS_GRAD_KERNEL] ?? 0) > 0, JSON.stringify(calls));
    }
  });

  it('fused SGD and Adam updates give bit-identical weights and optimizer state to the stock updates', async (t) => {
    if (!PATHS.includes('native')) return t.skip('the native path is not in use');
    tf.setBackend('wasm');
    // The same gradients on the same variables: only the update differs (fused on the native path, stock ops off it).
    const run = async (native: boolean, kind: 'sgd' | 'adam'): Promise<Float32Array[]> => {
      setNativeEnabled(native);
      try {
        const w1 = tf.variable(tf.randomUniform([7, 5], -1, 1, 'float32', 3));
        const b1 = tf.variable(tf.zeros([5]));
        const unused = tf.variable(tf.ones([2]));
        const opt = kind === 'sgd' ? tf.train.sgd(0.05) : tf.train.adam(0.01, 0.8, 0.95, 1e-6);
        const counts: number[] = [];
        for (let step = 0; step < 5; step++) {
          tf.tidy(() =>
            opt.applyGradients([
              { name: w1.name, tensor: tf.randomNormal([7, 5], 0, 1, 'float32', 10 + step) },
              { name: b1.name, tensor: tf.randomNormal([5], 0, 1e-3, 'float32', 20 + step) },
              // A variable without a gradient is left alone.
              { name: unused.name, tensor: null as unknown as tf.Tensor },
            ]),
          );
          counts.push(tf.memory().numTensors);
        }
        assert.deepEqual(counts.slice(2), [counts[1], counts[1], counts[1]], `${kind} native ${native}: tensor count flat`);
        const state = await opt.getWeights();
        const all = [...[w1, b1, unused].map((v) => v.dataSync().slice() as Float32Array), ...state.map((s) => s.tensor.dataSync().slice() as Float32Array)];
        tf.dispose([w1, b1, unused]);
        opt.dispose();
        return all;
      } finally {
        setNativeEnabled(true);
      }
    };
    for (const kind of ['sgd', 'adam'] as const) {
      const before = nativeKernelCalls()[kind === 'sgd' ? 'AccelabSgdUpdate' : 'AccelabAdamUpdate'] ?? 0;
      const fused = await run(true, kind);
      const stock = await run(false, kind);
      assert.ok((nativeKernelCalls()[kind === 'sgd' ? 'AccelabSgdUpdate' : 'AccelabAdamUpdate'] ?? 0) > before, `${kind}: fused kernel used`);
      assert.equal(fused.length, stock.length);
      fused.forEach((a, i) => {
        assert.deepEqual(a, stock[i], `${kind}: tensor ${i} bit-identical`);
      });
    }
  });

  it('a full training step on wasm (each path) matches cpu and leaks no tensors', () => {
    const build = (): tf.LayersModel => {
      const m = tf.sequential();
      m.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
      m.add(fastBatchNormalization());
      m.add(tf.layers.batchNormalization());
      m.add(tf.layers.reLU());
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
      m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
      return m;
    };
    const rng = new Rng(7);
    const xa = rand(rng, [4, 8, 8, 3]);
    const labels = new Float32Array(4 * 5);
    for (let i = 0; i < 4; i++) labels[i * 5 + rng.int(5)] = 1;
    const losses: Record<string, number[]> = {};
    const counts: number[] = [];
    for (const backend of ['cpu', ...PATHS]) {
      tf.setBackend(backend === 'cpu' ? 'cpu' : 'wasm');
      setNativeEnabled(backend === 'native');
      const model = build();
      const opt = tf.train.sgd(0.1);
      const x = tf.tensor4d(xa.data, [4, 8, 8, 3]);
      const y = tf.tensor2d(labels, [4, 5]);
      losses[backend] = [];
      for (let step = 0; step < 4; step++) {
        const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
        losses[backend].push(cost!.dataSync()[0]);
        cost!.dispose();
        if (backend !== 'cpu') counts.push(tf.memory().numTensors);
      }
      x.dispose();
      y.dispose();
      opt.dispose();
      model.dispose();
    }
    setNativeEnabled(true);
    // Tensor count flat from the second step on (the first creates optimizer state), on each path.
    for (let p = 0; p < PATHS.length; p++) {
      const c = counts.slice(4 * p, 4 * p + 4);
      assert.deepEqual(c.slice(1), [c[1], c[1], c[1]], PATHS[p]);
    }
    for (const path of PATHS) {
      for (let i = 0; i < 4; i++) {
        assert.ok(Math.abs(losses[path][i] - losses.cpu[i]) <= 1e-4 * Math.max(1, Math.abs(losses.cpu[i])), `${path} step ${i}: ${losses[path][i]} vs ${losses.cpu[i]}`);
      }
      assert.ok(losses[path][3] < losses[path][0], `${path}: loss falls`);
    }
  });

  it('reports the measured errors (and the native kernels were really used)', (t) => {
    t.diagnostic(`max relative errors: ${JSON.stringify(errors)}`);
    assert.ok(Object.keys(errors).length >= 8);
    if (PATHS.includes('native')) {
      const calls = nativeKernelCalls();
      t.diagnostic(`native kernel calls: ${JSON.stringify(calls)}`);
      for (const k of NATIVE_KERNELS) assert.ok((calls[k] ?? 0) > 0, `native kernel ${k} was never used`);
    }
  });
});
