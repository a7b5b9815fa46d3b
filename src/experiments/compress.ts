/**
 * Compression study (tight packing vs column combining): layers of a network, or one matrix, packed
 * by every method on the same array; result `kind: 'compress'`, rendered by
 * src/report/sections/compress.ts.
 *
 * Sources of weights: `synthetic` (seeded Laplace weights, 8-bit, magnitude-pruned; a network's
 * layer shapes — AlexNet, VGG-16 — with the per-layer densities Han et al. (2015) report, or one
 * rows×cols matrix) or a checkpoint (its conv/dense layers, 8-bit per-layer symmetric codes,
 * magnitude-pruned per layer). Layers are packed on worker threads (core/executor.ts), largest first.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { combineWithGroups } from '../compress/column-combine.js';
import { type Packings, packMethods, type PackMethodsResult } from '../compress/compare.js';
import type { PackingMethodSpec } from '../compress/masks.js';
import { SHIFT_SELECTS, type ShiftSelect, shiftSelectBits } from '../compress/rates.js';
import { DEFAULT_SUBWORD, splitSubwords } from '../compress/subword.js';
import { fromKxN, type IntMatrix, intMatrix, magnitudeOrder, quantizeSymmetric, syntheticWeights } from '../compress/matrix.js';
import { searchOrders } from '../compress/permute.js';
import { occupancyGrid, packedTile, packTight } from '../compress/tight.js';
import { validate } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { type JobSpec, runJobs } from '../core/executor.js';
import { toCsv, writeFileAtomic, writeRunJson } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { runEnergy } from '../hw/systolic/energy.js';
import { simulateLayerAnalytical } from '../hw/systolic/analytical.js';
import { gemmLayer } from '../hw/systolic/operands.js';
import { DEFAULT_CONFIG, type LayerResult, type SystolicConfig } from '../hw/systolic/types.js';
import type { WorkloadOp } from '../nn/workload.js';
import { columnCombinedTiles, packedArrayLayers, tightTiles } from './compress-array.js';

/** A layer's filter matrix shape (rows = output channels, cols = C·R·S or inputs) and kept-weight density. */
export interface LayerShape {
  name: string;
  rows: number;
  cols: number;
  /** Kept fraction after pruning (Han et al. 2015, Tables 4 and 5). */
  density: number;
  /** Input vectors per image on the array: output pixels of a convolution, 1 for a dense layer. */
  vectors: number;
}

const conv = (name: string, out: number, cin: number, k: number, density: number, side: number): LayerShape => ({
  name,
  rows: out,
  cols: cin * k * k,
  density,
  vectors: side * side,
});
const fc = (name: string, out: number, inp: number, density: number): LayerShape => ({ name, rows: out, cols: inp, density, vectors: 1 });

/** Layer shapes with Han et al.'s pruned densities ("Learning both weights and connections", NeurIPS 2015). */
export const NETWORK_SHAPES: Record<'alexnet' | 'vgg16', LayerShape[]> = {
  alexnet: [
    conv('conv1', 96, 3, 11, 0.84, 55),
    conv('conv2', 256, 48, 5, 0.38, 27),
    conv('conv3', 384, 256, 3, 0.35, 13),
    conv('conv4', 384, 192, 3, 0.37, 13),
    conv('conv5', 256, 192, 3, 0.37, 13),
    fc('fc6', 4096, 9216, 0.09),
    fc('fc7', 4096, 4096, 0.09),
    fc('fc8', 1000, 4096, 0.25),
  ],
  vgg16: [
    conv('conv1_1', 64, 3, 3, 0.58, 224),
    conv('conv1_2', 64, 64, 3, 0.22, 224),
    conv('conv2_1', 128, 64, 3, 0.34, 112),
    conv('conv2_2', 128, 128, 3, 0.36, 112),
    conv('conv3_1', 256, 128, 3, 0.53, 56),
    conv('conv3_2', 256, 256, 3, 0.24, 56),
    conv('conv3_3', 256, 256, 3, 0.42, 56),
    conv('conv4_1', 512, 256, 3, 0.32, 28),
    conv('conv4_2', 512, 512, 3, 0.27, 28),
    conv('conv4_3', 512, 512, 3, 0.34, 28),
    conv('conv5_1', 512, 512, 3, 0.35, 14),
    conv('conv5_2', 512, 512, 3, 0.29, 14),
    conv('conv5_3', 512, 512, 3, 0.36, 14),
    fc('fc6', 4096, 25088, 0.01),
    fc('fc7', 4096, 4096, 0.02),
    fc('fc8', 1000, 4096, 0.09),
  ],
};
export const NETWORKS = ['alexnet', 'vgg16'] as const;

