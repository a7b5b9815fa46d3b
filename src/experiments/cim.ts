/**
 * CIM experiments: characterization of the macro, network inference on macros, cost estimate,
 * and a quick run for the tour. Each returns plain JSON; `write*` functions produce run folders.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { validate } from '../core/config.js';
import { initEngine, type tf } from '../core/engine.js';
import { ConfigError, DataError } from '../core/errors.js';
import { toCsv, writeFileAtomic, writeJsonAtomic } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { loadDataset } from '../data/load.js';
import { toFloat } from '../data/pipeline.js';
import type { Dataset } from '../data/types.js';
import { loadModel, readModelMetadata } from '../nn/checkpoint.js';
import { createModel } from '../nn/models.js';
import { normalizationFor, train } from '../nn/train.js';
import { type Workload, workloadFromModel, workloadMacs } from '../nn/workload.js';
import { characterize, type CharacterizeResult } from '../hw/cim/characterize.js';
import { BOOSTED_CLIPPING_MODES, idealize, MAC_FOLDING_MODES, type MacroConfig, MacroConfigSchema, macroConfig } from '../hw/cim/config.js';
import { type CostResult, costParams, CostParamsSchema, estimateCost, type NetworkCost, networkCost } from '../hw/cim/cost.js';
import { designMacro } from '../hw/cim/macro.js';
import { calibrateBoost, type LayerBoost, layerBoostMap, MappedNetwork, partialSumHistograms } from '../hw/cim/network.js';
import { qatFineTune } from '../nn/qat.js';
import { type EvalSet, evaluateAccuracy, floatForward, quantizeWorkload } from '../nn/runtime/index.js';
import { tfMatMul } from '../nn/runtime/matmul-tf.js';

// ---------------------------------------------------------------------------------------------
// Characterization

export const CharacterizeConfigSchema = z
  .object({
    macro: MacroConfigSchema.default({}),
    ideal: z.boolean().default(false),
    chips: z.number().int().min(1).max(1000).default(8),
    trials: z.number().int().min(1).max(100).default(2),
    levelsPerCode: z.number().int().min(1).max(64).default(4),
    techniques: z.boolean().default(true),
    noiseScale: z.number().min(0).max(100).default(1),
    seed: z.number().int().min(0).default(1),
  })
  .strict();
export type CharacterizeConfig = z.output<typeof CharacterizeConfigSchema>;

export interface CimCharacterizeRun {
  kind: 'cim-characterize';
  config: CharacterizeConfig;
  result: CharacterizeResult;
}

export function runCharacterize(input: unknown, progress: Progress = silentProgress): CimCharacterizeRun {
  const config = validate(CharacterizeConfigSchema, input, 'cim characterize config');
  let macro = macroConfig(config.macro);
  if (config.ideal) macro = idealize(macro);
  const result = characterize(
    {
      config: macro,
      chips: config.chips,
      trials: config.trials,
      levelsPerCode: config.levelsPerCode,
      seed: config.seed,
      techniques: config.techniques,
      noiseScale: config.noiseScale,
    },
    progress,
  );
  return { kind: 'cim-characterize', config, result };
}

export function writeCharacterizeRun(dir: string, run: CimCharacterizeRun): void {
  writeJsonAtomic(join(dir, 'config.json'), run.config);
  writeJsonAtomic(join(dir, 'result.json'), run);
  const vs = run.result.variants;
  writeFileAtomic(
    join(dir, 'summary.csv'),
    toCsv(
      [
        'variant',
        'macFolding',
        'boostedClipping',
        'stepMac',
        'boost',
        'rmsErrorLsb',
        'rmsErrorMac',
        'inlMaxLsb',
        'dnlMaxLsb',
        'marginMvPerLsb',
        'typicalRmsErrorMac',
        'typicalClipRate',
      ],
      vs.map((v) => [
        v.name,
        v.macFolding,
        v.boostedClipping,
        v.design.step,
        v.design.boost,
        v.rmsErrorLsb,
        v.rmsErrorMac,
        v.inlMaxLsb,
        v.dnlMaxLsb,
        v.marginMvPerLsb,
        v.typicalRmsErrorMac,
        v.typicalClipRate,
      ]),
    ),
  );
  writeFileAtomic(
    join(dir, 'transfer.csv'),
    toCsv(
      ['variant', 'mac', 'idealCode', 'simulatedCode', 'minCode', 'maxCode'],
      vs.flatMap((v) => v.transfer.map((t) => [v.name, t.mac, t.ideal, t.simulated, t.min, t.max])),
    ),
  );
  writeFileAtomic(
    join(dir, 'linearity.csv'),
    toCsv(
      ['variant', 'code', 'inlLsb', 'dnlLsb'],
      vs.flatMap((v) => v.linearity.map((t) => [v.name, t.code, t.inl, t.dnl])),
    ),
  );
  writeFileAtomic(
    join(dir, 'error-histogram.csv'),
    toCsv(
      ['variant', 'errorLsb', 'count'],
      vs.flatMap((v) => v.errorHistogram.map((t) => [v.name, t.error, t.count])),
    ),
  );
  writeFileAtomic(
    join(dir, 'monte-carlo.csv'),
    toCsv(
      ['variant', 'chip', 'rmsErrorLsb', 'inlMaxLsb', 'dnlMaxLsb'],
      vs.flatMap((v) => v.monteCarlo.map((t) => [v.name, t.chip, t.rmsErrorLsb, t.inlMaxLsb, t.dnlMaxLsb])),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Cost

export const CostConfigSchema = z.object({ macro: MacroConfigSchema.default({}), cost: CostParamsSchema.default({}) }).strict();

export interface CimCostRun {
  kind: 'cim-cost';
  config: z.output<typeof CostConfigSchema>;
  /** The configured macro, then the technique grid. */
  result: CostResult;
  variants: (CostResult & { macFolding: string; boostedClipping: string })[];
}

