/**
 * RRAM crossbar experiments: a trained network quantized to the crossbar's formats, run on the
 * crossbars with a termination mode (thresholds of 'adaptive' calibrated on held-out training
 * images to an accuracy budget) and without termination on the same crossbars; accuracy,
 * computation reduction, energy and throughput ratios, per layer. Test images are split over
 * worker threads (core/executor). A budget sweep gives the trade-off curve; a quick run feeds the tour.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { validate } from '../core/config.js';
import { initEngine } from '../core/engine.js';
import { ConfigError, DataError } from '../core/errors.js';
import { Executor, type JobSpec } from '../core/executor.js';
import { tableCsv, toCsv, writeFileAtomic, writeRunJson } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { loadDataset } from '../data/load.js';
import { toFloat } from '../data/pipeline.js';
import type { Dataset } from '../data/types.js';
import { loadModel, readModelMetadata } from '../nn/checkpoint.js';
import { createModel } from '../nn/models.js';
import { normalizationFor, train } from '../nn/train.js';
import { type Workload, workloadFromModel, workloadMacs } from '../nn/workload.js';
import {
  allocateThresholds,
  type Calibration,
  CALIBRATION_METRICS,
  CALIBRATION_SEARCHES,
  calibrateThresholds,
  type CostSummary,
  costOf,
  mergeSimulations,
  predictionsHash,
  type RramConfig,
  RramConfigSchema,
  rramConfig,
  profileThresholds,
  type Simulation,
  type SimulationRun,
  TERMINATIONS,
  type ThresholdProfile,
} from '../hw/rram/index.js';
import { type EvalSet, type QuantizedWorkload, quantizeWorkload } from '../nn/runtime/index.js';
import { tfMatMul } from '../nn/runtime/matmul-tf.js';
import type { SimulateJobArgs } from './rram-job.js';

export const RramRunConfigSchema = z
  .object({
    /** Run folder of `accelab train --out` (or its checkpoint/ folder); required unless a workload is given. */
    checkpoint: z.string().optional(),
    dataset: z.string().default('fashion-mnist'),
    termination: z.enum(TERMINATIONS).default('lossless'),
    /** Accuracy budget of adaptive termination, in points, on the held-out images. */
    budget: z.number().min(0).max(100).default(0.2),
    calibrationMetric: z.enum(CALIBRATION_METRICS).default('accuracy'),
    /** Threshold search: greedy allocation on a per-layer profile, or per-layer bisection with uniform back-off (hw/rram/calibrate.ts). */
    calibrationSearch: z.enum(CALIBRATION_SEARCHES).default('greedy'),
    /** θ grid of the calibration (ascending, first 0; default THETA_GRID: 0, 1/16 … 64). */
    thetaGrid: z
      .array(z.number().min(0).max(1e6))
      .min(2)
      .refine((g) => g[0] === 0 && g.every((v, i) => i === 0 || v > g[i - 1]), 'must start at 0 and ascend, e.g. 0,0.25,1,4')
      .optional(),
    testLimit: z.number().int().min(1).default(10000),
    /** Training images for the activation clips of quantization (the first ones). */
    calibCount: z.number().int().min(1).max(10000).default(256),
    /** Images for the adaptive thresholds: the last ones of the training split, or of the test split (disjoint from the first `testLimit`). */
    heldOutCount: z.number().int().min(10).max(60000).default(1000),
    /**
     * Where the calibration images come from. 'train' (default): the last training images, which the
     * network may have been trained on (then it is more confident on them than on new images and the
     * calibration is cautious). 'test': the last test images, never the evaluated ones (`testLimit` +
     * `heldOutCount` must not exceed the test split), i.e. truly unseen images.
     */
    heldOutFrom: z.enum(['train', 'test']).default('train'),
    percentile: z.number().min(0.9).max(1).default(0.9995),
    /** Crossbar and control settings (src/hw/rram/config.ts); `termination` here is overridden by the field above. */
    crossbar: RramConfigSchema.partial().default({}),
    /** Worker threads for the test images (default: all cores). */
    workers: z.number().int().min(1).max(64).optional(),
    batchSize: z.number().int().min(1).max(10000).default(50),
    seed: z.number().int().min(0).default(1),
    dataDir: z.string().optional(),
  })
  .strict();
