/**
 * Shared CLI plumbing: common options, output, and the error boundary.
 * Commands parse flags into typed config objects (validated with zod) and call library functions.
 */
import { join, relative, resolve } from 'node:path';
import { type BackendChoice, type EngineInfo, initEngine, parseBackendChoice, parseNativeChoice } from '../core/engine.js';
import { RunDir } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import type { CommonOptions } from './options.js';
import { terminalProgress } from './progress.js';
import { type RunReportOptions, writeRunReport } from './run-report.js';

export { type CommonOptions, floatArg, intArg, withCommon } from './options.js';

export async function startEngine(o: CommonOptions): Promise<EngineInfo> {
  const choice: BackendChoice = parseBackendChoice(o.backend ?? process.env.ACCELAB_BACKEND);
  // Worker threads started later read the choice from the environment.
  if (o.native !== undefined) process.env.ACCELAB_NATIVE = o.native;
  return initEngine(choice, { native: parseNativeChoice(o.native ?? process.env.ACCELAB_NATIVE) });
}

/** Progress bar unless --json (stdout must stay clean) or output is not a terminal. */
export function progressFor(o: CommonOptions): Progress {
  return o.json ? silentProgress : terminalProgress();
}

/** Prints `value` as JSON when --json, else the human text. */
export function emit(o: CommonOptions, value: unknown, human: () => string): void {
  if (o.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/** Default run folder: runs/<name>-<timestamp>. */
export function defaultOut(name: string): string {
  const ts = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return `runs/${name}-${ts}`;
}

/**
 * Runs `work` in the staging folder of run folder `o.out` (default runs/<name>-<time>) and moves it
 * into place when `work` succeeds; on failure the staging folder is removed, so nothing that looks
 * like a result is left. The folder is checked (new, empty, or --overwrite) before `work` starts.
 */
export async function inRunDir<T>(o: CommonOptions, name: string, work: (dir: string, final: string) => Promise<T>): Promise<{ value: T; dir: string }> {
  const run = RunDir.open(resolve(o.out ?? defaultOut(name)), { overwrite: o.overwrite });
  try {
    const value = await work(run.staging, run.dir);
    return { value, dir: run.commit() };
  } catch (e) {
    run.discard();
    throw e;
  }
}

/**
 * Writes a finished `result` as run folder `o.out` (or `runs/<name>-<time>` with `always`): `write`
 * puts the files into the staging folder, then the report is rendered and the folder moved into place
 * (see inRunDir). Without --out (and without `always`) nothing is written. The folder was checked with
 * checkOut before the work that made `result`.
 */
export async function saveRun(
  o: CommonOptions,
  name: string,
  result: unknown,
  write: (dir: string) => void | Promise<void>,
  report: RunReportOptions,
  always = false,
): Promise<{ dir: string | null; report: string | null }> {
  if (!o.out && !always) return { dir: null, report: null };
  const { value, dir } = await inRunDir(o, name, async (stage, final) => {
    await write(stage);
    return stagedReport(stage, final, result, report);
  });
  return { dir, report: value };
}

/** The console lines naming a run folder and its report (none without a folder). */
export function runFolderLines(saved: { dir: string | null; report: string | null }): string[] {
  return saved.dir ? [`run folder ${saved.dir}`, ...(saved.report ? [`report     ${saved.report}`] : [])] : [];
}

/**
 * Writes the report of a run being built in `stage` (see inRunDir) under the report-failure policy
 * (run-report.ts); returns the path report.html will have in the final folder, or null.
 */
export async function stagedReport(stage: string, final: string, result: unknown, opts: RunReportOptions = {}): Promise<string | null> {
  const w = await writeRunReport(stage, result, opts, final);
  return w ? join(final, relative(stage, w.html)) : null;
}
