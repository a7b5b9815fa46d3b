/**
 * The tour (`accelab tour`, what `npm start` runs): a quick pass over every study on the default
 * data, collected into one run folder with one report.html.
 *
 * A tour is a list of steps. Each step has a name, a `run(ctx)` returning a plain JSON result
 * with a `kind` field, and is rendered by the section registered for that kind. The list is built
 * from the study descriptors (src/cli/studies: a study's `tour` field) and passed in as
 * `TourOptions.steps`: experiments may not import report or cli (see ARCHITECTURE.md).
 * A step that throws is recorded as failed (with its message) and the tour goes on.
 *
 * A step may declare `parallel: { module, fn }`: it then runs as that executor job on a worker
 * thread (its own engine, see src/core/executor.ts), started before the other steps, which run one
 * after another on the main thread meanwhile; its record takes its place in the step order when it
 * is done. The job is a function (TourJobArgs) -> TourJobReturn, usually `runStepJob(step, args)`
 * (src/experiments/tour-jobs.ts). Its notices are sent back with its result; its progress is sent on
 * a BroadcastChannel and shown once the main-thread steps are done (while the tour waits for it).
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { type BackendName, type EngineInfo, engineInfo } from '../core/engine.js';
import { JobError } from '../core/errors.js';
import { Executor } from '../core/executor.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { findDataset } from '../data/catalog.js';
import { saveModel } from '../nn/checkpoint.js';
import type { TrainResult } from '../nn/train.js';
import { writeJsonAtomic } from '../core/fsx.js';
import { runTrain } from './train.js';

export interface TourContext {
  /** The tour's run folder; a step may write files under `join(outDir, step.name)`. */
  outDir: string;
  seed: number;
  dataDir?: string;
  progress: Progress;
  /** Add a line to the report's overview (e.g. "Fashion-MNIST not found: synthetic data used"). */
  notice(message: string): void;
  /** Limits on training / test images for quick runs (default: the full splits). */
  trainLimit?: number;
  testLimit?: number;
}

export interface TourStepResult {
  kind: string;
}

export interface TourStep<R extends TourStepResult = TourStepResult> {
  name: string;
  title: string;
  run(ctx: TourContext): Promise<R>;
  /**
   * Run on a worker thread, in parallel with the other steps (unless the tour is sequential): the
   * executor job (module URL and exported function) taking `TourJobArgs` and returning `TourJobReturn`.
   */
  parallel?: { module: string | URL; fn: string };
}

/** What a step's worker job receives: the plain part of `TourContext` and the step's name. */
export interface TourJobArgs {
  step: string;
  outDir: string;
  seed: number;
  dataDir?: string;
  trainLimit?: number;
  testLimit?: number;
  /** BroadcastChannel name for the step's progress (`TourProgressMessage`s); none: silent. */
  progressChannel?: string;
}

/** A worker step's progress, sent on `TourJobArgs.progressChannel`. */
export type TourProgressMessage = { t: 'start'; label: string; total: number } | { t: 'tick'; n: number; status?: string } | { t: 'stop' };

/** A `Progress` that sends its calls on a BroadcastChannel (used inside worker jobs); close it when done. */
export function channelProgress(name: string): Progress & { close(): void } {
  const ch = new BroadcastChannel(name);
  const post = (m: TourProgressMessage): void => ch.postMessage(m);
  return {
    start: (label, total) => post({ t: 'start', label, total }),
    tick: (n = 1, status) => post(status === undefined ? { t: 'tick', n } : { t: 'tick', n, status }),
    stop: () => post({ t: 'stop' }),
    close: () => ch.close(),
  };
}

/** Follows a worker step's progress channel; shows it on `progress` only after `show()`. */
class ProgressRelay {
  private readonly channel: BroadcastChannel;
  private phase: { label: string; total: number; value: number; status?: string } | null = null;
  private live = false;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly progress: Progress,
  ) {
    this.channel = new BroadcastChannel(name);
    this.channel.unref();
    this.channel.onmessage = (ev: unknown) => this.on((ev as { data: TourProgressMessage }).data);
  }

  private on(m: TourProgressMessage): void {
    if (this.closed) return;
    if (m.t === 'start') {
      this.phase = { label: m.label, total: m.total, value: 0 };
      if (this.live) this.progress.start(m.label, m.total);
    } else if (m.t === 'tick') {
      if (this.phase) {
        this.phase.value += m.n;
        if (m.status !== undefined) this.phase.status = m.status;
      }
      if (this.live) this.progress.tick(m.n, m.status);
    } else {
      this.phase = null;
      if (this.live) this.progress.stop();
    }
  }

  /** From now on, draw the step's progress (starting with its current phase). */
  show(): void {
    if (this.closed || this.live) return;
    this.live = true;
    if (this.phase) {
      this.progress.start(this.phase.label, this.phase.total);
      if (this.phase.value > 0 || this.phase.status !== undefined) this.progress.tick(this.phase.value, this.phase.status);
    }
  }

  close(): void {
    if (this.closed) return;
    if (this.live) this.progress.stop();
    this.live = false;
    this.closed = true;
    this.channel.close();
  }
}

