/**
 * The RRAM crossbar accelerator as the workload runtime's integer GEMM (`IntGemmEngine`).
 *
 * Each conv/dense layer is mapped onto crossbars (mapping.ts). For every input vector (GEMM row) the
 * input codes are applied bit-serially in `bitOrder` (MSB first by default): per plane every
 * crossbar's bit lines are sampled, converted by the ADC and shifted-and-added per output; the row
 * tiles of an output are summed digitally after each plane (they run in lock-step). After each
 * plane the control checks the run-time bound of every output (control.ts) and stops a unit (an
 * output, a column group or a column tile) once all its outputs can stop.
 *
 * Two implementations with the same results and counters:
 * - `fast` (default): all planes of a row at once, as tight typed-array loops over the set bits of
 *   each input code (exact crossbars add integer weight rows per set bit; non-ideal crossbars add
 *   cell-conductance rows per physical column, then convert every (plane, column)); then the
 *   termination walk over the precomputed plane sums, with incremental bounds.
 * - `reference`: the cell-level twin — reads only the planes a unit still needs, every bit line as a
 *   loop over its cells, bounds recomputed from their definitions at every step.
 * ADC noise is keyed by (layer, crossbar, row of the layer, plane, column), so both agree exactly,
 * whatever the batching.
 */
import { ConfigError } from '../../core/errors.js';
import {
  exactIntGemm,
  type IntGemmEngine,
  type IntGemmLayer,
  type MatMulEngine,
  type MatMulOperand,
  plainMatMul,
  type QuantizedWorkload,
  type QuantLayer,
} from '../../nn/runtime/index.js';
import { opInputs } from '../../nn/workload.js';
import { type RramConfig, isExactCrossbar, physicalColumnsPerOutput, referenceColumns, skipsZeroPlanes, weightOffset } from './config.js';
import {
  type Adc,
  adcOf,
  convert,
  cycleNs,
  emitted,
  emptyCounts,
  type LayerControl,
  type LayerCounts,
  layerControl,
  layerValue,
  planeOrder,
  type StopReason,
  stopTest,
  type TileStats,
  type Timing,
  termUnits,
  tileColumns,
  tileStats,
  timingOf,
  topSum,
  type Unit,
} from './control.js';
import { type LayerMapping, mapLayer } from './mapping.js';

export type RramImplementation = 'fast' | 'reference';

export interface RramEngineOptions {
  implementation?: RramImplementation;
  /** Index of the first image of the data this engine will see (keys the ADC noise draws). */
  firstImage?: number;
  /** Matrix product of the fast path (default: the plain typed-array product; inject e.g. the tfjs engine). */
  matmul?: MatMulEngine;
  /**
   * Layers simulated on the crossbars (default: all). The others run the exact integer product and
   * have no counters: on exact crossbars this is what no termination and lossless termination give
   * bit for bit, so it isolates the effect of a few layers' settings (threshold calibration).
   */
  crossbarLayers?: readonly string[];
}

/** An engine and the per-layer counters it accumulates. */
export interface RramEngine extends IntGemmEngine {
  counts(): LayerCounts[];
}

/**
 * True when a ReLU follows op `i` on every path (directly, or after max-pooling/flatten, which
 * commute with it). An output that feeds a residual add or global pooling is not followed by one.
 */
export function reluFollows(qw: QuantizedWorkload, i: number): boolean {
  const ops = qw.workload.ops;
  const op = ops[i];
  if ((op.kind === 'conv2d' || op.kind === 'dense') && op.activation === 'relu') return true;
  const readers = (j: number): number[] => {
    const out: number[] = [];
    for (let k = j + 1; k < ops.length; k++) if (opInputs(ops, k).includes(ops[j].name)) out.push(k);
    return out;
  };
  const follows = (j: number): boolean => {
    const r = readers(j);
    return r.length > 0 && r.every((k) => ops[k].kind === 'relu' || ((ops[k].kind === 'maxpool' || ops[k].kind === 'flatten') && follows(k)));
  };
  return follows(i);
}