export function parseShape(flag: string, v: string): { rows: number; cols: number } {
  const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new ConfigError(`${flag}: '${v}' is not a shape: use <rows>x<cols>, e.g. 128x128`);
  return { rows: Number(m[1]), cols: Number(m[2]) };
}

const searchSchema = z
  .object({
    method: z.enum(['anneal', 'greedy', 'identity']).default('anneal'),
    movesPerTemperature: z.number().positive().default(2),
    cooling: z.number().gt(0).lt(1).default(0.9),
    initialAcceptance: z.number().gt(0).lt(1).default(0.3),
    finalTemperatureRatio: z.number().gt(0).lt(1).default(1e-3),
    patience: z.number().int().min(1).default(20),
    columnMoveProb: z.number().min(0).max(1).default(0.7),
    maxMoves: z.number().int().min(0).default(1_000_000),
    greedyCandidates: z.number().int().min(1).default(256),
  })
  .strict();

export const compressConfigSchema = z
  .object({
    /** 'alexnet' | 'vgg16' (synthetic weights at Han et al.'s densities), 'matrix' (one synthetic rows×cols matrix) or 'checkpoint'. */
    source: z.enum(['alexnet', 'vgg16', 'matrix', 'checkpoint']).default('matrix'),
    matrix: z
      .object({ rows: z.number().int().min(1), cols: z.number().int().min(1) })
      .strict()
      .default({ rows: 512, cols: 4608 }),
    checkpoint: z.string().nullable().default(null),
    /** Weight sparsity after magnitude pruning; null keeps each network layer's own density. */
    sparsity: z.number().min(0).lt(1).nullable().default(0.9),
    /** Array rows (reduction) × columns (output channels per tile), SCALE-Sim's weight-stationary mapping. */
    array: z
      .object({ rows: z.number().int().min(1), cols: z.number().int().min(1) })
      .strict()
      .default({ rows: 32, cols: 32 }),
    /** Multiplexer fan-in: the tight format's group size and column combining's α. */
    groupSize: z.number().int().min(1).max(1024).default(16),
    /** Column combining's γ. */
    maxOverlap: z.number().min(0).max(1).default(0.05),
    subwordFraction: z.number().min(0).lt(1).default(0.25),
    subwordRounding: z.enum(['nearest', 'truncate']).default('nearest'),
    /** Subword slots: shift select stored in the index, or implied by the select (compress/rates.ts). */
    subwordShift: z.enum(SHIFT_SELECTS).default('stored'),
    search: searchSchema.default({}),
    /** Budgeted format: slots per row and group (k), its search and objective. */
    budgetSlots: z.number().int().min(1).max(1024).default(1),
    budgetSearch: z
      .object({
        /**
         * Default 'greedy': the rate is fixed by (g, k), and the annealing only lowers the pruned
         * share of Σ|w| (−4.5 % relative on a 512×4608, 27 %-dense layer at g 16, k 4, in 189 s against
         * the greedy start's 1.5 s; docs/compress.md, "Speed"); 'anneal' runs it.
         */
        method: z.enum(['anneal', 'greedy', 'identity']).default('greedy'),
        objective: z.enum(['l1', 'l2', 'count']).default('l1'),
        slotWeight: z.number().min(0).default(0),
      })
      .strict()
      .default({}),
    /** Input vectors of the one synthetic matrix on the array (VGG-16's conv5 output: 14×14). */
    vectors: z.number().int().min(1).default(196),
    /** Run every packing on the systolic simulator's analytical mode (throughput, energy). */
    simulate: z.boolean().default(true),
    /** Only these layers (by name); empty = all. */
    layers: z.array(z.string()).default([]),
    workers: z.number().int().min(1).max(64).default(2),
    seed: z.number().int().min(0).default(1),
  })
  .strict();
