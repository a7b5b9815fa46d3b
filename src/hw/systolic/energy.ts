/**
 * Energy and area of a systolic-array run, from action counts priced by `hw/energy.ts`.
 * Per layer: one MAC per useful multiply-accumulate; two 8-b operand latches and one 32-b
 * accumulator/partial-sum latch per MAC; SRAM reads/writes per buffer (the array's demands, the
 * DRAM fills of the read buffers, the drains of the ofmap buffer), each buffer priced at its size
 * class; DRAM reads and writes per word. Packed weights add their own rows: index/metadata words
 * (filter SRAM reads and fills, DRAM reads), per MAC the g − 1 extra bus registers and two-input
 * multiplexer cells of a fan-in-g PE, the extra input-bus words read from the ifmap SRAM, and a
 * subword MAC instead of the 8-b one.
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
    { layer, component: sram(cfg.filterSramKb), action: 'read-8b', count: r.sram.filterReads },
    { layer, component: sram(cfg.filterSramKb), action: 'write-8b', count: r.dram.filterReads },
    { layer, component: sram(cfg.ofmapSramKb), action: 'write-8b', count: r.sram.ofmapWrites },
    { layer, component: sram(cfg.ofmapSramKb), action: 'read-8b', count: r.dram.ofmapWrites },
    { layer, component: 'dram', action: 'read-8b', count: r.dram.ifmapReads + r.dram.filterReads },
    { layer, component: 'dram', action: 'write-8b', count: r.dram.ofmapWrites },
  ];
  // Packed-weight overhead, each on its own rows: index/metadata words (filter SRAM and DRAM), multiplexers, input buses.
  if (r.metadata.sramReads || r.metadata.dramReads) {
    rows.push(
      { layer, component: sram(cfg.filterSramKb), action: 'index-read-8b', count: r.metadata.sramReads },
      { layer, component: sram(cfg.filterSramKb), action: 'index-write-8b', count: r.metadata.dramReads },
      { layer, component: 'dram', action: 'index-read-8b', count: r.metadata.dramReads },
    );
  }
  if (r.mux) {
    if (r.mux.slotBits < 8) {
      // Subword slots: a narrower multiply plus a shift replaces the 8-b MAC.
      rows[0] = { layer, component: 'systolic-pe', action: 'mac-sub4x8', count: r.macs };
    }
    // A fan-in-g PE forwards the g words of its row's input bus (g − 1 more registers than one
    // operand) and its g:1 multiplexer tree (g − 1 two-input cells) sees them all change.
    const extra = r.mux.selects * Math.max(0, r.mux.fanIn - 1);
    rows.push(
      { layer, component: 'systolic-mux', action: 'mux2-8b', count: extra },
      { layer, component: 'systolic-mux', action: 'bus-register-write-8b', count: extra },
      { layer, component: sram(cfg.ifmapSramKb), action: 'bus-read-8b', count: r.mux.busReads },
    );
  }
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
