/**
 * Numerical error of the convolution algorithms in reduced precision, measured against a float64
 * direct convolution of the unrounded data.
 *
 * Arithmetic models:
 * - float32 / float16: inputs and filters are rounded to the format; the filter transform is computed
 *   offline in float64 and rounded once (stored weights); every multiplication and addition of the
 *   input transform, the element-wise stage (sequential channel sum) and the output transform is
 *   rounded to the format (float16 = IEEE binary16, round-to-nearest-even, with subnormals and overflow).
 * - int8 / int16 (fixed point): symmetric per-tensor scales chosen from the tensor's max |value|
 *   (scale = max/(2^(b−1)−1)) for the input and the filter, and one scale per Winograd point for the
 *   transformed input V and the transformed filter U (their ranges differ by orders of magnitude); products and sums are then exact (wide accumulator), as in an integer datapath.
 *   Direct convolution quantizes only the input and the filter.
 * Transforms are applied as flat matrices (the nested algorithm's composed Aᵀ, G, Bᵀ).
 */
import { ConfigError } from '../core/errors.js';
import { placeInput, splitFilter } from './conv.js';
import { convGeometry } from '../nn/runtime/geometry.js';
import { type Filter4, type Padding, type Tensor4, relativeError } from './tensor.js';
import { type FloatAlgorithm, type NestedOptions, cookToom, nestedAlgorithm, toFloat } from './transforms.js';

export const NUMBER_FORMATS = ['float64', 'float32', 'float16', 'int16', 'int8'] as const;
export type NumberFormat = (typeof NUMBER_FORMATS)[number];

const F16_MAX = 65504;

/** Rounds to the nearest IEEE binary16 value (ties to even); overflow gives ±Infinity. */
export function roundHalf(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= F16_MAX + 16) return x > 0 ? Infinity : -Infinity; // halfway to 2^16 rounds up
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const q = a / ulp;
  let r = Math.floor(q);
  const f = q - r;
  if (f > 0.5 || (f === 0.5 && r % 2 === 1)) r++;
  const v = r * ulp;
  if (v > F16_MAX) return x > 0 ? Infinity : -Infinity;
  return x > 0 ? v : -v;
}

type Round = (x: number) => number;

function roundFor(fmt: NumberFormat): Round {
  if (fmt === 'float32') return Math.fround;
  if (fmt === 'float16') return roundHalf;
  return (x) => x;
}

function isFixed(fmt: NumberFormat): fmt is 'int8' | 'int16' {
  return fmt === 'int8' || fmt === 'int16';
}

/** Symmetric per-tensor fixed-point quantization (returns the dequantized values). */
export function quantizeFixed(v: Float64Array, bits: number): Float64Array {
  let max = 0;
  for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]));
  const qmax = 2 ** (bits - 1) - 1;
  if (max === 0) return Float64Array.from(v);
  const scale = max / qmax;
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.max(-qmax, Math.min(qmax, Math.round(v[i] / scale))) * scale;
  return out;
}

function quantizeTensor(v: Float64Array, fmt: NumberFormat): Float64Array {
  if (isFixed(fmt)) return quantizeFixed(v, fmt === 'int8' ? 8 : 16);
  const r = roundFor(fmt);
  return v.map(r);
}

/** Σ_k c[k]·x[k] with rounding after every operation (skipping zero coefficients). */
function dotRounded(q: Round, coefs: number[], get: (k: number) => number): number {
  let s = 0;
  let first = true;
  for (let k = 0; k < coefs.length; k++) {
    const c = coefs[k];
    if (c === 0) continue;
    const p = c === 1 ? get(k) : c === -1 ? -get(k) : q(c * get(k));
    s = first ? p : q(s + p);
    first = false;
  }
  return s;
}

/** Direct convolution (stride 1, 'valid' on the padded input) with rounded products and sums. */
function directEmulated(xp: Tensor4<Float64Array>, w: Filter4<Float64Array>, outH: number, outW: number, q: Round): Float64Array {
  const [n, hp, wp, c] = xp.shape;
  const [k, , , co] = w.shape;
  const out = new Float64Array(n * outH * outW * co);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < outH; i++)
      for (let j = 0; j < outW; j++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let p = 0; p < k; p++)
            for (let qq = 0; qq < k; qq++)
              for (let ci = 0; ci < c; ci++) s = q(s + q(xp.data[((b * hp + i + p) * wp + j + qq) * c + ci] * w.data[((p * k + qq) * c + ci) * co + o]));
          out[((b * outH + i) * outW + j) * co + o] = s;
        }
  return out;
}

