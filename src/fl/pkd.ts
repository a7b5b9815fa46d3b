/**
 * PKD (partial knowledge distillation; reconstruction, see docs/fl.md) as a strategy with four phases:
 * (1) warm-up FedAvg; (2) weak classes and confusion groups from the warm-up model's confusion matrix;
 * (3) one expert per group, trained by FedAvg on the group's samples; (4) FedAvg where clients add
 * λ·T²·KL(expert ‖ student restricted to the group) on triggered samples. FedAvg and PKD share the
 * client seeds of the global rounds, so with λ = 0 PKD reproduces FedAvg bit for bit.
 *
 * Every phase checkpoints: the state (identification, experts done, expert round) and the experts'
 * weights go to the run's checkpoint after each step, so a resumed run continues where it stopped.
 */
import { AccelabError, ConfigError } from '../core/errors.js';
import { pct } from '../core/format.js';
import { type ClassAnalysis, type GroupRule, confusionGroups } from './analysis.js';
import type { TrainOptions } from './client.js';
import type { FlConfig } from './config.js';
import type { KdJobSpec } from './job.js';
import { FedAvgPlan, type Strategy, type StrategyContext, mixSeed, phaseSalt } from './strategy.js';
import { type Weights, cloneWeights } from './weights.js';

/** One group of PKD: its expert's training, and the within-group accuracies of the expert and the global model. */
export interface ExpertRecord {
  group: number[];
  groupNames: string[];
  /** Expert rounds done. */
  rounds: number;
  /**
   * Within-group accuracy: on the test images of the group, argmax over the group's classes only.
   * `expert`: the group's expert; `warmup` / `final`: the global model after the warm-up / at the end.
   */
  withinGroupAccuracy: { expert: number; warmup: number; final?: number };
  /** The global model on the same images with the plain argmax over all classes. */
  accuracyOnGroup: { warmup: number; final?: number };
  perRound: { round: number; withinGroupAccuracy: number; meanLoss: number }[];
}

export interface PkdRecord {
  identifiedOn: 'validation' | 'test' | 'fixed';
  identification: ClassAnalysis;
  weak: number[];
  groups: number[][];
  experts: ExpertRecord[];
}

interface PkdState {
  record?: PkdRecord;
  /** Experts fully trained so far. */
  expertsDone: number;
  /** Rounds of the expert currently in training. */
  expertRound: number;
}

interface CachedExperts {
  records: ExpertRecord[];
  weights: Weights[];
}

/** The options that determine the experts, given the warm-up weights and the groups. */
function expertKey(cfg: FlConfig, groups: number[][]): string {
  const p = cfg.pkd;
  return JSON.stringify(['pkd-experts', p.warmupRounds, groups, p.expertModel ?? cfg.model, p.expertInit, p.expertRounds, p.expertEpochs, p.expertLr ?? cfg.lr]);
}

/**
 * Expert initialisation from the warm-up model: every weight is copied except the output layer,
 * whose kernel columns and bias entries are those of the group's classes. Falls back to `fresh`
 * when the architectures differ.
 */
export function expertFromGlobal(global: Weights, fresh: Weights, group: number[], numClasses: number): Weights {
  if (global.length !== fresh.length) return fresh;
  const L = global.length;
  const kernel = global[L - 2];
  const bias = global[L - 1];
  if (bias.length !== numClasses || kernel.length % numClasses !== 0) return fresh;
  const rows = kernel.length / numClasses;
  for (let i = 0; i < L - 2; i++) if (global[i].length !== fresh[i].length) return fresh;
  const k = new Float32Array(rows * group.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < group.length; j++) k[r * group.length + j] = kernel[r * numClasses + group[j]];
  const b = Float32Array.from(group, (c) => bias[c]);
  return [...cloneWeights(global.slice(0, L - 2)), k, b];
}

const expertName = (j: number) => `expert-${j}`;

/** Phase 2: weak classes and groups, from the warm-up model (or the fixed groups of the config). */
function identify(ctx: StrategyContext): PkdRecord {
  const { cfg, task } = ctx;
  const C = task.dataset.numClasses;
  const on = cfg.pkd.groups ? 'fixed' : cfg.pkd.identifyOn;
  const identification = ctx.evaluate(ctx.global, on === 'test' ? 'test' : 'validation');
  const groupRule: GroupRule = { tau: cfg.groupTau, gMax: cfg.groupMax };
  const groups = cfg.pkd.groups ? cfg.pkd.groups.map((g) => [...g].sort((a, b) => a - b)) : confusionGroups(identification.confusion, identification.weak, groupRule);
  for (const g of groups) for (const c of g) if (c >= C) throw new ConfigError(`fl config: field 'pkd.groups': class ${c} does not exist (the data set has ${C} classes)`);
  return { identifiedOn: on, identification, weak: identification.weak, groups, experts: [] };
}

