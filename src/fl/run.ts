/**
 * The round driver: runs a federated experiment with the strategy of its `method` (strategies.ts),
 * sends each round's client jobs to the executor, evaluates the global model per class, and
 * checkpoints after every round (global weights, the strategy's state and extra weights) so that
 * `resume` continues an interrupted run to the same final model. The driver knows no method: the
 * strategy owns its phases (fedavg.ts, pkd.ts).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccelabError, ConfigError } from '../core/errors.js';
import { pct } from '../core/format.js';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { createModel } from '../nn/models.js';
import { predictLabels } from '../nn/train.js';
import { type ClassAnalysis, type WeakRule, analyze } from './analysis.js';
import { type TrainOptions, cachedModel, getWeights, setWeights } from './client.js';
import type { FlConfig } from './config.js';
import type { FitExecutor } from './executors/types.js';
import { type FitJob, storeFor } from './job.js';
import { strategyFor } from './strategies.js';
import { FedAvgPlan, type FitResult, type RoundOutcome, type RoundPlan, type RoundRecord, type StrategyContext, type StrategyRecords, mixSeed, phaseSalt } from './strategy.js';
import { type PreparedTask, type TaskSpec, prepareTask } from './task.js';
import { type Weights, cloneWeights, decodeWeights, encodeWeights } from './weights.js';

export type { ExpertRecord, PkdRecord } from './pkd.js';
export type { RoundRecord } from './strategy.js';

export interface FlResult extends StrategyRecords {
  config: FlConfig;
  dataset: string;
  classNames: string[];
  numTrain: number;
  numTest: number;
  histograms: number[][];
  rounds: RoundRecord[];
  final: ClassAnalysis;
  executor: string;
  durationS: number;
  /** Global rounds per minute over the rounds run by this invocation (evaluation included). */
  roundsPerMinute: number;
  /** Hash of the final weights (equal runs have equal fingerprints). */
  finalFingerprint: string;
}