/** Tiled bilinear convolution in the given arithmetic. */
function bilinearEmulated(alg: FloatAlgorithm, xp: Tensor4<Float64Array>, w0: Filter4<Float64Array>, outH: number, outW: number, fmt: NumberFormat): Float64Array {
  const q = roundFor(fmt);
  const [n, hp, wp, c] = xp.shape;
  const [k, , , co] = w0.shape;
  const { m, mu, L, AT, BT, G, r } = alg;
  const P = mu * mu;
  // filter transform offline in float64, then stored in the format
  const U = new Float64Array(P * c * co);
  for (let kh = 0; kh < mu; kh++)
    for (let kw = 0; kw < mu; kw++)
      for (let ci = 0; ci < c; ci++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let i = 0; i < Math.min(r, k); i++)
            for (let j = 0; j < Math.min(r, k); j++) if (G[kh][i] !== 0 && G[kw][j] !== 0) s += G[kh][i] * G[kw][j] * w0.data[((i * k + j) * c + ci) * co + o];
          U[((kh * mu + kw) * c + ci) * co + o] = s;
        }
  let Uq: Float64Array;
  if (isFixed(fmt)) {
    Uq = new Float64Array(U.length);
    const per = c * co;
    for (let p = 0; p < P; p++) Uq.set(quantizeFixed(U.subarray(p * per, (p + 1) * per), fmt === 'int8' ? 8 : 16), p * per);
  } else {
    Uq = quantizeTensor(U, fmt);
  }
  const nTy = Math.ceil(outH / m);
  const nTx = Math.ceil(outW / m);
  const tiles = n * nTy * nTx;
  // input transforms of all tiles (kept, so fixed point can pick one per-tensor scale)
  const V = new Float64Array(tiles * P * c);
  const d = new Float64Array(L * L);
  const t1 = new Float64Array(L * mu);
  let tile = 0;
  for (let b = 0; b < n; b++)
    for (let ty = 0; ty < nTy; ty++)
      for (let tx = 0; tx < nTx; tx++, tile++)
        for (let ci = 0; ci < c; ci++) {
          for (let y = 0; y < L; y++)
            for (let x = 0; x < L; x++) {
              const yy = ty * m + y;
              const xx = tx * m + x;
              d[y * L + x] = yy < hp && xx < wp ? xp.data[((b * hp + yy) * wp + xx) * c + ci] : 0;
            }
          for (let y = 0; y < L; y++) for (let kw = 0; kw < mu; kw++) t1[y * mu + kw] = dotRounded(q, BT[kw], (x) => d[y * L + x]);
          for (let kh = 0; kh < mu; kh++) for (let kw = 0; kw < mu; kw++) V[(tile * P + kh * mu + kw) * c + ci] = dotRounded(q, BT[kh], (y) => t1[y * mu + kw]);
        }
  if (isFixed(fmt)) {
    // one scale per Winograd point (the points' dynamic ranges differ by orders of magnitude)
    const bits = fmt === 'int8' ? 8 : 16;
    const buf = new Float64Array(tiles * c);
    for (let p = 0; p < P; p++) {
      for (let t = 0; t < tiles; t++) for (let ci = 0; ci < c; ci++) buf[t * c + ci] = V[(t * P + p) * c + ci];
      const qv = quantizeFixed(buf, bits);
      for (let t = 0; t < tiles; t++) for (let ci = 0; ci < c; ci++) V[(t * P + p) * c + ci] = qv[t * c + ci];
    }
  }
  const out = new Float64Array(n * outH * outW * co);
  const Mt = new Float64Array(P);
  const t2 = new Float64Array(mu * m);
  tile = 0;
  for (let b = 0; b < n; b++)
    for (let ty = 0; ty < nTy; ty++)
      for (let tx = 0; tx < nTx; tx++, tile++)
        for (let o = 0; o < co; o++) {
          for (let p = 0; p < P; p++) {
            let s = 0;
            for (let ci = 0; ci < c; ci++) s = q(s + q(Uq[(p * c + ci) * co + o] * V[(tile * P + p) * c + ci]));
            Mt[p] = s;
          }
          for (let kh = 0; kh < mu; kh++) for (let u = 0; u < m; u++) t2[kh * m + u] = dotRounded(q, AT[u], (kw) => Mt[kh * mu + kw]);
          for (let v = 0; v < m && ty * m + v < outH; v++)
            for (let u = 0; u < m && tx * m + u < outW; u++) out[((b * outH + ty * m + v) * outW + tx * m + u) * co + o] = dotRounded(q, AT[v], (kh) => t2[kh * m + u]);
        }
  return out;
}

