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
import { type FlResult, groupAccuracy, runFederated, taskSpecOf } from '../fl/run.js';
import { prepareTask } from '../fl/task.js';
import type { Weights } from '../fl/weights.js';

export interface FlRunResult extends FlResult {
  kind: 'fl';
}

export interface FlRunOptions {
  outDir?: string;
  executor: ExecutorChoice | FitExecutor;
  resume?: boolean;
  progress?: Progress;
  /** With `resume`: called with the number of store keys of the interrupted run that were deleted. */
  onStaleKeys?: (deleted: number) => void;
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

/** Per-round and per-class CSV tables of a run (accuracies are fractions). */
export function flTables(r: FlResult): Record<string, string> {
  const rounds = toCsv(
    ['round', 'phase', 'accuracy', 'interClassDiscrepancy', 'perClassAccuracyStd', 'weak', 'weakMean', 'meanLoss', 'kdTriggered', 'durationS'],
    r.rounds.map((x) => [
      x.round,
      x.phase,
      x.eval?.accuracy,
      x.eval?.interClassDiscrepancy,
      x.eval?.perClassAccuracyStd,
      x.eval?.weak.map((c) => r.classNames[c]).join(' '),
      x.eval?.weakMean,
      x.meanLoss,
      x.kdTriggered,
      x.durationS,
    ]),
  );
  const perClass = toCsv(
    ['classIndex', 'className', 'accuracy', 'weak'],
    r.final.perClass.map((a, c) => [c, r.classNames[c], a, r.final.weak.includes(c)]),
  );
  return { 'rounds.csv': rounds, 'per-class.csv': perClass };
}

/** One federated run; writes config.json, result.json and CSV tables to `outDir` when given. */
export async function runFlExperiment(input: FlConfigInput | FlConfig, o: FlRunOptions): Promise<FlRunResult> {
  const cfg = parseFlConfig(input);
  // On resume the checkpoint decides whether the config fits; the folder's config.json stays as it is.
  if (o.outDir && !o.resume) writeJsonAtomic(join(o.outDir, 'config.json'), cfg);
  const r = await withExecutor(o.executor, o.outDir, (ex) =>
    runFederated(cfg, { executor: ex, dir: o.outDir, resume: o.resume, progress: o.progress, onStaleKeys: o.onStaleKeys }),
  );
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

/** Mean and sample standard deviation over seeds (and groups). */
export type MeanStd = [number, number];

/** Within-group accuracy (test images of a group, argmax over the group's classes) of each model that matters for PKD. */
export interface WithinGroupAccuracy {
  /** The group's expert. */
  expert: number;
  /** The global model after the warm-up. */
  warmup: number;
  /** The PKD run's final global model. */
  final: number | null;
  /** The final global model of the FedAvg run of the same seed (same total rounds, no distillation). */
  fedavg: number | null;
}

export interface CompareRow {
  seed: number;
  method: string;
  accuracy: number;
  /** Mean test accuracy over the weak set identified at the end of the warm-up (same set for FedAvg and PKD of a seed). */
  weakMean: number;
  /** Accuracy of the weakest class. */
  worstAccuracy: number;
  interClassDiscrepancy: number;
  perClassAccuracyStd: number;
  perClass: number[];
  weak: number[];
  groups: number[][];
  /** Per group (PKD rows). */
  experts: { group: number[]; withinGroupAccuracy: WithinGroupAccuracy }[];
  kdTriggered: number;
}

/** The target a PKD setting is judged against: weak-class mean up by ≥ 5 pp at a cost of ≤ 0.5 pp overall accuracy. */
export const PKD_TARGET = { weakGain: 0.05, accuracyLoss: -0.005 } as const;

/** One PKD setting on one seed minus the FedAvg run of the same seed (fractions, not pp). */
export interface SeedDelta {
  seed: number;
  method: string;
  accuracy: number;
  weakMean: number;
  worstAccuracy: number;
  /** Final within-group accuracy minus FedAvg's, mean over the groups (null without groups): PKD's in-group gain. */
  withinGroupAccuracy: number | null;
  perClass: number[];
  meetsTarget: boolean;
}

/** A PKD setting's gains over FedAvg: mean ± std over seeds of the per-seed differences. */
export interface SettingGain {
  method: string;
  /** Seeds with a FedAvg run to compare with. */
  n: number;
  accuracy: MeanStd | null;
  weakMean: MeanStd | null;
  worstAccuracy: MeanStd | null;
  withinGroupAccuracy: MeanStd | null;
  /** Mean per-class difference (null for a class without finite differences). */
  perClass: (number | null)[];
  /** The mean gains are inside the target (weak-class mean and overall accuracy). */
  meetsTarget: boolean;
  /** Single seeds inside the target. */
  seedsMeetingTarget: number;
}

export interface CompareSummary {
  method: string;
  n: number;
  accuracy: MeanStd;
  weakMean: MeanStd;
  interClassDiscrepancy: MeanStd;
  /** Mean ± std over seeds and groups; null where no run has groups. */
  withinGroupAccuracy: { expert: MeanStd | null; warmup: MeanStd | null; final: MeanStd | null; fedavg: MeanStd | null };
}

export interface FlCompareResult {
  kind: 'fl-compare';
  base: FlConfig;
  classNames: string[];
  seeds: number[];
  rows: CompareRow[];
  summary: CompareSummary[];
  target: typeof PKD_TARGET;
  deltas: SeedDelta[];
  gains: SettingGain[];
  /** Seeds without a FedAvg row (left out of the deltas). */
  seedsWithoutFedavg: number[];
  /**
   * The setting to headline: the largest mean weak-class gain among settings whose mean accuracy change
   * meets the target; when none does, the largest gain overall (`meetsAccuracy` false).
   */
  headline: { method: string; meetsAccuracy: boolean } | null;
  durationS: number;
}

/** Mean and sample standard deviation (0 for one value; NaN for none). */
export function meanStd(xs: number[]): MeanStd {
  const n = xs.length;
  if (!n) return [Number.NaN, Number.NaN];
  const m = xs.reduce((a, b) => a + b, 0) / n;
  return [m, Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, n - 1))];
}

