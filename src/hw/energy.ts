/**
 * One table of per-action energies and areas for the hardware models (Accelergy-style: the table
 * is data; the models count actions). Every row is given at a reference technology node and
 * supply and scaled to the node/supply asked for:
 *
 *   E(node, V) = E_ref · (node / node_ref)^nodeExp · (V / V_ref)^vddExp   (switched capacitance ∝ feature size;
 *                                                                          vddExp 2 for C·V², 1 for charge counted by the model)
 *   A(node)    = A_ref · (node / node_ref)^2
 *
 * Values are ESTIMATES from first-order circuit arithmetic (C·V²) and typical published magnitudes,
 * not measurements; each row says where it comes from. Other hardware models add their rows here.
 */
import { ConfigError } from '../core/errors.js';

export interface EnergyRow {
  /** Component, e.g. 'sram-cim'. */
  component: string;
  /** Action, e.g. 'comparator-decision'. */
  action: string;
  /** Energy per action at the reference node and supply (pJ). */
  energyPj: number;
  /** Area per instance at the reference node (µm²), when meaningful. */
  areaUm2: number | null;
  nodeNm: number;
  vdd: number;
  /** Exponent of the node scaling of energy (1: capacitance ∝ feature size; 0: node-independent). */
  nodeExp: number;
  /**
   * Exponent of the supply scaling of energy; default 2 (switched capacitance, C·V²). 1 for actions
   * the model counts as charge (E = Q·V, Q already scaled by the model).
   */
  vddExp?: number;
  source: string;
}

export const ENERGY_TABLE: EnergyRow[] = [
  // SRAM CIM macro (src/hw/cim). 28 nm, 0.9 V reference.
  { component: 'sram-cim', action: 'bit-line-charge-fc', energyPj: 0.0009, areaUm2: null, nodeNm: 28, vdd: 0.9, nodeExp: 0, vddExp: 1, source: 'E = Q·V_PRE: 1 fC drawn from the 0.9 V precharge supply; the model counts Q = C_BL·ΔV (its own C_BL, MAC and reference swing) restored by the precharge' },
  { component: 'sram-cim', action: 'wl-pulse-per-cell', energyPj: 0.00015, areaUm2: null, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: 'C·V²: ~0.18 fF word-line wire + gate load per 6T cell at 0.9 V (estimate)' },
  { component: 'sram-cim', action: 'wl-driver-pulse', energyPj: 0.002, areaUm2: 1.5, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: 'PWM word-line driver + pulse gating per row pulse (estimate)' },
  { component: 'sram-cim', action: 'comparator-decision', energyPj: 0.02, areaUm2: 12, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: 'low-offset StrongARM latch (σ_os ≈ 0.5 mV needs a large input pair, ~20 fF switched): ~20 fJ per decision (estimate)' },
  { component: 'sram-cim', action: 'ref-pulse', energyPj: 0.0005, areaUm2: null, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: 'local reference-cell word-line pulse per ADC step (estimate)' },
  { component: 'sram-cim', action: 'sar-logic-conversion', energyPj: 0.01, areaUm2: 20, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: '9-b SAR/fold control registers per conversion (estimate)' },
  { component: 'sram-cim', action: 'partial-sum-add', energyPj: 0.006, areaUm2: 30, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: '16-b adder + register per partial sum (estimate)' },
  { component: 'sram-cim', action: 'cell-6t', energyPj: 0, areaUm2: 0.127, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: '28 nm high-density 6T bit cell ≈ 0.127 µm² (foundry-typical)' },
  // Generic digital (for comparisons by other models).
  { component: 'digital', action: 'int8-mac', energyPj: 0.05, areaUm2: 100, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: '8-b MAC ~0.05 pJ at 28 nm (order of magnitude, Horowitz-style scaling)' },
  { component: 'digital', action: 'sram-read-32b', energyPj: 1.5, areaUm2: null, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: 'small SRAM 32-b read, order of magnitude' },
];

export interface TechPoint {
  nodeNm: number;
  vdd: number;
}

