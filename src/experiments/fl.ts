/**
 * Federated-learning experiments: one run (FedAvg or PKD) written to a run folder, the PKD-vs-
 * FedAvg comparison over seeds and settings, the weak-class consistency grid, and the tour's
 * quick run. Results are plain JSON with a `kind` field for the report.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { toCsv, writeFileAtomic, writeJsonAtomic } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { findDataset } from '../data/catalog.js';
import { type ClassAnalysis, meanPairwise, meanPairwiseJaccard, spearman, weakFrequency } from '../fl/analysis.js';
import { type FlConfig, type FlConfigInput, parseFlConfig } from '../fl/config.js';
import { type ExecutorChoice, type FitExecutor, makeExecutor } from '../fl/executors/index.js';
import { closeStores } from '../fl/job.js';
import { type FlResult, type RunOptions, runFederated } from '../fl/run.js';
import type { Weights } from '../fl/weights.js';

export interface FlRunResult extends FlResult {
  kind: 'fl';
}

export interface FlRunOptions {
  outDir?: string;
  executor: ExecutorChoice | FitExecutor;
  resume?: boolean;
  progress?: Progress;
}

function isExecutor(e: ExecutorChoice | FitExecutor): e is FitExecutor {
  return typeof (e as FitExecutor).run === 'function';
}

async function withExecutor<T>(e: ExecutorChoice | FitExecutor, outDir: string | undefined, f: (ex: FitExecutor) => Promise<T>): Promise<T> {
  if (isExecutor(e)) return f(e);
  const storeDir = outDir && e.kind === 'threads' ? join(outDir, '.weights') : e.dir;
  const ex = await makeExecutor({ ...e, dir: storeDir });
  try {
    return await f(ex);
  } finally {
    await ex.close();
    await closeStores();
    if (storeDir && outDir) rmSync(storeDir, { recursive: true, force: true });
  }
}

/** Per-round and per-class CSV tables of a run. */
export function flTables(r: FlResult): Record<string, string> {
  const rounds = toCsv(
    ['round', 'phase', 'accuracy', 'discrepancy', 'discrepancy_std', 'weak', 'weak_mean', 'mean_loss', 'kd_triggered', 'seconds'],
    r.rounds.map((x) => [
      x.round,
      x.phase,
      x.eval?.accuracy,
      x.eval?.discrepancy,
      x.eval?.discrepancyStd,
      x.eval?.weak.map((c) => r.classNames[c]).join(' '),
      x.eval?.weakMean,
      x.meanLoss,
      x.kdTriggered,
      x.durationMs / 1000,
    ]),
  );
  const perClass = toCsv(
    ['class', 'name', 'accuracy', 'weak'],
    r.final.perClass.map((a, c) => [c, r.classNames[c], a, r.final.weak.includes(c)]),
  );
  return { 'rounds.csv': rounds, 'per-class.csv': perClass };
}

/** One federated run; writes config.json, result.json and CSV tables to `outDir` when given. */
export async function runFlExperiment(input: FlConfigInput | FlConfig, o: FlRunOptions): Promise<FlRunResult> {
  const cfg = parseFlConfig(input);
  // On resume the checkpoint decides whether the config fits; the folder's config.json stays as it is.
  if (o.outDir && !o.resume) writeJsonAtomic(join(o.outDir, 'config.json'), cfg);
  const r = await withExecutor(o.executor, o.outDir, (ex) => runFederated(cfg, { executor: ex, dir: o.outDir, resume: o.resume, progress: o.progress }));
  const result: FlRunResult = { kind: 'fl', ...r };
  if (o.outDir) {
    writeJsonAtomic(join(o.outDir, 'result.json'), result);
    for (const [name, text] of Object.entries(flTables(r))) writeFileAtomic(join(o.outDir, name), text);
  }
  return result;
}

// ---------------------------------------------------------------- PKD vs FedAvg

export interface CompareVariant {
  /** Label in tables ("λ=1 T=2 within-group"). */
  name: string;
  /** Overrides of the PKD options (and of top-level options such as weakRule). */
  pkd: FlConfigInput['pkd'];
}