export type CompressConfig = z.output<typeof compressConfigSchema>;

export function parseCompressConfig(v: unknown): CompressConfig {
  return validate(compressConfigSchema, v, 'compress config');
}

/** One method's packed layer on the array (analytical mode, weight stationary). */
export interface ArrayStats {
  cycles: number;
  macs: number;
  energyPj: number;
  /** Energy of the packing's own rows: index words, multiplexers + bus registers, extra bus reads. */
  overheadPj: { indexPj: number; muxPj: number; busPj: number };
}

export const ARRAY_METHODS = ['columnCombining', 'columnCombiningFull', 'permutation', 'permutationSubword', 'budgeted', 'budgetedSubword'] as const;
export type ArrayMethod = (typeof ARRAY_METHODS)[number];

export interface LayerArray {
  vectors: number;
  dense: ArrayStats;
  methods: Record<ArrayMethod, ArrayStats>;
}

export interface LayerPackResult extends Omit<PackMethodsResult, 'permutation' | 'permutationSubword' | 'packings'> {
  name: string;
  array: LayerArray | null;
  permutation: Omit<PackMethodsResult['permutation'], 'search'> & { search: Omit<PackMethodsResult['permutation']['search'], 'bestByTemperature'> };
  permutationSubword: Omit<PackMethodsResult['permutationSubword'], 'search'> & { search: Omit<PackMethodsResult['permutationSubword']['search'], 'bestByTemperature'> };
  seconds: number;
}

export const METHODS = ['columnCombining', 'columnCombiningFull', 'tight', 'permutation', 'permutationSubword', 'budgeted', 'budgetedSubword'] as const;
export type MethodName = (typeof METHODS)[number];

/** Display names of the methods (console tables and the report). */
export const METHOD_LABELS: Record<MethodName, string> = {
  columnCombining: 'column combining',
  columnCombiningFull: 'column combining, full groups (γ = 1)',
  tight: 'tight, identity order',
  permutation: 'tight + permutation',
  permutationSubword: 'tight + permutation + subwords',
  budgeted: 'budgeted + permutation',
  budgetedSubword: 'budgeted + permutation, subwords',
};

export interface MethodTotal {
  rate: number;
  rateNoIndex: number;
  denseBits: number;
  packedBits: number;
  slots: number;
  /** Index, block-width and order bits over all packed bits. */
  indexShare: number;
  /** Weights changed by the method (pruned by packing or subword pruning) and Σ|Δw| / Σ|w|, Σ Δw² / Σ w² over the network. */
  changed: number;
  l1Share: number;
  l2Share: number;
}

export interface ArrayTotal extends Omit<ArrayStats, 'overheadPj'> {
  overheadPj: number;
  /** Dense cycles / cycles and dense energy / energy on the same array. */
  throughput: number;
  energyEfficiency: number;
}

export interface PackPicture {
  layer: string;
  cell: number;
  before: { rows: number; cols: number; density: number[] };
  after: { rows: number; cols: number; density: number[] };
}

export interface CompressResult {
  kind: 'compress';
  config: CompressConfig;
  layers: LayerPackResult[];
  /** Whole-network rates: Σ dense bits / Σ packed bits per method. */
  total: Record<MethodName, MethodTotal>;
  /** Whole network on the array (null without `simulate`): dense and each method. */
  array: { dense: ArrayStats; methods: Record<ArrayMethod, ArrayTotal> } | null;
  /** The pruned rate bound Σ weights / Σ nonzeros. */
  idealRate: number;
  exact: boolean;
  picture: PackPicture | null;
  /** Rates of the paper (Tight Compression, TCAD 2022) for comparison. */
  paper: { stateOfTheArt: number; unstructured: number; subword: number; throughput: number; energyEfficiency: number };
  seconds: number;
}

export const PAPER = { stateOfTheArt: 5.88, unstructured: 10.28, subword: 14.13, throughput: 2.75, energyEfficiency: 1.86 };

