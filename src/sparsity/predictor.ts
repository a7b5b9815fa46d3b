/**
 * Low-rank output-sparsity predictor (SparseNN, Zhu et al. 2018; low-rank sign estimation after
 * Davis & Arel 2013). For a conv/dense layer with ReLU, seen as a GEMM y = x·W + b (x: M×K, W: K×N;
 * convolutions through im2col), a rank-r factorisation W ≈ V·U (V: K×r, U: r×N) predicts the sign
 * of every pre-activation before it is computed:
 *
 *   p = (x·V)·U + b_p,   s = 1[p > threshold],   y = ReLU(x·W + b) ⊙ s
 *
 * Outputs predicted zero (s = 0) are never computed. Prediction costs r·(K + N) MACs per GEMM row
 * against K·N for the layer. `initPredictor` takes V, U from the truncated SVD of W
 * (V = P_r Σ_r^½, U = Σ_r^½ Q_rᵀ); at full rank V·U = W, so the predicted mask is the true ReLU mask.
 * Plain typed arrays; the float product is an injected `MatMulEngine`.
 */
import { ConfigError } from '../core/errors.js';
import { gemmInput, gemmShape, isMacOp, type MacOp, type MatMulEngine, matmulOnce, normalizeInput, plainMatMul, walkWorkload } from '../nn/runtime/index.js';
import type { Workload } from '../nn/workload.js';
import { svd } from './svd.js';

/** Which bias the predictor adds: the layer's own bias b (shared) or a separate learned one initialised to b. */
export const PREDICTOR_BIAS = ['layer', 'own'] as const;
export type PredictorBias = (typeof PREDICTOR_BIAS)[number];

export interface LayerPredictor {
  /** Index of the conv/dense op in the workload, and its name. */
  opIndex: number;
  name: string;
  /** GEMM shape of the layer: K inputs (patch size), N outputs. */
  k: number;
  n: number;
  rank: number;
  /** K×r and r×N, row-major. */
  v: Float32Array;
  u: Float32Array;
  /** Predictor bias (N) when `bias` is 'own'; null to use the layer's bias. */
  bias: Float32Array | null;
  /** Predicted active when p > threshold. */
  threshold: number;
}

/** Predictor MACs / layer MACs of one GEMM row: r·(K + N) / (K·N). */
export function predictorOverhead(k: number, n: number, rank: number): number {
  return (rank * (k + n)) / (k * n);
}

/** The largest rank whose overhead r·(K+N)/(K·N) stays within `budget` (0 when even rank 1 exceeds it). */
export function rankForBudget(k: number, n: number, budget: number): number {
  return Math.min(Math.floor((budget * k * n) / (k + n) + 1e-9), Math.min(k, n));
}

/** Conv/dense ops with ReLU that get a predictor (the output layer and linear layers never do). */
export function predictableOps(wl: Workload): number[] {
  const out: number[] = [];
  wl.ops.forEach((op, i) => {
    if (isMacOp(op) && op.activation === 'relu') out.push(i);
  });
  return out;
}

export interface RankPolicy {
  /** Per-layer overhead budget used where `ranks` does not name the layer (e.g. 0.05). */
  overheadBudget: number;
  /** Explicit ranks by layer name (0 = no predictor; capped at min(K, N)). */
  ranks?: Record<string, number>;
  /** Rank for every predictable layer, overriding the budget (capped at min(K, N)). */
  rank?: number;
}

/** The rank of each predictable layer under a policy: explicit name → global rank → budget. */
export function chooseRanks(wl: Workload, policy: RankPolicy): Map<number, number> {
  const out = new Map<number, number>();
  const known = new Set(predictableOps(wl).map((i) => wl.ops[i].name));
  for (const name of Object.keys(policy.ranks ?? {})) {
    if (!known.has(name)) throw new ConfigError(`sparsity: 'ranks' names layer '${name}', which is not a ReLU conv/dense layer of ${wl.name} (layers: ${[...known].join(', ')})`);
  }
  for (const i of predictableOps(wl)) {
    const op = wl.ops[i] as MacOp;
    const { k, n } = gemmShape(op);
    const r = policy.ranks?.[op.name] ?? policy.rank ?? rankForBudget(k, n, policy.overheadBudget);
    out.set(i, Math.max(0, Math.min(r, k, n)));
  }
  return out;
}

/** Rank-r predictor of one layer from the truncated SVD of its K×N weights. */
export function initPredictor(op: MacOp, opIndex: number, rank: number, o: { bias?: PredictorBias; threshold?: number } = {}): LayerPredictor {
  const { k, n } = gemmShape(op);
  if (!Number.isInteger(rank) || rank < 1 || rank > Math.min(k, n))
    throw new ConfigError(`sparsity: rank of layer '${op.name}' must be a whole number from 1 to ${Math.min(k, n)}, got ${rank}`);
  const d = svd(op.weights, k, n, { rank });
  const v = new Float32Array(k * rank);
  const u = new Float32Array(rank * n);
  for (let c = 0; c < rank; c++) {
    const sq = Math.sqrt(d.s[c]);
    for (let i = 0; i < k; i++) v[i * rank + c] = d.u[i * rank + c] * sq;
    for (let j = 0; j < n; j++) u[c * n + j] = d.v[j * rank + c] * sq;
  }
  const bias = (o.bias ?? 'layer') === 'own' ? Float32Array.from(op.bias ?? new Float32Array(n)) : null;
  return { opIndex, name: op.name, k, n, rank, v, u, bias, threshold: o.threshold ?? 0 };
}