/** Checks that the quantized workload fits the crossbar's number formats. */
export function checkQuantization(qw: QuantizedWorkload, c: RramConfig): void {
  if (qw.activations.signed) throw new ConfigError('rram: inputs are applied bit-serially and must be unsigned codes: quantize activations with signed: false');
  if (qw.activations.bits !== c.activationBits)
    throw new ConfigError(`rram: activations are quantized to ${qw.activations.bits} bits but activationBits is ${c.activationBits}: use the same width`);
  if (!qw.weights.signed) throw new ConfigError('rram: weights must be signed symmetric codes (zero-point 0): quantize weights with signed: true');
  if (qw.weights.bits !== c.weightBits) throw new ConfigError(`rram: weights are quantized to ${qw.weights.bits} bits but weightBits is ${c.weightBits}: use the same width`);
}

/** Builds the crossbar engine of a quantized workload. */
export function rramEngine(qw: QuantizedWorkload, c: RramConfig, o: RramEngineOptions = {}): RramEngine {
  checkQuantization(qw, c);
  const layers: RramLayerBase[] = [];
  if (o.crossbarLayers && !isExactCrossbar(c)) throw new ConfigError('rram: crossbarLayers needs exact crossbars (no variation, faults or noise, exact ADC)');
  const exact = exactIntGemm(o.matmul ?? plainMatMul);
  return {
    prepare(L) {
      if (o.crossbarLayers && !o.crossbarLayers.includes(L.name)) return exact.prepare(L);
      const layer =
        o.implementation === 'reference'
          ? new ReferenceLayer(qw, c, L, layers.length, o.firstImage ?? 0, true)
          : new FastLayer(qw, c, L, layers.length, o.firstImage ?? 0, o.matmul ?? plainMatMul);
      layers.push(layer);
      return layer;
    },
    counts: () => layers.map((l) => ({ ...l.counts, tileTimeNs: [...l.counts.tileTimeNs], denseTileTimeNs: [...l.counts.denseTileTimeNs] })),
  };
}

abstract class RramLayerBase implements IntGemmLayer {
  readonly c: RramConfig;
  readonly L: QuantLayer;
  readonly index: number;
  readonly map: LayerMapping;
  readonly ctl: LayerControl;
  readonly counts: LayerCounts;
  readonly units: Unit[];
  /** Units of each column tile. */
  readonly unitsByTile: Unit[][];
  readonly adc: Adc;
  readonly timing: Timing;
  readonly order: number[];
  readonly cpo: number;
  readonly refCols: number;
  readonly tileCols: number[];
  /** Inputs (crossbar rows) of each row tile. */
  readonly tileRows: number[];
  readonly skipZero: boolean;
  /** Rows of the layer run so far, and the global index of row 0 (first image × positions). */
  protected rowsSeen = 0;
  protected readonly rowBase: number;

  constructor(qw: QuantizedWorkload, c: RramConfig, L: QuantLayer, index: number, firstImage: number, cells: boolean) {
    if (L.wZero.some((z) => z !== 0)) throw new ConfigError(`rram: layer '${L.name}' has weight zero-points: quantize weights with signed: true`);
    this.c = c;
    this.L = L;
    this.index = index;
    this.map = mapLayer(c, L, index, cells);
    this.ctl = layerControl(c, L, reluFollows(qw, L.opIndex));
    this.counts = emptyCounts(L, this.map);
    this.units = termUnits(c, this.map, L.n);
    this.unitsByTile = Array.from({ length: this.map.colTiles }, (_, u) => this.units.filter((v) => v.colTile === u));
    this.adc = adcOf(c);
    this.timing = timingOf(c);
    this.order = planeOrder(c);
    this.cpo = physicalColumnsPerOutput(c);
    this.refCols = referenceColumns(c);
    this.tileCols = Array.from({ length: this.map.colTiles }, (_, u) => tileColumns(c, this.map, L.n, u));
    this.tileRows = Array.from({ length: this.map.rowTiles }, (_, t) => Math.min(L.k, (t + 1) * c.rows) - t * c.rows);
    this.skipZero = skipsZeroPlanes(c);
    const op = qw.workload.ops[L.opIndex];
    const positions = op.kind === 'conv2d' ? op.outShape[0] * op.outShape[1] : 1;
    this.rowBase = firstImage * positions;
  }

