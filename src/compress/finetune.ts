/**
 * Pruning with fine-tuning on tfjs models (through nn/train.ts), on the kernels of the Conv2D and
 * Dense layers:
 * - `fineTuneWithMasks`: fine-tuning with given masks held fixed (e.g. the masks a packing
 *   produces);
 * - `gradualPrune`: magnitude pruning to a target sparsity, per layer or global, on Zhu & Gupta's
 *   cubic schedule while training, then fine-tuning with the final masks fixed;
 * - `nmMasks`: N:M structured masks along the reduction axis;
 * - `subwordRules` / `fineTuneSubwords`: subword-level pruning of 8-bit sign-magnitude codes and
 *   fine-tuning under the subword constraint with the straight-through estimator;
 * - `modelPackingMasks` / `subwordPacking`: the masks of a packed format (masks.ts) for a model,
 *   at word or subword granularity, to fine-tune with.
 *
 * Masks are held by gradient masking plus re-masking after each step (nn/constraint.ts): pruned
 * weights get zero gradients, so the optimizer and its state never move them, and they are exactly
 * zero after every step.
 */
import { ConfigError } from '../core/errors.js';
import { type Progress, silentProgress } from '../core/progress.js';
import type { tf } from '../core/engine.js';
import { KernelConstraint, type KernelRule, kernelSparsity, kernelValues, type ModelKernel, modelKernels } from '../nn/constraint.js';
import { train, type TrainOptions, type TrainResult } from '../nn/train.js';
import { weightedLayers } from '../nn/workload.js';
import { bestPackingMasks, type MaskLayer, type PermutationSpec, type PackingMaskOptions, type PackingMasks, type PackingMethodSpec, packingMasks } from './masks.js';
import { intMatrix, maxCode, quantizeSymmetric } from './matrix.js';
import { type PackRate, tightRate } from './rates.js';
import type { Orders } from './permute.js';
import { packTight } from './tight.js';
import { cubicSparsity, magnitudeMasks, nmMask, type PruneScope } from './prune.js';
import { DEFAULT_SUBWORD, pruneSubwords, type SubwordRounding, type SubwordSpec, subwordsPerWeight, subwordValueBits } from './subword.js';

/** Training options of a fine-tuning run (everything `train` takes but the model and the constraint). */
export type FineTuneOptions = Omit<TrainOptions, 'model' | 'constraint'>;

export interface LayerSparsity {
  layer: string;
  weights: number;
  zeros: number;
  sparsity: number;
}

export interface FineTuneResult {
  train: TrainResult;
  /** Exact zeros per kernel after fine-tuning. */
  layers: LayerSparsity[];
  /** Zeros / weights over the layers held. */
  sparsity: number;
}

function totalSparsity(layers: LayerSparsity[], held: ReadonlySet<string>): number {
  const ls = layers.filter((l) => held.has(l.layer));
  const w = ls.reduce((s, l) => s + l.weights, 0);
  return w ? ls.reduce((s, l) => s + l.zeros, 0) / w : 0;
}

function finish(model: tf.LayersModel, t: TrainResult, held: ReadonlySet<string>): FineTuneResult {
  const layers = kernelSparsity(model);
  return { train: t, layers, sparsity: totalSparsity(layers, held) };
}

/** The kernels of `model` named in `layers` (all conv/dense kernels when empty), checked. */
export function selectKernels(model: tf.LayersModel, layers: readonly string[] = []): ModelKernel[] {
  const all = modelKernels(model);
  if (!layers.length) return all;
  const known = new Set(all.map((k) => k.layer));
  for (const l of layers) if (!known.has(l)) throw new ConfigError(`pruning: layer '${l}' is not a conv/dense layer of ${model.name} (${[...known].join(', ')})`);
  return all.filter((k) => layers.includes(k.layer));
}

