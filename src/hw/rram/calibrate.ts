/**
 * Calibration of the per-layer adaptive-termination thresholds θ to an accuracy budget on held-out
 * images. The loss is measured against the same crossbars without adaptive termination (negative
 * detection, which is lossless, stays on): 'accuracy' = drop in top-1 accuracy (points),
 * 'agreement' = share of images whose prediction changes (points; never smaller than the accuracy drop).
 *
 * Two searches (`CalibrationSearch`):
 * - 'greedy' (default): a profile of every layer alone over the θ grid (loss, changed predictions and
 *   ADC conversions saved against lossless), then a greedy allocation: repeatedly raise the layer whose
 *   next grid value (or a later one) saves the most conversions per changed prediction, which gives a
 *   path of threshold sets of growing savings; the longest prefix of the path whose joint loss stays
 *   within the budget is found by bisection (assuming the joint loss grows along the path). On exact
 *   crossbars only the layers being varied are simulated; the others run the exact integer product,
 *   which is what no termination and lossless termination give bit for bit. The profile does not depend
 *   on the budget, so one profile serves a whole budget sweep.
 * - 'bisect': each layer alone gets the largest grid value within the budget (bisection), then all
 *   layers together; while the joint loss is over the budget every layer steps one grid value down.
 */
import { type Progress, silentProgress } from '../../core/progress.js';
import type { EvalSet, MatMulEngine, QuantizedWorkload } from '../../nn/runtime/index.js';
import { isExactCrossbar, type RramConfig } from './config.js';
import { simulateNetwork, type Simulation } from './network.js';

export const CALIBRATION_METRICS = ['accuracy', 'agreement'] as const;
export type CalibrationMetric = (typeof CALIBRATION_METRICS)[number];
export const CALIBRATION_SEARCHES = ['greedy', 'bisect'] as const;
export type CalibrationSearch = (typeof CALIBRATION_SEARCHES)[number];

/** Default θ grid: 0, then powers of two from 1/16 to 64. */
export const THETA_GRID: readonly number[] = [0, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16, 32, 64];

/** One simulation to run: a configuration and, optionally, the only layers simulated on crossbars. */
export interface SimulationRun {
  config: RramConfig;
  crossbarLayers?: string[];
}

/** Runs simulations over the held-out set, in order (e.g. split over worker threads). */
export type SimulateRuns = (runs: SimulationRun[]) => Promise<Simulation[]>;

export interface CalibrationOptions {
  budgetPoints: number;
  metric?: CalibrationMetric;
  search?: CalibrationSearch;
  grid?: readonly number[];
  /** Greedy: the profile of a layer stops once its changed predictions exceed this (points; default max(4 × budget, 2)). */
  profileCapPoints?: number;
  batchSize?: number;
  matmul?: MatMulEngine;
  progress?: Progress;
  /** Default: `simulateNetwork` on this thread with `matmul`. */
  simulate?: SimulateRuns;
}

export interface CalibrationStep {
  thresholds: Record<string, number>;
  lossPoints: number;
  computeReduction: number;
}

/** Greedy profile: per layer alone, per grid value θ. */
export interface LayerProfilePoint {
  theta: number;
  lossPoints: number;
  changedPoints: number;
  /** ADC conversions of the layer saved against lossless termination, over the held-out images. */
  savedConversions: number;
}

export interface ThresholdProfile {
  images: number;
  grid: number[];
  /** Conversions of the whole network without termination, over the held-out images. */
  denseConversions: number;
  /** Conversions with lossless termination, in total and per layer. */
  losslessConversions: number;
  /** The lossless reference: correct count and predictions (the losses are measured against it). */
  referenceCorrect: number;
  referencePredictions: number[];
  layers: { layer: string; losslessConversions: number; points: LayerProfilePoint[] }[];
}

export interface Calibration {
  thresholds: Record<string, number>;
  lossPoints: number;
  metric: CalibrationMetric;
  search: CalibrationSearch;
  budgetPoints: number;
  images: number;
  baselineAccuracy: number;
  /** Joint evaluations made, in order. */
  steps: CalibrationStep[];
  profile: ThresholdProfile | null;
}

function defaultSimulate(qw: QuantizedWorkload, set: EvalSet, classes: number, o: CalibrationOptions): SimulateRuns {
  const progress = o.progress ?? silentProgress;
  return async (runs) =>
    runs.map((r) =>
      simulateNetwork(qw, r.config, set, classes, {
        batchSize: o.batchSize,
        matmul: o.matmul,
        progress,
        crossbarLayers: r.crossbarLayers,
        label: `calibrate ${JSON.stringify(r.config.thresholds)}`,
      }),
    );
}

const conversionsOf = (s: Simulation): number => s.layers.reduce((a, l) => a + l.adcConversions, 0);

