/**
 * Cost model of the macro as action counts (Accelergy's split): the macro model counts actions per
 * layer — bit-line charge restored by the precharge, word-line cell pulses and driver pulses,
 * reference pulses, comparator decisions, SAR/fold logic and partial-sum additions — as
 * `{layer, component, action, count}` rows; `hw/energy.ts` prices them ('sram-cim/*' rows, each with
 * its source) at a technology point. Area is priced the same way from instance counts. Latency comes
 * from the macro's own cycle: precharge, MAC phase (longest word-line pulse at the layer's β), ADC
 * steps (the slowest column of a cycle for a ramp ADC) and fold steps.
 *
 * Activity comes either from DNN-like synthetic columns on the ideal macro (`estimateCost`, the
 * `cim cost` command) or from the network inference itself, per layer and with each layer's β
 * (`networkCost`, fed by the CIM engine in network.ts).
 *
 * An ESTIMATE from documented parameters, labelled as such next to the paper's 137.5 TOPS/W.
 */
import { z } from 'zod';
import { validate } from '../../core/config.js';
import { Rng } from '../../core/rng.js';
import { type ActionCount, type EnergyReport, type InstanceCount, priceActions, priceArea, type TechPoint } from '../energy.js';
import { idealize, type MacroConfig } from './config.js';
import { CELLS_PER_WEIGHT, INPUT_BITS, INPUT_CODE_MAX, MacroChip, type MacroDesign, SLOT_SCALE, WEIGHT_BITS } from './macro.js';

export const CostParamsSchema = z
  .object({
    /** Technology node (nm) the energy table is scaled to. Unknown for the paper: a parameter. */
    nodeNm: z.number().min(3).max(180).default(28),
    /** Precharge time per conversion (s). */
    tPrecharge: z.number().positive().default(0.5e-9),
    /** Time of one ADC step: reference pulse + comparator decision (s). */
    tAdcStep: z.number().positive().default(0.5e-9),
    /** Pulse-count input encoding: idle time between unit pulses as a fraction of the pulse train (assumed). */
    pulseGap: z.number().min(0).max(1).default(0.05),
    /** Reference cells per column for the embedded ADC (area only; assumed). */
    refCellsPerColumn: z.number().int().min(0).max(1024).default(16),
    /** Activity of DNN-like inputs: fraction of zero inputs, σ of the 4-b weights. */
    zeroFraction: z.number().min(0).max(1).default(0.5),
    weightSigma: z.number().positive().default(2.5),
    /** Columns sampled for the activity estimate. */
    samples: z.number().int().min(8).max(100000).default(512),
    seed: z.number().int().min(0).default(1),
  })
  .strict();
export type CostParams = z.output<typeof CostParamsSchema>;

export const PAPER_TOPS_PER_W = 137.5;

export function costParams(input: unknown = {}): CostParams {
  return validate(CostParamsSchema, input, 'cim cost params');
}

/** Activity of a set of column conversions (what the cost is counted from). */
export interface ConversionActivity {
  conversions: number;
  /** Σ bit-line cell-time (both lines, T0 units) of the MAC phase and of the ADC reference steps. */
  macCellTime: number;
  refCellTime: number;
  /** Word-line pulses of cells (PWM: one per active cell; pulse-count: one per unit pulse). */
  wlCellPulses: number;
  decisions: number;
  refPulses: number;
  /** Conversion cycles (a macro's columns convert together) and Σ over cycles of the ADC steps of the slowest column. */
  cycles: number;
  adcSteps: number;
}

export function emptyActivity(): ConversionActivity {
  return { conversions: 0, macCellTime: 0, refCellTime: 0, wlCellPulses: 0, decisions: 0, refPulses: 0, cycles: 0, adcSteps: 0 };
}

/** Word-line cell pulses of one input x on one weight's cells (x > 0). */
export function cellPulses(w: number, x: number, c: MacroConfig): number {
  const twos = c.macFolding === 'off' || c.macFolding === 'range';
  let cells = 0;
  // Two's complement drives all 4 bit cells and the bias cell; sign routing only the set magnitude bits.
  for (let k = 0; k < 4; k++) if (twos || (Math.abs(w) >> k) & 1) cells++;
  if (twos) cells++;
  return c.inputEncoding === 'pwm' ? cells : cells * x;
}

