/**
 * `npm run bench -- fl`: federated rounds per minute with the worker-thread executor, 1 and 2
 * workers (10 clients, one client job per thread at a time). Round time excludes evaluation; the
 * first round (thread start-up, data loading in each thread) is not counted.
 */
import { findDataset } from '../src/data/catalog.js';
import { parseFlConfig } from '../src/fl/config.js';
import { ThreadExecutor } from '../src/fl/executors/threads.js';
import { closeStores } from '../src/fl/job.js';
import { runFederated } from '../src/fl/run.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { intArg, intListArg } from '../src/cli/options.js';
import { checked, median, registerBenchmark } from './registry.js';

interface FlBenchOptions {
  model?: string;
  trainLimit?: string;
  rounds?: string;
  workers?: string;
}

interface FlBenchRow {
  workers: number;
  roundSeconds: number[];
  medianSeconds: number;
  roundsPerMinute: number;
}

interface FlBenchResult {
  dataset: string;
  model: string;
  clients: number;
  trainImages: number;
  rows: FlBenchRow[];
  speedup: number;
}

registerBenchmark<FlBenchOptions, FlBenchResult>({
  name: 'fl',
  description: 'federated rounds per minute with 1 and 2 worker threads (FedAvg, 10 clients)',
  options(cmd) {
    cmd.option('--model <name>', 'model (default mlp-300-100)');
    cmd.option('--train-limit <n>', 'training images (default 12000)', checked(intArg('--train-limit', 10)));
    cmd.option('--rounds <n>', 'rounds per measurement, the first is not counted (default 3)', checked(intArg('--rounds', 2, 1000)));
    cmd.option('--workers <list>', 'worker counts (default 1,2)', checked(intListArg('--workers', 1, 64)));
  },
  async run(o, ctx) {
    const dataset = findDataset('fashion-mnist') ? 'fashion-mnist' : 'synthetic-gray';
    const model = o.model ?? 'mlp-300-100';
    const trainLimit = Number(o.trainLimit ?? 12000);
    const rounds = Math.max(2, Number(o.rounds ?? 3));
    const counts = (o.workers ?? '1,2').split(',').map(Number);
    const cfg = parseFlConfig({ dataset, model, clients: 10, rounds, trainLimit, testLimit: 1000, valPerClass: 10, evalEvery: 1000, seed: 1 });
    const rows: FlBenchRow[] = [];
    let trainImages = 0;
    for (const workers of counts) {
      const dir = mkdtempSync(join(tmpdir(), 'accelab-fl-bench-'));
      const ex = new ThreadExecutor({ workers, dir });
      try {
        ctx.log(`fl: ${workers} worker(s), ${rounds} rounds of ${model} on ${trainLimit} ${dataset} images`);
        const r = await runFederated(cfg, { executor: ex });
        trainImages = r.numTrain;
        const secs = r.rounds.slice(1).map((x) => x.durationS);
        const med = median(secs);
        rows.push({ workers, roundSeconds: secs, medianSeconds: med, roundsPerMinute: 60 / med });
      } finally {
        await ex.close();
        await closeStores();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const one = rows.find((r) => r.workers === 1);
    const two = rows.find((r) => r.workers === 2);
    return { dataset, model, clients: 10, trainImages, rows, speedup: one && two ? two.roundsPerMinute / one.roundsPerMinute : Number.NaN };
  },
  format(r) {
    return [
      `${r.model} on ${r.trainImages} ${r.dataset} images, ${r.clients} clients`,
      ...r.rows.map((x) => `${x.workers} worker(s): ${x.roundsPerMinute.toFixed(2)} rounds/min (median round ${x.medianSeconds.toFixed(1)} s)`),
      `speedup 2 vs 1 workers: ${r.speedup.toFixed(2)}×`,
    ].join('\n');
  },
});