export type RramRunConfig = z.output<typeof RramRunConfigSchema>;

export interface RramRunResult {
  kind: 'rram-run';
  config: RramRunConfig;
  crossbar: RramConfig;
  model: string;
  dataset: string;
  images: number;
  macsPerImage: number;
  termination: RramConfig['termination'];
  /** Top-1 accuracy with the termination mode and without termination (same crossbars). */
  accuracy: number;
  baselineAccuracy: number;
  accuracyLossPoints: number;
  predictionsHash: string;
  baselinePredictionsHash: string;
  /** Same predictions as without termination on every image; how many images changed prediction. */
  samePredictions: boolean;
  changedPredictions: number;
  /**
   * Statistical resolution of `accuracyLossPoints`: one standard error of a paired accuracy difference,
   * √(changed predictions)/images in points (each changed image moves the accuracy by ±1/images); and one image in points.
   */
  accuracyStdErrPoints: number;
  pointsPerImage: number;
  /** Ratios against no termination on the same crossbars. */
  computeReduction: number;
  readReduction: number;
  skippedNegativeFraction: number;
  skippedAdaptiveFraction: number;
  /** Share of the no-termination ADC conversions skipped because the input bit-plane was all zero. */
  skippedZeroPlaneFraction: number;
  energyRatio: number;
  throughputRatio: number;
  energyPerImagePj: number;
  baselineEnergyPerImagePj: number;
  imagesPerSecond: number;
  baselineImagesPerSecond: number;
  perLayer: CostSummary['perLayer'];
  /** Energy per component (pJ per image) with the mode and without termination. */
  energyByComponent: { component: string; energyPj: number; baselineEnergyPj: number }[];
  thresholds: Record<string, number>;
  calibration: CalibrationRecord | null;
  /** Simulation speed over the test images (wall clock, both modes, all workers). */
  simulatedMacsPerSecond: number;
  seconds: number;
}

/** A calibration as stored in results: without the reference predictions of its profile. */
export type CalibrationRecord = Omit<Calibration, 'profile'> & { profile: Omit<ThresholdProfile, 'referencePredictions'> | null };

export function calibrationRecord(c: Calibration): CalibrationRecord {
  if (!c.profile) return { ...c, profile: null };
  const { referencePredictions: _, ...profile } = c.profile;
  return { ...c, profile };
}

function needCheckpoint(p: string | undefined): string {
  if (!p) throw new ConfigError("rram: field 'checkpoint' is missing: give the run folder of `accelab train --out`");
  return p;
}

/** A run folder (its checkpoint/) or a folder holding model.json. */
function checkpointDir(p: string): string {
  return existsSync(join(p, 'model.json')) ? p : join(p, 'checkpoint');
}

/** The trained network of a checkpoint as a workload (input normalisation from its metadata). */
export async function workloadFromCheckpoint(path: string, ds: Dataset): Promise<Workload> {
  await initEngine();
  const dir = checkpointDir(path);
  const model = await loadModel(dir);
  const meta = readModelMetadata(dir) as { normalization?: { mean: number[]; std: number[] } };
  try {
    return workloadFromModel(model, meta.normalization ?? normalizationFor(ds));
  } finally {
    model.dispose();
  }
}

