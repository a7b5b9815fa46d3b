/** The RRAM crossbar study: `accelab rram run|sweep`, results `rram-run`, `rram-sweep`, `rram-quick`, its tour step and the rram benchmark. */
import { quickRun, type RramQuickResult, type RramRunResult, type RramSweepResult } from '../../experiments/rram.js';
import { pct, points, times } from '../../report/format.js';
import { rramQuickSections, rramRunSection, rramSweepSection } from '../../report/sections/rram.js';
import { register } from '../commands/rram.js';
import { defineStudy } from './study.js';

const run = (r: RramRunResult): string =>
  `${r.model} ${r.termination}: ${pct(r.computeReduction)} computation removed, accuracy ${pct(r.accuracy, 2)} (${points(-r.accuracyLossPoints / 100, 2)}), energy ${times(r.energyRatio)}, throughput ${times(r.throughputRatio)}, ${r.samePredictions ? 'same predictions' : 'predictions differ'}`;

export const rramStudy = defineStudy<RramRunResult | RramSweepResult | RramQuickResult>({
  name: 'rram',
  register,
  results: {
    'rram-run': { section: rramRunSection, summary: run },
    'rram-sweep': {
      section: rramSweepSection,
      summary: (r) => `${r.model}: ${r.rows.map((x) => `${x.setting} ${pct(x.computeReduction)}/${points(-x.accuracyLossPoints / 100, 2)}`).join('; ')}`,
    },
    'rram-quick': { section: rramQuickSections, summary: (r) => (r.lossless && r.adaptive ? `${run(r.lossless)}; ${run(r.adaptive)}` : `skipped (${r.skipped ?? 'no data'})`) },
  },
  tour: {
    name: 'rram',
    title: 'RRAM crossbars: early negative detection and adaptive termination on an MLP',
    run: (ctx) => quickRun({ seed: ctx.seed, progress: ctx.progress, dataDir: ctx.dataDir, trainLimit: ctx.trainLimit, testLimit: ctx.testLimit }),
  },
  benchmarks: ['rram'],
});
