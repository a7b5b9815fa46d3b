/**
 * Reference convolution algorithms on NHWC activations and HWIO filters (cross-correlation, as tfjs):
 * direct, im2col + GEMM, Winograd F(m×m, r×r), overlap-add (OLA) Winograd with 3×3 sub-filters, and
 * nested Winograd. Every algorithm is written once as a stride-1 'valid' core on an explicitly padded
 * input; `conv2d` adds 'same'/'valid' padding and stride 2 (by polyphase decomposition: four stride-1
 * convolutions of the even/odd input phases with the even/odd filter taps, summed).
 * Generic over Float32Array / Float64Array: the output has the input's array type.
 */
import { ConfigError } from '../core/errors.js';
import { type FloatAlgorithm, type NestedOptions, cookToom, nestedAlgorithm, toFloat } from './transforms.js';
import { convGeometry, ctorOf, im2col } from '../nn/runtime/geometry.js';
import { matmul } from '../nn/runtime/matmul.js';
import type { Filter4, FloatArray, Padding, Tensor4 } from './tensor.js';

export const CONV_ALGORITHMS = ['direct', 'im2col', 'winograd', 'ola', 'nested'] as const;
export type ConvAlgorithm = (typeof CONV_ALGORITHMS)[number];

export interface ConvOptions {
  stride?: number;
  padding?: Padding;
  /** Outputs per tile for 'winograd' (F(m, K)) and 'ola' (F(m, 3) per sub-filter). Default 3. */
  m?: number;
  /** Options of the nested algorithm (policy, outer m1). */
  nested?: NestedOptions;
}

/** A stride-1 'valid' convolution core: `xp` holds at least (outH + kh − 1) × (outW + kw − 1) pixels. */
type Core = <A extends FloatArray>(xp: Tensor4<A>, w: Filter4<A>, outH: number, outW: number) => Tensor4<A>;

function alloc<A extends FloatArray>(like: A, n: number): A {
  return new (ctorOf(like))(n) as A;
}

/** Copies x into a zero tensor of size hp × wp, with x's pixel (0,0) at (top, left); crops what falls outside. */
export function placeInput<A extends FloatArray>(x: Tensor4<A>, top: number, left: number, hp: number, wp: number): Tensor4<A> {
  const [n, h, w, c] = x.shape;
  const out = alloc(x.data, n * hp * wp * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++) {
      const y = i + top;
      if (y < 0 || y >= hp) continue;
      const j0 = Math.max(0, -left);
      const j1 = Math.min(w, wp - left);
      if (j1 <= j0) continue;
      const src = ((b * h + i) * w + j0) * c;
      out.set(x.data.subarray(src, src + (j1 - j0) * c), ((b * hp + y) * wp + j0 + left) * c);
    }
  return { data: out, shape: [n, hp, wp, c] };
}

/** Direct convolution: the definition. */
export const directCore: Core = (xp, w, outH, outW) => {
  const [n, hp, wp, c] = xp.shape;
  const [kh, kw, , co] = w.shape;
  const x = xp.data;
  const g = w.data;
  const out = alloc(x, n * outH * outW * co);
  const acc = new Float64Array(co);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < outH; i++)
      for (let j = 0; j < outW; j++) {
        acc.fill(0);
        for (let p = 0; p < kh; p++)
          for (let q = 0; q < kw; q++) {
            const xb = ((b * hp + i + p) * wp + j + q) * c;
            const wb = (p * kw + q) * c * co;
            for (let ci = 0; ci < c; ci++) {
              const xv = x[xb + ci];
              if (xv === 0) continue;
              const wr = wb + ci * co;
              for (let o = 0; o < co; o++) acc[o] += xv * g[wr + o];
            }
          }
        const ob = ((b * outH + i) * outW + j) * co;
        for (let o = 0; o < co; o++) out[ob + o] = acc[o];
      }
  return { data: out, shape: [n, outH, outW, co] };
};

