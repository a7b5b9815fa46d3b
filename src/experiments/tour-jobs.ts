/**
 * Executor job that runs one tour step on a worker thread (a step with `parallel: true`, see
 * tour.ts). The worker has its own engine; the step is found in `TOUR_STEPS` by name, runs with a
 * progress sent on `args.progressChannel` (silent without one) and writes its files under the tour's folder as on the main thread. Its result
 * (plain JSON, e.g. the training result; the model is saved and disposed by the step) and notices
 * are sent back.
 */
import { NotFoundError } from '../core/errors.js';
import { silentProgress } from '../core/progress.js';
import { channelProgress, TOUR_STEPS, type TourJobArgs, type TourJobReturn } from './tour.js';

export async function runTourStepJob(a: TourJobArgs): Promise<TourJobReturn> {
  const step = TOUR_STEPS.find((s) => s.name === a.step);
  if (!step) throw new NotFoundError(`tour step '${a.step}' is not in TOUR_STEPS; a custom parallel step must name its own job ({ module, fn })`);
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
