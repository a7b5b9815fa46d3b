/**
 * Cycle-level model of an accelerator of P processing elements with local weight memories on an
 * on-chip network, running a network layer by layer, one GEMM row (an input vector: an example of a
 * dense layer, an output position of a convolution) at a time. Output row i of a layer lives on PE
 * i mod P with its weights. Three architectures on the same resources:
 *
 * - 'dense': every input word is broadcast and every PE multiplies it into all of its rows;
 * - 'input-sparse' (EIE / Cnvlutin style): a zero detector drops zero inputs; only the non-zero
 *   (index, value) pairs are broadcast; every row is computed;
 * - 'sparsenn': zero inputs are skipped as above and a prediction phase computes the low-rank
 *   predictor p = U·(V·x) + b first; only rows predicted active are computed (feed-forward phase).
 *   Prediction: (A) broadcast the non-zero inputs, every PE latches them into its input buffer and the
 *   owner of V's row j (PE j mod P, 'split') does its r MACs; (B) the r partial sums are reduced over
 *   a tree; (C) t = V·x is broadcast; (D) each PE computes U·t for its rows and keeps the mask bits.
 *   Feed-forward (E): each PE multiplies every buffered non-zero input into its active rows.
 *   Layers without a predictor run as 'input-sparse'.
 *
 * Timing: broadcast streams with FIFO back-pressure (`stream.ts`), so load imbalance (the PE with most
 * rows or active rows sets the pace) and network contention (one shared network of `nocWordsPerCycle`
 * words per cycle carrying broadcasts, reductions and, with the 'balanced' schedule, weights) are in
 * the cycle counts. Energy: action counts priced by `priceActions` (rows 'sparsenn/*' in hw/energy.ts).
 */
import { type ActionCount, type EnergyReport, priceActions } from '../energy.js';
import { broadcastHops, nocLatencyOf, type SparseNNConfig } from './config.js';
import { type StreamSpec, type StreamTiming, streamCycles, streamCyclesReference } from './stream.js';

export const ARCHITECTURES = ['dense', 'input-sparse', 'sparsenn'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** A layer as the accelerator sees it: GEMM inputs K, outputs N, predictor rank r (0 = none). */
export interface AcceleratorLayer {
  name: string;
  k: number;
  n: number;
  rank: number;
  /**
   * PE of each output row (length N; default row i on PE i mod P). `profiledRowMap` builds one that
   * evens out the expected active rows per PE.
   */
  rowToPe?: Int32Array;
}

/**
 * Offline ('profiled') row placement: rows sorted by how often they were active on profiling data,
 * each placed on the PE with the least expected active load among those with fewer than ⌈N/P⌉ rows
 * (so weight memories stay equal), ties to the lower PE index. Deterministic.
 */
export function profiledRowMap(activeFrequency: ArrayLike<number>, pes: number): Int32Array {
  const n = activeFrequency.length;
  const cap = Math.ceil(n / pes);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => activeFrequency[b] - activeFrequency[a] || a - b);
  const load = new Float64Array(pes);
  const rows = new Int32Array(pes);
  const map = new Int32Array(n);
  for (const i of order) {
    let best = -1;
    for (let p = 0; p < pes; p++) if (rows[p] < cap && (best < 0 || load[p] < load[best])) best = p;
    map[i] = best;
    load[best] += activeFrequency[i];
    rows[best]++;
  }
  return map;
}

/** Action names priced by hw/energy.ts (component 'sparsenn'). */
export const SPARSENN_ACTIONS = ['mac-16b', 'weight-read-16b', 'buffer-write-16b', 'buffer-read-16b', 'noc-word-hop', 'add-32b', 'compare-16b', 'pe-leakage-cycle'] as const;
type Action = (typeof SPARSENN_ACTIONS)[number];

/** Per-layer totals of one architecture. */
export interface LayerTotals {
  name: string;
  k: number;
  n: number;
  rank: number;
  rows: number;
  cycles: number;
  /** Cycles of the prediction phase (A–D) within `cycles`. */
  predictionCycles: number;
  /** Cycles the broadcast waited on a full FIFO (back-pressure). */
  stallCycles: number;
  /** Words moved over the network, and network utilisation = words / (cycles × width). */
  nocWords: number;
  nocUtilization: number;
  /** Feed-forward MACs and predictor MACs executed. */
  macs: number;
  predictorMacs: number;
  /** Mean over rows of (busiest PE's rows ÷ mean rows per PE) in the feed-forward phase (1 = balanced). */
  loadImbalance: number;
  /** Non-zero inputs and active (computed) outputs, summed over rows. */
  nonZeroInputs: number;
  activeOutputs: number;
  actions: Record<Action, number>;
}