let relayCount = 0;

/** What a step's worker job returns. */
export interface TourJobReturn {
  result: TourStepResult;
  notices: string[];
  /** The step's own run time measured in the worker (the main thread may be busy when it ends). */
  seconds?: number;
}

export interface TourStepRecord {
  name: string;
  title: string;
  seconds: number;
  ok: boolean;
  error?: string;
  result?: TourStepResult;
  /** True when the step ran on a worker thread, in parallel with the others. */
  worker?: boolean;
}

export interface TourResult {
  kind: 'tour';
  engine: EngineInfo | Record<string, never>;
  machine: { node: string; cpus: number; cpuModel: string; memoryGiB: number };
  notices: string[];
  steps: TourStepRecord[];
  totalSeconds: number;
  createdAt: string;
}

/** Result of the engine step: what `accelab doctor` shows. */
export interface EngineStepResult extends TourStepResult {
  kind: 'engine';
  engine: EngineInfo | null;
  machine: TourResult['machine'];
  datasets: { name: string; found: boolean; where: string | null }[];
}

function machineInfo(): TourResult['machine'] {
  return { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: +(totalmem() / 2 ** 30).toFixed(1) };
}

export const engineStep: TourStep = {
  name: 'engine',
  title: 'Engine and data',
  async run(ctx) {
    const datasets = ['fashion-mnist', 'cifar10-subset', 'cifar10', 'mnist'].map((name) => {
      const loc = findDataset(name, { dataDir: ctx.dataDir });
      return { name, found: loc !== null, where: loc ? (loc.files.archive ?? loc.files.folder ?? loc.dir) : null };
    });
    const r: EngineStepResult = { kind: 'engine', engine: engineInfo(), machine: machineInfo(), datasets };
    return r;
  },
};

const TOUR_JOBS = new URL('./tour-jobs.js', import.meta.url);

/** One epoch of cnn-small on Fashion-MNIST, or on synthetic 28×28 data when it is missing. */
export const trainStep: TourStep<TrainResult> = {
  name: 'train',
  title: 'Training cnn-small (1 epoch)',
  parallel: { module: TOUR_JOBS, fn: 'runTrainStepJob' },
  async run(ctx) {
    const have = findDataset('fashion-mnist', { dataDir: ctx.dataDir }) !== null;
    const dataset = have ? 'fashion-mnist' : 'synthetic-gray';
    if (!have) {
      ctx.notice(
        'Fashion-MNIST was not found, so the training step used synthetic 28×28 data (classes 2, 4 and 6 made confusable on purpose). Get the real data with `apt-get install dataset-fashion-mnist` or `accelab data fetch fashion-mnist`.',
      );
    }
    const run = await runTrain(
      {
        dataset,
        model: 'cnn-small',
        epochs: 1,
        optimizer: 'adam',
        lr: 1e-3,
        batch: 64,
        seed: ctx.seed,
        dataDir: ctx.dataDir,
        trainLimit: ctx.trainLimit,
        testLimit: ctx.testLimit,
      },
      ctx.progress,
    );
    try {
      const dir = join(ctx.outDir, 'train');
      writeJsonAtomic(join(dir, 'config.json'), run.config);
      writeJsonAtomic(join(dir, 'result.json'), run.result);
      await saveModel(run.model, join(dir, 'checkpoint'), { config: run.config, normalization: run.result.normalization });
    } finally {
      run.model.dispose();
    }
    return run.result;
  },
};

export interface TourStepInfo {
  /** The step runs (or ran) on a worker thread. */
  worker: boolean;
}

export interface TourHooks {
  /** Called in step order; a worker step is already running when its turn comes. */
  onStepStart?(step: TourStep, index: number, total: number, info: TourStepInfo): void;
  /** Called in step order for main-thread steps; worker steps after all main-thread steps. */
  onStepEnd?(record: TourStepRecord, index: number, total: number, info: TourStepInfo): void;
  /** The main-thread steps are done and these worker steps are still running. */
  onWaiting?(steps: TourStep[]): void;
}

export interface TourOptions {
  outDir: string;
  seed?: number;
  dataDir?: string;
  trainLimit?: number;
  testLimit?: number;
  /** The steps, in order (the engine step and the studies' steps: src/cli/studies). */
  steps: readonly TourStep[];
  /** Run only these step names (default: all). */
  only?: string[];
  progress?: Progress;
  hooks?: TourHooks;
  /** Run every step on the main thread, one after another (default: only on a 1-core machine). */
  sequential?: boolean;
  /** Backend of the worker steps' engines (default: the main thread's, else ACCELAB_BACKEND / auto). */
  backend?: BackendName;
}

