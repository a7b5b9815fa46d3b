/** The nested-Winograd study: `accelab winograd …`, result `winograd`, its tour step and the winograd benchmark. */
import { join } from 'node:path';
import { quickRun, type WinogradResult } from '../../experiments/winograd.js';
import { times } from '../../report/format.js';
import { winogradSection } from '../../report/sections/winograd.js';
import { register } from '../commands/winograd.js';
import { defineStudy } from './study.js';

/** Headline: OLA/nested multiplication ratios next to the paper's, and the worst float32 error of nested Winograd. */
function summary(r: WinogradResult): string {
  const ratios = r.counts.paper.map((p) => `${times(p.ours)} at ${p.kernel}×${p.kernel} (paper ${times(p.ratio)})`).join(', ');
  const nested = r.errors?.rows.filter((x) => x.method === 'nested' && x.format === 'float32' && Number.isFinite(x.rmsRel)) ?? [];
  const worst = nested.length ? Math.max(...nested.map((x) => x.rmsRel)) : null;
  return `OLA/nested multiplications ${ratios}${worst === null ? '' : `; nested float32 RMS error ≤ ${worst.toExponential(1)}`}`;
}

export const winogradStudy = defineStudy<WinogradResult>({
  name: 'winograd',
  register,
  results: { winograd: { section: winogradSection, summary } },
  tour: {
    name: 'winograd',
    title: 'Fast convolution: nested vs OLA Winograd',
    run: (ctx) => quickRun({ seed: ctx.seed, outDir: join(ctx.outDir, 'winograd'), progress: ctx.progress }),
  },
  benchmarks: ['winograd'],
});
