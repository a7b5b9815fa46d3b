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
  {
    component: 'sram-cim',
    action: 'bit-line-charge-fc',
    energyPj: 0.0009,
    areaUm2: null,
    nodeNm: 28,
    vdd: 0.9,
    nodeExp: 0,
    vddExp: 1,
    source: 'E = Q·V_PRE: 1 fC drawn from the 0.9 V precharge supply; the model counts Q = C_BL·ΔV (its own C_BL, MAC and reference swing) restored by the precharge',
  },
  {
    component: 'sram-cim',
    action: 'wl-pulse-per-cell',
    energyPj: 0.00015,
    areaUm2: null,
    nodeNm: 28,
    vdd: 0.9,
    nodeExp: 1,
    source: 'C·V²: ~0.18 fF word-line wire + gate load per 6T cell at 0.9 V (estimate)',
  },
  {
    component: 'sram-cim',
    action: 'wl-driver-pulse',
    energyPj: 0.002,
    areaUm2: 1.5,
    nodeNm: 28,
    vdd: 0.9,
    nodeExp: 1,
    source: 'PWM word-line driver + pulse gating per row pulse (estimate)',
  },
  {
    component: 'sram-cim',
    action: 'comparator-decision',
    energyPj: 0.02,
    areaUm2: 12,
    nodeNm: 28,
    vdd: 0.9,
    nodeExp: 1,
    source: 'low-offset StrongARM latch (σ_os ≈ 0.5 mV needs a large input pair, ~20 fF switched): ~20 fJ per decision (estimate)',
  },
  {
    component: 'sram-cim',
    action: 'ref-pulse',
    energyPj: 0.0005,
    areaUm2: null,
    nodeNm: 28,
    vdd: 0.9,
    nodeExp: 1,
    source: 'local reference-cell word-line pulse per ADC step (estimate)',
  },
  {
    component: 'sram-cim',
    action: 'sar-logic-conversion',
    energyPj: 0.01,
    areaUm2: 20,
    nodeNm: 28,
    vdd: 0.9,
    nodeExp: 1,
    source: '9-b SAR/fold control registers per conversion (estimate)',
  },
  { component: 'sram-cim', action: 'partial-sum-add', energyPj: 0.006, areaUm2: 30, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: '16-b adder + register per partial sum (estimate)' },
  {
    component: 'sram-cim',
    action: 'cell-6t',
    energyPj: 0,
    areaUm2: 0.127,
    nodeNm: 28,
    vdd: 0.9,
    nodeExp: 1,
    source: '28 nm high-density 6T bit cell ≈ 0.127 µm² (foundry-typical)',
  },
  // ---- SparseNN accelerator (src/hw/sparsenn) -------------------------------------------------
  // 45 nm, 0.9 V reference (Horowitz, "Computing's energy problem", ISSCC 2014, Fig. 1.1.9 table), 16-bit fixed-point datapath.
  {
    component: 'sparsenn',
    action: 'mac-16b',
    energyPj: 0.9,
    areaUm2: 1600,
    nodeNm: 45,
    vdd: 0.9,
    nodeExp: 1,
    source: 'Horowitz ISSCC 2014 (45 nm): 8-b mult 0.2 pJ, 32-b mult 3.1 pJ → 16-b mult ≈ 0.8 pJ (quadratic in width), + 32-b add 0.1 pJ; area from the same table (estimate)',
  },
  {
    component: 'sparsenn',
    action: 'weight-read-16b',
    energyPj: 2.5,
    areaUm2: null,
    nodeNm: 45,
    vdd: 0.9,
    nodeExp: 1,
    source: 'Horowitz ISSCC 2014 (45 nm): 8 KB SRAM read 10 pJ per 64 b → 2.5 pJ per 16-b word',
  },
  {
    component: 'sparsenn',
    action: 'buffer-write-16b',
    energyPj: 0.5,
    areaUm2: null,
    nodeNm: 45,
    vdd: 0.9,
    nodeExp: 1,
    source: 'small (≤ 1 KB) activation buffer / FIFO word write, ≈ 1/5 of an 8 KB SRAM access (estimate scaled from Horowitz ISSCC 2014)',
  },
  {
    component: 'sparsenn',
    action: 'buffer-read-16b',
    energyPj: 0.5,
    areaUm2: null,
    nodeNm: 45,
    vdd: 0.9,
    nodeExp: 1,
    source: 'small (≤ 1 KB) activation buffer / FIFO word read, ≈ 1/5 of an 8 KB SRAM access (estimate scaled from Horowitz ISSCC 2014)',
  },
  {
    component: 'sparsenn',
    action: 'noc-word-hop',
    energyPj: 0.8,
    areaUm2: null,
    nodeNm: 45,
    vdd: 0.9,
    nodeExp: 1,
    source:
      '16-b word over one ≈0.3 mm network link + pipeline latch: ≈0.15 pJ/bit/mm wire (order of magnitude for 40–45 nm, Keckler et al. IEEE Micro 2011) → 0.05 pJ/bit per hop (estimate)',
  },
  { component: 'sparsenn', action: 'add-32b', energyPj: 0.1, areaUm2: 137, nodeNm: 45, vdd: 0.9, nodeExp: 1, source: 'Horowitz ISSCC 2014 (45 nm): 32-b integer add 0.1 pJ' },
  {
    component: 'sparsenn',
    action: 'compare-16b',
    energyPj: 0.05,
    areaUm2: 67,
    nodeNm: 45,
    vdd: 0.9,
    nodeExp: 1,
    source: 'Horowitz ISSCC 2014 (45 nm): 16-b integer add ≈0.05 pJ (a compare/zero detect is an add-class operation)',
  },
  {
    component: 'sparsenn',
    action: 'pe-leakage-cycle',
    energyPj: 0.2,
    areaUm2: null,
    nodeNm: 45,
    vdd: 0.9,
    nodeExp: 1,
    source: 'static power of one PE (MAC + ~8 KB SRAM + buffers) ≈0.16 mW at 45 nm → 0.2 pJ per 800 MHz cycle (estimate)',
  },
  // ---- end SparseNN ----------------------------------------------------------------------------
  // ---- RRAM crossbar accelerator (src/hw/rram) — begin. ISAAC-like, 32 nm, 1.0 V reference. ----
  // ISAAC = Shafiee et al., ISCA 2016, Table I (per-IMA component powers at a 100 ns read cycle;
  // values as recalled in the project's paper notes, marked there "[?] verify").
  {
    component: 'rram-crossbar',
    action: 'read',
    energyPj: 30,
    areaUm2: 25,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 0,
    source: 'ISAAC Table I: 8 arrays 128×128, 2 b/cell, 2.4 mW → 0.3 mW × 100 ns per array read; area 0.0002 mm²/8',
  },
  {
    component: 'rram-dac',
    action: 'row-drive',
    energyPj: 0.39,
    areaUm2: 0.17,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 1,
    source: 'ISAAC Table I: 8×128 1-bit DACs, 4 mW → 3.9 µW × 100 ns per word line per read',
  },
  {
    component: 'rram-input-register',
    action: 'bit-read',
    energyPj: 0.12,
    areaUm2: null,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 1,
    source: 'ISAAC Table I: 2 KB input register, 1.24 mW, feeding 8×128 bits per 100 ns read',
  },
  {
    component: 'rram-sample-hold',
    action: 'sample',
    energyPj: 0.001,
    areaUm2: 0.04,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 1,
    source: 'ISAAC Table I: 8×128 sample-and-holds, 10 µW → ~10 nW × 100 ns per bit line',
  },
  {
    component: 'rram-adc',
    action: 'conversion-step',
    energyPj: 0.0061,
    areaUm2: 1200,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 1,
    source: 'ISAAC Table I: 8-bit 1.28 GS/s SAR ADC, 2 mW → 1.56 pJ per conversion; Walden scaling: 1.56 pJ / 2^8 per conversion step (a b-bit conversion counts 2^b steps)',
  },
  {
    component: 'rram-shift-add',
    action: 'add',
    energyPj: 0.04,
    areaUm2: 60,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 1,
    source: 'ISAAC Table I: 4 shift-and-add units, 0.2 mW at ~1.28 G ops/s each',
  },
  {
    component: 'rram-buffer',
    action: 'read-byte',
    energyPj: 0.36,
    areaUm2: null,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 1,
    source: 'ISAAC Table I tile eDRAM (64 KB, 20.7 mW) over its 384-wire bus at 1.2 GHz: 20.7 mW / (1.2 GHz × 48 B) (derived)',
  },
  {
    component: 'rram-buffer',
    action: 'write-byte',
    energyPj: 0.36,
    areaUm2: null,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 1,
    source: 'as rram-buffer/read-byte (eDRAM read ≈ write, derived)',
  },
  {
    component: 'rram-control',
    action: 'bound-check',
    energyPj: 0.2,
    areaUm2: 150,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 1,
    source: 'one 24-b add (bound), one compare and a shift-multiply by θ per output per plane; Horowitz ISSCC 2014 (45 nm: 32-b add 0.1 pJ, 8-b mult 0.2 pJ) scaled (estimate)',
  },
  {
    component: 'rram-control',
    action: 'popcount',
    energyPj: 0.5,
    areaUm2: 400,
    nodeNm: 32,
    vdd: 1.0,
    nodeExp: 1,
    source: '128-input popcount adder tree (~127 full adders at ~3 fJ) + accumulate per row tile and plane (estimate)',
  },
  // ---- RRAM crossbar accelerator — end. ----
  // Generic digital (for comparisons by other models).
  {
    component: 'digital',
    action: 'int8-mac',
    energyPj: 0.05,
    areaUm2: 100,
    nodeNm: 28,
    vdd: 0.9,
    nodeExp: 1,
    source: '8-b MAC ~0.05 pJ at 28 nm (order of magnitude, Horowitz-style scaling)',
  },
  { component: 'digital', action: 'sram-read-32b', energyPj: 1.5, areaUm2: null, nodeNm: 28, vdd: 0.9, nodeExp: 1, source: 'small SRAM 32-b read, order of magnitude' },
  // ---- systolic array (src/hw/systolic) — begin. 45 nm, 0.9 V reference (Horowitz, ISSCC 2014). ----
  ...systolicRows(),
  // ---- systolic array — end. ----
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

