/**
 * SparseNN experiments (Zhu et al., DATE 2018): end-to-end training of a network with low-rank
 * output-sparsity predictors against the same network trained without them, and the cycle-level
 * accelerator model on the activations of the test set (SparseNN vs dense and input-sparsity-only
 * accelerators on the same resources), sweeps of predictor rank and PE count, and a quick run for
 * the tour. Each returns plain JSON; `write*` functions produce run folders.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { validate } from '../core/config.js';
import { initEngine, tf } from '../core/engine.js';
import { ConfigError, DataError, NotFoundError } from '../core/errors.js';
import { readJson, tableCsv, toCsv, writeFileAtomic, writeJsonAtomic, writeRunJson } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { loadDataset } from '../data/load.js';
import { toFloat } from '../data/pipeline.js';
import type { Dataset } from '../data/types.js';
import {
  type AcceleratorLayer,
  type Architecture,
  type ArchitectureSummary,
  type LayerTotals,
  profiledRowMap,
  SparseNNConfigSchema,
  SparseNNSimulator,
  sparseNNConfig,
  summarizeArchitecture,
} from '../hw/sparsenn/index.js';
import { loadModel, readModelMetadata, saveModel } from '../nn/checkpoint.js';
import { createModel } from '../nn/models.js';
import { accuracyOf, type EvalSet, type MatMulEngine } from '../nn/runtime/index.js';
import { tfMatMul } from '../nn/runtime/matmul-tf.js';
import { train } from '../nn/train.js';
import { type Workload, workloadFromModel } from '../nn/workload.js';
import {
  chooseRanks,
  initPredictors,
  type LayerPredictor,
  maskedForward,
  PREDICTOR_BIAS,
  type PredictorLayerStats,
  PredictorStatsCollector,
  predictableOps,
  summarizePredictorStats,
} from '../sparsity/index.js';
import { type JointTrainStats, TRAIN_METHODS, trainJoint } from '../sparsity/train.js';

/** Zoo models without batch norm (their workload maps back onto the model layer by layer). */
export const SPARSENN_MODELS = ['mlp-300-100', 'mlp-1000-500', 'lenet5', 'cnn-small'] as const;

// ---------------------------------------------------------------------------------------------
// Training

export const SparseNNTrainConfigSchema = z
  .object({
    model: z.enum(SPARSENN_MODELS).default('mlp-300-100'),
    dataset: z.string().default('fashion-mnist'),
    /** Plain training before the predictors are attached (both arms start from this network). */
    pretrainEpochs: z.number().int().min(1).max(100).default(3),
    lr: z.number().positive().max(1).default(1e-3),
    /** Joint training (network + predictors); the baseline gets the same epochs without predictors. */
    epochs: z.number().int().min(0).max(100).default(2),
    fineTuneLr: z.number().positive().max(1).default(3e-4),
    batchSize: z.number().int().min(1).max(4096).default(64),
    method: z.enum(TRAIN_METHODS).default('ste'),
    /** Per-layer overhead budget r·(K+N)/(K·N) that picks each layer's rank (largest rank within it). */
    overheadBudget: z.number().min(0).max(1).default(0.05),
    /** One rank for every ReLU layer (overrides the budget). */
    rank: z.number().int().min(0).optional(),
    /** Ranks by layer name (override both). */
    ranks: z.record(z.number().int().min(0)).optional(),
    predictorBias: z.enum(PREDICTOR_BIAS).default('layer'),
    threshold: z.number().default(0),
    steWindow: z.number().positive().default(1),
    auxWeight: z.number().min(0).default(0.1),
    auxTemperature: z.number().positive().default(1),
    positiveWeight: z.number().positive().default(2),
    l1: z.number().min(0).default(0),
    /**
     * Ranks of a sweep on the same pretrained network (one rank for every ReLU layer): the SVD-only
     * predictor at each rank, and, when `rankSweepEpochs` > 0, joint training for that many epochs.
     */
    rankSweep: z.array(z.number().int().min(1)).default([]),
    rankSweepEpochs: z.number().int().min(0).max(100).default(1),
    trainLimit: z.number().int().min(100).optional(),
    testLimit: z.number().int().min(10).default(10000),
    evalBatch: z.number().int().min(1).max(4096).default(200),
    seed: z.number().int().min(0).default(1),
    dataDir: z.string().optional(),
  })
  .strict();
export type SparseNNTrainConfig = z.output<typeof SparseNNTrainConfigSchema>;

/** Accuracy and predictor statistics of one network on the test images. */
export interface NetworkEval {
  accuracy: number;
  overhead: number;
  outputSparsity: number;
  predictedSparsity: number;
  falseNegativeRate: number;
  falsePositiveRate: number;
  perLayer: PredictorLayerStats[];
}

