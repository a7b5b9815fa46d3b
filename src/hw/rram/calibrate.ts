/**
 * Calibration of the per-layer adaptive-termination thresholds θ to an accuracy budget on held-out
 * images: first each layer alone (the largest θ of the grid whose loss stays within the budget, by
 * bisection, assuming the loss grows with θ), then all layers together; while the joint loss is over
 * the budget every layer steps one grid value down.
 *
 * The loss is measured against the same crossbars without adaptive termination (negative detection,
 * which is lossless, stays on): 'accuracy' = drop in top-1 accuracy (points), 'agreement' = share of
 * images whose prediction changes (points; never smaller than the accuracy drop).
 */
import { type Progress, silentProgress } from '../../core/progress.js';
import type { EvalSet, MatMulEngine, QuantizedWorkload } from '../../nn/runtime/index.js';
import type { RramConfig } from './config.js';
import { simulateNetwork, type Simulation } from './network.js';

export const CALIBRATION_METRICS = ['accuracy', 'agreement'] as const;
export type CalibrationMetric = (typeof CALIBRATION_METRICS)[number];

/** Default θ grid: 0, then powers of two from 1/16 to 64. */
export const THETA_GRID: readonly number[] = [0, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16, 32, 64];

export interface CalibrationOptions {
  budgetPoints: number;
  metric?: CalibrationMetric;
  grid?: readonly number[];
  batchSize?: number;
  matmul?: MatMulEngine;
  progress?: Progress;
  /** Runs one configuration over the held-out set (default: `simulateNetwork` here, with `matmul`); e.g. split over worker threads. */
  simulate?: (c: RramConfig) => Promise<Simulation>;
}

export interface CalibrationStep {
  thresholds: Record<string, number>;
  lossPoints: number;
  computeReduction: number;
}

export interface Calibration {
  thresholds: Record<string, number>;
  lossPoints: number;
  metric: CalibrationMetric;
  budgetPoints: number;
  images: number;
  baselineAccuracy: number;
  /** Every evaluation made, in order. */
  steps: CalibrationStep[];
}

/** Calibrates θ per conv/dense layer of `qw` for `base` (its termination is set to 'adaptive'). */
export async function calibrateThresholds(qw: QuantizedWorkload, base: RramConfig, set: EvalSet, classes: number, o: CalibrationOptions): Promise<Calibration> {
  const grid = o.grid ?? THETA_GRID;
  const metric = o.metric ?? 'accuracy';
  const progress = o.progress ?? silentProgress;
  const layers = qw.layers.map((l) => l.name);
  const simulate =
    o.simulate ??
    (async (c: RramConfig) => simulateNetwork(qw, c, set, classes, { batchSize: o.batchSize, matmul: o.matmul, progress, label: `calibrate ${JSON.stringify(c.thresholds)}` }));
  const run = (termination: RramConfig['termination'], thresholds: Record<string, number>): Promise<Simulation> =>
    simulate({ ...base, termination, thresholds, defaultThreshold: 0 });
  const ref = await run('lossless', {});
  const steps: CalibrationStep[] = [];
  const lossOf = (s: Simulation): number => {
    if (metric === 'accuracy') return ((ref.correct - s.correct) / set.count) * 100;
    let changed = 0;
    for (let i = 0; i < s.predictions.length; i++) if (s.predictions[i] !== ref.predictions[i]) changed++;
    return (changed / set.count) * 100;
  };
  const evaluate = async (idx: Record<string, number>): Promise<number> => {
    const thresholds = Object.fromEntries(layers.map((l) => [l, grid[idx[l] ?? 0]]));
    const s = await run('adaptive', thresholds);
    const conv = s.layers.reduce((a, l) => a + l.adcConversions, 0);
    const dense = s.layers.reduce((a, l) => a + l.denseAdcConversions, 0);
    const lossPoints = lossOf(s);
    steps.push({ thresholds, lossPoints, computeReduction: dense > 0 ? 1 - conv / dense : 0 });
    return lossPoints;
  };
  const single: Record<string, number> = {};
  for (const l of layers) {
    let lo = 0;
    let hi = grid.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((await evaluate({ [l]: mid })) <= o.budgetPoints) lo = mid;
      else hi = mid - 1;
    }
    single[l] = lo;
  }
  const idx = { ...single };
  let loss = await evaluate(idx);
  while (loss > o.budgetPoints && layers.some((l) => idx[l] > 0)) {
    for (const l of layers) if (idx[l] > 0) idx[l]--;
    loss = await evaluate(idx);
  }
  return {
    thresholds: Object.fromEntries(layers.map((l) => [l, grid[idx[l]]])),
    lossPoints: loss,
    metric,
    budgetPoints: o.budgetPoints,
    images: set.count,
    baselineAccuracy: ref.correct / set.count,
    steps,
  };
}
