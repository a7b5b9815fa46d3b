/**
 * Weight pruning masks on plain typed arrays (the training loop applies them, see
 * experiments/compress.ts):
 * - magnitude pruning to a target sparsity, per layer (each layer loses its own smallest |w|) or
 *   global (one threshold over all layers);
 * - the gradual schedule of Zhu & Gupta (2017): s_t = s_f + (s_i − s_f)·(1 − (t − t0)/(n·Δt))³;
 * - N:M structured pruning: in every group of M consecutive weights along the reduction axis keep
 *   the N largest |w| (SCALE-Sim v3's and Ampere's structured sparsity).
 * A mask is a Uint8Array of the weight's length, 1 = kept.
 */
import { ConfigError } from '../core/errors.js';
import { magnitudeOrder } from './matrix.js';

export type PruneScope = 'layer' | 'global';

function checkSparsity(s: number): void {
  if (!(s >= 0 && s < 1)) throw new ConfigError(`pruning: sparsity ${s} must be in [0, 1)`);
}

/** Mask keeping all but the round(sparsity·n) smallest-magnitude weights (ties by position). */
export function magnitudeMask(w: Float32Array, sparsity: number): Uint8Array {
  checkSparsity(sparsity);
  const order = magnitudeOrder(w);
  const mask = new Uint8Array(w.length).fill(1);
  const drop = Math.round(sparsity * w.length);
  for (let i = 0; i < drop; i++) mask[order[i]] = 0;
  return mask;
}

/** One mask per layer: each layer pruned to `sparsity` ('layer') or one magnitude threshold for all ('global'). */
export function magnitudeMasks(layers: readonly Float32Array[], sparsity: number, scope: PruneScope = 'layer'): Uint8Array[] {
  checkSparsity(sparsity);
  if (scope === 'layer') return layers.map((w) => magnitudeMask(w, sparsity));
  const total = layers.reduce((s, w) => s + w.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const w of layers) {
    all.set(w, at);
    at += w.length;
  }
  const flat = magnitudeMask(all, sparsity);
  at = 0;
  return layers.map((w) => {
    const m = flat.slice(at, at + w.length);
    at += w.length;
    return m;
  });
}

export interface CubicSchedule {
  initialSparsity: number;
  finalSparsity: number;
  /** First and last step at which the sparsity changes (inclusive / exclusive of growth). */
  startStep: number;
  endStep: number;
}

/** Zhu & Gupta's cubic sparsity at `step` (constant before startStep and after endStep). */
export function cubicSparsity(s: CubicSchedule, step: number): number {
  checkSparsity(s.finalSparsity);
  checkSparsity(s.initialSparsity);
  if (!(s.endStep > s.startStep)) throw new ConfigError(`pruning schedule: endStep ${s.endStep} must be after startStep ${s.startStep}`);
  const f = Math.min(1, Math.max(0, (step - s.startStep) / (s.endStep - s.startStep)));
  return s.finalSparsity + (s.initialSparsity - s.finalSparsity) * (1 - f) ** 3;
}

/**
 * N:M mask over a weight stored reduction-major (K×N, `cols` = N outputs): groups of `m`
 * consecutive reduction indices of one output keep their `n` largest |w|; a last partial group
 * keeps ⌈n·size/m⌉.
 */
export function nmMask(w: Float32Array, k: number, cols: number, n: number, m: number): Uint8Array {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m < 1 || n > m) throw new ConfigError(`N:M pruning: ${n}:${m} must satisfy 1 ≤ N ≤ M (integers)`);
  if (w.length !== k * cols) throw new ConfigError(`N:M pruning: ${w.length} weights do not fill ${k}×${cols}`);
  const mask = new Uint8Array(w.length);
  const idx: number[] = [];
  for (let j = 0; j < cols; j++) {
    for (let g = 0; g < k; g += m) {
      idx.length = 0;
      for (let r = g; r < Math.min(k, g + m); r++) idx.push(r * cols + j);
      idx.sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]) || a - b);
      const keep = Math.ceil((n * idx.length) / m);
      for (let i = 0; i < keep; i++) mask[idx[i]] = 1;
    }
  }
  return mask;
}

/** Fraction of zeros of a mask. */
export function maskSparsity(mask: Uint8Array): number {
  let z = 0;
  for (const v of mask) if (v === 0) z++;
  return mask.length ? z / mask.length : 0;
}

/** w ⊙ mask in place; returns w. */
export function applyMask(w: Float32Array, mask: Uint8Array): Float32Array {
  for (let i = 0; i < w.length; i++) if (!mask[i]) w[i] = 0;
  return w;
}