/** Quantizes a workload to the crossbar's formats (signed per-channel weights, unsigned activations). */
export function quantizeForCrossbar(wl: Workload, ds: Dataset, c: RramConfig, o: { calibCount: number; percentile: number }): QuantizedWorkload {
  const n = Math.min(o.calibCount, ds.train.count);
  const calib = toFloat(ds.train, ds.shape, { count: n, normalize: null });
  return quantizeWorkload(wl, {
    calib,
    calibCount: n,
    percentile: o.percentile,
    matmul: tfMatMul,
    weights: { bits: c.weightBits, signed: true, granularity: 'per-channel' },
    activations: { bits: c.activationBits, signed: false },
  });
}

/** Held-out test images must not overlap the evaluated ones (checked before any simulation). */
export function checkHeldOut(ds: Dataset, count: number, from: 'train' | 'test', testLimit: number): void {
  if (from !== 'test') return;
  const evaluated = Math.min(testLimit, ds.test.count);
  if (evaluated + count > ds.test.count)
    throw new ConfigError(
      `rram: field 'heldOutCount': ${count} held-out test images and ${evaluated} evaluated ones exceed the ${ds.test.count} test images; lower --held-out or --test-limit (they must not overlap)`,
    );
}

/**
 * The calibration images of adaptive termination: the last `count` images of the training split
 * ('train'), or of the test split ('test'; they must not overlap the first `testLimit` evaluated ones).
 */
export function heldOutSet(ds: Dataset, count: number, from: 'train' | 'test' = 'train', testLimit = 0): EvalSet {
  checkHeldOut(ds, count, from, testLimit);
  const split = from === 'train' ? ds.train : ds.test;
  const n = Math.min(count, split.count);
  const start = split.count - n;
  return { x: toFloat(split, ds.shape, { start, count: n, normalize: null }), labels: split.labels.subarray(start, start + n), count: n };
}

/** Simulates `runs` over `set` (images firstImage…), split over the executor's workers; one merged simulation per run. */
export async function simulateSplit(
  ex: Executor,
  qw: QuantizedWorkload,
  runs: SimulationRun[],
  set: EvalSet,
  classes: number,
  o: { batchSize: number; firstImage?: number },
): Promise<Simulation[]> {
  const n = set.count;
  const per = Math.ceil(n / Math.max(1, Math.min(ex.size, n)));
  const size = set.x.length / n;
  const jobs: JobSpec<SimulateJobArgs>[] = [];
  for (let start = 0; start < n; start += per) {
    const cnt = Math.min(per, n - start);
    const args: SimulateJobArgs = {
      qw,
      runs,
      x: set.x.slice(start * size, (start + cnt) * size),
      labels: Array.from(set.labels as ArrayLike<number>).slice(start, start + cnt),
      count: cnt,
      classes,
      firstImage: (o.firstImage ?? 0) + start,
      batchSize: o.batchSize,
    };
    jobs.push({ id: `rram-${start}`, module: new URL('./rram-job.js', import.meta.url), fn: 'simulateJob', args });
  }
  const outcomes = await ex.runAll<Simulation[]>(jobs);
  const parts: Simulation[][] = [];
  for (const r of outcomes) {
    if (!r.ok) throw r.error;
    parts.push(r.value);
  }
  return runs.map((_, i) => mergeSimulations(parts.map((p) => p[i])));
}

/** The first `count` test images as an evaluation set. */
export function testSet(ds: Dataset, count: number): EvalSet {
  const n = Math.min(count, ds.test.count);
  return { x: toFloat(ds.test, ds.shape, { count: n, normalize: null }), labels: ds.test.labels, count: n };
}

/**
 * Thresholds for `c` calibrated on the held-out images to each budget, evaluations split over the
 * executor's workers; the greedy search profiles the layers once for all budgets.
 */
