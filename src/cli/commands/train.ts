/** `accelab train`: trains a zoo model on a data set and writes a run folder with a report. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { readConfigFile } from '../../core/config.js';
import { MODEL_NAMES } from '../../nn/models.js';
import { runTrain, type TrainConfigInput, writeTrainRun } from '../../experiments/train.js';
import { writeRunReport } from '../run-report.js';
import { type CommonOptions, defaultOut, emit, floatArg, intArg, progressFor, startEngine, withCommon } from '../common.js';
import { pct } from '../../report/format.js';

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
    .option('--config <file>', 'JSON/YAML file with the options below (flags override it)')
    .option('--dataset <name>', 'data set: fashion-mnist, cifar10-subset, cifar10, mnist, synthetic-gray, synthetic-rgb (default fashion-mnist)')
    .option('--model <name>', `model: ${MODEL_NAMES.join(', ')} (default cnn-small)`)
    .option('--epochs <n>', 'epochs (default 2)', intArg('--epochs', 1, 1000))
    .option('--optimizer <name>', 'sgd (with momentum) or adam (default adam)')
    .option('--lr <rate>', 'learning rate (default: adam 1e-3, or 2e-3 for resnet20/vgg-small; sgd 0.02 / 0.05)', floatArg('--lr', 1e-9, 10))
    .option('--momentum <m>', 'SGD momentum (default 0.9)', floatArg('--momentum', 0, 0.999))
    .option('--weight-decay <wd>', 'L2 weight decay on kernels (default 5e-4 for resnet20/vgg-small, else 0)', floatArg('--weight-decay', 0, 1))
    .option('--lr-schedule <s>', 'constant or cosine (default cosine for resnet20/vgg-small)')
    .option('--batch <n>', 'batch size (default 64)', intArg('--batch', 1, 4096))
    .option('--augment', 'random crop + horizontal flip (default on for 32×32×3 data)')
    .option('--no-augment', 'switch augmentation off')
    .option('--train-limit <n>', 'use only the first N training images', intArg('--train-limit', 1))
    .option('--test-limit <n>', 'use only the first N test images', intArg('--test-limit', 1))
    .option('--data-dir <dir>', 'folder holding the data set files')
    .option('--no-eval-every-epoch', 'evaluate on the test set only after the last epoch (quicker)');
  withCommon(cmd).action(async (o: TrainFlags, c: Command) => {
    const fromFile = o.config ? readConfigFile(o.config) : {};
    const flag = <K extends keyof TrainFlags>(k: K): TrainFlags[K] | undefined => (c.getOptionValueSource(k as string) === 'cli' ? o[k] : undefined);
    const input: Record<string, unknown> = { ...fromFile };
    const map: [keyof TrainFlags, string][] = [
      ['dataset', 'dataset'],
      ['model', 'model'],
      ['epochs', 'epochs'],
      ['optimizer', 'optimizer'],
      ['lr', 'lr'],
      ['momentum', 'momentum'],
      ['weightDecay', 'weightDecay'],
      ['lrSchedule', 'lrSchedule'],
      ['batch', 'batch'],
      ['augment', 'augment'],
      ['trainLimit', 'trainLimit'],
      ['testLimit', 'testLimit'],
      ['dataDir', 'dataDir'],
      ['evalEveryEpoch', 'evalEveryEpoch'],
      ['seed', 'seed'],
    ];
    for (const [flagName, key] of map) {
      const v = flag(flagName);
      if (v !== undefined) input[key] = v;
    }
    if (input.seed === undefined) input.seed = o.seed ?? 1;
    const engine = await startEngine(o);
    const progress = progressFor(o);
    const run = await runTrain(input as TrainConfigInput, progress);
    const dir = resolve(o.out ?? defaultOut(`train-${run.config.model}-${run.config.dataset}`));
    await writeTrainRun(dir, run);
    run.model.dispose();
    const r = run.result;
    const written = await writeRunReport(dir, r, {
      subtitle: `test accuracy ${pct(r.testAccuracy, 2)} after ${r.epochs.length} epoch${r.epochs.length > 1 ? 's' : ''} (${engine.backend} backend)`,
    });
    const summary = {
      run: dir,
      report: written?.html ?? null,
      testAccuracy: r.testAccuracy,
      testLoss: r.final.loss,
      interClassDiscrepancy: r.final.interClassDiscrepancy,
      perClassAccuracyStd: r.final.perClassAccuracyStd,
      perClassAccuracy: Object.fromEntries(r.final.perClass.map((p) => [p.className, p.accuracy])),
      weakestClasses: r.final.weakestClasses.map((p) => p.className),
      topConfusions: r.final.topConfusions.map((p) => ({ true: p.trueName, predicted: p.predictedName, count: p.count })),
      epochs: r.epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy, testLoss: e.testLoss, testAccuracy: e.testAccuracy, trainSeconds: e.trainSeconds, evalSeconds: e.evalSeconds })),
      config: run.config,
      backend: engine.backend,
    };
    emit(o, summary, () =>
      [
        `${r.model.name} on ${r.dataset.name} (${engine.backend}), ${run.config.epochs} epoch(s), ${run.config.optimizer} lr ${run.config.lr}, batch ${run.config.batch}, seed ${run.config.seed}`,
        ...r.epochs.map(
          (e) => `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)} acc ${pct(e.trainAccuracy, 2)} | test loss ${e.testLoss?.toFixed(4) ?? '–'} acc ${pct(e.testAccuracy, 2)} | ${e.trainSeconds.toFixed(1)} s + eval ${e.evalSeconds.toFixed(1)} s`,
        ),
        `test accuracy   ${pct(r.testAccuracy, 2)}`,
        `discrepancy     ${pct(r.final.interClassDiscrepancy, 2)} (std ${pct(r.final.perClassAccuracyStd, 2)})`,
        `weakest         ${r.final.weakestClasses.map((p) => `${p.className} ${pct(p.accuracy, 2)}`).join(', ')}`,
        `run folder      ${dir}`,
        ...(written ? [`report          ${written.html}`] : []),
      ].join('\n'),
    );
  });
}