export interface SparseNNTrainResult {
  kind: 'sparsenn-train';
  config: SparseNNTrainConfig;
  model: string;
  dataset: string;
  trainImages: number;
  testImages: number;
  /** The SparseNN network (jointly trained, predictors on). */
  accuracy: number;
  /** The same network trained for the same epochs without predictors. */
  baselineAccuracy: number;
  /** (baseline − SparseNN) in points. */
  accuracyLossPoints: number;
  overhead: number;
  outputSparsity: number;
  predictedSparsity: number;
  falseNegativeRate: number;
  falsePositiveRate: number;
  /** Output sparsity of the baseline network's ReLU alone, over the layers that carry a predictor in the SparseNN network. */
  baselineOutputSparsity: number;
  ranks: { name: string; rank: number; k: number; n: number }[];
  perLayer: PredictorLayerStats[];
  baselinePerLayer: PredictorLayerStats[];
  /** The pretrained network and the conventional low-rank predictor (SVD, no joint training) on it. */
  pretrainAccuracy: number;
  svd: NetworkEval;
  rankSweep: RankSweepRow[];
  training: { pretrainSeconds: number; joint: JointTrainStats; baseline: JointTrainStats };
}

export interface RankSweepRow {
  rank: number;
  overhead: number;
  svdAccuracy: number;
  svdFalseNegativeRate: number;
  svdPredictedSparsity: number;
  /** After `rankSweepEpochs` of joint training (null when 0). */
  accuracy: number | null;
  falseNegativeRate: number | null;
  predictedSparsity: number | null;
}

/** What a training run hands to `writeTrainRun` besides its result. */
export interface SparseNNTrainArtifacts {
  workload: Workload;
  predictors: LayerPredictor[];
  baseline: Workload;
  shape: [number, number, number];
  numClasses: number;
}

function testSet(ds: Dataset, limit: number): EvalSet {
  const count = Math.min(limit, ds.test.count);
  return { x: toFloat(ds.test, ds.shape, { count, normalize: null }), labels: ds.test.labels, count };
}

/** Accuracy and per-layer predictor statistics of a network on an evaluation set. */
export function evaluateNetwork(
  wl: Workload,
  predictors: readonly LayerPredictor[],
  set: EvalSet,
  classes: number,
  o: { batchSize?: number; matmul?: MatMulEngine; progress?: Progress; label?: string } = {},
): NetworkEval {
  const batchSize = o.batchSize ?? 200;
  const per = set.x.length / set.count;
  const col = new PredictorStatsCollector();
  const progress = o.progress ?? silentProgress;
  let ok = 0;
  progress.start(o.label ?? 'evaluate', set.count);
  for (let s = 0; s < set.count; s += batchSize) {
    const b = Math.min(batchSize, set.count - s);
    const logits = maskedForward(wl, predictors, set.x.subarray(s * per, (s + b) * per), b, { matmul: o.matmul, capture: (c) => col.add(c) });
    ok += accuracyOf(logits, set.labels, s, b, classes);
    progress.tick(b);
  }
  progress.stop();
  const perLayer = col.stats();
  return { accuracy: ok / set.count, ...summarizePredictorStats(perLayer), perLayer };
}

/** A zoo model carrying a workload's weights (the workload came from the same architecture). */
function modelWithWeights(name: string, shape: [number, number, number], numClasses: number, wl: Workload): tf.LayersModel {
  const model = createModel(name as (typeof SPARSENN_MODELS)[number], { inputShape: [...shape], numClasses, seed: 0 });
  for (const op of wl.ops) {
    if (op.kind !== 'conv2d' && op.kind !== 'dense') continue;
    const layer = model.getLayer(op.name);
    const shapeW = op.kind === 'conv2d' ? [op.kernel[0], op.kernel[1], op.inShape[2], op.outShape[2]] : [op.inFeatures, op.outFeatures];
    const n = shapeW[shapeW.length - 1];
    const ts = [tf.tensor(op.weights, shapeW), tf.tensor1d(op.bias ?? new Float32Array(n))];
    layer.setWeights(ts);
    tf.dispose(ts);
  }
  return model;
}

/**
 * Pretrains the model, then trains it (a) jointly with SVD-initialised predictors and (b) alone for the
 * same epochs (the baseline); evaluates both, and the SVD-only predictors on the pretrained network.
 */