/** Magnitude pruning of integer codes to `sparsity` (ties by position). */
function pruneCodes(m: IntMatrix, sparsity: number): IntMatrix {
  const order = magnitudeOrder(m.values);
  const out = intMatrix(m.rows, m.cols, m.values.slice());
  const drop = Math.round(sparsity * m.values.length);
  for (let i = 0; i < drop; i++) out.values[order[i]] = 0;
  return out;
}

interface LayerJobArgs {
  name: string;
  config: CompressConfig;
  /** Synthetic layer (shape + sparsity + seed) or given codes. */
  shape: { rows: number; cols: number; sparsity: number; seed: number } | null;
  /** Given codes (F layout, rows × cols) with their shape. */
  codes: Int32Array | null;
  dims: [number, number] | null;
  /** Input vectors per image on the array. */
  vectors: number;
}

function methodsConfig(c: CompressConfig, seed: number) {
  const { method, greedyCandidates, ...anneal } = c.search;
  return {
    tileRows: c.array.cols,
    groupSize: c.groupSize,
    seed,
    columnCombine: { maxOverlap: c.maxOverlap },
    search: { method, greedyCandidates, ...anneal },
    subwordFraction: c.subwordFraction,
    subwordRounding: c.subwordRounding,
    subwordSpec: { ...DEFAULT_SUBWORD, shiftSelect: c.subwordShift },
    budgetSlots: c.budgetSlots,
    budgetSearch: { ...c.budgetSearch, ...anneal, method: c.budgetSearch.method, greedyCandidates, initialAcceptance: undefined },
  };
}

/** The array the packings run on: the study's R×C, weight stationary, SCALE-Sim's default scratchpads. */
export function arrayConfig(c: CompressConfig): SystolicConfig {
  return { ...DEFAULT_CONFIG, runName: 'compress', arrayHeight: c.array.rows, arrayWidth: c.array.cols, dataflow: 'ws' };
}

function arrayStats(results: LayerResult[], cfg: SystolicConfig): ArrayStats {
  const e = runEnergy(results, cfg);
  const sum = (f: (a: string) => boolean) => e.rows.filter((r) => f(r.action)).reduce((acc, r) => acc + r.energyPj, 0);
  return {
    cycles: results.reduce((acc, r) => acc + r.totalCycles, 0),
    macs: results.reduce((acc, r) => acc + r.macs, 0),
    energyPj: e.totalPj,
    overheadPj: { indexPj: sum((a) => a.startsWith('index-')), muxPj: sum((a) => a === 'mux2-8b' || a === 'bus-register-write-8b'), busPj: sum((a) => a === 'bus-read-8b') },
  };
}

/** The dense layer and every packing of it on the array (analytical mode). */
export function simulatePackings(name: string, vectors: number, rows: number, cols: number, pk: Packings, c: CompressConfig): LayerArray {
  const cfg = arrayConfig(c);
  const base = gemmLayer(name, vectors, rows, cols);
  const spw = pk.permutationSubword.cols / cols;
  const sub = { perWeight: spw, subwordBits: 4 };
  const word = (fanIn: number) => ({ name: 'word', fanIn, slotBits: 8 });
  const subFmt = (fanIn: number) => ({ name: 'subword', fanIn, slotBits: 5, extraIndexBits: shiftSelectBits(spw, c.subwordShift) });
  const layersOf: Record<ArrayMethod, () => ReturnType<typeof packedArrayLayers>> = {
    columnCombining: () => packedArrayLayers(base, columnCombinedTiles(pk.columnCombining, c.array.cols), word(pk.columnCombining.maxColumns)),
    columnCombiningFull: () => packedArrayLayers(base, columnCombinedTiles(pk.columnCombiningFull, c.array.cols), word(pk.columnCombiningFull.maxColumns)),
    permutation: () => packedArrayLayers(base, tightTiles(pk.permutation), word(pk.permutation.groupSize)),
    permutationSubword: () => packedArrayLayers(base, tightTiles(pk.permutationSubword, sub), subFmt(pk.permutationSubword.groupSize)),
    budgeted: () => packedArrayLayers(base, tightTiles(pk.budgeted), word(pk.budgeted.groupSize)),
    budgetedSubword: () => packedArrayLayers(base, tightTiles(pk.budgetedSubword, sub), subFmt(pk.budgetedSubword.groupSize)),
  };
  const methods = {} as Record<ArrayMethod, ArrayStats>;
  for (const k of ARRAY_METHODS)
    methods[k] = arrayStats(
      layersOf[k]().map((l) => simulateLayerAnalytical(l, cfg)),
      cfg,
    );
  return { vectors, dense: arrayStats([simulateLayerAnalytical(base, cfg)], cfg), methods };
}

