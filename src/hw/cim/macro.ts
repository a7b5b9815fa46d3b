/**
 * Behavioral model of the SRAM CIM macro: one column = N weight rows × 4 cells (mapping M-A: bit k of
 * a weight sits in a cell whose word line is on for 2^k·x·T0) plus, per line, reference cells for the
 * embedded ADC. Two implementations:
 *
 * - `MacroChip.convert` — the fast path. A column's MAC phase is linear in the inputs once the chip's
 *   frozen mismatch is folded into per-line effective weights (`lineWeights`): τ_BL = x·A_BL,
 *   τ_BLB = x·A_BLB (a GEMM). Everything after that is elementwise: G⁻¹ to voltages (LineModel),
 *   bit-line floor, comparator offset/noise, the ADC search, MAC-folding steps.
 * - `MacroChip.referenceColumn` — the cell-level reference twin: every cell is a pulse with its own
 *   duration and mismatch; each line's ODE C·dV/dt = −I_u·f(V)·Σcells(1+ε)(1−α·n(t)) is integrated
 *   with RK4 between pulse edges, and the ADC's reference pulses are integrated the same way.
 *
 * The two agree exactly (up to float rounding) except for ground IR drop, which the fast path models
 * mean-field (n(t) replaced by its average over the pulse window): see docs/cim.md and the tests.
 */