export async function runTrain(input: unknown, progress: Progress = silentProgress, data?: Dataset): Promise<{ result: SparseNNTrainResult; artifacts: SparseNNTrainArtifacts }> {
  const config = validate(SparseNNTrainConfigSchema, input, 'sparsenn train config');
  if (config.method === 'none') throw new ConfigError("sparsenn train config: field 'method' must be 'ste' or 'aux' ('none' is the baseline, trained anyway)");
  await initEngine();
  const ds = data ?? (await loadDataset(config.dataset, { dataDir: config.dataDir, trainLimit: config.trainLimit, seed: config.seed }));
  if (ds.test.count === 0) throw new DataError(`data set ${config.dataset} has no test images`);
  const model = createModel(config.model, { inputShape: [...ds.shape], numClasses: ds.numClasses, seed: config.seed });
  const pre = train(
    { dataset: ds, model, epochs: config.pretrainEpochs, optimizer: 'adam', lr: config.lr, batchSize: config.batchSize, seed: config.seed, evalEveryEpoch: false },
    progress,
  );
  const wl0 = workloadFromModel(model, pre.normalization);
  model.dispose();
  const test = testSet(ds, config.testLimit);
  const classes = ds.numClasses;
  const ev = (wl: Workload, p: readonly LayerPredictor[], label: string) =>
    evaluateNetwork(wl, p, test, classes, { batchSize: config.evalBatch, matmul: tfMatMul, progress, label });
  const ranks = chooseRanks(wl0, { overheadBudget: config.overheadBudget, rank: config.rank, ranks: config.ranks });
  const preds0 = initPredictors(wl0, ranks, { bias: config.predictorBias, threshold: config.threshold });
  const pretrained = ev(wl0, [], 'pretrained');
  const svdEval = ev(wl0, preds0, 'SVD predictors');
  const trainSet: EvalSet = { x: toFloat(ds.train, ds.shape, { normalize: null }), labels: ds.train.labels, count: ds.train.count };
  const common = {
    epochs: config.epochs,
    lr: config.fineTuneLr,
    batchSize: config.batchSize,
    seed: config.seed + 1,
    steWindow: config.steWindow,
    auxWeight: config.auxWeight,
    auxTemperature: config.auxTemperature,
    positiveWeight: config.positiveWeight,
    l1: config.l1,
  };
  const joint = trainJoint(wl0, preds0, trainSet, classes, { ...common, method: config.method }, progress);
  const base = trainJoint(wl0, [], trainSet, classes, { ...common, method: 'none', l1: 0 }, progress);
  const sn = ev(joint.workload, joint.predictors, 'SparseNN');
  const bl = ev(base.workload, [], 'baseline');
  const rankSweep: RankSweepRow[] = config.rankSweep.map((rank) => {
    const p = initPredictors(wl0, chooseRanks(wl0, { overheadBudget: 0, rank }), { bias: config.predictorBias, threshold: config.threshold });
    const svdR = ev(wl0, p, `SVD rank ${rank}`);
    let jr: NetworkEval | null = null;
    if (config.rankSweepEpochs > 0) {
      const j = trainJoint(wl0, p, trainSet, classes, { ...common, epochs: config.rankSweepEpochs, method: config.method }, progress);
      jr = ev(j.workload, j.predictors, `joint rank ${rank}`);
    }
    return {
      rank,
      overhead: svdR.overhead,
      svdAccuracy: svdR.accuracy,
      svdFalseNegativeRate: svdR.falseNegativeRate,
      svdPredictedSparsity: svdR.predictedSparsity,
      accuracy: jr?.accuracy ?? null,
      falseNegativeRate: jr?.falseNegativeRate ?? null,
      predictedSparsity: jr?.predictedSparsity ?? null,
    };
  });
  const result: SparseNNTrainResult = {
    kind: 'sparsenn-train',
    config,
    model: config.model,
    dataset: ds.name,
    trainImages: ds.train.count,
    testImages: test.count,
    accuracy: sn.accuracy,
    baselineAccuracy: bl.accuracy,
    accuracyLossPoints: (bl.accuracy - sn.accuracy) * 100,
    overhead: sn.overhead,
    outputSparsity: sn.outputSparsity,
    predictedSparsity: sn.predictedSparsity,
    falseNegativeRate: sn.falseNegativeRate,
    falsePositiveRate: sn.falsePositiveRate,
    baselineOutputSparsity: reluSparsity(bl.perLayer, new Set(joint.predictors.map((p) => p.opIndex))),
    ranks: predictableOps(wl0).map((i) => {
      const l = sn.perLayer.find((p) => p.opIndex === i) as PredictorLayerStats;
      return { name: l.name, rank: ranks.get(i) ?? 0, k: l.k, n: l.n };
    }),
    perLayer: sn.perLayer,
    baselinePerLayer: bl.perLayer,
    pretrainAccuracy: pretrained.accuracy,
    svd: svdEval,
    rankSweep,
    training: { pretrainSeconds: pre.trainSeconds, joint: joint.stats, baseline: base.stats },
  };
  return { result, artifacts: { workload: joint.workload, predictors: joint.predictors, baseline: base.workload, shape: ds.shape, numClasses: ds.numClasses } };
}