/** Phase 3: one expert per group, trained by FedAvg on the group's samples (resumable per expert round). */
async function trainExperts(ctx: StrategyContext, p: PkdState, rec: PkdRecord): Promise<void> {
  const { cfg, task } = ctx;
  const C = task.dataset.numClasses;
  const expertModel = cfg.pkd.expertModel ?? cfg.model;
  const expertTrain: TrainOptions = { ...ctx.train(), epochs: cfg.pkd.expertEpochs, lr: cfg.pkd.expertLr ?? cfg.lr };
  const warmupGlobal = ctx.globalRound === cfg.pkd.warmupRounds ? ctx.global : null;
  const cacheKey = expertKey(cfg, rec.groups);
  const cached = p.expertsDone === 0 && p.expertRound === 0 ? (ctx.cache?.get(cacheKey) as CachedExperts | undefined) : undefined;
  if (cached) {
    rec.experts = structuredClone(cached.records);
    cached.weights.forEach((w, j) => {
      ctx.weights.set(expertName(j), cloneWeights(w));
    });
    p.expertsDone = rec.groups.length;
    ctx.save();
  }
  for (let j = p.expertsDone; j < rec.groups.length; j++) {
    const g = rec.groups[j];
    if (p.expertRound === 0) {
      if (!warmupGlobal) throw new AccelabError('internal: expert training must start right after the warm-up');
      const fresh = ctx.initialWeights(expertModel, g.length, mixSeed(cfg.seed, phaseSalt(`expert-${j}`)));
      const init = cfg.pkd.expertInit === 'warmup' && expertModel === cfg.model ? expertFromGlobal(warmupGlobal, fresh, g, C) : fresh;
      ctx.weights.set(expertName(j), init);
      const w = ctx.groupAccuracy(cfg.model, warmupGlobal, g, 'all');
      rec.experts[j] = {
        group: g,
        groupNames: g.map((c) => task.dataset.classNames[c]),
        rounds: 0,
        withinGroupAccuracy: { expert: ctx.groupAccuracy(expertModel, init, g, 'group').withinGroup, warmup: w.withinGroup },
        accuracyOnGroup: { warmup: w.plain },
        perRound: [],
      };
    }
    const plan = new FedAvgPlan({ seed: cfg.seed, phase: `expert-${j}`, model: expertModel, train: expertTrain, fraction: cfg.fraction, minClients: cfg.minClients, classes: g });
    if (p.expertRound < cfg.pkd.expertRounds) ctx.progress.start(`expert ${j + 1}/${rec.groups.length}`, cfg.pkd.expertRounds - p.expertRound);
    while (p.expertRound < cfg.pkd.expertRounds) {
      const round = p.expertRound + 1;
      const out = await ctx.fitRound(plan, `expert${j}`, round, ctx.weights.get(expertName(j)) as Weights);
      ctx.weights.set(expertName(j), out.weights);
      const acc = ctx.groupAccuracy(expertModel, out.weights, g, 'group').withinGroup;
      rec.experts[j].perRound.push({ round, withinGroupAccuracy: acc, meanLoss: out.meanLoss });
      rec.experts[j].withinGroupAccuracy.expert = acc;
      rec.experts[j].rounds = round;
      p.expertRound = round;
      ctx.save();
      ctx.progress.tick(1, `expert acc ${pct(acc)}`);
      ctx.roundDone(round);
    }
    ctx.progress.stop();
    p.expertsDone = j + 1;
    p.expertRound = 0;
    ctx.save();
  }
  if (!cached && ctx.cache) {
    const entry: CachedExperts = { records: structuredClone(rec.experts), weights: rec.groups.map((_, j) => cloneWeights(ctx.weights.get(expertName(j)) as Weights)) };
    ctx.cache.set(cacheKey, entry);
  }
}

export function pkdStrategy(cfg: FlConfig): Strategy {
  return {
    name: 'pkd',
    initialState: (): PkdState => ({ expertsDone: 0, expertRound: 0 }),
    inheritedPhase(round: number): string {
      if (round > cfg.pkd.warmupRounds) throw new ConfigError(`startFrom: round ${round} is past the ${cfg.pkd.warmupRounds} warm-up rounds`);
      return 'warmup';
    },
    start: runPkd,
    record: (ctx: StrategyContext) => ({ pkd: (ctx.state as PkdState).record }),
  };
}

async function runPkd(ctx: StrategyContext): Promise<void> {
  const { cfg } = ctx;
  const p = ctx.state as PkdState;
  // Phase 1: warm-up FedAvg.
  await ctx.globalRounds(cfg.pkd.warmupRounds, 'warmup', ctx.globalPlan(), { label: 'warm-up rounds', evaluateLast: true });
  // Phase 2: identification.
  if (!p.record) {
    p.record = identify(ctx);
    p.expertsDone = 0;
    p.expertRound = 0;
    ctx.save();
  }
  const rec = p.record;
  // Phase 3: experts.
  await trainExperts(ctx, p, rec);
  // Phase 4: FedAvg with partial KD.
  const expertRefs = await Promise.all(rec.groups.map((_, j) => ctx.share(expertName(j), ctx.weights.get(expertName(j)) as Weights)));
  const kd: KdJobSpec = {
    groups: rec.groups,
    weak: rec.weak,
    triggerOn: cfg.pkd.triggerOn,
    expertRefs,
    expertModel: cfg.pkd.expertModel ?? cfg.model,
    temperature: cfg.pkd.temperature,
    lambda: cfg.pkd.lambda,
    trigger: cfg.pkd.trigger,
    expertGate: cfg.pkd.expertGate,
  };
  await ctx.globalRounds(cfg.rounds, 'pkd', ctx.globalPlan(rec.groups.length ? kd : undefined), { label: 'PKD rounds' });
  await Promise.all(expertRefs.map((r) => ctx.unshare(r)));
  for (let j = 0; j < rec.groups.length; j++) {
    const w = ctx.groupAccuracy(cfg.model, ctx.global, rec.groups[j], 'all');
    rec.experts[j].withinGroupAccuracy.final = w.withinGroup;
    rec.experts[j].accuracyOnGroup.final = w.plain;
  }
}
