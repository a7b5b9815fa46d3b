/**
 * The server: runs a federated experiment (FedAvg, or the three PKD stages) round by round,
 * evaluates the global model per class after every round, and checkpoints after every round so
 * that `resume` continues an interrupted run to the same final model.
 *
 * PKD (reconstruction, see docs/fl.md): (1) warm-up FedAvg; (2) weak classes and confusion groups
 * from the warm-up model's confusion matrix; (3) one expert per group, trained by FedAvg on the
 * group's samples; (4) FedAvg where clients add λ·T²·KL(expert ‖ student restricted to the group)
 * on triggered samples. FedAvg and PKD share the client seeds of the global rounds, so with λ = 0
 * PKD reproduces FedAvg bit for bit.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccelabError, ConfigError } from '../core/errors.js';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { type ClassAnalysis, type GroupRule, type WeakRule, analyze, confusionGroups } from './analysis.js';
import { type TrainOptions, cachedModel, getWeights, predict, setWeights } from './client.js';
import type { FlConfig } from './config.js';
import type { FitExecutor } from './executors/types.js';
import { type FitJob, type KdJobSpec, storeFor } from './job.js';
import { FedAvg, type FitResult, PkdStrategy, mixSeed, phaseSalt } from './strategy.js';
import { type PreparedTask, type TaskSpec, buildModel, prepareTask } from './task.js';
import { type Weights, cloneWeights, decodeWeights, encodeWeights } from './weights.js';

export interface RoundRecord {
  round: number;
  phase: 'fedavg' | 'warmup' | 'pkd';
  clients: number[];
  meanLoss: number;
  kdTriggered: number;
  durationMs: number;
  /** Test-set analysis of the global model after this round (absent when not evaluated). */
  eval?: ClassAnalysis;
}

export interface ExpertRecord {
  group: number[];
  groupNames: string[];
  rounds: number;
  /** Expert's accuracy on the test samples of the group (argmax over the group). */
  expertAcc: number;
  /** Warm-up global model on the same samples, argmax restricted to the group's classes. */
  warmupRestrictedAcc: number;
  /** Warm-up global model on the same samples, plain argmax over all classes. */
  warmupAcc: number;
  /** Final global model, restricted and plain (filled at the end of the run). */
  finalRestrictedAcc?: number;
  finalAcc?: number;
  perRound: { round: number; expertAcc: number; meanLoss: number }[];
}

export interface PkdRecord {
  identifiedOn: 'validation' | 'test' | 'fixed';
  identification: ClassAnalysis;
  weak: number[];
  groups: number[][];
  experts: ExpertRecord[];
}

export interface FlResult {
  config: FlConfig;
  dataset: string;
  classNames: string[];
  numTrain: number;
  numTest: number;
  histograms: number[][];
  rounds: RoundRecord[];
  final: ClassAnalysis;
  pkd?: PkdRecord;
  executor: string;
  totalMs: number;
  /** Global rounds per minute over the rounds run by this invocation. */
  roundsPerMinute: number;
  /** SHA-like fingerprint of the final weights (equal runs have equal fingerprints). */
  finalFingerprint: string;
}

interface State {
  version: 1;
  configKey: string;
  globalRound: number;
  rounds: RoundRecord[];
  pkd?: {
    record?: PkdRecord;
    /** Experts fully trained so far. */
    expertsDone: number;
    /** Rounds of the expert currently in training. */
    expertRound: number;
  };
}

export class Interrupted extends AccelabError {
  constructor(round: number) {
    super(`run interrupted after round ${round} (test hook): continue with resume`);
  }
}

export interface RunOptions {
  executor: FitExecutor;
  /** Run folder for checkpoints (no checkpoints when absent). */
  dir?: string;
  resume?: boolean;
  progress?: Progress;
  /** Test hook: stop (throw Interrupted) after this many rounds run by this invocation. */
  stopAfter?: number;
  /** Test hook passed on to every job (BullMQ fault test). */
  holdMs?: number;
  /** Called after every global round. */
  onRound?: (r: RoundRecord) => void;
  /** Called with the global weights after every global round (e.g. to share a warm-up between runs). */
  onWeights?: (round: number, w: Weights) => void;
  /**
   * Start from the state of another run after `round` global rounds (its records and weights) instead
   * of from scratch. Valid only when that run used the same task, seed and training options for those
   * rounds (FedAvg's first rounds are PKD's warm-up): the comparison uses it to share the warm-up.
   */
  startFrom?: { round: number; rounds: RoundRecord[]; weights: Weights };
  /**
   * Trained experts shared between runs that start from the same warm-up (a sweep): keyed by the
   * groups and the expert options, so variants that differ only in λ, T or the trigger train the
   * experts once. Valid only across runs of the same task, seed and warm-up.
   */
  expertCache?: Map<string, { records: ExpertRecord[]; weights: Weights[] }>;
}