/** im2col + GEMM: patches [N·outH·outW, kh·kw·C] times the filter viewed as [kh·kw·C, Cout]. */
export const im2colCore: Core = (xp, w, outH, outW) => {
  const [n, hp, wp, c] = xp.shape;
  const [kh, kw, , co] = w.shape;
  const cols = im2col(xp.data, n, { inH: hp, inW: wp, c, kh, kw, sh: 1, sw: 1, padTop: 0, padLeft: 0, outH, outW });
  return { data: matmul(cols, w.data, n * outH * outW, kh * kw * c, co), shape: [n, outH, outW, co] };
};

/** Zero-pads a kh × kw filter to r × r (taps appended at the end). */
export function padFilter<A extends FloatArray>(w: Filter4<A>, r: number): Filter4<A> {
  const [kh, kw, c, co] = w.shape;
  if (kh === r && kw === r) return w;
  if (kh > r || kw > r) throw new RangeError(`filter ${kh}×${kw} does not fit ${r}×${r}`);
  const out = alloc(w.data, r * r * c * co);
  for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) out.set(w.data.subarray((p * kw + q) * c * co, (p * kw + q + 1) * c * co), (p * r + q) * c * co);
  return { data: out, shape: [r, r, c, co] };
}

/** Winograd-domain filter U[p][c][o] = (G g Gᵀ)[kh][kw], p = kh·μ + kw, for a filter of exactly r × r taps. */
export function transformFilter(alg: FloatAlgorithm, w: Filter4): Float64Array {
  const [r, , c, co] = w.shape;
  const { mu, G } = alg;
  const co2 = c * co;
  const t = new Float64Array(r * mu * co2); // t[i][kw][·] = Σ_j G[kw][j] g[i][j][·]
  for (let i = 0; i < r; i++)
    for (let k = 0; k < mu; k++) {
      const tb = (i * mu + k) * co2;
      for (let j = 0; j < r; j++) {
        const gv = G[k][j];
        if (gv === 0) continue;
        const wb = (i * r + j) * co2;
        for (let e = 0; e < co2; e++) t[tb + e] += gv * w.data[wb + e];
      }
    }
  const u = new Float64Array(mu * mu * co2);
  for (let kh = 0; kh < mu; kh++)
    for (let i = 0; i < r; i++) {
      const gv = G[kh][i];
      if (gv === 0) continue;
      for (let kw = 0; kw < mu; kw++) {
        const ub = (kh * mu + kw) * co2;
        const tb = (i * mu + kw) * co2;
        for (let e = 0; e < co2; e++) u[ub + e] += gv * t[tb + e];
      }
    }
  return u;
}

