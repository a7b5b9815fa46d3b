/** The systolic-array study: `accelab systolic run|sweep`, results `systolic` and `systolic-sweep`, its tour step and the systolic benchmark. */
import { runSystolicQuick, type SystolicRunResult, type SystolicSweepResult } from '../../experiments/systolic.js';
import { systolicSection, systolicSweepSection } from '../../report/sections/systolic.js';
import { register } from '../commands/systolic.js';
import { defineStudy } from './study.js';

function runSummary(r: SystolicRunResult): string {
  const c = r.config;
  return `${r.network} on ${c.arrayHeight}×${c.arrayWidth} ${c.dataflow.toUpperCase()}: ${r.totalCycles.toLocaleString('en')} cycles, ${(r.energyPj / 1e6).toFixed(1)} µJ (estimate), ${r.areaMm2.toFixed(2)} mm², simulated in ${r.seconds.toFixed(2)} s (${r.mode})`;
}

function sweepSummary(r: SystolicSweepResult): string {
  const best = r.front[0];
  return `${r.network}: ${r.points.length} design points, Pareto front of ${r.front.length}${best ? `; fastest ${best.arrayHeight}×${best.arrayWidth} ${best.dataflow.toUpperCase()} ${best.sramKb} kB: ${best.totalCycles.toLocaleString('en')} cycles, ${(best.energyPj / 1e6).toFixed(1)} µJ, ${best.areaMm2.toFixed(2)} mm²` : ''}`;
}

export const systolicStudy = defineStudy<SystolicRunResult | SystolicSweepResult>({
  name: 'systolic',
  register,
  results: {
    systolic: { section: systolicSection, summary: runSummary },
    'systolic-sweep': { section: systolicSweepSection, summary: sweepSummary },
  },
  tour: {
    name: 'systolic',
    title: 'Systolic array: AlexNet on a 32×32 output-stationary array (SCALE-Sim-exact), energy',
    run: async () => runSystolicQuick(),
  },
  benchmarks: ['systolic'],
});