export interface CompareRow {
  seed: number;
  method: string;
  accuracy: number;
  /** Mean test accuracy over the weak set identified at the end of the warm-up (same set for FedAvg and PKD of a seed). */
  weakMean: number;
  worst: number;
  discrepancy: number;
  discrepancyStd: number;
  perClass: number[];
  weak: number[];
  groups: number[][];
  /** Per group: expert's within-group accuracy, global model restricted to the group (warm-up, final). */
  experts: { group: number[]; expertAcc: number; warmupRestrictedAcc: number; finalRestrictedAcc: number | null; finalAcc: number | null }[];
  kdTriggered: number;
}

export interface FlCompareResult {
  kind: 'fl-compare';
  base: FlConfig;
  classNames: string[];
  seeds: number[];
  rows: CompareRow[];
  summary: { method: string; n: number; accuracy: [number, number]; weakMean: [number, number]; discrepancy: [number, number]; expertAcc: [number, number] | null; groupAccFinal: [number, number] | null }[];
  totalMs: number;
}

/** Mean and sample standard deviation (0 for one value; NaN for none). */
export function meanStd(xs: number[]): [number, number] {
  const n = xs.length;
  if (!n) return [Number.NaN, Number.NaN];
  const m = xs.reduce((a, b) => a + b, 0) / n;
  return [m, Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, n - 1))];
}

function meanOver(a: ClassAnalysis, classes: number[]): number {
  return classes.length ? classes.reduce((s, c) => s + a.perClass[c], 0) / classes.length : Number.NaN;
}

/**
 * FedAvg and PKD variants at the same total rounds, for each seed. The FedAvg run of a seed shares
 * its first `warmupRounds` rounds with every PKD run of that seed (same client seeds).
 */
export async function runComparison(
  base: FlConfigInput,
  seeds: number[],
  variants: CompareVariant[],
  o: { executor: ExecutorChoice | FitExecutor; outDir?: string; progress?: Progress; onRow?: (r: CompareRow) => void },
): Promise<FlCompareResult> {
  const t0 = Date.now();
  const rows: CompareRow[] = [];
  let classNames: string[] = [];
  const baseCfg = parseFlConfig({ ...base, method: 'fedavg' });
  await withExecutor(o.executor, o.outDir, async (ex) => {
    for (const seed of seeds) {
      // The FedAvg run's first rounds are every PKD variant's warm-up: keep its weights at each round.
      const snapshots = new Map<number, Weights>();
      const expertCache: NonNullable<RunOptions['expertCache']> = new Map();
      const cfgs = variants.map((v) => parseFlConfig({ ...base, seed, method: 'pkd', pkd: { ...(base.pkd ?? {}), ...(v.pkd ?? {}) } }));
      const warmups = new Set(cfgs.map((c) => c.pkd.warmupRounds));
      const fed = await runFederated(parseFlConfig({ ...base, seed, method: 'fedavg' }), {
        executor: ex,
        progress: o.progress,
        onWeights: (round, w) => {
          if (warmups.has(round)) snapshots.set(round, w);
        },
      });
      classNames = fed.classNames;
      const pkdRuns: { name: string; r: FlResult }[] = [];
      for (let i = 0; i < variants.length; i++) {
        const cfg = cfgs[i];
        const w = snapshots.get(cfg.pkd.warmupRounds);
        const startFrom = w ? { round: cfg.pkd.warmupRounds, rounds: fed.rounds, weights: w } : undefined;
        pkdRuns.push({ name: variants[i].name, r: await runFederated(cfg, { executor: ex, progress: o.progress, startFrom, expertCache }) });
      }
      const weak = pkdRuns[0]?.r.pkd?.weak ?? fed.final.weak;
      const row = (method: string, r: FlResult): CompareRow => ({
        seed,
        method,
        accuracy: r.final.accuracy,
        weakMean: meanOver(r.final, r.pkd?.weak ?? weak),
        worst: Math.min(...r.final.perClass),
        discrepancy: r.final.discrepancy,
        discrepancyStd: r.final.discrepancyStd,
        perClass: r.final.perClass,
        weak: r.pkd?.weak ?? weak,
        groups: r.pkd?.groups ?? [],
        experts: (r.pkd?.experts ?? []).map((e) => ({ group: e.group, expertAcc: e.expertAcc, warmupRestrictedAcc: e.warmupRestrictedAcc, finalRestrictedAcc: e.finalRestrictedAcc ?? null, finalAcc: e.finalAcc ?? null })),
        kdTriggered: r.rounds.reduce((a, x) => a + x.kdTriggered, 0),
      });
      const fr = row('fedavg', fed);
      rows.push(fr);
      o.onRow?.(fr);
      for (const p of pkdRuns) {
        const pr = row(p.name, p.r);
        rows.push(pr);
        o.onRow?.(pr);
      }
      if (o.outDir) writeJsonAtomic(join(o.outDir, 'partial.json'), rows);
    }
  });
  const methods = ['fedavg', ...variants.map((v) => v.name)];
  const summary = methods.map((m) => {
    const rs = rows.filter((r) => r.method === m);
    const ex = rs.flatMap((r) => r.experts);
    return {
      method: m,
      n: rs.length,
      accuracy: meanStd(rs.map((r) => r.accuracy)),
      weakMean: meanStd(rs.map((r) => r.weakMean)),
      discrepancy: meanStd(rs.map((r) => r.discrepancy)),
      expertAcc: ex.length ? meanStd(ex.map((e) => e.expertAcc)) : null,
      groupAccFinal: ex.length ? meanStd(ex.map((e) => e.finalRestrictedAcc ?? Number.NaN)) : null,
    };
  });
  const result: FlCompareResult = { kind: 'fl-compare', base: baseCfg, classNames, seeds, rows, summary, totalMs: Date.now() - t0 };
  if (o.outDir) {
    writeJsonAtomic(join(o.outDir, 'result.json'), result);
    writeFileAtomic(
      join(o.outDir, 'compare.csv'),
      toCsv(
        ['seed', 'method', 'accuracy', 'weak_mean', 'worst', 'discrepancy', 'weak', 'groups', 'expert_acc', 'group_acc_final'],
        rows.map((r) => [
          r.seed,
          r.method,
          r.accuracy,
          r.weakMean,
          r.worst,
          r.discrepancy,
          r.weak.join(' '),
          r.groups.map((g) => g.join('+')).join(' '),
          r.experts.map((e) => e.expertAcc.toFixed(4)).join(' '),
          r.experts.map((e) => (e.finalRestrictedAcc ?? Number.NaN).toFixed(4)).join(' '),
        ]),
      ),
    );
  }
  return result;
}

