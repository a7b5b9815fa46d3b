/**
 * The pruning recipe (`accelab compress prune`): a trained checkpoint (a run folder of `accelab
 * train` or of an earlier `compress prune`) in, a pruned and fine-tuned checkpoint out, with the
 * test accuracy before and after and the sparsity per layer. Result `kind: 'compress-prune'`.
 *
 * Methods (src/compress/finetune.ts):
 * - 'magnitude': gradual magnitude pruning (per layer or global) on Zhu & Gupta's cubic schedule
 *   over the first `rampFraction` of the steps, then fine-tuning with the masks fixed;
 * - 'nm': N:M structured masks (one shot) held fixed while fine-tuning;
 * - 'subword': 8-bit sign-magnitude codes per layer, `subword.fraction` of the nonzero subwords
 *   removed (one shot), fine-tuning under the subword constraint (straight-through estimator).
 *   Models with batch norm are folded first (the packing quantizes folded weights);
 * - 'packing': the mask of a packed format (budgeted, column combining, tight; words or subwords)
 *   held while fine-tuning, with the format's compression rate.
 * The zeros of the source checkpoint always stay zero, so methods chain (magnitude, then subword).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { validate } from '../core/config.js';
import { type EngineInfo, engineInfo, type tf } from '../core/engine.js';
import { ConfigError, NotFoundError } from '../core/errors.js';
import { readJson, toCsv, writeFileAtomic, writeJsonAtomic } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import {
  type FineTuneOptions,
  type FineTuneResult,
  fineTuneSubwords,
  fineTuneWithMasks,
  gradualPrune,
  intersectMasks,
  type LayerSparsity,
  bestModelPackingMasks,
  modelPackingMasks,
  nmMasks,
  packingLayers,
  type PruneStep,
  selectKernels,
  type SubwordLayer,
  type LayerOrders,
  SUBWORD_LAYER_FORMATS,
  subwordPacking,
  subwordRules,
  zeroMasks,
} from '../compress/finetune.js';
import { type PackingMethodSpec, packingCandidates, specLabel } from '../compress/masks.js';
import { fromKxN, quantizeSymmetric } from '../compress/matrix.js';
import { SHIFT_SELECTS } from '../compress/rates.js';
import { DEFAULT_SUBWORD, subwordsPerWeight } from '../compress/subword.js';
import { type NetworkOnArray, type PackedNetworkLayer, packedNetworkOnArray } from './compress.js';
import type { Dataset } from '../data/types.js';
import { loadModel, saveModel } from '../nn/checkpoint.js';
import { kernelSparsity } from '../nn/constraint.js';
import { foldBatchNorm, hasBatchNorm } from '../nn/fold.js';
import { type EpochRecord, type EvalResult, evaluate, type Normalization } from '../nn/train.js';
import { loadTrainData, runTrainSetup, type TrainConfig, trainOptions } from './train.js';

export const PRUNE_METHODS = ['magnitude', 'nm', 'subword', 'packing'] as const;
export const PACKING_FORMATS = ['budgeted', 'columnCombining', 'tight'] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];

export const PruneConfigSchema = z
  .object({
    /** Run folder of `accelab train` or `accelab compress prune` (holding checkpoint/). */
    checkpoint: z.string().min(1),
    method: z.enum(PRUNE_METHODS).default('magnitude'),
    /** magnitude: target sparsity of the pruned layers. */
    sparsity: z.number().min(0).lt(1).default(0.9),
    /** magnitude: 'layer' (every layer at `sparsity`) or 'global' (one threshold). */
    scope: z.enum(['layer', 'global']).default('layer'),
    /** Layers to prune (conv/dense layer names); empty = all. */
    layers: z.array(z.string()).default([]),
    /** magnitude: the sparsity ramps over this fraction of the steps. */
    rampFraction: z.number().gt(0).max(1).default(0.5),
    /** magnitude: steps between mask updates (default: 20 updates over the ramp). */
    pruneEvery: z.number().int().min(1).nullable().default(null),
    /** nm: keep N of every M consecutive reduction weights. */
    nm: z
      .object({ n: z.number().int().min(1), m: z.number().int().min(1) })
      .strict()
      .default({ n: 2, m: 4 }),
    /** subword: fraction of the nonzero 4-bit subwords of the 8-bit codes removed, rounding of the changed weights. */
    subword: z
      .object({ fraction: z.number().min(0).lt(1).default(0.5), rounding: z.enum(['nearest', 'truncate']).default('nearest') })
      .strict()
      .default({}),
    /**
     * packing: the mask of a packed format (compress/masks.ts) held while fine-tuning; with
     * `subwords` the budgeted/tight format packs the 4-bit subwords of the 8-bit codes.
     */
    packing: z
      .object({
        format: z.enum(PACKING_FORMATS).default('budgeted'),
        subwords: z.boolean().default(false),
        /** Array rows × columns; a tile holds `cols` output channels. */
        array: z
          .object({ rows: z.number().int().min(1), cols: z.number().int().min(1) })
          .strict()
          .default({ rows: 32, cols: 32 }),
        /** Multiplexer fan-in: group size (budgeted, tight) and column combining's α. */
        groupSize: z.number().int().min(1).max(1024).default(16),
        /** budgeted: slots per row per group (k). */
        slotsPerGroup: z.number().int().min(1).default(1),
        /** columnCombining: γ. */
        maxOverlap: z.number().min(0).max(1).default(0.05),
        search: z.enum(['anneal', 'greedy', 'identity']).default('anneal'),
        /**
         * Per-layer parameters: each layer gets, from the format's grid (compress/masks.ts
         * `packingCandidates`: group sizes 4–32, k 1–4 or γ 0–0.2), the highest-rate setting that prunes
         * at most this share of the layer's Σ|w|; groupSize/slotsPerGroup/maxOverlap are then unused.
         * null (default): the one setting above for every layer.
         */
        maxPrunedL1: z.number().min(0).max(1).nullable().default(null),
        /**
         * With `maxPrunedL1`: layers that prune nothing (allowance 0: their lossless setting or the
         * unpacked layer), e.g. a small classifier whose every weight counts.
         */
        losslessLayers: z.array(z.string().min(1)).default([]),
        /** Subwords: the shift select of a slot stored in its index, or implied by the select (compress/rates.ts). */
        subwordShift: z.enum(SHIFT_SELECTS).default('stored'),
        /**
         * Subwords: 'best' (default) stores each layer in whichever of its subword and word packings
         * (same setting or allowance) has the higher rate; 'all' stores every packed layer as subwords
         * (compress/finetune.ts `SubwordLayerFormats`).
         */
        subwordLayers: z.enum(SUBWORD_LAYER_FORMATS).default('best'),
        /**
         * Start each layer's permutation search from the source run's packing orders
         * (`packing-orders.json`, written by a packing run and carried by every later prune run) where
         * they cost no more than the greedy start: a repacking after further pruning then finds the
         * structure fine-tuning kept, which a search from scratch need not.
         */
        warmStart: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /** Fine-tuning (defaults: the source run's optimizer settings with a tenth of its learning rate). */
    epochs: z.number().int().min(1).max(1000).default(2),
    optimizer: z.enum(['sgd', 'adam']).optional(),
    lr: z.number().positive().max(10).optional(),
    momentum: z.number().min(0).max(0.999).optional(),
    weightDecay: z.number().min(0).max(1).optional(),
    lrSchedule: z.enum(['constant', 'cosine']).optional(),
    batch: z.number().int().min(1).max(4096).optional(),
    augment: z.boolean().optional(),
    trainLimit: z.number().int().min(1).optional(),
    testLimit: z.number().int().min(1).optional(),
    dataDir: z.string().optional(),
    evalBatch: z.number().int().min(1).default(256),
    /** Evaluate on the test split after every fine-tuning epoch (default) or only after the last one. */
    evalEveryEpoch: z.boolean().default(true),
    seed: z.number().int().min(0).default(1),
  })
  .strict();

