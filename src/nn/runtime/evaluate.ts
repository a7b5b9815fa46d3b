/** Batched accuracy evaluation and per-layer activation statistics over a data set, on typed arrays. */
import { type Progress, silentProgress } from '../../core/progress.js';

export interface EvalSet {
  /** Raw inputs (NHWC flattened, `count` examples) and their labels. */
  x: Float32Array;
  labels: ArrayLike<number>;
  count: number;
}

/** Number of correct top-1 predictions among `batch` rows of logits, against labels[offset…]. */
export function accuracyOf(logits: Float32Array, labels: ArrayLike<number>, offset: number, batch: number, classes: number): number {
  let ok = 0;
  for (let b = 0; b < batch; b++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[b * classes + c] > logits[b * classes + best]) best = c;
    if (best === labels[offset + b]) ok++;
  }
  return ok;
}

/** Top-1 accuracy of a forward function over an evaluation set, in batches of `batchSize`. */
export function evaluateAccuracy(
  forward: (x: Float32Array, batch: number) => Float32Array,
  set: EvalSet,
  classes: number,
  batchSize = 100,
  progress: Progress = silentProgress,
  label = 'evaluate',
): number {
  const per = set.x.length / set.count;
  let ok = 0;
  progress.start(label, set.count);
  for (let s = 0; s < set.count; s += batchSize) {
    const b = Math.min(batchSize, set.count - s);
    const logits = forward(set.x.subarray(s * per, (s + b) * per), b);
    ok += accuracyOf(logits, set.labels, s, b, classes);
    progress.tick(b);
  }
  progress.stop();
  return ok / set.count;
}

/** Zero counts and value statistics of the activations seen by one layer over a data set. */
export interface ActivationStats {
  opIndex: number;
  name: string;
  /** Values seen and how many were exactly zero. */
  values: number;
  zeros: number;
  zeroFraction: number;
  mean: number;
  max: number;
}

/** Accumulates `ActivationStats` per layer; feed it from a forward pass's `capture`. */
export class ActivationStatsCollector {
  private readonly m = new Map<number, { name: string; values: number; zeros: number; sum: number; max: number }>();

  add(opIndex: number, name: string, values: ArrayLike<number>): void {
    let s = this.m.get(opIndex);
    if (!s) {
      s = { name, values: 0, zeros: 0, sum: 0, max: Number.NEGATIVE_INFINITY };
      this.m.set(opIndex, s);
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === 0) s.zeros++;
      s.sum += v;
      if (v > s.max) s.max = v;
    }
    s.values += values.length;
  }

  /** Per layer, in op order. */
  stats(): ActivationStats[] {
    return [...this.m]
      .sort((a, b) => a[0] - b[0])
      .map(([opIndex, s]) => ({
        opIndex,
        name: s.name,
        values: s.values,
        zeros: s.zeros,
        zeroFraction: s.values > 0 ? s.zeros / s.values : 0,
        mean: s.values > 0 ? s.sum / s.values : 0,
        max: s.values > 0 ? s.max : 0,
      }));
  }
}