function zeroActions(): Record<Action, number> {
  return Object.fromEntries(SPARSENN_ACTIONS.map((a) => [a, 0])) as Record<Action, number>;
}

/** Timing and actions of one GEMM row. */
interface RowResult {
  cycles: number;
  predictionCycles: number;
  stallCycles: number;
  nocWords: number;
  macs: number;
  predictorMacs: number;
  imbalance: number;
  nz: number;
  active: number;
}

/**
 * Simulates one architecture on a network. Feed it the layers' GEMM rows (`addRows`) and read the
 * totals; `reference` uses the cycle-by-cycle stream twin (slow; tests).
 */
export class SparseNNSimulator {
  readonly config: SparseNNConfig;
  readonly arch: Architecture;
  readonly layers: readonly AcceleratorLayer[];
  private readonly totals: LayerTotals[];
  private readonly stream: (s: StreamSpec) => StreamTiming;
  private readonly latency: number;
  private readonly homeRows: Int32Array[];
  private readonly nzOwner: Int32Array;
  private readonly activePerPe: Int32Array;

  constructor(config: SparseNNConfig, arch: Architecture, layers: readonly AcceleratorLayer[], o: { reference?: boolean } = {}) {
    this.config = config;
    this.arch = arch;
    this.layers = layers;
    this.stream = o.reference ? streamCyclesReference : streamCycles;
    this.latency = nocLatencyOf(config);
    this.totals = layers.map((l) => ({
      name: l.name,
      k: l.k,
      n: l.n,
      rank: arch === 'sparsenn' ? l.rank : 0,
      rows: 0,
      cycles: 0,
      predictionCycles: 0,
      stallCycles: 0,
      nocWords: 0,
      nocUtilization: 0,
      macs: 0,
      predictorMacs: 0,
      loadImbalance: 0,
      nonZeroInputs: 0,
      activeOutputs: 0,
      actions: zeroActions(),
    }));
    const P = config.pes;
    this.homeRows = layers.map((l) => {
      const r = new Int32Array(P);
      if (l.rowToPe && l.rowToPe.length !== l.n) throw new RangeError(`sparsenn: layer ${l.name} has a row map of ${l.rowToPe.length} rows for ${l.n} outputs`);
      for (let i = 0; i < l.n; i++) {
        const pe = l.rowToPe ? l.rowToPe[i] : i % P;
        if (!(pe >= 0 && pe < P)) throw new RangeError(`sparsenn: layer ${l.name} maps row ${i} to PE ${pe} of ${P}`);
        r[pe]++;
      }
      return r;
    });
    this.nzOwner = new Int32Array(Math.max(1, ...layers.map((l) => l.k)));
    this.activePerPe = new Int32Array(P);
  }

  /**
   * Adds `m` GEMM rows of layer `layer`: `inputs` (m×K; zeros are what the zero detector skips) and,
   * for 'sparsenn' on a layer with a predictor, the predicted-active mask (m×N, 1 = compute). Rows are
   * processed in groups of `rowGroup` (the last group of a call may be shorter).
   */
  addRows(layer: number, inputs: ArrayLike<number>, m: number, mask: ArrayLike<number> | null): void {
    const L = this.layers[layer];
    if (inputs.length !== m * L.k) throw new RangeError(`sparsenn: layer ${L.name} expects ${m}×${L.k} inputs, got ${inputs.length}`);
    const usesMask = this.arch === 'sparsenn' && L.rank > 0;
    if (usesMask && (!mask || mask.length !== m * L.n)) throw new RangeError(`sparsenn: layer ${L.name} has a predictor: give its ${m}×${L.n} mask`);
    const T = this.totals[layer];
    const G = this.config.rowGroup;
    for (let r0 = 0; r0 < m; r0 += G) {
      const g = Math.min(G, m - r0);
      const res = this.group(layer, inputs, r0, g, usesMask ? (mask as ArrayLike<number>) : null, T.actions);
      T.rows += g;
      T.cycles += res.cycles;
      T.predictionCycles += res.predictionCycles;
      T.stallCycles += res.stallCycles;
      T.nocWords += res.nocWords;
      T.macs += res.macs;
      T.predictorMacs += res.predictorMacs;
      T.loadImbalance += res.imbalance * g;
      T.nonZeroInputs += res.nz;
      T.activeOutputs += res.active;
    }
  }

