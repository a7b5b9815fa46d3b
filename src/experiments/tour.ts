/**
 * The tour (`accelab tour`, what `npm start` runs): a quick pass over every study on the default
 * data, collected into one run folder with one report.html.
 *
 * A tour is a list of steps. Each step has a name, a `run(ctx)` returning a plain JSON result
 * with a `kind` field, and is rendered by the section builder registered for that kind in
 * src/report/sections/index.ts (experiments may not import report: see ARCHITECTURE.md). To add a
 * study, append one line to `TOUR_STEPS` (and one to the section registry), e.g.
 *   { name: 'winograd', title: 'Fast convolution (Winograd)', run: (ctx) => winogradQuickRun({ seed: ctx.seed }) },
 * A step that throws is recorded as failed (with its message) and the tour goes on.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { type EngineInfo, engineInfo } from '../core/engine.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { findDataset } from '../data/catalog.js';
import { saveModel } from '../nn/checkpoint.js';
import { writeJsonAtomic } from '../core/fsx.js';
import { runTrain } from './train.js';
import { quickRun as flQuickRun } from './fl.js';
import { quickRun as winogradQuickRun } from './winograd.js';

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

export interface TourStep {
  name: string;
  title: string;
  run(ctx: TourContext): Promise<TourStepResult>;
}

export interface TourStepRecord {
  name: string;
  title: string;
  seconds: number;
  ok: boolean;
  error?: string;
  result?: TourStepResult;
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

/** One epoch of cnn-small on Fashion-MNIST, or on synthetic 28×28 data when it is missing. */
export const trainStep: TourStep = {
  name: 'train',
  title: 'Training cnn-small (1 epoch)',
  async run(ctx) {
    const have = findDataset('fashion-mnist', { dataDir: ctx.dataDir }) !== null;
    const dataset = have ? 'fashion-mnist' : 'synthetic-gray';
    if (!have) {
      ctx.notice(
        'Fashion-MNIST was not found, so the training step used synthetic 28×28 data (classes 2, 4 and 6 made confusable on purpose). Get the real data with `apt-get install dataset-fashion-mnist` or `accelab data fetch fashion-mnist`.',
      );
    }
    const run = await runTrain(
      { dataset, model: 'cnn-small', epochs: 1, optimizer: 'adam', lr: 1e-3, batch: 64, seed: ctx.seed, dataDir: ctx.dataDir, trainLimit: ctx.trainLimit, testLimit: ctx.testLimit },
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

/**
 * The tour's steps, in order. Other studies add one line each (a `quickRun()` of their own that
 * returns a result with a `kind` registered in src/report/sections/index.ts).
 */
export const TOUR_STEPS: TourStep[] = [
  engineStep,
  trainStep,
  { name: 'winograd', title: 'Fast convolution: nested vs OLA Winograd', run: (ctx) => winogradQuickRun({ seed: ctx.seed, outDir: join(ctx.outDir, 'winograd'), progress: ctx.progress }) },
  { name: 'fl', title: 'Federated learning: weak classes (FedAvg, 5 clients, 3 rounds)', run: (ctx) => flQuickRun({ seed: ctx.seed, outDir: join(ctx.outDir, 'fl'), progress: ctx.progress, notice: (m) => ctx.notice(m) }) }];

export interface TourHooks {
  onStepStart?(step: TourStep, index: number, total: number): void;
  onStepEnd?(record: TourStepRecord, index: number, total: number): void;
}

export interface TourOptions {
  outDir: string;
  seed?: number;
  dataDir?: string;
  trainLimit?: number;
  testLimit?: number;
  /** Run only these step names (default: all). */
  only?: string[];
  steps?: TourStep[];
  progress?: Progress;
  hooks?: TourHooks;
}

/**
 * Runs the tour and writes config.json, result.json and the steps' own files into `outDir`.
 * The report (src/report) renders each step's result by its `kind`.
 */
export async function runTour(o: TourOptions): Promise<TourResult> {
  const t0 = performance.now();
  const all = o.steps ?? TOUR_STEPS;
  const steps = o.only?.length ? all.filter((s) => o.only?.includes(s.name)) : all;
  const notices: string[] = [];
  const ctx: TourContext = {
    outDir: o.outDir,
    seed: o.seed ?? 1,
    dataDir: o.dataDir,
    progress: o.progress ?? silentProgress,
    trainLimit: o.trainLimit,
    testLimit: o.testLimit,
    notice: (m) => notices.push(m),
  };
  const records: TourStepRecord[] = [];
  for (const [i, step] of steps.entries()) {
    o.hooks?.onStepStart?.(step, i, steps.length);
    const ts = performance.now();
    let rec: TourStepRecord;
    try {
      const result = await step.run(ctx);
      rec = { name: step.name, title: step.title, seconds: (performance.now() - ts) / 1000, ok: true, result };
    } catch (e) {
      ctx.progress.stop();
      rec = { name: step.name, title: step.title, seconds: (performance.now() - ts) / 1000, ok: false, error: (e as Error).message?.split('\n')[0] ?? String(e) };
    }
    records.push(rec);
    o.hooks?.onStepEnd?.(rec, i, steps.length);
  }
  const result: TourResult = {
    kind: 'tour',
    engine: engineInfo() ?? {},
    machine: machineInfo(),
    notices,
    steps: records,
    totalSeconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(o.outDir, 'result.json'), result);
  writeJsonAtomic(join(o.outDir, 'config.json'), { command: 'tour', seed: ctx.seed, dataDir: o.dataDir, trainLimit: o.trainLimit, testLimit: o.testLimit, steps: steps.map((s) => s.name) });
  return result;
}
