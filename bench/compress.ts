/**
 * `npm run bench -- compress`: permutation-search time per layer for VGG-16 on a 128×128 array
 * (synthetic 8-bit weights at Han et al.'s per-layer densities), layers spread over worker threads
 * (core/executor.ts), largest first. Reports each layer's time per method (the tight search over
 * words and over subwords, the budgeted search over words and subwords, column combining), the
 * whole network's wall-clock time, and the sum of per-layer times over the wall time (the parallel
 * speed-up over one thread, measured in the same run). The array simulation is skipped (it is not
 * the search). `--layers all` packs every layer; the default is the five largest-matrix layers.
 * The searches are `compress pack`'s defaults (tight: annealing; budgeted: greedy);
 * `--budget-search anneal` times the budgeted annealing.
 */
import { availableParallelism } from 'node:os';
import { runCompress } from '../src/experiments/compress.js';
import { registerBenchmark } from './registry.js';

interface CompressBenchOptions {
  layers?: string;
  workers?: string;
  array?: string;
  budgetSearch?: string;
}

interface CompressBenchRow {
  layer: string;
  rows: number;
  cols: number;
  seconds: number;
  /** Seconds per method: column combining (both), tight search over words / subwords, budgeted search over words / subwords. */
  secondsBy: { columnCombining: number; permutation: number; permutationSubword: number; budgeted: number; budgetedSubword: number };
  moves: number;
  permutationRate: number;
  permutationSubwordRate: number;
  budgetedRate: number;
  budgetedSubwordRate: number;
}

interface CompressBenchResult {
  array: string;
  workers: number;
  /** Search of the tight formats and of the budgeted ones. */
  search: { tight: string; budgeted: string };
  wallSeconds: number;
  layerSecondsSum: number;
  parallelSpeedup: number;
  rows: CompressBenchRow[];
}

const LARGEST = ['fc6', 'fc7', 'conv5_1', 'conv4_2', 'fc8'];

registerBenchmark<CompressBenchOptions, CompressBenchResult>({
  name: 'compress',
  description: 'permutation search time per layer of VGG-16 on a 128×128 array (synthetic weights), on worker threads',
  options(cmd) {
    cmd.option('--layers <list>', `layer names or 'all' (default ${LARGEST.join(',')})`);
    cmd.option('--workers <n>', 'worker threads (default: all cores)');
    cmd.option('--array <RxC>', 'array (default 128x128)');
    cmd.option('--budget-search <method>', "budgeted formats' search: greedy (the default of compress pack) or anneal");
  },
  async run(o, ctx) {
    const workers = o.workers ? Number(o.workers) : availableParallelism();
    const layers = o.layers === 'all' ? [] : (o.layers?.split(',') ?? LARGEST);
    const [ar, ac] = (o.array ?? '128x128').split('x').map(Number);
    const budget = o.budgetSearch === undefined ? {} : { budgetSearch: { method: o.budgetSearch } };
    const t0 = performance.now();
    const r = await runCompress(
      { source: 'vgg16', sparsity: null, layers, array: { rows: ar, cols: ac }, workers, simulate: false, ...budget },
      { progress: { start: () => {}, tick: (_n, s) => ctx.log(`packed ${s}`), stop: () => {} } },
    );
    const wallSeconds = (performance.now() - t0) / 1000;
    const rows = r.layers.map((l) => ({
      layer: l.name,
      rows: l.rows,
      cols: l.cols,
      seconds: l.seconds,
      secondsBy: {
        columnCombining: l.columnCombining.seconds + l.columnCombiningFull.seconds,
        permutation: l.permutation.seconds,
        permutationSubword: l.permutationSubword.seconds,
        budgeted: l.budgeted.seconds,
        budgetedSubword: l.budgetedSubword.seconds,
      },
      moves: l.permutation.search.moves + l.permutationSubword.search.moves + l.budgeted.search.moves + l.budgetedSubword.search.moves,
      permutationRate: l.permutation.rate,
      permutationSubwordRate: l.permutationSubword.rate,
      budgetedRate: l.budgeted.rate,
      budgetedSubwordRate: l.budgetedSubword.rate,
    }));
    const layerSecondsSum = rows.reduce((s, x) => s + x.seconds, 0);
    return {
      array: `${ar}x${ac}`,
      workers,
      search: { tight: r.config.search.method, budgeted: r.config.budgetSearch.method },
      wallSeconds,
      layerSecondsSum,
      parallelSpeedup: layerSecondsSum / wallSeconds,
      rows,
    };
  },
  format(r) {
    const f = (v: number) => v.toFixed(1).padStart(6);
    const lines = r.rows.map((x) => {
      const b = x.secondsBy;
      return `${x.layer.padEnd(8)} ${`${x.rows}×${x.cols}`.padStart(11)}  ${f(x.seconds)} s = CC ${f(b.columnCombining)} + tight ${f(b.permutation)} + tight/sw ${f(b.permutationSubword)} + budget ${f(b.budgeted)} + budget/sw ${f(b.budgetedSubword)}  ${String(x.moves).padStart(9)} moves  rates ${x.permutationRate.toFixed(2)}× ${x.permutationSubwordRate.toFixed(2)}× ${x.budgetedRate.toFixed(2)}× ${x.budgetedSubwordRate.toFixed(2)}×`;
    });
    return [
      `VGG-16 on ${r.array}, ${r.workers} worker(s), search tight ${r.search.tight} / budgeted ${r.search.budgeted}: ${r.wallSeconds.toFixed(1)} s wall, Σ layer time ${r.layerSecondsSum.toFixed(1)} s (×${r.parallelSpeedup.toFixed(2)} from threads); seconds per layer by method, rates tight / tight+subwords / budgeted / budgeted+subwords`,
      ...lines,
    ].join('\n');
  },
});