  abstract run(x: Float32Array, m: number): Float32Array;

  /** Dense (no termination) counters of one row. */
  protected countDense(): void {
    const B = this.c.activationBits;
    const k = this.counts;
    const T = this.map.rowTiles;
    k.denseCrossbarReads += B * this.map.crossbars.length;
    k.denseAdcConversions += B * k.physicalColumns;
    k.denseInputBits += B * this.L.k * this.map.colTiles;
    k.denseOutputPlanes += B * this.L.n;
    for (let u = 0; u < this.map.colTiles; u++) k.denseTileTimeNs[u] += B * cycleNs(this.timing, this.tileCols[u], this.tileCols[u]);
    if (this.c.termination !== 'none') k.popcounts += T * B;
  }

  /**
   * Counters of one column tile for one row: stop step of each unit of the tile (planes used);
   * `live[s·T + t]` = 0 when row tile t skips the plane of step s (all-zero input bits), null = all read.
   */
  protected countTile(u: number, steps: { unit: Unit; step: number }[], live: Uint8Array | null): void {
    const k = this.counts;
    const T = this.map.rowTiles;
    let reads = 0;
    for (const s of steps) reads = Math.max(reads, s.step);
    let time = 0;
    for (let s = 0; s < reads; s++) {
      let active = this.refCols;
      for (const x of steps) if (x.step > s) active += (x.unit.o1 - x.unit.o0) * this.cpo;
      let reading = T;
      let bits = this.L.k;
      if (live) {
        reading = 0;
        bits = 0;
        for (let t = 0; t < T; t++)
          if (live[s * T + t]) {
            reading++;
            bits += this.tileRows[t];
          }
      }
      k.crossbarReads += reading;
      k.inputBitsApplied += bits;
      k.adcConversions += active * reading;
      k.shiftAdds += active * reading;
      k.zeroPlaneReads += T - reading;
      k.zeroPlaneConversions += active * (T - reading);
      if (reading > 0) time += cycleNs(this.timing, active, this.tileCols[u]);
    }
    k.tileTimeNs[u] += time;
    for (const x of steps) k.outputPlanes += x.step * (x.unit.o1 - x.unit.o0);
  }

  protected countStop(reason: StopReason, skipped: number): void {
    if (reason === 'negative') {
      this.counts.stoppedNegative++;
      this.counts.skippedNegative += skipped;
    } else {
      this.counts.stoppedAdaptive++;
      this.counts.skippedAdaptive += skipped;
    }
  }
}

/** Rows per chunk of the fast path (its plane matrices are chunk × planes × K). */
const CHUNK = 64;

/**
 * Fast path: for a chunk of rows, the bit-planes of the inputs as one 0/1 matrix (rows × planes)
 * times the weights (exact crossbars) or times each crossbar's conductances (then the ADC per
 * plane and column), through the injected matrix product; then the termination walk per row with
 * incremental bounds. Without termination on exact crossbars the product is the plain integer GEMM.
 */
class FastLayer extends RramLayerBase {
  private readonly stats: TileStats;
  private readonly exact: boolean;
  private readonly mm: MatMulEngine;
  private readonly wOp: MatMulOperand;
  private readonly gOps: MatMulOperand[];
  private readonly posTotal: Float64Array;
  private readonly negTotal: Float64Array;
  private readonly S: Float64Array;
  private readonly A: Float64Array;
  private readonly hi: Float64Array;
  private readonly lo: Float64Array;
  private readonly done: Uint8Array;
  /** Per step s: R (Σ 2^q over the planes still to apply) and per tile Σ_i r_i (T × B, step-major). */
  private readonly remR: Float64Array;
  private readonly rsum: Float64Array;
  /** 'plane' and 'sorted' bounds: each plane's share of the upper and lower bound of the row being walked (B × N). */
  private readonly decHi: Float64Array;
  private readonly decLo: Float64Array;
  /** Per step s and row tile t: 1 when the tile reads the step's plane (B × T). */
  private readonly live: Uint8Array;

