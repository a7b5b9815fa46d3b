/**
 * Input pipeline: byte images -> normalised Float32Array batches, with seeded shuffling and, for
 * 32×32 RGB data, random crop (zero padding `pad`, default 4) + horizontal flip.
 *
 * Only one batch is converted to floats at a time: iterating never allocates the float data set.
 * Each batch gets fresh arrays, so a consumer may keep (or hand to tf) earlier batches.
 * Values: x/255, then, when `normalize` is given, (x − mean[c]) / std[c] per channel. Padding
 * pixels of a crop are black (byte 0) before normalisation, as in the usual CIFAR-10 recipe.
 */
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Split } from './types.js';

export type Shape = readonly [number, number, number];

/** Per-channel mean and standard deviation on the 0..1 scale. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** Common statistics (training split, 0..1 scale). */
export const NORMALIZATION: Record<string, Normalization> = {
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  mnist: { mean: [0.1307], std: [0.3081] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
};

/** The known statistics of a data set by name (the `cifar10*` family shares CIFAR-10's), or null. */
export function knownNormalization(name: string): Normalization | null {
  const key = name.startsWith('cifar10') ? 'cifar10' : name;
  return Object.hasOwn(NORMALIZATION, key) ? NORMALIZATION[key] : null;
}

export type Augment = 'none' | 'crop-flip';

export interface BatchOptions {
  batchSize: number;
  /** Shuffle the order (default true). Needs `rng` or `seed`. */
  shuffle?: boolean;
  rng?: Rng;
  seed?: number;
  /** Iterate over these example indices only (e.g. one federated client's share). */
  indices?: ArrayLike<number>;
  normalize?: Normalization | null;
  augment?: Augment;
  /** Zero padding for random crops (default 4). */
  pad?: number;
  /** Drop a last, smaller batch (default false). */
  dropLast?: boolean;
}

export interface Batch {
  /** size × H × W × C floats (NHWC). */
  x: Float32Array;
  /** size labels. */
  y: Uint8Array;
  size: number;
  /** The example indices in this batch. */
  indices: Int32Array;
}

function affine(shape: Shape, norm: Normalization | null | undefined): { a: Float32Array; b: Float32Array } {
  const c = shape[2];
  const a = new Float32Array(c);
  const b = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    const mean = norm ? norm.mean[norm.mean.length === 1 ? 0 : k] : 0;
    const std = norm ? norm.std[norm.std.length === 1 ? 0 : k] : 1;
    if (!(std > 0)) throw new ConfigError(`normalize.std[${k}] must be > 0`);
    if (mean === undefined) throw new ConfigError(`normalize.mean needs 1 or ${c} values`);
    a[k] = 1 / (255 * std);
    b[k] = -mean / std;
  }
  return { a, b };
}

