/** `accelab eval <run>`: evaluates a run's checkpoint on a test split. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NotFoundError } from '../../core/errors.js';
import { writeJsonAtomic } from '../../core/fsx.js';
import { runEval } from '../../experiments/train.js';
import { pct } from '../../report/format.js';
import { emit, inRunDir, progressFor, stagedReport, startEngine } from '../common.js';
import { addOptions, batchSizeOptions, type CommonOptions, checkDataDir, checkOut, dataDirOption, datasetOption, limitOptions, withCommon } from '../options.js';

interface EvalFlags extends CommonOptions {
  dataset?: string;
  dataDir?: string;
  testLimit?: number;
  batchSize?: number;
  batch?: number;
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description("evaluate a training run's checkpoint: accuracy, per-class accuracy, confusion matrix")
    .argument('<run>', 'run folder written by `accelab train`');
  addOptions(cmd, datasetOption({ note: "default: the run's" }), dataDirOption(), limitOptions({ test: '' }), batchSizeOptions('256'));
  withCommon(cmd, { seed: false }).action(async (run: string, o: EvalFlags) => {
    if (!existsSync(run)) throw new NotFoundError(`run folder ${run} does not exist: pass a folder written by \`accelab train --out\``);
    checkDataDir(o.dataDir);
    checkOut(o);
    await startEngine(o);
    const options = { dataset: o.dataset, dataDir: o.dataDir, testLimit: o.testLimit, batch: o.batchSize ?? o.batch };
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
