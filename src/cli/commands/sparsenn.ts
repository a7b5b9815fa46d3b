/** `accelab sparsenn train|simulate`: low-rank output-sparsity predictors and the SparseNN accelerator (arXiv 1711.01263). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readConfigFile } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { runSimulate, runTrain, SPARSENN_MODELS, writeSimulateRun, writeTrainRun } from '../../experiments/sparsenn.js';
import { SCHEDULES, V_MAPPINGS } from '../../hw/sparsenn/config.js';
import { pct, points, times } from '../../report/format.js';
import { PREDICTOR_BIAS } from '../../sparsity/predictor.js';
import { type CommonOptions, defaultOut, emit, floatArg, intArg, progressFor, startEngine, withCommon } from '../common.js';
import { writeRunReport } from '../run-report.js';

interface TrainFlags extends CommonOptions {
  config?: string;
  model?: string;
  dataset?: string;
  pretrainEpochs?: number;
  epochs?: number;
  method?: string;
  overheadBudget?: number;
  rank?: number;
  ranks?: string;
  predictorBias?: string;
  l1?: number;
  rankSweep?: string;
  rankSweepEpochs?: number;
  trainLimit?: number;
  testLimit?: number;
  dataDir?: string;
}

interface SimFlags extends CommonOptions {
  config?: string;
  checkpoint?: string;
  pes?: number;
  testLimit?: number;
  schedule?: string;
  vMapping?: string;
  nocWordsPerCycle?: number;
  fifoDepth?: number;
  rowGroup?: number;
  rowPlacement?: string;
  peSweep?: string;
  baselineNetwork?: string;
  dataDir?: string;
}

function choice(v: string | undefined, allowed: readonly string[], flag: string): string | undefined {
  if (v !== undefined && !allowed.includes(v)) throw new ConfigError(`${flag} '${v}' is not known: use one of ${allowed.join(', ')}`);
  return v;
}

function seedOf(o: CommonOptions, c: Command, input: Record<string, unknown>): void {
  if (c.getOptionValueSource('seed') === 'cli' || input.seed === undefined) input.seed = o.seed ?? 1;
}

/** "fc1=10,fc2=3" → { fc1: 10, fc2: 3 }. */
function parseRanks(s: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of s.split(',')) {
    const m = /^\s*([\w.-]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m) throw new ConfigError(`--ranks '${s}' must be comma-separated layer=rank pairs, e.g. fc1=10,fc2=3`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

export function register(program: Command): void {
  const sn = program
    .command('sparsenn')
    .description('SparseNN: low-rank output-sparsity predictors trained end to end, and an accelerator skipping zero inputs and predicted-zero outputs');

  const tr = sn
    .command('train')
    .description('pretrain a zoo model, train it jointly with SVD-initialised predictors, and compare with the same network trained without them')
    .option('--config <file>', 'JSON/YAML file with the options; flags override it')
    .option('--model <name>', `${SPARSENN_MODELS.join(', ')} (default mlp-300-100)`)
    .option('--dataset <name>', 'data set (default fashion-mnist)')
    .option('--pretrain-epochs <n>', 'plain training epochs before the predictors are attached (default 3)', intArg('--pretrain-epochs', 1, 100))
    .option('--epochs <n>', 'joint training epochs; the baseline gets the same (default 2)', intArg('--epochs', 0, 100))
    .option('--method <m>', 'predictor training: ste (straight-through on the mask) or aux (sign-matching auxiliary loss) (default ste)')
    .option('--overhead-budget <f>', 'per-layer predictor MACs / layer MACs that sets each rank (default 0.05)', floatArg('--overhead-budget', 0, 1))
    .option('--rank <r>', 'one rank for every ReLU layer (overrides the budget)', intArg('--rank', 0))
    .option('--ranks <list>', 'ranks by layer, e.g. fc1=10,fc2=3 (override both)')
    .option('--predictor-bias <b>', `${PREDICTOR_BIAS.join(' or ')} (default layer)`)
    .option('--l1 <a>', 'L1 activation penalty α (default 0)', floatArg('--l1', 0, 10))
    .option('--rank-sweep <list>', 'comma-separated ranks to sweep on the pretrained network, e.g. 1,2,5,10,20')
    .option('--rank-sweep-epochs <n>', 'joint training epochs per swept rank (0 = SVD only; default 1)', intArg('--rank-sweep-epochs', 0, 100))
    .option('--train-limit <n>', 'training images used (default all)', intArg('--train-limit', 100))
    .option('--test-limit <n>', 'test images evaluated (default 10000)', intArg('--test-limit', 10))
    .option('--data-dir <dir>', 'folder holding the data set files');
  withCommon(tr).action(async (o: TrainFlags, c: Command) => {
    const input: Record<string, unknown> = o.config ? readConfigFile(o.config) : {};
    if (o.model !== undefined) input.model = o.model;
    if (o.dataset !== undefined) input.dataset = o.dataset;
    if (o.pretrainEpochs !== undefined) input.pretrainEpochs = o.pretrainEpochs;
    if (o.epochs !== undefined) input.epochs = o.epochs;
    if (o.method !== undefined) input.method = choice(o.method, ['ste', 'aux'], '--method');
    if (o.overheadBudget !== undefined) input.overheadBudget = o.overheadBudget;
    if (o.rank !== undefined) input.rank = o.rank;
    if (o.ranks !== undefined) input.ranks = parseRanks(o.ranks);
    if (o.predictorBias !== undefined) input.predictorBias = choice(o.predictorBias, PREDICTOR_BIAS, '--predictor-bias');
    if (o.l1 !== undefined) input.l1 = o.l1;
    if (o.rankSweep !== undefined) {
      const list = o.rankSweep.split(',').map((x) => Number(x.trim()));
      if (list.some((v) => !Number.isInteger(v) || v < 1)) throw new ConfigError(`--rank-sweep '${o.rankSweep}' must be comma-separated whole numbers ≥ 1, e.g. 1,2,5,10`);
      input.rankSweep = list;
    }
    if (o.rankSweepEpochs !== undefined) input.rankSweepEpochs = o.rankSweepEpochs;
    if (o.trainLimit !== undefined) input.trainLimit = o.trainLimit;
    if (o.testLimit !== undefined) input.testLimit = o.testLimit;
    if (o.dataDir !== undefined) input.dataDir = o.dataDir;
    seedOf(o, c, input);
    await startEngine(o);
    const { result: r, artifacts } = await runTrain(input, progressFor(o));
    const dir = resolve(o.out ?? defaultOut('sparsenn-train'));
    await writeTrainRun(dir, r, artifacts);
    const report = (await writeRunReport(dir, r, { subtitle: `SparseNN predictors on ${r.model}` }))?.html ?? null;
    emit(
      o,
      {
        accuracy: r.accuracy,
        baselineAccuracy: r.baselineAccuracy,
        accuracyLossPoints: r.accuracyLossPoints,
        overhead: r.overhead,
        outputSparsity: r.outputSparsity,
        baselineOutputSparsity: r.baselineOutputSparsity,
        predictedSparsity: r.predictedSparsity,
        falseNegativeRate: r.falseNegativeRate,
        falsePositiveRate: r.falsePositiveRate,
        svdAccuracy: r.svd.accuracy,
        ranks: r.ranks,
        perLayer: r.perLayer,
        out: dir,
        report,
      },
      () =>
        [
          `${r.model} on ${r.dataset} (${r.trainImages} training, ${r.testImages} test images), predictors trained with ${r.config.method}`,
          `SparseNN  ${pct(r.accuracy, 2)}   baseline ${pct(r.baselineAccuracy, 2)}   (${points(-r.accuracyLossPoints / 100)})   SVD-only ${pct(r.svd.accuracy, 2)}`,
          `overhead ${pct(r.overhead, 2)} of the layer MACs; output sparsity ${pct(r.outputSparsity)} (baseline ReLU ${pct(r.baselineOutputSparsity)}); false negatives ${pct(r.falseNegativeRate, 2)}, false positives ${pct(r.falsePositiveRate, 2)}`,
          `ranks: ${r.ranks.map((x) => `${x.name} ${x.rank}`).join(', ')}`,
          ...r.rankSweep.map(
            (x) =>
              `  rank ${String(x.rank).padStart(3)}: overhead ${pct(x.overhead, 2)}, SVD-only ${pct(x.svdAccuracy, 2)} (false neg. ${pct(x.svdFalseNegativeRate, 1)})${x.accuracy === null ? '' : `, joint ${pct(x.accuracy, 2)} (false neg. ${pct(x.falseNegativeRate, 1)})`}`,
          ),
          `run folder ${dir}`,
          ...(report ? [`report     ${report}`] : []),
        ].join('\n'),
    );
  });

  const si = sn
    .command('simulate')
    .description('simulate dense, input-sparsity-only and SparseNN accelerators (same PEs) on the test activations of a training run')
    .option('--config <file>', 'JSON/YAML file with the options (accelerator settings under "accelerator"); flags override it')
    .option('--checkpoint <run>', 'run folder of `accelab sparsenn train`')
    .option('--pes <n>', 'processing elements (default 64)', intArg('--pes', 1, 4096))
    .option('--test-limit <n>', 'test images simulated (default 1000)', intArg('--test-limit', 1, 100000))
    .option('--schedule <s>', `feed-forward row schedule: ${SCHEDULES.join(', ')} (default static)`)
    .option('--v-mapping <m>', `predictor V placement: ${V_MAPPINGS.join(', ')} (default split)`)
    .option('--noc-words-per-cycle <n>', 'network bandwidth in words per cycle (default 1)', intArg('--noc-words-per-cycle', 1, 64))
    .option('--fifo-depth <n>', 'input FIFO entries per PE (default 8)', intArg('--fifo-depth', 1, 1024))
    .option('--row-group <n>', 'GEMM rows per barrier (examples or conv positions processed as one group; default 8)', intArg('--row-group', 1, 4096))
    .option('--row-placement <p>', 'output rows on PEs: profiled (balanced by activity on training images, default) or interleaved')
    .option('--pe-sweep <list>', 'comma-separated PE counts to sweep as well, e.g. 16,32,64,128')
    .option('--baseline-network <n>', 'network of the baselines: baseline (trained without predictors, default) or sparsenn')
    .option('--data-dir <dir>', 'folder holding the data set files');
  withCommon(si, { seed: false }).action(async (o: SimFlags) => {
    const input: Record<string, unknown> = o.config ? readConfigFile(o.config) : {};
    const accel: Record<string, unknown> = { ...((input.accelerator as Record<string, unknown>) ?? {}) };
    if (o.checkpoint !== undefined) input.checkpoint = resolve(o.checkpoint);
    if (input.checkpoint === undefined) throw new ConfigError('sparsenn simulate: give --checkpoint <run> (a folder written by `accelab sparsenn train --out`)');
    if (o.testLimit !== undefined) input.testLimit = o.testLimit;
    if (o.pes !== undefined) accel.pes = o.pes;
    if (o.schedule !== undefined) accel.schedule = choice(o.schedule, SCHEDULES, '--schedule');
    if (o.vMapping !== undefined) accel.vMapping = choice(o.vMapping, V_MAPPINGS, '--v-mapping');
    if (o.nocWordsPerCycle !== undefined) accel.nocWordsPerCycle = o.nocWordsPerCycle;
    if (o.fifoDepth !== undefined) accel.fifoDepth = o.fifoDepth;
    if (o.rowGroup !== undefined) accel.rowGroup = o.rowGroup;
    if (o.rowPlacement !== undefined) input.rowPlacement = choice(o.rowPlacement, ['interleaved', 'profiled'], '--row-placement');
    if (o.peSweep !== undefined) {
      const list = o.peSweep.split(',').map((s) => Number(s.trim()));
      if (list.some((v) => !Number.isInteger(v) || v < 1 || v > 4096))
        throw new ConfigError(`--pe-sweep '${o.peSweep}' must be comma-separated whole numbers from 1 to 4096, e.g. 16,32,64`);
      input.peSweep = list;
    }
    if (o.baselineNetwork !== undefined) input.baselineNetwork = choice(o.baselineNetwork, ['baseline', 'sparsenn'], '--baseline-network');
    if (o.dataDir !== undefined) input.dataDir = o.dataDir;
    input.accelerator = accel;
    await startEngine(o);
    const r = await runSimulate(input, progressFor(o));
    let report: string | null = null;
    const dir = o.out ? resolve(o.out) : null;
    if (dir) {
      writeSimulateRun(dir, r);
      report = (await writeRunReport(dir, r, { subtitle: `SparseNN accelerator, ${r.model}` }))?.html ?? null;
    }
    const [d, i, s] = r.architectures;
    emit(o, { ...r, out: dir, report }, () =>
      [
        `${r.model} on ${r.images} ${r.dataset} test images, ${r.config.accelerator.pes} PEs: accuracy SparseNN ${pct(r.accuracy, 2)}, baseline ${pct(r.baselineAccuracy, 2)}`,
        'architecture    cycles/image   energy/image (nJ)   power (mW)',
        ...[d, i, s].map(
          (a) =>
            `${a.arch.padEnd(14)} ${a.cyclesPerExample.toFixed(0).padStart(13)} ${(a.energyPerExamplePj / 1000).toFixed(1).padStart(19)} ${(a.powerW * 1000).toFixed(1).padStart(12)}`,
        ),
        `vs input-sparsity only: throughput ${r.throughputGainVsInputSparsity >= 0 ? '+' : ''}${pct(r.throughputGainVsInputSparsity)} (paper 10–70 %), power ×${r.powerRatioVsInputSparsity.toFixed(2)} (paper ≈ ×0.5), energy ×${r.energyRatioVsInputSparsity.toFixed(2)}; vs dense ${times(r.speedupVsDense)} faster`,
        ...r.perLayer.map(
          (l) =>
            `  ${l.name.padEnd(8)} rank ${String(l.rank).padStart(3)}  input zeros ${pct(l.inputSparsity).padStart(6)}  predicted zero ${pct(l.predictedSparsity).padStart(6)}  speed-up ${times(l.speedupVsInputSparsity)}  imbalance ${l.loadImbalance.toFixed(2)}`,
        ),
        ...r.peSweep.map(
          (p) =>
            `  ${String(p.pes).padStart(4)} PEs: throughput ${pct(p.throughputGainVsInputSparsity)}, power ×${p.powerRatioVsInputSparsity.toFixed(2)}, energy ×${p.energyRatioVsInputSparsity.toFixed(2)}`,
        ),
        ...(dir ? [`run folder ${dir}`, ...(report ? [`report     ${report}`] : [])] : []),
      ].join('\n'),
    );
  });
}