// ---- systolic array (src/hw/systolic) rows — begin ----
/**
 * Rows of the systolic-array model (45 nm, 0.9 V). Horowitz, "Computing's energy problem", ISSCC 2014:
 * 8-b multiply 0.2 pJ / 282 µm², 32-b add 0.1 pJ / 137 µm²; SRAM 64-b read 10 pJ (8 kB), 20 pJ (32 kB),
 * 100 pJ (1 MB); DRAM 1.3–2.6 nJ per 64-b access. One SRAM row per power-of-two size class (a
 * buffer uses the class at or above its size), energy per 8-b word, log-log interpolated between
 * Horowitz's three sizes (extrapolated with the nearest slope outside them); writes priced as reads.
 */
/** SRAM size classes (kB) with a row: 1 kB … 64 MB. */
export function systolicSramClassesKb(): number[] {
  return Array.from({ length: 17 }, (_, i) => 2 ** i);
}

export function systolicSramClassKb(kb: number): number {
  const classes = systolicSramClassesKb();
  for (const c of classes) if (c >= kb) return c;
  return classes[classes.length - 1];
}

/** Horowitz's 64-b SRAM read energy (pJ) at `kb`, log-log interpolated. */
function sramRead64Pj(kb: number): number {
  const pts: [number, number][] = [
    [8, 10],
    [32, 20],
    [1024, 100],
  ];
  const seg = kb <= 32 ? [pts[0], pts[1]] : [pts[1], pts[2]];
  const slope = Math.log(seg[1][1] / seg[0][1]) / Math.log(seg[1][0] / seg[0][0]);
  return seg[0][1] * (kb / seg[0][0]) ** slope;
}