export const ERROR_METHODS = ['direct', 'winograd', 'ola', 'nested'] as const;
export type ErrorMethod = (typeof ERROR_METHODS)[number];

export interface EmulateOptions {
  padding?: Padding;
  /** Outputs per tile of the single large tile F(m, K) and of OLA's F(m, 3). Default 3. */
  m?: number;
  nested?: NestedOptions;
}

/** Stride-1 convolution by `method` in the arithmetic `fmt`; returns float64 values. */
export function convEmulated(x: Tensor4<Float64Array>, w: Filter4<Float64Array>, method: ErrorMethod, fmt: NumberFormat, opts: EmulateOptions = {}): Tensor4<Float64Array> {
  const [n, h, wd] = x.shape;
  const K = w.shape[0];
  const co = w.shape[3];
  const gh = convGeometry(h, K, 1, opts.padding ?? 'same');
  const gw = convGeometry(wd, K, 1, opts.padding ?? 'same');
  const xq = { data: quantizeTensor(x.data, fmt), shape: x.shape };
  const xp = placeInput(xq, gh.padBefore, gw.padBefore, gh.out + K - 1, gw.out + K - 1);
  const m = opts.m ?? 3;
  let data: Float64Array;
  if (method === 'direct') {
    data = directEmulated(xp, { data: quantizeTensor(w.data, fmt), shape: w.shape }, gh.out, gw.out, roundFor(fmt));
  } else if (method === 'winograd') {
    data = bilinearEmulated(toFloat(cookToom(m, K)), xp, w, gh.out, gw.out, fmt);
  } else if (method === 'nested') {
    data = bilinearEmulated(toFloat(nestedAlgorithm(K, opts.nested)), xp, w, gh.out, gw.out, fmt);
  } else if (method === 'ola') {
    const alg = toFloat(cookToom(m, 3));
    const q = roundFor(fmt);
    data = new Float64Array(n * gh.out * gw.out * co);
    for (const s of splitFilter(w, 3)) {
      const shifted = placeInput(xp, -3 * s.a, -3 * s.b, gh.out + 2, gw.out + 2);
      const part = bilinearEmulated(alg, shifted, s.w, gh.out, gw.out, fmt);
      for (let i = 0; i < data.length; i++) data[i] = q(data[i] + part[i]);
    }
  } else {
    throw new ConfigError(`error method '${method as string}' is not known: use one of ${ERROR_METHODS.join(', ')}`);
  }
  return { data, shape: [n, gh.out, gw.out, co] };
}

export interface ErrorRow {
  kernel: number;
  method: ErrorMethod;
  algorithm: string;
  format: NumberFormat;
  filters: string;
  /** max |y − ref| / max |ref| */
  maxRel: number;
  /** RMS(y − ref) / RMS(ref) */
  rmsRel: number;
}

export function algorithmName(method: ErrorMethod, K: number, opts: EmulateOptions = {}): string {
  const m = opts.m ?? 3;
  if (method === 'direct') return `direct ${K}×${K}`;
  if (method === 'winograd') return `F(${m},${K})`;
  if (method === 'ola') return `${Math.ceil(K / 3) ** 2}× F(${m},3)`;
  return nestedAlgorithm(K, opts.nested).name;
}

/** Error of each (method, format) against a float64 direct reference on the unrounded data. */
export function measureErrors(
  x: Tensor4<Float64Array>,
  w: Filter4<Float64Array>,
  methods: readonly ErrorMethod[],
  formats: readonly NumberFormat[],
  filters: string,
  opts: EmulateOptions = {},
): ErrorRow[] {
  const ref = convEmulated(x, w, 'direct', 'float64', opts);
  const rows: ErrorRow[] = [];
  for (const method of methods)
    for (const format of formats) {
      const y = convEmulated(x, w, method, format, opts);
      const e = relativeError(y.data, ref.data);
      rows.push({ kernel: w.shape[0], method, algorithm: algorithmName(method, w.shape[0], opts), format, filters, maxRel: e.maxRel, rmsRel: e.rmsRel });
    }
  return rows;
}