import { ConfigError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { type MatMulEngine, matmulOnce, plainMatMul } from '../../nn/runtime/index.js';
import { LineModel, NormalTable } from './analog.js';
import { effectiveBoost, type MacroConfig } from './config.js';

/** Cells per weight: 4 bit cells + 1 bias cell (two's-complement encodings only). */
export const CELLS_PER_WEIGHT = 5;
const NONE = 0;
const BL = 1;
const BLB = 2;
/** Cell-time scale (multiple of x·T0) of each cell slot. */
export const SLOT_SCALE = [1, 2, 4, 8, 1] as const;
/** Largest input code (4-b unsigned inputs) and input/weight bits of the macro. */
export const INPUT_CODE_MAX = 15;
export const INPUT_BITS = 4;
export const WEIGHT_BITS = 4;

/** Derived design quantities of a macro configuration (all JSON-serializable). */
export interface MacroDesign {
  /** Differential cell-time per unit of signed MAC (2 for two's complement ±1 cells, 1 for sign-routed). */
  diffPerMac: number;
  weightMin: number;
  weightMax: number;
  /** Largest |MAC| the rows can produce. */
  maxAbsMac: number;
  /** Lowest and highest ADC code (e.g. −256…255 for 9 bits). */
  codeMin: number;
  codeMax: number;
  /** ADC LSB in MAC units without boost, and with it. */
  stepFull: number;
  step: number;
  /** Effective boost factor stepFull/step. */
  boost: number;
  /** One ADC reference unit in cell-time (T0 units). */
  refUnit: number;
  /** Row groups (MAC-folding 'range'), else 1. */
  groups: number;
  /** Fold step in ADC codes ('range' only). */
  foldCodes: number;
  maxFoldsPerGroup: number;
  /** Worst-case per-line cell-time the headroom is designed for. */
  designCellTime: number;
  /** Analog LSB: bit-line drop per unit cell-time (V). */
  vu: number;
  /** Unit cell current (A) and the effective unit WL time (s) that give vu. */
  unitCurrent: number;
  t0Effective: number;
  /** Bit-line differential per ADC LSB at V_PRE (V): the signal margin per LSB. */
  lsbVolts: number;
}

export function weightRange(mode: MacroConfig['macFolding']): [number, number] {
  return mode === 'sign-magnitude' ? [-7, 7] : [-8, 7];
}

export function designMacro(c: MacroConfig): MacroDesign {
  const n = c.rows;
  const [weightMin, weightMax] = weightRange(c.macFolding);
  const twos = c.macFolding === 'off' || c.macFolding === 'range';
  const diffPerMac = twos ? 2 : 1;
  const maxAbsMac = Math.max(-weightMin, weightMax) * INPUT_CODE_MAX * n;
  const half = 2 ** (c.adcBits - 1);
  const stepFull = 2 ** Math.max(0, Math.ceil(Math.log2(maxAbsMac / half)));
  const step = Math.max(1, stepFull / effectiveBoost(c));
  const boost = stepFull / step;
  const refUnit = step * diffPerMac;
  const groups = c.macFolding === 'range' ? Math.min(c.foldGroups, n) : 1;
  const foldCodes = half / 2;
  // Worst-case per-line MAC cell-time: two's complement puts up to 15·x (+x bias) on one line;
  // sign routing puts at most |w|max·x there.
  const lineWorst = (twos ? 16 : Math.max(-weightMin, weightMax)) * INPUT_CODE_MAX * Math.ceil(n / groups);
  const overshoot = (c.adc === 'binary-search' ? half / 2 : 1) * refUnit;
  const foldSwing = groups > 1 ? 2 * foldCodes * refUnit : 0;
  const designCellTime = lineWorst / boost + overshoot + foldSwing;
  const ni = c.nonIdeal;
  const swing = ni.bitLineFloor || ni.lambda > 0 || ni.vKnee > 0 ? LineModel.swingIntegral(c.vPre, c.vFloor, ni.lambda, ni.vKnee) : c.vPre - c.vFloor;
  const vu = (swing * c.headroomUse) / designCellTime;
  // vu = I_u·T0_eff / C. 'gain' stretches T0 by β; 'wl-boost' raises I_u by β.
  const t0Effective = c.boostedClipping === 'gain' ? c.t0 * boost : c.t0;
  const unitCurrent = (vu * c.cBitLine) / t0Effective;
  // 'range' folding extends the code range by the digital fold counter.
  const maxFoldsPerGroup = 16;
  const extra = groups > 1 ? foldCodes * maxFoldsPerGroup * groups : 0;
  return {
    diffPerMac,
    weightMin,
    weightMax,
    maxAbsMac,
    codeMin: -half - extra,
    codeMax: half - 1 + extra,
    stepFull,
    step,
    boost,
    refUnit,
    groups,
    foldCodes,
    maxFoldsPerGroup,
    designCellTime,
    vu,
    unitCurrent,
    t0Effective,
    lsbVolts: vu * refUnit,
  };
}

/** Line (NONE/BL/BLB) of each of the 5 cell slots of weight w under the folding mode. */
export function cellLines(w: number, mode: MacroConfig['macFolding'], out: Uint8Array = new Uint8Array(CELLS_PER_WEIGHT)): Uint8Array {
  if (mode === 'off' || mode === 'range') {
    const u = w & 15;
    // Bits 0..2: stored 1 → +1 → BLB. Bit 3 (weight −8) is stored inverted. Bias cell on BL.
    for (let k = 0; k < 3; k++) out[k] = (u >> k) & 1 ? BLB : BL;
    out[3] = (u >> 3) & 1 ? BL : BLB;
    out[4] = BL;
  } else {
    const m = Math.abs(w);
    const line = w > 0 ? BLB : BL;
    for (let k = 0; k < 4; k++) out[k] = (m >> k) & 1 ? line : NONE;
    out[4] = NONE;
  }
  return out;
}

/** Per-line effective weights of a tile: τ_line[b,c] = Σ_i x[b,i]·scale[i,c] (+ edge terms for x > 0). */
export interface LineWeights {
  rows: number;
  cols: number;
  bl: Float32Array;
  blb: Float32Array;
  /** PWM edge error per conducting cell (x > 0), or null when zero. */
  edgeBl: Float32Array | null;
  edgeBlb: Float32Array | null;
}

/** The ideal integer MAC of one column. */
export function exactMac(x: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * w[i];
  return s;
}

/** Ideal ADC code of an exact MAC: floor(MAC/step) clipped to the code range. */
export function idealCode(mac: number, d: MacroDesign): number {
  return Math.min(d.codeMax, Math.max(d.codeMin, Math.floor(mac / d.step)));
}

/** MAC estimate reconstructed from a (possibly folded) code: the centre of the code's bin. */
export function codeToMac(code: number, d: MacroDesign): number {
  return code * d.step + (d.step - 1) / 2;
}

export interface ReferenceColumnResult {
  code: number;
  /** Bit-line voltages after the MAC phase (before the conversion), last group. */
  vBL: number;
  vBLB: number;
  folds: number;
}

/**
 * One macro instance ("chip"): the config, its design, and the frozen random draws (cell and
 * reference mismatch, capacitance mismatch, comparator offsets) from `seed`.
 */
export class MacroChip {
  readonly config: MacroConfig;
  readonly design: MacroDesign;
  readonly line: LineModel;
  /** Per cell (row, col, slot) relative current error. */
  readonly cellEps: Float32Array;
  /** Per column: reference gain error of BL and BLB, capacitance error of BLB, comparator offset (V). */
  readonly refEpsBL: Float32Array;
  readonly refEpsBLB: Float32Array;
  readonly capEpsBLB: Float32Array;
  readonly offset: Float32Array;
  private readonly noise: NormalTable;
  private readonly noiseOn: boolean;

  constructor(config: MacroConfig, seed: number) {
    this.config = config;
    this.design = designMacro(config);
    const ni = config.nonIdeal;
    this.line = new LineModel({ vPre: config.vPre, vu: this.design.vu, lambda: ni.lambda, vKnee: ni.vKnee });
    const rng = new Rng(seed);
    const { rows, columns } = config;
    const sigmaI = ni.cellMismatch * (config.boostedClipping === 'wl-boost' ? config.wlBoostMismatchFactor : 1);
    this.cellEps = new Float32Array(rows * columns * CELLS_PER_WEIGHT);
    if (sigmaI > 0) for (let i = 0; i < this.cellEps.length; i++) this.cellEps[i] = Math.max(-0.9, rng.normal(0, sigmaI));
    this.refEpsBL = new Float32Array(columns);
    this.refEpsBLB = new Float32Array(columns);
    this.capEpsBLB = new Float32Array(columns);
    this.offset = new Float32Array(columns);
    for (let c = 0; c < columns; c++) {
      if (ni.refMismatch > 0) {
        this.refEpsBL[c] = rng.normal(0, ni.refMismatch);
        this.refEpsBLB[c] = rng.normal(0, ni.refMismatch);
      }
      if (ni.capMismatch > 0) this.capEpsBLB[c] = rng.normal(0, ni.capMismatch);
      if (ni.comparatorOffset > 0) this.offset[c] = rng.normal(0, ni.comparatorOffset);
    }
    const nrng = rng.fork(7);
    this.noise = new NormalTable(() => nrng.normal(), nrng.nextU32());
    this.noiseOn = ni.comparatorNoise > 0;
  }

  /** Throws ConfigError when a weight is outside the encodable range. */
  checkWeights(w: ArrayLike<number>): void {
    const { weightMin, weightMax } = this.design;
    for (let i = 0; i < w.length; i++) {
      if (!(w[i] >= weightMin && w[i] <= weightMax) || !Number.isInteger(w[i])) {
        throw new ConfigError(`cim: weight ${w[i]} cannot be stored with macFolding '${this.config.macFolding}' (range ${weightMin}…${weightMax})`);
      }
    }
  }

  /** Throws ConfigError unless every input is a 4-bit code: a whole number 0…15. */
  checkInputs(x: ArrayLike<number>): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (!(v >= 0 && v <= 15) || !Number.isInteger(v)) throw new ConfigError(`cim: input ${v} is not a 4-bit code: inputs must be whole numbers 0…15`);
    }
  }

  /**
   * Effective per-line weights of a K×C weight tile (row-major, K ≤ rows, C ≤ columns) placed at
   * physical rows rowOffset.., columns colOffset..: the chip's mismatch is folded in.
   */
  lineWeights(w: ArrayLike<number>, k: number, c: number, rowOffset = 0, colOffset = 0): LineWeights {
    const cfg = this.config;
    if (rowOffset + k > cfg.rows || colOffset + c > cfg.columns) throw new ConfigError(`cim: a ${k}×${c} tile does not fit a ${cfg.rows}×${cfg.columns} macro`);
    this.checkWeights(w);
    const edge = cfg.nonIdeal.edgeError;
    const pwmEdge = cfg.inputEncoding === 'pwm' && edge !== 0;
    const unitScale = cfg.inputEncoding === 'pulse-count' ? 1 + edge : 1;
    const bl = new Float32Array(k * c);
    const blb = new Float32Array(k * c);
    const eBl = pwmEdge ? new Float32Array(k * c) : null;
    const eBlb = pwmEdge ? new Float32Array(k * c) : null;
    const lines = new Uint8Array(CELLS_PER_WEIGHT);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < c; j++) {
        cellLines(w[i * c + j], cfg.macFolding, lines);
        const base = ((rowOffset + i) * cfg.columns + colOffset + j) * CELLS_PER_WEIGHT;
        let a = 0;
        let b = 0;
        let ea = 0;
        let eb = 0;
        for (let s = 0; s < CELLS_PER_WEIGHT; s++) {
          if (lines[s] === NONE) continue;
          const g = 1 + this.cellEps[base + s];
          if (lines[s] === BL) {
            a += SLOT_SCALE[s] * g * unitScale;
            ea += g * edge;
          } else {
            b += SLOT_SCALE[s] * g * unitScale;
            eb += g * edge;
          }
        }
        bl[i * c + j] = a;
        blb[i * c + j] = b;
        if (eBl && eBlb) {
          eBl[i * c + j] = ea;
          eBlb[i * c + j] = eb;
        }
      }
    }
    return { rows: k, cols: c, bl, blb, edgeBl: eBl, edgeBlb: eBlb };
  }

  private tauOf(v: number, capErr: number): number {
    return this.line.cellTime(v) * (1 + capErr);
  }

  /**
   * Fast path: converts B×C elements. `groupsBL[g]`, `groupsBLB[g]` hold the MAC-phase cell-times of
   * row group g (one group unless macFolding is 'range'); `spans[g][b]` the longest pulse (T0 units)
   * of row b in that group (for the mean-field IR drop; may be null when irDrop is 0).
   * Writes signed codes (including folds) to `codes`.
   */
  convert(groupsBL: Float32Array[], groupsBLB: Float32Array[], spans: (Float32Array | null)[], batch: number, cols: number, colOffset: number, codes: Int32Array): void {
    const cfg = this.config;
    const d = this.design;
    const alpha = cfg.nonIdeal.irDrop;
    const bits = cfg.adcBits;
    const half = 2 ** (bits - 1);
    const ramp = cfg.adc === 'ramp';
    const G = groupsBL.length;
    const refIr = 1 - alpha;
    // Hot loop: the line model, floor and noise source are read into locals once.
    const { table: vOfTau, invStep, tauMax, vMin } = this.line.lookup();
    const linear = this.line.linear;
    const vPre = cfg.vPre;
    const vu = d.vu;
    const floorOn = cfg.nonIdeal.bitLineFloor;
    const vFloor = cfg.vFloor;
    const sigma = this.noiseOn ? cfg.nonIdeal.comparatorNoise : 0;
    const noise = this.noise;
    const volt = (tau: number): number => {
      let v: number;
      if (linear || tau <= 0) v = vPre - vu * tau;
      else if (tau >= tauMax) v = vMin;
      else {
        const x = tau / invStep;
        const k = x | 0;
        v = vOfTau[k] + (x - k) * (vOfTau[k + 1] - vOfTau[k]);
      }
      return floorOn && v < vFloor ? vFloor : v;
    };
    const steps = new Float64Array(bits - 1);
    for (let k = 0; k < bits - 1; k++) steps[k] = 2 ** k;
    // Per-element state shared with the comparator closure (created once, not per element).
    let ta = 0;
    let tb = 0;
    let invCapB = 1;
    let os = 0;
    // Shortcut: V is monotone in τ with slope ≥ vu·fMin above the floor, so when the cell-times differ
    // by more than (|offset| + 6σ)/(vu·fMin) the decision is certain and needs no voltage lookup
    // (noise beyond 6σ, p ≈ 2e-9, is the only thing ignored).
    const fastOk = linear || floorOn;
    const fMin = linear ? 1 : cellCurrentFactorOf(this.line, floorOn ? vFloor : vPre);
    const tauFloor = floorOn ? this.line.cellTime(vFloor) : Number.POSITIVE_INFINITY;
    let margin = 0;
    const cmp = (): number => {
      const tbe = tb * invCapB;
      const dt = tbe - ta;
      if (fastOk && (dt > margin || dt < -margin) && ta < tauFloor && tbe < tauFloor) return dt > 0 ? 1 : -1;
      return volt(ta) - volt(tbe) + os + (sigma > 0 ? sigma * noise.next() : 0) >= 0 ? 1 : -1;
    };
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < cols; j++) {
        const e = b * cols + j;
        const col = colOffset + j;
        const capB = this.capEpsBLB[col];
        invCapB = 1 / (1 + capB);
        os = this.offset[col];
        margin = (Math.abs(os) + 6 * sigma) / (vu * fMin) + 1e-9;
        const refA = d.refUnit * (1 + this.refEpsBL[col]) * refIr;
        const refB = d.refUnit * (1 + this.refEpsBLB[col]) * refIr;
        ta = 0;
        tb = 0;
        let folds = 0;
        for (let g = 0; g < G; g++) {
          let a = groupsBL[g][e];
          let bb = groupsBLB[g][e];
          if (alpha > 0) {
            const sp = spans[g];
            const span = sp ? sp[b] : 0;
            if (span > 0) {
              const nbar = (a + bb) / span;
              const k = Math.max(0, 1 - alpha * nbar);
              a *= k;
              bb *= k;
            }
          }
          ta += a;
          tb += bb;
          if (G > 1) {
            // Range folding: pull the higher line down by a fold step until the sign flips, count.
            for (let f = 0; f < d.maxFoldsPerGroup; f++) {
              const s = cmp();
              if (s > 0) ta += d.foldCodes * refA;
              else tb += d.foldCodes * refB;
              folds += s;
              if (cmp() !== s) break;
            }
            // Common-mode restore: shift both lines up so the higher one is back at V_PRE.
            if (linear && !floorOn && capB === 0) {
              // Exact in cell-time when V is linear in τ (keeps ideal ties exact).
              const m = Math.min(ta, tb);
              ta -= m;
              tb -= m;
            } else {
              const va = volt(ta);
              const vb = volt(tb * invCapB);
              const shift = vPre - Math.max(va, vb);
              ta = this.tauOf(va + shift, 0);
              tb = this.tauOf(vb + shift, capB);
            }
          }
        }
        let code: number;
        if (!ramp) {
          code = 0;
          for (let k = bits - 2; k >= 0; k--) {
            const s = cmp();
            const u = steps[k];
            if (s > 0) ta += u * refA;
            else tb += u * refB;
            code += s * u;
          }
          code += (cmp() - 1) / 2;
        } else {
          const s0 = cmp();
          let n = 0;
          let flipped = false;
          while (n < half) {
            if (s0 > 0) ta += refA;
            else tb += refB;
            n++;
            if (cmp() !== s0) {
              flipped = true;
              break;
            }
          }
          code = s0 > 0 ? (flipped ? n - 1 : half - 1) : flipped ? -n : -half;
        }
        codes[e] = code + folds * d.foldCodes;
      }
    }
  }

  /**
   * Convenience fast path for one tile: x is B×K (0..15), w is K×C. `mm` computes the float
   * products (the plain reference by default, or an injected fast path).
   */
  macTile(x: ArrayLike<number>, batch: number, k: number, w: ArrayLike<number>, cols: number, colOffset = 0, mm: MatMulEngine = plainMatMul): Int32Array {
    for (const [name, v] of [
      ['batch', batch],
      ['k', k],
      ['cols', cols],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ConfigError(`cim: macTile ${name} must be a whole number ≥ 1, got ${v}`);
    }
    if (x.length !== batch * k) throw new ConfigError(`cim: macTile x holds ${x.length} inputs, expected batch × k = ${batch * k}`);
    if (w.length !== k * cols) throw new ConfigError(`cim: macTile w holds ${w.length} weights, expected k × cols = ${k * cols}`);
    this.checkInputs(x);
    const gemm = (a: Float32Array, b: Float32Array, m: number, kk: number, n: number): Float32Array => matmulOnce(mm, a, b, m, kk, n);
    const G = this.design.groups;
    const per = Math.ceil(k / G);
    const gBL: Float32Array[] = [];
    const gBLB: Float32Array[] = [];
    const spans: (Float32Array | null)[] = [];
    for (let g = 0; g < G; g++) {
      const r0 = g * per;
      const r1 = Math.min(k, r0 + per);
      if (r1 <= r0) continue;
      const kk = r1 - r0;
      const lw = this.lineWeights(sliceRows(w, r0, r1, cols), kk, cols, r0, colOffset);
      const xs = sliceCols(x, batch, k, r0, r1);
      const pre = inputTimes(xs, batch, kk, this.config);
      const tBL = gemm(pre.x, lw.bl, batch, kk, cols);
      const tBLB = gemm(pre.x, lw.blb, batch, kk, cols);
      if (lw.edgeBl && lw.edgeBlb) {
        addInto(tBL, gemm(pre.on, lw.edgeBl, batch, kk, cols));
        addInto(tBLB, gemm(pre.on, lw.edgeBlb, batch, kk, cols));
      }
      gBL.push(tBL);
      gBLB.push(tBLB);
      spans.push(pre.span);
    }
    const codes = new Int32Array(batch * cols);
    this.convert(gBL, gBLB, spans, batch, cols, colOffset, codes);
    return codes;
  }

  /**
   * Cell-level reference for one column: x (K inputs), w (K weights), at physical column `col`
   * and rows 0..K−1. Integrates each line's ODE with RK4 between pulse edges (IR drop exact).
   *
   * When the ODE is linear with a constant rate — a linear line model (no knee, no channel-length
   * modulation), no IR drop, no bit-line floor and no BLB capacitor mismatch, e.g. in ideal mode — a
   * line's voltage is exactly V_PRE − vu·τ, τ being its accumulated cell-time. The reference then sums
   * τ per line (the exact solution, not RK4 steps) and the comparator compares cell-times, as the fast
   * path does: sums of whole pulse durations are exact in float64, so ideal mode gives exactly
   * idealCode(exactMac) here too, ties at bin edges included. Otherwise the two agree up to float
   * rounding of the voltages (and the mean-field IR drop of the fast path).
   */
  referenceColumn(x: ArrayLike<number>, w: ArrayLike<number>, col: number, noise: () => number = () => 0, substeps = 16): ReferenceColumnResult {
    const cfg = this.config;
    const d = this.design;
    const ni = cfg.nonIdeal;
    const k = x.length;
    if (k > cfg.rows) throw new ConfigError(`cim: ${k} rows do not fit a macro of ${cfg.rows} rows`);
    if (w.length !== k) throw new ConfigError(`cim: referenceColumn got ${k} inputs but ${w.length} weights`);
    if (!Number.isInteger(col) || col < 0 || col >= cfg.columns) throw new ConfigError(`cim: column ${col} is not one of the macro's 0…${cfg.columns - 1}`);
    this.checkInputs(x);
    this.checkWeights(w);
    const vu = d.vu;
    const f = (v: number): number => (this.line.linear ? 1 : cellCurrentFactorOf(this.line, v));
    const capB = this.capEpsBLB[col];
    const floor = ni.bitLineFloor ? cfg.vFloor : Number.NEGATIVE_INFINITY;
    let vA = cfg.vPre;
    let vB = cfg.vPre;
    // Constant-rate (linear) case: vA, vB hold accumulated cell-times τ instead of voltages.
    const exact = this.line.linear && ni.irDrop === 0 && !ni.bitLineFloor && capB === 0;
    if (exact) {
      vA = 0;
      vB = 0;
    }
    const voltOf = (t: number): number => (exact ? cfg.vPre - vu * t : t);
    // dv/dt for one line: wsum = Σ(1+ε) of cells on it, n = active cells on the column (IR drop).
    const integrate = (v: number, wsum: number, n: number, dur: number, cap: number, steps: number): number => {
      if (wsum === 0 || dur <= 0) return v;
      if (exact) return v + wsum * dur;
      const rate = (vu * wsum * Math.max(0, 1 - ni.irDrop * n)) / (1 + cap);
      const h = dur / steps;
      for (let s = 0; s < steps; s++) {
        const k1 = -rate * f(v);
        const k2 = -rate * f(v + (h / 2) * k1);
        const k3 = -rate * f(v + (h / 2) * k2);
        const k4 = -rate * f(v + h * k3);
        v += (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
        if (v < floor) v = floor;
      }
      return v;
    };
    const cmpRef = (): number => ((exact ? vu * (vB - vA) : vA - vB) + this.offset[col] + ni.comparatorNoise * noise() >= 0 ? 1 : -1);
    const G = d.groups;
    const per = Math.ceil(k / G);
    const lines = new Uint8Array(CELLS_PER_WEIGHT);
    const edge = ni.edgeError;
    let folds = 0;
    let vAfterA = vA;
    let vAfterB = vB;
    for (let g = 0; g < G; g++) {
      // Cells of this group: duration (T0), line, weight.
      const dur: number[] = [];
      const ln: number[] = [];
      const wt: number[] = [];
      for (let i = g * per; i < Math.min(k, (g + 1) * per); i++) {
        if (x[i] <= 0) continue;
        cellLines(w[i], cfg.macFolding, lines);
        for (let s = 0; s < CELLS_PER_WEIGHT; s++) {
          if (lines[s] === NONE) continue;
          const t = cfg.inputEncoding === 'pwm' ? SLOT_SCALE[s] * x[i] + edge : SLOT_SCALE[s] * x[i] * (1 + edge);
          dur.push(t);
          ln.push(lines[s]);
          wt.push(1 + this.cellEps[(i * cfg.columns + col) * CELLS_PER_WEIGHT + s]);
        }
      }
      const order = dur.map((_, i) => i).sort((p, q) => dur[p] - dur[q]);
      let wA = 0;
      let wB = 0;
      for (let i = 0; i < dur.length; i++) {
        if (ln[i] === BL) wA += wt[i];
        else wB += wt[i];
      }
      let t = 0;
      let active = dur.length;
      for (let q = 0; q < order.length; ) {
        const tEnd = dur[order[q]];
        if (tEnd > t) {
          vA = integrate(vA, wA, active, tEnd - t, 0, substeps);
          vB = integrate(vB, wB, active, tEnd - t, capB, substeps);
          t = tEnd;
        }
        while (q < order.length && dur[order[q]] <= t) {
          const c = order[q];
          if (ln[c] === BL) wA -= wt[c];
          else wB -= wt[c];
          active--;
          q++;
        }
      }
      vAfterA = vA;
      vAfterB = vB;
      if (G > 1) {
        for (let fc = 0; fc < d.maxFoldsPerGroup; fc++) {
          const s = cmpRef();
          const units = d.foldCodes * d.refUnit;
          if (s > 0) vA = integrate(vA, 1 + this.refEpsBL[col], 1, units, 0, 64);
          else vB = integrate(vB, 1 + this.refEpsBLB[col], 1, units, capB, 64);
          folds += s;
          if (cmpRef() !== s) break;
        }
        if (exact) {
          const m = Math.min(vA, vB);
          vA -= m;
          vB -= m;
        } else {
          const shift = cfg.vPre - Math.max(vA, vB);
          vA += shift;
          vB += shift;
        }
      }
    }
    const refStep = (s: number, units: number): void => {
      if (s > 0) vA = integrate(vA, 1 + this.refEpsBL[col], 1, units, 0, 64);
      else vB = integrate(vB, 1 + this.refEpsBLB[col], 1, units, capB, 64);
    };
    const half = 2 ** (cfg.adcBits - 1);
    let code = 0;
    if (cfg.adc === 'binary-search') {
      for (let j = cfg.adcBits - 2; j >= 0; j--) {
        const s = cmpRef();
        refStep(s, 2 ** j * d.refUnit);
        code += s * 2 ** j;
      }
      code += (cmpRef() - 1) / 2;
    } else {
      const s0 = cmpRef();
      let n = 0;
      let flipped = false;
      while (n < half) {
        refStep(s0, d.refUnit);
        n++;
        if (cmpRef() !== s0) {
          flipped = true;
          break;
        }
      }
      code = s0 > 0 ? (flipped ? n - 1 : half - 1) : flipped ? -n : -half;
    }
    return { code: code + folds * d.foldCodes, vBL: voltOf(vAfterA), vBLB: voltOf(vAfterB), folds };
  }
}

function cellCurrentFactorOf(line: LineModel, v: number): number {
  let tri = 1;
  if (line.vKnee > 0 && v < line.vKnee) {
    const r = Math.max(v, 0) / line.vKnee;
    tri = r * (2 - r);
  }
  return Math.max(1e-6, tri * (1 + line.lambda * (v - line.vPre)));
}

function addInto(a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
}

function sliceRows(w: ArrayLike<number>, r0: number, r1: number, cols: number): Float32Array {
  const out = new Float32Array((r1 - r0) * cols);
  for (let i = r0; i < r1; i++) for (let j = 0; j < cols; j++) out[(i - r0) * cols + j] = w[i * cols + j];
  return out;
}

function sliceCols(x: ArrayLike<number>, batch: number, k: number, c0: number, c1: number): Float32Array {
  const out = new Float32Array(batch * (c1 - c0));
  for (let b = 0; b < batch; b++) for (let i = c0; i < c1; i++) out[b * (c1 - c0) + i - c0] = x[b * k + i];
  return out;
}

/**
 * Input-side quantities of a B×K input block: the inputs as floats, the indicator x > 0 (for PWM
 * edge errors), and each row's longest pulse in T0 units (for the mean-field IR drop).
 */
export function inputTimes(x: Float32Array, batch: number, k: number, cfg: MacroConfig): { x: Float32Array; on: Float32Array; span: Float32Array | null } {
  const on = new Float32Array(x.length);
  const span = cfg.nonIdeal.irDrop > 0 ? new Float32Array(batch) : null;
  const edge = cfg.nonIdeal.edgeError;
  for (let b = 0; b < batch; b++) {
    let mx = 0;
    for (let i = 0; i < k; i++) {
      const v = x[b * k + i];
      if (v > 0) on[b * k + i] = 1;
      if (v > mx) mx = v;
    }
    if (span) span[b] = mx > 0 ? (cfg.inputEncoding === 'pwm' ? 8 * mx + edge : 8 * mx * (1 + edge)) : 0;
  }
  return { x, on, span };
}