export function runCost(input: unknown): CimCostRun {
  const config = validate(CostConfigSchema, input, 'cim cost config');
  const macro = macroConfig(config.macro);
  const p = costParams(config.cost);
  const variants = (['off', macro.macFolding === 'off' ? 'sign-magnitude' : macro.macFolding] as const).flatMap((mf) =>
    (['off', macro.boostedClipping === 'off' ? 'gain' : macro.boostedClipping] as const).map((bc) => ({
      ...estimateCost({ ...macro, macFolding: mf, boostedClipping: bc }, p),
      macFolding: mf,
      boostedClipping: bc,
    })),
  );
  return { kind: 'cim-cost', config, result: estimateCost(macro, p), variants };
}

// ---------------------------------------------------------------------------------------------
// Network inference

export const InferConfigSchema = z
  .object({
    model: z.enum(['cnn-small', 'mlp-300-100', 'lenet5']).default('cnn-small'),
    dataset: z.string().default('fashion-mnist'),
    /** A run folder with checkpoint/ (from `accelab train --out`); otherwise the model is trained here. */
    checkpoint: z.string().optional(),
    epochs: z.number().int().min(1).max(100).default(3),
    trainLimit: z.number().int().min(100).optional(),
    /** Test images for float, ideal 4-bit and the fully enhanced macro (the headline numbers). */
    testLimit: z.number().int().min(10).default(10000),
    /** First test image (to split an evaluation over several processes). */
    testOffset: z.number().int().min(0).default(0),
    /** Test images for the technique grid (each technique on/off) and the noise sweep. */
    sweepLimit: z.number().int().min(10).default(500),
    calibCount: z.number().int().min(8).max(10000).default(256),
    percentile: z.number().min(0.9).max(1).default(0.9995),
    noiseLevels: z.array(z.number().min(0).max(100)).default([0.5, 1, 2, 4]),
    macro: MacroConfigSchema.default({}),
    /**
     * Boost factor β of boosted-clipping for inference: 'auto' calibrates β per layer on the first
     * `boostCalibCount` TRAINING images (largest power of two ≤ maxBoost whose partial-sum clip rate
     * is ≤ clipRateTarget); an integer fixes β for every layer (overrides `macro.boost`).
     */
    boost: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default('auto'),
    clipRateTarget: z.number().min(0).max(0.5).default(1e-4),
    maxBoost: z.number().int().min(1).max(256).default(64),
    boostCalibCount: z.number().int().min(1).max(10000).default(256),
    batch: z.number().int().min(1).max(2000).default(200),
    /**
     * Quantization-aware fine-tuning before quantizing: epochs over the training split (0 = off) with
     * fake quantization matching the inference quantizer and a straight-through estimator (nn/qat.ts).
     */
    qatEpochs: z.number().int().min(0).max(100).default(0),
    qatLr: z.number().positive().max(1).default(1e-4),
    qatBatch: z.number().int().min(1).max(1024).default(64),
    /** Cost parameters for the per-layer energy and latency estimate of the fully enhanced setting. */
    cost: CostParamsSchema.default({}),
    seed: z.number().int().min(0).default(1),
    dataDir: z.string().optional(),
  })
  .strict();