  /** Timing and actions of `g` consecutive GEMM rows from row `r0`, processed as one group (one barrier at its end). */
  private group(li: number, x: ArrayLike<number>, r0: number, g: number, mask: ArrayLike<number> | null, act: Record<Action, number>): RowResult {
    const c = this.config;
    const L = this.layers[li];
    const P = c.pes;
    const B = c.nocWordsPerCycle;
    const hops = broadcastHops(P);
    const home = this.homeRows[li];
    const ceil = Math.ceil;
    const lat = this.latency;
    // Inputs on the network, row after row: all K (dense) or the non-zeros; nzRow[b] per row.
    const nzRow = new Int32Array(g);
    let nz = 0;
    for (let b = 0; b < g; b++) {
      const xo = (r0 + b) * L.k;
      for (let j = 0; j < L.k; j++) {
        if (this.arch === 'dense' || x[xo + j] !== 0) {
          this.nzOwner[nz++] = j % P;
          nzRow[b]++;
        }
      }
    }
    if (this.arch !== 'dense') act['compare-16b'] += g * L.k; // zero detection
    act['noc-word-hop'] += nz * hops;
    act['buffer-write-16b'] += nz * P; // every PE latches every broadcast input
    act['buffer-write-16b'] += g * L.n; // outputs written back
    const meanRows = L.n / P;
    if (!mask) {
      // Streamed: each PE multiplies each arriving input into all its rows.
      let maxRows = 0;
      for (let p = 0; p < P; p++) maxRows = Math.max(maxRows, home[p]);
      const work = Array.from(home, (h) => ceil(h / c.macsPerPe));
      const t = this.stream({ words: nz, pes: P, kind: 'all', work, width: B, depth: c.fifoDepth, latency: lat });
      const macs = nz * L.n;
      act['mac-16b'] += macs;
      act['weight-read-16b'] += macs;
      act['buffer-read-16b'] += nz * P;
      act['pe-leakage-cycle'] += P * t.cycles;
      return {
        cycles: t.cycles,
        predictionCycles: 0,
        stallCycles: t.stallCycles,
        nocWords: nz,
        macs,
        predictorMacs: 0,
        imbalance: meanRows > 0 ? maxRows / meanRows : 1,
        nz,
        active: g * L.n,
      };
    }
    const r = L.rank;
    let predictionCycles: number;
    let stall: number;
    let nocWords = nz;
    let predictorMacs: number;
    if (c.vMapping === 'split') {
      // (A) broadcast + V partial sums on the owner of each input's row of V.
      const a = this.stream({ words: nz, pes: P, kind: 'owner', work: [ceil(r / c.macsPerPe)], owner: this.nzOwner, width: B, depth: c.fifoDepth, latency: lat });
      // (B) tree reduction of the g·r partial sums, pipelined; (C) broadcast of t.
      const reduce = ceil((g * r) / B) + lat;
      const bcast = ceil((g * r) / B) + lat;
      predictionCycles = Math.max(a.cycles, ceil(nz / B) + lat) + reduce + bcast;
      stall = a.stallCycles;
      predictorMacs = nz * r;
      act['mac-16b'] += nz * r;
      act['weight-read-16b'] += nz * r;
      act['add-32b'] += g * r * (P - 1);
      act['noc-word-hop'] += g * r * (P - 1) + g * r * hops;
      act['buffer-write-16b'] += g * r * P;
      nocWords += 2 * g * r;
    } else {
      const a = this.stream({ words: nz, pes: P, kind: 'all', work: new Array<number>(P).fill(ceil(r / c.macsPerPe)), width: B, depth: c.fifoDepth, latency: lat });
      predictionCycles = a.cycles;
      stall = a.stallCycles;
      predictorMacs = nz * r * P;
      act['mac-16b'] += nz * r * P;
      act['weight-read-16b'] += nz * r * P;
      act['buffer-read-16b'] += nz * P;
    }
    // (D) U·t for the home rows, then the mask compare.
    let maxHome = 0;
    for (let p = 0; p < P; p++) maxHome = Math.max(maxHome, home[p]);
    predictionCycles += g * maxHome * ceil(r / c.macsPerPe);
    predictorMacs += g * L.n * r;
    act['mac-16b'] += g * L.n * r;
    act['weight-read-16b'] += g * L.n * r;
    act['buffer-read-16b'] += g * r * P;
    act['compare-16b'] += g * L.n;
    // (E) feed-forward on the active rows, inputs from the local buffers; each PE works through the
    // group's rows at its own pace.
    const busy = this.activePerPe; // cycles per PE over the group
    busy.fill(0);
    let active = 0;
    let macs = 0;
    let movedWords = 0;
    let bufferReads = 0;
    const perRow = new Int32Array(P);
    const map = L.rowToPe;
    for (let b = 0; b < g; b++) {
      perRow.fill(0);
      let act_b = 0;
      const mo = (r0 + b) * L.n;
      for (let i = 0; i < L.n; i++) {
        if (mask[mo + i]) {
          perRow[map ? map[i] : i % P]++;
          act_b++;
        }
      }
      active += act_b;
      macs += nzRow[b] * act_b;
      if (c.schedule === 'balanced' && act_b > 0) {
        const target = ceil(act_b / P);
        for (let p = 0; p < P; p++) {
          movedWords += Math.max(0, perRow[p] - target) * nzRow[b];
          const mine = Math.min(target, Math.max(0, act_b - p * target));
          busy[p] += nzRow[b] * ceil(mine / c.macsPerPe);
          if (mine > 0) bufferReads += nzRow[b];
        }
      } else {
        for (let p = 0; p < P; p++) {
          busy[p] += nzRow[b] * ceil(perRow[p] / c.macsPerPe);
          if (perRow[p] > 0) bufferReads += nzRow[b];
        }
      }
    }
    let maxBusy = 0;
    let sumBusy = 0;
    for (let p = 0; p < P; p++) {
      maxBusy = Math.max(maxBusy, busy[p]);
      sumBusy += busy[p];
    }
    const ff = Math.max(maxBusy, movedWords > 0 ? ceil(movedWords / B) + lat : 0);
    nocWords += movedWords;
    act['noc-word-hop'] += movedWords * 2 * Math.max(1, ceil(Math.log2(P)));
    act['mac-16b'] += macs;
    act['weight-read-16b'] += macs;
    act['buffer-read-16b'] += bufferReads;
    const cycles = predictionCycles + ff;
    act['pe-leakage-cycle'] += P * cycles;
    return { cycles, predictionCycles, stallCycles: stall, nocWords, macs, predictorMacs, imbalance: sumBusy > 0 ? maxBusy / (sumBusy / P) : 1, nz, active };
  }

