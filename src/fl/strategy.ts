/**
 * Flower-style strategy: the server decides which clients train and with what instructions
 * (`configureFit`), how their results are combined (`aggregateFit`) and how the new global model
 * is judged (`evaluate`). How clients actually run is the executor's business (executors/).
 */
import { Rng } from '../core/rng.js';
import type { ClassAnalysis } from './analysis.js';
import type { KdJobSpec } from './job.js';
import type { TrainOptions } from './client.js';
import type { Weights } from './weights.js';

/** What one client is asked to do in a round. */
export interface FitInstruction {
  clientId: number;
  /** Seed of this client's local training in this round (data order). */
  seed: number;
  model: string;
  train: TrainOptions;
  /** Train on these classes only, relabelled 0..n-1 (expert training). */
  classes?: number[];
  /** Partial-KD term (PKD stage 4); `expertRefs` are store keys. */
  kd?: KdJobSpec;
}

export interface FitResult {
  clientId: number;
  numExamples: number;
  weights: Weights;
  meanLoss: number;
  kdTriggered: number;
}

export interface Strategy {
  readonly name: string;
  configureFit(round: number, numClients: number): FitInstruction[];
  aggregateFit(round: number, results: FitResult[], current: Weights): Weights;
  evaluate(round: number, weights: Weights): Promise<ClassAnalysis | null>;
}

/** A 31-bit seed mixed from integers (stable across processes and machines). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = (h ^ (h >>> 12)) >>> 0;
  }
  return h & 0x7fffffff;
}

/** Stable numeric salt of a phase name ('global', 'expert-0', ...). */
export function phaseSalt(phase: string): number {
  let h = 7;
  for (let i = 0; i < phase.length; i++) h = (Math.imul(h, 31) + phase.charCodeAt(i)) >>> 0;
  return h;
}

/** Sample-weighted average Σ (n_k / n) w_k, accumulated in float64 in client-id order. */
export function fedAvg(results: readonly FitResult[]): Weights {
  if (results.length === 0) throw new Error('fedAvg: no client results to aggregate');
  const sorted = [...results].sort((a, b) => a.clientId - b.clientId);
  const total = sorted.reduce((a, r) => a + r.numExamples, 0);
  return sorted[0].weights.map((_, i) => {
    const acc = new Float64Array(sorted[0].weights[i].length);
    for (const r of sorted) {
      const f = total > 0 ? r.numExamples / total : 1 / sorted.length;
      const w = r.weights[i];
      for (let j = 0; j < acc.length; j++) acc[j] += f * w[j];
    }
    return Float32Array.from(acc);
  });
}

export interface FedAvgOptions {
  seed: number;
  /** Salt distinguishing training phases (global model vs each expert) in the client seeds. */
  phase: string;
  model: string;
  train: TrainOptions;
  /** Fraction of clients sampled per round (Flower's fraction_fit). */
  fraction: number;
  /** At least this many clients per round (Flower's min_fit_clients). */
  minClients: number;
  classes?: number[];
  kd?: KdJobSpec;
  evaluateFn?: (round: number, weights: Weights) => Promise<ClassAnalysis | null>;
}

export class FedAvg implements Strategy {
  readonly name: string = 'fedavg';
  constructor(readonly opts: FedAvgOptions) {}

  /** Client ids taking part in `round` (sorted); depends only on seed, phase and round. */
  selectClients(round: number, numClients: number): number[] {
    const m = Math.min(numClients, Math.max(this.opts.minClients, Math.round(this.opts.fraction * numClients)));
    if (m >= numClients) return Array.from({ length: numClients }, (_, k) => k);
    const rng = new Rng(mixSeed(this.opts.seed, phaseSalt(this.opts.phase), round, 0xc11e));
    return Array.from(rng.permutation(numClients).slice(0, m)).sort((a, b) => a - b);
  }

  configureFit(round: number, numClients: number): FitInstruction[] {
    return this.selectClients(round, numClients).map((clientId) => ({
      clientId,
      seed: mixSeed(this.opts.seed, phaseSalt(this.opts.phase), round, clientId),
      model: this.opts.model,
      train: this.opts.train,
      classes: this.opts.classes,
      kd: this.opts.kd,
    }));
  }

  aggregateFit(_round: number, results: FitResult[], _current: Weights): Weights {
    return fedAvg(results);
  }

  evaluate(round: number, weights: Weights): Promise<ClassAnalysis | null> {
    return this.opts.evaluateFn ? this.opts.evaluateFn(round, weights) : Promise.resolve(null);
  }
}

/** PKD stage 4 is FedAvg whose clients add the partial-KD term: same aggregation, other instructions. */
export class PkdStrategy extends FedAvg {
  override readonly name = 'pkd';
}