export function energyRow(component: string, action: string, table: readonly EnergyRow[] = ENERGY_TABLE): EnergyRow {
  const r = table.find((x) => x.component === component && x.action === action);
  if (!r) throw new ConfigError(`energy table has no row '${component}/${action}': add it to src/hw/energy.ts`);
  return r;
}

/** Energy (pJ) of one action at a technology point. */
export function energyPj(component: string, action: string, tech: TechPoint, table: readonly EnergyRow[] = ENERGY_TABLE): number {
  const r = energyRow(component, action, table);
  return r.energyPj * (tech.nodeNm / r.nodeNm) ** r.nodeExp * (tech.vdd / r.vdd) ** (r.vddExp ?? 2);
}

/** Area (µm²) of one instance at a node (0 when the row has none). */
export function areaUm2(component: string, action: string, tech: TechPoint, table: readonly EnergyRow[] = ENERGY_TABLE): number {
  const r = energyRow(component, action, table);
  return (r.areaUm2 ?? 0) * (tech.nodeNm / r.nodeNm) ** 2;
}

/** How many instances of a component a design holds; `action` names the table row whose area is used. */
export interface InstanceCount {
  layer: string;
  component: string;
  action: string;
  count: number;
}

export interface AreaReport {
  tech: TechPoint;
  totalUm2: number;
  rows: (InstanceCount & { areaPerInstanceUm2: number; areaUm2: number; source: string })[];
}

/** Area = Σ instances × table[component][action].areaUm2 at the node of `tech`. Every count must have a row. */
export function priceArea(counts: readonly InstanceCount[], tech: TechPoint, table: readonly EnergyRow[] = ENERGY_TABLE): AreaReport {
  const rows = counts.map((c) => {
    const a = areaUm2(c.component, c.action, tech, table);
    return { ...c, areaPerInstanceUm2: a, areaUm2: a * c.count, source: energyRow(c.component, c.action, table).source };
  });
  return { tech, totalUm2: rows.reduce((s, r) => s + r.areaUm2, 0), rows };
}

/**
 * One action count reported by a hardware model (Accelergy's split: models count, this table
 * prices). `component`/`action` name a row of the table; `layer` says where the actions happened.
 */
export interface ActionCount {
  layer: string;
  component: string;
  action: string;
  count: number;
}

/** One priced row: the count, the per-action energy at the technology point and its source. */
export interface PricedAction extends ActionCount {
  energyPerActionPj: number;
  energyPj: number;
  source: string;
}

export interface EnergyReport {
  tech: TechPoint;
  totalPj: number;
  rows: PricedAction[];
  /** Energy summed per layer and per component (pJ), in first-seen order. */
  byLayer: { layer: string; energyPj: number }[];
  byComponent: { component: string; energyPj: number }[];
}

function sumBy(rows: readonly PricedAction[], key: 'layer' | 'component'): { name: string; energyPj: number }[] {
  const m = new Map<string, number>();
  for (const r of rows) m.set(r[key], (m.get(r[key]) ?? 0) + r.energyPj);
  return [...m].map(([name, energyPj]) => ({ name, energyPj }));
}

/** Energy = Σ count × table[component][action] at `tech`. Every count must have a row. */
export function priceActions(counts: readonly ActionCount[], tech: TechPoint, table: readonly EnergyRow[] = ENERGY_TABLE): EnergyReport {
  const rows: PricedAction[] = counts.map((c) => {
    const e = energyPj(c.component, c.action, tech, table);
    return { ...c, energyPerActionPj: e, energyPj: e * c.count, source: energyRow(c.component, c.action, table).source };
  });
  let totalPj = 0;
  for (const r of rows) totalPj += r.energyPj;
  return {
    tech,
    totalPj,
    rows,
    byLayer: sumBy(rows, 'layer').map(({ name, energyPj: e }) => ({ layer: name, energyPj: e })),
    byComponent: sumBy(rows, 'component').map(({ name, energyPj: e }) => ({ component: name, energyPj: e })),
  };
}
