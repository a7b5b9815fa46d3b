/**
 * Configuration of the SparseNN accelerator model (Zhu et al., DATE 2018): N processing elements (PEs)
 * with local weight memories on an on-chip network that broadcasts non-zero inputs. The paper's
 * micro-architecture is not public; every choice below is a named option (docs/sparsenn.md).
 */
import { z } from 'zod';
import { validate } from '../../core/config.js';

/**
 * How the active output rows are spread over the PEs in the feed-forward phase:
 * - 'static': row i stays on PE i mod P (its weights never move); the PE with most active rows sets the pace;
 * - 'balanced': active rows are redistributed evenly; a row computed away from its home PE has its
 *   weights for the non-zero inputs sent over the network (which then competes for bandwidth).
 */
export const SCHEDULES = ['static', 'balanced'] as const;
/**
 * Where the predictor's V (K×r) lives:
 * - 'split': row j of V on PE j mod P; the owner of a broadcast input does its r MACs, the r partial
 *   sums are reduced over a tree and the result t is broadcast back;
 * - 'replicated': every PE holds all of V and computes t itself from the broadcast inputs (no
 *   reduction, P times the V reads and MACs).
 */
export const V_MAPPINGS = ['split', 'replicated'] as const;

export const SparseNNConfigSchema = z
  .object({
    /** Processing elements. */
    pes: z.number().int().min(1).max(4096).default(64),
    /** MAC units per PE (output rows advanced per cycle for one input). */
    macsPerPe: z.number().int().min(1).max(64).default(1),
    /** Words the on-chip network moves per cycle (broadcasts, reductions and weight transfers share it). */
    nocWordsPerCycle: z.number().int().min(1).max(64).default(1),
    /** Input FIFO entries per PE (back-pressure on the broadcast when a PE falls behind). */
    fifoDepth: z.number().int().min(1).max(1024).default(8),
    /** Cycles from injection to arrival at a PE; default ⌈log2 P⌉ (one per tree level), at least 1. */
    nocLatency: z.number().int().min(1).max(64).optional(),
    /**
     * GEMM rows processed as one group with a single barrier at its end (examples of a dense layer,
     * output positions of a convolution): inside a group each PE works through the rows at its own
     * pace from its input buffer, so uneven active rows even out over the group. 1 = one vector at a time.
     */
    rowGroup: z.number().int().min(1).max(4096).default(8),
    schedule: z.enum(SCHEDULES).default('static'),
    vMapping: z.enum(V_MAPPINGS).default('split'),
    /** Clock (MHz), technology node (nm) and supply (V) for time, energy and power. */
    clockMHz: z.number().positive().max(10000).default(800),
    nodeNm: z.number().positive().max(500).default(45),
    vdd: z.number().positive().max(5).default(0.9),
  })
  .strict();

export type SparseNNConfig = z.output<typeof SparseNNConfigSchema>;

export function sparseNNConfig(input: unknown = {}): SparseNNConfig {
  return validate(SparseNNConfigSchema, input, 'sparsenn accelerator config');
}

/** The network latency in cycles for a configuration. */
export function nocLatencyOf(c: SparseNNConfig): number {
  return c.nocLatency ?? Math.max(1, Math.ceil(Math.log2(c.pes)));
}

/** Links a broadcast word traverses: every link of a binary tree over P leaves plus the source link (2P − 1). */
export function broadcastHops(pes: number): number {
  return 2 * pes - 1;
}