export type PruneConfigInput = z.input<typeof PruneConfigSchema>;
export type PruneConfigParsed = z.output<typeof PruneConfigSchema>;

/** A resolved config: what config.json holds (every default filled in). */
export interface PruneConfig extends Omit<PruneConfigParsed, 'optimizer' | 'lr' | 'momentum' | 'weightDecay' | 'lrSchedule' | 'batch' | 'augment'> {
  optimizer: 'sgd' | 'adam';
  lr: number;
  momentum: number;
  weightDecay: number;
  lrSchedule: 'constant' | 'cosine';
  batch: number;
  augment: boolean;
}

export function parsePruneConfig(input: unknown): PruneConfigParsed {
  const c = validate(PruneConfigSchema, input, 'prune config');
  if (c.method === 'nm' && c.nm.n > c.nm.m) throw new ConfigError(`prune config: nm ${c.nm.n}:${c.nm.m} must keep N ≤ M`);
  const p = c.packing;
  if (c.method === 'packing') {
    if (p.subwords && p.format === 'columnCombining')
      throw new ConfigError("prune config: field 'packing.subwords' needs format budgeted or tight (column combining packs whole weights)");
    if (p.losslessLayers.length > 0 && p.maxPrunedL1 === null)
      throw new ConfigError("prune config: field 'packing.losslessLayers' needs 'packing.maxPrunedL1' (per-layer settings); set it, e.g. --max-pruned-l1 0.05");
    if (p.format === 'budgeted' && p.slotsPerGroup > p.groupSize)
      throw new ConfigError(`prune config: field 'packing.slotsPerGroup' ${p.slotsPerGroup} must be ≤ groupSize ${p.groupSize}`);
  }
  return c;
}