async function calibrateOn(
  ex: Executor,
  qw: QuantizedWorkload,
  c: RramConfig,
  ds: Dataset,
  config: RramRunConfig | RramSweepConfig,
  budgets: number[],
  progress: Progress,
): Promise<Calibration[]> {
  const held = heldOutSet(ds, config.heldOutCount, config.heldOutFrom, config.testLimit);
  const base = { ...c, termination: 'adaptive' as const };
  const simulate = (runs: SimulationRun[]): Promise<Simulation[]> => simulateSplit(ex, qw, runs, held, ds.numClasses, { batchSize: config.batchSize });
  const o = { metric: config.calibrationMetric, search: config.calibrationSearch, grid: config.thetaGrid, simulate };
  const out: Calibration[] = [];
  try {
    if (config.calibrationSearch === 'greedy') {
      const cap = Math.max(4 * Math.max(...budgets), 2);
      progress.start(`profile θ per layer (${held.count} held-out images)`, 0);
      const profile: ThresholdProfile = await profileThresholds(qw, base, held, ds.numClasses, { capPoints: cap, grid: config.thetaGrid, simulate });
      progress.stop();
      for (const b of budgets) {
        progress.start(`allocate θ (budget ${b} pp, ${held.count} held-out images)`, 0);
        out.push(await allocateThresholds(qw, base, held, ds.numClasses, profile, { ...o, budgetPoints: b }));
        progress.stop();
      }
    } else
      for (const b of budgets) {
        progress.start(`calibrate θ (budget ${b} pp, ${held.count} held-out images)`, 0);
        out.push(await calibrateThresholds(qw, base, held, ds.numClasses, { ...o, budgetPoints: b }));
        progress.stop();
      }
    return out;
  } finally {
    progress.stop();
  }
}

/** One `rram run`: quantize, calibrate (adaptive), simulate the test set with and without termination. */
export async function runRram(input: unknown, progress: Progress = silentProgress, data?: Dataset, workload?: Workload): Promise<RramRunResult> {
  const config = validate(RramRunConfigSchema, input, 'rram run config');
  const crossbar = rramConfig({ seed: config.seed, ...config.crossbar, termination: config.termination });
  const ds = data ?? (await loadDataset(config.dataset, { dataDir: config.dataDir }));
  if (ds.test.count === 0) throw new DataError(`data set ${config.dataset} has no test images`);
  if (config.termination === 'adaptive') checkHeldOut(ds, config.heldOutCount, config.heldOutFrom, config.testLimit);
  const wl = workload ?? (await workloadFromCheckpoint(needCheckpoint(config.checkpoint), ds));
  await initEngine();
  const qw = quantizeForCrossbar(wl, ds, crossbar, config);
  const ex = new Executor({ workers: config.workers ?? availableParallelism() });
  try {
    let calibration: Calibration | null = null;
    let c = crossbar;
    if (config.termination === 'adaptive' && Object.keys(crossbar.thresholds).length === 0 && crossbar.defaultThreshold === 0) {
      [calibration] = await calibrateOn(ex, qw, crossbar, ds, config, [config.budget], progress);
      c = { ...crossbar, thresholds: calibration.thresholds };
    }
    const t0 = performance.now();
    progress.start(`rram ${c.termination} + none on ${ex.size} worker(s)`, 0);
    const runs = [{ config: c }, { config: { ...c, termination: 'none' as const } }];
    const [mode, base] = await simulateSplit(ex, qw, runs, testSet(ds, config.testLimit), ds.numClasses, { batchSize: config.batchSize });
    progress.stop();
    const seconds = (performance.now() - t0) / 1000;
    return resultOf(config, c, wl, ds, mode, base, calibration, seconds);
  } finally {
    await ex.close();
  }
}

