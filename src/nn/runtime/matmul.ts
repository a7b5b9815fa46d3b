/**
 * Float matrix products. `MatMulEngine` is the tensor-op fast path of the runtime: it is injected
 * by the caller (e.g. `tfMatMul` from `matmul-tf.ts`, which loads tfjs), so code that uses this
 * module stays on plain typed arrays. `plainMatMul` is the reference twin.
 */
import { ctorOf, type FloatArray } from './geometry.js';

/** A prepared right-hand side (K×N); engines extend it with their own storage. */
export interface MatMulOperand {
  readonly k: number;
  readonly n: number;
}

/** `prepare` uploads a K×N right-hand side once, `run` multiplies an M×K block by it (row-major). */
export interface MatMulEngine {
  prepare(b: Float32Array, k: number, n: number): MatMulOperand;
  run(a: Float32Array, m: number, k: number, b: MatMulOperand): Float32Array;
  release(b: MatMulOperand): void;
}

/**
 * Reference product of an M×K and a K×N matrix (row-major), float64 accumulation, zero entries of
 * `a` skipped. The result has `a`'s array type.
 */
export function matmul<A extends FloatArray>(a: A, b: ArrayLike<number>, m: number, k: number, n: number): A {
  const out = new (ctorOf(a))(m * n) as A;
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      if (av === 0) continue;
      const row = p * n;
      for (let j = 0; j < n; j++) acc[j] += av * b[row + j];
    }
    out.set(acc, i * n);
  }
  return out;
}

interface PlainOperand extends MatMulOperand {
  readonly b: Float32Array;
}

/** Plain typed-array engine (reference). */
export const plainMatMul: MatMulEngine = {
  prepare: (b, k, n): PlainOperand => ({ b, k, n }),
  run: (a, m, k, op) => matmul(a, (op as PlainOperand).b, m, k, op.n),
  release: () => {},
};

/** One product through an engine (prepare, run, release). */
export function matmulOnce(engine: MatMulEngine, a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const op = engine.prepare(b, k, n);
  try {
    return engine.run(a, m, k, op);
  } finally {
    engine.release(op);
  }
}