/** Allowance 0 for each of `names` (checked against the packed layers). */
function losslessOverrides(model: tf.LayersModel, layers: readonly string[], names: readonly string[]): Record<string, number> {
  const known = selectKernels(model, layers).map((k) => k.layer);
  const bad = names.filter((n) => !known.includes(n));
  if (bad.length > 0)
    throw new ConfigError(`prune config: field 'packing.losslessLayers': ${bad.join(', ')} is not a packed conv/dense layer of this model; use one of ${known.join(', ')}`);
  return Object.fromEntries(names.map((n) => [n, 0]));
}

/** The fine-tuned model's packed layers (8-bit codes as the packing quantizes) on the array, against dense. */
function onArray(
  model: tf.LayersModel,
  layers: readonly string[],
  packed: readonly Pick<PackedNetworkLayer, 'name' | 'spec' | 'rowOrder' | 'colOrder' | 'ccGroups' | 'subwords' | 'shiftSelect'>[],
  array: { rows: number; cols: number },
): NetworkOnArray {
  const byName = new Map(packed.map((p) => [p.name, p]));
  const out: PackedNetworkLayer[] = [];
  for (const l of packingLayers(model, layers)) {
    const p = byName.get(l.name);
    if (!p) continue;
    const { codes } = quantizeSymmetric(Float32Array.from(l.weights), 8);
    out.push({ ...p, vectors: l.vectors ?? 1, codes: fromKxN(codes, l.k, l.n) });
  }
  return packedNetworkOnArray(out, array);
}

/**
 * Fills the defaults from the source run: its data limits, optimizer, momentum, weight decay,
 * schedule, batch and augmentation, and a tenth of its learning rate. (Synthetic data sets are
 * generated with the source run's seed, so they are the same images.)
 */
export function resolvePruneConfig(c: PruneConfigParsed, source: TrainConfig): PruneConfig {
  return {
    ...c,
    trainLimit: c.trainLimit ?? source.trainLimit,
    testLimit: c.testLimit ?? source.testLimit,
    optimizer: c.optimizer ?? source.optimizer,
    lr: c.lr ?? +(source.lr / 10).toPrecision(3),
    momentum: c.momentum ?? source.momentum,
    weightDecay: c.weightDecay ?? source.weightDecay,
    lrSchedule: c.lrSchedule ?? source.lrSchedule,
    batch: c.batch ?? source.batch,
    augment: c.augment ?? source.augment,
  };
}

export interface PruneLayer extends LayerSparsity {
  /** Exact zeros before pruning. */
  zerosBefore: number;
  /** Whether the method pruned this layer. */
  pruned: boolean;
}

export interface AccuracyRecord {
  accuracy: number;
  loss: number;
  /** Test images evaluated. */
  testCount: number;
}