/** Tiled bilinear (Winograd-type) convolution with a 1D algorithm applied separably in 2D. */
export function bilinearCore<A extends FloatArray>(alg: FloatAlgorithm, xp: Tensor4<A>, w0: Filter4<A>, outH: number, outW: number): Tensor4<A> {
  const w = padFilter(w0, alg.r);
  const [n, hp, wp, c] = xp.shape;
  const co = w.shape[3];
  const { m, mu, L, AT, BT } = alg;
  const P = mu * mu;
  const U = transformFilter(alg, w);
  const x = xp.data;
  const out = alloc(x, n * outH * outW * co);
  const d = alloc(x, L * L * c);
  const t1 = alloc(x, L * mu * c);
  const V = alloc(x, P * c);
  const Mt = alloc(x, P * co);
  const t2 = alloc(x, mu * m * co);
  const acc = new Float64Array(co);
  const nTy = Math.ceil(outH / m);
  const nTx = Math.ceil(outW / m);
  for (let b = 0; b < n; b++)
    for (let ty = 0; ty < nTy; ty++)
      for (let tx = 0; tx < nTx; tx++) {
        const oy = ty * m;
        const ox = tx * m;
        d.fill(0);
        for (let y = 0; y < L && oy + y < hp; y++) {
          const xe = Math.min(L, wp - ox);
          if (xe <= 0) continue;
          const src = ((b * hp + oy + y) * wp + ox) * c;
          d.set(x.subarray(src, src + xe * c), y * L * c);
        }
        // Bᵀ along the width, then along the height
        for (let y = 0; y < L; y++)
          for (let k = 0; k < mu; k++) {
            const row = BT[k];
            const tb = (y * mu + k) * c;
            for (let ci = 0; ci < c; ci++) {
              let s = 0;
              for (let q = 0; q < L; q++) if (row[q] !== 0) s += row[q] * d[(y * L + q) * c + ci];
              t1[tb + ci] = s;
            }
          }
        for (let kh = 0; kh < mu; kh++) {
          const row = BT[kh];
          for (let kw = 0; kw < mu; kw++)
            for (let ci = 0; ci < c; ci++) {
              let s = 0;
              for (let y = 0; y < L; y++) if (row[y] !== 0) s += row[y] * t1[(y * mu + kw) * c + ci];
              V[(kh * mu + kw) * c + ci] = s;
            }
        }
        // element-wise stage (summed over input channels)
        for (let p = 0; p < P; p++) {
          acc.fill(0);
          for (let ci = 0; ci < c; ci++) {
            const v = V[p * c + ci];
            const ub = (p * c + ci) * co;
            for (let o = 0; o < co; o++) acc[o] += U[ub + o] * v;
          }
          for (let o = 0; o < co; o++) Mt[p * co + o] = acc[o];
        }
        // Aᵀ along the width, then along the height
        for (let kh = 0; kh < mu; kh++)
          for (let u = 0; u < m; u++) {
            const row = AT[u];
            for (let o = 0; o < co; o++) {
              let s = 0;
              for (let kw = 0; kw < mu; kw++) if (row[kw] !== 0) s += row[kw] * Mt[(kh * mu + kw) * co + o];
              t2[(kh * m + u) * co + o] = s;
            }
          }
        for (let v = 0; v < m && oy + v < outH; v++) {
          const row = AT[v];
          for (let u = 0; u < m && ox + u < outW; u++) {
            const ob = ((b * outH + oy + v) * outW + ox + u) * co;
            for (let o = 0; o < co; o++) {
              let s = 0;
              for (let kh = 0; kh < mu; kh++) if (row[kh] !== 0) s += row[kh] * t2[(kh * m + u) * co + o];
              out[ob + o] = s;
            }
          }
        }
      }
  return { data: out, shape: [n, outH, outW, co] };
}

/** Splits a K × K filter into ⌈K/b⌉² sub-filters of b × b taps (zero-padded at the far edge). */
export function splitFilter<A extends FloatArray>(w: Filter4<A>, block: number): { a: number; b: number; w: Filter4<A> }[] {
  const [kh, kw, c, co] = w.shape;
  const out: { a: number; b: number; w: Filter4<A> }[] = [];
  for (let a = 0; a * block < kh; a++)
    for (let b = 0; b * block < kw; b++) {
      const sub = alloc(w.data, block * block * c * co);
      for (let p = 0; p < block; p++)
        for (let q = 0; q < block; q++) {
          const P = a * block + p;
          const Qq = b * block + q;
          if (P >= kh || Qq >= kw) continue;
          sub.set(w.data.subarray((P * kw + Qq) * c * co, (P * kw + Qq + 1) * c * co), (p * block + q) * c * co);
        }
      out.push({ a, b, w: { data: sub, shape: [block, block, c, co] } });
    }
  return out;
}

/** Overlap-add Winograd: 3×3 sub-filters, each by F(m, 3) on the shifted input, partial outputs summed. */
export function olaCore<A extends FloatArray>(m: number, xp: Tensor4<A>, w: Filter4<A>, outH: number, outW: number): Tensor4<A> {
  const alg = toFloat(cookToom(m, 3));
  const co = w.shape[3];
  const out = alloc(xp.data, xp.shape[0] * outH * outW * co);
  for (const s of splitFilter(w, 3)) {
    const shifted = placeInput(xp, -3 * s.a, -3 * s.b, outH + 2, outW + 2);
    const part = bilinearCore(alg, shifted, s.w, outH, outW);
    for (let i = 0; i < out.length; i++) out[i] += part.data[i];
  }
  return { data: out, shape: [xp.shape[0], outH, outW, co] };
}

