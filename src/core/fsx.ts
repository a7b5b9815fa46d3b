/**
 * File helpers: every result file is written to a temp file and renamed, never half-written; a run
 * folder is built under a hidden staging name and renamed into place when the run is complete.
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, NotFoundError } from './errors.js';

/** Short text of a Node system error (`EACCES`, `ENOENT` …) or of any error. */
function sysText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? err?.message?.replace(/\s*\n\s*/g, ' ').trim() ?? String(e);
}

/** The deepest existing ancestor of `path` (itself when it exists). */
function existingAncestor(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/**
 * Checks that folder `dir` exists or can be created, without creating it: every existing part of the
 * path is a folder and the deepest existing one is writable. `what` names the flag in the error.
 */
export function checkWritableDir(dir: string, what = 'folder'): void {
  const abs = resolve(dir);
  const anc = existingAncestor(abs);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(anc);
  } catch (e) {
    throw new ConfigError(`${what} ${dir}: cannot inspect ${anc} (${sysText(e)}): choose another folder`);
  }
  if (!st.isDirectory()) throw new ConfigError(`${what} ${dir}: ${anc} is a file, not a folder: choose a folder path`);
  try {
    accessSync(anc, constants.W_OK | constants.X_OK);
  } catch {
    throw new ConfigError(`${what} ${dir}: ${anc} is not writable: choose a folder you can write to`);
  }
  if (/^\/(proc|sys)(\/|$)/.test(abs)) throw new ConfigError(`${what} ${dir}: /proc and /sys hold no ordinary files: choose another folder`);
}

/**
 * Creates `dir` and its missing parents one level at a time. Node's recursive mkdirSync never returns
 * on some virtual file systems (procfs); this fails with one ConfigError instead.
 */
export function ensureDir(dir: string, what = 'folder'): void {
  const abs = resolve(dir);
  if (existsSync(abs)) {
    if (!statSync(abs).isDirectory()) throw new ConfigError(`${what} ${dir} is a file, not a folder: choose a folder path`);
    return;
  }
  const missing: string[] = [];
  for (let p = abs; !existsSync(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(p).isDirectory()) continue;
      throw new ConfigError(`${what} ${dir}: cannot create ${p} (${sysText(e)}): choose a folder you can write to`);
    }
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  ensureDir(dirname(path));
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reads a JSON file; a missing, unreadable or malformed file is one error naming the file. */
export function readJson<T = unknown>(path: string): T {
  if (!existsSync(path)) throw new NotFoundError(`${path} does not exist`);
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new NotFoundError(`${path} is a folder, not a JSON file`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof NotFoundError) throw e;
    throw new NotFoundError(`${path} cannot be read (${sysText(e)})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new NotFoundError(`${path} is not valid JSON (${sysText(e)}): pass a file written by accelab`);
  }
}

/** True when `dir` does not exist or is an empty folder. */
export function isEmptyDir(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return statSync(dir).isDirectory() && readdirSync(dir).length === 0;
}

export interface RunDirOptions {
  /** Replace an existing non-empty folder (only once the new run is complete). */
  overwrite?: boolean;
  /** Flag name used in error messages (default `--out`). */
  what?: string;
}

/**
 * A run folder built atomically: the run writes into `staging` (a hidden sibling of the final folder),
 * `commit()` renames it to `dir` (replacing the old folder only with `overwrite`), `discard()` removes
 * it. So a failed or killed run never leaves anything that looks like a result.
 */
export class RunDir {
  readonly dir: string;
  readonly staging: string;
  private done = false;

  private constructor(dir: string, staging: string) {
    this.dir = dir;
    this.staging = staging;
  }

  /** Checks `dir` (kind, writability, not an existing run unless `overwrite`) and creates the staging folder. */
  static open(dir: string, o: RunDirOptions = {}): RunDir {
    const what = o.what ?? '--out';
    const abs = resolve(dir);
    checkRunTarget(abs, { ...o, what });
    const parent = dirname(abs);
    ensureDir(parent, what);
    removeStaleStaging(parent, basename(abs));
    const staging = join(parent, `.${basename(abs)}.partial-${process.pid}-${Date.now().toString(36)}`);
    ensureDir(staging, what);
    return new RunDir(abs, staging);
  }

  /** Moves the finished run into place. */
  commit(): string {
    if (this.done) return this.dir;
    this.done = true;
    if (existsSync(this.dir)) {
      const old = `${this.staging}.old`;
      renameSync(this.dir, old);
      renameSync(this.staging, this.dir);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(this.staging, this.dir);
    return this.dir;
  }

  /** Removes the staging folder (a failed run leaves nothing behind). */
  discard(): void {
    if (this.done) return;
    this.done = true;
    rmSync(this.staging, { recursive: true, force: true });
  }
}

/** Fails unless `dir` can become a run folder: absent, an empty folder, or (with `overwrite`) any folder. */
export function checkRunTarget(dir: string, o: RunDirOptions & { resume?: boolean } = {}): void {
  const what = o.what ?? '--out';
  const abs = resolve(dir);
  checkWritableDir(abs, what);
  if (!existsSync(abs)) return;
  if (!statSync(abs).isDirectory()) throw new ConfigError(`${what} ${dir} is a file, not a folder: choose a new folder path`);
  if (!o.overwrite && !o.resume && readdirSync(abs).length > 0) {
    throw new ConfigError(`${what} ${dir} already holds files (an earlier run?): choose a new folder, or pass --overwrite to replace it`);
  }
}

/** Removes staging folders of `name` left by processes that no longer run (killed runs). */
function removeStaleStaging(parent: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  const re = new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.partial-(\\d+)-`);
  for (const e of entries) {
    const m = re.exec(e);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) rmSync(join(parent, e), { recursive: true, force: true });
  }
}

/** A run's config.json (everything needed to rerun it) and result.json. */
export function writeRunJson(dir: string, config: unknown, result: unknown): void {
  writeJsonAtomic(join(dir, 'config.json'), config);
  writeJsonAtomic(join(dir, 'result.json'), result);
}

type Cell = string | number | boolean | null | undefined;

/** Objects to CSV text, one column per key in `columns` (the CSV header is the key). */
export function tableCsv<K extends string>(columns: readonly K[], rows: readonly { readonly [k in K]: Cell }[]): string {
  return toCsv(
    columns,
    rows.map((r) => columns.map((c) => r[c])),
  );
}

/** Rows to CSV text (RFC 4180 quoting). */
export function toCsv(columns: readonly string[], rows: readonly (readonly (string | number | boolean | null | undefined)[])[]): string {
  const cell = (v: string | number | boolean | null | undefined): string => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(cell).join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}
