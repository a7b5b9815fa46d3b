/** `accelab train`: trains a zoo model on a data set and writes a run folder with a report. */
import { type Command, Option } from 'commander';
import { readConfigFile } from '../../core/config-file.js';
import { ConfigError } from '../../core/errors.js';
import { resolveTrainConfig, runTrain, type TrainConfigInput, writeTrainRun } from '../../experiments/train.js';
import { pct } from '../../report/format.js';
import { emit, inRunDir, progressFor, stagedReport, startEngine } from '../common.js';
import {
  addOptions,
  batchSizeOptions,
  type CommonOptions,
  checkDataDir,
  checkOut,
  copyFlags,
  copyTrainingFlags,
  DATASET_CHOICES,
  dataDirOption,
  datasetOption,
  floatArg,
  intArg,
  limitOptions,
  lrOption,
  modelOption,
  optimizerOption,
  withCommon,
} from '../options.js';

interface TrainFlags extends CommonOptions {
  config?: string;
  dataset?: string;
  model?: string;
  epochs?: number;
  optimizer?: string;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  lrSchedule?: string;
  batchSize?: number;
  batch?: number;
  augment?: boolean;
  trainLimit?: number;
  testLimit?: number;
  dataDir?: string;
  evalEveryEpoch?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a model (per-epoch test loss, accuracy, per-class accuracy, confusion matrix) and write a run folder with report.html')
    .option('--config <file>', "JSON/YAML file with the options below, e.g. a run's config.json (flags override it)");
  addOptions(
    cmd,
    datasetOption({ default: 'fashion-mnist' }),
    modelOption({ default: 'cnn-small' }),
    new Option('--epochs <n>', 'epochs (default 2)').argParser(intArg('--epochs', 1, 1000)),
    optimizerOption('adam'),
    lrOption('adam 1e-3, or 2e-3 for resnet20/vgg-small; sgd 0.02 / 0.05'),
    new Option('--weight-decay <wd>', 'L2 weight decay on kernels (default 5e-4 for resnet20/vgg-small, else 0)').argParser(floatArg('--weight-decay', 0, 1)),
    new Option('--lr-schedule <s>', 'learning-rate schedule (default cosine for resnet20/vgg-small, else constant)').choices(['constant', 'cosine']),
    batchSizeOptions('64'),
    new Option('--augment', 'random crop + horizontal flip (default on for 32×32×3 data)'),
    new Option('--no-augment', 'switch augmentation off'),
    limitOptions({ train: '', test: '' }),
    dataDirOption(),
    new Option('--no-eval-every-epoch', 'evaluate on the test set only after the last epoch (quicker)'),
  );
  withCommon(cmd).action(async (o: TrainFlags, c: Command) => {
    const fromFile = o.config ? readConfigFile(o.config) : {};
    const flag = <K extends keyof TrainFlags>(k: K): TrainFlags[K] | undefined => (c.getOptionValueSource(k as string) === 'cli' ? o[k] : undefined);
    const input: Record<string, unknown> = { ...fromFile };
    copyFlags(c, o, input, ['dataset', 'model', 'dataDir']);
    copyTrainingFlags(c, o, input);
    if (input.seed === undefined) input.seed = o.seed ?? 1;
    // Everything is checked before the engine starts or a file is written.
    const prelim = resolveTrainConfig(input);
    if (!DATASET_CHOICES.includes(prelim.dataset)) throw new ConfigError(`train config: dataset '${prelim.dataset}' is not known: use one of ${DATASET_CHOICES.join(', ')}`);
    checkDataDir(prelim.dataDir, o.config && flag('dataDir') === undefined ? `dataDir (in ${o.config})` : '--data-dir');
    checkOut(o);
    const engine = await startEngine(o);
    const progress = progressFor(o);
    const run = await runTrain(input as TrainConfigInput, progress);
    const { value: written, dir } = await inRunDir(o, `train-${run.config.model}-${run.config.dataset}`, async (stage, final) => {
      await writeTrainRun(stage, run);
      const r = run.result;
      const html = await stagedReport(stage, final, r, {
        subtitle: `test accuracy ${pct(r.testAccuracy, 2)} after ${r.epochs.length} epoch${r.epochs.length > 1 ? 's' : ''} (${engine.backend} backend)`,
      });
      return { html };
    }).finally(() => run.model.dispose());
    const r = run.result;
    const summary = {
      run: dir,
      report: written.html,
      testAccuracy: r.testAccuracy,
      testLoss: r.final.loss,
      interClassDiscrepancy: r.final.interClassDiscrepancy,
      perClassAccuracyStd: r.final.perClassAccuracyStd,
      perClassAccuracy: Object.fromEntries(r.final.perClass.map((p) => [p.className, p.accuracy])),
      weakestClasses: r.final.weakestClasses.map((p) => p.className),
      topConfusions: r.final.topConfusions.map((p) => ({ true: p.trueName, predicted: p.predictedName, count: p.count })),
      epochs: r.epochs.map((e) => ({
        epoch: e.epoch,
        trainLoss: e.trainLoss,
        trainAccuracy: e.trainAccuracy,
        testLoss: e.testLoss,
        testAccuracy: e.testAccuracy,
        trainSeconds: e.trainSeconds,
        evalSeconds: e.evalSeconds,
      })),
      config: run.config,
      backend: engine.backend,
    };
    emit(o, summary, () =>
      [
        `${r.model.name} on ${r.dataset.name} (${engine.backend}), ${run.config.epochs} epoch(s), ${run.config.optimizer} lr ${run.config.lr}, batch ${run.config.batch}, seed ${run.config.seed}`,
        ...r.epochs.map(
          (e) =>
            `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)} acc ${pct(e.trainAccuracy, 2)} | test loss ${e.testLoss?.toFixed(4) ?? '–'} acc ${pct(e.testAccuracy, 2)} | ${e.trainSeconds.toFixed(1)} s + eval ${e.evalSeconds.toFixed(1)} s`,
        ),
        `test accuracy   ${pct(r.testAccuracy, 2)}`,
        `discrepancy     ${pct(r.final.interClassDiscrepancy, 2)} (std ${pct(r.final.perClassAccuracyStd, 2)})`,
        `weakest         ${r.final.weakestClasses.map((p) => `${p.className} ${pct(p.accuracy, 2)}`).join(', ')}`,
        `run folder      ${dir}`,
        ...(written.html ? [`report          ${written.html}`] : []),
      ].join('\n'),
    );
  });
}