/** Masks of the exact zeros of the kernels (1 = nonzero): a pruned checkpoint's masks. */
export function zeroMasks(model: tf.LayersModel, layers: readonly string[] = []): Map<string, Uint8Array> {
  return new Map(
    selectKernels(model, layers).map((k) => {
      const v = kernelValues(k);
      return [k.layer, Uint8Array.from(v, (x) => (x === 0 ? 0 : 1))];
    }),
  );
}

/** Mask-wise AND (a weight is kept only if every mask keeps it). */
export function intersectMasks(a: ReadonlyMap<string, Uint8Array>, b: ReadonlyMap<string, Uint8Array>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>(a);
  for (const [layer, m] of b) {
    const prev = out.get(layer);
    out.set(layer, prev ? Uint8Array.from(m, (v, i) => v & prev[i]) : m);
  }
  return out;
}

/** Fine-tunes `model` in place with `masks` (layer name → 1 = kept) held fixed; layers without a mask train freely. */
export function fineTuneWithMasks(model: tf.LayersModel, masks: ReadonlyMap<string, Uint8Array>, o: FineTuneOptions, progress: Progress = silentProgress): FineTuneResult {
  const rules = new Map<string, KernelRule>([...masks].map(([layer, mask]) => [layer, { mask }]));
  const t = train({ ...o, model, constraint: new KernelConstraint(model, rules) }, progress);
  return finish(model, t, new Set(masks.keys()));
}

// ------------------------------------------------------------------ gradual magnitude pruning

export interface GradualPruneOptions {
  /** Target sparsity of the pruned layers (0 ≤ s < 1). */
  sparsity: number;
  /** 'layer': every layer reaches `sparsity`; 'global': one magnitude threshold over the pruned layers. */
  scope: PruneScope;
  /** Layers to prune (all conv/dense kernels when empty). */
  layers?: readonly string[];
  /** Sparsity at the first pruning step (Zhu & Gupta's s_i; default 0). */
  initialSparsity?: number;
  /** The sparsity ramps over this fraction of the training steps (default 0.5); the rest fine-tunes with the final masks. */
  rampFraction?: number;
  /** Masks are recomputed every this many steps during the ramp (Zhu & Gupta's Δt; default: about 20 updates). */
  pruneEvery?: number;
  /** Masks every weight must also respect (e.g. the zeros of an already pruned checkpoint); default none. */
  keep?: ReadonlyMap<string, Uint8Array>;
}

export interface PruneStep {
  step: number;
  /** Scheduled sparsity at this step. */
  target: number;
  /** Reached sparsity over the pruned layers. */
  sparsity: number;
}

export interface GradualPruneResult extends FineTuneResult {
  schedule: { startStep: number; endStep: number; pruneEvery: number; initialSparsity: number; finalSparsity: number };
  /** Every mask update. */
  steps: PruneStep[];
  /** The final masks (layer → 1 = kept). */
  masks: Map<string, Uint8Array>;
}

/** Training steps of a fine-tuning run (batches per epoch × epochs). */
export function trainSteps(o: Pick<FineTuneOptions, 'dataset' | 'batchSize' | 'epochs'>): number {
  return Math.ceil(o.dataset.train.count / o.batchSize) * o.epochs;
}

/**
 * Gradual magnitude pruning while training: masks are recomputed from the magnitudes of the
 * current (masked) weights at step 0 and every `pruneEvery` steps until the end of the ramp, to
 * Zhu & Gupta's cubic sparsity; pruned weights never come back (they are the smallest, being zero).
 * The last update is at the end of the ramp, at the final sparsity; the remaining steps fine-tune
 * with the masks fixed.
 */