/** `meanStd` over the finite values; null when there are none. */
function meanStdFinite(xs: readonly (number | null | undefined)[]): MeanStd | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? meanStd(v) : null;
}

function meanOver(a: ClassAnalysis, classes: number[]): number {
  return classes.length ? classes.reduce((s, c) => s + a.perClass[c], 0) / classes.length : Number.NaN;
}

const meetsTarget = (weak: number, acc: number): boolean => weak >= PKD_TARGET.weakGain - 1e-9 && acc >= PKD_TARGET.accuracyLoss - 1e-9;

/** Per seed, every non-FedAvg row minus that seed's FedAvg row; seeds without a FedAvg row are skipped. */
export function compareDeltas(rows: readonly CompareRow[]): SeedDelta[] {
  const out: SeedDelta[] = [];
  for (const row of rows) {
    if (row.method === 'fedavg') continue;
    const fed = rows.find((x) => x.seed === row.seed && x.method === 'fedavg');
    if (!fed) continue;
    const inGroup = row.experts.flatMap((e) =>
      e.withinGroupAccuracy.final !== null && e.withinGroupAccuracy.fedavg !== null ? [e.withinGroupAccuracy.final - e.withinGroupAccuracy.fedavg] : [],
    );
    const accuracy = row.accuracy - fed.accuracy;
    const weakMean = row.weakMean - fed.weakMean;
    out.push({
      seed: row.seed,
      method: row.method,
      accuracy,
      weakMean,
      worstAccuracy: row.worstAccuracy - fed.worstAccuracy,
      withinGroupAccuracy: inGroup.length ? inGroup.reduce((a, b) => a + b, 0) / inGroup.length : null,
      perClass: row.perClass.map((a, c) => a - fed.perClass[c]),
      meetsTarget: meetsTarget(weakMean, accuracy),
    });
  }
  return out;
}

/**
 * The analysis of a comparison: summary per method, per-seed deltas, gains per setting (mean ± std,
 * target check) and the headline setting. Pure: the report renders what it returns.
 */
