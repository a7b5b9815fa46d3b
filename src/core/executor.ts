/**
 * Worker-thread executor: runs independent jobs on N worker threads, one numeric engine
 * (tfjs-wasm instance) per worker, so that both cores of a machine train at once.
 *
 * A job names an ES module (absolute path or file: URL of compiled JS), an exported function and
 * its JSON-serializable arguments (typed arrays are fine; list their buffers in `transfer` to move
 * instead of copy). The function runs in a worker as `fn(args, ctx)` and may be async; its return
 * value is structured-cloned back. Failures come back as `JobError`s naming the job:
 * - the function throws or rejects → the error message (worker stays alive);
 * - the worker dies (process.exit, uncaught exception in a callback, out of memory, timeout) →
 *   "worker crashed/exited ..."; the dead worker is replaced and the queue goes on.
 * The pool never hangs on a dead worker. Always `close()` the executor when done.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { BackendChoice, NativeChoice } from './engine.js';
import { ConfigError, JobError } from './errors.js';

export interface JobSpec<A = unknown> {
  /** Job id used in results and errors (e.g. "client-3"). */
  id: string;
  /** Compiled JS module: absolute path or file: URL (use `new URL('./x.js', import.meta.url)`). */
  module: string | URL;
  /** Exported function name; called as fn(args, ctx). */
  fn: string;
  args?: A;
  /** ArrayBuffers inside `args` to transfer instead of copying. */
  transfer?: ArrayBuffer[];
}

/** What a job function receives besides its arguments. */
export interface JobContext {
  jobId: string;
  workerIndex: number;
}

export interface ExecutorOptions {
  /** Worker threads (default: os.availableParallelism()). */
  workers?: number;
  /** Numeric backend each worker starts (default: ACCELAB_BACKEND or auto). 'none' skips the engine. */
  backend?: BackendChoice | 'none';
  /** Native BLAS kernels in each worker's engine (default: ACCELAB_NATIVE or auto). */
  native?: NativeChoice;
  /** Per-worker V8 heap limits (e.g. { maxOldGenerationSizeMb: 2048 }). */
  resourceLimits?: ResourceLimits;
  /** Kill a job's worker after this many ms (default: no limit). */
  timeoutMs?: number;
}

export type JobOutcome<T> = { id: string; ok: true; value: T; ms: number } | { id: string; ok: false; error: JobError; ms: number };

export interface WorkerRequest {
  type: 'run';
  jobId: string;
  module: string;
  fn: string;
  args: unknown;
}
export type WorkerReply = { type: 'ready' } | { type: 'result'; jobId: string; value: unknown } | { type: 'error'; jobId: string; message: string; name: string };

interface Pending {
  job: JobSpec;
  resolve: (v: unknown) => void;
  reject: (e: JobError) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  current: Pending | null;
  timer: NodeJS.Timeout | null;
  dead: boolean;
}

const WORKER_URL = new URL('./executor-worker.js', import.meta.url);

function moduleSpecifier(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (m.startsWith('file:')) return m;
  if (!isAbsolute(m)) throw new ConfigError(`job module '${m}' must be an absolute path or a file: URL`);
  return pathToFileURL(m).href;
}

export class Executor {
  readonly size: number;
  private readonly opts: ExecutorOptions;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;
  private nextIndex = 0;

