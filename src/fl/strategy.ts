/**
 * Strategies. A strategy owns the phases of a federated method (as Flower's `Strategy.start()` does):
 * FedAvg is one phase of global rounds; PKD is warm-up, identification, expert training and
 * distillation rounds. The round driver (run.ts) gives it a `StrategyContext`: federated rounds
 * through the executor, evaluation, checkpointed state and weights, progress.
 *
 * Inside a phase, a `RoundPlan` decides which clients train with what instructions (`configureFit`)
 * and how their results are combined (`aggregateFit`), as Flower's round-level strategy methods do.
 * A new federated method is one strategy file plus one line in strategies.ts.
 */
import type { Progress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import type { ClassAnalysis } from './analysis.js';
import type { TrainOptions } from './client.js';
import type { FlConfig } from './config.js';
import type { KdJobSpec } from './job.js';
import type { PkdRecord } from './pkd.js';
import type { PreparedTask } from './task.js';
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
  /** Partial-KD term (PKD's distillation rounds); `expertRefs` are store keys. */
  kd?: KdJobSpec;
}

export interface FitResult {
  clientId: number;
  numExamples: number;
  weights: Weights;
  meanLoss: number;
  kdTriggered: number;
}

/** The round-level decisions of a phase. */
export interface RoundPlan {
  configureFit(round: number, numClients: number): FitInstruction[];
  aggregateFit(round: number, results: FitResult[], current: Weights): Weights;
}

/** One federated round as the driver reports it to the strategy. */
export interface RoundOutcome {
  weights: Weights;
  clients: number[];
  /** Sample-weighted mean of the clients' mean losses. */
  meanLoss: number;
  kdTriggered: number;
}

/** A global round as recorded in the result. */
export interface RoundRecord {
  round: number;
  /** The strategy's name of the phase ('fedavg'; PKD: 'warmup', 'pkd'). */
  phase: string;
  clients: number[];
  meanLoss: number;
  kdTriggered: number;
  durationS: number;
  /** Test-set analysis of the global model after this round (absent when not evaluated). */
  eval?: ClassAnalysis;
}

/** What the round driver offers a strategy. */
export interface StrategyContext {
  readonly cfg: FlConfig;
  readonly task: PreparedTask;
  readonly progress: Progress;
  /** The global model now. */
  readonly global: Weights;
  /** Global rounds done so far (inherited ones included). */
  readonly globalRound: number;
  /** Results shared between runs of a sweep (same task, seed and warm-up); absent for a single run. */
  readonly cache?: Map<string, unknown>;
  /** The client training options of the config (optimizer, lr, momentum, epochs, batch size). */
  train(): TrainOptions;
  /** The plan of the global model's rounds: FedAvg over the configured clients, with `kd` when given. */
  globalPlan(kd?: KdJobSpec): RoundPlan;
  /**
   * Runs global rounds of `plan` until `until` rounds are done: evaluates on the test set (every
   * `evalEvery` rounds, the run's last round, and round `until` when `evaluateLast`), records,
   * checkpoints and counts each round.
   */
  globalRounds(until: number, phase: string, plan: RoundPlan, o: { label: string; evaluateLast?: boolean }): Promise<void>;
  /** One federated round of `plan` on `weights` (not recorded, not counted); `key` names the phase in store keys. */
  fitRound(plan: RoundPlan, key: string, round: number, weights: Weights): Promise<RoundOutcome>;
  /** Counts a round run by this invocation (the driver's interruption hook fires here). */
  roundDone(round: number): void;
  /** The strategy's checkpointed state (plain JSON), `initialState()` on a fresh run. */
  state: unknown;
  /** Extra weights checkpointed with the run (e.g. PKD's experts), by name. */
  readonly weights: Map<string, Weights>;
  /** Writes the checkpoint (global weights, extra weights, state). */
  save(): void;
  /** Seeded initial weights of `model` with `numClasses` outputs. */
  initialWeights(model: string, numClasses: number, seed: number): Weights;
  /** Per-class analysis of the global architecture with weights `w` on the test set or the server's validation split. */
  evaluate(w: Weights, split: 'test' | 'validation'): ClassAnalysis;
  /** Test accuracy on the images of `group`: argmax over the group's classes (within-group) and over all classes (plain). */
  groupAccuracy(model: string, w: Weights, group: number[], outputs: 'all' | 'group'): { withinGroup: number; plain: number };
  /** Puts weights in the executor's store for the jobs to read; `unshare` deletes them. */
  share(name: string, w: Weights): Promise<string>;
  unshare(ref: string): Promise<void>;
}

export interface Strategy {
  readonly name: string;
  /** The strategy's checkpointed state on a fresh run. */
  initialState(): unknown;
  /**
   * The phase label of the first `round` global rounds when the run starts from another run's state
   * (a shared warm-up); throws ConfigError when the strategy cannot start there.
   */
  inheritedPhase(round: number): string;
  /** Runs (or, on resume, continues) every phase to the end. */
  start(ctx: StrategyContext): Promise<void>;
  /** The strategy's part of the run's result, read from its state. */
  record(ctx: StrategyContext): StrategyRecords;
}

/** Strategy-specific parts of a run's result: one optional field per strategy that has one. */
export interface StrategyRecords {
  pkd?: PkdRecord;
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

export interface FedAvgPlanOptions {
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
}

/** FedAvg's round: a seeded sample of clients, all with the same instructions; sample-weighted averaging. */
export class FedAvgPlan implements RoundPlan {
  constructor(readonly opts: FedAvgPlanOptions) {}

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
}
