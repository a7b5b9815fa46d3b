/**
 * The one CLI dialect: every shared flag is defined here once, with one meaning, one set of choices
 * and one parser, and every command adds it from here. Values are checked when parsed (type, range,
 * integer-ness) and paths when a command starts (kind, existence, writability), before any work.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_CHOICES, NATIVE_CHOICES } from '../core/engine.js';
import { ConfigError, NotFoundError } from '../core/errors.js';
import { checkRunTarget, checkWritableDir, readJson } from '../core/fsx.js';
import { DATASET_NAMES, SYNTHETIC_NAMES } from '../data/index.js';
import { readModelMetadata } from '../nn/checkpoint.js';
import { MODEL_NAMES } from '../nn/models.js';

// ------------------------------------------------------------------ value parsers

const range = (min: number, max: number, lo: string, hi: string): string =>
  `${Number.isFinite(min) && min > Number.MIN_SAFE_INTEGER ? `${lo} ${min}` : ''}${Number.isFinite(max) && max < Number.MAX_SAFE_INTEGER ? `${hi} ${max}` : ''}`;

/** A whole number in [min, max]; "1.5", "1e3x", "" and "-1" (when min ≥ 0) are refused. */
export function intArg(name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number${range(min, max, ' from', ' to')}.`);
    return n;
  };
}

/** A finite number in [min, max]. */
export function floatArg(name: string, min = -Infinity, max = Infinity) {
  return (v: string): number => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number${range(min, max, ' ≥', ' and ≤')}.`);
    return n;
  };
}

/** A comma-separated list of known names (at least one). */
export function listArg<T extends string>(name: string, allowed: readonly T[]) {
  return (v: string): T[] => {
    const xs = v.split(',').map((s) => s.trim());
    if (!xs.length || xs.some((x) => x === '')) throw new InvalidArgumentError(`${name} must be a comma-separated list of ${allowed.join(', ')}.`);
    for (const x of xs) if (!(allowed as readonly string[]).includes(x)) throw new InvalidArgumentError(`${name}: '${x}' is not known: use ${allowed.join(', ')}.`);
    return xs as T[];
  };
}

/** A comma-separated list of numbers in [min, max] (at least one). */
export function floatListArg(name: string, min = -Infinity, max = Infinity, example = '0,0.5,1') {
  const one = floatArg(name, min, max);
  return (v: string): number[] => {
    try {
      return v.split(',').map(one);
    } catch {
      throw new InvalidArgumentError(`${name} must be comma-separated numbers${range(min, max, ' ≥', ' and ≤')}, e.g. ${example}.`);
    }
  };
}

/** "<a>x<b>" with whole a, b ≥ 1 (an array or matrix shape; `×` works too). */
export function shapeArg(name: string, example = '32x32') {
  return (v: string): [number, number] => {
    const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/.exec(v);
    const dims = m ? [Number(m[1]), Number(m[2])] : [];
    if (!m || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) throw new InvalidArgumentError(`${name} must be two whole numbers ≥ 1 as <a>x<b>, e.g. ${example}.`);
    return dims as [number, number];
  };
}

/** A comma-separated list of whole numbers in [min, max]. */
export function intListArg(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const one = intArg(name, min, max);
  return (v: string): number[] => {
    const xs = v.split(',').map((s) => s.trim());
    try {
      return xs.map(one);
    } catch {
      throw new InvalidArgumentError(`${name} must be comma-separated whole numbers${range(min, max, ' from', ' to')}, e.g. 1,2,3.`);
    }
  };
}

// ------------------------------------------------------------------ choices

/** Data sets every command knows: the catalog plus the generated ones. */
export const DATASET_CHOICES: readonly string[] = [...DATASET_NAMES, ...SYNTHETIC_NAMES];
export const OPTIMIZER_CHOICES = ['sgd', 'adam'] as const;
export type OptimizerChoice = (typeof OPTIMIZER_CHOICES)[number];

// ------------------------------------------------------------------ shared option definitions

export interface CommonOptions {
  json?: boolean;
  seed?: number;
  out?: string;
  overwrite?: boolean;
  backend?: string;
  native?: string;
}

export const jsonOption = (): Option => new Option('--json', 'print machine-readable JSON on stdout');
export const seedOption = (): Option => new Option('--seed <n>', 'random seed (same config and seed, same result)').argParser(intArg('--seed', 0, 2 ** 31 - 1)).default(1);
export const outOption = (what = 'run folder'): Option => new Option('--out <dir>', `${what} (a new or empty folder; written atomically when the run succeeds)`);
export const overwriteOption = (): Option => new Option('--overwrite', 'replace an existing non-empty --out folder (once the new run is complete)');
export const backendOption = (): Option => new Option('--backend <name>', 'numeric backend (default: ACCELAB_BACKEND or auto)').choices(BACKEND_CHOICES as string[]);
export const nativeOption = (): Option =>
  new Option('--native <mode>', 'native BLAS kernels on wasm: auto, on (required) or off (default: ACCELAB_NATIVE or auto)').choices(NATIVE_CHOICES as string[]);

