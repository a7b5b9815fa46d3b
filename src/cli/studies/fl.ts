/** The federated-learning study: `accelab fl …`, results `fl`, `fl-compare`, `fl-consistency`, its tour step and the fl benchmark. */
import { join } from 'node:path';
import { type FlCompareResult, type FlConsistencyResult, type FlRunResult, quickRun } from '../../experiments/fl.js';
import { MISSING, pct, points } from '../../report/format.js';
import { flCompareSection, flConsistencySection, flSection } from '../../report/sections/fl.js';
import { register } from '../commands/fl.js';
import { defineStudy } from './study.js';

const names = (classNames: readonly string[], classes: readonly number[]): string => classes.map((c) => classNames[c] ?? String(c)).join(', ') || 'none';
const meanStd = (x: readonly [number, number] | null): string => (x ? `${pct(x[0])} ± ${pct(x[1])}` : MISSING);
const gainPts = (x: readonly [number, number] | null): string => points(x ? x[0] : null);

/** The headline PKD setting's mean gains over FedAvg (weak-class mean, accuracy, within-group), as the result states them. */
function headline(r: FlCompareResult): string {
  const g = r.gains.find((x) => x.method === r.headline?.method);
  if (!g) return '';
  return `; best setting ${g.method}: weak-class mean ${gainPts(g.weakMean)}, accuracy ${gainPts(g.accuracy)}, within-group ${gainPts(g.withinGroupAccuracy)} vs FedAvg${g.meetsTarget ? ' (meets the target)' : ''}`;
}

export const flStudy = defineStudy<FlRunResult | FlCompareResult | FlConsistencyResult>({
  name: 'fl',
  register,
  results: {
    fl: {
      section: flSection,
      summary: (r) =>
        `${r.config.method} on ${r.dataset}, ${r.config.clients} clients, ${r.rounds.length} rounds: accuracy ${pct(r.final.accuracy)}, inter-class discrepancy ${pct(r.final.interClassDiscrepancy)}, weak classes ${names(r.classNames, r.final.weak)} (mean ${pct(r.final.weakMean)})`,
    },
    'fl-compare': {
      section: flCompareSection,
      summary: (r) =>
        `${r.base.dataset}, ${r.seeds.length} seed(s): ${r.summary.map((s) => `${s.method} accuracy ${meanStd(s.accuracy)}, weak-class mean ${meanStd(s.weakMean)}`).join('; ')}${headline(r)}`,
    },
    'fl-consistency': {
      section: flConsistencySection,
      summary: (r) => {
        const often = r.weakFrequency.map((f, c) => ({ c, f })).sort((a, b) => b.f - a.f)[0];
        return `${r.runs.length} runs on ${r.base.dataset}: weak-set Jaccard ${r.jaccard.all.toFixed(2)}, per-class Spearman ${r.spearman.toFixed(2)}${often ? `, most often weak ${names(r.classNames, [often.c])} (${pct(often.f, 0)} of runs)` : ''}`;
      },
    },
  },
  tour: {
    name: 'fl',
    title: 'Federated learning: weak classes (FedAvg, 5 clients, 3 rounds)',
    run: (ctx) => quickRun({ seed: ctx.seed, outDir: join(ctx.outDir, 'fl'), progress: ctx.progress, notice: (m) => ctx.notice(m) }),
  },
  benchmarks: ['fl'],
});