export function gradualPrune(model: tf.LayersModel, p: GradualPruneOptions, o: FineTuneOptions, progress: Progress = silentProgress): GradualPruneResult {
  const kernels = selectKernels(model, p.layers);
  const total = trainSteps(o);
  const ramp = p.rampFraction ?? 0.5;
  if (!(ramp > 0 && ramp <= 1)) throw new ConfigError(`pruning: rampFraction ${ramp} must be in (0, 1]`);
  const endStep = Math.max(1, Math.round(ramp * total));
  const pruneEvery = p.pruneEvery ?? Math.max(1, Math.round(endStep / 20));
  if (!Number.isInteger(pruneEvery) || pruneEvery < 1) throw new ConfigError(`pruning: pruneEvery ${pruneEvery} must be a whole number ≥ 1`);
  const schedule = { startStep: 0, endStep, pruneEvery, initialSparsity: p.initialSparsity ?? 0, finalSparsity: p.sparsity };
  // Validates the sparsities.
  cubicSparsity({ ...schedule }, 0);
  const steps: PruneStep[] = [];
  const names = kernels.map((k) => k.layer);
  const keep = p.keep ?? new Map<string, Uint8Array>();
  const prune = (step: number, c: KernelConstraint | null): Map<string, Uint8Array> => {
    const target = cubicSparsity(schedule, step);
    const values = kernels.map((k) => {
      const v = c ? c.latentValues(k.layer) : kernelValues(k);
      const m = c?.rule(k.layer).mask ?? keep.get(k.layer);
      if (m) for (let i = 0; i < v.length; i++) if (!m[i]) v[i] = 0;
      return v;
    });
    const masks = magnitudeMasks(values, target, p.scope);
    const out = new Map<string, Uint8Array>();
    let zeros = 0;
    let weights = 0;
    names.forEach((layer, i) => {
      const k = keep.get(layer);
      const m = k ? Uint8Array.from(masks[i], (v, j) => v & k[j]) : masks[i];
      out.set(layer, m);
      for (const x of m) if (!x) zeros++;
      weights += m.length;
      c?.set(layer, { mask: m });
    });
    steps.push({ step, target, sparsity: weights ? zeros / weights : 0 });
    return out;
  };
  let masks = prune(0, null);
  const rules = new Map<string, KernelRule>([...masks].map(([layer, mask]) => [layer, { mask }]));
  const constraint = new KernelConstraint(model, rules, (step, c) => {
    if (step <= endStep && (step % pruneEvery === 0 || step === endStep)) masks = prune(step, c);
  });
  const t = train({ ...o, model, constraint }, progress);
  return { ...finish(model, t, new Set(names)), schedule, steps, masks };
}

// ------------------------------------------------------------------ N:M

/** N:M masks of the kernels (groups of `m` consecutive reduction indices of one output keep their `n` largest |w|). */
export function nmMasks(model: tf.LayersModel, n: number, m: number, layers: readonly string[] = []): Map<string, Uint8Array> {
  return new Map(
    selectKernels(model, layers).map((k) => {
      const cols = k.shape[k.shape.length - 1];
      const v = kernelValues(k);
      return [k.layer, nmMask(v, v.length / cols, cols, n, m)];
    }),
  );
}

// ------------------------------------------------------------------ subwords

/** Allowed-subword patterns: bit i (i = 0 the most significant subword) set = subword i may be nonzero. */
export type SubwordPatterns = Uint8Array;

/** The pattern of a sign-magnitude code: its nonzero subwords. */
export function subwordPattern(code: number, spec: SubwordSpec = DEFAULT_SUBWORD): number {
  const k = subwordsPerWeight(spec);
  const base = 2 ** spec.subwordBits;
  let m = Math.abs(code);
  let p = 0;
  for (let i = k - 1; i >= 0; i--) {
    if (m % base !== 0) p |= 1 << i;
    m = Math.floor(m / base);
  }
  return p;
}

/**
 * For every pattern, the nearest allowed magnitude to each code magnitude 0…maxCode (ties to the
 * smaller magnitude): table[p·(q+1) + c].
 */
export function nearestAllowed(spec: SubwordSpec = DEFAULT_SUBWORD): Int32Array {
  const q = maxCode(spec.weightBits);
  const k = subwordsPerWeight(spec);
  const patterns = 1 << k;
  const table = new Int32Array(patterns * (q + 1));
  for (let p = 0; p < patterns; p++) {
    const allowed: number[] = [];
    for (let v = 0; v <= q; v++) if ((subwordPattern(v, spec) & ~p) === 0) allowed.push(v);
    let j = 0;
    for (let c = 0; c <= q; c++) {
      while (j + 1 < allowed.length && Math.abs(allowed[j + 1] - c) < Math.abs(allowed[j] - c)) j++;
      table[p * (q + 1) + c] = allowed[j];
    }
  }
  return table;
}