/** Predictors for every predictable layer with rank > 0 under `ranks` (see `chooseRanks`). */
export function initPredictors(wl: Workload, ranks: Map<number, number>, o: { bias?: PredictorBias; threshold?: number } = {}): LayerPredictor[] {
  const out: LayerPredictor[] = [];
  for (const [i, r] of ranks) if (r > 0) out.push(initPredictor(wl.ops[i] as MacOp, i, r, o));
  return out;
}

/** Predictor pre-activations p = (x·V)·U + b_p for M GEMM rows x (M×K). */
export function predictScores(p: LayerPredictor, layerBias: Float32Array | null, x: Float32Array, m: number, mm: MatMulEngine = plainMatMul): Float32Array {
  const t = matmulOnce(mm, x, p.v, m, p.k, p.rank);
  const s = matmulOnce(mm, t, p.u, m, p.rank, p.n);
  const b = p.bias ?? layerBias;
  if (b) for (let r = 0; r < m; r++) for (let j = 0; j < p.n; j++) s[r * p.n + j] += b[j];
  return s;
}

/** What the masked forward pass shows of one conv/dense layer. */
export interface MaskedLayerCapture {
  opIndex: number;
  op: MacOp;
  batch: number;
  /** GEMM rows (batch × positions) and shape. */
  m: number;
  k: number;
  n: number;
  /** The GEMM input (M×K) the layer computes on. */
  gemmInput: Float32Array;
  /**
   * The GEMM input as a hardware model sees its zeros: `gemmInput`, except for the first layer of a
   * workload with input normalisation, where it is the raw pixels' patches (the normalisation folded
   * into the first layer, as the runtime's quantizer does).
   */
  hwInput: Float32Array;
  /** Pre-activations x·W + b (M×N). */
  pre: Float32Array;
  /** Predicted-active mask (M×N, 1 = computed), or null for a layer without predictor. */
  mask: Uint8Array | null;
  /** The layer's output after activation and mask (M×N). */
  output: Float32Array;
  predictor: LayerPredictor | null;
}

export interface MaskedForwardOptions {
  matmul?: MatMulEngine;
  capture?: (c: MaskedLayerCapture) => void;
  /** Force every mask to all ones (the dense network, predictors still evaluated). */
  forceDense?: boolean;
}

/**
 * Forward pass of a workload with output-sparsity predictors (raw inputs, B examples). Layers with a
 * predictor output ReLU(x·W + b) ⊙ s; the others are computed as usual. With `forceDense` it equals
 * the runtime's `floatForward`.
 */
export function maskedForward(wl: Workload, predictors: readonly LayerPredictor[], x: Float32Array, batch: number, o: MaskedForwardOptions = {}): Float32Array {
  const mm = o.matmul ?? plainMatMul;
  const byOp = new Map(predictors.map((p) => [p.opIndex, p]));
  let first = true;
  return walkWorkload(wl, normalizeInput(x, wl), batch, (op, i, a) => {
    const { k, n } = gemmShape(op);
    const cols = gemmInput(op, a, batch);
    const m = cols.length / k;
    const y = matmulOnce(mm, cols, op.weights, m, k, n);
    if (op.bias) for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) y[r * n + j] += op.bias[j];
    const pred = byOp.get(i) ?? null;
    if (pred && op.activation !== 'relu') throw new ConfigError(`sparsity: layer '${op.name}' has a predictor but no ReLU`);
    let mask: Uint8Array | null = null;
    if (pred) {
      mask = new Uint8Array(m * n);
      if (o.forceDense) mask.fill(1);
      else {
        const s = predictScores(pred, op.bias, cols, m, mm);
        for (let e = 0; e < s.length; e++) mask[e] = s[e] > pred.threshold ? 1 : 0;
      }
    }
    const out = new Float32Array(m * n);
    for (let e = 0; e < out.length; e++) {
      let v = y[e];
      if (op.activation === 'relu' && v < 0) v = 0;
      if (mask && mask[e] === 0) v = 0;
      out[e] = v;
    }
    if (o.capture) {
      const input = first && wl.normalization ? gemmInput(op, x, batch) : cols;
      o.capture({ opIndex: i, op, batch, m, k, n, gemmInput: cols, hwInput: input, pre: y, mask, output: out, predictor: pred });
    }
    first = false;
    return out;
  });
}

