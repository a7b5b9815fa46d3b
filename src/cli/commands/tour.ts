/** `accelab tour` (what `npm start` runs): engine info, a short training run, one HTML report. */
import type { Command } from 'commander';
import { z } from 'zod';
import { readConfigFile } from '../../core/config-file.js';
import { validate } from '../../core/config.js';
import { runTour } from '../../experiments/tour.js';
import { emit, inRunDir, progressFor, stagedReport, startEngine } from '../common.js';
import { summarize, TOUR_STEPS } from '../studies/index.js';
import { addOptions, type CommonOptions, checkDataDir, checkOut, configOption, dataDirOption, fromCli, limitOptions, listArg, withCommon } from '../options.js';

interface TourFlags extends CommonOptions {
  config?: string;
  dataDir?: string;
  trainLimit?: number;
  testLimit?: number;
  only?: string[];
  sequential?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('tour')
    .description('quick tour (what `npm start` runs): engine info, one epoch of cnn-small on Fashion-MNIST (synthetic data when missing), one report.html');
  addOptions(cmd, dataDirOption(), limitOptions({ train: '', test: '' }));
  cmd
    .option(
      '--only <steps>',
      `comma-separated steps to run (${TOUR_STEPS.map((s) => s.name).join(', ')})`,
      listArg(
        '--only',
        TOUR_STEPS.map((s) => s.name),
      ),
    )
    .option(
      '--sequential',
      `run every step on the main thread, one after another (default: ${TOUR_STEPS.filter((s) => s.parallel)
        .map((s) => s.name)
        .join(', ')} on a worker thread, in parallel with the other steps)`,
    );
  cmd.addOption(configOption());
  withCommon(cmd).action(async (flags: TourFlags, c: Command) => {
    const names = TOUR_STEPS.map((s) => s.name) as [string, ...string[]];
    const TourConfigSchema = z
      .object({
        command: z.literal('tour').optional(),
        seed: z.number().int().min(0).optional(),
        dataDir: z.string().optional(),
        trainLimit: z.number().int().min(1).optional(),
        testLimit: z.number().int().min(1).optional(),
        sequential: z.boolean().optional(),
        steps: z.array(z.enum(names)).min(1).optional(),
      })
      .strict();
    const base = flags.config ? validate(TourConfigSchema, readConfigFile(flags.config), `tour config (${flags.config})`) : {};
    const o: TourFlags = {
      ...flags,
      seed: fromCli<number>(c, flags as Record<string, unknown>, 'seed') ?? base.seed ?? flags.seed,
      dataDir: flags.dataDir ?? base.dataDir,
      trainLimit: flags.trainLimit ?? base.trainLimit,
      testLimit: flags.testLimit ?? base.testLimit,
      sequential: flags.sequential ?? base.sequential,
      only: flags.only ?? base.steps,
    };
    checkDataDir(o.dataDir, flags.dataDir === undefined && flags.config ? `dataDir (in ${flags.config})` : '--data-dir');
    checkOut(o);
    const only = o.only;
    const log = (s: string): void => {
      if (!o.json) process.stdout.write(`${s}\n`);
    };
    const engine = await startEngine(o);
    const {
      value: { result, html },
      dir: out,
    } = await inRunDir(o, 'tour', async (stage, final) => {
      const result = await runTour({
        outDir: stage,
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
      const html = await stagedReport(stage, final, result, { title: 'accelab tour', subtitle: 'A quick pass over the studies on the default data' });
      return { result, html };
    });
    const written = { html };
    emit(
      o,
      {
        run: out,
        report: written.html,
        totalSeconds: result.totalSeconds,
        notices: result.notices,
        steps: result.steps.map((s) => ({ name: s.name, ok: s.ok, seconds: s.seconds, worker: s.worker ?? false, error: s.error })),
      },
      () =>
        [`tour finished in ${result.totalSeconds.toFixed(0)} s (${result.steps.filter((s) => s.ok).length}/${result.steps.length} steps ok)`, `report: ${written.html}`].join('\n'),
    );
    const failed = result.steps.filter((s) => !s.ok);
    if (failed.length) {
      process.stderr.write(`error: tour step${failed.length > 1 ? 's' : ''} ${failed.map((s) => `${s.name} (${s.error})`).join(', ')} failed: see ${written.html}\n`);
      process.exitCode = 1;
    }
  });
}