export interface SubwordLayer {
  layer: string;
  /** Fixed quantizer step of the layer: max|w| / maxCode at the start, per layer (as the packing quantizes). */
  scale: number;
  /** Per weight: the subwords it may use (see `SubwordPatterns`). */
  patterns: SubwordPatterns;
  /** Index of the weight pinned at ±maxCode so the layer's scale stays max|w| / maxCode. */
  pinned: number;
  subwordsBefore: number;
  subwordsAfter: number;
  weightsZeroed: number;
}

/**
 * The straight-through projection of one layer: code = clamp(round(|w|/scale), 0, q), moved to the
 * nearest magnitude using only the allowed subwords, sign kept; the pinned weight stays at ±q·scale.
 */
export function subwordProjection(l: Pick<SubwordLayer, 'scale' | 'patterns' | 'pinned'>, spec: SubwordSpec = DEFAULT_SUBWORD): (latent: Float32Array, out: Float32Array) => void {
  const q = maxCode(spec.weightBits);
  const table = nearestAllowed(spec);
  const { scale, patterns, pinned } = l;
  return (latent, out) => {
    for (let i = 0; i < latent.length; i++) {
      const x = latent[i];
      const c = Math.min(q, Math.round(Math.abs(x) / scale));
      const mag = i === pinned ? q : table[patterns[i] * (q + 1) + c];
      out[i] = mag === 0 ? 0 : (x < 0 ? -mag : mag) * scale;
    }
  };
}

export interface SubwordPruneSpec {
  /** Fraction of the nonzero subwords removed per layer, cheapest first (`pruneSubwords`). */
  fraction: number;
  rounding?: SubwordRounding;
  spec?: SubwordSpec;
  /** Layers (all conv/dense kernels when empty). */
  layers?: readonly string[];
}

/**
 * Subword pruning of the model's kernels as they are: per layer, codes of the per-layer symmetric
 * quantizer (scale max|w| / maxCode), `pruneSubwords` removes `fraction` of the nonzero subwords;
 * each weight may then use the subwords its pruned code has. The largest weight is pinned (kept
 * at ±maxCode) so that the scale, and so every code, survives re-quantization of the saved model.
 */
export function subwordRules(model: tf.LayersModel, s: SubwordPruneSpec): SubwordLayer[] {
  const spec = s.spec ?? DEFAULT_SUBWORD;
  const q = maxCode(spec.weightBits);
  return selectKernels(model, s.layers).map((k) => {
    const w = kernelValues(k);
    const { codes, scale } = quantizeSymmetric(w, spec.weightBits);
    let pinned = 0;
    for (let i = 1; i < codes.length; i++) if (Math.abs(codes[i]) > Math.abs(codes[pinned])) pinned = i;
    const r = pruneSubwords(intMatrix(1, codes.length, codes), { fraction: s.fraction, rounding: s.rounding, spec });
    const after = r.matrix.values;
    let subwordsAfter = r.subwordsAfter;
    if (after[pinned] !== codes[pinned]) {
      // Undo a change of the pinned weight: it defines the scale.
      subwordsAfter += countPattern(subwordPattern(codes[pinned], spec)) - countPattern(subwordPattern(after[pinned], spec));
      after[pinned] = codes[pinned];
    }
    if (Math.abs(codes[pinned]) !== q && codes[pinned] !== 0) throw new ConfigError(`subword pruning: layer ${k.layer}: the largest code is ${codes[pinned]}, expected ±${q}`);
    const patterns = Uint8Array.from(after, (c) => subwordPattern(c, spec));
    let zeroed = 0;
    for (let i = 0; i < codes.length; i++) if (codes[i] !== 0 && after[i] === 0) zeroed++;
    return { layer: k.layer, scale, patterns, pinned, subwordsBefore: r.subwordsBefore, subwordsAfter, weightsZeroed: zeroed };
  });
}

