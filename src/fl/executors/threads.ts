/**
 * Worker-thread executor (default): client jobs run on the project's worker pool
 * (src/core/executor.ts: one tfjs instance per thread). Weights go through files (the store),
 * never through messages. A job whose thread dies (or that throws) is retried on a fresh thread
 * up to `attempts` times, then reported as a JobError.
 */
import { existsSync } from 'node:fs';
import type { BackendChoice } from '../../core/engine.js';
import { JobError } from '../../core/errors.js';
import { Executor } from '../../core/executor.js';
import { writeFileAtomic } from '../../core/fsx.js';
import { type FitJob, type FitJobResult, runFitJob } from '../job.js';
import type { StoreSpec } from '../weights.js';
import type { FitExecutor } from './types.js';

export interface ThreadExecutorOptions {
  workers: number;
  /** Folder for the weight files. */
  dir: string;
  attempts?: number;
  backend?: BackendChoice;
}

/** A job as sent to a thread, with an optional fault-injection hook for tests. */
export interface ThreadFitJob extends FitJob {
  /** Test hook: if this file does not exist, create it and kill the thread (once per file). */
  crashOnceFile?: string;
}

/** The function run on a thread. */
export async function threadFitJob(job: ThreadFitJob): Promise<FitJobResult> {
  if (job.crashOnceFile && !existsSync(job.crashOnceFile)) {
    writeFileAtomic(job.crashOnceFile, 'crashed\n');
    process.exit(1);
  }
  return runFitJob(job);
}

export class ThreadExecutor implements FitExecutor {
  readonly name = 'threads' as const;
  readonly store: StoreSpec;
  private readonly pool: Executor;
  private readonly attempts: number;
  /** Retries that happened (for reports and tests). */
  retries = 0;
  /** Test hook: jobs whose id is listed here get `crashOnceFile`. */
  crashOnce = new Map<string, string>();

  constructor(opts: ThreadExecutorOptions) {
    this.store = { kind: 'file', dir: opts.dir };
    this.attempts = opts.attempts ?? 3;
    this.pool = new Executor({ workers: opts.workers, backend: opts.backend });
  }

  async run(jobs: FitJob[], onDone?: (r: FitJobResult) => void): Promise<FitJobResult[]> {
    return Promise.all(
      jobs.map(async (job) => {
        let last: unknown = null;
        for (let attempt = 1; attempt <= this.attempts; attempt++) {
          if (attempt > 1) this.retries++;
          try {
            const args: ThreadFitJob = { ...job, crashOnceFile: this.crashOnce.get(job.id) };
            const r = await this.pool.run<FitJobResult, ThreadFitJob>({ id: job.id, module: new URL('./threads.js', import.meta.url), fn: 'threadFitJob', args });
            onDone?.(r);
            return r;
          } catch (e) {
            last = e;
          }
        }
        throw new JobError(job.id, `failed after ${this.attempts} attempts: ${(last as Error)?.message ?? String(last)}`);
      }),
    );
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