export interface PruneResult {
  kind: 'compress-prune';
  config: PruneConfig;
  source: { run: string; model: string; dataset: string; trainConfig: TrainConfig };
  /** The input normalisation the checkpoint expects (as in a train run's result). */
  normalization: Normalization;
  dataset: { name: string; trainCount: number; testCount: number };
  /** Batch norm folded into the preceding layers before fine-tuning (subword method). */
  foldedBatchNorm: boolean;
  before: AccuracyRecord;
  after: AccuracyRecord;
  /** after − before, in percentage points. */
  accuracyChangePts: number;
  layers: PruneLayer[];
  /** Zeros / weights over the pruned layers. */
  sparsity: number;
  /** magnitude: mask updates and schedule. */
  schedule: { startStep: number; endStep: number; pruneEvery: number; initialSparsity: number; finalSparsity: number } | null;
  pruneSteps: PruneStep[];
  /** packing: the format's compression rate (every bit counted, and value bits only) and what packing pruned. */
  packing: PackingSummary | null;
  /** subword: per layer subwords before/after pruning, and the constraint check after fine-tuning. */
  subwords: (Omit<SubwordLayer, 'patterns'> & { subwordsAfterFineTune: number })[] | null;
  subwordViolations: number | null;
  epochs: Omit<EpochRecord, 'confusion' | 'perClassAccuracy'>[];
  trainSeconds: number;
  seconds: number;
  engine: EngineInfo | null;
  createdAt: string;
}

export interface PackingLayerSummary {
  layer: string;
  /** The packing setting of the layer (e.g. "budgeted g=16 k=2"). */
  setting?: string;
  /** Subword packing: whether the layer is stored as subwords or as 8-bit words (`subwordLayers` 'best'). */
  format?: 'subwords' | 'words';
  /** Share of the layer's Σ|w| (subwords: Σ|subword contribution|) that packing pruned. */
  prunedL1Share?: number;
  rate: number;
  rateNoIndex: number;
  slots: number;
  /** Nonzero weights (or subwords) before packing and those packing pruned. */
  nonzeros: number;
  pruned: number;
}

export interface PackingSummary {
  format: (typeof PACKING_FORMATS)[number];
  /** The fine-tuned packed layers against the dense layers on the same array (analytical mode, per image). */
  array: NetworkOnArray;
  /** Per-layer settings chosen within this pruned share of Σ|w| (null: one setting for every layer). */
  maxPrunedL1?: number | null;
  subwords: boolean;
  /** Layers whose search could start from the source run's packing orders (`warmStart`). */
  warmStartLayers: number;
  rate: number;
  rateNoIndex: number;
  denseBits: number;
  packedBits: number;
  nonzeros: number;
  pruned: number;
  layers: PackingLayerSummary[];
}

export interface PruneRun {
  config: PruneConfig;
  result: PruneResult;
  model: tf.LayersModel;
  /** Packing orders to store with the run: this run's packed layers, the source's for the others. */
  orders: LayerOrders[];
}

/** The run-folder file holding a packing's orders (warm starts of a later packing). */
export const PACKING_ORDERS_FILE = 'packing-orders.json';

const ordersSchema = z.object({
  kind: z.literal('packing-orders'),
  layers: z.array(
    z.object({
      layer: z.string(),
      columns: z.enum(['words', 'subwords']),
      rowOrder: z.array(z.number().int().min(0)),
      colOrder: z.array(z.number().int().min(0)),
    }),
  ),
});

/** The packing orders stored in a run folder (none when it has no `packing-orders.json`). */
export function readPackingOrders(runDir: string): LayerOrders[] {
  const path = join(runDir, PACKING_ORDERS_FILE);
  if (!existsSync(path)) return [];
  const o = validate(ordersSchema, readJson(path), path);
  return o.layers.map((l) => ({ ...l, rowOrder: Int32Array.from(l.rowOrder), colOrder: Int32Array.from(l.colOrder) }));
}

/** The source's orders of the packed layers, checked against their shapes (keyed by layer). */
function checkedStarts(model: tf.LayersModel, layers: readonly string[], orders: readonly LayerOrders[], runDir: string): Map<string, LayerOrders> {
  // K×N of each kernel from its shape (HWIO or in×out): the reduction size and the outputs.
  const shapes = new Map(selectKernels(model, layers).map((k) => [k.layer, { k: k.shape.slice(0, -1).reduce((a, b) => a * b, 1), n: k.shape[k.shape.length - 1] }]));
  const perWeight = subwordsPerWeight(DEFAULT_SUBWORD);
  const out = new Map<string, LayerOrders>();
  for (const o of orders) {
    const l = shapes.get(o.layer);
    if (!l) continue;
    const cols = o.columns === 'words' ? l.k : l.k * perWeight;
    if (o.rowOrder.length !== l.n || o.colOrder.length !== cols)
      throw new ConfigError(
        `${join(runDir, PACKING_ORDERS_FILE)}: layer '${o.layer}' has orders for ${o.rowOrder.length}×${o.colOrder.length} but its ${o.columns} matrix is ${l.n}×${cols}; pass --no-warm-start to search from scratch`,
      );
    out.set(o.layer, o);
  }
  return out;
}