/** Shared state of one calibration: the reference predictions and the loss measures against them. */
class Judge {
  readonly ref: Pick<Simulation, 'correct' | 'predictions'>;
  readonly count: number;
  constructor(ref: Pick<Simulation, 'correct' | 'predictions'>, count: number) {
    this.ref = ref;
    this.count = count;
  }
  accuracyLoss(s: Simulation): number {
    return ((this.ref.correct - s.correct) / this.count) * 100;
  }
  changed(s: Simulation): number {
    let n = 0;
    for (let i = 0; i < s.predictions.length; i++) if (s.predictions[i] !== this.ref.predictions[i]) n++;
    return (n / this.count) * 100;
  }
  loss(s: Simulation, metric: CalibrationMetric): number {
    return metric === 'accuracy' ? this.accuracyLoss(s) : this.changed(s);
  }
}

/** The lossless reference over the set (full simulation: its per-layer conversions are the profile's θ = 0). */
async function reference(base: RramConfig, simulate: SimulateRuns): Promise<Simulation> {
  return (await simulate([{ config: { ...base, termination: 'lossless', thresholds: {}, defaultThreshold: 0 } }]))[0];
}

const adaptive = (base: RramConfig, thresholds: Record<string, number>): RramConfig => ({ ...base, termination: 'adaptive', thresholds, defaultThreshold: 0 });

/** Runs with only the layers of θ > 0 on crossbars when the crossbars are exact (the rest is then bit-identical to lossless). */
function runOf(base: RramConfig, thresholds: Record<string, number>): SimulationRun {
  const on = Object.keys(thresholds).filter((l) => thresholds[l] > 0);
  return isExactCrossbar(base) ? { config: adaptive(base, thresholds), crossbarLayers: on } : { config: adaptive(base, thresholds) };
}

/**
 * Greedy profile: each layer alone over the θ grid (ascending), all layers of one grid value in one
 * batch of simulations; a layer leaves once its changed predictions exceed `capPoints`.
 */
export async function profileThresholds(
  qw: QuantizedWorkload,
  base: RramConfig,
  set: EvalSet,
  classes: number,
  o: { grid?: readonly number[]; capPoints: number; simulate?: SimulateRuns; batchSize?: number; matmul?: MatMulEngine; progress?: Progress },
): Promise<ThresholdProfile> {
  const grid = [...(o.grid ?? THETA_GRID)];
  const simulate = o.simulate ?? defaultSimulate(qw, set, classes, { budgetPoints: 0, ...o });
  const ref = await reference(base, simulate);
  const judge = new Judge(ref, set.count);
  const names = qw.layers.map((l) => l.name);
  const layers = names.map((layer) => {
    const c = ref.layers.find((l) => l.layer === layer);
    return { layer, losslessConversions: c ? c.adcConversions : 0, points: [{ theta: 0, lossPoints: 0, changedPoints: 0, savedConversions: 0 }] as LayerProfilePoint[] };
  });
  let active = layers.filter(() => true);
  for (let g = 1; g < grid.length && active.length > 0; g++) {
    const sims = await simulate(active.map((l) => runOf(base, { [l.layer]: grid[g] })));
    const next: typeof active = [];
    active.forEach((l, i) => {
      const s = sims[i];
      const c = s.layers.find((x) => x.layer === l.layer);
      const saved = l.losslessConversions - (c ? c.adcConversions : l.losslessConversions);
      const point = { theta: grid[g], lossPoints: judge.accuracyLoss(s), changedPoints: judge.changed(s), savedConversions: saved };
      l.points.push(point);
      if (point.changedPoints <= o.capPoints) next.push(l);
    });
    active = next;
  }
  return {
    images: set.count,
    grid,
    denseConversions: ref.layers.reduce((a, l) => a + l.denseAdcConversions, 0),
    losslessConversions: conversionsOf(ref),
    referenceCorrect: ref.correct,
    referencePredictions: ref.predictions,
    layers,
  };
}

/** The greedy path through a profile: threshold sets of growing savings, from all-zero. */
export function greedyPath(profile: ThresholdProfile): Record<string, number>[] {
  const eps = 50 / Math.max(1, profile.images);
  // Costs made non-decreasing along each layer's grid (a larger θ never counts as cheaper).
  const cost = profile.layers.map((l) => {
    let m = 0;
    return l.points.map((p) => {
      m = Math.max(m, p.changedPoints);
      return m;
    });
  });
  const idx = profile.layers.map(() => 0);
  const thresholdsOf = (): Record<string, number> => Object.fromEntries(profile.layers.map((l, i) => [l.layer, l.points[idx[i]].theta]));
  const path = [thresholdsOf()];
  for (;;) {
    let best: { i: number; j: number; r: number } | null = null;
    profile.layers.forEach((l, i) => {
      for (let j = idx[i] + 1; j < l.points.length; j++) {
        const dS = l.points[j].savedConversions - l.points[idx[i]].savedConversions;
        if (dS <= 0) continue;
        const r = dS / (Math.max(0, cost[i][j] - cost[i][idx[i]]) + eps);
        if (!best || r > best.r) best = { i, j, r };
      }
    });
    if (!best) break;
    const b: { i: number; j: number } = best;
    idx[b.i] = b.j;
    path.push(thresholdsOf());
  }
  return path;
}

