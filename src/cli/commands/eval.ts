/** `accelab eval <run>`: evaluates a run's checkpoint on a test split. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { readConfigFile } from '../../core/config-file.js';
import { validate } from '../../core/config.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { writeJsonAtomic } from '../../core/fsx.js';
import { runEval } from '../../experiments/train.js';
import { pct } from '../../report/format.js';
import { emit, inRunDir, progressFor, stagedReport, startEngine } from '../common.js';
import {
  addOptions,
  batchSizeOptions,
  type CommonOptions,
  checkDataDir,
  checkDatasetName,
  checkOut,
  configOption,
  dataDirOption,
  datasetOption,
  limitOptions,
  withCommon,
} from '../options.js';

interface EvalFlags extends CommonOptions {
  config?: string;
  dataset?: string;
  dataDir?: string;
  testLimit?: number;
  batchSize?: number;
  batch?: number;
}

/** An eval run's config.json: the training run and the evaluation options. */
const EvalConfigSchema = z
  .object({
    run: z.string().optional(),
    dataset: z.string().optional(),
    dataDir: z.string().optional(),
    testLimit: z.number().int().min(1).optional(),
    batch: z.number().int().min(1).max(4096).optional(),
  })
  .strict();

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description("evaluate a training run's checkpoint: accuracy, per-class accuracy, confusion matrix")
    .argument('[run]', 'run folder written by `accelab train` (or "run" in --config)')
    .addOption(configOption());
  addOptions(cmd, datasetOption({ note: "default: the run's" }), dataDirOption(), limitOptions({ test: '' }), batchSizeOptions('256'));
  withCommon(cmd, { seed: false }).action(async (runArg: string | undefined, o: EvalFlags) => {
    const base = o.config ? validate(EvalConfigSchema, readConfigFile(o.config), `eval config (${o.config})`) : {};
    const run = runArg ?? base.run;
    if (run === undefined) throw new ConfigError('eval: give the run folder of `accelab train` (or --config <eval run>/config.json)');
    if (!existsSync(run)) throw new NotFoundError(`run folder ${run} does not exist: pass a folder written by \`accelab train --out\``);
    const options = {
      dataset: o.dataset ?? base.dataset,
      dataDir: o.dataDir ?? base.dataDir,
      testLimit: o.testLimit ?? base.testLimit,
      batch: o.batchSize ?? o.batch ?? base.batch,
    };
    checkDatasetName(options.dataset, o.config ? `eval config (${o.config})` : 'eval');
    checkDataDir(options.dataDir, o.dataDir === undefined && o.config ? `dataDir (in ${o.config})` : '--data-dir');
    checkOut(o);
    await startEngine(o);
    const r = await runEval(resolve(run), options, progressFor(o));
    let report: string | null = null;
    if (o.out) {
      report = (
        await inRunDir(o, 'eval', async (dir, final) => {
          writeJsonAtomic(join(dir, 'config.json'), { run: resolve(run), ...options });
          writeJsonAtomic(join(dir, 'result.json'), r);
          return stagedReport(dir, final, r, { title: `Evaluation: ${r.model.name} on ${r.dataset.name}` });
        })
      ).value;
    }
    const m = r.metrics;
    emit(o, { ...r, report }, () =>
      [
        `${r.model.name} on ${r.dataset.name}: test accuracy ${pct(m.accuracy, 2)} (${m.numExamples} images, loss ${m.loss.toFixed(4)})`,
        `discrepancy ${pct(m.interClassDiscrepancy, 2)} (std ${pct(m.perClassAccuracyStd, 2)})`,
        ...m.perClass.map((c) => `  ${String(c.classIndex).padStart(2)} ${c.className.padEnd(14)} ${pct(c.accuracy, 2).padStart(8)}  (${c.correct}/${c.support})`),
        `top confusions: ${m.topConfusions.map((p) => `${p.trueName}→${p.predictedName} ${p.count}`).join(', ')}`,
        ...(report ? [`report ${report}`] : []),
      ].join('\n'),
    );
  });
}
