/** `accelab tour` (what `npm start` runs): engine info, a short training run, one HTML report. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { runTour } from '../../experiments/tour.js';
import { writeRunReport } from '../run-report.js';
import { summarize, TOUR_STEPS } from '../studies/index.js';
import { type CommonOptions, defaultOut, emit, intArg, progressFor, startEngine, withCommon } from '../common.js';

interface TourFlags extends CommonOptions {
  dataDir?: string;
  trainLimit?: number;
  testLimit?: number;
  only?: string;
  sequential?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('tour')
    .description('quick tour (what `npm start` runs): engine info, one epoch of cnn-small on Fashion-MNIST (synthetic data when missing), one report.html')
    .option('--data-dir <dir>', 'folder holding the data set files')
    .option('--train-limit <n>', 'train on the first N images only (quicker)', intArg('--train-limit', 1))
    .option('--test-limit <n>', 'evaluate on the first N test images only (quicker)', intArg('--test-limit', 1))
    .option('--only <steps>', `comma-separated steps to run (${TOUR_STEPS.map((s) => s.name).join(', ')})`)
    .option('--sequential', `run every step on the main thread, one after another (default: ${TOUR_STEPS.filter((s) => s.parallel)
      .map((s) => s.name)
      .join(', ')} on a worker thread, in parallel with the other steps)`);
  withCommon(cmd).action(async (o: TourFlags) => {
    const out = resolve(o.out ?? defaultOut('tour'));
    const only = o.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const log = (s: string): void => {
      if (!o.json) process.stdout.write(`${s}\n`);
    };
    const engine = await startEngine(o);
    const result = await runTour({
      outDir: out,
      steps: TOUR_STEPS,
      seed: o.seed,
      dataDir: o.dataDir,
      trainLimit: o.trainLimit,
      testLimit: o.testLimit,
      only,
      sequential: o.sequential,
      backend: engine.backend,
      progress: progressFor(o),
      hooks: {
        onStepStart: (s, i, n, info) => log(`[${i + 1}/${n}] ${s.title}${info.worker ? ' (started on a worker thread; result below when done)' : ''}`),
        onWaiting: (steps) => log(`waiting for ${steps.map((s) => s.name).join(', ')} on the worker thread…`),
        onStepEnd: (rec, i, n, info) => {
          if (info.worker) log(`[${i + 1}/${n}] ${rec.title}: ${rec.ok ? 'done' : 'failed'} on the worker thread in ${rec.seconds.toFixed(0)} s`);
          if (!rec.ok) log(`  failed: ${rec.error}`);
          else if (rec.result) log(`  ${summarize(rec.result) ?? `result of kind '${rec.result.kind}'`}`);
        },
      },
    });
    for (const n of result.notices) log(`notice: ${n}`);
    const written = await writeRunReport(out, result, { title: 'accelab tour', subtitle: 'A quick pass over the studies on the default data' });
    emit(o, { run: out, report: written?.html ?? null, totalSeconds: result.totalSeconds, notices: result.notices, steps: result.steps.map((s) => ({ name: s.name, ok: s.ok, seconds: s.seconds, worker: s.worker ?? false, error: s.error })) }, () =>
      [`tour finished in ${result.totalSeconds.toFixed(0)} s (${result.steps.filter((s) => s.ok).length}/${result.steps.length} steps ok)`, ...(written ? [`report: ${written.html}`] : [])].join('\n'),
    );
    if (result.steps.some((s) => !s.ok)) process.exitCode = 1;
  });
}