export function analyzeComparison(
  rows: readonly CompareRow[],
  methods: readonly string[],
  numClasses: number,
): Pick<FlCompareResult, 'summary' | 'deltas' | 'gains' | 'headline' | 'seedsWithoutFedavg' | 'target'> {
  const summary = methods.map((m): CompareSummary => {
    const rs = rows.filter((r) => r.method === m);
    const ex = rs.flatMap((r) => r.experts.map((e) => e.withinGroupAccuracy));
    return {
      method: m,
      n: rs.length,
      accuracy: meanStd(rs.map((r) => r.accuracy)),
      weakMean: meanStd(rs.map((r) => r.weakMean)),
      interClassDiscrepancy: meanStd(rs.map((r) => r.interClassDiscrepancy)),
      withinGroupAccuracy: {
        expert: meanStdFinite(ex.map((e) => e.expert)),
        warmup: meanStdFinite(ex.map((e) => e.warmup)),
        final: meanStdFinite(ex.map((e) => e.final)),
        fedavg: meanStdFinite(ex.map((e) => e.fedavg)),
      },
    };
  });
  const deltas = compareDeltas(rows);
  const order = [...new Set([...methods, ...rows.map((r) => r.method)])].filter((m) => m !== 'fedavg');
  const gains = order.flatMap((m): SettingGain[] => {
    const ds = deltas.filter((d) => d.method === m);
    if (!ds.length) return [];
    const accuracy = meanStdFinite(ds.map((d) => d.accuracy));
    const weakMean = meanStdFinite(ds.map((d) => d.weakMean));
    return [
      {
        method: m,
        n: ds.length,
        accuracy,
        weakMean,
        worstAccuracy: meanStdFinite(ds.map((d) => d.worstAccuracy)),
        withinGroupAccuracy: meanStdFinite(ds.map((d) => d.withinGroupAccuracy)),
        perClass: Array.from({ length: numClasses }, (_, c) => meanStdFinite(ds.map((d) => d.perClass[c]))?.[0] ?? null),
        meetsTarget: accuracy !== null && weakMean !== null && meetsTarget(weakMean[0], accuracy[0]),
        seedsMeetingTarget: ds.filter((d) => d.meetsTarget).length,
      },
    ];
  });
  const scored = gains.filter((g) => g.weakMean !== null && g.accuracy !== null);
  const ok = scored.filter((g) => (g.accuracy as MeanStd)[0] >= PKD_TARGET.accuracyLoss - 1e-9);
  const pool = ok.length ? ok : scored;
  const best = pool.length ? pool.reduce((a, b) => ((b.weakMean as MeanStd)[0] > (a.weakMean as MeanStd)[0] ? b : a)) : null;
  const seeds = [...new Set(rows.map((r) => r.seed))];
  return {
    summary,
    target: PKD_TARGET,
    deltas,
    gains,
    headline: best ? { method: best.method, meetsAccuracy: ok.length > 0 } : null,
    seedsWithoutFedavg: seeds.filter((seed) => !rows.some((r) => r.seed === seed && r.method === 'fedavg')),
  };
}

/**
 * FedAvg and PKD variants at the same total rounds, for each seed. The FedAvg run of a seed shares
 * its first `warmupRounds` rounds with every PKD run of that seed (same client seeds), and its final
 * model is scored inside every PKD group (`withinGroupAccuracy.fedavg`) to isolate PKD's in-group gain.
 */
