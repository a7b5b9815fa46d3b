/**
 * Seeded synthetic images with a known weak-class structure, for tests and the offline tour.
 *
 * Each class has a smooth prototype (a sum of random Gaussian blobs per channel). The classes of the
 * confusable group share most of their prototype: prototype_c = κ·shared + (1−κ)·own_c, where
 * κ = `confusability` (0: the group is as distinct as any other class; 1: its classes are identical
 * and only chance separates them). A sample is its class prototype, shifted by up to `maxShift`
 * pixels, scaled by a random contrast, plus (approximately Gaussian) pixel noise, clipped and stored as bytes.
 * Splits are exactly class-balanced and shuffled.
 */
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Dataset, Split } from './types.js';

export interface SyntheticOptions {
  /** `gray`: 28×28×1 (Fashion-MNIST-like), `rgb`: 32×32×3 (CIFAR-10-like). */
  kind?: 'gray' | 'rgb';
  numClasses?: number;
  trainPerClass?: number;
  testPerClass?: number;
  /** Classes that share most of their prototype (default [2, 4, 6], like Pullover/Coat/Shirt). */
  confusableGroup?: number[];
  /** 0..1: share of the group's prototype that is common to the group (default 0.85). */
  confusability?: number;
  /** Pixel-noise standard deviation on the 0..1 scale (default 0.25). */
  noise?: number;
  /** Largest random shift in pixels (default 1). */
  maxShift?: number;
  seed?: number;
}

export interface SyntheticDataset extends Dataset {
  confusableGroup: number[];
  confusability: number;
}

function blobs(rng: Rng, h: number, w: number, c: number, count: number): Float32Array {
  const out = new Float32Array(h * w * c);
  for (let ch = 0; ch < c; ch++) {
    for (let k = 0; k < count; k++) {
      const cy = rng.uniform(3, h - 3);
      const cx = rng.uniform(3, w - 3);
      const sy = rng.uniform(1.5, h / 4);
      const sx = rng.uniform(1.5, w / 4);
      const amp = rng.uniform(-1, 1);
      for (let y = 0; y < h; y++) {
        const dy = (y - cy) / sy;
        for (let x = 0; x < w; x++) {
          const dx = (x - cx) / sx;
          out[(y * w + x) * c + ch] += amp * Math.exp(-0.5 * (dx * dx + dy * dy));
        }
      }
    }
  }
  // Map to roughly 0..1 around mid-gray.
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of out) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo || 1;
  for (let i = 0; i < out.length; i++) out[i] = 0.1 + (0.8 * (out[i] - lo)) / span;
  return out;
}

/** The class prototypes (values 0..1, HWC), exposed for tests. */
export function syntheticPrototypes(opts: SyntheticOptions = {}): Float32Array[] {
  const o = resolveOptions(opts);
  const rng = new Rng(o.seed).fork(1);
  const [h, w, c] = o.shape;
  const own = Array.from({ length: o.numClasses }, () => blobs(rng, h, w, c, 6));
  const shared = blobs(rng, h, w, c, 6);
  const group = new Set(o.confusableGroup);
  return own.map((p, k) => {
    if (!group.has(k)) return p;
    const q = new Float32Array(p.length);
    for (let i = 0; i < p.length; i++) q[i] = o.confusability * shared[i] + (1 - o.confusability) * p[i];
    return q;
  });
}