/** Greedy allocation on a profile: the longest prefix of the greedy path within the budget (bisection on joint evaluations). */
export async function allocateThresholds(
  qw: QuantizedWorkload,
  base: RramConfig,
  set: EvalSet,
  classes: number,
  profile: ThresholdProfile,
  o: CalibrationOptions,
): Promise<Calibration> {
  const metric = o.metric ?? 'accuracy';
  const simulate = o.simulate ?? defaultSimulate(qw, set, classes, o);
  const judge = new Judge({ correct: profile.referenceCorrect, predictions: profile.referencePredictions }, set.count);
  const path = greedyPath(profile);
  const steps: CalibrationStep[] = [];
  const losses = new Map<number, number>([[0, 0]]);
  const evaluate = async (k: number): Promise<number> => {
    const s = (await simulate([runOf(base, path[k])]))[0];
    // Layers not simulated ran as lossless: their conversions are those of the reference.
    let conv = 0;
    for (const l of profile.layers) conv += s.layers.find((x) => x.layer === l.layer)?.adcConversions ?? l.losslessConversions;
    const lossPoints = judge.loss(s, metric);
    steps.push({ thresholds: path[k], lossPoints, computeReduction: profile.denseConversions > 0 ? 1 - conv / profile.denseConversions : 0 });
    losses.set(k, lossPoints);
    return lossPoints;
  };
  let lo = 0;
  let hi = path.length - 1;
  if (hi > 0 && (await evaluate(hi)) <= o.budgetPoints) lo = hi;
  else
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await evaluate(mid)) <= o.budgetPoints) lo = mid;
      else hi = mid;
    }
  return {
    thresholds: path[lo],
    lossPoints: losses.get(lo) ?? 0,
    metric,
    search: 'greedy',
    budgetPoints: o.budgetPoints,
    images: set.count,
    baselineAccuracy: profile.referenceCorrect / set.count,
    steps,
    profile,
  };
}

/** Calibrates θ per conv/dense layer of `qw` for `base` (its termination is set to 'adaptive'). */
export async function calibrateThresholds(qw: QuantizedWorkload, base: RramConfig, set: EvalSet, classes: number, o: CalibrationOptions): Promise<Calibration> {
  const simulate = o.simulate ?? defaultSimulate(qw, set, classes, o);
  if ((o.search ?? 'greedy') === 'greedy') {
    const profile = await profileThresholds(qw, base, set, classes, { grid: o.grid, capPoints: o.profileCapPoints ?? Math.max(4 * o.budgetPoints, 2), simulate });
    return allocateThresholds(qw, base, set, classes, profile, { ...o, simulate });
  }
  const grid = o.grid ?? THETA_GRID;
  const metric = o.metric ?? 'accuracy';
  const layers = qw.layers.map((l) => l.name);
  const ref = await reference(base, simulate);
  const judge = new Judge(ref, set.count);
  const steps: CalibrationStep[] = [];
  const evaluate = async (idx: Record<string, number>): Promise<number> => {
    const thresholds = Object.fromEntries(layers.map((l) => [l, grid[idx[l] ?? 0]]));
    const s = (await simulate([{ config: adaptive(base, thresholds) }]))[0];
    const dense = s.layers.reduce((a, l) => a + l.denseAdcConversions, 0);
    const lossPoints = judge.loss(s, metric);
    steps.push({ thresholds, lossPoints, computeReduction: dense > 0 ? 1 - conversionsOf(s) / dense : 0 });
    return lossPoints;
  };
  const idx: Record<string, number> = {};
  for (const l of layers) {
    let lo = 0;
    let hi = grid.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((await evaluate({ [l]: mid })) <= o.budgetPoints) lo = mid;
      else hi = mid - 1;
    }
    idx[l] = lo;
  }
  let loss = await evaluate(idx);
  while (loss > o.budgetPoints && layers.some((l) => idx[l] > 0)) {
    for (const l of layers) if (idx[l] > 0) idx[l]--;
    loss = await evaluate(idx);
  }
  return {
    thresholds: Object.fromEntries(layers.map((l) => [l, grid[idx[l]]])),
    lossPoints: loss,
    metric,
    search: 'bisect',
    budgetPoints: o.budgetPoints,
    images: set.count,
    baselineAccuracy: ref.correct / set.count,
    steps,
    profile: null,
  };
}