export async function runComparison(
  base: FlConfigInput,
  seeds: number[],
  variants: CompareVariant[],
  o: { executor: ExecutorChoice | FitExecutor; outDir?: string; progress?: Progress; onRow?: (r: CompareRow) => void },
): Promise<FlCompareResult> {
  const t0 = performance.now();
  const rows: CompareRow[] = [];
  let classNames: string[] = [];
  const baseCfg = parseFlConfig({ ...base, method: 'fedavg' });
  await withExecutor(o.executor, o.outDir, async (ex) => {
    for (const seed of seeds) {
      // The FedAvg run's first rounds are every PKD variant's warm-up: keep its weights at each round.
      const snapshots = new Map<number, Weights>();
      const cache = new Map<string, unknown>();
      const cfgs = variants.map((v) => parseFlConfig({ ...base, seed, method: 'pkd', pkd: { ...(base.pkd ?? {}), ...(v.pkd ?? {}) } }));
      const warmups = new Set(cfgs.map((c) => c.pkd.warmupRounds));
      const fedCfg = parseFlConfig({ ...base, seed, method: 'fedavg' });
      let fedFinal: Weights | null = null;
      const fed = await runFederated(fedCfg, {
        executor: ex,
        progress: o.progress,
        onWeights: (round, w) => {
          if (warmups.has(round)) snapshots.set(round, w);
          if (round === fedCfg.rounds) fedFinal = w;
        },
      });
      classNames = fed.classNames;
      const task = await prepareTask(taskSpecOf(fedCfg));
      const fedInGroup = new Map<string, number>();
      const fedWithinGroup = (group: number[]): number | null => {
        if (!fedFinal) return null;
        const key = group.join(',');
        if (!fedInGroup.has(key)) fedInGroup.set(key, groupAccuracy(task, fedCfg.model, fedFinal, group, 'all').withinGroup);
        return fedInGroup.get(key) as number;
      };
      const pkdRuns: { name: string; r: FlResult }[] = [];
      for (let i = 0; i < variants.length; i++) {
        const cfg = cfgs[i];
        const w = snapshots.get(cfg.pkd.warmupRounds);
        const startFrom = w ? { round: cfg.pkd.warmupRounds, rounds: fed.rounds, weights: w } : undefined;
        pkdRuns.push({ name: variants[i].name, r: await runFederated(cfg, { executor: ex, progress: o.progress, startFrom, cache }) });
      }
      const weak = pkdRuns[0]?.r.pkd?.weak ?? fed.final.weak;
      const row = (method: string, r: FlResult): CompareRow => ({
        seed,
        method,
        accuracy: r.final.accuracy,
        weakMean: meanOver(r.final, r.pkd?.weak ?? weak),
        worstAccuracy: Math.min(...r.final.perClass),
        interClassDiscrepancy: r.final.interClassDiscrepancy,
        perClassAccuracyStd: r.final.perClassAccuracyStd,
        perClass: r.final.perClass,
        weak: r.pkd?.weak ?? weak,
        groups: r.pkd?.groups ?? [],
        experts: (r.pkd?.experts ?? []).map((e) => ({
          group: e.group,
          withinGroupAccuracy: {
            expert: e.withinGroupAccuracy.expert,
            warmup: e.withinGroupAccuracy.warmup,
            final: e.withinGroupAccuracy.final ?? null,
            fedavg: fedWithinGroup(e.group),
          },
        })),
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
  const result: FlCompareResult = {
    kind: 'fl-compare',
    base: baseCfg,
    classNames,
    seeds,
    rows,
    ...analyzeComparison(rows, methods, classNames.length),
    durationS: (performance.now() - t0) / 1000,
  };
  if (o.outDir) {
    writeJsonAtomic(join(o.outDir, 'result.json'), result);
    const groupCol = (r: CompareRow, k: keyof WithinGroupAccuracy) => r.experts.map((e) => (e.withinGroupAccuracy[k] ?? Number.NaN).toFixed(4)).join(' ');
    writeFileAtomic(
      join(o.outDir, 'compare.csv'),
      toCsv(
        [
          'seed',
          'method',
          'accuracy',
          'weakMean',
          'worstAccuracy',
          'interClassDiscrepancy',
          'weak',
          'groups',
          'expertWithinGroupAccuracy',
          'finalWithinGroupAccuracy',
          'fedavgWithinGroupAccuracy',
        ],
        rows.map((r) => [
          r.seed,
          r.method,
          r.accuracy,
          r.weakMean,
          r.worstAccuracy,
          r.interClassDiscrepancy,
          r.weak.join(' '),
          r.groups.map((g) => g.join('+')).join(' '),
          groupCol(r, 'expert'),
          groupCol(r, 'final'),
          groupCol(r, 'fedavg'),
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
  interClassDiscrepancy: number;
  perClassAccuracyStd: number;
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
  durationS: number;
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
  const t0 = performance.now();
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
            interClassDiscrepancy: r.final.interClassDiscrepancy,
            perClassAccuracyStd: r.final.perClassAccuracyStd,
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
    durationS: (performance.now() - t0) / 1000,
  };
  if (o.outDir) {
    writeJsonAtomic(join(o.outDir, 'result.json'), result);
    writeFileAtomic(
      join(o.outDir, 'consistency.csv'),
      toCsv(
        ['model', 'partition', 'seed', 'accuracy', 'interClassDiscrepancy', 'perClassAccuracyStd', 'weak', ...classNames],
        runs.map((r) => [r.model, r.partition, r.seed, r.accuracy, r.interClassDiscrepancy, r.perClassAccuracyStd, r.weak.map((c) => classNames[c]).join(' '), ...r.perClass]),
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