function coreFor(algorithm: ConvAlgorithm, k: number, opts: ConvOptions): Core {
  const m = opts.m ?? 3;
  switch (algorithm) {
    case 'direct':
      return directCore;
    case 'im2col':
      return im2colCore;
    case 'winograd': {
      const alg = toFloat(cookToom(m, k));
      return (xp, w, oh, ow) => bilinearCore(alg, xp, w, oh, ow);
    }
    case 'ola':
      return (xp, w, oh, ow) => olaCore(m, xp, w, oh, ow);
    case 'nested': {
      const alg = toFloat(nestedAlgorithm(k, opts.nested));
      return (xp, w, oh, ow) => bilinearCore(alg, xp, w, oh, ow);
    }
    default:
      throw new ConfigError(`algorithm '${algorithm as string}' is not known: use one of ${CONV_ALGORITHMS.join(', ')}`);
  }
}

export function checkShapes(x: Tensor4, w: Filter4, stride: number): void {
  const [kh, kw, ci] = w.shape;
  if (kh !== kw) throw new ConfigError(`only square filters are supported, got ${kh}×${kw}`);
  if (kh < 1 || kh > 31) throw new ConfigError(`kernel size ${kh} is out of range: use 1…31`);
  if (ci !== x.shape[3]) throw new ConfigError(`filter has ${ci} input channels but the input has ${x.shape[3]}`);
  if (stride !== 1 && stride !== 2) throw new ConfigError(`stride ${stride} is not supported: use 1 or 2`);
}

/**
 * Stride-1/2 convolution with 'same' or 'valid' padding by a stride-1 core. Stride 2 is polyphase:
 * y = Σ_{a,b ∈ {0,1}} conv1(x[a::2, b::2], w[a::2, b::2]), each phase filter padded to ⌈K/2⌉ taps.
 */
export function convWithCore<A extends FloatArray>(x: Tensor4<A>, w: Filter4<A>, stride: number, padding: Padding, core: (k: number) => Core): Tensor4<A> {
  checkShapes(x, w, stride);
  const [n, h, wd, c] = x.shape;
  const K = w.shape[0];
  const co = w.shape[3];
  const gh = convGeometry(h, K, stride, padding);
  const gw = convGeometry(wd, K, stride, padding);
  if (stride === 1) {
    const xp = placeInput(x, gh.padBefore, gw.padBefore, gh.out + K - 1, gw.out + K - 1);
    return core(K)(xp, w, gh.out, gw.out);
  }
  const kc = Math.ceil(K / 2);
  const hp = 2 * (gh.out + kc - 1) + 2;
  const wp = 2 * (gw.out + kc - 1) + 2;
  const xpad = placeInput(x, gh.padBefore, gw.padBefore, hp, wp);
  const out = alloc(x.data, n * gh.out * gw.out * co);
  for (let a = 0; a < 2 && a < K; a++)
    for (let b = 0; b < 2 && b < K; b++) {
      // phase input x_ab[u][v] = xpad[2u + a][2v + b]
      const ph = gh.out + kc - 1;
      const pw = gw.out + kc - 1;
      const xs = alloc(x.data, n * ph * pw * c);
      for (let bb = 0; bb < n; bb++)
        for (let u = 0; u < ph; u++)
          for (let v = 0; v < pw; v++) {
            const src = ((bb * hp + 2 * u + a) * wp + 2 * v + b) * c;
            xs.set(xpad.data.subarray(src, src + c), ((bb * ph + u) * pw + v) * c);
          }
      const ws = alloc(w.data, kc * kc * c * co);
      for (let p = 0; 2 * p + a < K; p++)
        for (let q = 0; 2 * q + b < K; q++) {
          const src = ((2 * p + a) * K + 2 * q + b) * c * co;
          ws.set(w.data.subarray(src, src + c * co), (p * kc + q) * c * co);
        }
      const part = core(kc)({ data: xs, shape: [n, ph, pw, c] }, { data: ws, shape: [kc, kc, c, co] }, gh.out, gw.out);
      for (let i = 0; i < out.length; i++) out[i] += part.data[i];
    }
  return { data: out, shape: [n, gh.out, gw.out, co] };
}

/** Convolution by the chosen reference algorithm. */
export function conv2d<A extends FloatArray>(x: Tensor4<A>, w: Filter4<A>, algorithm: ConvAlgorithm, opts: ConvOptions = {}): Tensor4<A> {
  return convWithCore(x, w, opts.stride ?? 1, opts.padding ?? 'same', (k) => coreFor(algorithm, k, opts));
}