export function datasetOption(o: { default?: string; choices?: readonly string[]; note?: string } = {}): Option {
  const opt = new Option('--dataset <name>', `data set${o.default ? ` (default ${o.default}${o.note ? `; ${o.note}` : ''})` : o.note ? ` (${o.note})` : ''}`);
  return opt.choices([...(o.choices ?? DATASET_CHOICES)]);
}

export function modelOption(o: { default?: string; choices?: readonly string[]; extra?: readonly string[]; note?: string } = {}): Option {
  const choices = [...(o.choices ?? MODEL_NAMES), ...(o.extra ?? [])];
  return new Option('--model <name>', `model from the zoo${o.default ? ` (default ${o.default}${o.note ? `; ${o.note}` : ''})` : o.note ? ` (${o.note})` : ''}`).choices(choices);
}

export function optimizerOption(defaultText: string): Option[] {
  return [
    new Option('--optimizer <name>', `optimizer; sgd uses --momentum (default ${defaultText})`).choices([...OPTIMIZER_CHOICES]),
    new Option('--momentum <m>', 'SGD momentum, 0 = plain SGD (default 0.9)').argParser(floatArg('--momentum', 0, 0.999)),
  ];
}

export function lrOption(defaultText: string): Option {
  return new Option('--lr <rate>', `learning rate (default ${defaultText})`).argParser(floatArg('--lr', 1e-9, 10));
}

export function batchSizeOptions(defaultText: string): Option[] {
  return [
    new Option('--batch-size <n>', `batch size (default ${defaultText})`).argParser(intArg('--batch-size', 1, 4096)),
    new Option('--batch <n>', 'same as --batch-size').argParser(intArg('--batch', 1, 4096)).hideHelp(),
  ];
}

export function limitOptions(o: { train?: string; test?: string; minTrain?: number; minTest?: number } = {}): Option[] {
  const out: Option[] = [];
  if (o.train !== undefined)
    out.push(
      new Option('--train-limit <n>', `use only the first N training examples${o.train ? ` (default ${o.train})` : ''}`).argParser(intArg('--train-limit', o.minTrain ?? 1)),
    );
  if (o.test !== undefined)
    out.push(new Option('--test-limit <n>', `use only the first N test examples${o.test ? ` (default ${o.test})` : ''}`).argParser(intArg('--test-limit', o.minTest ?? 1)));
  return out;
}

export function workersOption(defaultText: string, max = 64): Option {
  return new Option('--workers <n>', `worker threads (default ${defaultText})`).argParser(intArg('--workers', 1, max));
}

/** `--config`: a JSON/YAML file of the command's options, e.g. a run's config.json (flags override it). */
export function configOption(note = ''): Option {
  return new Option('--config <file>', `JSON/YAML file with the options, e.g. a run's config.json${note ? ` (${note})` : ''}; flags override it`);
}

export const dataDirOption = (): Option => new Option('--data-dir <dir>', 'an existing folder holding the data set files (looked at first)');

export function checkpointOption(what: string): Option {
  return new Option('--checkpoint <dir>', `${what}: a run folder of \`accelab train\` or \`accelab winograd train-filters\` (or any folder holding model.json)`);
}

/** Adds options to a command. */
export function addOptions(cmd: Command, ...opts: (Option | Option[])[]): Command {
  for (const o of opts.flat()) cmd.addOption(o);
  return cmd;
}

/** Adds --json, --seed, --out (+ --overwrite) and --backend (+ --native); pass false to leave one out. */
export function withCommon(cmd: Command, opts: { out?: boolean; seed?: boolean; backend?: boolean } = {}): Command {
  cmd.addOption(jsonOption());
  if (opts.seed !== false) cmd.addOption(seedOption());
  if (opts.out !== false) cmd.addOption(outOption()).addOption(overwriteOption());
  if (opts.backend !== false) cmd.addOption(backendOption()).addOption(nativeOption());
  return cmd;
}

// ------------------------------------------------------------------ path checks (before any work)

/** `--data-dir` must be an existing folder. */
export function checkDataDir(dir: string | undefined, flag = '--data-dir'): string | undefined {
  if (dir === undefined) return undefined;
  if (!existsSync(dir)) throw new NotFoundError(`${flag} ${dir} does not exist: pass the folder holding the data set files`);
  if (!statSync(dir).isDirectory()) throw new ConfigError(`${flag} ${dir} is a file, not a folder: pass the folder holding the data set files`);
  return resolve(dir);
}

/**
 * `--checkpoint`: a run folder (its checkpoint/model.json) or a folder holding model.json.
 * Returns the folder that holds model.json, and the run folder when there is one.
 */