function resolveOptions(opts: SyntheticOptions) {
  const kind = opts.kind ?? 'gray';
  const numClasses = opts.numClasses ?? 10;
  const confusableGroup = opts.confusableGroup ?? [2, 4, 6].filter((k) => k < numClasses);
  const confusability = opts.confusability ?? 0.85;
  if (!(confusability >= 0 && confusability <= 1)) throw new ConfigError(`synthetic: confusability ${confusability} must be in [0, 1]`);
  for (const k of confusableGroup) {
    if (!Number.isInteger(k) || k < 0 || k >= numClasses) throw new ConfigError(`synthetic: confusable class ${k} must be a class index 0..${numClasses - 1}`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 2 || numClasses > 256) throw new ConfigError(`synthetic: numClasses ${numClasses} must be 2..256`);
  return {
    kind,
    shape: (kind === 'rgb' ? [32, 32, 3] : [28, 28, 1]) as [number, number, number],
    numClasses,
    trainPerClass: opts.trainPerClass ?? 600,
    testPerClass: opts.testPerClass ?? 100,
    confusableGroup,
    confusability,
    noise: opts.noise ?? 0.25,
    maxShift: opts.maxShift ?? 1,
    seed: opts.seed ?? 1,
  };
}

function sampleSplit(protos: Float32Array[], perClass: number, shape: [number, number, number], noise: number, maxShift: number, rng: Rng): Split {
  const [h, w, c] = shape;
  const size = h * w * c;
  const k = protos.length;
  const count = perClass * k;
  const order = rng.permutation(count);
  const images = new Uint8Array(count * size);
  const labels = new Uint8Array(count);
  for (let j = 0; j < count; j++) {
    const cls = order[j] % k;
    labels[j] = cls;
    const p = protos[cls];
    const sy = rng.int(2 * maxShift + 1) - maxShift;
    const sx = rng.int(2 * maxShift + 1) - maxShift;
    const contrast = rng.uniform(0.8, 1.2);
    const base = j * size;
    // Noise: the sum of the 4 bytes of one 32-bit draw, centred and scaled to unit variance
    // (Irwin–Hall; a close, bounded approximation of a Gaussian at a third of the cost).
    const ns = noise / 147.8;
    for (let y = 0; y < h; y++) {
      const yy = Math.min(h - 1, Math.max(0, y - sy));
      for (let x = 0; x < w; x++) {
        const xx = Math.min(w - 1, Math.max(0, x - sx));
        const src = (yy * w + xx) * c;
        const dst = base + (y * w + x) * c;
        for (let ch = 0; ch < c; ch++) {
          const u = rng.nextU32();
          const z = (u & 255) + ((u >>> 8) & 255) + ((u >>> 16) & 255) + (u >>> 24) - 510;
          const v = 0.5 + contrast * (p[src + ch] - 0.5) + ns * z;
          images[dst + ch] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
        }
      }
    }
  }
  return { images, labels, count };
}

/** Generates a synthetic data set (same options and seed → identical bytes). */
export function makeSynthetic(opts: SyntheticOptions = {}): SyntheticDataset {
  const o = resolveOptions(opts);
  const protos = syntheticPrototypes(opts);
  const rng = new Rng(o.seed).fork(2);
  const train = sampleSplit(protos, o.trainPerClass, o.shape, o.noise, o.maxShift, rng.fork(1));
  const test = sampleSplit(protos, o.testPerClass, o.shape, o.noise, o.maxShift, rng.fork(2));
  const classNames = Array.from({ length: o.numClasses }, (_, k) => (o.confusableGroup.includes(k) ? `class ${k} (confusable)` : `class ${k}`));
  return {
    name: o.kind === 'rgb' ? 'synthetic-rgb' : 'synthetic-gray',
    train,
    test,
    shape: o.shape,
    numClasses: o.numClasses,
    classNames,
    source: 'synthetic',
    confusableGroup: o.confusableGroup.slice(),
    confusability: o.confusability,
  };
}

/**
 * `fl-blobs`: 10 classes of 4×4×1 "images" drawn around class centres, where classes 0/6 and 2/4
 * have nearby centres (built-in confusable pairs). Tiny and fast: for federated-learning tests and
 * smoke runs. Splits are shuffled; `trainPerClass`/`testPerClass` examples of each class.
 */
export function makeFlBlobs(trainPerClass: number, testPerClass: number, seed: number): Dataset {
  const C = 10;
  const D = 16;
  const rng = new Rng(seed ^ 0x5eed);
  const centres = Array.from({ length: C }, () => Array.from({ length: D }, () => rng.normal(0, 1.2)));
  const near = (a: number, b: number) => {
    for (let d = 0; d < D; d++) centres[b][d] = centres[a][d] + rng.normal(0, 0.25);
  };
  near(0, 6);
  near(2, 4);
  const make = (perClass: number, r: Rng): Split => {
    const count = perClass * C;
    const images = new Uint8Array(count * D);
    const labels = new Uint8Array(count);
    const order = r.permutation(count);
    for (let i = 0; i < count; i++) {
      const c = order[i] % C;
      labels[i] = c;
      for (let d = 0; d < D; d++) images[i * D + d] = Math.max(0, Math.min(255, Math.round(128 + 40 * (centres[c][d] + r.normal(0, 0.6)))));
    }
    return { images, labels, count };
  };
  return {
    name: 'fl-blobs',
    train: make(trainPerClass, rng.fork(1)),
    test: make(testPerClass, rng.fork(2)),
    shape: [4, 4, 1],
    numClasses: C,
    classNames: Array.from({ length: C }, (_, c) => `c${c}`),
    source: 'synthetic',
  };
}
