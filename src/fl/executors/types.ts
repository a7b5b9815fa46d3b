/** How the clients of a round are run. The server only sees this interface. */
import type { FitJob, FitJobResult } from '../job.js';
import type { StoreSpec } from '../weights.js';

export type ExecutorName = 'inprocess' | 'threads' | 'bullmq';

export interface FitExecutor {
  readonly name: ExecutorName;
  /** Where jobs find their weights; the server writes the global model there. */
  readonly store: StoreSpec;
  /** Runs the jobs (in any order, possibly in parallel, retrying failed attempts); results in job order. */
  run(jobs: FitJob[], onDone?: (r: FitJobResult) => void): Promise<FitJobResult[]>;
  close(): Promise<void>;
}