/** Output-weighted ReLU sparsity over the given layers (those that carry a predictor in the SparseNN network). */
function reluSparsity(layers: readonly PredictorLayerStats[], ops: ReadonlySet<number>): number {
  const ls = layers.filter((l) => ops.has(l.opIndex));
  const outs = ls.reduce((s, l) => s + l.outputs, 0);
  return outs > 0 ? ls.reduce((s, l) => s + l.reluSparsity * l.outputs, 0) / outs : 0;
}

interface PredictorFile {
  predictors: { opIndex: number; name: string; k: number; n: number; rank: number; threshold: number; v: number[]; u: number[]; bias: number[] | null }[];
}

/** Writes config.json, result.json, layers.csv, checkpoint/ (SparseNN network), baseline/ and predictors.json. */
export async function writeTrainRun(dir: string, r: SparseNNTrainResult, a: SparseNNTrainArtifacts): Promise<void> {
  writeRunJson(dir, r.config, r);
  const cols = ['network', 'layer', 'k', 'n', 'rank', 'overhead', 'outputSparsity', 'reluSparsity', 'predictedSparsity', 'falseNegativeRate', 'falsePositiveRate', 'inputSparsity'];
  const rows = (net: string, ls: PredictorLayerStats[]) =>
    ls.map((l) => [net, l.name, l.k, l.n, l.rank, l.overhead, l.outputSparsity, l.reluSparsity, l.predictedSparsity, l.falseNegativeRate, l.falsePositiveRate, l.inputSparsity]);
  writeFileAtomic(join(dir, 'layers.csv'), toCsv(cols, [...rows('sparsenn', r.perLayer), ...rows('baseline', r.baselinePerLayer), ...rows('svd', r.svd.perLayer)]));
  if (r.rankSweep.length) {
    const rc = ['rank', 'overhead', 'svdAccuracy', 'svdFalseNegativeRate', 'svdPredictedSparsity', 'accuracy', 'falseNegativeRate', 'predictedSparsity'] as const;
    writeFileAtomic(join(dir, 'rank-sweep.csv'), tableCsv(rc, r.rankSweep));
  }
  const meta = { normalization: a.workload.normalization, model: r.model, dataset: r.dataset };
  for (const [sub, wl] of [
    ['checkpoint', a.workload],
    ['baseline', a.baseline],
  ] as const) {
    const m = modelWithWeights(r.model, a.shape, a.numClasses, wl);
    await saveModel(m, join(dir, sub), meta);
    m.dispose();
  }
  const file: PredictorFile = {
    predictors: a.predictors.map((p) => ({
      opIndex: p.opIndex,
      name: p.name,
      k: p.k,
      n: p.n,
      rank: p.rank,
      threshold: p.threshold,
      v: Array.from(p.v),
      u: Array.from(p.u),
      bias: p.bias ? Array.from(p.bias) : null,
    })),
  };
  writeJsonAtomic(join(dir, 'predictors.json'), file);
}

/** The SparseNN network, its predictors and the baseline network of a training run folder. */
export async function loadTrainRun(dir: string): Promise<{ workload: Workload; predictors: LayerPredictor[]; baseline: Workload | null; result: SparseNNTrainResult | null }> {
  const predPath = join(dir, 'predictors.json');
  if (!existsSync(join(dir, 'checkpoint')) || !existsSync(predPath))
    throw new NotFoundError(`${dir} is not a sparsenn training run (checkpoint/ or predictors.json missing): create one with \`accelab sparsenn train --out ${dir}\``);
  const load = async (sub: string): Promise<Workload> => {
    const d = join(dir, sub);
    const m = await loadModel(d);
    const meta = readModelMetadata(d) as { normalization?: { mean: number[]; std: number[] } };
    const wl = workloadFromModel(m, meta.normalization ?? null);
    m.dispose();
    return wl;
  };
  const workload = await load('checkpoint');
  const baseline = existsSync(join(dir, 'baseline')) ? await load('baseline') : null;
  let file: PredictorFile;
  try {
    file = JSON.parse(readFileSync(predPath, 'utf8')) as PredictorFile;
  } catch (e) {
    throw new DataError(`${predPath}: not valid JSON (${(e as Error).message})`);
  }
  const predictors = file.predictors.map((p) => {
    const op = workload.ops[p.opIndex];
    if (!op || op.name !== p.name || p.v.length !== p.k * p.rank || p.u.length !== p.rank * p.n)
      throw new DataError(`${predPath}: predictor '${p.name}' does not match the network in checkpoint/`);
    return { ...p, v: Float32Array.from(p.v), u: Float32Array.from(p.u), bias: p.bias ? Float32Array.from(p.bias) : null };
  });
  const resultPath = join(dir, 'result.json');
  const result = existsSync(resultPath) ? readJson<SparseNNTrainResult>(resultPath) : null;
  return { workload, predictors, baseline, result };
}