/**
 * Adds the ADC part of one conversion: `rampSteps` is the number of reference steps a ramp ADC takes
 * (ignored by binary search). Returns the ADC steps of this conversion (for the cycle's slowest column).
 */
export function addConversion(a: ConversionActivity, c: MacroConfig, d: MacroDesign, rampSteps: number): number {
  const half = 2 ** (c.adcBits - 1);
  let steps: number;
  a.conversions++;
  if (c.adc === 'binary-search') {
    a.decisions += c.adcBits;
    a.refPulses += c.adcBits - 1;
    a.refCellTime += (half - 1) * d.refUnit;
    steps = c.adcBits;
  } else {
    a.decisions += rampSteps + 1;
    a.refPulses += rampSteps;
    a.refCellTime += rampSteps * d.refUnit;
    steps = rampSteps + 1;
  }
  if (d.groups > 1) {
    a.decisions += 2 * d.groups;
    a.refPulses += d.groups;
    a.refCellTime += d.groups * d.foldCodes * d.refUnit;
  }
  return steps;
}

/** Ramp steps of a conversion whose MAC is `mac` (binary search: unused). */
export function rampStepsOf(mac: number, c: MacroConfig, d: MacroDesign): number {
  return Math.min(2 ** (c.adcBits - 1), Math.floor(Math.abs(mac / d.step)) + 1);
}

/** The action counts of an activity on a macro with `columns` columns (word-line drivers are shared by a row). */
export function activityActions(layer: string, a: ConversionActivity, c: MacroConfig, d: MacroDesign): ActionCount[] {
  const row = (action: string, count: number): ActionCount => ({ layer, component: 'sram-cim', action, count });
  return [
    // Charge restored by the precharge: C_BL·ΔV, ΔV = v_u per unit cell-time (fC).
    row('bit-line-charge-fc', c.cBitLine * 1e15 * d.vu * (a.macCellTime + a.refCellTime)),
    row('wl-pulse-per-cell', a.wlCellPulses),
    // One driver pulse serves the cells of a row across all columns.
    row('wl-driver-pulse', a.wlCellPulses / c.columns),
    row('ref-pulse', a.refPulses),
    row('comparator-decision', a.decisions),
    row('sar-logic-conversion', a.conversions),
    row('partial-sum-add', a.conversions),
  ];
}

/** Energy parts of the report (fJ) from priced 'sram-cim' rows. */
const PART_OF: Record<string, keyof CostBreakdown> = {
  'bit-line-charge-fc': 'bitLines',
  'wl-pulse-per-cell': 'wordLines',
  'wl-driver-pulse': 'wordLines',
  'ref-pulse': 'references',
  'comparator-decision': 'comparator',
  'sar-logic-conversion': 'digital',
  'partial-sum-add': 'digital',
};

export interface CostBreakdown {
  bitLines: number;
  wordLines: number;
  references: number;
  comparator: number;
  digital: number;
}

function breakdownFj(e: EnergyReport, perConversions: number): CostBreakdown {
  const b: CostBreakdown = { bitLines: 0, wordLines: 0, references: 0, comparator: 0, digital: 0 };
  for (const r of e.rows) b[PART_OF[r.action]] += (r.energyPj * 1e3) / perConversions;
  return b;
}

/** Duration of one conversion cycle (s): precharge, MAC phase, `adcSteps` ADC steps and fold steps. */
export function cycleSeconds(c: MacroConfig, d: MacroDesign, p: CostParams, adcSteps: number): number {
  // The longest word-line pulse: the largest slot scale (2^(weight bits − 1)) × the largest input code, at T0 (× β under 'gain').
  const macPhase = Math.max(...SLOT_SCALE) * INPUT_CODE_MAX * d.t0Effective * (c.inputEncoding === 'pwm' ? 1 : 1 + p.pulseGap);
  const foldSteps = d.groups > 1 ? d.groups * 2 : 0;
  return p.tPrecharge + macPhase + (adcSteps + foldSteps) * p.tAdcStep;
}