export type InferConfig = z.output<typeof InferConfigSchema>;

export interface AccuracyRow {
  setting: string;
  macFolding: string;
  boostedClipping: string;
  noiseScale: number;
  accuracy: number;
  images: number;
  clipRate: number;
  seconds: number;
}

export interface CimInferResult {
  kind: 'cim-infer';
  config: InferConfig;
  model: string;
  dataset: string;
  macsPerImage: number;
  macrosUsed: number;
  floatAccuracy: number;
  ideal4bitAccuracy: number;
  /** The fully enhanced macro (both techniques, default noise) on `testLimit` images. */
  enhanced: AccuracyRow;
  /** At the default noise on `sweepLimit` images: each technique on/off. */
  techniques: AccuracyRow[];
  /** Accuracy vs noise on `sweepLimit` images, per technique setting. */
  noiseSweep: AccuracyRow[];
  ideal4bitSweepAccuracy: number;
  /** Loss of the fully enhanced macro vs ideal 4-bit (points) at the default noise. */
  lossVsIdealPoints: number;
  /** Simulated MACs per second of the macro-in-the-loop evaluation (default setting). */
  simulatedMacsPerSecond: number;
  /** β per layer of the fully enhanced setting ('auto': calibrated on training images; else the fixed β) with calibration statistics. */
  layerBoost: LayerBoost[];
  boostMode: 'auto' | 'fixed';
  /** Quantization-aware fine-tuning: whether it ran, and the float / ideal 4-bit accuracy (testLimit images) before and after. */
  qat: QatSummary;
  /** ESTIMATE: energy and latency per image of the fully enhanced setting, per layer at its β, from the activity of the `enhanced` run; null when not evaluated. */
  cost: NetworkCost | null;
}

export interface QatSummary {
  ran: boolean;
  epochs: number;
  lr: number;
  batch: number;
  trainImages: number;
  steps: number;
  epochLoss: number[];
  seconds: number;
  floatAccuracyBefore: number | null;
  ideal4bitAccuracyBefore: number | null;
  floatAccuracyAfter: number | null;
  ideal4bitAccuracyAfter: number | null;
}

function techniqueGrid(m: MacroConfig): { mf: MacroConfig['macFolding']; bc: MacroConfig['boostedClipping'] }[] {
  const mfOn = m.macFolding === 'off' ? 'sign-magnitude' : m.macFolding;
  const bcOn = m.boostedClipping === 'off' ? 'gain' : m.boostedClipping;
  return [
    { mf: 'off', bc: 'off' },
    { mf: mfOn, bc: 'off' },
    { mf: 'off', bc: bcOn },
    { mf: mfOn, bc: bcOn },
  ];
}

