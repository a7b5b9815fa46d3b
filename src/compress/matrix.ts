/**
 * Integer weight matrices for packing. A filter matrix F has `rows` output channels (filters) and
 * `cols` input features (C·R·S for a convolution, the inputs of a dense layer), stored row-major
 * as signed integer codes. The workload runtime's K×N layout (reduction index major) is its
 * transpose: `fromKxN` / `toKxN` convert.
 */
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';

/** A rows×cols row-major matrix of any numeric weights (integer codes or floats). */
export interface WeightMatrix {
  rows: number;
  cols: number;
  values: ArrayLike<number>;
}

export interface IntMatrix {
  rows: number;
  cols: number;
  /** rows×cols integer codes, row-major. */
  values: Int32Array;
}

export function intMatrix(rows: number, cols: number, values?: Int32Array): IntMatrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new ConfigError(`matrix: ${rows}×${cols} is not a matrix shape (use positive integers)`);
  }
  const v = values ?? new Int32Array(rows * cols);
  if (v.length !== rows * cols) throw new ConfigError(`matrix: ${v.length} values do not fill ${rows}×${cols}`);
  return { rows, cols, values: v };
}

/** Number of nonzero entries. */
export function nonzeros(m: IntMatrix): number {
  let n = 0;
  for (let i = 0; i < m.values.length; i++) if (m.values[i] !== 0) n++;
  return n;
}

/** Fraction of zero entries. */
export function sparsityOf(m: IntMatrix): number {
  return 1 - nonzeros(m) / m.values.length;
}

/** The F (rows = output channels) view of a K×N reduction-major matrix. */
export function fromKxN(kxn: Int32Array, k: number, n: number): IntMatrix {
  const m = intMatrix(n, k);
  for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) m.values[j * k + r] = kxn[r * n + j];
  return m;
}

/** The K×N reduction-major layout of F (inverse of `fromKxN`). */
export function toKxN(m: IntMatrix): Int32Array {
  const out = new Int32Array(m.values.length);
  for (let j = 0; j < m.rows; j++) for (let r = 0; r < m.cols; r++) out[r * m.rows + j] = m.values[j * m.cols + r];
  return out;
}

export function matricesEqual(a: IntMatrix, b: IntMatrix): boolean {
  if (a.rows !== b.rows || a.cols !== b.cols) return false;
  for (let i = 0; i < a.values.length; i++) if (a.values[i] !== b.values[i]) return false;
  return true;
}

/** Largest code magnitude of a signed `bits`-bit symmetric quantizer (127 for 8 bits). */
export function maxCode(bits: number): number {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw new ConfigError(`quantization: ${bits} weight bits is not supported (use 2…16)`);
  return 2 ** (bits - 1) - 1;
}

/** Symmetric per-tensor quantization of float weights to signed `bits`-bit codes (scale = max|w| / maxCode). */
export function quantizeSymmetric(w: Float32Array, bits = 8): { codes: Int32Array; scale: number } {
  const q = maxCode(bits);
  let mx = 0;
  for (let i = 0; i < w.length; i++) mx = Math.max(mx, Math.abs(w[i]));
  const scale = mx > 0 ? mx / q : 1;
  const codes = new Int32Array(w.length);
  for (let i = 0; i < w.length; i++) codes[i] = Math.max(-q, Math.min(q, Math.round(w[i] / scale)));
  return { codes, scale };
}

export interface SyntheticOptions {
  rows: number;
  cols: number;
  /** Fraction of weights set to zero by magnitude pruning (0 ≤ s < 1). */
  sparsity: number;
  seed: number;
  /** Weight bits (signed codes). Default 8. */
  bits?: number;
  /** Weight distribution before quantization. Default 'laplace' (trained CNN weights are close to it). */
  distribution?: 'laplace' | 'normal';
}

/**
 * A seeded magnitude-distributed weight matrix: float weights drawn from a Laplace (or normal)
 * distribution, quantized to signed `bits`-bit codes with the per-tensor max as scale, then the
 * smallest-magnitude fraction `sparsity` set to zero (ties broken by position).
 */
export function syntheticWeights(o: SyntheticOptions): IntMatrix {
  if (!(o.sparsity >= 0 && o.sparsity < 1)) throw new ConfigError(`synthetic weights: sparsity ${o.sparsity} is outside [0, 1)`);
  const rng = new Rng(o.seed);
  const n = o.rows * o.cols;
  const m = intMatrix(o.rows, o.cols);
  const w = new Float32Array(n);
  const dist = o.distribution ?? 'laplace';
  for (let i = 0; i < n; i++) {
    if (dist === 'normal') w[i] = rng.normal();
    else {
      const u = rng.next() - 0.5;
      w[i] = -Math.sign(u) * Math.log(1 - 2 * Math.abs(u) || Number.MIN_VALUE);
    }
  }
  const { codes } = quantizeSymmetric(w, o.bits ?? 8);
  const order = magnitudeOrder(w);
  const drop = Math.round(o.sparsity * n);
  for (let i = drop; i < n; i++) m.values[order[i]] = codes[order[i]];
  return m;
}

/** Indices sorted by ascending |w| (stable: ties by index). */
export function magnitudeOrder(w: ArrayLike<number>): Int32Array {
  const idx = new Int32Array(w.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  const mag = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) mag[i] = Math.abs(w[i]);
  return idx.sort((a, b) => mag[a] - mag[b] || a - b);
}