/** Instance counts of one macro (for area). */
export function macroInstances(layer: string, c: MacroConfig, p: CostParams): InstanceCount[] {
  const i = (action: string, count: number): InstanceCount => ({ layer, component: 'sram-cim', action, count });
  return [
    i('cell-6t', (c.rows * CELLS_PER_WEIGHT + p.refCellsPerColumn) * c.columns),
    i('comparator-decision', c.columns),
    i('sar-logic-conversion', c.columns),
    i('partial-sum-add', c.columns),
    i('wl-driver-pulse', c.rows * CELLS_PER_WEIGHT),
  ];
}

export interface CostResult {
  estimate: true;
  nodeNm: number;
  vdd: number;
  rows: number;
  columns: number;
  /** Energy per column conversion and its breakdown (fJ). */
  energyPerConversionFj: number;
  breakdownFj: CostBreakdown;
  energyPerMacFj: number;
  /** Mean comparator decisions and bit-line swing per conversion (activity). */
  decisionsPerConversion: number;
  meanLineSwingMv: number;
  latencyNs: number;
  /** Macro throughput (all columns in parallel), 1 MAC = 2 OPs. */
  gops: number;
  topsPerW: number;
  /** Normalised to 1b×1b (× input bits × weight bits). */
  topsPerWBinary: number;
  areaMm2: number;
  topsPerMm2: number;
  paperTopsPerW: number;
  /** The action counts over `conversions` simulated conversions, their pricing, and the instance counts of the area. */
  conversions: number;
  actions: ActionCount[];
  energy: EnergyReport;
  instances: InstanceCount[];
  note: string;
}

/** Activity of `p.samples` DNN-like columns on the ideal macro (`columns` of them convert per cycle). */
export function syntheticActivity(config: MacroConfig, p: CostParams): { activity: ConversionActivity; design: MacroDesign } {
  const chip = new MacroChip(idealize({ ...config, columns: 1 }), p.seed);
  const d = chip.design;
  const n = config.rows;
  const rng = new Rng(p.seed);
  const a = emptyActivity();
  let slowest = 0;
  for (let s = 0; s < p.samples; s++) {
    const x = new Float32Array(n);
    const w = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = rng.next() < p.zeroFraction ? 0 : 1 + rng.int(INPUT_CODE_MAX);
      w[i] = Math.max(d.weightMin, Math.min(d.weightMax, Math.round(rng.normal(0, p.weightSigma))));
    }
    const lw = chip.lineWeights(w, n, 1);
    let mac = 0;
    for (let i = 0; i < n; i++) {
      a.macCellTime += x[i] * (lw.bl[i] + lw.blb[i]);
      mac += x[i] * w[i];
      if (x[i] > 0) a.wlCellPulses += cellPulses(w[i], x[i], config);
    }
    slowest = Math.max(slowest, addConversion(a, config, d, rampStepsOf(mac, config, d)));
    // A cycle ends when the slowest of the `columns` columns converting together is done.
    if ((s + 1) % config.columns === 0 || s === p.samples - 1) {
      a.cycles++;
      a.adcSteps += slowest;
      slowest = 0;
    }
  }
  return { activity: a, design: d };
}

