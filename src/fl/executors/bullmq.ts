/**
 * BullMQ on Redis: the coordinator (`accelab fl run --executor bullmq`) puts one job per client
 * in a queue; `accelab fl worker --redis …` processes them on any machine. Weights live in Redis
 * keys; a job carries only their names. Training runs in a sandboxed worker thread, so the
 * worker's event loop keeps renewing the job lock. A worker that dies mid-job stops renewing it;
 * after `lockMs` another worker's stalled-job check puts the job back in the queue, and since
 * client training is deterministic given (weights, round seed), the retried job gives the same
 * result.
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import { JobError, NotFoundError } from '../../core/errors.js';
import type { FitJob, FitJobResult } from '../job.js';
import type { StoreSpec } from '../weights.js';
import type { FitExecutor } from './types.js';

export const DEFAULT_QUEUE = 'accelab-fl';

export interface RedisConnection {
  host: string;
  port: number;
  db?: number;
  password?: string;
  username?: string;
}

export function parseRedisUrl(url: string): RedisConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new NotFoundError(`'${url}' is not a Redis URL: use redis://host:port`);
  }
  if (u.protocol !== 'redis:') throw new NotFoundError(`'${url}' is not a Redis URL: use redis://host:port`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db,
    password: u.password || undefined,
    username: u.username || undefined,
  };
}

/** True when a Redis server answers PING at `url` within `timeoutMs`. */
export async function redisReachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

export interface BullmqExecutorOptions {
  url: string;
  queue?: string;
  /** Attempts per job when it throws (stalls are retried separately, see the worker). */
  attempts?: number;
}

export class BullmqExecutor implements FitExecutor {
  readonly name = 'bullmq' as const;
  readonly store: StoreSpec;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private ready: Promise<unknown> | null = null;

  constructor(private readonly opts: BullmqExecutorOptions) {
    this.store = { kind: 'redis', url: opts.url };
    const connection = parseRedisUrl(opts.url);
    const name = opts.queue ?? DEFAULT_QUEUE;
    this.queue = new Queue(name, { connection });
    this.events = new QueueEvents(name, { connection });
  }

  get queueName(): string {
    return this.queue.name;
  }

  async run(jobs: FitJob[], onDone?: (r: FitJobResult) => void): Promise<FitJobResult[]> {
    this.ready ??= Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
    await this.ready;
    const added = await this.queue.addBulk(
      jobs.map((j) => ({
        name: 'fit',
        data: j,
        opts: { jobId: j.id, attempts: this.opts.attempts ?? 3, backoff: { type: 'fixed', delay: 200 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } },
      })),
    );
    return Promise.all(
      added.map(async (job, i) => {
        try {
          const r = (await job.waitUntilFinished(this.events)) as FitJobResult;
          onDone?.(r);
          return r;
        } catch (e) {
          throw new JobError(jobs[i].id, `failed on the BullMQ workers: ${(e as Error).message}`);
        }
      }),
    );
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}

export interface BullmqWorkerOptions {
  url: string;
  queue?: string;
  /** Jobs at once on this machine (each in its own thread, each with its own tfjs). */
  concurrency?: number;
  /** Lock duration: a dead worker's job is retried elsewhere after about this long. */
  lockMs?: number;
  /** Name shown as the job's `processedBy`. */
  name?: string;
  /** Called when a job starts/finishes (the CLI logs it). */
  onEvent?: (e: { kind: 'active' | 'completed' | 'failed'; jobId: string; message?: string }) => void;
}

export interface RunningWorker {
  worker: Worker;
  close(): Promise<void>;
}

/** Starts a worker that processes client jobs until closed. */
export async function startBullmqWorker(o: BullmqWorkerOptions): Promise<RunningWorker> {
  const connection = parseRedisUrl(o.url);
  const lockMs = o.lockMs ?? 30000;
  const processor = new URL('./bullmq-processor.js', import.meta.url);
  const worker = new Worker(o.queue ?? DEFAULT_QUEUE, processor, {
    connection,
    concurrency: o.concurrency ?? 1,
    useWorkerThreads: true,
    lockDuration: lockMs,
    stalledInterval: Math.max(500, Math.floor(lockMs / 2)),
    maxStalledCount: 3,
    name: o.name,
  });
  worker.on('active', (job) => o.onEvent?.({ kind: 'active', jobId: job.id ?? '?' }));
  worker.on('completed', (job) => o.onEvent?.({ kind: 'completed', jobId: job.id ?? '?' }));
  worker.on('failed', (job, err) => o.onEvent?.({ kind: 'failed', jobId: job?.id ?? '?', message: err.message }));
  worker.on('error', () => {});
  await worker.waitUntilReady();
  return {
    worker,
    close: async () => {
      await worker.close();
    },
  };
}
