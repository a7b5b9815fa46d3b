/**
 * Downloads catalog files: progress through `Progress`, checksum verification (sha256 and/or md5),
 * atomic writes (`<file>.part`, renamed when verified), and resumption with an HTTP Range request
 * when a `.part` is left by an interrupted run. A server that ignores Range (answers 200) or
 * rejects it (416), or whose Content-Range does not start where the `.part` ends, makes the download
 * restart cleanly from byte 0. 404, checksum mismatch and truncation are one-line `DataError`s.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { DataError } from '../core/errors.js';
import { ensureDir } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { type CatalogEntry, type CatalogFile, type LookupOptions, catalogEntry, DATASET_NAMES, fetchTargetDir } from './catalog.js';

export interface FileHashes {
  sha256: string;
  md5: string;
  bytes: number;
}

export async function hashFile(path: string): Promise<FileHashes> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    sha.update(chunk as Buffer);
    md5.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: sha.digest('hex'), md5: md5.digest('hex'), bytes };
}

/** Null when the hashes match the expectations, else a one-line problem. */
export function checksumProblem(h: FileHashes, want: { size?: number; sha256?: string; md5?: string }): string | null {
  if (want.size !== undefined && h.bytes !== want.size) return `size mismatch: ${h.bytes} bytes, expected ${want.size}`;
  if (want.sha256 && h.sha256 !== want.sha256.toLowerCase()) return `checksum mismatch: sha256 ${h.sha256}, expected ${want.sha256}`;
  if (want.md5 && h.md5 !== want.md5.toLowerCase()) return `checksum mismatch: md5 ${h.md5}, expected ${want.md5}`;
  return null;
}

export interface DownloadOptions {
  size?: number;
  sha256?: string;
  md5?: string;
  progress?: Progress;
  /** Label for the progress bar (default: the file name). */
  label?: string;
  /** In-process resume attempts after a cut transfer (default 2). */
  retries?: number;
  /** Socket inactivity timeout in ms (default 30,000). */
  timeoutMs?: number;
}

export interface DownloadResult {
  path: string;
  url: string;
  bytes: number;
  sha256: string;
  md5: string;
  /** True when an existing `.part` was continued with a Range request. */
  resumed: boolean;
  /** Number of HTTP requests made. */
  requests: number;
}

type Attempt = { kind: 'done' } | { kind: 'cut'; reason: string } | { kind: 'restart' };

function partSize(part: string): number {
  try {
    return statSync(part).size;
  } catch {
    return 0;
  }
}

