/** The SRAM compute-in-memory study: `accelab cim …`, results `cim-characterize`, `cim-infer`, `cim-cost`, `cim-quick`, its tour step and the cim benchmark. */
import { type CimCharacterizeRun, type CimCostRun, type CimInferResult, type CimQuickResult, quickRun } from '../../experiments/cim.js';
import type { CharacterizeResult } from '../../hw/cim/characterize.js';
import { pct, points } from '../../report/format.js';
import { cimCharacterizeSection, cimCostSection, cimInferSection, cimQuickSections } from '../../report/sections/cim.js';
import { register } from '../commands/cim.js';
import { defineStudy } from './study.js';

const characterize = (r: CharacterizeResult): string =>
  `RMS error ${r.rmsErrorLsb.toFixed(2)} LSB, max |INL| ${r.inlMaxLsb.toFixed(2)} LSB, max |DNL| ${r.dnlMaxLsb.toFixed(2)} LSB, margin ${r.marginMvPerLsb.toFixed(2)} mV/LSB`;
const cost = (run: CimCostRun): string =>
  `estimated ${run.result.topsPerW.toFixed(0)} TOPS/W at ${run.result.nodeNm} nm (paper ${run.result.paperTopsPerW} TOPS/W measured), ${run.result.energyPerMacFj.toFixed(2)} fJ/MAC`;
const infer = (r: CimInferResult): string =>
  `${r.model} on ${r.dataset}: float ${pct(r.floatAccuracy)}, ideal 4-bit ${pct(r.ideal4bitAccuracy)}, on macros ${pct(r.enhanced.accuracy)} (${points(r.enhanced.accuracy - r.ideal4bitAccuracy)} vs ideal 4-bit)`;

export const cimStudy = defineStudy<CimCharacterizeRun | CimInferResult | CimCostRun | CimQuickResult>({
  name: 'cim',
  register,
  results: {
    'cim-characterize': { section: cimCharacterizeSection, summary: (run) => characterize(run.result) },
    'cim-infer': { section: cimInferSection, summary: infer },
    'cim-cost': { section: cimCostSection, summary: cost },
    'cim-quick': {
      section: cimQuickSections,
      summary: (r) => `macro ${characterize(r.characterize)}; ${cost(r.cost)}; ${r.infer ? infer(r.infer) : `inference skipped (${r.inferSkipped ?? 'no data'})`}`,
    },
  },
  tour: {
    name: 'cim',
    title: 'SRAM compute-in-memory macro: characterization, cost, MLP on macros',
    run: (ctx) => quickRun({ seed: ctx.seed, progress: ctx.progress, dataDir: ctx.dataDir }),
  },
  benchmarks: ['cim'],
});