// ---------------------------------------------------------------------------------------------
// Accelerator simulation

export const SparseNNSimulateConfigSchema = z
  .object({
    /** A run folder of `sparsenn train`. */
    checkpoint: z.string(),
    dataset: z.string().optional(),
    testLimit: z.number().int().min(1).max(100000).default(1000),
    /** Network the dense and input-sparse baselines run: the baseline network of the run, or the SparseNN network without its predictors. */
    baselineNetwork: z.enum(['baseline', 'sparsenn']).default('baseline'),
    /**
     * Placement of a predicted layer's output rows on the PEs: 'interleaved' (row i on PE i mod P) or
     * 'profiled' (offline, from how often each row was predicted active on `profileImages` training
     * images: `profiledRowMap`). The baselines compute every row, so placement does not change them.
     */
    rowPlacement: z.enum(['interleaved', 'profiled']).default('profiled'),
    profileImages: z.number().int().min(1).max(60000).default(500),
    accelerator: SparseNNConfigSchema.default({}),
    /** PE counts of the sweep (empty: none). */
    peSweep: z.array(z.number().int().min(1).max(4096)).default([]),
    batchSize: z.number().int().min(1).max(4096).default(100),
    dataDir: z.string().optional(),
  })
  .strict();
export type SparseNNSimulateConfig = z.output<typeof SparseNNSimulateConfigSchema>;

export interface SimLayerRow {
  name: string;
  k: number;
  n: number;
  rank: number;
  rowsPerExample: number;
  inputSparsity: number;
  predictedSparsity: number;
  cyclesDense: number;
  cyclesInputSparse: number;
  cyclesSparseNN: number;
  /** cyclesInputSparse / cyclesSparseNN. */
  speedupVsInputSparsity: number;
  energyDensePj: number;
  energyInputSparsePj: number;
  energySparseNNPj: number;
  /** Share of the SparseNN layer's cycles spent predicting. */
  predictionShare: number;
  /** Predictor MACs / feed-forward MACs of the input-sparse baseline on this layer. */
  measuredOverhead: number;
  loadImbalance: number;
  loadImbalanceInputSparse: number;
  nocUtilization: number;
  stallCycles: number;
}

export interface PeSweepRow {
  pes: number;
  speedupVsInputSparsity: number;
  throughputGainVsInputSparsity: number;
  powerRatioVsInputSparsity: number;
  energyRatioVsInputSparsity: number;
  speedupVsDense: number;
}

export interface SparseNNSimulateResult {
  kind: 'sparsenn-simulate';
  config: SparseNNSimulateConfig;
  model: string;
  dataset: string;
  images: number;
  accuracy: number;
  baselineAccuracy: number;
  /** cycles(input-sparse) / cycles(SparseNN) − 1: the paper's "throughput improvement". */
  throughputGainVsInputSparsity: number;
  speedupVsInputSparsity: number;
  /** power(SparseNN) / power(input-sparse); the paper reports ≈ 0.5. */
  powerRatioVsInputSparsity: number;
  energyRatioVsInputSparsity: number;
  speedupVsDense: number;
  powerRatioVsDense: number;
  energyRatioVsDense: number;
  architectures: ArchitectureSummary[];
  perLayer: SimLayerRow[];
  peSweep: PeSweepRow[];
  /** Simulated accelerator cycles (all three architectures) per wall-clock second. */
  simulatedCyclesPerSecond: number;
  seconds: number;
}

const ARCHS: Architecture[] = ['dense', 'input-sparse', 'sparsenn'];

