/**
 * A whole network on one array: every layer in the analytical or cycle-level mode, energy from
 * the action counts, silicon area. Plain JSON out (`SystolicRun`).
 */
import { ConfigError } from '../../core/errors.js';
import { type Progress, silentProgress } from '../../core/progress.js';
import { Rng } from '../../core/rng.js';
import type { TechPoint } from '../energy.js';
import { simulateLayerAnalytical } from './analytical.js';
import { type LayerData, randomLayerData, referenceGemm, simulateLayerCycle } from './cycle.js';
import { arrayAreaMm2, DEFAULT_TECH, energySplit, runEnergy } from './energy.js';
import type { LayerResult, SimOptions, SystolicConfig, SystolicLayer } from './types.js';

export type SimMode = 'analytical' | 'cycle';
export const SIM_MODES: readonly SimMode[] = ['analytical', 'cycle'];

export interface RunOptions extends SimOptions {
  mode?: SimMode;
  /** Cycle mode: operands per layer (missing layers get seeded random int8 operands). */
  data?: readonly (LayerData | undefined)[];
  seed?: number;
  /** Cycle mode: compare every layer's outputs with a plain integer GEMM. */
  verify?: boolean;
  tech?: TechPoint;
}

export interface SystolicLayerRun extends LayerResult {
  energyPj: number;
  computeEnergyPj: number;
  sramEnergyPj: number;
  dramEnergyPj: number;
  /** Cycle mode: wrapping 32-bit sum of the integer outputs, and whether they equal the reference GEMM. */
  outputChecksum?: number;
  outputsMatchReference?: boolean;
}

export interface SystolicRun {
  kind: 'systolic';
  mode: SimMode;
  scalesimCompat: boolean;
  config: SystolicConfig;
  tech: TechPoint;
  layers: SystolicLayerRun[];
  totalCycles: number;
  stallCycles: number;
  macs: number;
  energyPj: number;
  areaMm2: number;
  /** Energy per component over the run (pJ). */
  energyByComponent: { component: string; energyPj: number }[];
  /** Priced action rows, with the source of every per-action energy. */
  actions: { layer: string; component: string; action: string; count: number; energyPerActionPj: number; energyPj: number; source: string }[];
}

export function runSystolic(layers: readonly SystolicLayer[], cfg: SystolicConfig, opts: RunOptions = {}, progress: Progress = silentProgress): SystolicRun {
  if (layers.length === 0) throw new ConfigError('systolic run: the topology has no layers');
  const mode = opts.mode ?? 'analytical';
  const compat = opts.scalesimCompat ?? false;
  const tech = opts.tech ?? DEFAULT_TECH;
  const rng = new Rng(opts.seed ?? 1);
  const results: LayerResult[] = [];
  const extra: { outputChecksum?: number; outputsMatchReference?: boolean }[] = [];
  progress.start(`systolic ${mode}`, layers.length);
  layers.forEach((layer, i) => {
    if (mode === 'analytical') {
      results.push(simulateLayerAnalytical(layer, cfg, { scalesimCompat: compat }));
      extra.push({});
    } else {
      const data = opts.data?.[i] ?? randomLayerData(layer, rng.fork(i));
      const r = simulateLayerCycle(layer, cfg, data, { scalesimCompat: compat });
      let sum = 0;
      for (let j = 0; j < r.ofmap.length; j++) sum = (sum + r.ofmap[j]) | 0;
      const e: { outputChecksum?: number; outputsMatchReference?: boolean } = { outputChecksum: sum >>> 0 };
      if (opts.verify) {
        const ref = referenceGemm(layer, data);
        e.outputsMatchReference = ref.length === r.ofmap.length && ref.every((v, j) => v === r.ofmap[j]);
      }
      results.push(r.result);
      extra.push(e);
    }
    progress.tick(1, layer.name);
  });
  progress.stop();
  const energy = runEnergy(results, cfg, tech);
  const out = results.map((r, i) => {
    const s = energySplit(energy, r.name);
    return { ...r, energyPj: s.totalPj, computeEnergyPj: s.computePj, sramEnergyPj: s.sramPj, dramEnergyPj: s.dramPj, ...extra[i] };
  });
  return {
    kind: 'systolic',
    mode,
    scalesimCompat: compat,
    config: cfg,
    tech,
    layers: out,
    totalCycles: out.reduce((s, l) => s + l.totalCycles, 0),
    stallCycles: out.reduce((s, l) => s + l.stallCycles, 0),
    macs: out.reduce((s, l) => s + l.macs, 0),
    energyPj: energy.totalPj,
    areaMm2: arrayAreaMm2(cfg, tech),
    energyByComponent: energy.byComponent,
    actions: energy.rows,
  };
}
