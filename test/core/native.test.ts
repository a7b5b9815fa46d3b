/**
 * The native BLAS path (src/core/kernels/native.ts): operand checking on the wasm heap (bad offsets,
 * misalignment, overlap, overflowing sizes, a detached heap view), results across wasm memory
 * growth, and two executor workers using the addon at once. Kernel-by-kernel parity with cpu is in
 * kernels.test.ts. Skipped, with the reason, where the addon is not built.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { EngineError } from '../../src/core/errors.js';
import { Executor } from '../../src/core/executor.js';
import { CONV_FORWARD, conv2dOnHeap, type GemmOperands, gemmOnHeap, nativeKernelCalls } from '../../src/core/kernels/native.js';

interface HeapBackend {
  wasm: { HEAPU8: Uint8Array };
  getMemoryOffset(dataId: object): number;
}

function backend(): HeapBackend {
  return tf.backend() as unknown as HeapBackend;
}

function offset(t: tf.Tensor): number {
  return backend().getMemoryOffset(t.dataId);
}

let skip: string | false = false;

describe('native BLAS path', () => {
  before(async () => {
    const info = await initEngine('wasm');
    if (!info.native.enabled) skip = `native BLAS not in use: ${info.native.reason}`;
  });

  it('rejects bad operands with an EngineError and leaves the heap untouched', (t) => {
    if (skip) return t.skip(skip);
    tf.setBackend('wasm');
    const a = tf.tensor2d(
      Float32Array.from({ length: 12 }, (_, i) => i + 1),
      [3, 4],
    );
    const b = tf.tensor2d(
      Float32Array.from({ length: 8 }, (_, i) => i - 3),
      [4, 2],
    );
    const c = tf.zeros([3, 2]);
    const canary = tf.fill([256], 7);
    const ok: GemmOperands = {
      batch: 1,
      transA: false,
      transB: false,
      M: 3,
      N: 2,
      K: 4,
      aOff: offset(a),
      aStride: 0,
      bOff: offset(b),
      bStride: 0,
      cOff: offset(c),
      biasOff: -1,
      relu: false,
    };
    const heap = backend().wasm.HEAPU8;
    gemmOnHeap(heap, ok);
    assert.deepEqual(Array.from(c.dataSync()), Array.from(tf.matMul(a, b).dataSync()));
    const snapshot = Uint8Array.from(backend().wasm.HEAPU8);
    const bad: [string, Partial<GemmOperands>, RegExp][] = [
      ['offset past the end', { cOff: heap.length - 8 }, /outside the heap/],
      ['negative offset', { aOff: -4 }, /must be an integer/],
      ['misaligned', { bOff: offset(b) + 2 }, /aligned/],
      ['fractional size', { M: 2.5 }, /must be an integer/],
      ['extent past the end', { K: 1 << 30 }, /outside the heap|overflow/],
      ['batch stride past the end', { batch: 1 << 20, aStride: 1 << 20 }, /outside the heap|overflow/],
      ['sizes overflowing 64 bits', { M: 2 ** 31 - 1, N: 2 ** 31 - 1, K: 2 ** 31 - 1, batch: 2 ** 31 - 1, aStride: 2 ** 40 }, /overflow|outside/],
      ['output overlapping an input', { cOff: offset(a) }, /overlaps/],
      ['bias past the end', { biasOff: heap.length }, /outside the heap/],
    ];
    for (const [what, patch, msg] of bad) {
      assert.throws(
        () => gemmOnHeap(heap, { ...ok, ...patch }),
        (e: unknown) => e instanceof EngineError && msg.test(e.message),
        what,
      );
    }
    const g = { N: 1, H: 3, W: 4, C: 1, KH: 1, KW: 1, CO: 2, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, OH: 3, OW: 4 };
    assert.throws(() => conv2dOnHeap(heap, CONV_FORWARD, offset(a), offset(b), heap.length - 4, g), EngineError);
    assert.throws(() => conv2dOnHeap(heap, 7, offset(a), offset(b), offset(c), g), EngineError);
    assert.throws(() => conv2dOnHeap(heap, CONV_FORWARD, offset(a), offset(b), offset(c), { ...g, strideH: 0 }), EngineError);
    assert.throws(() => conv2dOnHeap(new Uint8Array(16), CONV_FORWARD, 0, 0, 0, g), EngineError);
    assert.deepEqual(backend().wasm.HEAPU8, snapshot, 'the heap is unchanged');
    assert.deepEqual(Array.from(canary.dataSync()), new Array(256).fill(7));
    tf.dispose([a, b, c, canary]);
  });

  it('gives the same results after the wasm memory grows, and rejects a detached heap view', (t) => {
    if (skip) return t.skip(skip);
    tf.setBackend('wasm');
    const a = tf.randomUniform([2, 33, 17], -1, 1, 'float32', 1);
    const b = tf.randomUniform([17, 9], -1, 1, 'float32', 2);
    const first = tf.matMul(a, b);
    const old = backend().wasm.HEAPU8;
    const oldLength = old.length;
    // Grow the memory by more than its current size.
    const big = tf.zeros([Math.ceil(oldLength / 4) + (16 << 20)]);
    assert.ok(backend().wasm.HEAPU8.length > oldLength, 'the wasm memory grew');
    const second = tf.matMul(a, b);
    assert.deepEqual(Array.from(second.dataSync()), Array.from(first.dataSync()));
    assert.equal(old.byteLength, 0, 'the old view is detached');
    const ops: GemmOperands = {
      batch: 2,
      transA: false,
      transB: false,
      M: 33,
      N: 9,
      K: 17,
      aOff: offset(a),
      aStride: 33 * 17,
      bOff: offset(b),
      bStride: 0,
      cOff: offset(second),
      biasOff: -1,
      relu: false,
    };
    assert.throws(
      () => gemmOnHeap(old, ops),
      (e: unknown) => e instanceof EngineError && /detached/.test(e.message),
    );
    tf.dispose([a, b, first, second, big]);
  });

  it('runs in two executor workers at once, matching the wasm path', async (t) => {
    if (skip) return t.skip(skip);
    const ex = new Executor({ workers: 2, backend: 'wasm', native: 'on' });
    try {
      const job = new URL('./fixtures/native-jobs.js', import.meta.url);
      const outs = await ex.runAll<{ native: boolean; maxRelErr: number; calls: number }>(
        [1, 2, 3, 4].map((seed) => ({ id: `native-${seed}`, module: job, fn: 'nativeVsWasm', args: { seed, reps: 6 } })),
      );
      for (const o of outs) {
        assert.ok(o.ok, o.ok ? '' : o.error.message);
        if (!o.ok) continue;
        assert.equal(o.value.native, true);
        assert.ok(o.value.calls >= 6 * 4, `native calls ${o.value.calls}`);
        assert.ok(o.value.maxRelErr < 1e-5, `relative error ${o.value.maxRelErr}`);
      }
    } finally {
      await ex.close();
    }
    assert.ok(Object.keys(nativeKernelCalls()).length > 0);
  });
});
