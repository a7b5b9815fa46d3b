/**
 * Plain typed-array tensors for the convolution algorithms. Layout: activations NHWC
 * ([batch, height, width, channels], as tfjs), filters HWIO ([kh, kw, in, out], as tfjs).
 * The algorithms are generic over Float32Array and Float64Array (float64 for exactness tests).
 */
import type { Rng } from '../core/rng.js';
import type { FloatArray } from '../nn/runtime/geometry.js';

export type { FloatArray, Padding } from '../nn/runtime/geometry.js';

export interface Tensor4<A extends FloatArray = FloatArray> {
  data: A;
  /** [n, h, w, c] */
  shape: [number, number, number, number];
}

export interface Filter4<A extends FloatArray = FloatArray> {
  data: A;
  /** [kh, kw, cin, cout] */
  shape: [number, number, number, number];
}

export function randomTensor<A extends FloatArray>(
  ctor: { new (n: number): A },
  shape: [number, number, number, number],
  rng: Rng,
  std = 1,
): { data: A; shape: [number, number, number, number] } {
  const data = new ctor(shape[0] * shape[1] * shape[2] * shape[3]);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal(0, std);
  return { data, shape };
}

export function toFloat64<T extends { data: FloatArray; shape: [number, number, number, number] }>(t: T): { data: Float64Array; shape: [number, number, number, number] } {
  return { data: Float64Array.from(t.data), shape: [...t.shape] as [number, number, number, number] };
}

/** Max |a − b| / max |b| and RMS(a − b) / RMS(b). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; maxRel: number; rms: number; rmsRel: number } {
  if (a.length !== b.length) throw new RangeError(`length mismatch ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let maxRef = 0;
  let se = 0;
  let sr = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    const ad = Math.abs(d);
    if (ad > maxAbs || Number.isNaN(ad)) maxAbs = Number.isNaN(ad) ? Infinity : ad;
    const rb = Math.abs(b[i]);
    if (rb > maxRef) maxRef = rb;
    se += d * d;
    sr += b[i] * b[i];
  }
  const n = Math.max(1, a.length);
  const rms = Math.sqrt(se / n);
  return { maxAbs, maxRel: maxRef > 0 ? maxAbs / maxRef : maxAbs, rms, rmsRel: sr > 0 ? Math.sqrt(se / sr) : rms };
}