async function obtainModel(c: InferConfig, ds: Dataset, progress: Progress): Promise<{ model: tf.LayersModel; normalization: { mean: number[]; std: number[] } }> {
  if (c.checkpoint) {
    const dir = existsSync(join(c.checkpoint, 'model.json')) ? c.checkpoint : join(c.checkpoint, 'checkpoint');
    const model = await loadModel(dir);
    const meta = readModelMetadata(dir) as { normalization?: { mean: number[]; std: number[] } };
    return { model, normalization: meta.normalization ?? normalizationFor(ds) };
  }
  const model = createModel(c.model, { inputShape: [...ds.shape], numClasses: ds.numClasses, seed: c.seed });
  const r = train({ dataset: ds, model, epochs: c.epochs, optimizer: 'adam', lr: 1e-3, batchSize: 64, seed: c.seed, evalEveryEpoch: false }, progress);
  return { model, normalization: r.normalization };
}

/** Quantizes a model, maps it onto macros and evaluates accuracies (float, ideal 4-bit, macro settings × noise). */
export async function runInfer(input: unknown, progress: Progress = silentProgress, data?: Dataset): Promise<CimInferResult> {
  const config = validate(InferConfigSchema, input, 'cim infer config');
  const macro = macroConfig(typeof config.boost === 'number' ? { ...config.macro, boost: config.boost } : config.macro);
  if (config.maxBoost & (config.maxBoost - 1)) throw new ConfigError(`cim infer config: field 'maxBoost' must be a power of two (1, 2, 4, …), got ${config.maxBoost}`);
  await initEngine();
  const ds = data ?? (await loadDataset(config.dataset, { dataDir: config.dataDir, trainLimit: config.trainLimit, seed: config.seed }));
  if (ds.test.count === 0) throw new DataError(`data set ${config.dataset} has no test images`);
  if (config.testOffset >= ds.test.count)
    throw new ConfigError(`cim infer config: testOffset ${config.testOffset} is past the last of the ${ds.test.count} test images of ${ds.name}: use 0…${ds.test.count - 1}`);
  // Fewer images than asked for remain after the offset: the config records what is evaluated.
  config.testLimit = Math.min(config.testLimit, ds.test.count - config.testOffset);
  const { model, normalization } = await obtainModel(config, ds, progress);
  const wl: Workload = workloadFromModel(model, normalization);
  model.dispose();
  if (config.qatEpochs === 0) return inferOnWorkload(wl, ds, config, macro, progress);
  const before = inferOnWorkload(wl, ds, { ...config, sweepLimit: 10, noiseLevels: [1] }, macro, progress, { accuraciesOnly: true });
  const train: EvalSet = { x: toFloat(ds.train, ds.shape, { normalize: null }), labels: ds.train.labels, count: ds.train.count };
  const { workload, stats } = qatFineTune(
    wl,
    train,
    ds.numClasses,
    { epochs: config.qatEpochs, lr: config.qatLr, batch: config.qatBatch, seed: config.seed, calibCount: config.calibCount, percentile: config.percentile },
    tfMatMul,
    progress,
  );
  const r = inferOnWorkload(workload, ds, config, macro, progress);
  r.qat = {
    ran: true,
    epochs: stats.epochs,
    lr: stats.lr,
    batch: stats.batch,
    trainImages: train.count,
    steps: stats.steps,
    epochLoss: stats.epochLoss,
    seconds: stats.seconds,
    floatAccuracyBefore: before.floatAccuracy,
    ideal4bitAccuracyBefore: before.ideal4bitAccuracy,
    floatAccuracyAfter: r.floatAccuracy,
    ideal4bitAccuracyAfter: r.ideal4bitAccuracy,
  };
  return r;
}