function firstLine(e: unknown): string {
  return (e as Error)?.message?.split('\n')[0] ?? String(e);
}

/**
 * Runs the tour and writes config.json, result.json and the steps' own files into `outDir`.
 * The report (src/report) renders each step's result by its `kind`.
 */
export async function runTour(o: TourOptions): Promise<TourResult> {
  const t0 = performance.now();
  const steps = o.only?.length ? o.steps.filter((s) => o.only?.includes(s.name)) : [...o.steps];
  const sequential = o.sequential ?? availableParallelism() < 2;
  const onWorker = steps.map((s) => !sequential && s.parallel !== undefined);
  const stepNotices: string[][] = steps.map(() => []);
  const base = { outDir: o.outDir, seed: o.seed ?? 1, dataDir: o.dataDir, trainLimit: o.trainLimit, testLimit: o.testLimit };
  const progress = o.progress ?? silentProgress;
  const records: TourStepRecord[] = [];
  const total = steps.length;

  // Worker steps first: they start now and run while the main thread works through the rest.
  const nWorker = onWorker.filter(Boolean).length;
  const ex = nWorker > 0 ? new Executor({ workers: Math.min(nWorker, Math.max(1, availableParallelism() - 1)), backend: o.backend ?? engineInfo()?.backend }) : null;
  const pending = new Map<number, { state: { done: boolean }; record: Promise<TourStepRecord> }>();
  const relays = new Map<number, ProgressRelay>();
  try {
    for (const [i, step] of steps.entries()) {
      if (!ex || !onWorker[i] || step.parallel === undefined) continue;
      const job = step.parallel;
      const args: TourJobArgs = { step: step.name, ...base };
      if (progress !== silentProgress) {
        const relay = new ProgressRelay(`accelab-tour-${process.pid}-${++relayCount}-${step.name}`, progress);
        relays.set(i, relay);
        args.progressChannel = relay.name;
      }
      const ts = performance.now();
      const state = { done: false };
      const record = ex.run<TourJobReturn>({ id: step.name, module: job.module, fn: job.fn, args }).then(
        (r) => {
          state.done = true;
          stepNotices[i].push(...(r.notices ?? []));
          const seconds = typeof r.seconds === 'number' ? r.seconds : (performance.now() - ts) / 1000;
          return { name: step.name, title: step.title, seconds, ok: true, result: r.result, worker: true };
        },
        (e: unknown) => {
          state.done = true;
          const prefix = `job ${step.name}: `;
          const msg = e instanceof JobError && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : (e as Error).message;
          return { name: step.name, title: step.title, seconds: (performance.now() - ts) / 1000, ok: false, error: firstLine({ message: msg }), worker: true };
        },
      );
      pending.set(i, { state, record });
    }

    const slots: (TourStepRecord | undefined)[] = new Array(total);
    for (const [i, step] of steps.entries()) {
      if (pending.has(i)) {
        o.hooks?.onStepStart?.(step, i, total, { worker: true });
        continue;
      }
      o.hooks?.onStepStart?.(step, i, total, { worker: false });
      const ctx: TourContext = { ...base, progress, notice: (m) => stepNotices[i].push(m) };
      const ts = performance.now();
      let rec: TourStepRecord;
      try {
        const result = await step.run(ctx);
        rec = { name: step.name, title: step.title, seconds: (performance.now() - ts) / 1000, ok: true, result };
      } catch (e) {
        progress.stop();
        rec = { name: step.name, title: step.title, seconds: (performance.now() - ts) / 1000, ok: false, error: firstLine(e) };
      }
      slots[i] = rec;
      o.hooks?.onStepEnd?.(rec, i, total, { worker: false });
    }

    const waiting = [...pending.entries()].filter(([, p]) => !p.state.done).map(([i]) => steps[i]);
    if (waiting.length > 0) o.hooks?.onWaiting?.(waiting);
    for (const [i, p] of pending) {
      const relay = relays.get(i);
      if (!p.state.done) relay?.show();
      const rec = await p.record;
      relay?.close();
      slots[i] = rec;
      o.hooks?.onStepEnd?.(rec, i, total, { worker: true });
    }
    for (const r of slots) if (r) records.push(r);
  } finally {
    for (const r of relays.values()) r.close();
    await ex?.close();
  }
  const result: TourResult = {
    kind: 'tour',
    engine: engineInfo() ?? {},
    machine: machineInfo(),
    notices: stepNotices.flat(),
    steps: records,
    totalSeconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(o.outDir, 'result.json'), result);
  writeJsonAtomic(join(o.outDir, 'config.json'), {
    command: 'tour',
    seed: base.seed,
    dataDir: o.dataDir,
    trainLimit: o.trainLimit,
    testLimit: o.testLimit,
    sequential,
    steps: steps.map((s) => s.name),
  });
  return result;
}