export function resultOf(
  config: RramRunConfig,
  c: RramConfig,
  wl: Workload,
  ds: Dataset,
  mode: Simulation,
  base: Simulation,
  calibration: Calibration | null,
  seconds: number,
): RramRunResult {
  const cost = costOf(mode, c);
  const baseCost = costOf(base, { ...c, termination: 'none' });
  const macsPerImage = workloadMacs(wl);
  const samePredictions = mode.predictions.length === base.predictions.length && mode.predictions.every((p, i) => p === base.predictions[i]);
  const changedPredictions = mode.predictions.reduce((n, p, i) => n + (p === base.predictions[i] ? 0 : 1), 0);
  const perImage = (v: number): number => v / mode.images;
  return {
    kind: 'rram-run',
    config,
    crossbar: c,
    model: wl.name,
    dataset: ds.name,
    images: mode.images,
    macsPerImage,
    termination: c.termination,
    accuracy: mode.correct / mode.images,
    baselineAccuracy: base.correct / base.images,
    accuracyLossPoints: ((base.correct - mode.correct) / mode.images) * 100,
    predictionsHash: predictionsHash(mode.predictions),
    baselinePredictionsHash: predictionsHash(base.predictions),
    samePredictions,
    changedPredictions,
    accuracyStdErrPoints: (Math.sqrt(changedPredictions) / mode.images) * 100,
    pointsPerImage: 100 / mode.images,
    computeReduction: cost.computeReduction,
    readReduction: cost.readReduction,
    skippedNegativeFraction: cost.skippedNegativeFraction,
    skippedAdaptiveFraction: cost.skippedAdaptiveFraction,
    skippedZeroPlaneFraction: cost.skippedZeroPlaneFraction,
    // Against the baseline run's own counters (equal to the dense counters of the mode's run).
    energyRatio: baseCost.energyPj / cost.energyPj,
    throughputRatio: cost.imagesPerSecond / baseCost.imagesPerSecond,
    energyPerImagePj: cost.energyPerImagePj,
    baselineEnergyPerImagePj: baseCost.energyPerImagePj,
    imagesPerSecond: cost.imagesPerSecond,
    baselineImagesPerSecond: baseCost.imagesPerSecond,
    perLayer: cost.perLayer,
    energyByComponent: cost.energy.byComponent.map((x) => ({
      component: x.component,
      energyPj: perImage(x.energyPj),
      baselineEnergyPj: perImage(baseCost.energy.byComponent.find((y) => y.component === x.component)?.energyPj ?? 0),
    })),
    thresholds: c.termination === 'adaptive' ? c.thresholds : {},
    calibration: calibration ? calibrationRecord(calibration) : null,
    simulatedMacsPerSecond: (2 * macsPerImage * mode.images) / seconds,
    seconds,
  };
}

