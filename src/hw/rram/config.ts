/**
 * Configuration of the RRAM crossbar model and of its early-termination control (zod-validated at
 * the edge; every field has a default, see docs/rram.md for the reasons behind each default).
 */
import { z } from 'zod';
import { validate } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';

export const SIGNED_ENCODINGS = ['differential', 'offset'] as const;
export const TERMINATIONS = ['none', 'lossless', 'adaptive'] as const;
export const BOUNDS = ['static', 'max-weight', 'plane', 'sorted'] as const;
export const BIT_ORDERS = ['msb-first', 'lsb-first'] as const;
export const GRANULARITIES = ['output', 'column-group', 'crossbar'] as const;
export const ESTIMATES = ['midpoint', 'mean-weight', 'partial'] as const;
export const ADAPTIVE_RULES = ['range', 'negative', 'both'] as const;
export const COLUMN_TIMINGS = ['adc-skip', 'lockstep'] as const;
export const PIPELINES = ['sequential', 'layer'] as const;

export type SignedEncoding = (typeof SIGNED_ENCODINGS)[number];
export type Termination = (typeof TERMINATIONS)[number];
export type BoundKind = (typeof BOUNDS)[number];
export type BitOrder = (typeof BIT_ORDERS)[number];
export type Granularity = (typeof GRANULARITIES)[number];
export type Estimate = (typeof ESTIMATES)[number];
export type AdaptiveRule = (typeof ADAPTIVE_RULES)[number];

export const RramConfigSchema = z
  .object({
    /** Crossbar word lines (inputs) and bit lines (physical columns). */
    rows: z.number().int().min(2).max(4096).default(128),
    columns: z.number().int().min(2).max(4096).default(128),
    /** Weight code width (signed, symmetric) and input activation code width (unsigned, applied bit-serially). */
    weightBits: z.number().int().min(2).max(16).default(8),
    activationBits: z.number().int().min(1).max(16).default(8),
    /** Conductance levels per cell = 2^bitsPerCell. */
    bitsPerCell: z.number().int().min(1).max(8).default(2),
    /** Signed weights: a positive and a negative column per slice, or one biased column per slice plus a reference column per crossbar. */
    signedEncoding: z.enum(SIGNED_ENCODINGS).default('differential'),
    /** ADC resolution in bits; 'exact' = just enough bits for every possible bit-line sum of the crossbar. */
    adcBits: z.union([z.literal('exact'), z.number().int().min(1).max(24)]).default('exact'),
    /** ADCs per crossbar, time-shared by its columns. */
    adcsPerCrossbar: z.number().int().min(1).max(4096).default(1),
    /** Relative σ of the programmed conductance of each cell (0 = ideal). */
    conductanceSpread: z.number().min(0).max(2).default(0),
    /** Probability of a cell stuck at the lowest (0) or highest conductance level. */
    stuckAtZero: z.number().min(0).max(1).default(0),
    stuckAtOne: z.number().min(0).max(1).default(0),
    /** σ of additive ADC input noise, in ADC LSBs. */
    adcNoiseLsb: z.number().min(0).max(100).default(0),
    /** Seed of the device draws (variation, stuck-at faults, ADC noise). */
    seed: z.number().int().min(0).default(1),
    termination: z.enum(TERMINATIONS).default('none'),
    /** Run-time bound on the not-yet-applied input bits (see docs/rram.md). */
    bound: z.enum(BOUNDS).default('plane'),
    bitOrder: z.enum(BIT_ORDERS).default('msb-first'),
    /**
     * With termination: a row tile whose input bit-plane is all zero (popcount 0, known from the
     * bound's popcounts) is not read for that plane; its bit lines would carry no current.
     */
    skipZeroPlanes: z.boolean().default(true),
    /** What stops together: one output (its columns), a group of `groupSize` outputs, or all outputs of a crossbar column tile. */
    granularity: z.enum(GRANULARITIES).default('output'),
    groupSize: z.number().int().min(1).max(4096).default(8),
    /** Value emitted by an adaptively terminated output: partial sum plus this estimate of the remaining part. */
    estimate: z.enum(ESTIMATES).default('mean-weight'),
    /**
     * Adaptive stopping rule (inferred, see docs/rram.md): 'range' stops an output whose remaining
     * range is small against its estimated value; 'negative' stops an output (a ReLU following) that
     * is predicted negative — estimated value plus 1/(1 + θ) of the headroom to the strict upper bound
     * ≤ 0 — and emits it as such; 'both' applies either test with the layer's θ.
     */
    adaptiveRule: z.enum(ADAPTIVE_RULES).default('range'),
    /** Adaptive termination threshold θ per layer (layer name → θ); layers not listed use `defaultThreshold`. */
    thresholds: z.record(z.string(), z.number().min(0).max(1e6)).default({}),
    defaultThreshold: z.number().min(0).max(1e6).default(0),
    /** Crossbar read (integration + sample) time and ADC sampling rate. */
    readNs: z.number().positive().max(1e6).default(100),
    adcGsps: z.number().positive().max(1000).default(1.28),
    /** 'adc-skip': a read cycle lasts max(read, active columns' conversions); 'lockstep': every cycle converts all columns' time slots. */
    columnTiming: z.enum(COLUMN_TIMINGS).default('adc-skip'),
    /** 'sequential': an image's time is the sum of its layers; 'layer': layers pipelined, the slowest layer sets the rate. */
    pipeline: z.enum(PIPELINES).default('sequential'),
  })
  .strict();