function countPattern(p: number): number {
  let n = 0;
  for (let x = p; x; x >>= 1) n += x & 1;
  return n;
}

export interface SubwordFineTuneResult extends FineTuneResult {
  subwords: Omit<SubwordLayer, 'patterns'>[];
  /** Weights (over the held layers) whose code after fine-tuning uses a subword outside its pattern: 0 when the constraint holds. */
  violations: number;
}

/**
 * Fine-tuning under a subword constraint (straight-through estimator): the forward pass uses the
 * projected weights (`subwordProjection`), the optimizer updates float latent weights; weights
 * with no allowed subword are pruned (mask). The model ends with the projected weights.
 */
export function fineTuneSubwords(
  model: tf.LayersModel,
  layers: readonly SubwordLayer[],
  o: FineTuneOptions,
  progress: Progress = silentProgress,
  spec: SubwordSpec = DEFAULT_SUBWORD,
): SubwordFineTuneResult {
  const rules = new Map<string, KernelRule>(
    layers.map((l) => [l.layer, { project: subwordProjection(l, spec), mask: Uint8Array.from(l.patterns, (p, i) => (p !== 0 || i === l.pinned ? 1 : 0)) }]),
  );
  const t = train({ ...o, model, constraint: new KernelConstraint(model, rules) }, progress);
  const res = finish(model, t, new Set(rules.keys()));
  const violations = subwordViolations(model, layers, spec);
  return { ...res, subwords: layers.map(({ patterns: _p, ...rest }) => rest), violations };
}

/** Weights whose per-layer 8-bit code (re-quantized from the model, as the packing does) uses a subword outside its pattern. */
export function subwordViolations(model: tf.LayersModel, layers: readonly Pick<SubwordLayer, 'layer' | 'patterns'>[], spec: SubwordSpec = DEFAULT_SUBWORD): number {
  const kernels = new Map(modelKernels(model).map((k) => [k.layer, k]));
  let bad = 0;
  for (const l of layers) {
    const k = kernels.get(l.layer);
    if (!k) throw new ConfigError(`subwords: layer '${l.layer}' is not in the model`);
    const { codes } = quantizeSymmetric(kernelValues(k), spec.weightBits);
    for (let i = 0; i < codes.length; i++) if ((subwordPattern(codes[i], spec) & ~l.patterns[i]) !== 0) bad++;
  }
  return bad;
}

// ------------------------------------------------------------------ packing masks

/**
 * A layer's packing orders as a packing run stores them (prune.ts `packing-orders.json`): the
 * output-channel order, and the order of its weight columns ('words', K) or subword columns
 * ('subwords', K·subwords per weight). Used as warm starts of a later packing of the same layer.
 */
export interface LayerOrders {
  layer: string;
  columns: 'words' | 'subwords';
  rowOrder: Int32Array;
  colOrder: Int32Array;
}

/**
 * The orders in the other column unit: a weight order becomes the order of its subword columns
 * (the subwords of a weight side by side, most significant first); a subword order becomes the
 * order of the weights by their first subword column.
 */
export function ordersIn(o: LayerOrders, columns: LayerOrders['columns'], perWeight: number): Orders {
  if (o.columns === columns) return { rowOrder: o.rowOrder, colOrder: o.colOrder };
  if (columns === 'subwords')
    return {
      rowOrder: o.rowOrder,
      colOrder: Int32Array.from({ length: o.colOrder.length * perWeight }, (_, q) => o.colOrder[Math.floor(q / perWeight)] * perWeight + (q % perWeight)),
    };
  const seen = new Uint8Array(Math.ceil(o.colOrder.length / perWeight));
  const col: number[] = [];
  for (const c of o.colOrder) {
    const w = Math.floor(c / perWeight);
    if (!seen[w]) {
      seen[w] = 1;
      col.push(w);
    }
  }
  return { rowOrder: o.rowOrder, colOrder: Int32Array.from(col) };
}