/** How often each output of each predicted layer is predicted active, over `set` (opIndex → frequency per output). */
export function activeFrequencies(
  wl: Workload,
  predictors: readonly LayerPredictor[],
  set: EvalSet,
  o: { batchSize?: number; matmul?: MatMulEngine } = {},
): Map<number, Float64Array> {
  const out = new Map<number, Float64Array>();
  const rows = new Map<number, number>();
  const per = set.x.length / set.count;
  const bs = o.batchSize ?? 100;
  for (let s = 0; s < set.count; s += bs) {
    const b = Math.min(bs, set.count - s);
    maskedForward(wl, predictors, set.x.subarray(s * per, (s + b) * per), b, {
      matmul: o.matmul,
      capture: (c) => {
        if (!c.mask) return;
        let f = out.get(c.opIndex);
        if (!f) {
          f = new Float64Array(c.n);
          out.set(c.opIndex, f);
        }
        for (let e = 0; e < c.mask.length; e++) f[e % c.n] += c.mask[e];
        rows.set(c.opIndex, (rows.get(c.opIndex) ?? 0) + c.m);
      },
    });
  }
  for (const [i, f] of out) {
    const m = rows.get(i) ?? 1;
    for (let j = 0; j < f.length; j++) f[j] /= m;
  }
  return out;
}

function acceleratorLayers(
  wl: Workload,
  predictors: readonly LayerPredictor[],
  pes: number,
  frequency: Map<number, Float64Array> | null,
): { layers: AcceleratorLayer[]; opIndex: number[] } {
  const rank = new Map(predictors.map((p) => [p.opIndex, p.rank]));
  const layers: AcceleratorLayer[] = [];
  const opIndex: number[] = [];
  wl.ops.forEach((op, i) => {
    if (op.kind !== 'conv2d' && op.kind !== 'dense') return;
    const k = op.kind === 'conv2d' ? op.kernel[0] * op.kernel[1] * op.inShape[2] : op.inFeatures;
    const n = op.kind === 'conv2d' ? op.outShape[2] : op.outFeatures;
    const f = frequency?.get(i);
    layers.push({ name: op.name, k, n, rank: rank.get(i) ?? 0, ...(f ? { rowToPe: profiledRowMap(f, pes) } : {}) });
    opIndex.push(i);
  });
  return { layers, opIndex };
}

/**
 * Runs the networks on `set` and feeds every layer's GEMM rows (inputs as the hardware sees them,
 * predicted masks) to simulators of each architecture at each PE count. Returns the simulators by PE count.
 */
export function simulateOnSet(
  sn: { workload: Workload; predictors: readonly LayerPredictor[] },
  baseline: Workload,
  set: EvalSet,
  classes: number,
  accel: ReturnType<typeof sparseNNConfig>,
  peCounts: readonly number[],
  o: { batchSize?: number; matmul?: MatMulEngine; progress?: Progress; frequency?: Map<number, Float64Array> | null } = {},
): { sims: Map<number, Map<Architecture, SparseNNSimulator>>; accuracy: number; baselineAccuracy: number; stats: PredictorLayerStats[] } {
  const { opIndex } = acceleratorLayers(sn.workload, sn.predictors, 1, null);
  const layerOf = new Map(opIndex.map((op, li) => [op, li]));
  const sims = new Map<number, Map<Architecture, SparseNNSimulator>>();
  for (const pes of peCounts) {
    const { layers } = acceleratorLayers(sn.workload, sn.predictors, pes, o.frequency ?? null);
    sims.set(pes, new Map(ARCHS.map((a) => [a, new SparseNNSimulator({ ...accel, pes }, a, layers)])));
  }
  const per = set.x.length / set.count;
  const bs = o.batchSize ?? 100;
  const progress = o.progress ?? silentProgress;
  const col = new PredictorStatsCollector();
  let ok = 0;
  let okBase = 0;
  progress.start('simulate', set.count);
  for (let s = 0; s < set.count; s += bs) {
    const b = Math.min(bs, set.count - s);
    const x = set.x.subarray(s * per, (s + b) * per);
    const logits = maskedForward(sn.workload, sn.predictors, x, b, {
      matmul: o.matmul,
      capture: (c) => {
        col.add(c);
        const li = layerOf.get(c.opIndex) as number;
        for (const m of sims.values()) (m.get('sparsenn') as SparseNNSimulator).addRows(li, c.hwInput, c.m, c.mask);
      },
    });
    ok += accuracyOf(logits, set.labels, s, b, classes);
    const bl = maskedForward(baseline, [], x, b, {
      matmul: o.matmul,
      capture: (c) => {
        const li = layerOf.get(c.opIndex) as number;
        for (const m of sims.values()) {
          (m.get('dense') as SparseNNSimulator).addRows(li, c.hwInput, c.m, null);
          (m.get('input-sparse') as SparseNNSimulator).addRows(li, c.hwInput, c.m, null);
        }
      },
    });
    okBase += accuracyOf(bl, set.labels, s, b, classes);
    progress.tick(b);
  }
  progress.stop();
  return { sims, accuracy: ok / set.count, baselineAccuracy: okBase / set.count, stats: col.stats() };
}

