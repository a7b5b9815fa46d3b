/** `accelab sparsenn train|simulate`: low-rank output-sparsity predictors and the SparseNN accelerator (arXiv 1711.01263). */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { readConfigFile } from '../../core/config-file.js';
import { validate } from '../../core/config.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { readJson } from '../../core/fsx.js';
import { runSimulate, runTrain, SPARSENN_MODELS, SparseNNSimulateConfigSchema, SparseNNTrainConfigSchema, writeSimulateRun, writeTrainRun } from '../../experiments/sparsenn.js';
import { SCHEDULES, V_MAPPINGS } from '../../hw/sparsenn/config.js';
import { readModelMetadata } from '../../nn/checkpoint.js';
import { pct, points, times } from '../../report/format.js';
import { PREDICTOR_BIAS } from '../../sparsity/predictor.js';
import { emit, progressFor, runFolderLines, saveRun, startEngine } from '../common.js';
import {
  addOptions,
  type CommonOptions,
  checkDataDir,
  checkDatasetName,
  checkOut,
  configOption,
  copyFlags,
  dataDirOption,
  datasetOption,
  floatArg,
  flagOrConfig,
  intArg,
  intListArg,
  limitOptions,
  modelOption,
  seedInto,
  withCommon,
} from '../options.js';

const TRAIN_KEYS = [
  'model',
  'dataset',
  'pretrainEpochs',
  'epochs',
  'method',
  'overheadBudget',
  'rank',
  'ranks',
  'predictorBias',
  'l1',
  'rankSweep',
  'rankSweepEpochs',
  'trainLimit',
  'testLimit',
  'dataDir',
] as const;

interface TrainFlags extends CommonOptions {
  config?: string;
  model?: string;
  dataset?: string;
  pretrainEpochs?: number;
  epochs?: number;
  method?: string;
  overheadBudget?: number;
  rank?: number;
  ranks?: Record<string, number>;
  predictorBias?: string;
  l1?: number;
  rankSweep?: number[];
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
  peSweep?: number[];
  baselineNetwork?: string;
  dataDir?: string;
}

