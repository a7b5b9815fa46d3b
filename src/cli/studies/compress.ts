/** The compression study: `accelab compress …`, result `compress`, its tour step and the compress benchmark. */
import { join } from 'node:path';
import { type CompressResult, quickRun } from '../../experiments/compress.js';
import type { PruneResult } from '../../experiments/prune.js';
import { pct, points, times } from '../../report/format.js';
import { compressSection } from '../../report/sections/compress.js';
import { pruneSection } from '../../report/sections/prune.js';
import { register } from '../commands/compress.js';
import { defineStudy } from './study.js';

/** Headline: the three rates (every bit counted) next to the paper's. */
function summary(r: CompressResult): string {
  const t = r.total;
  return `compression column combining ${times(t.columnCombining.rate)} → permutation ${times(t.permutation.rate)} → +subwords ${times(t.permutationSubword.rate)} (paper ${r.paper.stateOfTheArt} / ${r.paper.unstructured} / ${r.paper.subword}); unpack exact: ${r.exact ? 'yes' : 'no'}`;
}

/** Headline of a pruning run: accuracy before → after at the sparsity reached. */
function pruneSummary(r: PruneResult): string {
  return `${r.config.method} pruning of ${r.source.model}: test accuracy ${pct(r.before.accuracy, 2)} → ${pct(r.after.accuracy, 2)} (${points(r.after.accuracy - r.before.accuracy, 2)}) at ${pct(r.sparsity, 1)} sparsity`;
}

export const compressStudy = defineStudy<CompressResult | PruneResult>({
  name: 'compress',
  register,
  results: { compress: { section: compressSection, summary }, 'compress-prune': { section: pruneSection, summary: pruneSummary } },
  tour: {
    name: 'compress',
    title: 'Compression: permutation packing vs column combining',
    run: (ctx) => quickRun({ seed: ctx.seed, outDir: join(ctx.outDir, 'compress'), progress: ctx.progress }),
  },
  benchmarks: ['compress'],
});
