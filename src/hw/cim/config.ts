/**
 * Configuration of the SRAM compute-in-memory macro model (arXiv 2307.05944 as reconstructed in
 * docs/cim.md). Every value has a documented default (docs/cim.md); every unknown of the paper is a
 * named option.
 *
 * Units: volts, seconds, farads, amperes; "cell-time" is measured in units of T0 (one unit cell
 * conducting for one unit word-line time).
 */
import { z } from 'zod';
import { validate } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';

/** How the sign of a 4-b weight reaches the two bit lines (the MAC-folding hypotheses, docs/cim.md). */
export const MAC_FOLDING_MODES = ['off', 'signed-split', 'sign-magnitude', 'range'] as const;
export type MacFoldingMode = (typeof MAC_FOLDING_MODES)[number];

/** Boosted-clipping hypotheses: BC-H1 analog gain boost by longer T0 ('gain'), BC-H2 WL overdrive ('wl-boost'). */
export const BOOSTED_CLIPPING_MODES = ['off', 'gain', 'wl-boost'] as const;
export type BoostedClippingMode = (typeof BOOSTED_CLIPPING_MODES)[number];

export const ADC_ALGORITHMS = ['binary-search', 'ramp'] as const;

export const INPUT_ENCODINGS = ['pwm', 'pulse-count'] as const;

export const NonIdealitySchema = z
  .object({
    /** σ of the per-cell current mismatch, relative (I = I_u(1+ε)), frozen per chip. */
    cellMismatch: z.number().min(0).max(0.5).default(0.1),
    /** σ of the per-column, per-line reference-cell gain error (relative). */
    refMismatch: z.number().min(0).max(0.2).default(0.003),
    /** σ of the BLB/BL capacitance mismatch per column (relative). */
    capMismatch: z.number().min(0).max(0.1).default(0.005),
    /** σ of the static comparator offset per column (V). */
    comparatorOffset: z.number().min(0).max(0.05).default(0.0005),
    /** σ of the comparator noise per decision (V), includes kT/C sampling noise. */
    comparatorNoise: z.number().min(0).max(0.05).default(0.0003),
    /** Bit-line clamp/floor: below it the cell current collapses; a line never goes lower (V). */
    bitLineFloor: z.boolean().default(true),
    /** Cell current depends on the bit-line voltage: channel-length modulation λ (1/V). */
    lambda: z.number().min(0).max(2).default(0.3),
    /** Knee of the access-transistor triode region (V): below it I falls as (V/Vk)(2−V/Vk). */
    vKnee: z.number().min(0).max(1).default(0.3),
    /** Ground IR drop: every active cell's current is scaled by (1 − α·n(t)), n = active cells on the column. */
    irDrop: z.number().min(0).max(0.01).default(0.0001),
    /** Word-line edge error per pulse (units of T0, PWM: once per pulse; pulse-count: once per unit pulse). */
    edgeError: z.number().min(-0.5).max(0.5).default(0.02),
  })
  .strict();
export type NonIdealities = z.output<typeof NonIdealitySchema>;

export const MacroConfigSchema = z
  .object({
    /** Weight rows accumulated per conversion (N). Each 4-b weight uses 4 cells on the same column (mapping M-A). */
    rows: z.number().int().min(1).max(1024).default(64),
    /** Columns (one conversion per column per cycle). */
    columns: z.number().int().min(1).max(1024).default(64),
    /** Precharge voltage (V). */
    vPre: z.number().min(0.3).max(1.5).default(0.9),
    /** Lowest safe bit-line voltage (V): headroom = vPre − vFloor. */
    vFloor: z.number().min(0).max(1.2).default(0.4),
    /** Bit-line capacitance (F). */
    cBitLine: z.number().positive().default(100e-15),
    /** Unit word-line time T0 (s). The unit cell current follows from the headroom design (reported). */
    t0: z.number().positive().default(100e-12),
    inputEncoding: z.enum(INPUT_ENCODINGS).default('pwm'),
    adc: z.enum(ADC_ALGORITHMS).default('binary-search'),
    /** Output bits of the ADC (signed). The paper: 9. */
    adcBits: z.number().int().min(2).max(12).default(9),
    macFolding: z.enum(MAC_FOLDING_MODES).default('sign-magnitude'),
    /** Row groups for 'range' folding (common-mode restore + fold after each group). */
    foldGroups: z.number().int().min(1).max(64).default(4),
    boostedClipping: z.enum(BOOSTED_CLIPPING_MODES).default('gain'),
    /** Boost factor β (power of two): ADC step shrinks by β, analog gain grows by β; codes beyond ±FS clip. */
    boost: z.number().int().min(1).max(256).default(4),
    /** 'wl-boost' only: the mismatch σ falls by this factor thanks to WL overdrive. */
    wlBoostMismatchFactor: z.number().min(0.1).max(1).default(0.7),
    /** Fraction of the headroom used by the worst-case design swing (1 = exactly fits). */
    headroomUse: z.number().min(0.1).max(1).default(0.9),
    nonIdeal: NonIdealitySchema.default({}),
  })
  .strict();
export type MacroConfig = z.output<typeof MacroConfigSchema>;
export type MacroConfigInput = z.input<typeof MacroConfigSchema>;

export function macroConfig(input: unknown = {}): MacroConfig {
  const c = validate(MacroConfigSchema, input, 'cim macro config');
  if (c.vFloor >= c.vPre) throw new ConfigError(`cim macro config: field 'vFloor' (${c.vFloor}) must be below 'vPre' (${c.vPre})`);
  if (c.boost & (c.boost - 1)) throw new ConfigError(`cim macro config: field 'boost' must be a power of two (1, 2, 4, 8, …), got ${c.boost}`);
  return c;
}

/** All non-idealities off: matched cells, constant current, no floor, ideal comparator. */
export const IDEAL_NON_IDEALITIES: NonIdealities = {
  cellMismatch: 0,
  refMismatch: 0,
  capMismatch: 0,
  comparatorOffset: 0,
  comparatorNoise: 0,
  bitLineFloor: false,
  lambda: 0,
  vKnee: 0,
  irDrop: 0,
  edgeError: 0,
};

/** The config with every non-ideality off. */
export function idealize(c: MacroConfig): MacroConfig {
  return { ...c, nonIdeal: { ...IDEAL_NON_IDEALITIES } };
}

/** Scales the random non-idealities (mismatch, offsets, noise) by `s` — the "noise level" axis. */
export function scaleNoise(c: MacroConfig, s: number): MacroConfig {
  const n = c.nonIdeal;
  return {
    ...c,
    nonIdeal: {
      ...n,
      cellMismatch: n.cellMismatch * s,
      refMismatch: n.refMismatch * s,
      capMismatch: n.capMismatch * s,
      comparatorOffset: n.comparatorOffset * s,
      comparatorNoise: n.comparatorNoise * s,
    },
  };
}

/** Effective boost factor (1 when boosted-clipping is off). */
export function effectiveBoost(c: MacroConfig): number {
  return c.boostedClipping === 'off' ? 1 : c.boost;
}