function qatOff(config: InferConfig): QatSummary {
  return {
    ran: false,
    epochs: 0,
    lr: config.qatLr,
    batch: config.qatBatch,
    trainImages: 0,
    steps: 0,
    epochLoss: [],
    seconds: 0,
    floatAccuracyBefore: null,
    ideal4bitAccuracyBefore: null,
    floatAccuracyAfter: null,
    ideal4bitAccuracyAfter: null,
  };
}

/** `accuraciesOnly`: only float and ideal 4-bit accuracy are measured (the macro fields are empty). */
export function inferOnWorkload(
  wl: Workload,
  ds: Dataset,
  config: InferConfig,
  macro: MacroConfig,
  progress: Progress = silentProgress,
  o: { accuraciesOnly?: boolean } = {},
): CimInferResult {
  const shape = ds.shape;
  const off = Math.min(config.testOffset, ds.test.count - 1);
  const nTest = Math.min(config.testLimit, ds.test.count - off);
  const nSweep = Math.min(config.sweepLimit, nTest);
  const labels = ds.test.labels.subarray(off);
  const test: EvalSet = { x: toFloat(ds.test, shape, { start: off, count: nTest, normalize: null }), labels, count: nTest };
  const sweep: EvalSet = { x: test.x.subarray(0, nSweep * (test.x.length / nTest)), labels, count: nSweep };
  const calibN = Math.min(config.calibCount, ds.train.count);
  const calib = toFloat(ds.train, shape, { count: calibN, normalize: null });
  const gemm = tfMatMul;
  const net = quantizeWorkload(wl, { calib, calibCount: calibN, percentile: config.percentile, matmul: gemm });
  const classes = ds.numClasses;
  // Boost calibration on training images (the first boostCalibCount; never test images).
  const boostN = Math.min(config.boostCalibCount, ds.train.count);
  const boostCalib = boostN === calibN ? calib : toFloat(ds.train, shape, { count: boostN, normalize: null });
  const lineModes = [...new Set(techniqueGrid(macro).map((g) => g.mf))].map((mode) => ({ mode, groups: mode === 'range' ? macro.foldGroups : 1 }));
  const hists = partialSumHistograms(net, boostCalib, boostN, macro.rows, gemm, 64, lineModes);
  const boostsFor = (mf: MacroConfig['macFolding'], bc: MacroConfig['boostedClipping']): LayerBoost[] => {
    const cfg: MacroConfig = { ...macro, macFolding: mf, boostedClipping: bc };
    if (config.boost === 'auto') return calibrateBoost(hists, cfg, { clipRateTarget: config.clipRateTarget, maxBoost: config.maxBoost });
    // Fixed β: with a target of 1 the first candidate (β itself) is taken; the rows carry the calibration clip rates.
    return calibrateBoost(hists, { ...cfg, boost: config.boost }, { clipRateTarget: 1, maxBoost: config.boost });
  };
  const floatAccuracy = evaluateAccuracy((x, b) => floatForward(wl, x, b, { matmul: gemm }), test, classes, config.batch, progress, 'float');
  const ideal = new MappedNetwork(net, { kind: 'ideal' }, gemm);
  const ideal4bitAccuracy = evaluateAccuracy((x, b) => ideal.forward(x, b), test, classes, config.batch, progress, 'ideal 4-bit');
  const ideal4bitSweepAccuracy = nSweep === nTest ? ideal4bitAccuracy : evaluateAccuracy((x, b) => ideal.forward(x, b), sweep, classes, config.batch, progress, 'ideal 4-bit');
  ideal.dispose();
  const macsPerImage = workloadMacs(wl);
  if (o.accuraciesOnly) {
    const none: AccuracyRow = { setting: 'not evaluated', macFolding: 'off', boostedClipping: 'off', noiseScale: 1, accuracy: Number.NaN, images: 0, clipRate: 0, seconds: 0 };
    return {
      kind: 'cim-infer',
      config,
      model: wl.name,
      dataset: ds.name,
      macsPerImage,
      macrosUsed: 0,
      floatAccuracy,
      ideal4bitAccuracy,
      enhanced: none,
      techniques: [],
      noiseSweep: [],
      ideal4bitSweepAccuracy,
      lossVsIdealPoints: Number.NaN,
      simulatedMacsPerSecond: 0,
      layerBoost: [],
      boostMode: config.boost === 'auto' ? 'auto' : 'fixed',
      qat: qatOff(config),
      cost: null,
    };
  }
  const evalMacro = (mf: MacroConfig['macFolding'], bc: MacroConfig['boostedClipping'], noiseScale: number, set: EvalSet): AccuracyRow & { macros: number; cost: NetworkCost } => {
    const cfg: MacroConfig = { ...macro, macFolding: mf, boostedClipping: bc };
    const layerBoost = layerBoostMap(boostsFor(mf, bc));
    const mapped = new MappedNetwork(net, { kind: 'macro', config: cfg, seed: config.seed, noiseScale, layerBoost }, gemm);
    const t0 = performance.now();
    const acc = evaluateAccuracy((x, b) => mapped.forward(x, b), set, classes, config.batch, progress, `${mf}/${bc} ×${noiseScale}`);
    const seconds = (performance.now() - t0) / 1000;
    mapped.dispose();
    const cost = networkCost(mapped.activity(), set.count, costParams(config.cost));
    return {
      setting: `folding ${mf}, boosted-clipping ${bc}`,
      macFolding: mf,
      boostedClipping: bc,
      noiseScale,
      accuracy: acc,
      images: set.count,
      clipRate: mapped.clipped / Math.max(1, mapped.conversions),
      seconds,
      macros: mapped.macros,
      cost,
    };
  };
  const grid = techniqueGrid(macro);
  const full = grid[grid.length - 1];
  const enhancedRun = evalMacro(full.mf, full.bc, 1, test);
  const { macros: macrosUsed, cost, ...enhanced } = enhancedRun;
  const noiseSweep: AccuracyRow[] = [];
  const levels = config.noiseLevels.includes(1) ? config.noiseLevels : [1, ...config.noiseLevels];
  for (const s of levels) {
    for (const g of grid) {
      if (nSweep === nTest && g === full && s === 1) {
        noiseSweep.push(enhanced);
        continue;
      }
      const { macros: _m, cost: _c, ...row } = evalMacro(g.mf, g.bc, s, sweep);
      noiseSweep.push(row);
    }
  }
  const techniques = noiseSweep.filter((r) => r.noiseScale === 1);
  return {
    kind: 'cim-infer',
    config,
    model: wl.name,
    dataset: ds.name,
    macsPerImage,
    macrosUsed,
    floatAccuracy,
    ideal4bitAccuracy,
    enhanced,
    techniques,
    noiseSweep,
    ideal4bitSweepAccuracy,
    lossVsIdealPoints: (ideal4bitAccuracy - enhanced.accuracy) * 100,
    simulatedMacsPerSecond: (macsPerImage * enhanced.images) / enhanced.seconds,
    layerBoost: boostsFor(full.mf, full.bc),
    boostMode: config.boost === 'auto' ? 'auto' : 'fixed',
    qat: qatOff(config),
    cost,
  };
}

