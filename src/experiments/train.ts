/**
 * The training recipe: a validated config in, a run folder out.
 *
 * `TrainConfig` (zod-validated) names the data set and the model; `runTrain` loads the data,
 * builds the seeded model, trains with per-epoch evaluation and returns plain JSON plus the model;
 * `writeTrainRun` writes config.json, result.json, the checkpoint (tfjs model.json + weights),
 * CSV tables, SVG figures and report.html. Re-running `config.json` reproduces the run.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { validate } from '../core/config.js';
import { type EngineInfo, engineInfo, type tf } from '../core/engine.js';
import { NotFoundError } from '../core/errors.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { loadModel, readModelMetadata, saveModel } from '../nn/checkpoint.js';
import { createModel, MODEL_NAMES } from '../nn/models.js';
import { type EvalResult, evaluate, type Normalization, train, type TrainOptions, type TrainResult } from '../nn/train.js';
import { readJson, writeJsonAtomic } from '../core/fsx.js';

export const TrainConfigSchema = z
  .object({
    dataset: z.string().min(1).default('fashion-mnist'),
    model: z.enum(MODEL_NAMES).default('cnn-small'),
    epochs: z.number().int().min(1).max(1000).default(2),
    optimizer: z.enum(['sgd', 'adam']).optional(),
    lr: z.number().positive().max(10).optional(),
    momentum: z.number().min(0).max(0.999).optional(),
    weightDecay: z.number().min(0).max(1).optional(),
    lrSchedule: z.enum(['constant', 'cosine']).optional(),
    batch: z.number().int().min(1).max(4096).default(64),
    seed: z.number().int().min(0).default(1),
    /** Random crop + flip; default on for 32×32×3 data, off otherwise. */
    augment: z.boolean().optional(),
    /** Use only the first N training / test examples (quick runs). */
    trainLimit: z.number().int().min(1).optional(),
    testLimit: z.number().int().min(1).optional(),
    evalBatch: z.number().int().min(1).default(256),
    /** Evaluate on the test split after every epoch (default) or only after the last one. */
    evalEveryEpoch: z.boolean().default(true),
    dataDir: z.string().optional(),
  })
  .strict();

export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
/** A fully resolved config (every default filled in): this is what config.json holds. */
export interface TrainConfig {
  dataset: string;
  model: (typeof MODEL_NAMES)[number];
  epochs: number;
  optimizer: 'sgd' | 'adam';
  lr: number;
  momentum: number;
  weightDecay: number;
  lrSchedule: 'constant' | 'cosine';
  batch: number;
  seed: number;
  augment: boolean;
  trainLimit?: number;
  testLimit?: number;
  evalBatch: number;
  evalEveryEpoch: boolean;
  dataDir?: string;
}

/**
 * Defaults chosen by measurement (see the project report): Adam 1e-3 for the small CNNs on
 * Fashion-MNIST; Adam 2e-3 with a cosine schedule, weight decay and augmentation for the
 * 32×32×3 networks with batch norm.
 */
export function resolveTrainConfig(input: TrainConfigInput | Record<string, unknown>, shape?: readonly number[]): TrainConfig {
  const c = validate(TrainConfigSchema, input, 'train config');
  const rgb = shape ? shape[2] === 3 : /cifar|rgb/.test(c.dataset);
  const deep = c.model === 'resnet20' || c.model === 'vgg-small';
  const optimizer = c.optimizer ?? 'adam';
  return {
    ...c,
    optimizer,
    lr: c.lr ?? (optimizer === 'sgd' ? (deep ? 0.05 : 0.02) : deep ? 2e-3 : 1e-3),
    momentum: c.momentum ?? 0.9,
    weightDecay: c.weightDecay ?? (deep ? 5e-4 : 0),
    lrSchedule: c.lrSchedule ?? (deep ? 'cosine' : 'constant'),
    augment: c.augment ?? rgb,
  };
}

export interface TrainRun {
  config: TrainConfig;
  result: TrainResult & { engine: EngineInfo | null; createdAt: string };
  model: tf.LayersModel;
  dataset: Dataset;
}

export async function loadTrainData(config: Pick<TrainConfig, 'dataset' | 'trainLimit' | 'testLimit' | 'dataDir' | 'seed'>, progress: Progress = silentProgress): Promise<Dataset> {
  return loadDataset(config.dataset, { dataDir: config.dataDir, trainLimit: config.trainLimit, testLimit: config.testLimit, seed: config.seed, progress });
}

/** The training loop's options from a run config's optimizer, schedule and evaluation fields (training and fine-tuning share them). */
export function trainOptions(
  config: Pick<TrainConfig, 'epochs' | 'optimizer' | 'lr' | 'momentum' | 'weightDecay' | 'lrSchedule' | 'batch' | 'seed' | 'augment' | 'evalBatch' | 'evalEveryEpoch'>,
): Omit<TrainOptions, 'dataset' | 'model' | 'constraint' | 'normalization'> {
  return {
    epochs: config.epochs,
    optimizer: config.optimizer,
    lr: config.lr,
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    lrSchedule: config.lrSchedule,
    batchSize: config.batch,
    seed: config.seed,
    augment: config.augment,
    evalBatchSize: config.evalBatch,
    evalEveryEpoch: config.evalEveryEpoch,
  };
}