/** Prediction quality and sparsity of one layer, accumulated over a data set. */
export interface PredictorLayerStats {
  name: string;
  opIndex: number;
  k: number;
  n: number;
  rank: number;
  /** GEMM rows seen and outputs (rows × N). */
  rows: number;
  outputs: number;
  /** Fraction of outputs that are zero after ReLU and mask. */
  outputSparsity: number;
  /** Fraction of outputs whose pre-activation is ≤ 0 (the ReLU's own sparsity). */
  reluSparsity: number;
  /** Fraction of outputs predicted zero (not computed). */
  predictedSparsity: number;
  /** Predicted zero but truly positive / truly positive. */
  falseNegativeRate: number;
  /** Predicted active but truly ≤ 0 / truly ≤ 0. */
  falsePositiveRate: number;
  /** Fraction of zero GEMM inputs (skippable by an input-sparsity accelerator). */
  inputSparsity: number;
  /** r·(K+N)/(K·N). */
  overhead: number;
  /** Layer MACs per example (dense), predictor MACs per example. */
  layerMacs: number;
  predictorMacs: number;
}

/** Accumulates `PredictorLayerStats`; feed it from `maskedForward`'s capture. */
export class PredictorStatsCollector {
  private readonly m = new Map<
    number,
    {
      name: string;
      k: number;
      n: number;
      rank: number;
      rows: number;
      examples: number;
      outputs: number;
      zeroOut: number;
      reluZero: number;
      predZero: number;
      fn: number;
      fp: number;
      pos: number;
      inZero: number;
      inputs: number;
    }
  >();

  add(c: MaskedLayerCapture): void {
    let s = this.m.get(c.opIndex);
    if (!s) {
      s = {
        name: c.op.name,
        k: c.k,
        n: c.n,
        rank: c.predictor?.rank ?? 0,
        rows: 0,
        examples: 0,
        outputs: 0,
        zeroOut: 0,
        reluZero: 0,
        predZero: 0,
        fn: 0,
        fp: 0,
        pos: 0,
        inZero: 0,
        inputs: 0,
      };
      this.m.set(c.opIndex, s);
    }
    s.rows += c.m;
    s.examples += c.batch;
    s.outputs += c.m * c.n;
    for (let e = 0; e < c.output.length; e++) {
      if (c.output[e] === 0) s.zeroOut++;
      const active = c.pre[e] > 0;
      if (active) s.pos++;
      else s.reluZero++;
      if (c.mask) {
        if (c.mask[e] === 0) {
          s.predZero++;
          if (active) s.fn++;
        } else if (!active) s.fp++;
      }
    }
    for (let e = 0; e < c.hwInput.length; e++) if (c.hwInput[e] === 0) s.inZero++;
    s.inputs += c.hwInput.length;
  }

  stats(): PredictorLayerStats[] {
    return [...this.m]
      .sort((a, b) => a[0] - b[0])
      .map(([opIndex, s]) => {
        const rowsPerExample = s.examples > 0 ? s.rows / s.examples : 0;
        return {
          name: s.name,
          opIndex,
          k: s.k,
          n: s.n,
          rank: s.rank,
          rows: s.rows,
          outputs: s.outputs,
          outputSparsity: s.outputs > 0 ? s.zeroOut / s.outputs : 0,
          reluSparsity: s.outputs > 0 ? s.reluZero / s.outputs : 0,
          predictedSparsity: s.outputs > 0 ? s.predZero / s.outputs : 0,
          falseNegativeRate: s.pos > 0 ? s.fn / s.pos : 0,
          falsePositiveRate: s.reluZero > 0 ? s.fp / s.reluZero : 0,
          inputSparsity: s.inputs > 0 ? s.inZero / s.inputs : 0,
          overhead: predictorOverhead(s.k, s.n, s.rank),
          layerMacs: rowsPerExample * s.k * s.n,
          predictorMacs: rowsPerExample * s.rank * (s.k + s.n),
        };
      });
  }
}

/** Network totals of per-layer statistics: MAC-weighted overhead, output-weighted rates over predicted layers. */
export function summarizePredictorStats(layers: readonly PredictorLayerStats[]): {
  overhead: number;
  outputSparsity: number;
  predictedSparsity: number;
  falseNegativeRate: number;
  falsePositiveRate: number;
} {
  const macs = layers.reduce((s, l) => s + l.layerMacs, 0);
  const pmacs = layers.reduce((s, l) => s + l.predictorMacs, 0);
  const withPred = layers.filter((l) => l.rank > 0);
  const outs = withPred.reduce((s, l) => s + l.outputs, 0);
  const w = (f: (l: PredictorLayerStats) => number, weight: (l: PredictorLayerStats) => number): number => {
    const tot = withPred.reduce((s, l) => s + weight(l), 0);
    return tot > 0 ? withPred.reduce((s, l) => s + f(l) * weight(l), 0) / tot : 0;
  };
  return {
    overhead: macs > 0 ? pmacs / macs : 0,
    outputSparsity:
      outs > 0
        ? w(
            (l) => l.outputSparsity,
            (l) => l.outputs,
          )
        : 0,
    predictedSparsity:
      outs > 0
        ? w(
            (l) => l.predictedSparsity,
            (l) => l.outputs,
          )
        : 0,
    falseNegativeRate: w(
      (l) => l.falseNegativeRate,
      (l) => l.outputs * (1 - l.reluSparsity),
    ),
    falsePositiveRate: w(
      (l) => l.falsePositiveRate,
      (l) => l.outputs * l.reluSparsity,
    ),
  };
}