/** A packed layer of a network, as a pruning run leaves it: its 8-bit codes and how it was packed. */
export interface PackedNetworkLayer {
  name: string;
  /** Input vectors per image (output pixels of a convolution, 1 for a dense layer). */
  vectors: number;
  /** F: rows = output channels, cols = reduction indices (8-bit codes within the packing's mask). */
  codes: IntMatrix;
  spec: PackingMethodSpec;
  rowOrder: Int32Array;
  colOrder: Int32Array;
  /** Column combining's combined columns (required for that method). */
  ccGroups: Int32Array[] | null;
  /** Pack the codes' 4-bit sign-magnitude subwords (budgeted/tight). */
  subwords: boolean;
  /** Subwords: the shift select's bits (default 'stored'). */
  shiftSelect?: ShiftSelect;
}

export interface NetworkOnArray {
  array: { rows: number; cols: number };
  dense: ArrayStats;
  packed: ArrayStats;
  /** Dense cycles / packed cycles and dense energy / packed energy, whole network, per image. */
  throughput: number;
  energyEfficiency: number;
  layers: { name: string; vectors: number; denseCycles: number; cycles: number; throughput: number; energyEfficiency: number }[];
}

/**
 * A pruned network's packed layers against its dense layers on the same R×C weight-stationary array
 * (analytical mode, SCALE-Sim's default scratchpads; energy from the action counts with the index,
 * multiplexer and bus rows). Each layer is packed with its own setting and orders.
 */
export function packedNetworkOnArray(layers: readonly PackedNetworkLayer[], array: { rows: number; cols: number }): NetworkOnArray {
  const cfg: SystolicConfig = { ...DEFAULT_CONFIG, runName: 'compress', arrayHeight: array.rows, arrayWidth: array.cols, dataflow: 'ws' };
  const dense: LayerResult[] = [];
  const packed: LayerResult[] = [];
  const per: NetworkOnArray['layers'] = [];
  for (const l of layers) {
    const base = gemmLayer(l.name, l.vectors, l.codes.rows, l.codes.cols);
    const s = l.spec;
    let arrayLayers: ReturnType<typeof packedArrayLayers>;
    if (s.method === 'dense') arrayLayers = [base];
    else if (s.method === 'columnCombining') {
      if (!l.ccGroups) throw new ConfigError(`layer ${l.name}: column combining needs its combined columns (ccGroups)`);
      arrayLayers = packedArrayLayers(base, columnCombinedTiles(combineWithGroups(l.codes, l.ccGroups, s.maxColumns), array.cols), {
        name: 'word',
        fanIn: s.maxColumns,
        slotBits: 8,
      });
    } else {
      const layout = { tileRows: array.cols, groupSize: s.groupSize };
      if (l.subwords) {
        const sm = splitSubwords(l.codes);
        const pk = packTight(sm, layout, { rowOrder: l.rowOrder, colOrder: l.colOrder });
        arrayLayers = packedArrayLayers(base, tightTiles(pk, { perWeight: sm.cols / l.codes.cols, subwordBits: 4 }), {
          name: 'subword',
          fanIn: s.groupSize,
          slotBits: 5,
          extraIndexBits: shiftSelectBits(sm.cols / l.codes.cols, l.shiftSelect),
        });
      } else {
        const pk = packTight(l.codes, layout, { rowOrder: l.rowOrder, colOrder: l.colOrder });
        arrayLayers = packedArrayLayers(base, tightTiles(pk), { name: 'word', fanIn: s.groupSize, slotBits: 8 });
      }
    }
    const d = simulateLayerAnalytical(base, cfg);
    const p = arrayLayers.map((x) => simulateLayerAnalytical(x, cfg));
    dense.push(d);
    packed.push(...p);
    const ds = arrayStats([d], cfg);
    const ps = arrayStats(p, cfg);
    per.push({ name: l.name, vectors: l.vectors, denseCycles: ds.cycles, cycles: ps.cycles, throughput: ds.cycles / ps.cycles, energyEfficiency: ds.energyPj / ps.energyPj });
  }
  const d = arrayStats(dense, cfg);
  const p = arrayStats(packed, cfg);
  return { array: { ...array }, dense: d, packed: p, throughput: d.cycles / p.cycles, energyEfficiency: d.energyPj / p.energyPj, layers: per };
}