  constructor(qw: QuantizedWorkload, c: RramConfig, L: QuantLayer, index: number, firstImage: number, mm: MatMulEngine) {
    super(qw, c, L, index, firstImage, !isExactCrossbar(c));
    this.stats = tileStats(L, c.rows, c.bound === 'sorted');
    this.exact = isExactCrossbar(c);
    this.mm = mm;
    this.wOp = mm.prepare(Float32Array.from(L.wq), L.k, L.n);
    this.gOps = this.exact ? [] : this.map.crossbars.map((xb) => mm.prepare(xb.g, xb.r1 - xb.r0, xb.columns.length));
    const n = L.n;
    const T = this.map.rowTiles;
    const B = c.activationBits;
    this.posTotal = new Float64Array(n);
    this.negTotal = new Float64Array(n);
    for (let t = 0; t < T; t++)
      for (let j = 0; j < n; j++) {
        this.posTotal[j] += this.stats.posSum[t * n + j];
        this.negTotal[j] += this.stats.negSum[t * n + j];
      }
    this.S = new Float64Array(CHUNK * B * n);
    this.A = new Float64Array(n);
    this.hi = new Float64Array(n);
    this.lo = new Float64Array(n);
    this.done = new Uint8Array(n);
    this.remR = new Float64Array(B);
    this.rsum = new Float64Array(B * T);
    this.live = new Uint8Array(B * T);
    this.decHi = new Float64Array(B * n);
    this.decLo = new Float64Array(B * n);
  }

  dispose(): void {
    this.mm.release(this.wOp);
    for (const op of this.gOps) this.mm.release(op);
  }

  run(x: Float32Array, m: number): Float32Array {
    const { L, c } = this;
    const n = L.n;
    const k = L.k;
    const B = c.activationBits;
    const T = this.map.rowTiles;
    const out = new Float32Array(m * n);
    if (c.termination === 'none' && this.exact) {
      out.set(this.mm.run(x, m, k, this.wOp));
      for (let r = 0; r < m; r++) this.countNone();
    } else {
      const pops = new Int32Array(CHUNK * T * B);
      for (let r0 = 0; r0 < m; r0 += CHUNK) {
        const ch = Math.min(CHUNK, m - r0);
        pops.fill(0);
        // Bit-planes: row (r·B + p) holds bit p of row r's codes; pops[(r·T + t)·B + p] counts them per row tile.
        const planes = new Float32Array(ch * B * k);
        for (let r = 0; r < ch; r++) {
          const xo = (r0 + r) * k;
          for (let i = 0; i < k; i++) {
            let v = x[xo + i];
            if (v === 0) continue;
            const pt = (r * T + Math.floor(i / c.rows)) * B;
            for (let p = 0; v > 0; p++) {
              const b = v % 2;
              v = (v - b) / 2;
              if (b === 0) continue;
              pops[pt + p]++;
              planes[(r * B + p) * k + i] = 1;
            }
          }
        }
        const S = this.S;
        if (this.exact) S.set(this.mm.run(planes, ch * B, k, this.wOp));
        else this.deviceSums(planes, pops, ch, r0);
        for (let r = 0; r < ch; r++) {
          const row = this.rowsSeen + r0 + r;
          this.countDense();
          if (c.termination === 'none') this.plainRow(S, r * B * n, out.subarray((r0 + r) * n, (r0 + r + 1) * n));
          else this.walkRow(S, r * B * n, pops, r * T * B, row, out.subarray((r0 + r) * n, (r0 + r + 1) * n));
        }
      }
    }
    this.rowsSeen += m;
    this.counts.vectors += m;
    this.counts.macs += m * k * n;
    return out;
  }

  /** Counters of one row without termination. */
  private countNone(): void {
    this.countDense();
    for (let u = 0; u < this.map.colTiles; u++)
      this.countTile(
        u,
        this.unitsByTile[u].map((unit) => ({ unit, step: this.c.activationBits })),
        null,
      );
  }