/** "fc1=10,fc2=3" → { fc1: 10, fc2: 3 }. */
function ranksArg(s: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of s.split(',')) {
    const m = /^\s*([\w.-]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError('--ranks must be comma-separated layer=rank pairs, e.g. fc1=10,fc2=3.');
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** A `sparsenn train` run folder: checked (files present, readable JSON) before any work. */
function checkTrainRun(dir: string, what: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new NotFoundError(`${what} ${dir} does not exist: pass a run folder written by \`accelab sparsenn train --out\``);
  if (!statSync(abs).isDirectory()) throw new ConfigError(`${what} ${dir} is a file: pass a run folder written by \`accelab sparsenn train --out\``);
  if (!existsSync(join(abs, 'predictors.json')) || !existsSync(join(abs, 'checkpoint', 'model.json')))
    throw new NotFoundError(`${what} ${dir} is not a sparsenn training run (checkpoint/ or predictors.json missing): create one with \`accelab sparsenn train --out\``);
  readJson(join(abs, 'predictors.json'));
  readModelMetadata(join(abs, 'checkpoint'));
  if (existsSync(join(abs, 'result.json'))) readJson(join(abs, 'result.json'));
  return abs;
}

export function register(program: Command): void {
  const sn = program
    .command('sparsenn')
    .description('SparseNN: low-rank output-sparsity predictors trained end to end, and an accelerator skipping zero inputs and predicted-zero outputs');

  const tr = sn
    .command('train')
    .description('pretrain a zoo model, train it jointly with SVD-initialised predictors, and compare with the same network trained without them')
    .addOption(configOption());
  addOptions(
    tr,
    modelOption({ choices: SPARSENN_MODELS, default: 'mlp-300-100' }),
    datasetOption({ default: 'fashion-mnist' }),
    new Option('--pretrain-epochs <n>', 'plain training epochs before the predictors are attached (default 3)').argParser(intArg('--pretrain-epochs', 1, 100)),
    new Option('--epochs <n>', 'joint training epochs; the baseline gets the same (default 2)').argParser(intArg('--epochs', 0, 100)),
    new Option('--method <m>', 'predictor training: ste (straight-through on the mask) or aux (sign-matching auxiliary loss) (default ste)').choices(['ste', 'aux']),
    new Option('--overhead-budget <f>', 'per-layer predictor MACs / layer MACs that sets each rank (default 0.05)').argParser(floatArg('--overhead-budget', 0, 1)),
    new Option('--rank <r>', 'one rank for every ReLU layer (overrides the budget)').argParser(intArg('--rank', 0, 4096)),
    new Option('--ranks <list>', 'ranks by layer, e.g. fc1=10,fc2=3 (override both)').argParser(ranksArg),
    new Option('--predictor-bias <b>', 'predictor bias (default layer)').choices([...PREDICTOR_BIAS]),
    new Option('--l1 <a>', 'L1 activation penalty α (default 0)').argParser(floatArg('--l1', 0, 10)),
    new Option('--rank-sweep <list>', 'comma-separated ranks to sweep on the pretrained network, e.g. 1,2,5,10,20').argParser(intListArg('--rank-sweep', 1, 4096)),
    new Option('--rank-sweep-epochs <n>', 'joint training epochs per swept rank (0 = SVD only; default 1)').argParser(intArg('--rank-sweep-epochs', 0, 100)),
    limitOptions({ train: 'all', test: '10000', minTrain: 100, minTest: 10 }),
    dataDirOption(),
  );
  withCommon(tr).action(async (o: TrainFlags, c: Command) => {
    const input: Record<string, unknown> = o.config ? readConfigFile(o.config) : {};
    copyFlags(c, o, input, TRAIN_KEYS);
    seedInto(c, o, input);
    // Everything is checked before the engine starts or a file is written.
    validate(SparseNNTrainConfigSchema, input, o.config ? `sparsenn train config (${o.config})` : 'sparsenn train config');
    checkDatasetName(input.dataset, o.config ? `sparsenn train config (${o.config})` : 'sparsenn train');
    checkDataDir(input.dataDir as string | undefined, flagOrConfig(c, o, 'dataDir', '--data-dir'));
    checkOut(o);
    await startEngine(o);
    const { result: r, artifacts } = await runTrain(input, progressFor(o));
    const { dir, report } = await saveRun(o, `sparsenn-train-${r.model}`, r, (d) => writeTrainRun(d, r, artifacts), { subtitle: `SparseNN predictors on ${r.model}` }, true);
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
          ...runFolderLines({ dir, report }),
        ].join('\n'),
    );
  });

  const si = sn
    .command('simulate')
    .description('simulate dense, input-sparsity-only and SparseNN accelerators (same PEs) on the test activations of a training run')
    .addOption(configOption('accelerator settings under "accelerator"'))
    .option('--checkpoint <run>', 'run folder of `accelab sparsenn train --out`');
  addOptions(
    si,
    new Option('--pes <n>', 'processing elements (default 64)').argParser(intArg('--pes', 1, 4096)),
    limitOptions({ test: '1000' }),
    new Option('--schedule <s>', 'feed-forward row schedule (default static)').choices([...SCHEDULES]),
    new Option('--v-mapping <m>', 'predictor V placement (default split)').choices([...V_MAPPINGS]),
    new Option('--noc-words-per-cycle <n>', 'network bandwidth in words per cycle (default 1)').argParser(intArg('--noc-words-per-cycle', 1, 64)),
    new Option('--fifo-depth <n>', 'input FIFO entries per PE (default 8)').argParser(intArg('--fifo-depth', 1, 1024)),
    new Option('--row-group <n>', 'GEMM rows per barrier (examples or conv positions processed as one group; default 8)').argParser(intArg('--row-group', 1, 4096)),
    new Option('--row-placement <p>', 'output rows on PEs: profiled (balanced by activity on training images, default) or interleaved').choices(['profiled', 'interleaved']),
    new Option('--pe-sweep <list>', 'comma-separated PE counts to sweep as well, e.g. 16,32,64,128').argParser(intListArg('--pe-sweep', 1, 4096)),
    new Option('--baseline-network <n>', 'network of the baselines: baseline (trained without predictors, default) or sparsenn').choices(['baseline', 'sparsenn']),
    dataDirOption(),
  );
  withCommon(si, { seed: false }).action(async (o: SimFlags, c: Command) => {
    const input: Record<string, unknown> = o.config ? readConfigFile(o.config) : {};
    const accel: Record<string, unknown> = { ...((input.accelerator as Record<string, unknown>) ?? {}) };
    copyFlags(c, o, input, ['checkpoint', 'testLimit', 'rowPlacement', 'peSweep', 'baselineNetwork', 'dataDir']);
    copyFlags(c, o, accel, ['pes', 'schedule', 'vMapping', 'nocWordsPerCycle', 'fifoDepth', 'rowGroup']);
    input.accelerator = accel;
    if (input.checkpoint === undefined) throw new ConfigError('sparsenn simulate: give --checkpoint <run> (a folder written by `accelab sparsenn train --out`)');
    // Everything is checked before the engine starts or a file is written.
    const what = o.config ? `sparsenn simulate config (${o.config})` : 'sparsenn simulate config';
    validate(SparseNNSimulateConfigSchema, input, what);
    input.checkpoint = checkTrainRun(String(input.checkpoint), flagOrConfig(c, o, 'checkpoint', '--checkpoint'));
    checkDatasetName(input.dataset, what);
    checkDataDir(input.dataDir as string | undefined, flagOrConfig(c, o, 'dataDir', '--data-dir'));
    checkOut(o);
    await startEngine(o);
    const r = await runSimulate(input, progressFor(o));
    const saved = await saveRun(o, 'sparsenn-simulate', r, (d) => writeSimulateRun(d, r), { subtitle: `SparseNN accelerator, ${r.model}` });
    const dir = saved.dir;
    const [d, i, s] = r.architectures;
    emit(o, { ...r, out: dir, report: saved.report }, () =>
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
        ...runFolderLines(saved),
      ].join('\n'),
    );
  });
}