/** A model's conv/dense kernels as K×N layers with the weights a hardware model sees (batch norm folded; residual networks too). */
export function packingLayers(model: tf.LayersModel, layers: readonly string[] = []): MaskLayer[] {
  const out: MaskLayer[] = [];
  for (const op of weightedLayers(model)) {
    if (op.kind === 'conv2d')
      out.push({ name: op.name, k: op.kernel[0] * op.kernel[1] * op.inShape[2], n: op.outShape[2], weights: op.weights, vectors: op.outShape[0] * op.outShape[1] });
    else if (op.kind === 'dense') out.push({ name: op.name, k: op.inFeatures, n: op.outFeatures, weights: op.weights, vectors: 1 });
  }
  if (!layers.length) return out;
  return out.filter((l) => layers.includes(l.name));
}

/** Warm starts keyed by layer name (`LayerOrders`). */
export type PackingStarts = ReadonlyMap<string, LayerOrders>;

/** The layers with their warm starts in weight columns (orders stored for subwords are mapped back). */
function withStarts(ls: MaskLayer[], starts: PackingStarts | undefined): MaskLayer[] {
  if (!starts) return ls;
  const perWeight = subwordsPerWeight(DEFAULT_SUBWORD);
  return ls.map((l) => {
    const st = starts.get(l.name);
    return st ? { ...l, start: ordersIn(st, 'words', perWeight) } : l;
  });
}

/** Word-level packing masks of a model (see compress/masks.ts `packingMasks`), keyed by layer name, in the kernels' layout. */
export function modelPackingMasks(model: tf.LayersModel, spec: PackingMethodSpec, o: PackingMaskOptions, layers: readonly string[] = [], starts?: PackingStarts): PackingMasks {
  return packingMasks(withStarts(packingLayers(model, layers), starts), spec, o);
}

/** `bestPackingMasks` (per-layer settings within a pruned share of Σ|w|) for a model's layers. */
export function bestModelPackingMasks(
  model: tf.LayersModel,
  candidates: readonly PackingMethodSpec[],
  o: PackingMaskOptions,
  maxL1Share: number,
  layers: readonly string[] = [],
  overrides: Readonly<Record<string, number>> = {},
  starts?: PackingStarts,
): PackingMasks {
  return bestPackingMasks(withStarts(packingLayers(model, layers), starts), candidates, o, maxL1Share, overrides);
}

/**
 * How `subwordPacking` stores each packed layer: 'all' packs every layer's subwords; 'best' also packs
 * the layer's 8-bit words with the same setting or allowance and keeps the format with the higher
 * rate (the array runs either format layer by layer, so a layer whose weights mostly keep both
 * subwords is not forced into two slots per weight).
 */
export const SUBWORD_LAYER_FORMATS = ['all', 'best'] as const;
export type SubwordLayerFormats = (typeof SUBWORD_LAYER_FORMATS)[number];

export interface SubwordPackingLayer {
  name: string;
  /** The format the layer is stored in: its subwords, or its 8-bit words (`SubwordLayerFormats` 'best'). */
  format: 'subwords' | 'words';
  /** The layer's subword constraint (patterns = the subwords the packing keeps). */
  rule: SubwordLayer;
  /** The packing setting of the layer and the share of its Σ|subword contribution| it pruned. */
  spec: PermutationSpec;
  prunedL1Share: number;
  /** The packing's output-channel and subword-column (words: reduction-index) orders. */
  rowOrder: Int32Array;
  colOrder: Int32Array;
  rate: PackRate;
  /** Nonzero subwords before packing and those the packing dropped (words: the subwords of the dropped weights). */
  subwords: number;
  pruned: number;
}