function layerMatrix(a: LayerJobArgs): IntMatrix {
  if (a.shape) return syntheticWeights({ rows: a.shape.rows, cols: a.shape.cols, sparsity: a.shape.sparsity, seed: a.shape.seed });
  if (!a.codes || !a.dims) throw new ConfigError(`layer ${a.name}: no weights`);
  return intMatrix(a.dims[0], a.dims[1], a.codes);
}

/** Packs one layer by every method (the executor job, with its matrix built in the worker; also called in-process). */
export function packLayerJob(a: LayerJobArgs & { matrix?: IntMatrix }): LayerPackResult {
  const t0 = performance.now();
  const m = a.matrix ?? layerMatrix(a);
  const { packings, ...r } = packMethods(m, methodsConfig(a.config, a.config.seed));
  const { bestByTemperature: _a, ...ps } = r.permutation.search;
  const { bestByTemperature: _b, ...ss } = r.permutationSubword.search;
  return {
    ...r,
    name: a.name,
    array: a.config.simulate ? simulatePackings(a.name, a.vectors, m.rows, m.cols, packings, a.config) : null,
    permutation: { ...r.permutation, search: ps },
    permutationSubword: { ...r.permutationSubword, search: ss },
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The first tile of a matrix before and after permutation packing, as occupancy grids. */
export function packPicture(name: string, m: IntMatrix, c: CompressConfig): PackPicture {
  const layout = { tileRows: c.array.cols, groupSize: c.groupSize };
  const found = searchOrders(m, layout, { ...methodsConfig(c, c.seed).search, seed: c.seed });
  const pk = packTight(m, layout, found);
  const rows = Math.min(m.rows, layout.tileRows);
  const before = intMatrix(rows, m.cols, m.values.slice(0, rows * m.cols));
  const after = packedTile(pk, 0);
  const cell = Math.max(1, Math.ceil(Math.max(m.cols / 96, rows / 32)));
  return { layer: name, cell, before: occupancyGrid(before, cell), after: occupancyGrid(intMatrix(rows, after.cols, after.values.slice(0, rows * after.cols)), cell) };
}

function totals(layers: LayerPackResult[]): Record<MethodName, MethodTotal> {
  const out = {} as Record<MethodName, MethodTotal>;
  const sum = (f: (l: LayerPackResult) => number) => layers.reduce((s, l) => s + f(l), 0);
  const l1 = sum((l) => l.weightL1);
  const l2 = sum((l) => l.weightL2);
  for (const k of METHODS) {
    const dense = sum((l) => l[k].denseBits);
    const packed = sum((l) => l[k].bits.total);
    const values = sum((l) => l[k].bits.values);
    out[k] = {
      rate: dense / packed,
      rateNoIndex: dense / values,
      denseBits: dense,
      packedBits: packed,
      slots: sum((l) => l[k].slots),
      indexShare: (packed - values) / packed,
      changed: sum((l) => l[k].change.changed),
      l1Share: l1 > 0 ? sum((l) => l[k].change.l1Share * l.weightL1) / l1 : 0,
      l2Share: l2 > 0 ? sum((l) => l[k].change.l2Share * l.weightL2) / l2 : 0,
    };
  }
  return out;
}

function arrayTotals(layers: LayerPackResult[]): CompressResult['array'] {
  if (layers.some((l) => !l.array)) return null;
  const arr = layers.map((l) => l.array as LayerArray);
  const add = (xs: ArrayStats[]): ArrayStats => ({
    cycles: xs.reduce((s, x) => s + x.cycles, 0),
    macs: xs.reduce((s, x) => s + x.macs, 0),
    energyPj: xs.reduce((s, x) => s + x.energyPj, 0),
    overheadPj: {
      indexPj: xs.reduce((s, x) => s + x.overheadPj.indexPj, 0),
      muxPj: xs.reduce((s, x) => s + x.overheadPj.muxPj, 0),
      busPj: xs.reduce((s, x) => s + x.overheadPj.busPj, 0),
    },
  });
  const dense = add(arr.map((a) => a.dense));
  const methods = {} as Record<ArrayMethod, ArrayTotal>;
  for (const k of ARRAY_METHODS) {
    const t = add(arr.map((a) => a.methods[k]));
    methods[k] = {
      cycles: t.cycles,
      macs: t.macs,
      energyPj: t.energyPj,
      overheadPj: t.overheadPj.indexPj + t.overheadPj.muxPj + t.overheadPj.busPj,
      throughput: dense.cycles / t.cycles,
      energyEfficiency: dense.energyPj / t.energyPj,
    };
  }
  return { dense, methods };
}

export interface CompressRunOptions {
  outDir?: string;
  progress?: Progress;
  /** Integer K×N weight codes per layer (a checkpoint's conv/dense layers, see the CLI); required for source 'checkpoint'. */
  checkpointLayers?: { name: string; k: number; n: number; codes: Int32Array; vectors?: number }[];
  /** Run in this thread instead of on worker threads (tests, the tour). */
  inProcess?: boolean;
}

/** The layers to pack: (name, synthetic shape or codes). */
function layerJobs(c: CompressConfig, o: CompressRunOptions): LayerJobArgs[] {
  let jobs: LayerJobArgs[];
  if (c.source === 'checkpoint') {
    if (!o.checkpointLayers?.length) throw new ConfigError("compress: source checkpoint needs the checkpoint's layers (use --checkpoint <dir>)");
    jobs = o.checkpointLayers.map((l) => {
      const f = fromKxN(l.codes, l.k, l.n);
      const pruned = c.sparsity === null ? f : pruneCodes(f, c.sparsity);
      return { name: l.name, config: c, shape: null, codes: pruned.values, dims: [f.rows, f.cols], vectors: l.vectors ?? 1 };
    });
  } else if (c.source === 'matrix') {
    jobs = [
      { name: `${c.matrix.rows}x${c.matrix.cols}`, config: c, shape: { ...c.matrix, sparsity: c.sparsity ?? 0.9, seed: c.seed }, codes: null, dims: null, vectors: c.vectors },
    ];
  } else {
    jobs = NETWORK_SHAPES[c.source].map((l, i) => ({
      name: l.name,
      config: c,
      shape: { rows: l.rows, cols: l.cols, sparsity: c.sparsity ?? 1 - l.density, seed: c.seed + 1000 * (i + 1) },
      codes: null,
      dims: null,
      vectors: l.vectors,
    }));
  }
  if (c.layers.length) {
    const known = new Set(jobs.map((j) => j.name));
    for (const n of c.layers) if (!known.has(n)) throw new ConfigError(`compress: layer '${n}' is not one of ${[...known].join(', ')}`);
    jobs = jobs.filter((j) => c.layers.includes(j.name));
  }
  return jobs;
}

export async function runCompress(config: unknown, o: CompressRunOptions = {}): Promise<CompressResult> {
  const c = parseCompressConfig(config);
  const t0 = performance.now();
  const progress = o.progress ?? silentProgress;
  const jobs = layerJobs(c, o);
  const size = (j: LayerJobArgs) => (j.shape ? j.shape.rows * j.shape.cols : (j.codes?.length ?? 0));
  const order = [...jobs].sort((a, b) => size(b) - size(a));
  progress.start('packing layers', jobs.length);
  const byName = new Map<string, LayerPackResult>();
  if (o.inProcess || c.workers === 1 || jobs.length === 1) {
    for (const j of order) {
      byName.set(j.name, packLayerJob(j));
      progress.tick(1, j.name);
    }
  } else {
    const specs: JobSpec[] = order.map((j) => ({ id: j.name, module: new URL(import.meta.url), fn: 'packLayerJob', args: j }));
    const outcomes = await runJobs<LayerPackResult>(specs, { workers: c.workers, backend: 'none' });
    for (const out of outcomes) {
      if (!out.ok) throw out.error;
      byName.set(out.id, out.value);
      progress.tick(1, out.id);
    }
  }
  progress.stop();
  const layers = jobs.map((j) => byName.get(j.name) as LayerPackResult);
  const total = totals(layers);
  const weights = layers.reduce((s, l) => s + l.rows * l.cols, 0);
  const nnz = layers.reduce((s, l) => s + l.nonzeros, 0);
  // The picture: the smallest layer spanning more than one tile (else the smallest).
  const bySize = [...jobs].sort((a, b) => size(a) - size(b));
  const rowsOf = (j: LayerJobArgs) => j.shape?.rows ?? j.dims?.[0] ?? 0;
  const pictureLayer = bySize.find((j) => rowsOf(j) > c.array.cols) ?? bySize[0];
  const result: CompressResult = {
    kind: 'compress',
    config: c,
    layers,
    total,
    array: arrayTotals(layers),
    idealRate: weights / Math.max(1, nnz),
    exact: layers.every((l) => l.exact),
    picture: packPicture(pictureLayer.name, layerMatrix(pictureLayer), c),
    paper: PAPER,
    seconds: (performance.now() - t0) / 1000,
  };
  if (o.outDir) writeCompressRun(o.outDir, result);
  return result;
}

export function writeCompressRun(outDir: string, r: CompressResult): void {
  writeRunJson(outDir, r.config, r);
  const rows = r.layers.flatMap((l) =>
    METHODS.map((k) => [
      l.name,
      l.rows,
      l.cols,
      l.sparsity,
      k,
      l[k].slots,
      l[k].bits.values,
      l[k].bits.index,
      l[k].bits.blocks,
      l[k].bits.permutation,
      l[k].bits.total,
      l[k].denseBits,
      l[k].rate,
      l[k].rateNoIndex,
      l[k].exact,
    ]),
  );
  writeFileAtomic(
    join(outDir, 'layers.csv'),
    toCsv(
      ['layer', 'rows', 'cols', 'sparsity', 'method', 'slots', 'valueBits', 'indexBits', 'blockBits', 'permutationBits', 'packedBits', 'denseBits', 'rate', 'rateNoIndex', 'exact'],
      rows,
    ),
  );
}

/** The tour's quick step: AlexNet's conv layers (synthetic weights at Han et al.'s densities) on a 32×32 array, greedy orders (tight and budgeted). */
export function quickRun(o: { seed?: number; outDir?: string; progress?: Progress } = {}): Promise<CompressResult> {
  return runCompress(
    { source: 'alexnet', sparsity: null, layers: ['conv2', 'conv3', 'conv4', 'conv5'], search: { method: 'greedy' }, budgetSearch: { method: 'greedy' }, seed: o.seed ?? 1 },
    { outDir: o.outDir, progress: o.progress, inProcess: true },
  );
}

/** Conv/dense layers (`weightedLayers` of a model) as 8-bit per-layer symmetric K×N codes (input of source 'checkpoint'). */
export function workloadLayerCodes(ops: readonly WorkloadOp[], bits = 8): { name: string; k: number; n: number; codes: Int32Array; vectors: number }[] {
  const out: { name: string; k: number; n: number; codes: Int32Array; vectors: number }[] = [];
  for (const op of ops) {
    if (op.kind === 'conv2d') {
      const k = op.kernel[0] * op.kernel[1] * op.inShape[2];
      out.push({ name: op.name, k, n: op.outShape[2], codes: quantizeSymmetric(op.weights, bits).codes, vectors: op.outShape[0] * op.outShape[1] });
    } else if (op.kind === 'dense') {
      out.push({ name: op.name, k: op.inFeatures, n: op.outFeatures, codes: quantizeSymmetric(op.weights, bits).codes, vectors: 1 });
    }
  }
  return out;
}
