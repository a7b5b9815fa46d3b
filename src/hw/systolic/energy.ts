/**
 * Energy and area of a systolic-array run, from action counts priced by `hw/energy.ts`.
 * Per layer: one MAC per useful multiply-accumulate; two 8-b operand latches and one 32-b
 * accumulator/partial-sum latch per MAC; SRAM reads/writes per buffer (the array's demands, the
 * DRAM fills of the read buffers, the drains of the ofmap buffer; packed-weight metadata with the
 * filter), each buffer priced at its size class; DRAM reads and writes per word.
 */
import { type ActionCount, areaUm2, type EnergyReport, priceActions, systolicSramClassKb, type TechPoint } from '../energy.js';
import type { LayerResult, SystolicConfig } from './types.js';

export const DEFAULT_TECH: TechPoint = { nodeNm: 45, vdd: 0.9 };

export function layerActions(r: LayerResult, cfg: SystolicConfig): ActionCount[] {
  const layer = r.name;
  const sram = (kb: number) => `systolic-sram-${systolicSramClassKb(kb)}kB`;
  const rows: ActionCount[] = [
    { layer, component: 'systolic-pe', action: 'mac-int8', count: r.macs },
    { layer, component: 'systolic-pe', action: 'register-write-8b', count: 2 * r.macs },
    { layer, component: 'systolic-pe', action: 'register-write-32b', count: r.macs },
    { layer, component: sram(cfg.ifmapSramKb), action: 'read-8b', count: r.sram.ifmapReads },
    { layer, component: sram(cfg.ifmapSramKb), action: 'write-8b', count: r.dram.ifmapReads },
    { layer, component: sram(cfg.filterSramKb), action: 'read-8b', count: r.sram.filterReads + r.metadata.sramReads },
    { layer, component: sram(cfg.filterSramKb), action: 'write-8b', count: r.dram.filterReads + r.metadata.dramReads },
    { layer, component: sram(cfg.ofmapSramKb), action: 'write-8b', count: r.sram.ofmapWrites },
    { layer, component: sram(cfg.ofmapSramKb), action: 'read-8b', count: r.dram.ofmapWrites },
    { layer, component: 'dram', action: 'read-8b', count: r.dram.ifmapReads + r.dram.filterReads + r.metadata.dramReads },
    { layer, component: 'dram', action: 'write-8b', count: r.dram.ofmapWrites },
  ];
  return rows;
}

/** Priced energy of a run (all layers). */
export function runEnergy(layers: readonly LayerResult[], cfg: SystolicConfig, tech: TechPoint = DEFAULT_TECH): EnergyReport {
  return priceActions(
    layers.flatMap((l) => layerActions(l, cfg)),
    tech,
  );
}

/** Energy of one layer split into compute (PEs), SRAM and DRAM (pJ). */
export function energySplit(report: EnergyReport, layer: string): { computePj: number; sramPj: number; dramPj: number; totalPj: number } {
  let computePj = 0;
  let sramPj = 0;
  let dramPj = 0;
  for (const r of report.rows) {
    if (r.layer !== layer) continue;
    if (r.component === 'systolic-pe') computePj += r.energyPj;
    else if (r.component === 'dram') dramPj += r.energyPj;
    else sramPj += r.energyPj;
  }
  return { computePj, sramPj, dramPj, totalPj: computePj + sramPj + dramPj };
}

/** Silicon area (mm²): R×C PEs (MAC, two 8-b and one 32-b register) and the three SRAMs. */
export function arrayAreaMm2(cfg: SystolicConfig, tech: TechPoint = DEFAULT_TECH): number {
  const pe = areaUm2('systolic-pe', 'mac-int8', tech) + 2 * areaUm2('systolic-pe', 'register-write-8b', tech) + areaUm2('systolic-pe', 'register-write-32b', tech);
  const sramKb = cfg.ifmapSramKb + cfg.filterSramKb + cfg.ofmapSramKb;
  return (cfg.arrayHeight * cfg.arrayWidth * pe + sramKb * areaUm2('systolic-sram', 'area-per-kB', tech)) / 1e6;
}