  constructor(opts: ExecutorOptions = {}) {
    const n = opts.workers ?? availableParallelism();
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`workers must be a whole number ≥ 1, got ${n}`);
    this.size = n;
    this.opts = opts;
  }

  /** Runs one job; resolves with its return value or rejects with a JobError. */
  run<T = unknown, A = unknown>(job: JobSpec<A>): Promise<T> {
    if (this.closed) return Promise.reject(new JobError(job.id, 'the executor is closed'));
    let spec: string;
    try {
      spec = moduleSpecifier(job.module);
    } catch (e) {
      return Promise.reject(new JobError(job.id, (e as Error).message));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job: { ...job, module: spec } as JobSpec, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Runs all jobs (at most `size` at once) and returns every outcome, in input order; never rejects. */
  async runAll<T = unknown>(jobs: JobSpec[]): Promise<JobOutcome<T>[]> {
    return Promise.all(
      jobs.map(async (job) => {
        const t0 = performance.now();
        try {
          const value = await this.run<T>(job);
          return { id: job.id, ok: true as const, value, ms: performance.now() - t0 };
        } catch (e) {
          const error = e instanceof JobError ? e : new JobError(job.id, String(e));
          return { id: job.id, ok: false as const, error, ms: performance.now() - t0 };
        }
      }),
    );
  }

  /** Terminates all workers; queued jobs are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new JobError(p.job.id, 'the executor was closed before the job ran'));
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map(async (s) => {
        s.dead = true;
        if (s.timer) clearTimeout(s.timer);
        if (s.current) s.current.reject(new JobError(s.current.job.id, 'the executor was closed while the job ran'));
        s.current = null;
        await s.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      workerData: {
        backend: this.opts.backend ?? process.env.ACCELAB_BACKEND ?? 'auto',
        native: this.opts.native ?? process.env.ACCELAB_NATIVE ?? 'auto',
        index: this.nextIndex,
      },
      resourceLimits: this.opts.resourceLimits,
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { index: this.nextIndex++, worker, current: null, timer: null, dead: false };
    worker.unref();
    worker.on('message', (msg: WorkerReply) => this.onMessage(slot, msg));
    worker.on('error', (err: Error) => this.onDeath(slot, `worker crashed: ${err.message}`));
    worker.on('exit', (code: number) => this.onDeath(slot, `worker exited with code ${code}`));
    this.slots.push(slot);
    return slot;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.dead && s.current === null);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const p = this.queue.shift()!;
      slot.current = p;
      slot.worker.ref();
      const msg: WorkerRequest = { type: 'run', jobId: p.job.id, module: p.job.module as string, fn: p.job.fn, args: p.job.args };
      try {
        slot.worker.postMessage(msg, p.job.transfer ?? []);
      } catch (e) {
        slot.current = null;
        slot.worker.unref();
        p.reject(new JobError(p.job.id, `arguments cannot be sent to a worker: ${(e as Error).message}`));
        continue;
      }
      if (this.opts.timeoutMs !== undefined) {
        const s = slot;
        s.timer = setTimeout(() => {
          this.onDeath(s, `timed out after ${this.opts.timeoutMs} ms`);
        }, this.opts.timeoutMs);
      }
    }
  }

  private finish(slot: Slot): Pending | null {
    const p = slot.current;
    slot.current = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (!slot.dead) slot.worker.unref();
    return p;
  }

  private onMessage(slot: Slot, msg: WorkerReply): void {
    if (msg.type === 'ready' || slot.dead) return;
    const p = slot.current;
    if (!p || p.job.id !== msg.jobId) return;
    this.finish(slot);
    if (msg.type === 'result') p.resolve(msg.value);
    else p.reject(new JobError(msg.jobId, msg.message));
    this.pump();
  }

  private onDeath(slot: Slot, reason: string): void {
    if (slot.dead) return;
    slot.dead = true;
    const p = this.finish(slot);
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
    if (p) p.reject(new JobError(p.job.id, reason));
    if (!this.closed) this.pump();
  }
}

/** Runs `jobs` on a temporary executor and closes it. */
export async function runJobs<T = unknown>(jobs: JobSpec[], opts: ExecutorOptions = {}): Promise<JobOutcome<T>[]> {
  const ex = new Executor({ ...opts, workers: Math.min(opts.workers ?? availableParallelism(), Math.max(1, jobs.length)) });
  try {
    return await ex.runAll<T>(jobs);
  } finally {
    await ex.close();
  }
}
