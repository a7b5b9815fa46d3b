/** Runs client jobs one after the other in this process (tests, debugging). */
import { type FitJob, type FitJobResult, runFitJob } from '../job.js';
import type { StoreSpec } from '../weights.js';
import type { FitExecutor } from './types.js';

export class InProcessExecutor implements FitExecutor {
  readonly name = 'inprocess' as const;
  readonly store: StoreSpec = { kind: 'memory' };
  async run(jobs: FitJob[], onDone?: (r: FitJobResult) => void): Promise<FitJobResult[]> {
    const out: FitJobResult[] = [];
    for (const j of jobs) {
      const r = await runFitJob(j);
      onDone?.(r);
      out.push(r);
    }
    return out;
  }
  async close(): Promise<void> {}
}