  /** All planes of one row, no control. */
  private plainRow(S: Float64Array, so: number, out: Float32Array): void {
    const n = this.L.n;
    for (let j = 0; j < n; j++) {
      let a = 0;
      for (const p of this.order) a += 2 ** p * S[so + p * n + j];
      out[j] = a;
    }
    for (let u = 0; u < this.map.colTiles; u++)
      this.countTile(
        u,
        this.unitsByTile[u].map((unit) => ({ unit, step: this.c.activationBits })),
        null,
      );
  }

  /**
   * Plane sums through the devices: per crossbar, bit-line sums per (row, plane, column), converted,
   * shifted and added into S; a skipped all-zero plane of a row tile is not read (adds nothing).
   */
  private deviceSums(planes: Float32Array, pops: Int32Array, ch: number, r0: number): void {
    const T = this.map.rowTiles;
    const { S, c } = this;
    const n = this.L.n;
    const k = this.L.k;
    const B = c.activationBits;
    const bpc = c.bitsPerCell;
    const off = weightOffset(c);
    S.fill(0, 0, ch * B * n);
    this.map.crossbars.forEach((xb, xi) => {
      const kk = xb.r1 - xb.r0;
      const nc = xb.columns.length;
      const sub = new Float32Array(ch * B * kk);
      for (let rp = 0; rp < ch * B; rp++) sub.set(planes.subarray(rp * k + xb.r0, rp * k + xb.r1), rp * kk);
      const y = this.mm.run(sub, ch * B, kk, this.gOps[xi]);
      for (let r = 0; r < ch; r++) {
        const g0 = this.rowBase + this.rowsSeen + r0 + r;
        for (let p = 0; p < B; p++) {
          if (this.skipZero && pops[(r * T + xb.rowTile) * B + p] === 0) continue;
          const so = (r * B + p) * n;
          for (let q = 0; q < nc; q++) {
            const v = convert(this.adc, y[(r * B + p) * nc + q], [this.index, xb.rowTile, xb.colTile, g0, p, q]);
            const col = xb.columns[q];
            if (col.output < 0) {
              for (let o = xb.o0; o < xb.o1; o++) S[so + o] -= off * v;
            } else S[so + col.output] += col.sign * 2 ** (col.slice * bpc) * v;
          }
        }
      }
    });
  }