function layerRows(m: Map<Architecture, SparseNNSimulator>, stats: PredictorLayerStats[], examples: number): SimLayerRow[] {
  const t = (a: Architecture): LayerTotals[] => (m.get(a) as SparseNNSimulator).layerTotals();
  const e = (a: Architecture): Map<string, number> => new Map((m.get(a) as SparseNNSimulator).energy().byLayer.map((r) => [r.layer, r.energyPj]));
  const [d, i, s] = [t('dense'), t('input-sparse'), t('sparsenn')];
  const [ed, ei, es] = [e('dense'), e('input-sparse'), e('sparsenn')];
  return s.map((L, li) => {
    const st = stats.find((x) => x.name === L.name);
    return {
      name: L.name,
      k: L.k,
      n: L.n,
      rank: L.rank,
      rowsPerExample: L.rows / examples,
      inputSparsity: st?.inputSparsity ?? 0,
      predictedSparsity: st?.predictedSparsity ?? 0,
      cyclesDense: d[li].cycles / examples,
      cyclesInputSparse: i[li].cycles / examples,
      cyclesSparseNN: L.cycles / examples,
      speedupVsInputSparsity: L.cycles > 0 ? i[li].cycles / L.cycles : 1,
      energyDensePj: (ed.get(L.name) ?? 0) / examples,
      energyInputSparsePj: (ei.get(L.name) ?? 0) / examples,
      energySparseNNPj: (es.get(L.name) ?? 0) / examples,
      predictionShare: L.cycles > 0 ? L.predictionCycles / L.cycles : 0,
      measuredOverhead: i[li].macs > 0 ? L.predictorMacs / i[li].macs : 0,
      loadImbalance: L.loadImbalance,
      loadImbalanceInputSparse: i[li].loadImbalance,
      nocUtilization: L.nocUtilization,
      stallCycles: L.stallCycles / examples,
    };
  });
}

function compare(m: Map<Architecture, SparseNNSimulator>, examples: number): { d: ArchitectureSummary; i: ArchitectureSummary; s: ArchitectureSummary } {
  return {
    d: summarizeArchitecture(m.get('dense') as SparseNNSimulator, examples),
    i: summarizeArchitecture(m.get('input-sparse') as SparseNNSimulator, examples),
    s: summarizeArchitecture(m.get('sparsenn') as SparseNNSimulator, examples),
  };
}

/** Simulates the three accelerators on the test activations of a training run. */
export async function runSimulate(input: unknown, progress: Progress = silentProgress, data?: Dataset): Promise<SparseNNSimulateResult> {
  const config = validate(SparseNNSimulateConfigSchema, input, 'sparsenn simulate config');
  const accel = sparseNNConfig(config.accelerator);
  await initEngine();
  const run = await loadTrainRun(config.checkpoint);
  const dsName = config.dataset ?? run.result?.dataset ?? 'fashion-mnist';
  const ds = data ?? (await loadDataset(dsName, { dataDir: config.dataDir, testLimit: config.testLimit, trainLimit: config.profileImages }));
  const set = testSet(ds, config.testLimit);
  let frequency: Map<number, Float64Array> | null = null;
  if (config.rowPlacement === 'profiled') {
    const count = Math.min(config.profileImages, ds.train.count);
    frequency = activeFrequencies(
      run.workload,
      run.predictors,
      { x: toFloat(ds.train, ds.shape, { count, normalize: null }), labels: ds.train.labels, count },
      { batchSize: config.batchSize, matmul: tfMatMul },
    );
  }
  const baseline = config.baselineNetwork === 'baseline' && run.baseline ? run.baseline : run.workload;
  const pes = [accel.pes, ...config.peSweep.filter((p) => p !== accel.pes)];
  const t0 = performance.now();
  const sim = simulateOnSet(run, baseline, set, ds.numClasses, accel, pes, { batchSize: config.batchSize, matmul: tfMatMul, progress, frequency });
  const seconds = (performance.now() - t0) / 1000;
  const main = sim.sims.get(accel.pes) as Map<Architecture, SparseNNSimulator>;
  const { d, i, s } = compare(main, set.count);
  const peSweep: PeSweepRow[] = config.peSweep.map((p) => {
    const c = compare(sim.sims.get(p) as Map<Architecture, SparseNNSimulator>, set.count);
    return {
      pes: p,
      speedupVsInputSparsity: c.i.cycles / c.s.cycles,
      throughputGainVsInputSparsity: c.i.cycles / c.s.cycles - 1,
      powerRatioVsInputSparsity: c.s.powerW / c.i.powerW,
      energyRatioVsInputSparsity: c.s.energyPj / c.i.energyPj,
      speedupVsDense: c.d.cycles / c.s.cycles,
    };
  });
  let cycles = 0;
  for (const m of sim.sims.values()) for (const x of m.values()) cycles += x.layerTotals().reduce((t, l) => t + l.cycles, 0);
  return {
    kind: 'sparsenn-simulate',
    config,
    model: run.workload.name,
    dataset: ds.name,
    images: set.count,
    accuracy: sim.accuracy,
    baselineAccuracy: sim.baselineAccuracy,
    throughputGainVsInputSparsity: i.cycles / s.cycles - 1,
    speedupVsInputSparsity: i.cycles / s.cycles,
    powerRatioVsInputSparsity: s.powerW / i.powerW,
    energyRatioVsInputSparsity: s.energyPj / i.energyPj,
    speedupVsDense: d.cycles / s.cycles,
    powerRatioVsDense: s.powerW / d.powerW,
    energyRatioVsDense: s.energyPj / d.energyPj,
    architectures: [d, i, s],
    perLayer: layerRows(main, sim.stats, set.count),
    peSweep,
    simulatedCyclesPerSecond: cycles / seconds,
    seconds,
  };
}