  /** Per-layer totals (load imbalance averaged over rows; network utilisation over the layer's cycles). */
  layerTotals(): LayerTotals[] {
    return this.totals.map((t) => ({
      ...t,
      actions: { ...t.actions },
      loadImbalance: t.rows > 0 ? t.loadImbalance / t.rows : 0,
      nocUtilization: t.cycles > 0 ? t.nocWords / (t.cycles * this.config.nocWordsPerCycle) : 0,
    }));
  }

  /** Action counts of every layer, for `priceActions`. */
  actionCounts(): ActionCount[] {
    return this.totals.flatMap((t) => SPARSENN_ACTIONS.filter((a) => t.actions[a] > 0).map((a) => ({ layer: t.name, component: 'sparsenn', action: a, count: t.actions[a] })));
  }

  /** Energy of everything added so far at the configured node and supply. */
  energy(): EnergyReport {
    return priceActions(this.actionCounts(), { nodeNm: this.config.nodeNm, vdd: this.config.vdd });
  }
}

/** Throughput, energy and power of one architecture over the examples simulated. */
export interface ArchitectureSummary {
  arch: Architecture;
  examples: number;
  cycles: number;
  cyclesPerExample: number;
  /** Examples per second at the clock. */
  throughputPerS: number;
  energyPj: number;
  energyPerExamplePj: number;
  /** Average power while running (W) = energy / time. */
  powerW: number;
  macs: number;
  predictorMacs: number;
  byComponent: { component: string; action: string; energyPj: number; source: string }[];
}

export function summarizeArchitecture(sim: SparseNNSimulator, examples: number): ArchitectureSummary {
  const t = sim.layerTotals();
  const cycles = t.reduce((s, l) => s + l.cycles, 0);
  const e = sim.energy();
  const seconds = cycles / (sim.config.clockMHz * 1e6);
  const byAction = new Map<string, { energyPj: number; source: string }>();
  for (const r of e.rows) {
    const cur = byAction.get(r.action) ?? { energyPj: 0, source: r.source };
    cur.energyPj += r.energyPj;
    byAction.set(r.action, cur);
  }
  return {
    arch: sim.arch,
    examples,
    cycles,
    cyclesPerExample: examples > 0 ? cycles / examples : 0,
    throughputPerS: seconds > 0 ? examples / seconds : 0,
    energyPj: e.totalPj,
    energyPerExamplePj: examples > 0 ? e.totalPj / examples : 0,
    powerW: seconds > 0 ? (e.totalPj * 1e-12) / seconds : 0,
    macs: t.reduce((s, l) => s + l.macs, 0),
    predictorMacs: t.reduce((s, l) => s + l.predictorMacs, 0),
    byComponent: [...byAction].map(([action, v]) => ({ component: 'sparsenn', action, energyPj: v.energyPj, source: v.source })),
  };
}