export function estimateCost(config: MacroConfig, p: CostParams): CostResult {
  const { activity: a, design: d } = syntheticActivity(config, p);
  const tech: TechPoint = { nodeNm: p.nodeNm, vdd: config.vPre };
  const actions = activityActions('macro', a, config, d);
  const energy = priceActions(actions, tech);
  const S = a.conversions;
  const total = (energy.totalPj * 1e3) / S;
  const n = config.rows;
  const ops = 2 * n;
  const topsPerW = ops / (total / 1e3); // OPs per pJ = TOPS/W
  const latency = cycleSeconds(config, d, p, a.adcSteps / a.cycles);
  const gops = (ops * config.columns) / latency / 1e9;
  const instances = macroInstances('macro', config, p);
  const areaMm2 = priceArea(instances, tech).totalUm2 * 1e-6;
  return {
    estimate: true,
    nodeNm: p.nodeNm,
    vdd: config.vPre,
    rows: n,
    columns: config.columns,
    energyPerConversionFj: total,
    breakdownFj: breakdownFj(energy, S),
    energyPerMacFj: total / n,
    decisionsPerConversion: a.decisions / S,
    meanLineSwingMv: ((d.vu * (a.macCellTime + a.refCellTime)) / S / 2) * 1e3,
    latencyNs: latency * 1e9,
    gops,
    topsPerW,
    topsPerWBinary: topsPerW * INPUT_BITS * WEIGHT_BITS,
    areaMm2,
    topsPerMm2: gops / 1e3 / areaMm2,
    paperTopsPerW: PAPER_TOPS_PER_W,
    conversions: S,
    actions,
    energy,
    instances,
    note: 'ESTIMATE from the parameters in src/hw/energy.ts and the macro config (node, C_BL, V_PRE, headroom design); the paper measured 137.5 TOPS/W under conditions not retrieved (see docs/cim.md).',
  };
}

/** What the CIM engine measured for one layer during inference. */
export interface LayerActivity {
  opIndex: number;
  name: string;
  /** The layer's macro config (its β included). */
  config: MacroConfig;
  design: MacroDesign;
  /** MACs computed and GEMM rows (cycles of the layer: its tiles run in parallel, one macro each). */
  macs: number;
  gemmRows: number;
  macros: number;
  activity: ConversionActivity;
}

export interface LayerCost {
  layer: string;
  boost: number;
  macros: number;
  conversions: number;
  macs: number;
  energyPj: number;
  /** Latency of the layer (s): its GEMM rows × the cycle time at its β (all tiles in parallel). */
  latencyS: number;
}

export interface NetworkCost {
  estimate: true;
  nodeNm: number;
  /** Over the evaluated images: totals, per image, and per layer. */
  images: number;
  energyPerImagePj: number;
  latencyPerImageS: number;
  macsPerImage: number;
  energyPerMacFj: number;
  topsPerW: number;
  layers: LayerCost[];
  energy: EnergyReport;
}

/** Prices the per-layer activity of an inference run over `images` images (action rows per layer, each with its β). */
export function networkCost(layers: readonly LayerActivity[], images: number, p: CostParams): NetworkCost {
  const vdd = layers[0]?.config.vPre ?? 0.9;
  const tech: TechPoint = { nodeNm: p.nodeNm, vdd };
  const actions = layers.flatMap((l) => activityActions(l.name, l.activity, l.config, l.design));
  const energy = priceActions(actions, tech);
  const perLayer = layers.map((l): LayerCost => {
    const e = energy.byLayer.find((b) => b.layer === l.name)?.energyPj ?? 0;
    const steps = l.activity.cycles > 0 ? l.activity.adcSteps / l.activity.cycles : 0;
    return {
      layer: l.name,
      boost: l.design.boost,
      macros: l.macros,
      conversions: l.activity.conversions,
      macs: l.macs,
      energyPj: e,
      latencyS: l.gemmRows * cycleSeconds(l.config, l.design, p, steps),
    };
  });
  const macs = perLayer.reduce((s, l) => s + l.macs, 0);
  const latency = perLayer.reduce((s, l) => s + l.latencyS, 0);
  return {
    estimate: true,
    nodeNm: p.nodeNm,
    images,
    energyPerImagePj: energy.totalPj / images,
    latencyPerImageS: latency / images,
    macsPerImage: macs / images,
    energyPerMacFj: macs > 0 ? (energy.totalPj * 1e3) / macs : 0,
    topsPerW: energy.totalPj > 0 ? (2 * macs) / energy.totalPj : 0,
    layers: perLayer.map((l) => ({ ...l, energyPj: l.energyPj / images, latencyS: l.latencyS / images, macs: l.macs / images, conversions: l.conversions / images })),
    energy,
  };
}
