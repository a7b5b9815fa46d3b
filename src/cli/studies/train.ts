/** The training study: `accelab train` / `accelab eval`, results `train` and `eval`, the tour's training step, the train-step benchmark. */
import { trainStep } from '../../experiments/tour.js';
import type { EvalRunResult } from '../../experiments/train.js';
import type { TrainResult } from '../../nn/train.js';
import { MISSING, pct } from '../../report/format.js';
import { evalSection, trainSection } from '../../report/sections/train.js';
import { register as registerEval } from '../commands/eval.js';
import { register as registerTrain } from '../commands/train.js';
import { defineStudy } from './study.js';

export const trainStudy = defineStudy<TrainResult | EvalRunResult>({
  name: 'train',
  register: (program) => {
    registerTrain(program);
    registerEval(program);
  },
  results: {
    train: {
      section: trainSection,
      summary: (r) =>
        `${r.model.name} on ${r.dataset.name}: test accuracy ${pct(r.testAccuracy, 2)}, discrepancy ${pct(r.final.interClassDiscrepancy)}, weakest ${r.final.weakestClasses[0]?.className ?? MISSING}, ${r.trainSeconds.toFixed(0)} s training`,
    },
    eval: {
      section: evalSection,
      summary: (r) =>
        `${r.model.name} on ${r.dataset.name}: test accuracy ${pct(r.metrics.accuracy, 2)} on ${r.metrics.numExamples} images, discrepancy ${pct(r.metrics.interClassDiscrepancy)}, weakest ${r.metrics.weakestClasses[0]?.className ?? MISSING}`,
    },
  },
  tour: trainStep,
  benchmarks: ['train-step'],
});