export function writeSimulateRun(dir: string, r: SparseNNSimulateResult): void {
  writeRunJson(dir, r.config, r);
  const cols = [
    'layer',
    'k',
    'n',
    'rank',
    'rowsPerExample',
    'inputSparsity',
    'predictedSparsity',
    'cyclesDense',
    'cyclesInputSparse',
    'cyclesSparseNN',
    'speedupVsInputSparsity',
    'energyDensePj',
    'energyInputSparsePj',
    'energySparseNNPj',
    'predictionShare',
    'measuredOverhead',
    'loadImbalance',
    'loadImbalanceInputSparse',
    'nocUtilization',
    'stallCycles',
  ] as const;
  writeFileAtomic(
    join(dir, 'layers.csv'),
    toCsv(
      cols,
      r.perLayer.map((l) => cols.map((c) => (c === 'layer' ? l.name : l[c]))),
    ),
  );
  writeFileAtomic(
    join(dir, 'architectures.csv'),
    toCsv(
      ['architecture', 'cyclesPerExample', 'throughputPerS', 'energyPerExamplePj', 'powerW', 'macs', 'predictorMacs'],
      r.architectures.map((a) => [a.arch, a.cyclesPerExample, a.throughputPerS, a.energyPerExamplePj, a.powerW, a.macs, a.predictorMacs]),
    ),
  );
  if (r.peSweep.length)
    writeFileAtomic(
      join(dir, 'pe-sweep.csv'),
      toCsv(
        ['pes', 'speedupVsInputSparsity', 'throughputGainVsInputSparsity', 'powerRatioVsInputSparsity', 'energyRatioVsInputSparsity', 'speedupVsDense'],
        r.peSweep.map((p) => [p.pes, p.speedupVsInputSparsity, p.throughputGainVsInputSparsity, p.powerRatioVsInputSparsity, p.energyRatioVsInputSparsity, p.speedupVsDense]),
      ),
    );
}

// ---------------------------------------------------------------------------------------------
// Quick run for the tour

export interface SparseNNQuickResult {
  kind: 'sparsenn-quick';
  train: SparseNNTrainResult | null;
  simulate: SparseNNSimulateResult | null;
  skipped: string | null;
}

/**
 * Tour version: mlp-300-100 pretrained one epoch on 2,000 Fashion-MNIST images, one joint epoch,
 * evaluated on 200 test images, then the accelerator model (64 PEs) on 100 of them; skipped with a
 * reason when the data is absent.
 */
export async function quickRun(o: { seed?: number; progress?: Progress; dataDir?: string; runDir: string }): Promise<SparseNNQuickResult> {
  const seed = o.seed ?? 1;
  const progress = o.progress ?? silentProgress;
  await initEngine();
  let ds: Dataset;
  try {
    ds = await loadDataset('fashion-mnist', { trainLimit: 2000, testLimit: 200, seed, dataDir: o.dataDir });
  } catch (e) {
    if (!(e instanceof DataError || e instanceof NotFoundError)) throw e;
    return { kind: 'sparsenn-quick', train: null, simulate: null, skipped: e.message };
  }
  const t = await runTrain({ model: 'mlp-300-100', pretrainEpochs: 1, epochs: 1, testLimit: 200, seed }, progress, ds);
  await writeTrainRun(o.runDir, t.result, t.artifacts);
  const simulate = await runSimulate({ checkpoint: o.runDir, testLimit: 100 }, progress, ds);
  return { kind: 'sparsenn-quick', train: t.result, simulate, skipped: null };
}