/**
 * Merges inference results over disjoint test ranges (`testOffset` splits) into one: float, ideal and
 * enhanced accuracies weighted by images; the technique grid and noise sweep taken from `sweep`.
 */
export function mergeInferResults(parts: CimInferResult[], sweep: CimInferResult): CimInferResult {
  const images = parts.reduce((s, p) => s + p.enhanced.images, 0);
  const w = (f: (p: CimInferResult) => number): number => parts.reduce((s, p) => s + f(p) * p.enhanced.images, 0) / images;
  const seconds = parts.reduce((s, p) => s + p.enhanced.seconds, 0);
  const enhanced: AccuracyRow = { ...parts[0].enhanced, accuracy: w((p) => p.enhanced.accuracy), clipRate: w((p) => p.enhanced.clipRate), images, seconds };
  const ideal4bitAccuracy = w((p) => p.ideal4bitAccuracy);
  return {
    ...sweep,
    config: {
      ...parts[0].config,
      testOffset: Math.min(...parts.map((p) => p.config.testOffset)),
      testLimit: images,
      sweepLimit: sweep.config.sweepLimit,
      noiseLevels: sweep.config.noiseLevels,
    },
    floatAccuracy: w((p) => p.floatAccuracy),
    ideal4bitAccuracy,
    enhanced,
    lossVsIdealPoints: (ideal4bitAccuracy - enhanced.accuracy) * 100,
    simulatedMacsPerSecond: (parts[0].macsPerImage * images) / seconds,
  };
}

