/**
 * Types of the systolic-array simulator: the architecture (SCALE-Sim's `.cfg` fields), a layer
 * (SCALE-Sim's topology row, conv or GEMM), and the per-layer result (the quantities of SCALE-Sim's
 * COMPUTE, BANDWIDTH and DETAILED_ACCESS reports, plus our action counts).
 */

export type Dataflow = 'os' | 'ws' | 'is';
export const DATAFLOWS: readonly Dataflow[] = ['os', 'ws', 'is'];

/** DRAM interface: CALC estimates the bandwidth each operand needs (stall-free reads), USER fixes it. */
export type InterfaceBandwidth = 'CALC' | 'USER';

export interface SystolicConfig {
  runName: string;
  /** Processing-element rows (SCALE-Sim ArrayHeight). */
  arrayHeight: number;
  /** Processing-element columns (SCALE-Sim ArrayWidth). */
  arrayWidth: number;
  /** SRAM sizes in kB (1 kB = 1024 one-byte words), each double-buffered (half active, half filling). */
  ifmapSramKb: number;
  filterSramKb: number;
  ofmapSramKb: number;
  /** Base addresses of the three operands (they only shift trace addresses). */
  ifmapOffset: number;
  filterOffset: number;
  ofmapOffset: number;
  dataflow: Dataflow;
  interfaceBandwidth: InterfaceBandwidth;
  /** DRAM words per cycle (SCALE-Sim Bandwidth; used by USER mode). */
  bandwidthWordsPerCycle: number[];
  memoryBanks: number;
}

/** The defaults of SCALE-Sim v2's `configs/scale.cfg` (32×32 output-stationary, 64 kB SRAMs). */
export const DEFAULT_CONFIG: SystolicConfig = {
  runName: 'scale_example_run_32x32_os',
  arrayHeight: 32,
  arrayWidth: 32,
  ifmapSramKb: 64,
  filterSramKb: 64,
  ofmapSramKb: 64,
  ifmapOffset: 0,
  filterOffset: 10000000,
  ofmapOffset: 20000000,
  dataflow: 'os',
  interfaceBandwidth: 'CALC',
  bandwidthWordsPerCycle: [10],
  memoryBanks: 1,
};

/**
 * A packed weight matrix: the array processes K' packed rows instead of the K rows of the K×N filter
 * matrix, stored densely as K'×N values plus `metadataWords` words of format metadata (indices,
 * masks) fetched with them.
 *
 * - Row compaction (no `select`): packed row k' is original row `keptRows[k']` for every filter
 *   (e.g. the rows left after structured pruning and a row permutation).
 * - Multiplexed PEs (`select`): PE (packed row k', filter n) picks its input with a
 *   `muxFanIn`:1 multiplexer from the input bus of its row: it multiplies its weight with original
 *   reduction row `select[k'·N + n]` (−1: an empty slot, weight 0). Formats: tight, budgeted and
 *   column-combined weights. The scratchpads see one ifmap word per packed row and vector (row
 *   `keptRows[k']`, the bus's first word); the other words each bus carries are counted as
 *   `busWordsPerVector` (priced as their own action rows, see energy.ts). Weight-stationary only
 *   in the cycle-level mode.
 */
export interface PackedWeights {
  /** Name of the format that produced it (e.g. 'row-bitmask'). */
  format: string;
  /** Original reduction index k of each packed row (with `select`: the first word of its input bus); length K'. */
  keptRows: Int32Array;
  /** Packed integer values K'×N, row-major, when the weights are known. */
  values: Int32Array | null;
  /** Words of metadata stored with the packed values. */
  metadataWords: number;
  /** Per (packed row, filter) original reduction row, K'×N row-major, −1 for an empty slot. */
  select?: Int32Array | null;
  /** Multiplexer fan-in of a PE (1 without `select`). */
  muxFanIn?: number;
  /** Input words the row buses carry per input vector and column fold beyond the one per packed row the scratchpads see. */
  busWordsPerVector?: number;
  /** Stored bits of a weight slot (5 for a sign + 4-bit subword); default 8. Picks the MAC action. */
  slotBits?: number;
}

/** A packing format the compression study can plug in. */
export interface PackedWeightFormat {
  name: string;
  /** Packs a K×N integer filter matrix (row-major, k major). */
  pack(weights: Int32Array, k: number, n: number): PackedWeights;
}

/** One layer as SCALE-Sim describes it; GEMM layers are mapped onto the same fields as SCALE-Sim does. */
export interface SystolicLayer {
  name: string;
  ifmapHeight: number;
  ifmapWidth: number;
  filterHeight: number;
  filterWidth: number;
  channels: number;
  numFilters: number;
  strideHeight: number;
  strideWidth: number;
  /** Packed weights: the model simulates the compacted GEMM and accounts for the metadata. */
  packed?: PackedWeights;
}

/** GEMM view of a layer: M output pixels × N filters, K = window size (rows kept after packing). */
export interface GemmDims {
  m: number;
  n: number;
  k: number;
  ofmapHeight: number;
  ofmapWidth: number;
}

export interface SimOptions {
  /**
   * Reproduce SCALE-Sim v2's own counting quirks (see docs/systolic.md): the extra R + C SRAM ofmap
   * writes per output-stationary fold and the DRAM ofmap writes that count the padding of partly
   * filled write lines. Default false: count the words actually moved.
   */
  scalesimCompat?: boolean;
}

/** Words moved per operand and the first/last cycle of that traffic (SCALE-Sim's DETAILED_ACCESS quantities). */
export interface OperandTraffic {
  ifmapReads: number;
  filterReads: number;
  ofmapWrites: number;
  ifmapStartCycle: number;
  ifmapStopCycle: number;
  filterStartCycle: number;
  filterStopCycle: number;
  ofmapStartCycle: number;
  ofmapStopCycle: number;
}

/** Per-layer result: SCALE-Sim's report quantities (camelCase) plus action counts for energy. */
export interface LayerResult {
  name: string;
  gemm: GemmDims;
  dataflow: Dataflow;
  folds: number;
  totalCycles: number;
  stallCycles: number;
  overallUtilPct: number;
  mappingEfficiencyPct: number;
  computeUtilPct: number;
  macs: number;
  /** Array-side SRAM traffic (reads and writes the array demands) and first/last cycles of it. */
  sram: OperandTraffic;
  /** DRAM traffic of the scratchpads (fills and drains) and first/last cycles of it. */
  dram: OperandTraffic;
  /** Average words per cycle, as SCALE-Sim's BANDWIDTH report. */
  bandwidth: {
    ifmapSramWordsPerCycle: number;
    filterSramWordsPerCycle: number;
    ofmapSramWordsPerCycle: number;
    ifmapDramWordsPerCycle: number;
    filterDramWordsPerCycle: number;
    ofmapDramWordsPerCycle: number;
  };
  /** Packed-weight metadata words read from filter SRAM and DRAM (0 without packing). */
  metadata: { sramReads: number; dramReads: number };
  /** Multiplexed packed weights: MACs through a `muxFanIn`:1 select, extra bus words read, slot bits (null otherwise). */
  mux: { selects: number; fanIn: number; busReads: number; slotBits: number } | null;
}