/** Per-layer settings for `subwordPacking`: `bestPackingMasks` over `candidates` within `maxL1Share` of each layer's Σ|subword contribution|. */
export interface SubwordPackingChoice {
  candidates: readonly PermutationSpec[];
  maxL1Share: number;
  /** Per-layer allowances replacing `maxL1Share` (layer name → share). */
  overrides?: Readonly<Record<string, number>>;
}

export interface SubwordPackingResult {
  layers: SubwordPackingLayer[];
  total: { rate: number; rateNoIndex: number; denseBits: number; packedBits: number; subwords: number; pruned: number };
}

/**
 * Budgeted (or tight) packing at subword granularity: each layer's kernel is quantized per layer
 * (8-bit symmetric, as the packing quantizes), split into sign-magnitude subwords — subword i of
 * weight row r is row r·s + i of a (K·s)×N matrix, valued by its contribution sign·digit·base^(s−1−i)
 * so the packing prunes the smallest contributions — and packed; the subwords it keeps become each
 * weight's allowed pattern. The layer's largest weight is kept whole (it fixes the scale). Rates
 * count subword slots: value bits = subwordBits + 1, the shift select in the index. With `formats`
 * 'best', a layer whose word packing (same setting or allowance, same seed) has the higher rate is
 * stored as words: its kept weights may use every subword.
 */