export function writeInferRun(dir: string, r: CimInferResult): void {
  writeJsonAtomic(join(dir, 'config.json'), r.config);
  writeJsonAtomic(join(dir, 'result.json'), r);
  const cols = ['setting', 'macFolding', 'boostedClipping', 'noiseScale', 'accuracy', 'images', 'clipRate', 'durationS'];
  const row = (a: AccuracyRow) => [a.setting, a.macFolding, a.boostedClipping, a.noiseScale, a.accuracy, a.images, a.clipRate, a.seconds];
  writeFileAtomic(join(dir, 'techniques.csv'), toCsv(cols, [r.enhanced, ...r.techniques].map(row)));
  writeFileAtomic(join(dir, 'noise-sweep.csv'), toCsv(cols, r.noiseSweep.map(row)));
  if (r.cost) {
    writeFileAtomic(
      join(dir, 'layer-cost.csv'),
      toCsv(
        ['layer', 'boost', 'macros', 'conversionsPerImage', 'macsPerImage', 'energyPj', 'latencyS'],
        r.cost.layers.map((l) => [l.layer, l.boost, l.macros, l.conversions, l.macs, l.energyPj, l.latencyS]),
      ),
    );
    writeFileAtomic(
      join(dir, 'energy-actions.csv'),
      toCsv(
        ['layer', 'component', 'action', 'count', 'energyPerActionPj', 'energyPj', 'source'],
        r.cost.energy.rows.map((a) => [a.layer, a.component, a.action, a.count, a.energyPerActionPj, a.energyPj, a.source]),
      ),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Quick run for the tour (< 60 s)

export interface CimQuickResult {
  kind: 'cim-quick';
  characterize: CharacterizeResult;
  cost: CimCostRun;
  infer: CimInferResult | null;
  inferSkipped: string | null;
}

/**
 * Tour version: characterization with 2 chips, the cost estimate, and inference of a small MLP
 * trained for one epoch on 2,000 Fashion-MNIST images (200 test images) (skipped with a reason when the data is absent).
 */
export async function quickRun(o: { seed?: number; progress?: Progress; dataDir?: string } = {}): Promise<CimQuickResult> {
  const seed = o.seed ?? 1;
  const progress = o.progress ?? silentProgress;
  const ch = runCharacterize({ chips: 2, trials: 1, levelsPerCode: 1, seed }, progress);
  const cost = runCost({});
  let infer: CimInferResult | null = null;
  let inferSkipped: string | null = null;
  try {
    await initEngine();
    const ds = await loadDataset('fashion-mnist', { trainLimit: 2000, testLimit: 200, seed, dataDir: o.dataDir });
    infer = await runInfer({ model: 'mlp-300-100', epochs: 1, testLimit: 200, sweepLimit: 100, noiseLevels: [1, 3], seed }, progress, ds);
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    inferSkipped = e.message;
  }
  return { kind: 'cim-quick', characterize: ch.result, cost, infer, inferSkipped };
}

export { BOOSTED_CLIPPING_MODES, MAC_FOLDING_MODES, designMacro };