/** The options that determine stage 3's result, given the warm-up weights and the groups. */
export function expertKey(cfg: FlConfig, groups: number[][]): string {
  const p = cfg.pkd;
  return JSON.stringify([p.warmupRounds, groups, p.expertModel ?? cfg.model, p.expertInit, p.expertRounds, p.expertEpochs, p.expertLr ?? cfg.lr]);
}

export function taskSpecOf(c: FlConfig): TaskSpec {
  return {
    data: { name: c.dataset, trainLimit: c.trainLimit, testLimit: c.testLimit, valPerClass: c.valPerClass },
    model: c.model,
    clients: c.clients,
    partition: { kind: c.partition, alpha: c.alpha, shardsPerClient: c.shardsPerClient },
    seed: c.seed,
  };
}

function trainOf(c: FlConfig): TrainOptions {
  return { epochs: c.epochs, batchSize: c.batchSize, optimizer: c.optimizer, lr: c.lr, momentum: c.momentum };
}

export function weightsFingerprint(w: Weights): string {
  // FNV-1a over the raw bytes, two lanes: enough to tell runs apart in reports and tests.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (const t of w) {
    const u = new Uint32Array(t.buffer, t.byteOffset, t.length);
    for (let i = 0; i < u.length; i++) {
      h1 = Math.imul(h1 ^ u[i], 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ (u[i] + i), 0x5bd1e995) >>> 0;
    }
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** Global-model weights at initialisation (seeded). */
export function initialWeights(task: PreparedTask, model: string, numClasses: number, seed: number): Weights {
  const m = buildModel(model, task.inputShape, numClasses, seed);
  const w = getWeights(m);
  m.dispose();
  return w;
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

function evalOn(task: PreparedTask, model: string, w: Weights, split: 'test' | 'validation', rule: WeakRule): ClassAnalysis {
  const ds = task.dataset;
  const m = cachedModel(model, task.inputShape, ds.numClasses);
  setWeights(m, w);
  const images = split === 'test' ? ds.test.images : ds.train.images;
  const labels = split === 'test' ? ds.test.labels : ds.train.labels;
  const idx = split === 'test' ? Int32Array.from({ length: ds.test.count }, (_, i) => i) : task.valIndices;
  const pred = predict(m, images, ds.shape, idx, task.norm);
  const y = Int32Array.from(idx, (i) => labels[i]);
  return analyze(y, pred, ds.numClasses, rule);
}

function groupTestIndices(task: PreparedTask, group: number[]): Int32Array {
  const s = new Set(group);
  const out: number[] = [];
  for (let i = 0; i < task.dataset.test.count; i++) if (s.has(task.dataset.test.labels[i])) out.push(i);
  return Int32Array.from(out);
}

function withinGroupAccs(task: PreparedTask, model: string, w: Weights, group: number[]): { restricted: number; plain: number } {
  const ds = task.dataset;
  const idx = groupTestIndices(task, group);
  const m = cachedModel(model, task.inputShape, ds.numClasses);
  setWeights(m, w);
  const pr = predict(m, ds.test.images, ds.shape, idx, task.norm, { classes: group });
  const pp = predict(m, ds.test.images, ds.shape, idx, task.norm);
  let a = 0;
  let b = 0;
  for (let i = 0; i < idx.length; i++) {
    const y = ds.test.labels[idx[i]];
    if (pr[i] === y) a++;
    if (pp[i] === y) b++;
  }
  return { restricted: idx.length ? a / idx.length : 0, plain: idx.length ? b / idx.length : 0 };
}

function expertAcc(task: PreparedTask, model: string, w: Weights, group: number[]): number {
  const ds = task.dataset;
  const idx = groupTestIndices(task, group);
  const m = cachedModel(model, task.inputShape, group.length);
  setWeights(m, w);
  const p = predict(m, ds.test.images, ds.shape, idx, task.norm);
  let a = 0;
  for (let i = 0; i < idx.length; i++) if (group[p[i]] === ds.test.labels[idx[i]]) a++;
  return idx.length ? a / idx.length : 0;
}

/** A key that changes when anything affecting the result changes (executor and eval cadence excluded). */
function configKey(c: FlConfig): string {
  const { evalEvery: _e, ...rest } = c;
  return JSON.stringify(rest);
}

class Checkpoint {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  exists(): boolean {
    return existsSync(join(this.dir, 'state.json'));
  }
  save(state: State, weights: Record<string, Weights>): void {
    // Weights first, state last: the state only names weights that are on disk.
    for (const [k, w] of Object.entries(weights)) writeFileAtomic(join(this.dir, `${k}.aflw`), encodeWeights(w));
    writeJsonAtomic(join(this.dir, 'state.json'), state);
  }
  loadState(): State {
    return readJson<State>(join(this.dir, 'state.json'));
  }
  loadWeights(k: string): Weights {
    const b = readFileSync(join(this.dir, `${k}.aflw`));
    return decodeWeights(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }
}

/** Runs a federated experiment end to end. */
export async function runFederated(cfg: FlConfig, opts: RunOptions): Promise<FlResult> {
  const t0 = Date.now();
  const progress = opts.progress ?? silentProgress;
  const ex = opts.executor;
  const spec = taskSpecOf(cfg);
  const task = await prepareTask(spec);
  const ds = task.dataset;
  const C = ds.numClasses;
  const weakRule: WeakRule = { rule: cfg.weakRule, delta: cfg.weakDelta, k: cfg.weakK };
  const groupRule: GroupRule = { tau: cfg.groupTau, gMax: cfg.groupMax };
  const store = await storeFor(ex.store);
  const nonce = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  const prefix = `accelab-fl-${mixSeed(cfg.seed, phaseSalt(configKey(cfg))).toString(36)}-${nonce}`;
  const ckpt = opts.dir ? new Checkpoint(join(opts.dir, 'checkpoint')) : null;
  const expertModel = cfg.pkd.expertModel ?? cfg.model;

  let state: State;
  let global: Weights;
  const experts: Weights[] = [];
  if (opts.resume) {
    if (!ckpt?.exists()) throw new ConfigError(`--resume: no checkpoint in ${opts.dir ?? '(no --out)'}/checkpoint: pass the --out folder of the interrupted run`);
    state = ckpt.loadState();
    if (state.configKey !== configKey(cfg)) throw new ConfigError('--resume: the checkpoint was written with a different config: resume with the same config (see config.json in the run folder)');
    global = ckpt.loadWeights('global');
    const p = state.pkd;
    if (p?.record) {
      const n = p.expertsDone + (p.expertRound > 0 ? 1 : 0);
      for (let j = 0; j < n; j++) experts.push(ckpt.loadWeights(`expert-${j}`));
    }
  } else {
    state = { version: 1, configKey: configKey(cfg), globalRound: 0, rounds: [], pkd: cfg.method === 'pkd' ? { expertsDone: 0, expertRound: 0 } : undefined };
    global = initialWeights(task, cfg.model, C, cfg.seed);
    if (opts.startFrom) {
      const sf = opts.startFrom;
      if (cfg.method === 'pkd' && sf.round > cfg.pkd.warmupRounds) throw new ConfigError(`startFrom: round ${sf.round} is past the ${cfg.pkd.warmupRounds} warm-up rounds`);
      state.globalRound = sf.round;
      state.rounds = sf.rounds.slice(0, sf.round).map((r) => ({ ...r, phase: cfg.method === 'pkd' ? 'warmup' : 'fedavg' }));
      global = cloneWeights(sf.weights);
    }
  }
  const save = () => {
    if (!ckpt) return;
    const w: Record<string, Weights> = { global };
    experts.forEach((e, j) => {
      w[`expert-${j}`] = e;
    });
    ckpt.save(state, w);
  };

  let roundsThisRun = 0;
  let globalMs = 0;
  let globalRoundsRun = 0;
  const bump = (round: number) => {
    roundsThisRun++;
    if (opts.stopAfter !== undefined && roundsThisRun >= opts.stopAfter) throw new Interrupted(round);
  };

  /** One federated round of `strategy` on `weights`; returns the aggregate. */
  const fedRound = async (strategy: FedAvg, phase: string, round: number, weights: Weights) => {
    const instr = strategy.configureFit(round, cfg.clients);
    const base = `${prefix}-${phase}-r${round}`;
    const globalRef = `${base}-global`;
    await store.put(globalRef, weights);
    const jobs: FitJob[] = instr.map((i) => ({
      id: `${base}-c${i.clientId}`,
      task: spec,
      store: ex.store,
      weightsRef: globalRef,
      outRef: `${base}-c${i.clientId}`,
      clientId: i.clientId,
      round,
      seed: i.seed,
      model: i.model,
      train: i.train,
      classes: i.classes,
      kd: i.kd,
      holdMs: opts.holdMs,
    }));
    const results = await ex.run(jobs);
    const fits: FitResult[] = await Promise.all(
      results.map(async (r) => ({ clientId: r.clientId, numExamples: r.numExamples, weights: await store.get(r.outRef), meanLoss: r.meanLoss, kdTriggered: r.kdTriggered })),
    );
    const next = strategy.aggregateFit(round, fits, weights);
    await Promise.all([store.delete(globalRef), ...results.map((r) => store.delete(r.outRef))]);
    const n = fits.reduce((a, f) => a + f.numExamples, 0);
    return {
      weights: next,
      clients: instr.map((i) => i.clientId),
      meanLoss: n ? fits.reduce((a, f) => a + f.meanLoss * f.numExamples, 0) / n : 0,
      kdTriggered: fits.reduce((a, f) => a + f.kdTriggered, 0),
    };
  };

  const globalStrategy = (kd?: KdJobSpec) =>
    new (kd ? PkdStrategy : FedAvg)({
      seed: cfg.seed,
      phase: 'global',
      model: cfg.model,
      train: trainOf(cfg),
      fraction: cfg.fraction,
      minClients: cfg.minClients,
      kd,
      evaluateFn: async (_round, w) => evalOn(task, cfg.model, w, 'test', weakRule),
    });

  const runGlobalRounds = async (until: number, phase: RoundRecord['phase'], kd?: KdJobSpec) => {
    const strat = globalStrategy(kd);
    if (state.globalRound < until) progress.start(phase === 'pkd' ? 'PKD rounds' : phase === 'warmup' ? 'warm-up rounds' : 'FedAvg rounds', until - state.globalRound);
    while (state.globalRound < until) {
      const round = state.globalRound + 1;
      const r0 = Date.now();
      const out = await fedRound(strat, 'global', round, global);
      global = out.weights;
      const evaluate = round % cfg.evalEvery === 0 || round === cfg.rounds || (phase === 'warmup' && round === until);
      const rec: RoundRecord = { round, phase, clients: out.clients, meanLoss: out.meanLoss, kdTriggered: out.kdTriggered, durationMs: Date.now() - r0 };
      if (evaluate) rec.eval = (await strat.evaluate(round, global)) ?? undefined;
      globalMs += Date.now() - r0;
      globalRoundsRun++;
      state.globalRound = round;
      state.rounds.push(rec);
      save();
      opts.onRound?.(rec);
      opts.onWeights?.(round, global);
      progress.tick(1, rec.eval ? `acc ${(rec.eval.accuracy * 100).toFixed(1)}% ICD ${(rec.eval.discrepancy * 100).toFixed(1)}pp` : `loss ${rec.meanLoss.toFixed(3)}`);
      bump(round);
    }
    progress.stop();
  };

  if (cfg.method === 'fedavg') {
    await runGlobalRounds(cfg.rounds, 'fedavg');
  } else {
    const p = state.pkd!;
    // Stage 1: warm-up FedAvg.
    await runGlobalRounds(cfg.pkd.warmupRounds, 'warmup');
    // Stage 2: identification.
    if (!p.record) {
      const on = cfg.pkd.groups ? 'fixed' : cfg.pkd.identifyOn;
      const identification = evalOn(task, cfg.model, global, on === 'test' ? 'test' : 'validation', weakRule);
      const groups = cfg.pkd.groups ? cfg.pkd.groups.map((g) => [...g].sort((a, b) => a - b)) : confusionGroups(identification.confusion, identification.weak, groupRule);
      for (const g of groups) for (const c of g) if (c >= C) throw new ConfigError(`fl config: field 'pkd.groups': class ${c} does not exist (the data set has ${C} classes)`);
      p.record = { identifiedOn: on, identification, weak: identification.weak, groups, experts: [] };
      p.expertsDone = 0;
      p.expertRound = 0;
      save();
    }
    const rec = p.record;
    // Stage 3: one expert per group, trained by FedAvg on the group's samples.
    const expertTrain: TrainOptions = { ...trainOf(cfg), epochs: cfg.pkd.expertEpochs, lr: cfg.pkd.expertLr ?? cfg.lr };
    const warmupGlobal = state.globalRound === cfg.pkd.warmupRounds ? global : null;
    const cacheKey = expertKey(cfg, rec.groups);
    const cached = p.expertsDone === 0 && p.expertRound === 0 ? opts.expertCache?.get(cacheKey) : undefined;
    if (cached) {
      rec.experts = structuredClone(cached.records);
      cached.weights.forEach((w, j) => {
        experts[j] = cloneWeights(w);
      });
      p.expertsDone = rec.groups.length;
      save();
    }
    for (let j = p.expertsDone; j < rec.groups.length; j++) {
      const g = rec.groups[j];
      if (p.expertRound === 0) {
        if (!warmupGlobal) throw new AccelabError('internal: expert training must start right after the warm-up');
        const fresh = initialWeights(task, expertModel, g.length, mixSeed(cfg.seed, phaseSalt(`expert-${j}`)));
        experts[j] = cfg.pkd.expertInit === 'warmup' && expertModel === cfg.model ? expertFromGlobal(warmupGlobal, fresh, g, C) : fresh;
        const w = withinGroupAccs(task, cfg.model, warmupGlobal, g);
        rec.experts[j] = {
          group: g,
          groupNames: g.map((c) => ds.classNames[c]),
          rounds: 0,
          expertAcc: expertAcc(task, expertModel, experts[j], g),
          warmupRestrictedAcc: w.restricted,
          warmupAcc: w.plain,
          perRound: [],
        };
      }
      const strat = new FedAvg({ seed: cfg.seed, phase: `expert-${j}`, model: expertModel, train: expertTrain, fraction: cfg.fraction, minClients: cfg.minClients, classes: g });
      if (p.expertRound < cfg.pkd.expertRounds) progress.start(`expert ${j + 1}/${rec.groups.length}`, cfg.pkd.expertRounds - p.expertRound);
      while (p.expertRound < cfg.pkd.expertRounds) {
        const round = p.expertRound + 1;
        const out = await fedRound(strat, `expert${j}`, round, experts[j]);
        experts[j] = out.weights;
        const acc = expertAcc(task, expertModel, experts[j], g);
        rec.experts[j].perRound.push({ round, expertAcc: acc, meanLoss: out.meanLoss });
        rec.experts[j].expertAcc = acc;
        rec.experts[j].rounds = round;
        p.expertRound = round;
        save();
        progress.tick(1, `expert acc ${(acc * 100).toFixed(1)}%`);
        bump(round);
      }
      progress.stop();
      p.expertsDone = j + 1;
      p.expertRound = 0;
      save();
    }
    if (!cached && opts.expertCache) opts.expertCache.set(cacheKey, { records: structuredClone(rec.experts), weights: experts.map(cloneWeights) });
    // Stage 4: FedAvg with partial KD.
    const expertRefs = rec.groups.map((_, j) => `${prefix}-expert-${j}`);
    await Promise.all(experts.map((e, j) => store.put(expertRefs[j], e)));
    const kd: KdJobSpec = { groups: rec.groups, weak: rec.weak, triggerOn: cfg.pkd.triggerOn, expertRefs, expertModel, temperature: cfg.pkd.temperature, lambda: cfg.pkd.lambda, trigger: cfg.pkd.trigger, expertGate: cfg.pkd.expertGate };
    await runGlobalRounds(cfg.rounds, 'pkd', rec.groups.length ? kd : undefined);
    await Promise.all(expertRefs.map((r) => store.delete(r)));
    for (let j = 0; j < rec.groups.length; j++) {
      const w = withinGroupAccs(task, cfg.model, global, rec.groups[j]);
      rec.experts[j].finalRestrictedAcc = w.restricted;
      rec.experts[j].finalAcc = w.plain;
    }
  }

  const last = state.rounds[state.rounds.length - 1];
  const final = last?.eval ?? evalOn(task, cfg.model, global, 'test', weakRule);
  return {
    config: cfg,
    dataset: ds.name,
    classNames: ds.classNames,
    numTrain: task.clientIndices.reduce((a, ix) => a + ix.length, 0),
    numTest: ds.test.count,
    histograms: task.histograms,
    rounds: state.rounds,
    final,
    pkd: state.pkd?.record,
    executor: ex.name,
    totalMs: Date.now() - t0,
    roundsPerMinute: globalMs > 0 ? (globalRoundsRun * 60000) / globalMs : 0,
    finalFingerprint: weightsFingerprint(global),
  };
}