  /** The termination walk of one row over its plane sums S[so + p·N + j] and popcounts pops[po + t·B + p]. */
  private walkRow(S: Float64Array, so: number, pops: Int32Array, po: number, row: number, out: Float32Array): void {
    const c = this.c;
    const n = this.L.n;
    const B = c.activationBits;
    const T = this.map.rowTiles;
    const { A, hi, lo, done, remR, rsum, stats, order, live } = this;
    const pp = pops.subarray(po, po + T * B);
    for (let s = 0; s < B; s++) for (let t = 0; t < T; t++) live[s * T + t] = !this.skipZero || pp[t * B + order[s]] > 0 ? 1 : 0;
    const Sr = S.subarray(so, so + B * n);
    // Remaining-plane quantities per step (after applying order[0..s]).
    for (let s = 0; s < B; s++) {
      let R = 0;
      for (let q = s + 1; q < B; q++) R += 2 ** order[q];
      remR[s] = R;
      for (let t = 0; t < T; t++) {
        let rs = 0;
        for (let q = s + 1; q < B; q++) rs += 2 ** order[q] * pp[t * B + order[q]];
        rsum[s * T + t] = rs;
      }
    }
    const plane = c.bound === 'plane' || c.bound === 'sorted';
    const sorted = c.bound === 'sorted';
    A.fill(0);
    done.fill(0);
    if (plane) {
      // Per plane and output, its share of the bound (exact integers, so the order of sums does not matter).
      const { decHi, decLo } = this;
      decHi.fill(0);
      decLo.fill(0);
      for (let t = 0; t < T; t++)
        for (let q = 0; q < B; q++) {
          const pw = 2 ** q;
          const pc = pp[t * B + q];
          if (pc === 0) continue;
          if (sorted)
            for (let j = 0; j < n; j++) {
              decHi[q * n + j] += pw * topSum(stats, true, t, j, n, pc);
              decLo[q * n + j] += pw * topSum(stats, false, t, j, n, pc);
            }
          else
            for (let j = 0; j < n; j++) {
              const p = t * n + j;
              decHi[q * n + j] += pw * Math.min(stats.posSum[p], stats.posMax[p] * pc);
              decLo[q * n + j] += pw * Math.max(stats.negSum[p], stats.negMin[p] * pc);
            }
        }
      hi.fill(0);
      lo.fill(0);
      for (let q = 0; q < B; q++)
        for (let j = 0; j < n; j++) {
          hi[j] += decHi[q * n + j];
          lo[j] += decLo[q * n + j];
        }
    }
    let ui = 0;
    for (let u = 0; u < this.map.colTiles; u++) {
      const steps: { unit: Unit; step: number }[] = [];
      for (; ui < this.units.length && this.units[ui].colTile === u; ui++) {
        const unit = this.units[ui];
        let stop = B;
        for (let s = 0; s < B; s++) {
          const p = order[s];
          const pw = 2 ** p;
          for (let j = unit.o0; j < unit.o1; j++) {
            A[j] += pw * Sr[p * n + j];
            this.updateBounds(j, s, p);
          }
          if (s === B - 1) break;
          let all = true;
          for (let j = unit.o0; j < unit.o1; j++) {
            if (done[j]) continue;
            this.counts.boundChecks++;
            if (stopTest(this.ctl, A[j], lo[j], hi[j], this.ctl.theta > 0 ? this.estimateOf(j, s) : 0, row, j, n)) done[j] = 1;
            else all = false;
          }
          if (all) {
            stop = s + 1;
            break;
          }
        }
        for (let j = unit.o0; j < unit.o1; j++) {
          if (stop === B) {
            out[j] = A[j];
            continue;
          }
          const est = this.ctl.theta > 0 ? this.estimateOf(j, stop - 1) : 0;
          out[j] = emitted(this.ctl, A[j], hi[j], est, row, j, n);
          this.countStop(isNegative(this.ctl, A[j], hi[j], row, j, n) ? 'negative' : 'adaptive', B - stop);
        }
        steps.push({ unit, step: stop });
      }
      this.countTile(u, steps, live);
    }
  }

  /** Bounds of output j after step s (plane p just applied). */
  private updateBounds(j: number, s: number, p: number): void {
    const { hi, lo, stats, remR, rsum } = this;
    const n = this.L.n;
    const T = this.map.rowTiles;
    switch (this.c.bound) {
      case 'plane':
      case 'sorted':
        hi[j] -= this.decHi[p * n + j];
        lo[j] -= this.decLo[p * n + j];
        break;
      case 'static':
        hi[j] = remR[s] * this.posTotal[j];
        lo[j] = remR[s] * this.negTotal[j];
        break;
      case 'max-weight': {
        let h = 0;
        let l = 0;
        for (let t = 0; t < T; t++) {
          const q = t * n + j;
          const rs = rsum[s * T + t];
          h += Math.min(remR[s] * stats.posSum[q], stats.posMax[q] * rs);
          l += Math.max(remR[s] * stats.negSum[q], stats.negMin[q] * rs);
        }
        hi[j] = h;
        lo[j] = l;
        break;
      }
    }
  }

  private estimateOf(j: number, s: number): number {
    switch (this.c.estimate) {
      case 'partial':
        return 0;
      case 'midpoint':
        return (this.hi[j] + this.lo[j]) / 2;
      case 'mean-weight': {
        const n = this.L.n;
        const T = this.map.rowTiles;
        let e = 0;
        for (let t = 0; t < T; t++) e += (this.rsum[s * T + t] * this.stats.sum[t * n + j]) / this.stats.rows[t];
        return e;
      }
    }
  }
}

/** The negative-detection part of `stopTest`: a ReLU follows and the largest possible value is ≤ 0. */
function isNegative(ctl: LayerControl, a: number, hi: number, row: number, j: number, n: number): boolean {
  return ctl.relu && layerValue(ctl, a + hi, row, j, n) <= 0;
}

