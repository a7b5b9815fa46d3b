/** Builds an executor by name. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendChoice } from '../../core/engine.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { BullmqExecutor, redisReachable } from './bullmq.js';
import { InProcessExecutor } from './inprocess.js';
import { ThreadExecutor } from './threads.js';
import type { ExecutorName, FitExecutor } from './types.js';

export type { ExecutorName, FitExecutor } from './types.js';

export interface ExecutorChoice {
  kind: ExecutorName;
  /** Worker threads (threads executor). */
  workers?: number;
  /** Folder for weight files (threads); default a temp folder. */
  dir?: string;
  /** Redis URL (bullmq). */
  redis?: string;
  queue?: string;
  backend?: BackendChoice;
}

export async function makeExecutor(c: ExecutorChoice): Promise<FitExecutor> {
  if (c.kind === 'inprocess') return new InProcessExecutor();
  if (c.kind === 'threads') return new ThreadExecutor({ workers: c.workers ?? 2, dir: c.dir ?? mkdtempSync(join(tmpdir(), 'accelab-fl-')), backend: c.backend });
  if (!c.redis) throw new ConfigError('--executor bullmq needs --redis redis://host:port (or ACCELAB_REDIS_URL)');
  if (!(await redisReachable(c.redis, 2000))) throw new NotFoundError(`no Redis answers at ${c.redis}: start redis-server, or pass the right --redis URL`);
  return new BullmqExecutor({ url: c.redis, queue: c.queue });
}