export type RramConfig = z.output<typeof RramConfigSchema>;
export type RramConfigInput = z.input<typeof RramConfigSchema>;

/** Validated configuration with defaults. */
export function rramConfig(input: unknown = {}): RramConfig {
  const c = validate(RramConfigSchema, input, 'rram config');
  if (c.signedEncoding === 'offset' && c.columns < 2) throw new ConfigError("rram config: field 'columns': offset encoding needs a reference column and at least one data column");
  if (physicalColumnsPerOutput(c) + referenceColumns(c) > c.columns) {
    throw new ConfigError(
      `rram config: field 'columns': ${c.columns} columns cannot hold one ${c.weightBits}-bit weight (${physicalColumnsPerOutput(c)} columns at ${c.bitsPerCell} bits per cell); use more columns or more bits per cell`,
    );
  }
  return c;
}

/** Weight slices per output: magnitude bits (differential) or all bits (offset) over bits per cell. */
export function slicesPerWeight(c: Pick<RramConfig, 'weightBits' | 'bitsPerCell' | 'signedEncoding'>): number {
  const bits = c.signedEncoding === 'differential' ? c.weightBits - 1 : c.weightBits;
  return Math.ceil(bits / c.bitsPerCell);
}

/** Physical bit lines per output (slices, times two for differential pairs). */
export function physicalColumnsPerOutput(c: Pick<RramConfig, 'weightBits' | 'bitsPerCell' | 'signedEncoding'>): number {
  return slicesPerWeight(c) * (c.signedEncoding === 'differential' ? 2 : 1);
}

/** Reference columns per crossbar (offset encoding: one all-ones column measures the input bit count). */
export function referenceColumns(c: Pick<RramConfig, 'signedEncoding'>): number {
  return c.signedEncoding === 'offset' ? 1 : 0;
}

/** Outputs that fit on one crossbar. */
export function outputsPerCrossbar(c: RramConfig): number {
  return Math.floor((c.columns - referenceColumns(c)) / physicalColumnsPerOutput(c));
}

/** Offset added to signed weight codes in offset encoding (codes become 0…2^b−2). */
export function weightOffset(c: Pick<RramConfig, 'weightBits'>): number {
  return 2 ** (c.weightBits - 1) - 1;
}

/** ADC bits that resolve every bit-line sum of a crossbar exactly. */
export function exactAdcBits(c: Pick<RramConfig, 'rows' | 'bitsPerCell'>): number {
  return Math.ceil(Math.log2(c.rows * (2 ** c.bitsPerCell - 1) + 1));
}

export function adcBitsOf(c: RramConfig): number {
  return c.adcBits === 'exact' ? exactAdcBits(c) : c.adcBits;
}

/** True when the crossbar computes exact integer plane sums (no variation, no faults, no noise, ADC wide enough). */
export function isExactCrossbar(c: RramConfig): boolean {
  return c.conductanceSpread === 0 && c.stuckAtZero === 0 && c.stuckAtOne === 0 && c.adcNoiseLsb === 0 && adcBitsOf(c) >= exactAdcBits(c);
}

/** True when all-zero input bit-planes are skipped (only under termination: the popcounts come from the control). */
export function skipsZeroPlanes(c: RramConfig): boolean {
  return c.skipZeroPlanes && c.termination !== 'none';
}

/** Adaptive threshold θ of a layer (0 unless termination is 'adaptive'). */
export function thresholdOf(c: RramConfig, layer: string): number {
  if (c.termination !== 'adaptive') return 0;
  return c.thresholds[layer] ?? c.defaultThreshold;
}