/** Cell-level twin: reads only the planes still needed, each bit line as a loop over its cells, bounds from their definitions. */
class ReferenceLayer extends RramLayerBase {
  run(x: Float32Array, m: number): Float32Array {
    const out = new Float32Array(m * this.L.n);
    for (let r = 0; r < m; r++) this.runRow(x, r * this.L.k, this.rowsSeen + r, out.subarray(r * this.L.n, (r + 1) * this.L.n));
    this.rowsSeen += m;
    this.counts.vectors += m;
    this.counts.macs += m * this.L.k * this.L.n;
    return out;
  }

  runRow(x: Float32Array, xo: number, row: number, out: Float32Array): void {
    const c = this.c;
    const L = this.L;
    const n = L.n;
    const B = c.activationBits;
    const bpc = c.bitsPerCell;
    const off = weightOffset(c);
    const terminate = c.termination !== 'none';
    const bit = (i: number, p: number): number => Math.floor(x[xo + i] / 2 ** p) % 2;
    this.countDense();
    for (let u = 0; u < this.map.colTiles; u++) {
      const units = this.unitsByTile[u];
      const xbs = this.map.crossbars.filter((v) => v.colTile === u);
      const A = new Map<number, number>();
      const state = new Map<Unit, { step: number; stopped: boolean }>(units.map((v) => [v, { step: 0, stopped: false }]));
      const done = new Set<number>();
      for (let s = 0; s < B; s++) {
        const live = units.filter((v) => !state.get(v)!.stopped);
        if (live.length === 0) break;
        const p = this.order[s];
        const planeSum = new Map<number, number>();
        let converted = 0;
        let reading = 0;
        let active = 0;
        for (const xb of xbs) {
          const nc = xb.columns.length;
          let zero = this.skipZero;
          for (let i = xb.r0; i < xb.r1 && zero; i++) if (bit(i, p) === 1) zero = false;
          const cols = xb.columns.filter((col) => col.output < 0 || live.some((v) => col.output >= v.o0 && col.output < v.o1)).length;
          if (zero) {
            this.counts.zeroPlaneReads++;
            this.counts.zeroPlaneConversions += cols;
            continue;
          }
          reading++;
          active = cols;
          this.counts.crossbarReads++;
          this.counts.inputBitsApplied += xb.r1 - xb.r0;
          for (let q = 0; q < nc; q++) {
            const col = xb.columns[q];
            if (col.output >= 0 && !live.some((v) => col.output >= v.o0 && col.output < v.o1)) continue;
            converted++;
            let bl = 0;
            for (let i = xb.r0; i < xb.r1; i++) if (bit(i, p) === 1) bl += xb.g[(i - xb.r0) * nc + q];
            const y = convert(this.adc, Math.fround(bl), [this.index, xb.rowTile, xb.colTile, this.rowBase + row, p, q]);
            if (col.output < 0) for (let o = xb.o0; o < xb.o1; o++) planeSum.set(o, (planeSum.get(o) ?? 0) - off * y);
            else planeSum.set(col.output, (planeSum.get(col.output) ?? 0) + col.sign * 2 ** (col.slice * bpc) * y);
          }
        }
        this.counts.adcConversions += converted;
        this.counts.shiftAdds += converted;
        if (reading > 0) this.counts.tileTimeNs[u] += cycleNs(this.timing, active, this.tileCols[u]);
        for (const v of live) {
          state.get(v)!.step = s + 1;
          this.counts.outputPlanes += v.o1 - v.o0;
          for (let j = v.o0; j < v.o1; j++) A.set(j, (A.get(j) ?? 0) + 2 ** p * (planeSum.get(j) ?? 0));
        }
        if (!terminate || s === B - 1) continue;
        for (const v of live) {
          let all = true;
          for (let j = v.o0; j < v.o1; j++) {
            if (done.has(j)) continue;
            this.counts.boundChecks++;
            const [lo, hi] = this.remainingBounds(x, xo, j, s);
            if (stopTest(this.ctl, A.get(j)!, lo, hi, this.estimate(x, xo, j, s, lo, hi), row, j, n)) done.add(j);
            else all = false;
          }
          if (all) state.get(v)!.stopped = true;
        }
      }
      for (const v of units) {
        const st = state.get(v)!;
        for (let j = v.o0; j < v.o1; j++) {
          const a = A.get(j) ?? 0;
          if (st.step === B) {
            out[j] = a;
            continue;
          }
          const [lo, hi] = this.remainingBounds(x, xo, j, st.step - 1);
          out[j] = emitted(this.ctl, a, hi, this.estimate(x, xo, j, st.step - 1, lo, hi), row, j, n);
          const neg = this.ctl.relu && isNegative(this.ctl, a, hi, row, j, n);
          this.countStop(neg ? 'negative' : 'adaptive', B - st.step);
        }
      }
    }
  }

