/**
 * Convolution geometry and im2col on plain typed arrays (NHWC activations, HWIO filters, as tfjs).
 * The one copy used by the float and quantized runtimes, the hardware models and `winograd`.
 */
import { ConfigError } from '../../core/errors.js';

export type FloatArray = Float32Array | Float64Array;
export type FloatArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor;
export type Padding = 'same' | 'valid';

export function ctorOf(a: FloatArray): FloatArrayCtor {
  return a instanceof Float32Array ? Float32Array : Float64Array;
}

/** Output size and leading padding along one axis, following TensorFlow's rules for 'same' and 'valid'. */
export function convGeometry(inSize: number, k: number, stride: number, padding: Padding): { out: number; padBefore: number } {
  if (padding === 'valid') {
    if (inSize < k) throw new ConfigError(`input size ${inSize} is smaller than the kernel ${k} with 'valid' padding: use 'same' or a larger input`);
    return { out: Math.floor((inSize - k) / stride) + 1, padBefore: 0 };
  }
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + k - inSize, 0);
  return { out, padBefore: Math.floor(total / 2) };
}

/** Everything im2col needs: input H, W, C, kernel, strides, leading padding and output size. */
export interface PatchGeometry {
  inH: number;
  inW: number;
  c: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

/** The shape fields of a convolution layer (a `ConvOp` has them). */
export interface ConvShape {
  inShape: readonly [number, number, number];
  kernel: readonly [number, number];
  strides: readonly [number, number];
  padding: Padding;
  /** When given, it must agree with the geometry (checked). */
  outShape?: readonly [number, number, number];
}

/** Patch geometry of a convolution layer (TensorFlow padding rules). */
export function patchGeometry(op: ConvShape): PatchGeometry {
  const [inH, inW, c] = op.inShape;
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.strides;
  const gh = convGeometry(inH, kh, sh, op.padding);
  const gw = convGeometry(inW, kw, sw, op.padding);
  if (op.outShape && (op.outShape[0] !== gh.out || op.outShape[1] !== gw.out)) {
    throw new ConfigError(
      `convolution output ${op.outShape[0]}×${op.outShape[1]} does not match its input ${inH}×${inW}, kernel ${kh}×${kw}, strides ${sh}×${sw} and '${op.padding}' padding (expected ${gh.out}×${gw.out})`,
    );
  }
  return { inH, inW, c, kh, kw, sh, sw, padTop: gh.padBefore, padLeft: gw.padBefore, outH: gh.out, outW: gw.out };
}

/** Rows K of a patch (kh·kw·C). */
export function patchSize(g: PatchGeometry): number {
  return g.kh * g.kw * g.c;
}

/**
 * im2col of a B×H×W×C batch: a (B·outH·outW) × (kh·kw·C) matrix, K ordered (kh, kw, C) like HWIO
 * filters; taps in the padding are zero. The output has the input's array type.
 */
export function im2col<A extends FloatArray>(x: A, batch: number, g: PatchGeometry): A {
  const { inH: h, inW: w, c, kh, kw, sh, sw, padTop, padLeft, outH, outW } = g;
  const k = kh * kw * c;
  const out = new (ctorOf(x))(batch * outH * outW * k) as A;
  const span = kw * c;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const xb = b * h * w * c;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * sw - padLeft;
        const inside = ix0 >= 0 && ix0 + kw <= w;
        for (let i = 0; i < kh; i++) {
          const iy = oy * sh + i - padTop;
          if (iy < 0 || iy >= h) {
            o += span;
            continue;
          }
          const row = xb + iy * w * c;
          if (inside) {
            out.set(x.subarray(row + ix0 * c, row + ix0 * c + span), o);
            o += span;
            continue;
          }
          for (let j = 0; j < kw; j++) {
            const ix = ix0 + j;
            if (ix >= 0 && ix < w) out.set(x.subarray(row + ix * c, row + (ix + 1) * c), o);
            o += c;
          }
        }
      }
    }
  }
  return out;
}

/** Max pooling ('valid' windows clipped at the border) of a B×H×W×C batch to outShape. */
export function maxpool(
  x: Float32Array,
  batch: number,
  inShape: readonly [number, number, number],
  outShape: readonly [number, number, number],
  pool: readonly [number, number],
  strides: readonly [number, number],
): Float32Array {
  const [h, w, c] = inShape;
  const [ho, wo] = outShape;
  const out = new Float32Array(batch * ho * wo * c);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let m = Number.NEGATIVE_INFINITY;
          for (let i = 0; i < pool[0]; i++) {
            const iy = oy * strides[0] + i;
            if (iy >= h) continue;
            for (let j = 0; j < pool[1]; j++) {
              const ix = ox * strides[1] + j;
              if (ix >= w) continue;
              const v = x[((b * h + iy) * w + ix) * c + ch];
              if (v > m) m = v;
            }
          }
          out[o++] = m;
        }
      }
    }
  }
  return out;
}