interface State {
  version: 2;
  configKey: string;
  globalRound: number;
  rounds: RoundRecord[];
  /** The strategy's own state. */
  strategy: unknown;
  /** Names of the extra weights in the checkpoint (besides `global`). */
  weights: string[];
  /**
   * Prefix of the store keys of the run that wrote this state. A resumed run deletes the keys with the
   * previous prefix: a killed run cannot, and in Redis they would stay until they expire.
   */
  keyPrefix?: string;
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
  /** With `resume`: called with the number of store keys of the interrupted run that were deleted. */
  onStaleKeys?: (deleted: number) => void;
  /** Called with the global weights after every global round (e.g. to share a warm-up between runs). */
  onWeights?: (round: number, w: Weights) => void;
  /**
   * Start from the state of another run after `round` global rounds (its records and weights) instead
   * of from scratch. Valid only when that run used the same task, seed and training options for those
   * rounds (FedAvg's first rounds are PKD's warm-up): the comparison uses it to share the warm-up.
   */
  startFrom?: { round: number; rounds: RoundRecord[]; weights: Weights };
  /**
   * Results shared between runs of a sweep that start from the same warm-up (PKD: trained experts,
   * keyed by the groups and the expert options, so variants that differ only in λ, T or the trigger
   * train the experts once). Valid only across runs of the same task, seed and warm-up.
   */
  cache?: Map<string, unknown>;
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

function weightsFingerprint(w: Weights): string {
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
  const m = createModel(model, { inputShape: task.inputShape, numClasses, seed });
  const w = getWeights(m);
  m.dispose();
  return w;
}

/** Per-class analysis of the global architecture with weights `w` on the test set or the server's validation split. */
function evaluateWeights(task: PreparedTask, model: string, w: Weights, split: 'test' | 'validation', rule: WeakRule): ClassAnalysis {
  const ds = task.dataset;
  const m = cachedModel(model, task.inputShape, ds.numClasses);
  setWeights(m, w);
  const data = split === 'test' ? ds.test : ds.train;
  const idx = split === 'test' ? Int32Array.from({ length: ds.test.count }, (_, i) => i) : task.valIndices;
  const pred = predictLabels(m, data, ds.shape, idx, task.norm);
  const y = Int32Array.from(idx, (i) => data.labels[i]);
  return analyze(y, pred, ds.numClasses, rule);
}

/**
 * Test accuracy of weights `w` on the images of `group`. `outputs: 'all'`: a model over all classes,
 * scored with the argmax over the group's classes (within-group) and over all classes (plain);
 * `'group'`: a model with one output per group member (an expert); both figures are its accuracy.
 */
export function groupAccuracy(task: PreparedTask, model: string, w: Weights, group: number[], outputs: 'all' | 'group'): { withinGroup: number; plain: number } {
  const ds = task.dataset;
  const members = new Set(group);
  const idx: number[] = [];
  for (let i = 0; i < ds.test.count; i++) if (members.has(ds.test.labels[i])) idx.push(i);
  const m = cachedModel(model, task.inputShape, outputs === 'all' ? ds.numClasses : group.length);
  setWeights(m, w);
  const score = (pred: Int32Array, map: (p: number) => number) => {
    let a = 0;
    for (let i = 0; i < idx.length; i++) if (map(pred[i]) === ds.test.labels[idx[i]]) a++;
    return idx.length ? a / idx.length : 0;
  };
  if (outputs === 'group') {
    const acc = score(predictLabels(m, ds.test, ds.shape, idx, task.norm), (p) => group[p]);
    return { withinGroup: acc, plain: acc };
  }
  return {
    withinGroup: score(predictLabels(m, ds.test, ds.shape, idx, task.norm, { classes: group }), (p) => p),
    plain: score(predictLabels(m, ds.test, ds.shape, idx, task.norm), (p) => p),
  };
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

/** Runs a federated experiment end to end with the strategy of `cfg.method`. */
export async function runFederated(cfg: FlConfig, opts: RunOptions): Promise<FlResult> {
  const t0 = performance.now();
  const progress = opts.progress ?? silentProgress;
  const ex = opts.executor;
  const spec = taskSpecOf(cfg);
  const task = await prepareTask(spec);
  const ds = task.dataset;
  const weakRule: WeakRule = { rule: cfg.weakRule, delta: cfg.weakDelta, k: cfg.weakK };
  const strategy = strategyFor(cfg);
  const store = await storeFor(ex.store);
  const nonce = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  const prefix = `accelab-fl-${mixSeed(cfg.seed, phaseSalt(configKey(cfg))).toString(36)}-${nonce}`;
  const ckpt = opts.dir ? new Checkpoint(join(opts.dir, 'checkpoint')) : null;

  let state: State;
  let global: Weights;
  const extra = new Map<string, Weights>();
  if (opts.resume) {
    if (!ckpt?.exists()) throw new ConfigError(`--resume: no checkpoint in ${opts.dir ?? '(no --out)'}/checkpoint: pass the --out folder of the interrupted run`);
    state = ckpt.loadState();
    if (state.version !== 2) throw new ConfigError('--resume: the checkpoint was written by an older accelab version: start the run again without --resume');
    if (state.configKey !== configKey(cfg))
      throw new ConfigError('--resume: the checkpoint was written with a different config: resume with the same config (see config.json in the run folder)');
    global = ckpt.loadWeights('global');
    for (const name of state.weights) extra.set(name, ckpt.loadWeights(name));
    if (state.keyPrefix && state.keyPrefix !== prefix) opts.onStaleKeys?.(await store.deletePrefix(`${state.keyPrefix}-`));
  } else {
    state = { version: 2, configKey: configKey(cfg), globalRound: 0, rounds: [], strategy: strategy.initialState(), weights: [] };
    global = initialWeights(task, cfg.model, ds.numClasses, cfg.seed);
    if (opts.startFrom) {
      const sf = opts.startFrom;
      const phase = strategy.inheritedPhase(sf.round);
      state.globalRound = sf.round;
      state.rounds = sf.rounds.slice(0, sf.round).map((r) => ({ ...r, phase }));
      global = cloneWeights(sf.weights);
    }
  }
  const save = () => {
    if (!ckpt) return;
    state.weights = [...extra.keys()];
    state.keyPrefix = prefix;
    ckpt.save(state, { global, ...Object.fromEntries(extra) });
  };

  let roundsThisRun = 0;
  let globalS = 0;
  let globalRoundsRun = 0;
  const roundDone = (round: number) => {
    roundsThisRun++;
    if (opts.stopAfter !== undefined && roundsThisRun >= opts.stopAfter) throw new Interrupted(round);
  };

  const fitRound = async (plan: RoundPlan, key: string, round: number, weights: Weights): Promise<RoundOutcome> => {
    const instr = plan.configureFit(round, cfg.clients);
    const base = `${prefix}-${key}-r${round}`;
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
    const next = plan.aggregateFit(round, fits, weights);
    await Promise.all([store.delete(globalRef), ...results.map((r) => store.delete(r.outRef))]);
    const n = fits.reduce((a, f) => a + f.numExamples, 0);
    return {
      weights: next,
      clients: instr.map((i) => i.clientId),
      meanLoss: n ? fits.reduce((a, f) => a + f.meanLoss * f.numExamples, 0) / n : 0,
      kdTriggered: fits.reduce((a, f) => a + f.kdTriggered, 0),
    };
  };

  const ctx: StrategyContext = {
    cfg,
    task,
    progress,
    get global() {
      return global;
    },
    get globalRound() {
      return state.globalRound;
    },
    cache: opts.cache,
    train: () => trainOf(cfg),
    globalPlan: (kd) => new FedAvgPlan({ seed: cfg.seed, phase: 'global', model: cfg.model, train: trainOf(cfg), fraction: cfg.fraction, minClients: cfg.minClients, kd }),
    async globalRounds(until, phase, plan, o) {
      if (state.globalRound < until) progress.start(o.label, until - state.globalRound);
      while (state.globalRound < until) {
        const round = state.globalRound + 1;
        const r0 = performance.now();
        const out = await fitRound(plan, 'global', round, global);
        global = out.weights;
        const evaluate = round % cfg.evalEvery === 0 || round === cfg.rounds || (o.evaluateLast === true && round === until);
        const rec: RoundRecord = { round, phase, clients: out.clients, meanLoss: out.meanLoss, kdTriggered: out.kdTriggered, durationS: (performance.now() - r0) / 1000 };
        if (evaluate) rec.eval = evaluateWeights(task, cfg.model, global, 'test', weakRule);
        globalS += (performance.now() - r0) / 1000;
        globalRoundsRun++;
        state.globalRound = round;
        state.rounds.push(rec);
        save();
        opts.onRound?.(rec);
        opts.onWeights?.(round, global);
        progress.tick(1, rec.eval ? `acc ${pct(rec.eval.accuracy)} ICD ${pct(rec.eval.interClassDiscrepancy)}` : `loss ${rec.meanLoss.toFixed(3)}`);
        roundDone(round);
      }
      progress.stop();
    },
    fitRound,
    roundDone,
    get state() {
      return state.strategy;
    },
    set state(v: unknown) {
      state.strategy = v;
    },
    weights: extra,
    save,
    initialWeights: (model, numClasses, seed) => initialWeights(task, model, numClasses, seed),
    evaluate: (w, split) => evaluateWeights(task, cfg.model, w, split, weakRule),
    groupAccuracy: (model, w, group, outputs) => groupAccuracy(task, model, w, group, outputs),
    async share(name, w) {
      const ref = `${prefix}-${name}`;
      await store.put(ref, w);
      return ref;
    },
    unshare: (ref) => store.delete(ref),
  };

  await strategy.start(ctx);

  const last = state.rounds[state.rounds.length - 1];
  const final = last?.eval ?? evaluateWeights(task, cfg.model, global, 'test', weakRule);
  return {
    config: cfg,
    dataset: ds.name,
    classNames: ds.classNames,
    numTrain: task.clientIndices.reduce((a, ix) => a + ix.length, 0),
    numTest: ds.test.count,
    histograms: task.histograms,
    rounds: state.rounds,
    final,
    executor: ex.name,
    durationS: (performance.now() - t0) / 1000,
    roundsPerMinute: globalS > 0 ? (globalRoundsRun * 60) / globalS : 0,
    finalFingerprint: weightsFingerprint(global),
    ...strategy.record(ctx),
  };
}