  /** Planes still to apply after step s. */
  private remaining(s: number): number[] {
    return planeOrder(this.c).slice(s + 1);
  }

  /** [lo, hi] of the remaining contribution of output j after step s, from the definitions (control.ts). */
  private remainingBounds(x: Float32Array, xo: number, j: number, s: number): [number, number] {
    const { c, L } = this;
    const rem = this.remaining(s);
    let hi = 0;
    let lo = 0;
    const R = rem.reduce((a, q) => a + 2 ** q, 0);
    for (let t = 0; t < this.map.rowTiles; t++) {
      let pos = 0;
      let neg = 0;
      let wmax = 0;
      let wmin = 0;
      let rs = 0;
      const pop = new Map<number, number>();
      const ws: number[] = [];
      for (let i = t * c.rows; i < Math.min(L.k, (t + 1) * c.rows); i++) {
        const w = L.wq[i * L.n + j];
        ws.push(w);
        if (w > 0) pos += w;
        else neg += w;
        wmax = Math.max(wmax, w);
        wmin = Math.min(wmin, w);
        const v = x[xo + i];
        for (const q of rem) {
          const b = Math.floor(v / 2 ** q) % 2;
          rs += b * 2 ** q;
          pop.set(q, (pop.get(q) ?? 0) + b);
        }
      }
      if (c.bound === 'static') {
        hi += R * pos;
        lo += R * neg;
      } else if (c.bound === 'max-weight') {
        hi += Math.min(R * pos, wmax * rs);
        lo += Math.max(R * neg, wmin * rs);
      } else if (c.bound === 'plane')
        for (const q of rem) {
          hi += 2 ** q * Math.min(pos, wmax * (pop.get(q) ?? 0));
          lo += 2 ** q * Math.max(neg, wmin * (pop.get(q) ?? 0));
        }
      else {
        // The pop_q largest positive (most negative) weights: the most the set bits can add (take).
        const down = ws.filter((w) => w > 0).sort((a, b) => b - a);
        const up = ws.filter((w) => w < 0).sort((a, b) => a - b);
        for (const q of rem) {
          const count = pop.get(q) ?? 0;
          hi += 2 ** q * down.slice(0, count).reduce((a, w) => a + w, 0);
          lo += 2 ** q * up.slice(0, count).reduce((a, w) => a + w, 0);
        }
      }
    }
    return [lo, hi];
  }

  private estimate(x: Float32Array, xo: number, j: number, s: number, lo: number, hi: number): number {
    if (this.c.estimate === 'partial') return 0;
    if (this.c.estimate === 'midpoint') return (hi + lo) / 2;
    const { c, L } = this;
    const rem = this.remaining(s);
    let e = 0;
    for (let t = 0; t < this.map.rowTiles; t++) {
      let sum = 0;
      let rs = 0;
      let rows = 0;
      for (let i = t * c.rows; i < Math.min(L.k, (t + 1) * c.rows); i++) {
        sum += L.wq[i * L.n + j];
        rows++;
        for (const q of rem) rs += (Math.floor(x[xo + i] / 2 ** q) % 2) * 2 ** q;
      }
      e += (rs * sum) / rows;
    }
    return e;
  }
}