/** Loads the data, builds the model and trains it. The caller disposes `model` when done. */
export async function runTrain(input: TrainConfigInput | Record<string, unknown>, progress: Progress = silentProgress, data?: Dataset): Promise<TrainRun> {
  const prelim = validate(TrainConfigSchema, input, 'train config');
  const dataset = data ?? (await loadTrainData(prelim, progress));
  const config = resolveTrainConfig(input, dataset.shape);
  const model = createModel(config.model, { inputShape: [...dataset.shape], numClasses: dataset.numClasses, seed: config.seed });
  try {
    const result = train({ dataset, model, ...trainOptions(config) }, progress);
    return { config, result: { ...result, engine: engineInfo(), createdAt: new Date().toISOString() }, model, dataset };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Writes the reproducible core of the run folder: config.json, result.json and the checkpoint
 * (tfjs model.json + weights.bin). The report files are added by src/report (see report/write.ts).
 */
export async function writeTrainRun(dir: string, run: Pick<TrainRun, 'config' | 'result' | 'model'>): Promise<{ dir: string; checkpoint: string }> {
  writeJsonAtomic(join(dir, 'config.json'), run.config);
  writeJsonAtomic(join(dir, 'result.json'), run.result);
  const checkpoint = join(dir, 'checkpoint');
  await saveModel(run.model, checkpoint, { config: run.config, normalization: run.result.normalization });
  return { dir, checkpoint };
}

// ---------------------------------------------------------------------------------------------
// Evaluation of a saved run

export interface EvalOptions {
  /** Evaluate on this data set instead of the run's (must have the same image shape and classes). */
  dataset?: string;
  dataDir?: string;
  testLimit?: number;
  batch?: number;
}

/** Result of `accelab eval`: a checkpoint evaluated on a data set. */
export interface EvalRunResult {
  kind: 'eval';
  run: string;
  model: { name: string; params: number };
  dataset: { name: string; shape: [number, number, number]; classNames: string[]; testCount: number };
  metrics: EvalResult;
  testAccuracy: number;
}

/**
 * The training config and input normalisation of a run folder holding checkpoint/: a train run's
 * config.json and result.json, or, for runs that derive a checkpoint from another (e.g. `compress
 * prune`), the training config and normalisation stored in the checkpoint's metadata.
 */
export function runTrainSetup(runDir: string): { config: TrainConfig; normalization: Normalization | null } {
  const cfgPath = join(runDir, 'config.json');
  const resPath = join(runDir, 'result.json');
  if (!existsSync(cfgPath) || !existsSync(resPath)) {
    throw new NotFoundError(`${runDir} is not a training run folder (no config.json/result.json): pass a folder written by \`accelab train\``);
  }
  const raw = readJson<Record<string, unknown>>(cfgPath);
  const saved = readJson<{ normalization?: Normalization }>(resPath);
  if (TrainConfigSchema.safeParse(raw).success) return { config: resolveTrainConfig(raw), normalization: saved.normalization ?? null };
  const meta = existsSync(join(runDir, 'checkpoint', 'model.json')) ? readModelMetadata(join(runDir, 'checkpoint')) : {};
  if (meta.config && TrainConfigSchema.safeParse(meta.config).success) {
    return { config: resolveTrainConfig(meta.config as Record<string, unknown>), normalization: (meta.normalization as Normalization | undefined) ?? saved.normalization ?? null };
  }
  // Neither: report the config.json's own validation error.
  return { config: resolveTrainConfig(raw), normalization: null };
}

/** Evaluates the checkpoint of run folder `runDir` on the test split. */
export async function runEval(runDir: string, o: EvalOptions = {}, progress: Progress = silentProgress): Promise<EvalRunResult> {
  const { config, normalization } = runTrainSetup(runDir);
  const model = await loadModel(join(runDir, 'checkpoint'));
  try {
    const name = o.dataset ?? config.dataset;
    const ds = await loadDataset(name, {
      dataDir: o.dataDir ?? config.dataDir,
      trainLimit: 1,
      testLimit: o.testLimit ?? (o.dataset ? undefined : config.testLimit),
      seed: config.seed,
      progress,
    });
    const inShape = model.inputs[0].shape.slice(1).join('x');
    if (inShape !== ds.shape.join('x')) {
      throw new NotFoundError(`the checkpoint expects ${inShape.replace(/x/g, '×')} images but '${name}' has ${ds.shape.join('×')}: pass --dataset with the same image shape`);
    }
    const norm = normalization ?? { mean: [0], std: [1] };
    const metrics: EvalResult = evaluate(model, ds.test, { shape: ds.shape, numClasses: ds.numClasses, classNames: ds.classNames }, norm, {
      batchSize: o.batch ?? 256,
      progress,
      label: 'evaluate',
    });
    return {
      kind: 'eval',
      run: runDir,
      model: { name: model.name, params: model.countParams() },
      dataset: { name: ds.name, shape: ds.shape, classNames: ds.classNames, testCount: ds.test.count },
      metrics,
      testAccuracy: metrics.accuracy,
    };
  } finally {
    model.dispose();
  }
}