export function resolveCheckpoint(dir: string, flag = '--checkpoint'): { modelDir: string; runDir: string | null } {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new NotFoundError(`${flag} ${dir} does not exist: pass a run folder written with --out by \`accelab train\` or \`accelab winograd train-filters\``);
  if (!statSync(abs).isDirectory()) throw new ConfigError(`${flag} ${dir} is a file: pass a run folder (or a folder holding model.json)`);
  if (existsSync(join(abs, 'checkpoint', 'model.json'))) return { modelDir: join(abs, 'checkpoint'), runDir: abs };
  if (existsSync(join(abs, 'model.json'))) return { modelDir: abs, runDir: null };
  throw new NotFoundError(
    `${flag} ${dir} holds no checkpoint (no checkpoint/model.json or model.json): pass a run folder of \`accelab train\` or \`accelab winograd train-filters\``,
  );
}

/** What a checkpoint says about itself (its metadata, or its run folder's config.json); nothing is loaded. */
export interface CheckpointInfo {
  modelDir: string;
  runDir: string | null;
  model: string | null;
  dataset: string | null;
}

/** resolveCheckpoint, and the model and data set the checkpoint was trained with (a malformed model.json fails here). */
export function checkpointInfo(dir: string, flag = '--checkpoint'): CheckpointInfo {
  const { modelDir, runDir } = resolveCheckpoint(dir, flag);
  const meta = readModelMetadata(modelDir) as { config?: { model?: unknown; dataset?: unknown }; model?: unknown; dataset?: unknown };
  const runCfg = runDir && existsSync(join(runDir, 'config.json')) ? readJson<{ model?: unknown; dataset?: unknown }>(join(runDir, 'config.json')) : {};
  const str = (...xs: unknown[]): string | null => (xs.find((x) => typeof x === 'string') as string | undefined) ?? null;
  return { modelDir, runDir, model: str(meta.config?.model, meta.model, runCfg.model), dataset: str(meta.config?.dataset, meta.dataset, runCfg.dataset) };
}

/** A data set name from a config file or checkpoint must be one the commands know. */
export function checkDatasetName(name: unknown, what: string): void {
  if (name !== undefined && !DATASET_CHOICES.includes(String(name)))
    throw new ConfigError(`${what}: dataset '${String(name)}' is not known: use one of ${DATASET_CHOICES.join(', ')}`);
}

/** Checks --out before any work: a new or empty folder, or any folder with --overwrite (or --resume). */
export function checkOut(o: CommonOptions, resume = false): void {
  if (o.out !== undefined) checkRunTarget(o.out, { overwrite: o.overwrite, resume, what: '--out' });
}

/** Checks an output folder that is not a run folder (e.g. `report --out`): writable, not a file. */
export function checkOutputFolder(dir: string, flag = '--out'): void {
  checkWritableDir(dir, flag);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ConfigError(`${flag} ${dir} is a file, not a folder: choose a folder path`);
}

/** The value of a flag only when it was given on the command line (config files fill the rest). */
export function fromCli<T>(c: Command, o: Record<string, unknown>, key: string): T | undefined {
  return c.getOptionValueSource(key) === 'cli' ? (o[key] as T) : undefined;
}

/** Copies the flags given on the command line onto `input` under the same keys (they override a config file). */
export function copyFlags(c: Command, o: object, input: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) {
    const v = fromCli(c, o as Record<string, unknown>, k);
    if (v !== undefined) input[k] = v;
  }
}

/** The training flags `train` and `compress prune` share (config keys), and --batch-size as `batch`. */
const TRAINING_KEYS = ['epochs', 'optimizer', 'lr', 'momentum', 'weightDecay', 'lrSchedule', 'batch', 'augment', 'trainLimit', 'testLimit', 'evalEveryEpoch', 'seed'] as const;

/** Copies the shared training flags given on the command line into `input` (--batch-size is the config's `batch`). */
export function copyTrainingFlags(c: Command, o: object, input: Record<string, unknown>): void {
  copyFlags(c, o, input, TRAINING_KEYS);
  const batchSize = fromCli(c, o as Record<string, unknown>, 'batchSize');
  if (batchSize !== undefined) input.batch = batchSize;
}

/** `--seed` into `input`: the flag when given, else the config file's seed, else the default. */
export function seedInto(c: Command, o: CommonOptions, input: Record<string, unknown>): void {
  if (fromCli(c, o as Record<string, unknown>, 'seed') !== undefined || input.seed === undefined) input.seed = o.seed ?? 1;
}

/** Names where a value came from in error messages: the flag, or the key in the --config file. */
export function flagOrConfig(c: Command, o: { config?: string }, key: string, flag: string): string {
  return c.getOptionValueSource(key) === 'cli' || !o.config ? flag : `${key} (in ${o.config})`;
}
