/** The SparseNN study: `accelab sparsenn …`, results `sparsenn-train`, `sparsenn-simulate`, `sparsenn-quick`, its tour step and the sparsenn benchmark. */
import { join } from 'node:path';
import { quickRun, type SparseNNQuickResult, type SparseNNSimulateResult, type SparseNNTrainResult } from '../../experiments/sparsenn.js';
import { pct, points } from '../../report/format.js';
import { sparsennQuickSections, sparsennSimulateSection, sparsennTrainSection } from '../../report/sections/sparsenn.js';
import { register } from '../commands/sparsenn.js';
import { defineStudy } from './study.js';

const train = (r: SparseNNTrainResult): string =>
  `${r.model}: SparseNN ${pct(r.accuracy, 2)} vs baseline ${pct(r.baselineAccuracy, 2)} (${points(-r.accuracyLossPoints / 100, 2)}), overhead ${pct(r.overhead, 2)}, output sparsity ${pct(r.outputSparsity)}, false negatives ${pct(r.falseNegativeRate, 2)}`;
const simulate = (r: SparseNNSimulateResult): string =>
  `${r.config.accelerator.pes} PEs: throughput ${r.throughputGainVsInputSparsity >= 0 ? '+' : ''}${pct(r.throughputGainVsInputSparsity)} vs input-sparsity only (paper 10–70 %), power ×${r.powerRatioVsInputSparsity.toFixed(2)} (paper ≈ ×0.5), energy ×${r.energyRatioVsInputSparsity.toFixed(2)}`;

export const sparsennStudy = defineStudy<SparseNNTrainResult | SparseNNSimulateResult | SparseNNQuickResult>({
  name: 'sparsenn',
  register,
  results: {
    'sparsenn-train': { section: sparsennTrainSection, summary: train },
    'sparsenn-simulate': { section: sparsennSimulateSection, summary: simulate },
    'sparsenn-quick': {
      section: sparsennQuickSections,
      summary: (r) => (r.train && r.simulate ? `${train(r.train)}; ${simulate(r.simulate)}` : `skipped (${r.skipped ?? 'no data'})`),
    },
  },
  tour: {
    name: 'sparsenn',
    title: 'SparseNN: low-rank output-sparsity predictor trained end to end, accelerator skipping zero inputs and predicted-zero outputs',
    run: (ctx) => quickRun({ seed: ctx.seed, progress: ctx.progress, dataDir: ctx.dataDir, runDir: join(ctx.outDir, 'sparsenn') }),
  },
  benchmarks: ['sparsenn'],
});
