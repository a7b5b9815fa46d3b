/**
 * Cost model of the macro: energy per conversion and per MAC, latency, throughput, area, TOPS/W.
 * An ESTIMATE from documented parameters (src/hw/energy.ts rows 'sram-cim/*' and the macro config),
 * labelled as such next to the paper's 137.5 TOPS/W.
 *
 * Energy of one column conversion (N weight rows):
 *   bit lines   C·V_PRE·V_u·E[τ_BL + τ_BLB + τ_ref]   (the charge removed is restored by the precharge)
 *   word lines  (WL pulses of the column's active cells) × E_wl-per-cell + row-driver pulses / columns
 *   references  ADC steps × E_ref-pulse;  comparator  decisions × E_cmp;  SAR logic + partial-sum add
 * Activity (τ, decisions) is measured by simulating DNN-like columns on the ideal macro.
 */
import { z } from 'zod';
import { validate } from '../../core/config.js';
import { Rng } from '../../core/rng.js';
import { areaUm2, energyPj, type TechPoint } from '../energy.js';
import { idealize, type MacroConfig } from './config.js';
import { CELLS_PER_WEIGHT, MacroChip } from './macro.js';

export const CostParamsSchema = z
  .object({
    /** Technology node (nm) the energy table is scaled to. Unknown for the paper: a parameter. */
    nodeNm: z.number().min(3).max(180).default(28),
    /** Precharge time per conversion (s). */
    tPrecharge: z.number().positive().default(0.5e-9),
    /** Time of one ADC step: reference pulse + comparator decision (s). */
    tAdcStep: z.number().positive().default(0.5e-9),
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

export interface CostResult {
  estimate: true;
  nodeNm: number;
  vdd: number;
  rows: number;
  columns: number;
  /** Energy per column conversion and its breakdown (fJ). */
  energyPerConversionFj: number;
  breakdownFj: { bitLines: number; wordLines: number; references: number; comparator: number; digital: number };
  energyPerMacFj: number;
  /** Mean comparator decisions and bit-line cell-time per conversion (activity). */
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
  note: string;
}

export function costParams(input: unknown = {}): CostParams {
  return validate(CostParamsSchema, input, 'cim cost params');
}

export function estimateCost(config: MacroConfig, p: CostParams): CostResult {
  const cfg = idealize({ ...config, columns: 1 });
  const chip = new MacroChip(cfg, p.seed);
  const d = chip.design;
  const n = cfg.rows;
  const rng = new Rng(p.seed);
  const tech: TechPoint = { nodeNm: p.nodeNm, vdd: cfg.vPre };
  let tauSum = 0;
  let wlPulses = 0;
  let decisions = 0;
  let refPulses = 0;
  const half = 2 ** (cfg.adcBits - 1);
  for (let s = 0; s < p.samples; s++) {
    const x = new Float32Array(n);
    const w = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = rng.next() < p.zeroFraction ? 0 : 1 + rng.int(15);
      w[i] = Math.max(d.weightMin, Math.min(d.weightMax, Math.round(rng.normal(0, p.weightSigma))));
    }
    const lw = chip.lineWeights(w, n, 1);
    let mac = 0;
    for (let i = 0; i < n; i++) {
      tauSum += x[i] * (lw.bl[i] + lw.blb[i]);
      mac += x[i] * w[i];
      if (x[i] > 0) {
        // Word lines pulsed: one per conducting cell slot (4 bit cells + bias where used).
        let cells = 0;
        for (let k = 0; k < 4; k++) if (cfg.macFolding === 'off' || cfg.macFolding === 'range' || (Math.abs(w[i]) >> k) & 1) cells++;
        if (cfg.macFolding === 'off' || cfg.macFolding === 'range') cells++;
        wlPulses += cfg.inputEncoding === 'pwm' ? cells : cells * x[i];
      }
    }
    const y = Math.abs(mac / d.step);
    if (cfg.adc === 'binary-search') {
      decisions += cfg.adcBits;
      refPulses += cfg.adcBits - 1;
      tauSum += (half - 1) * d.refUnit;
    } else {
      const steps = Math.min(half, Math.floor(y) + 1);
      decisions += steps + 1;
      refPulses += steps;
      tauSum += steps * d.refUnit;
    }
    if (d.groups > 1) {
      decisions += 2 * d.groups;
      refPulses += d.groups;
      tauSum += d.groups * d.foldCodes * d.refUnit;
    }
  }
  const S = p.samples;
  const fj = 1e3; // pJ -> fJ
  const bitLines = cfg.cBitLine * cfg.vPre * d.vu * (tauSum / S) * 1e15;
  const wordLines = (wlPulses / S) * (energyPj('sram-cim', 'wl-pulse-per-cell', tech) + energyPj('sram-cim', 'wl-driver-pulse', tech) / config.columns) * fj;
  const references = (refPulses / S) * energyPj('sram-cim', 'ref-pulse', tech) * fj;
  const comparator = (decisions / S) * energyPj('sram-cim', 'comparator-decision', tech) * fj;
  const digital = (energyPj('sram-cim', 'sar-logic-conversion', tech) + energyPj('sram-cim', 'partial-sum-add', tech)) * fj;
  const total = bitLines + wordLines + references + comparator + digital;
  const ops = 2 * n;
  const topsPerW = ops / (total / 1e3); // OPs per pJ = TOPS/W
  const macPhase = 8 * 15 * d.t0Effective * (cfg.inputEncoding === 'pwm' ? 1 : 1.05);
  const adcSteps = cfg.adc === 'binary-search' ? cfg.adcBits : decisions / S;
  const latency = p.tPrecharge + macPhase + adcSteps * p.tAdcStep + (d.groups > 1 ? d.groups * 2 * p.tAdcStep : 0);
  const gops = (ops * config.columns) / latency / 1e9;
  const refRows = 16;
  const cellArea = (n * CELLS_PER_WEIGHT + refRows) * config.columns * areaUm2('sram-cim', 'cell-6t', tech);
  const periph =
    config.columns * (areaUm2('sram-cim', 'comparator-decision', tech) + areaUm2('sram-cim', 'sar-logic-conversion', tech) + areaUm2('sram-cim', 'partial-sum-add', tech)) +
    n * CELLS_PER_WEIGHT * areaUm2('sram-cim', 'wl-driver-pulse', tech);
  const areaMm2 = (cellArea + periph) * 1e-6;
  return {
    estimate: true,
    nodeNm: p.nodeNm,
    vdd: cfg.vPre,
    rows: n,
    columns: config.columns,
    energyPerConversionFj: total,
    breakdownFj: { bitLines, wordLines, references, comparator, digital },
    energyPerMacFj: total / n,
    decisionsPerConversion: decisions / S,
    meanLineSwingMv: ((d.vu * tauSum) / S / 2) * 1e3,
    latencyNs: latency * 1e9,
    gops,
    topsPerW,
    topsPerWBinary: topsPerW * 16,
    areaMm2,
    topsPerMm2: gops / 1e3 / areaMm2,
    paperTopsPerW: PAPER_TOPS_PER_W,
    note: 'ESTIMATE from the parameters in src/hw/energy.ts and the macro config (node, C_BL, V_PRE, headroom design); the paper measured 137.5 TOPS/W under conditions not retrieved (see docs/cim.md).',
  };
}
