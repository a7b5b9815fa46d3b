/**
 * Network inference on CIM macros: the CIM mapping of a quantized workload (the workload runtime in
 * nn/runtime does quantization, im2col, dequantization and evaluation).
 *
 * 1. Tiling: every conv/dense layer (K = kh·kw·inC rows) goes onto macros of `rows` × `columns`:
 *    row tile t and column tile u go to their own macro instance (own mismatch draws); the partial
 *    sums of the row tiles are added digitally after each macro's ADC (reconstructed MAC = bin centre).
 * 2. Bulk evaluation: for each tile, ONE product of the input block against the tile's per-line
 *    effective weights [A_BL | A_BLB] (mismatch folded in, see macro.ts) gives every column's bit-line
 *    cell-times; the macro's transfer (G⁻¹, floor, comparator, ADC search, folds) is then applied
 *    elementwise by `MacroChip.convert`. This equals the cell-level model (tests cross-check it).
 * 3. Per-layer boost calibration from the exact partial-sum histograms of each macro column.
 */
import { ConfigError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import {
  BoundNetwork,
  exactIntGemm,
  type IntGemmEngine,
  type IntGemmLayer,
  type LayerTile,
  type MatMulEngine,
  type MatMulOperand,
  plainMatMul,
  type QuantizedWorkload,
  type QuantLayer,
  type QuantLayerCapture,
  subMatrix,
  tiledEngine,
} from '../../nn/runtime/index.js';
import { type MacFoldingMode, type MacroConfig, scaleNoise } from './config.js';
import { addConversion, cellPulses, emptyActivity, type LayerActivity } from './cost.js';
import { CELLS_PER_WEIGHT, cellLines, codeToMac, designMacro, inputTimes, MacroChip, SLOT_SCALE } from './macro.js';

export type InferenceMode =
  | { kind: 'ideal' }
  | {
      kind: 'macro';
      config: MacroConfig;
      seed: number;
      noiseScale?: number;
      /** Per-layer boost factor β (layer opIndex → β), e.g. from `calibrateBoost`; layers not listed use `config.boost`. */
      layerBoost?: Readonly<Record<number, number>>;
    };

/** One macro instance holding a tile, with its row groups' [A_BL | A_BLB] (and PWM edge) operands. */
export interface MacroTile extends LayerTile {
  chip: MacroChip;
  groups: { g0: number; g1: number; lines: MatMulOperand; edges: MatMulOperand | null }[];
}

/** Conversion statistics of a CIM engine. */
export interface CimStats {
  conversions: number;
  clipped: number;
  macros: number;
}

/**
 * The CIM macro as the runtime's integer GEMM: each layer tile on its own macro instance. Macro
 * instances draw their seeds in layer, row-tile, column-tile order; `tiles` records them per layer,
 * `activity` the per-layer activity the cost model prices (cost.ts).
 */
export function cimEngine(
  mode: Extract<InferenceMode, { kind: 'macro' }>,
  mm: MatMulEngine,
  stats: CimStats,
  tiles: Map<number, MacroTile[]>,
  activity: Map<number, LayerActivity>,
): IntGemmEngine {
  const rng = new Rng(mode.seed);
  const configFor = (L: QuantLayer): MacroConfig => {
    const beta = mode.layerBoost?.[L.opIndex];
    return scaleNoise(beta === undefined ? mode.config : { ...mode.config, boost: beta }, mode.noiseScale ?? 1);
  };
  // The tile size is the same for every layer (β and noise change neither rows nor columns).
  return tiledEngine(mode.config.rows, mode.config.columns, (L, t, w) => {
    const cfg = configFor(L);
    const chip = new MacroChip(cfg, rng.nextU32());
    stats.macros++;
    const kk = t.r1 - t.r0;
    const cc = t.c1 - t.c0;
    const G = chip.design.groups;
    const per = Math.ceil(kk / G);
    const groups: MacroTile['groups'] = [];
    for (let g = 0; g < G; g++) {
      const g0 = g * per;
      const g1 = Math.min(kk, g0 + per);
      if (g1 <= g0) continue;
      const lw = chip.lineWeights(w.subarray(g0 * cc, g1 * cc), g1 - g0, cc, g0, 0);
      const both = new Float32Array((g1 - g0) * cc * 2);
      for (let i = 0; i < g1 - g0; i++) {
        both.set(lw.bl.subarray(i * cc, (i + 1) * cc), i * 2 * cc);
        both.set(lw.blb.subarray(i * cc, (i + 1) * cc), i * 2 * cc + cc);
      }
      let edges: MatMulOperand | null = null;
      if (lw.edgeBl && lw.edgeBlb) {
        const e = new Float32Array((g1 - g0) * cc * 2);
        for (let i = 0; i < g1 - g0; i++) {
          e.set(lw.edgeBl.subarray(i * cc, (i + 1) * cc), i * 2 * cc);
          e.set(lw.edgeBlb.subarray(i * cc, (i + 1) * cc), i * 2 * cc + cc);
        }
        edges = mm.prepare(e, g1 - g0, 2 * cc);
      }
      groups.push({ g0, g1, lines: mm.prepare(both, g1 - g0, 2 * cc), edges });
    }
    const tile: MacroTile = { ...t, chip, groups };
    const list = tiles.get(L.opIndex) ?? [];
    list.push(tile);
    tiles.set(L.opIndex, list);
    const d = chip.design;
    const half = 2 ** (chip.config.adcBits - 1);
    const la = activity.get(L.opIndex) ?? { opIndex: L.opIndex, name: L.name, config: cfg, design: d, macs: 0, gemmRows: 0, macros: 0, activity: emptyActivity() };
    activity.set(L.opIndex, la);
    la.macros++;
    const act = la.activity;
    // Word-line cell pulses per unit input of each row of the tile (summed over its columns).
    const rowCells = new Float64Array(kk);
    for (let i = 0; i < kk; i++) for (let j = 0; j < cc; j++) rowCells[i] += cellPulses(w[i * cc + j], 1, cfg);
    const pwm = cfg.inputEncoding === 'pwm';
    return {
      run(xt, m) {
        if (t.r0 === 0 && t.c0 === 0) la.gemmRows += m;
        la.macs += m * kk * cc;
        for (let p = 0; p < m * kk; p++) {
          const x = xt[p];
          if (x > 0) act.wlCellPulses += rowCells[p % kk] * (pwm ? 1 : x);
        }
        const gBL: Float32Array[] = [];
        const gBLB: Float32Array[] = [];
        const spans: (Float32Array | null)[] = [];
        for (const g of groups) {
          const gk = g.g1 - g.g0;
          const xs = G === 1 ? xt : subMatrix(xt, kk, 0, m, g.g0, g.g1);
          const pre = inputTimes(xs, m, gk, chip.config);
          const y = mm.run(xs, m, gk, g.lines);
          if (g.edges) {
            const e = mm.run(pre.on, m, gk, g.edges);
            for (let i = 0; i < y.length; i++) y[i] += e[i];
          }
          const bl = new Float32Array(m * cc);
          const blb = new Float32Array(m * cc);
          for (let r = 0; r < m; r++) {
            bl.set(y.subarray(r * 2 * cc, r * 2 * cc + cc), r * cc);
            blb.set(y.subarray(r * 2 * cc + cc, (r + 1) * 2 * cc), r * cc);
          }
          for (let i = 0; i < y.length; i++) act.macCellTime += y[i];
          gBL.push(bl);
          gBLB.push(blb);
          spans.push(pre.span);
        }
        const codes = new Int32Array(m * cc);
        chip.convert(gBL, gBLB, spans, m, cc, 0, codes);
        const out = new Float32Array(m * cc);
        for (let r = 0; r < m; r++) {
          let slowest = 0;
          for (let j = 0; j < cc; j++) {
            const code = codes[r * cc + j];
            if (d.groups === 1 && (code >= half - 1 || code <= -half)) stats.clipped++;
            out[r * cc + j] = codeToMac(code, d);
            // A ramp that ends on code c took c + 1 steps upward or −c steps downward (folds aside).
            const steps = addConversion(act, cfg, d, Math.min(half, code >= 0 ? code + 1 : -code));
            if (steps > slowest) slowest = steps;
          }
          act.cycles++;
          act.adcSteps += slowest;
        }
        stats.conversions += m * cc;
        return out;
      },
      dispose() {
        for (const g of groups) {
          mm.release(g.lines);
          if (g.edges) mm.release(g.edges);
        }
      },
    };
  });
}

/** A quantized workload mapped onto macros (or onto exact integer arithmetic), ready to evaluate batches. */
export class MappedNetwork {
  readonly net: QuantizedWorkload;
  readonly mode: InferenceMode;
  private readonly bound: BoundNetwork;
  private readonly stats: CimStats = { conversions: 0, clipped: 0, macros: 0 };
  private readonly macroTiles = new Map<number, MacroTile[]>();
  private readonly layerActivity = new Map<number, LayerActivity>();
  private readonly layerGemms = new Map<number, IntGemmLayer>();

  constructor(net: QuantizedWorkload, mode: InferenceMode, mm: MatMulEngine = plainMatMul) {
    this.net = net;
    this.mode = mode;
    const engine = mode.kind === 'ideal' ? exactIntGemm(mm) : cimEngine(mode, mm, this.stats, this.macroTiles, this.layerActivity);
    // Keep each layer's prepared product so `layerMacs` can run one layer alone.
    this.bound = new BoundNetwork(net, {
      prepare: (L) => {
        const g = engine.prepare(L);
        this.layerGemms.set(L.opIndex, g);
        return g;
      },
    });
  }

  /** Conversions and clipped codes so far, and macro instances used. */
  get conversions(): number {
    return this.stats.conversions;
  }
  get clipped(): number {
    return this.stats.clipped;
  }
  get macros(): number {
    return this.stats.macros;
  }

  dispose(): void {
    this.bound.dispose();
  }

  /** Per-layer activity so far (macro mode only), for `networkCost`. */
  activity(): LayerActivity[] {
    return [...this.layerActivity.values()];
  }

  /** The macro tiles of a layer (macro mode only): row/column ranges and the macro instance. */
  tiles(L: QuantLayer): readonly (LayerTile & { chip: MacroChip })[] {
    return this.macroTiles.get(L.opIndex) ?? [];
  }

  /** Integer-domain MAC results (M×N) of one layer for an input code block q (M×K). */
  layerMacs(L: QuantLayer, q: Float32Array, m: number): Float32Array {
    const g = this.layerGemms.get(L.opIndex);
    if (!g) throw new ConfigError(`cim: layer '${L.name}' is not part of this network`);
    return g.run(q, m);
  }

  /** Logits (B × classes) for raw inputs x (B examples). `capture` sees each layer's codes and products. */
  forward(x: Float32Array, batch: number, capture?: (c: QuantLayerCapture) => void): Float32Array {
    return this.bound.forward(x, batch, { capture });
  }
}

// ---------------------------------------------------------------------------------------------
// Per-layer calibration of the boost factor β (boosted-clipping)

/** Histogram of the exact per-macro-column partial sums (one row tile, one column) of a layer. */
export interface PartialSumHistogram {
  opIndex: number;
  name: string;
  /** Rows per macro (row-tile height) the partial sums were formed with. */
  rows: number;
  /** counts[v + offset] = number of partial sums equal to v. */
  offset: number;
  counts: Float64Array;
  total: number;
  /** Standard deviation and largest magnitude of the partial sums (MAC units). */
  sigma: number;
  maxAbs: number;
  /**
   * Per MAC-folding mode: histogram of the larger of the two bit-line cell-times (T0 units, ideal
   * cells) of each conversion, max over the row groups ('range'). counts[t] = conversions with ⌈max⌉ = t.
   */
  lines: Partial<Record<MacFoldingMode, { counts: Float64Array; total: number; max: number }>>;
}

/** Cell-time scale of a weight on BL and on BLB under a folding mode (ideal cells). */
function lineScales(w: number, mode: MacFoldingMode): [number, number] {
  const l = cellLines(w, mode);
  let bl = 0;
  let blb = 0;
  for (let k = 0; k < CELLS_PER_WEIGHT; k++) {
    if (l[k] === 1) bl += SLOT_SCALE[k];
    else if (l[k] === 2) blb += SLOT_SCALE[k];
  }
  return [bl, blb];
}

/**
 * Exact partial sums Σ_{i∈tile} w·x of every macro column (each row tile of `rows` rows, each output
 * channel) over calibration inputs (raw 0…1 — use TRAINING images, never test images), per layer.
 * The activations entering each layer come from the exact (ideal 4-bit) network.
 */
export function partialSumHistograms(
  net: QuantizedWorkload,
  calib: Float32Array,
  calibCount: number,
  rows: number,
  gemm: MatMulEngine = plainMatMul,
  batchSize = 64,
  lineModes: readonly { mode: MacFoldingMode; groups: number }[] = [],
): PartialSumHistogram[] {
  const offset = 16 * 15 * rows;
  const hists = new Map<number, PartialSumHistogram & { sum: number; sum2: number }>();
  const handles = new Map<number, MatMulOperand[]>();
  /** Per layer, per mode, per row tile: per group [rows, handle of [S_BL | S_BLB]]. */
  const lineHandles = new Map<number, { mode: MacFoldingMode; tiles: { g0: number; g1: number; h: MatMulOperand }[][] }[]>();
  for (const L of net.layers) {
    const lines: PartialSumHistogram['lines'] = {};
    for (const { mode } of lineModes) lines[mode] = { counts: new Float64Array(offset + 2), total: 0, max: 0 };
    hists.set(L.opIndex, { opIndex: L.opIndex, name: L.name, rows, offset, counts: new Float64Array(2 * offset + 1), total: 0, sigma: 0, maxAbs: 0, lines, sum: 0, sum2: 0 });
    const hs: MatMulOperand[] = [];
    for (let r0 = 0; r0 < L.k; r0 += rows) {
      const r1 = Math.min(L.k, r0 + rows);
      hs.push(gemm.prepare(Float32Array.from(L.wq.subarray(r0 * L.n, r1 * L.n)), r1 - r0, L.n));
    }
    handles.set(L.opIndex, hs);
    lineHandles.set(
      L.opIndex,
      lineModes.map(({ mode, groups }) => ({
        mode,
        tiles: hs.map((_, t) => {
          const r0 = t * rows;
          const kk = Math.min(L.k, r0 + rows) - r0;
          const G = Math.min(groups, rows);
          const per = Math.ceil(kk / G);
          const out: { g0: number; g1: number; h: MatMulOperand }[] = [];
          for (let g0 = 0; g0 < kk; g0 += per) {
            const g1 = Math.min(kk, g0 + per);
            const both = new Float32Array((g1 - g0) * 2 * L.n);
            for (let i = g0; i < g1; i++)
              for (let j = 0; j < L.n; j++) {
                const [bl, blb] = lineScales(L.wq[(r0 + i) * L.n + j], mode);
                both[(i - g0) * 2 * L.n + j] = bl;
                both[(i - g0) * 2 * L.n + L.n + j] = blb;
              }
            out.push({ g0, g1, h: gemm.prepare(both, g1 - g0, 2 * L.n) });
          }
          return out;
        }),
      })),
    );
  }
  const ideal = new MappedNetwork(net, { kind: 'ideal' }, gemm);
  const per = calib.length / calibCount;
  const tap = ({ layer: L, codes: q, m }: QuantLayerCapture): void => {
    const h = hists.get(L.opIndex);
    const hs = handles.get(L.opIndex);
    if (!h || !hs) return;
    hs.forEach((handle, t) => {
      const r0 = t * rows;
      const kk = Math.min(L.k, r0 + rows) - r0;
      const xs = subMatrix(q, L.k, 0, m, r0, r0 + kk);
      const y = gemm.run(xs, m, kk, handle);
      for (let i = 0; i < y.length; i++) {
        const v = Math.round(y[i]);
        h.counts[Math.max(0, Math.min(2 * offset, v + offset))]++;
        h.sum += v;
        h.sum2 += v * v;
        const a = Math.abs(v);
        if (a > h.maxAbs) h.maxAbs = a;
      }
      h.total += y.length;
      for (const lm of lineHandles.get(L.opIndex) ?? []) {
        const lh = h.lines[lm.mode];
        if (!lh) continue;
        const worst = new Float32Array(m * L.n);
        for (const g of lm.tiles[t]) {
          const gk = g.g1 - g.g0;
          const xg = subMatrix(q, L.k, 0, m, r0 + g.g0, r0 + g.g1);
          const z = gemm.run(xg, m, gk, g.h);
          for (let r = 0; r < m; r++)
            for (let j = 0; j < L.n; j++) {
              const v = Math.max(z[r * 2 * L.n + j], z[r * 2 * L.n + L.n + j]);
              if (v > worst[r * L.n + j]) worst[r * L.n + j] = v;
            }
        }
        for (let i = 0; i < worst.length; i++) {
          const v = Math.ceil(worst[i] - 1e-3);
          lh.counts[Math.min(offset + 1, Math.max(0, v))]++;
          if (v > lh.max) lh.max = v;
        }
        lh.total += worst.length;
      }
    });
  };
  for (let s = 0; s < calibCount; s += batchSize) {
    const b = Math.min(batchSize, calibCount - s);
    ideal.forward(calib.subarray(s * per, (s + b) * per), b, tap);
  }
  ideal.dispose();
  for (const hs of handles.values()) for (const h of hs) gemm.release(h);
  for (const lms of lineHandles.values()) for (const lm of lms) for (const t of lm.tiles) for (const g of t) gemm.release(g.h);
  return net.layers.map((L) => {
    const { sum, sum2, ...h } = hists.get(L.opIndex) as PartialSumHistogram & { sum: number; sum2: number };
    const mean = h.total > 0 ? sum / h.total : 0;
    return { ...h, sigma: h.total > 0 ? Math.sqrt(Math.max(0, sum2 / h.total - mean * mean)) : 0 };
  });
}

/**
 * Clip rate of a layer under `config`: the fraction of partial sums whose ideal ADC code falls
 * outside the code range, plus (when the histograms hold the line cell-times of `config.macFolding`)
 * the fraction of conversions whose larger bit line needs more cell-time than the design budget
 * `designCellTime` (the worst-case MAC swing ÷ β plus the ADC's reference overshoot): beyond it the
 * line runs into the floor. The sum is an upper bound of the union of both events.
 */
export function clipRateOf(h: PartialSumHistogram, config: MacroConfig): number {
  if (config.rows !== h.rows) throw new ConfigError(`cim: partial sums were formed with ${h.rows} rows per macro, the config has ${config.rows}`);
  const d = designMacro(config);
  let clipped = 0;
  for (let i = 0; i < h.counts.length; i++) {
    if (h.counts[i] === 0) continue;
    const code = Math.floor((i - h.offset) / d.step);
    if (code > d.codeMax || code < d.codeMin) clipped += h.counts[i];
  }
  let rate = h.total > 0 ? clipped / h.total : 0;
  const lh = h.lines[config.macFolding];
  if (lh && lh.total > 0) {
    let over = 0;
    for (let t = Math.floor(d.designCellTime) + 1; t < lh.counts.length; t++) over += lh.counts[t];
    rate += over / lh.total;
  }
  return rate;
}

export interface LayerBoost {
  opIndex: number;
  name: string;
  /** Chosen (effective) boost factor β: the ADC step is stepFull/β. */
  boost: number;
  /** ADC step and clipping level (largest |partial sum| inside the code range) in MAC units. */
  step: number;
  fullScaleMac: number;
  /** Clip rate of the calibration partial sums at the chosen β. */
  clipRate: number;
  /** σ and max |·| of the calibration partial sums (MAC units), and how many there were. */
  sigma: number;
  maxAbs: number;
  partialSums: number;
  /** Largest bit-line cell-time seen (ideal cells, T0 units) and the design budget at β; null without line histograms. */
  lineMax: number | null;
  lineBudget: number;
}

export interface BoostCalibrationOptions {
  /** Largest clip rate allowed per layer (fraction of partial sums whose code saturates). */
  clipRateTarget: number;
  /** Largest β tried (power of two). */
  maxBoost: number;
}

/**
 * Per-layer boost calibration: for each layer, the largest power-of-two β ≤ maxBoost whose clip rate
 * on the calibration partial sums stays ≤ clipRateTarget (β = 1 if even that clips more). With
 * boosted-clipping off, β is 1 everywhere. Betas that give the same ADC step (step floors at 1 MAC)
 * collapse to the smallest such β.
 */
export function calibrateBoost(hists: PartialSumHistogram[], config: MacroConfig, o: BoostCalibrationOptions): LayerBoost[] {
  if (o.maxBoost < 1 || o.maxBoost & (o.maxBoost - 1)) throw new ConfigError(`cim: field 'maxBoost' must be a power of two (1, 2, 4, …), got ${o.maxBoost}`);
  return hists.map((h) => {
    let chosen = 1;
    let rate = clipRateOf(h, { ...config, boost: 1 });
    if (config.boostedClipping !== 'off') {
      for (let b = o.maxBoost; b >= 1; b /= 2) {
        const r = clipRateOf(h, { ...config, boost: b });
        if (r <= o.clipRateTarget || b === 1) {
          chosen = b;
          rate = r;
          break;
        }
      }
    }
    const d = designMacro({ ...config, boost: chosen });
    const lh = h.lines[config.macFolding];
    return {
      opIndex: h.opIndex,
      name: h.name,
      boost: d.boost,
      step: d.step,
      fullScaleMac: (d.codeMax + 1) * d.step - 1,
      clipRate: rate,
      sigma: h.sigma,
      maxAbs: h.maxAbs,
      partialSums: h.total,
      lineMax: lh ? lh.max : null,
      lineBudget: d.designCellTime,
    };
  });
}

/** The layer → β map of a calibration, for `InferenceMode.layerBoost`. */
export function layerBoostMap(boosts: LayerBoost[]): Record<number, number> {
  return Object.fromEntries(boosts.map((b) => [b.opIndex, b.boost]));
}