export function subwordPacking(
  model: tf.LayersModel,
  spec: PermutationSpec | SubwordPackingChoice,
  o: PackingMaskOptions,
  layers: readonly string[] = [],
  sw: SubwordSpec = DEFAULT_SUBWORD,
  formats: SubwordLayerFormats = 'all',
  starts?: PackingStarts,
): SubwordPackingResult {
  const s = subwordsPerWeight(sw);
  const base = 2 ** sw.subwordBits;
  const q = maxCode(sw.weightBits);
  const kernels = new Map(selectKernels(model, layers).map((k) => [k.layer, k]));
  const out: SubwordPackingLayer[] = [];
  packingLayers(model, layers).forEach((l, li) => {
    if (!kernels.has(l.name)) return;
    const { codes, scale } = quantizeSymmetric(Float32Array.from(l.weights), sw.weightBits);
    let pinned = 0;
    for (let i = 1; i < codes.length; i++) if (Math.abs(codes[i]) > Math.abs(codes[pinned])) pinned = i;
    const values = new Float64Array(l.k * s * l.n);
    let subwords = 0;
    for (let r = 0; r < l.k; r++)
      for (let j = 0; j < l.n; j++) {
        const c = codes[r * l.n + j];
        if (c === 0) continue;
        const sign = c < 0 ? -1 : 1;
        let m = Math.abs(c);
        for (let i = s - 1; i >= 0; i--) {
          const d = m % base;
          m = Math.floor(m / base);
          if (d === 0) continue;
          subwords++;
          // The pinned weight's subwords outrank every other contribution.
          const v = r * l.n + j === pinned ? 2 * q * base : d * base ** (s - 1 - i);
          values[(r * s + i) * l.n + j] = sign * v;
        }
      }
    const st = starts?.get(l.name);
    const ml = [{ name: l.name, k: l.k * s, n: l.n, weights: values, start: st ? ordersIn(st, 'subwords', s) : undefined }];
    const pack = (ls: readonly MaskLayer[], lo: PackingMaskOptions) =>
      ('candidates' in spec ? bestPackingMasks(ls, spec.candidates, lo, spec.maxL1Share, spec.overrides) : packingMasks(ls, spec, lo)).layers[0];
    const lm = pack(ml, { ...o, seed: o.seed + li, subwords: { perWeight: s, valueBits: subwordValueBits(sw), shiftSelect: sw.shiftSelect } });
    const ls = lm.spec as PermutationSpec;
    const patterns = new Uint8Array(l.k * l.n);
    let kept = 0;
    for (let r = 0; r < l.k; r++)
      for (let j = 0; j < l.n; j++)
        for (let i = 0; i < s; i++)
          if (lm.mask[(r * s + i) * l.n + j]) {
            patterns[r * l.n + j] |= 1 << i;
            kept++;
          }
    // An unpacked (dense) layer stores whole 8-bit words: its nonzero weights may use every subword.
    if (ls.method === 'dense') for (let i = 0; i < codes.length; i++) if (codes[i] !== 0) patterns[i] = (1 << s) - 1;
    // F layout (rows = outputs, cols = subword columns) of the kept subwords, packed in the search's orders.
    const f = intMatrix(l.n, l.k * s);
    for (let rr = 0; rr < l.k * s; rr++) for (let j = 0; j < l.n; j++) if (lm.mask[rr * l.n + j]) f.values[j * l.k * s + rr] = 1;
    const denseBits = l.k * l.n * sw.weightBits;
    const rate: PackRate =
      ls.method === 'dense'
        ? { slots: l.k * l.n, bits: { values: denseBits, index: 0, blocks: 0, permutation: 0, total: denseBits }, denseBits, rate: 1, rateNoIndex: 1 }
        : tightRate(packTight(f, { tileRows: o.tileRows, groupSize: ls.groupSize }, { rowOrder: lm.rowOrder, colOrder: lm.colOrder }), {
            weightBits: sw.weightBits,
            valueBits: subwordValueBits(sw),
            subwordsPerWeight: s,
            maxWidth: ls.method === 'budgeted' ? ls.slotsPerGroup : undefined,
            shiftSelect: sw.shiftSelect,
          });
    let chosen: Pick<SubwordPackingLayer, 'format' | 'spec' | 'prunedL1Share' | 'rowOrder' | 'colOrder' | 'rate'> & { patterns: Uint8Array; kept: number } = {
      format: 'subwords',
      spec: ls,
      prunedL1Share: lm.pruned.l1Share,
      rowOrder: lm.rowOrder,
      colOrder: lm.colOrder,
      rate,
      patterns,
      kept,
    };
    if (formats === 'best') {
      // The same layer packed as 8-bit words (as the word path packs it: float weights, same seed).
      const wm = pack([{ ...l, start: st ? ordersIn(st, 'words', s) : undefined }], { ...o, seed: o.seed + li });
      if (wm.rate > rate.rate) {
        // Every subword of a kept weight is allowed.
        const wp = new Uint8Array(l.k * l.n);
        let wkept = 0;
        for (let i = 0; i < codes.length; i++)
          if (codes[i] !== 0 && (wm.mask[i] || i === pinned)) {
            wp[i] = (1 << s) - 1;
            wkept += countPattern(subwordPattern(codes[i], sw));
          }
        const { slots, bits, denseBits: db, rate: r, rateNoIndex } = wm;
        chosen = {
          format: 'words',
          spec: wm.spec as PermutationSpec,
          prunedL1Share: wm.pruned.l1Share,
          rowOrder: wm.rowOrder,
          colOrder: wm.colOrder,
          rate: { slots, bits, denseBits: db, rate: r, rateNoIndex },
          patterns: wp,
          kept: wkept,
        };
      }
    }
    const { patterns: allowed, kept: keptSubwords, ...layer } = chosen;
    let zeroed = 0;
    for (let i = 0; i < codes.length; i++) if (codes[i] !== 0 && allowed[i] === 0) zeroed++;
    out.push({
      name: l.name,
      ...layer,
      rule: { layer: l.name, scale, patterns: allowed, pinned, subwordsBefore: subwords, subwordsAfter: keptSubwords, weightsZeroed: zeroed },
      subwords,
      pruned: subwords - keptSubwords,
    });
  });
  const sum = (f: (x: SubwordPackingLayer) => number) => out.reduce((a, x) => a + f(x), 0);
  const denseBits = sum((x) => x.rate.denseBits);
  const packedBits = sum((x) => x.rate.bits.total);
  return {
    layers: out,
    total: {
      rate: denseBits / packedBits,
      rateNoIndex: denseBits / sum((x) => x.rate.bits.values),
      denseBits,
      packedBits,
      subwords: sum((x) => x.subwords),
      pruned: sum((x) => x.pruned),
    },
  };
}