function requestOnce(
  url: string,
  part: string,
  opts: DownloadOptions,
  state: { total: number | null; serverTotal: number | null; resumed: boolean; started: boolean },
  redirects = 0,
): Promise<Attempt> {
  const offset = partSize(part);
  const progress = opts.progress ?? silentProgress;
  const lib = url.startsWith('https:') ? https : http;
  return new Promise<Attempt>((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'accelab-data-fetch' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    let req: http.ClientRequest;
    try {
      req = lib.get(url, { headers, timeout: opts.timeoutMs ?? 30000 });
    } catch (e) {
      reject(new DataError(`${url}: bad URL (${(e as Error).message})`));
      return;
    }
    req.on('timeout', () => req.destroy(new Error('no data for too long (timeout)')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      // Once the response has started, its own events settle the attempt (after the file is flushed).
      if (!state.started) reject(new DataError(`${url}: cannot download (${e.code ?? e.message})`));
    });
    req.on('response', (res) => {
      const code = res.statusCode ?? 0;
      if (code >= 300 && code < 400 && res.headers.location) {
        res.resume();
        if (redirects >= 5) {
          reject(new DataError(`${url}: too many redirects`));
          return;
        }
        requestOnce(new URL(res.headers.location, url).toString(), part, opts, state, redirects + 1).then(resolve, reject);
        return;
      }
      if (code === 416 && offset > 0) {
        res.resume();
        rmSync(part, { force: true });
        resolve({ kind: 'restart' });
        return;
      }
      if (code === 404) {
        res.resume();
        reject(new DataError(`${url}: not found (HTTP 404): the file is not on this server; check the URL or --base-url`));
        return;
      }
      if (code !== 200 && code !== 206) {
        res.resume();
        reject(new DataError(`${url}: download failed with HTTP ${code}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
        return;
      }
      let start = 0;
      let total: number | null = null;
      const len = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
      if (code === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
        if (!m || Number(m[1]) !== offset) {
          // A range we did not ask for: start over cleanly.
          res.resume();
          rmSync(part, { force: true });
          resolve({ kind: 'restart' });
          return;
        }
        start = offset;
        total = m[3] !== '*' ? Number(m[3]) : len !== null ? offset + len : null;
        state.resumed = true;
      } else {
        total = len;
      }
      state.serverTotal = total;
      total = total ?? opts.size ?? null;
      state.total = total;
      state.started = true;
      if (total !== null) {
        progress.start(opts.label ?? url.split('/').pop() ?? url, total);
        if (start > 0) progress.tick(start);
      }
      const out = createWriteStream(part, { flags: start > 0 ? 'a' : 'w' });
      let received = 0;
      let finished = false;
      const settle = (reason: string | null): void => {
        if (finished) return;
        finished = true;
        out.end(() => {
          const have = partSize(part);
          if (reason === null && (len === null || received >= len) && (total === null || have >= total)) resolve({ kind: 'done' });
          else resolve({ kind: 'cut', reason: reason ?? `connection closed after ${have} of ${total ?? '?'} bytes` });
        });
      };
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        out.write(chunk);
        progress.tick(chunk.length);
      });
      res.on('end', () => settle(null));
      res.on('aborted', () => settle('connection aborted'));
      res.on('error', (e) => settle(e.message));
      res.on('close', () => {
        if (!res.complete) settle('connection closed early');
      });
      out.on('error', (e) => {
        req.destroy();
        reject(new DataError(`${part}: cannot write (${e.message})`));
      });
    });
  });
}

/**
 * Downloads `url` to `dest` via `dest.part`, resuming a `.part` left by an earlier run, verifies the
 * size and checksums, then renames into place.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const progress = opts.progress ?? silentProgress;
  const state = { total: null as number | null, serverTotal: null as number | null, resumed: false, started: false };
  const retries = opts.retries ?? 2;
  let requests = 0;
  let cuts = 0;
  let restarts = 0;
  try {
    for (;;) {
      state.started = false;
      requests++;
      const r = await requestOnce(url, part, opts, state);
      progress.stop();
      if (r.kind === 'done') break;
      if (r.kind === 'restart') {
        if (++restarts > 2) throw new DataError(`${url}: the server keeps answering range requests wrongly; delete ${part} and try again`);
        continue;
      }
      if (++cuts > retries) {
        const have = partSize(part);
        throw new DataError(`${url}: truncated transfer: got ${have} of ${state.total ?? opts.size ?? '?'} bytes (${r.reason}); run the command again to resume from ${part}`);
      }
    }
  } finally {
    progress.stop();
  }
  const expectedSize = opts.size ?? state.total ?? undefined;
  const h = await hashFile(part);
  // The server delivered all it announced, but that is not the file the catalog describes.
  const complete = state.serverTotal !== null && h.bytes === state.serverTotal;
  if (expectedSize !== undefined && h.bytes < expectedSize && !complete) {
    throw new DataError(`${url}: truncated transfer: got ${h.bytes} of ${expectedSize} bytes; run the command again to resume from ${part}`);
  }
  const problem = checksumProblem(h, { size: expectedSize, sha256: opts.sha256, md5: opts.md5 });
  if (problem) {
    rmSync(part, { force: true });
    throw new DataError(`${dest}: ${problem} (downloaded from ${url}; the bad file was deleted, run the command again)`);
  }
  renameSync(part, dest);
  return { path: dest, url, bytes: h.bytes, sha256: h.sha256, md5: h.md5, resumed: state.resumed, requests };
}

export interface FetchOptions extends LookupOptions {
  /** Replaces the catalog's base URLs (for mirrors and tests). */
  baseUrl?: string;
  progress?: Progress;
  /** Use this entry instead of the catalog's (tests, custom data sets). */
  entry?: CatalogEntry;
  /** Download again even when a verified file is present. */
  force?: boolean;
  retries?: number;
  timeoutMs?: number;
}

export interface FetchedFile {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
  /** `present`: already there and verified; `downloaded`; `resumed`: continued from a `.part`. */
  status: 'present' | 'downloaded' | 'resumed';
  url: string | null;
}

export interface FetchResult {
  name: string;
  dir: string;
  files: FetchedFile[];
}

function joinUrl(base: string, name: string): string {
  return base.endsWith('/') ? base + name : `${base}/${name}`;
}

/** `accelab data fetch <name>`: downloads and verifies every file of a catalog data set. */
export async function fetchDataset(name: string, opts: FetchOptions = {}): Promise<FetchResult> {
  const entry = opts.entry ?? catalogEntry(name);
  if (!entry) throw new DataError(`data set '${name}' is not known: use one of ${DATASET_NAMES.join(', ')}`);
  const bases = opts.baseUrl ? [opts.baseUrl] : entry.baseUrls;
  if (bases.length === 0) throw new DataError(`data set '${name}' cannot be downloaded: ${entry.note ?? 'no URL known'}`);
  const dir = fetchTargetDir(name, opts);
  ensureDir(dir, '--data-dir');
  const files: FetchedFile[] = [];
  for (const f of entry.files) files.push(await fetchOne(f, dir, bases, opts));
  return { name, dir, files };
}

async function fetchOne(f: CatalogFile, dir: string, bases: string[], opts: FetchOptions): Promise<FetchedFile> {
  const dest = join(dir, f.name);
  if (existsSync(dest) && !opts.force) {
    const h = await hashFile(dest);
    if (!checksumProblem(h, f)) return { name: f.name, path: dest, bytes: h.bytes, sha256: h.sha256, status: 'present', url: null };
    rmSync(dest, { force: true });
  }
  if (opts.force) rmSync(`${dest}.part`, { force: true });
  let last: Error | null = null;
  for (const base of bases) {
    const url = joinUrl(base, f.name);
    try {
      const r = await downloadFile(url, dest, {
        size: f.size,
        sha256: f.sha256,
        md5: f.md5,
        progress: opts.progress,
        label: f.name,
        retries: opts.retries,
        timeoutMs: opts.timeoutMs,
      });
      return { name: f.name, path: dest, bytes: r.bytes, sha256: r.sha256, status: r.resumed ? 'resumed' : 'downloaded', url };
    } catch (e) {
      last = e as Error;
      // A bad checksum or a cut transfer is final for this run; a missing file or host tries the next mirror.
      if (!/not found|cannot download|HTTP \d/.test(last.message)) throw last;
    }
  }
  throw last ?? new DataError(`${f.name}: no URL to download from`);
}
