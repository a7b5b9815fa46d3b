/** `accelab eval <run>`: evaluates a run's checkpoint on a test split. */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from '../../core/fsx.js';
import { runEval } from '../../experiments/train.js';
import { writeRunReport } from '../run-report.js';
import { type CommonOptions, emit, intArg, progressFor, startEngine, withCommon } from '../common.js';
import { pct } from '../../report/format.js';

interface EvalFlags extends CommonOptions {
  dataset?: string;
  dataDir?: string;
  testLimit?: number;
  batch?: number;
}


export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description("evaluate a training run's checkpoint: accuracy, per-class accuracy, confusion matrix")
    .argument('<run>', 'run folder written by `accelab train`')
    .option('--dataset <name>', "data set to evaluate on (default: the run's)")
    .option('--data-dir <dir>', 'folder holding the data set files')
    .option('--test-limit <n>', 'use only the first N test images', intArg('--test-limit', 1))
    .option('--batch <n>', 'evaluation batch size (default 256)', intArg('--batch', 1, 4096));
  withCommon(cmd, { seed: false }).action(async (run: string, o: EvalFlags) => {
    await startEngine(o);
    const r = await runEval(resolve(run), { dataset: o.dataset, dataDir: o.dataDir, testLimit: o.testLimit, batch: o.batch }, progressFor(o));
    let report: string | undefined;
    if (o.out) {
      const dir = resolve(o.out);
      writeJsonAtomic(join(dir, 'result.json'), r);
      report = (await writeRunReport(dir, r, { title: `Evaluation: ${r.model.name} on ${r.dataset.name}` }))?.html;
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