/** This run's orders replace the source's for the same layers; the source's others are carried. */
function mergeOrders(source: readonly LayerOrders[], own: readonly LayerOrders[]): LayerOrders[] {
  const mine = new Set(own.map((o) => o.layer));
  return [...source.filter((o) => !mine.has(o.layer)), ...own];
}

function accuracyOf(e: EvalResult, count: number): AccuracyRecord {
  return { accuracy: e.accuracy, loss: e.loss, testCount: count };
}

/** Number of nonzero subwords of the 8-bit per-layer codes of a model's layers. */
function subwordsNow(model: tf.LayersModel, layers: readonly SubwordLayer[]): Map<string, number> {
  return new Map(subwordRules(model, { fraction: 0, layers: layers.map((l) => l.layer) }).map((l) => [l.layer, l.subwordsBefore]));
}

/** Loads the checkpoint and data, prunes and fine-tunes. The caller disposes `model`. */
export async function runPrune(input: PruneConfigInput | Record<string, unknown>, progress: Progress = silentProgress, data?: Dataset): Promise<PruneRun> {
  const t0 = performance.now();
  const parsed = parsePruneConfig(input);
  if (!existsSync(join(parsed.checkpoint, 'checkpoint', 'model.json')))
    throw new NotFoundError(`${parsed.checkpoint} has no checkpoint/model.json: pass a run folder written by \`accelab train\` or \`accelab compress prune\``);
  const { config: source, normalization: norm } = runTrainSetup(parsed.checkpoint);
  const config = resolvePruneConfig(parsed, source);
  if (!norm) throw new NotFoundError(`${parsed.checkpoint}: no input normalisation found (checkpoint metadata or result.json)`);
  const dataset =
    data ??
    (await loadTrainData(
      { dataset: source.dataset, dataDir: config.dataDir ?? source.dataDir, trainLimit: config.trainLimit, testLimit: config.testLimit, seed: source.seed },
      progress,
    ));
  const loaded = await loadModel(join(parsed.checkpoint, 'checkpoint'));
  let model = loaded;
  try {
    const info = { shape: dataset.shape, numClasses: dataset.numClasses, classNames: dataset.classNames };
    const inShape = model.inputs[0].shape.slice(1).join('x');
    if (inShape !== dataset.shape.join('x'))
      throw new ConfigError(`the checkpoint expects ${inShape.replace(/x/g, '×')} images but '${dataset.name}' has ${dataset.shape.join('×')}`);
    selectKernels(model, config.layers);
    const before = evaluate(model, dataset.test, info, norm, { batchSize: config.evalBatch, progress, label: 'test before' });
    const fold = (config.method === 'subword' || (config.method === 'packing' && config.packing.subwords)) && hasBatchNorm(model);
    if (fold) {
      model = foldBatchNorm(loaded);
      loaded.dispose();
    }
    const sourceOrders = readPackingOrders(parsed.checkpoint);
    let ownOrders: LayerOrders[] = [];
    const zerosBefore = new Map(kernelSparsity(model).map((l) => [l.layer, l.zeros]));
    const keep = zeroMasks(model, config.layers);
    const ft: FineTuneOptions = { dataset, normalization: norm, ...trainOptions(config) };
    let res: FineTuneResult;
    let schedule: PruneResult['schedule'] = null;
    let pruneSteps: PruneStep[] = [];
    let subwords: PruneResult['subwords'] = null;
    let violations: number | null = null;
    let packing: PackingSummary | null = null;
    if (config.method === 'magnitude') {
      const g = gradualPrune(
        model,
        { sparsity: config.sparsity, scope: config.scope, layers: config.layers, rampFraction: config.rampFraction, pruneEvery: config.pruneEvery ?? undefined, keep },
        ft,
        progress,
      );
      res = g;
      schedule = g.schedule;
      pruneSteps = g.steps;
    } else if (config.method === 'nm') {
      res = fineTuneWithMasks(model, intersectMasks(keep, nmMasks(model, config.nm.n, config.nm.m, config.layers)), ft, progress);
    } else if (config.method === 'packing') {
      const pk = config.packing;
      const opts = { tileRows: pk.array.cols, seed: config.seed };
      const search = { method: pk.search };
      const lossless = losslessOverrides(model, config.layers, pk.losslessLayers);
      const starts = pk.warmStart && sourceOrders.length > 0 ? checkedStarts(model, config.layers, sourceOrders, parsed.checkpoint) : undefined;
      const warmStartLayers = starts?.size ?? 0;
      // Orders worth keeping: packed layers (an unpacked layer's and column combining's are identities).
      const keepOrders = (ls: readonly { name: string; spec: PackingMethodSpec; format?: LayerOrders['columns']; rowOrder: Int32Array; colOrder: Int32Array }[]) =>
        ls
          .filter((l) => l.spec.method === 'budgeted' || l.spec.method === 'tight')
          .map((l): LayerOrders => ({ layer: l.name, columns: l.format ?? 'words', rowOrder: l.rowOrder, colOrder: l.colOrder }));
      if (pk.subwords) {
        const spec =
          pk.format === 'tight'
            ? { method: 'tight' as const, groupSize: pk.groupSize, search }
            : { method: 'budgeted' as const, groupSize: pk.groupSize, slotsPerGroup: pk.slotsPerGroup, search };
        const choice =
          pk.maxPrunedL1 === null
            ? spec
            : {
                candidates: packingCandidates(pk.format === 'tight' ? 'tight' : 'budgeted', search),
                maxL1Share: pk.maxPrunedL1,
                overrides: lossless,
              };
        const sp = subwordPacking(model, choice, opts, config.layers, { ...DEFAULT_SUBWORD, shiftSelect: pk.subwordShift }, pk.subwordLayers, starts);
        ownOrders = keepOrders(sp.layers);
        const rules = sp.layers.map((l) => l.rule);
        const s = fineTuneSubwords(model, rules, ft, progress);
        const array = onArray(
          model,
          config.layers,
          sp.layers.map((l) => ({
            name: l.name,
            spec: l.spec,
            rowOrder: l.rowOrder,
            colOrder: l.colOrder,
            ccGroups: null,
            subwords: l.format === 'subwords',
            shiftSelect: pk.subwordShift,
          })),
          pk.array,
        );
        res = s;
        violations = s.violations;
        const now = subwordsNow(model, rules);
        subwords = s.subwords.map((l) => ({ ...l, subwordsAfterFineTune: now.get(l.layer) ?? 0 }));
        packing = {
          format: pk.format,
          subwords: true,
          warmStartLayers,
          array,
          rate: sp.total.rate,
          rateNoIndex: sp.total.rateNoIndex,
          denseBits: sp.total.denseBits,
          packedBits: sp.total.packedBits,
          pruned: sp.total.pruned,
          nonzeros: sp.total.subwords,
          maxPrunedL1: pk.maxPrunedL1,
          layers: sp.layers.map((l) => ({
            layer: l.name,
            format: l.format,
            setting: specLabel(l.spec),
            rate: l.rate.rate,
            rateNoIndex: l.rate.rateNoIndex,
            slots: l.rate.slots,
            nonzeros: l.subwords,
            pruned: l.pruned,
            prunedL1Share: l.prunedL1Share,
          })),
        };
      } else {
        const spec: PackingMethodSpec =
          pk.format === 'columnCombining'
            ? { method: 'columnCombining', maxColumns: pk.groupSize, maxOverlap: pk.maxOverlap }
            : pk.format === 'tight'
              ? { method: 'tight', groupSize: pk.groupSize, search }
              : { method: 'budgeted', groupSize: pk.groupSize, slotsPerGroup: pk.slotsPerGroup, search };
        const pm =
          pk.maxPrunedL1 === null
            ? modelPackingMasks(model, spec, opts, config.layers, starts)
            : bestModelPackingMasks(model, packingCandidates(pk.format, search), opts, pk.maxPrunedL1, config.layers, lossless, starts);
        ownOrders = keepOrders(pm.layers);
        res = fineTuneWithMasks(model, intersectMasks(keep, new Map(pm.layers.map((l) => [l.name, l.mask]))), ft, progress);
        packing = {
          format: pk.format,
          subwords: false,
          warmStartLayers,
          array: onArray(
            model,
            config.layers,
            pm.layers.map((l) => ({ ...l, subwords: false })),
            pk.array,
          ),
          rate: pm.total.rate,
          rateNoIndex: pm.total.rateNoIndex,
          denseBits: pm.total.denseBits,
          packedBits: pm.total.packedBits,
          nonzeros: pm.total.nonzeros,
          pruned: pm.total.pruned,
          maxPrunedL1: pk.maxPrunedL1,
          layers: pm.layers.map((l) => ({
            layer: l.name,
            setting: specLabel(l.spec),
            rate: l.rate,
            rateNoIndex: l.rateNoIndex,
            slots: l.slots,
            nonzeros: l.pruned.nonzerosBefore,
            pruned: l.pruned.pruned,
            prunedL1Share: l.pruned.l1Share,
          })),
        };
      }
    } else {
      const rules = subwordRules(model, { fraction: config.subword.fraction, rounding: config.subword.rounding, layers: config.layers });
      const s = fineTuneSubwords(model, rules, ft, progress);
      res = s;
      violations = s.violations;
      const now = subwordsNow(model, rules);
      subwords = s.subwords.map((l) => ({ ...l, subwordsAfterFineTune: now.get(l.layer) ?? 0 }));
    }
    const pruned = new Set(selectKernels(model, config.layers).map((k) => k.layer));
    const final = res.train.final;
    const result: PruneResult = {
      kind: 'compress-prune',
      config,
      source: { run: parsed.checkpoint, model: model.name, dataset: dataset.name, trainConfig: source },
      normalization: norm,
      dataset: { name: dataset.name, trainCount: dataset.train.count, testCount: dataset.test.count },
      foldedBatchNorm: fold,
      before: accuracyOf(before, dataset.test.count),
      after: accuracyOf(final, dataset.test.count),
      accuracyChangePts: 100 * (final.accuracy - before.accuracy),
      layers: res.layers.map((l) => ({ ...l, zerosBefore: zerosBefore.get(l.layer) ?? 0, pruned: pruned.has(l.layer) })),
      sparsity: res.sparsity,
      schedule,
      pruneSteps,
      packing,
      subwords,
      subwordViolations: violations,
      epochs: res.train.epochs.map(({ confusion: _c, perClassAccuracy: _p, ...e }) => e),
      trainSeconds: res.train.trainSeconds,
      seconds: (performance.now() - t0) / 1000,
      engine: engineInfo(),
      createdAt: new Date().toISOString(),
    };
    return { config, result, model, orders: mergeOrders(sourceOrders, ownOrders) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Writes config.json, result.json, layers.csv and the pruned checkpoint (its metadata names the
 * source's training config and normalisation, so `accelab eval`, `compress pack --checkpoint` and
 * a further `compress prune` read it).
 */
export async function writePruneRun(dir: string, run: PruneRun): Promise<{ checkpoint: string }> {
  writeJsonAtomic(join(dir, 'config.json'), run.config);
  writeJsonAtomic(join(dir, 'result.json'), run.result);
  const r = run.result;
  writeFileAtomic(
    join(dir, 'layers.csv'),
    toCsv(
      ['layer', 'weights', 'zerosBefore', 'zeros', 'sparsity', 'pruned'],
      r.layers.map((l) => [l.layer, l.weights, l.zerosBefore, l.zeros, l.sparsity, l.pruned]),
    ),
  );
  if (run.orders.length > 0)
    writeFileAtomic(
      join(dir, PACKING_ORDERS_FILE),
      JSON.stringify({
        kind: 'packing-orders',
        layers: run.orders.map((o) => ({ layer: o.layer, columns: o.columns, rowOrder: Array.from(o.rowOrder), colOrder: Array.from(o.colOrder) })),
      }),
    );
  const checkpoint = join(dir, 'checkpoint');
  await saveModel(run.model, checkpoint, {
    config: r.source.trainConfig,
    normalization: r.normalization,
    prune: { method: r.config.method, sparsity: r.sparsity, source: r.source.run, foldedBatchNorm: r.foldedBatchNorm },
  });
  return { checkpoint };
}