/** Number of batches an epoch yields. */
export function numBatches(count: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/** Converts one image (plain copy or crop+flip) into `out` at `o`. */
function writeImage(
  images: Uint8Array,
  idx: number,
  shape: Shape,
  out: Float32Array,
  o: number,
  a: Float32Array,
  b: Float32Array,
  crop: { dy: number; dx: number; flip: boolean } | null,
): void {
  const [h, w, c] = shape;
  const size = h * w * c;
  const src = idx * size;
  if (!crop) {
    if (c === 1) {
      const a0 = a[0];
      const b0 = b[0];
      for (let i = 0; i < size; i++) out[o + i] = images[src + i] * a0 + b0;
    } else {
      for (let i = 0; i < size; i += c) for (let k = 0; k < c; k++) out[o + i + k] = images[src + i + k] * a[k] + b[k];
    }
    return;
  }
  const { dy, dx, flip } = crop;
  for (let y = 0; y < h; y++) {
    const sy = y + dy;
    const rowOk = sy >= 0 && sy < h;
    for (let x = 0; x < w; x++) {
      const sx = (flip ? w - 1 - x : x) + dx;
      const dst = o + (y * w + x) * c;
      if (rowOk && sx >= 0 && sx < w) {
        const s = src + (sy * w + sx) * c;
        for (let k = 0; k < c; k++) out[dst + k] = images[s + k] * a[k] + b[k];
      } else {
        for (let k = 0; k < c; k++) out[dst + k] = b[k];
      }
    }
  }
}

/** Yields batches over a split (or over `indices` of it). */
export function* batches(split: Split, shape: Shape, opts: BatchOptions): Generator<Batch> {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`batchSize ${batchSize} must be a whole number ≥ 1`);
  const n = opts.indices ? opts.indices.length : split.count;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = opts.indices ? opts.indices[i] : i;
  for (let i = 0; i < n; i++) {
    if (order[i] < 0 || order[i] >= split.count) throw new ConfigError(`indices[${i}] = ${order[i]} is outside the split (0..${split.count - 1})`);
  }
  const shuffle = opts.shuffle ?? true;
  const augment = opts.augment ?? 'none';
  const needRng = shuffle || augment !== 'none';
  let rng: Rng | null = opts.rng ?? (opts.seed !== undefined ? new Rng(opts.seed) : null);
  if (needRng && !rng) throw new ConfigError('batches: shuffling or augmentation needs a seed (pass `seed` or `rng`)');
  if (shuffle && rng) rng.shuffle(order);
  const { a, b } = affine(shape, opts.normalize);
  const size = shape[0] * shape[1] * shape[2];
  const pad = opts.pad ?? 4;
  const total = numBatches(n, batchSize, opts.dropLast);
  for (let bi = 0; bi < total; bi++) {
    const start = bi * batchSize;
    const m = Math.min(batchSize, n - start);
    const x = new Float32Array(m * size);
    const y = new Uint8Array(m);
    const ids = order.slice(start, start + m);
    for (let j = 0; j < m; j++) {
      const idx = ids[j];
      y[j] = split.labels[idx];
      let crop: { dy: number; dx: number; flip: boolean } | null = null;
      if (augment === 'crop-flip') {
        rng = rng as Rng;
        crop = { dy: rng.int(2 * pad + 1) - pad, dx: rng.int(2 * pad + 1) - pad, flip: rng.next() < 0.5 };
      }
      writeImage(split.images, idx, shape, x, j * size, a, b, crop);
    }
    yield { x, y, size: m, indices: ids };
  }
}

/** Floats for examples [start, start+count) in file order (for evaluation in chunks). */
export function toFloat(split: Split, shape: Shape, opts: { start?: number; count?: number; normalize?: Normalization | null } = {}): Float32Array {
  const start = opts.start ?? 0;
  const count = Math.min(opts.count ?? split.count - start, split.count - start);
  const { a, b } = affine(shape, opts.normalize);
  const size = shape[0] * shape[1] * shape[2];
  const out = new Float32Array(count * size);
  for (let j = 0; j < count; j++) writeImage(split.images, start + j, shape, out, j * size, a, b, null);
  return out;
}

/** Per-channel mean and std (0..1 scale) of a split or of `indices` of it. */
export function channelStats(split: Split, shape: Shape, indices?: ArrayLike<number>): Normalization {
  const c = shape[2];
  const size = shape[0] * shape[1] * c;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  const n = indices ? indices.length : split.count;
  for (let j = 0; j < n; j++) {
    const base = (indices ? indices[j] : j) * size;
    for (let i = 0; i < size; i += c) {
      for (let k = 0; k < c; k++) {
        const v = split.images[base + i + k] / 255;
        sum[k] += v;
        sq[k] += v * v;
      }
    }
  }
  const per = (n * size) / c;
  const mean = Array.from(sum, (s) => s / per);
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(1e-12, s / per - mean[k] * mean[k])));
  return { mean, std };
}

/** Copies the examples `order[start … start+count)` of flat float inputs (`per` values each) and their labels into one batch. */
export function gatherBatch(
  x: Float32Array,
  labels: ArrayLike<number>,
  per: number,
  order: ArrayLike<number>,
  start: number,
  count: number,
): { x: Float32Array; labels: Int32Array } {
  const xb = new Float32Array(count * per);
  const yb = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const idx = order[start + r];
    xb.set(x.subarray(idx * per, (idx + 1) * per), r * per);
    yb[r] = labels[idx];
  }
  return { x: xb, labels: yb };
}