function systolicRows(): EnergyRow[] {
  const ref = { nodeNm: 45, vdd: 0.9 };
  const rows: EnergyRow[] = [
    {
      component: 'systolic-pe',
      action: 'mac-int8',
      energyPj: 0.3,
      areaUm2: 419,
      ...ref,
      nodeExp: 1,
      source: 'Horowitz ISSCC 2014, 45 nm: 8-b multiply 0.2 pJ + 32-b accumulate add 0.1 pJ; area 282 + 137 µm²',
    },
    {
      component: 'systolic-pe',
      action: 'register-write-8b',
      energyPj: 0.012,
      areaUm2: 36,
      ...ref,
      nodeExp: 1,
      source: 'estimate: 8 D flip-flops, ~1.5 fJ each (≈1.8 fF clock + data at 0.9 V); ~4.5 µm² per flop at 45 nm',
    },
    { component: 'systolic-pe', action: 'register-write-32b', energyPj: 0.048, areaUm2: 144, ...ref, nodeExp: 1, source: 'estimate: 4 × the 8-b register row' },
    // Packed weights (compress formats on the array): subword MACs, multiplexers, input buses, index words.
    {
      component: 'systolic-pe',
      action: 'mac-sub4x8',
      energyPj: 0.21,
      areaUm2: null,
      ...ref,
      nodeExp: 1,
      source: "estimate: half of Horowitz's 8-b multiply (0.1 pJ; array-multiplier energy ∝ partial products, 4×8 vs 8×8) + 4-b shift select 0.01 pJ + 32-b accumulate add 0.1 pJ",
    },
    {
      component: 'systolic-mux',
      action: 'mux2-8b',
      energyPj: 0.006,
      areaUm2: 11,
      ...ref,
      nodeExp: 1,
      source: "estimate: 8 two-input multiplexer cells, ≈0.75 fJ each (≈0.9 fF switched at 0.9 V, activity included); ≈1/5 of Horowitz's 8-b add (0.03 pJ); area ≈1.4 µm² per cell",
    },
    {
      component: 'systolic-mux',
      action: 'bus-register-write-8b',
      energyPj: 0.012,
      areaUm2: 36,
      ...ref,
      nodeExp: 1,
      source: 'as systolic-pe/register-write-8b: each extra word of the input bus a PE forwards to its neighbour',
    },
    {
      component: 'dram',
      action: 'read-8b',
      energyPj: 243.75,
      areaUm2: null,
      ...ref,
      nodeExp: 0,
      source: 'Horowitz ISSCC 2014: DRAM 1.3–2.6 nJ per 64-b access, midpoint 1.95 nJ / 8 bytes; interface energy, not node-scaled',
    },
    { component: 'dram', action: 'write-8b', energyPj: 243.75, areaUm2: null, ...ref, nodeExp: 0, source: 'as dram/read-8b (Horowitz gives one figure per access)' },
    { component: 'dram', action: 'index-read-8b', energyPj: 243.75, areaUm2: null, ...ref, nodeExp: 0, source: 'as dram/read-8b: a packed-weight index/metadata word' },
    {
      component: 'systolic-sram',
      action: 'area-per-kB',
      energyPj: 0,
      areaUm2: 4049,
      ...ref,
      nodeExp: 1,
      source: 'estimate: 8192 6T cells × 0.346 µm² (45 nm high-density cell) / 0.7 array efficiency',
    },
  ];
  for (const kb of systolicSramClassesKb()) {
    const e = sramRead64Pj(kb) / 8;
    const src = `Horowitz ISSCC 2014, 45 nm SRAM 64-b read (10 pJ @8 kB, 20 pJ @32 kB, 100 pJ @1 MB), log-log interpolated to ${kb} kB, per byte`;
    rows.push({ component: `systolic-sram-${kb}kB`, action: 'read-8b', energyPj: e, areaUm2: null, ...ref, nodeExp: 1, source: src });
    rows.push({ component: `systolic-sram-${kb}kB`, action: 'write-8b', energyPj: e, areaUm2: null, ...ref, nodeExp: 1, source: `${src}; write priced as a read (estimate)` });
    rows.push({
      component: `systolic-sram-${kb}kB`,
      action: 'index-read-8b',
      energyPj: e,
      areaUm2: null,
      ...ref,
      nodeExp: 1,
      source: `${src}; packed-weight index/metadata word, read like a filter word`,
    });
    rows.push({
      component: `systolic-sram-${kb}kB`,
      action: 'index-write-8b',
      energyPj: e,
      areaUm2: null,
      ...ref,
      nodeExp: 1,
      source: `${src}; index word fill from DRAM, write priced as a read (estimate)`,
    });
    rows.push({
      component: `systolic-sram-${kb}kB`,
      action: 'bus-read-8b',
      energyPj: e,
      areaUm2: null,
      ...ref,
      nodeExp: 1,
      source: `${src}; an input-bus word of a multiplexed packed row, read like an ifmap word`,
    });
  }
  return rows;
}
// ---- systolic array rows — end ----
