/** BullMQ sandboxed processor (runs in a worker thread of `accelab fl worker`): one client job. */
import type { SandboxedJob } from 'bullmq';
import { type FitJob, type FitJobResult, runFitJob } from '../job.js';

export default async function process(job: SandboxedJob<FitJob, FitJobResult>): Promise<FitJobResult> {
  const data = job.data;
  // Fault-injection hook for tests: hold the job this long before training so a kill lands mid-job.
  if (data.holdMs) await new Promise((r) => setTimeout(r, data.holdMs));
  return runFitJob(data);
}
