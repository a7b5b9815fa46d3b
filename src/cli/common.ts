/**
 * Shared CLI plumbing: common options, output, and the error boundary.
 * Commands parse flags into typed config objects (validated with zod) and call library functions.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_CHOICES, type BackendChoice, initEngine, NATIVE_CHOICES, parseBackendChoice, parseNativeChoice, type EngineInfo } from '../core/engine.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { terminalProgress } from './progress.js';

export interface CommonOptions {
  json?: boolean;
  seed?: number;
  out?: string;
  backend?: string;
  native?: string;
}

export function intArg(name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number${min > Number.MIN_SAFE_INTEGER ? ` from ${min}` : ''}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}.`);
    }
    return n;
  };
}

export function floatArg(name: string, min = -Infinity, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number${Number.isFinite(min) ? ` ≥ ${min}` : ''}${Number.isFinite(max) ? ` and ≤ ${max}` : ''}.`);
    return n;
  };
}

/** Adds --json, --seed, --out, --backend and --native. */
export function withCommon(cmd: Command, opts: { out?: boolean; seed?: boolean; backend?: boolean } = {}): Command {
  cmd.option('--json', 'print machine-readable JSON on stdout');
  if (opts.seed !== false) cmd.option('--seed <n>', 'random seed (same seed, same result)', intArg('--seed', 0), 1);
  if (opts.out !== false) cmd.option('--out <dir>', 'output folder for the run');
  if (opts.backend !== false) {
    cmd.addOption(
      new Option('--backend <name>', 'numeric backend (default: ACCELAB_BACKEND or auto)').choices(BACKEND_CHOICES as string[]),
    );
    cmd.addOption(
      new Option('--native <mode>', 'native BLAS kernels on wasm: auto, on (required) or off (default: ACCELAB_NATIVE or auto)').choices(
        NATIVE_CHOICES as string[],
      ),
    );
  }
  return cmd;
}

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