// ---------------------------------------------------------------- weak-class consistency

export interface ConsistencyRun {
  model: string;
  partition: string;
  seed: number;
  accuracy: number;
  discrepancy: number;
  discrepancyStd: number;
  perClass: number[];
  weak: number[];
  /** Weak sets after every evaluated round (consistency across rounds). */
  weakByRound: number[][];
}

export interface FlConsistencyResult {
  kind: 'fl-consistency';
  base: FlConfig;
  classNames: string[];
  runs: ConsistencyRun[];
  /** Mean pairwise Jaccard of the final weak sets: all runs, and within each model / partition / seed. */
  jaccard: { all: number; byModel: Record<string, number>; byPartition: Record<string, number>; acrossModelsSameSeed: number; acrossRounds: number };
  /** Mean pairwise Spearman correlation of the per-class accuracy vectors. */
  spearman: number;
  /** Fraction of runs in which each class is weak. */
  weakFrequency: number[];
  totalMs: number;
}


function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

/** FedAvg over the grid models × partitions × seeds; reports how much the weak sets overlap. */
export async function runConsistency(
  base: FlConfigInput,
  grid: { models: string[]; partitions: FlConfig['partition'][]; seeds: number[] },
  o: { executor: ExecutorChoice | FitExecutor; outDir?: string; progress?: Progress; onRun?: (r: ConsistencyRun) => void },
): Promise<FlConsistencyResult> {
  const t0 = Date.now();
  const runs: ConsistencyRun[] = [];
  let classNames: string[] = [];
  await withExecutor(o.executor, o.outDir, async (ex) => {
    for (const model of grid.models)
      for (const partition of grid.partitions)
        for (const seed of grid.seeds) {
          const r = await runFederated(parseFlConfig({ ...base, model, partition, seed, method: 'fedavg' }), { executor: ex, progress: o.progress ?? silentProgress });
          classNames = r.classNames;
          const run: ConsistencyRun = {
            model,
            partition,
            seed,
            accuracy: r.final.accuracy,
            discrepancy: r.final.discrepancy,
            discrepancyStd: r.final.discrepancyStd,
            perClass: r.final.perClass,
            weak: r.final.weak,
            weakByRound: r.rounds.filter((x) => x.eval).map((x) => x.eval!.weak),
          };
          runs.push(run);
          o.onRun?.(run);
          if (o.outDir) writeJsonAtomic(join(o.outDir, 'partial.json'), runs);
        }
  });
  const jac = (rs: ConsistencyRun[]) => meanPairwiseJaccard(rs.map((r) => r.weak));
  const byModel = Object.fromEntries([...groupBy(runs, (r) => r.model)].map(([k, v]) => [k, jac(v)]));
  const byPartition = Object.fromEntries([...groupBy(runs, (r) => r.partition)].map(([k, v]) => [k, jac(v)]));
  const sameSeed = [...groupBy(runs, (r) => `${r.seed}|${r.partition}`).values()].filter((v) => v.length > 1).map(jac);
  // Across rounds: overlap of each run's weak sets over the last half of its rounds.
  const rounds = runs.map((r) => meanPairwiseJaccard(r.weakByRound.slice(Math.floor(r.weakByRound.length / 2))));
  const C = classNames.length;
  const result: FlConsistencyResult = {
    kind: 'fl-consistency',
    base: parseFlConfig({ ...base, method: 'fedavg' }),
    classNames,
    runs,
    jaccard: {
      all: jac(runs),
      byModel,
      byPartition,
      acrossModelsSameSeed: sameSeed.length ? sameSeed.reduce((a, b) => a + b, 0) / sameSeed.length : Number.NaN,
      acrossRounds: rounds.length ? rounds.reduce((a, b) => a + b, 0) / rounds.length : Number.NaN,
    },
    spearman: meanPairwise(
      runs.map((r) => r.perClass),
      spearman,
    ),
    weakFrequency: weakFrequency(
      runs.map((r) => r.weak),
      C,
    ),
    totalMs: Date.now() - t0,
  };
  if (o.outDir) {
    writeJsonAtomic(join(o.outDir, 'result.json'), result);
    writeFileAtomic(
      join(o.outDir, 'consistency.csv'),
      toCsv(
        ['model', 'partition', 'seed', 'accuracy', 'discrepancy', 'discrepancy_std', 'weak', ...classNames],
        runs.map((r) => [r.model, r.partition, r.seed, r.accuracy, r.discrepancy, r.discrepancyStd, r.weak.map((c) => classNames[c]).join(' '), ...r.perClass]),
      ),
    );
  }
  return result;
}

// ---------------------------------------------------------------- tour

export interface FlQuickOptions {
  seed?: number;
  outDir?: string;
  progress?: Progress;
  notice?: (m: string) => void;
}

/**
 * The tour's federated step: FedAvg with 5 class-balanced clients for a few rounds on a
 * Fashion-MNIST subset (synthetic data when it is missing), in-process, showing the weak classes.
 */
export async function quickRun(o: FlQuickOptions = {}): Promise<FlRunResult> {
  const real = findDataset('fashion-mnist') !== null;
  if (!real) o.notice?.('Fashion-MNIST not found: the federated step used synthetic data');
  const cfg: FlConfigInput = real
    ? { dataset: 'fashion-mnist', model: 'mlp-300-100', clients: 5, rounds: 3, trainLimit: 10000, testLimit: 2000, valPerClass: 20, batchSize: 32, lr: 0.01, seed: o.seed ?? 1 }
    : { dataset: 'synthetic-gray', model: 'mlp-300-100', clients: 5, rounds: 3, valPerClass: 10, batchSize: 32, lr: 0.01, seed: o.seed ?? 1 };
  return runFlExperiment(cfg, { outDir: o.outDir, executor: { kind: 'inprocess' }, progress: o.progress });
}
