/**
 * Executor jobs that run a tour step on a worker thread (a step with `parallel: { module, fn }`,
 * see tour.ts). The worker has its own engine; the step runs with a progress sent on
 * `args.progressChannel` (silent without one) and writes its files under the tour's folder as on
 * the main thread. Its result (plain JSON, e.g. the training result; the model is saved and
 * disposed by the step) and notices are sent back.
 */
import { silentProgress } from '../core/progress.js';
import { channelProgress, type TourJobArgs, type TourJobReturn, type TourStep, trainStep } from './tour.js';

/** Runs `step` inside a worker job: the body of every step job. */
export async function runStepJob(step: TourStep, a: TourJobArgs): Promise<TourJobReturn> {
  const notices: string[] = [];
  const channel = a.progressChannel ? channelProgress(a.progressChannel) : null;
  const t0 = performance.now();
  try {
    const result = await step.run({
      outDir: a.outDir,
      seed: a.seed,
      dataDir: a.dataDir,
      trainLimit: a.trainLimit,
      testLimit: a.testLimit,
      progress: channel ?? silentProgress,
      notice: (m) => notices.push(m),
    });
    return { result, notices, seconds: (performance.now() - t0) / 1000 };
  } finally {
    channel?.close();
  }
}

/** The training step's job. */
export function runTrainStepJob(a: TourJobArgs): Promise<TourJobReturn> {
  return runStepJob(trainStep, a);
}