export function writeRramRun(dir: string, r: RramRunResult): void {
  writeRunJson(dir, r.config, r);
  const cols = [
    'layer',
    'kind',
    'crossbars',
    'macs',
    'crossbarReads',
    'adcConversions',
    'inputBitsApplied',
    'computeReduction',
    'readReduction',
    'inputBitReduction',
    'skippedNegativeFraction',
    'skippedAdaptiveFraction',
    'skippedZeroPlaneFraction',
    'energyPj',
    'denseEnergyPj',
    'energyRatio',
    'timeNs',
    'denseTimeNs',
    'throughputRatio',
  ] as const;
  writeFileAtomic(join(dir, 'layers.csv'), tableCsv(cols, r.perLayer));
  writeFileAtomic(
    join(dir, 'energy.csv'),
    toCsv(
      ['component', 'energyPjPerImage', 'baselineEnergyPjPerImage'],
      r.energyByComponent.map((e) => [e.component, e.energyPj, e.baselineEnergyPj]),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Budget sweep (trade-off curve) and device variation

export const RramSweepConfigSchema = RramRunConfigSchema.omit({ termination: true, budget: true }).extend({
  budgets: z.array(z.number().min(0).max(100)).min(1).default([0, 0.1, 0.2, 0.5, 1, 2]),
  /** Conductance spreads (relative σ) for the device-variation rows (lossless mode). */
  spreads: z.array(z.number().min(0).max(2)).default([0.02, 0.05, 0.1]),
});
export type RramSweepConfig = z.output<typeof RramSweepConfigSchema>;

export interface RramSweepRow {
  setting: string;
  termination: RramConfig['termination'];
  budgetPoints: number | null;
  conductanceSpread: number;
  accuracy: number;
  baselineAccuracy: number;
  accuracyLossPoints: number;
  computeReduction: number;
  skippedNegativeFraction: number;
  skippedAdaptiveFraction: number;
  skippedZeroPlaneFraction: number;
  energyRatio: number;
  throughputRatio: number;
  samePredictions: boolean;
  changedPredictions: number;
  accuracyStdErrPoints: number;
  heldOutLossPoints: number | null;
  thresholds: Record<string, number>;
}

export interface RramSweepResult {
  kind: 'rram-sweep';
  config: RramSweepConfig;
  model: string;
  dataset: string;
  images: number;
  rows: RramSweepRow[];
  /** The calibration of each budget (thresholds, joint evaluations, the greedy profile). */
  calibrations: CalibrationRecord[];
}

function sweepRow(setting: string, r: RramRunResult, spread: number, cal: Calibration | null): RramSweepRow {
  return {
    setting,
    termination: r.termination,
    budgetPoints: cal ? cal.budgetPoints : null,
    conductanceSpread: spread,
    accuracy: r.accuracy,
    baselineAccuracy: r.baselineAccuracy,
    accuracyLossPoints: r.accuracyLossPoints,
    computeReduction: r.computeReduction,
    skippedNegativeFraction: r.skippedNegativeFraction,
    skippedAdaptiveFraction: r.skippedAdaptiveFraction,
    skippedZeroPlaneFraction: r.skippedZeroPlaneFraction,
    energyRatio: r.energyRatio,
    throughputRatio: r.throughputRatio,
    samePredictions: r.samePredictions,
    changedPredictions: r.changedPredictions,
    accuracyStdErrPoints: r.accuracyStdErrPoints,
    heldOutLossPoints: cal ? cal.lossPoints : null,
    thresholds: r.thresholds,
  };
}

/** Lossless, then adaptive at each budget, then lossless under each conductance spread. */
export async function runRramSweep(input: unknown, progress: Progress = silentProgress, data?: Dataset): Promise<RramSweepResult> {
  const config = validate(RramSweepConfigSchema, input, 'rram sweep config');
  const crossbar = rramConfig({ seed: config.seed, ...config.crossbar });
  const ds = data ?? (await loadDataset(config.dataset, { dataDir: config.dataDir }));
  if (ds.test.count === 0) throw new DataError(`data set ${config.dataset} has no test images`);
  checkHeldOut(ds, config.heldOutCount, config.heldOutFrom, config.testLimit);
  const wl = await workloadFromCheckpoint(needCheckpoint(config.checkpoint), ds);
  const qw = quantizeForCrossbar(wl, ds, crossbar, config);
  const runCfg = (termination: RramConfig['termination'], budget: number): RramRunConfig => ({ ...config, termination, budget });
  const configs: RramConfig[] = [
    { ...crossbar, termination: 'none' },
    { ...crossbar, termination: 'lossless' },
  ];
  const cals: Calibration[] = [];
  const ex = new Executor({ workers: config.workers ?? availableParallelism() });
  let sims: Simulation[];
  const t0 = performance.now();
  try {
    for (const cal of await calibrateOn(ex, qw, crossbar, ds, config, config.budgets, progress)) {
      cals.push(cal);
      configs.push({ ...crossbar, termination: 'adaptive', thresholds: cal.thresholds });
    }
    for (const s of config.spreads) configs.push({ ...crossbar, conductanceSpread: s, termination: 'none' }, { ...crossbar, conductanceSpread: s, termination: 'lossless' });
    progress.start(`rram sweep: ${configs.length} settings on ${ex.size} worker(s)`, 0);
    sims = await simulateSplit(
      ex,
      qw,
      configs.map((config) => ({ config })),
      testSet(ds, config.testLimit),
      ds.numClasses,
      { batchSize: config.batchSize },
    );
    progress.stop();
  } finally {
    await ex.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const [none, lossless] = sims;
  const rows: RramSweepRow[] = [sweepRow('lossless', resultOf(runCfg('lossless', 0), configs[1], wl, ds, lossless, none, null, seconds), 0, null)];
  for (const [i, cal] of cals.entries())
    rows.push(sweepRow(`adaptive, budget ${cal.budgetPoints} pp`, resultOf(runCfg('adaptive', cal.budgetPoints), configs[2 + i], wl, ds, sims[2 + i], none, cal, seconds), 0, cal));
  config.spreads.forEach((s, i) => {
    const k = 2 + cals.length + 2 * i;
    rows.push(sweepRow(`lossless, conductance spread ${s}`, resultOf(runCfg('lossless', 0), configs[k + 1], wl, ds, sims[k + 1], sims[k], null, seconds), s, null));
  });
  if (rows.length === 0) throw new ConfigError('rram sweep: nothing to run');
  return { kind: 'rram-sweep', config, model: wl.name, dataset: ds.name, images: none.images, rows, calibrations: cals.map(calibrationRecord) };
}

export function writeRramSweep(dir: string, r: RramSweepResult): void {
  writeRunJson(dir, r.config, r);
  const cols = [
    'setting',
    'termination',
    'budgetPoints',
    'conductanceSpread',
    'accuracy',
    'baselineAccuracy',
    'accuracyLossPoints',
    'computeReduction',
    'skippedNegativeFraction',
    'skippedAdaptiveFraction',
    'skippedZeroPlaneFraction',
    'energyRatio',
    'throughputRatio',
    'samePredictions',
    'changedPredictions',
    'accuracyStdErrPoints',
    'heldOutLossPoints',
  ] as const;
  writeFileAtomic(join(dir, 'sweep.csv'), tableCsv(cols, r.rows));
}

// ---------------------------------------------------------------------------------------------
// Quick run for the tour

export interface RramQuickResult {
  kind: 'rram-quick';
  lossless: RramRunResult | null;
  adaptive: RramRunResult | null;
  skipped: string | null;
}

/**
 * Tour version: an MLP trained for one epoch on 2,000 Fashion-MNIST images, on default crossbars over
 * 200 test images, lossless and adaptive (budget 1 point on 300 held-out training images; fewer
 * with smaller `trainLimit`/`testLimit`); skipped with the reason when the data is absent.
 */
export async function quickRun(o: { seed?: number; progress?: Progress; dataDir?: string; trainLimit?: number; testLimit?: number } = {}): Promise<RramQuickResult> {
  const seed = o.seed ?? 1;
  const progress = o.progress ?? silentProgress;
  const trainLimit = Math.min(2000, o.trainLimit ?? 2000);
  const testLimit = Math.min(200, o.testLimit ?? 200);
  let ds: Dataset;
  try {
    await initEngine();
    ds = await loadDataset('fashion-mnist', { trainLimit, testLimit, seed, dataDir: o.dataDir });
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    return { kind: 'rram-quick', lossless: null, adaptive: null, skipped: e.message };
  }
  const model = createModel('mlp-300-100', { inputShape: [...ds.shape], numClasses: ds.numClasses, seed });
  const trained = train({ dataset: ds, model, epochs: 1, optimizer: 'adam', lr: 1e-3, batchSize: 64, seed, evalEveryEpoch: false }, progress);
  const wl = workloadFromModel(model, trained.normalization);
  model.dispose();
  const base = { dataset: 'fashion-mnist', testLimit, heldOutCount: Math.max(10, Math.min(300, Math.floor(trainLimit / 4))), calibCount: 256, seed, workers: 1 };
  const lossless = await runRram({ ...base, termination: 'lossless' }, progress, ds, wl);
  const adaptive = await runRram({ ...base, termination: 'adaptive', budget: 1 }, progress, ds, wl);
  return { kind: 'rram-quick', lossless, adaptive, skipped: null };
}
