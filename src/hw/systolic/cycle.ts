/**
 * Cycle-level mode: steps the R×C array one cycle at a time with real integer operands.
 * Every cycle, the edge PEs take the words read from the SRAMs that cycle (the skewed operand
 * schedule), every other PE takes its neighbours' registers of the previous cycle, multiplies and
 * accumulates; results leave through the array edge and are written to the ofmap SRAM. The reads
 * and writes it performs drive the same scratchpad models as the analytical mode, so both modes
 * must agree on every count (the tests check it); the outputs must equal a plain integer GEMM.
 *
 * Only the band of PEs that hold data in a cycle is visited (a PE outside it holds stale registers
 * that no active PE reads), which keeps the cost proportional to the MACs.
 *
 * Output stationary keeps SCALE-Sim's write timing (row R−1−q of a fold leaves at cycle T−1+q+c)
 * for the counts; the values are read from the accumulators once the fold's last MAC is done.
 */
import { ConfigError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { assembleResult, setupLayer } from './analytical.js';
import { OperandAddresses } from './operands.js';
import type { LayerResult, SimOptions, SystolicConfig, SystolicLayer } from './types.js';

/** Integer operands of one layer, indexed by operand-local address (filter word n·K + k). */
export interface LayerData {
  ifmap: Int32Array;
  filter: Int32Array;
}

export interface CycleLayerResult {
  result: LayerResult;
  /** M×N integer outputs (pixel-major), accumulated over the row folds. */
  ofmap: Int32Array;
}

/** Seeded random integer operands in [−2^(bits−1), 2^(bits−1) − 1]. */
export function randomLayerData(layer: SystolicLayer, rng: Rng, bits = 8): LayerData {
  const a = new OperandAddresses(layer);
  const lo = -(2 ** (bits - 1));
  const span = 2 ** bits;
  const ifmap = new Int32Array(a.ifmapWords);
  for (let i = 0; i < ifmap.length; i++) ifmap[i] = lo + Math.floor(rng.next() * span);
  const filter = new Int32Array(a.filterWords);
  for (let i = 0; i < filter.length; i++) filter[i] = lo + Math.floor(rng.next() * span);
  return { ifmap, filter };
}

/** Packed K'×N row-major values rearranged by filter address (n·K' + k'). */
export function packedFilterData(values: Int32Array, kPacked: number, n: number): Int32Array {
  const out = new Int32Array(kPacked * n);
  for (let k = 0; k < kPacked; k++) for (let j = 0; j < n; j++) out[j * kPacked + k] = values[k * n + j];
  return out;
}

/**
 * Plain reference: the lowered GEMM out[m][n] = Σ_k ifmap(m, k) · filter(k, n), padded words 0;
 * with multiplexer selects, Σ_k' ifmap(m, select[k'][n]) · filter(k', n).
 */
export function referenceGemm(layer: SystolicLayer, data: LayerData): Int32Array {
  const a = new OperandAddresses(layer);
  const { m: M, n: N, k: K } = a.dims;
  const out = new Int32Array(M * N);
  const sel = layer.packed?.select;
  if (sel) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const src = sel[k * N + n];
          const addr = src >= 0 ? a.ifmapOriginal(m, src) : -1;
          if (addr >= 0) s = (s + Math.imul(data.ifmap[addr], data.filter[a.filter(k, n)])) | 0;
        }
        out[m * N + n] = s;
      }
    }
    return out;
  }
  const row = new Int32Array(K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const addr = a.ifmap(m, k);
      row[k] = addr >= 0 ? data.ifmap[addr] : 0;
    }
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = (s + Math.imul(row[k], data.filter[a.filter(k, n)])) | 0;
      out[m * N + n] = s;
    }
  }
  return out;
}

export function simulateLayerCycle(layer: SystolicLayer, cfg: SystolicConfig, data: LayerData, opts: SimOptions = {}): CycleLayerResult {
  const { a, p, mem, compat } = setupLayer(layer, cfg, opts);
  if (data.ifmap.length !== a.ifmapWords || data.filter.length !== a.filterWords) {
    throw new ConfigError(`layer '${layer.name}': operand data has ${data.ifmap.length}/${data.filter.length} ifmap/filter words, expected ${a.ifmapWords}/${a.filterWords}`);
  }
  const d = a.dims;
  const R = cfg.arrayHeight;
  const C = cfg.arrayWidth;
  const N = d.n;
  const T = p.t;
  const F = p.foldCycles;
  const ofmap = new Int32Array(d.m * d.n);
  // Multiplexed PEs: the row carries the input vector (its index t, one bus per packed row) and
  // PE (k', n) multiplies with the word of original row select[k'][n] of that vector.
  const sel = layer.packed?.select ?? null;
  if (sel && p.dataflow !== 'ws')
    throw new ConfigError(`layer '${layer.name}': packed weights with multiplexer selects run on the weight-stationary dataflow only (got '${p.dataflow}')`);
  const tReg = new Int32Array(sel ? R * C : 0);
  const edgeT = new Int32Array(sel ? R : 0);
  const busWord = (t: number, src: number): number => {
    if (src < 0) return 0;
    const addr = a.ifmapOriginal(t, src);
    return addr >= 0 ? data.ifmap[addr] : 0;
  };
  // PE registers: moving operand (left to right), second operand or partial sum (top to bottom), accumulator/weight.
  const aReg = new Int32Array(R * C);
  const bReg = new Int32Array(R * C);
  const sReg = new Int32Array(R * C);
  const edgeRow = new Int32Array(R);
  const edgeCol = new Int32Array(C);
  const readIfmap = (addr: number): number => {
    if (addr < 0) return 0;
    mem.ifmap.access(addr, mem.cycle);
    mem.ifmapAny = true;
    return data.ifmap[addr];
  };
  const readFilter = (addr: number): number => {
    mem.filter.access(addr, mem.cycle);
    mem.filterAny = true;
    return data.filter[addr];
  };
  for (let fc = 0; fc < p.colFolds; fc++) {
    const c0 = fc * C;
    const colsUsed = Math.min(C, p.sc - c0);
    for (let fr = 0; fr < p.rowFolds; fr++) {
      const r0 = fr * R;
      const rowsUsed = Math.min(R, p.sr - r0);
      if (p.dataflow === 'os') {
        sReg.fill(0);
        for (let j = 0; j < F; j++) {
          // Edge reads of this cycle: row r gets ifmap (m = r0 + r, k = j − r), column c gets filter (k = j − c, n = c0 + c).
          for (let r = 0; r < rowsUsed; r++) {
            const k = j - r;
            if (k >= 0 && k < T) edgeRow[r] = readIfmap(a.ifmap(r0 + r, k));
          }
          for (let c = 0; c < colsUsed; c++) {
            const k = j - c;
            if (k >= 0 && k < T) edgeCol[c] = readFilter(a.filter(k, c0 + c));
          }
          // Step: bottom-right first so neighbours still hold last cycle's registers.
          for (let r = rowsUsed - 1; r >= 0; r--) {
            const lo = Math.max(0, j - r - T + 1);
            const hi = Math.min(colsUsed - 1, j - r);
            for (let c = hi; c >= lo; c--) {
              const i = r * C + c;
              const av = c === 0 ? edgeRow[r] : aReg[i - 1];
              const bv = r === 0 ? edgeCol[c] : bReg[i - C];
              aReg[i] = av;
              bReg[i] = bv;
              sReg[i] = (sReg[i] + Math.imul(av, bv)) | 0;
            }
          }
          // Drain: flipped row q = R − 1 − r of column c leaves at cycle T − 1 + q + c.
          let writes = 0;
          for (let c = 0; c < colsUsed; c++) {
            const q = j - (T - 1) - c;
            if (q >= 0 && q < R && R - 1 - q < rowsUsed) writes++;
          }
          mem.endLine(writes);
        }
        for (let r = 0; r < rowsUsed; r++) for (let c = 0; c < colsUsed; c++) ofmap[(r0 + r) * N + c0 + c] = sReg[r * C + c];
      } else {
        const ws = p.dataflow === 'ws';
        for (let j = 0; j < F; j++) {
          let writes = 0;
          if (j < R) {
            // Weight (WS) / input (IS) load: row k = r0 + R − 1 − j enters the top and shifts down.
            const kr = R - 1 - j;
            for (let c = 0; c < colsUsed; c++) {
              if (kr < rowsUsed) {
                const k = r0 + kr;
                edgeCol[c] = ws ? readFilter(a.filter(k, c0 + c)) : readIfmap(a.ifmap(c0 + c, k));
              } else edgeCol[c] = 0;
            }
            for (let r = R - 1; r >= 0; r--) for (let c = 0; c < colsUsed; c++) bReg[r * C + c] = r === 0 ? edgeCol[c] : bReg[(r - 1) * C + c];
          } else {
            // Streaming: row r gets element t = j − R − r of reduction row k = r0 + r.
            for (let r = 0; r < rowsUsed; r++) {
              const t = j - R - r;
              if (t >= 0 && t < T) {
                const k = r0 + r;
                edgeRow[r] = ws ? readIfmap(a.ifmap(t, k)) : readFilter(a.filter(k, t));
                if (sel) edgeT[r] = t;
              }
            }
            for (let r = R - 1; r >= 0; r--) {
              const lo = Math.max(0, j - R - r - T + 1);
              const hi = Math.min(colsUsed - 1, j - R - r);
              for (let c = hi; c >= lo; c--) {
                const i = r * C + c;
                let av: number;
                if (sel) {
                  const t = r >= rowsUsed ? -1 : c === 0 ? edgeT[r] : tReg[i - 1];
                  tReg[i] = t;
                  av = t >= 0 ? busWord(t, sel[(r0 + r) * N + c0 + c]) : 0;
                } else av = r >= rowsUsed ? 0 : c === 0 ? edgeRow[r] : aReg[i - 1];
                const psum = r === 0 ? 0 : sReg[i - C];
                aReg[i] = av;
                sReg[i] = (psum + Math.imul(av, bReg[i])) | 0;
              }
            }
            // Bottom row: output t = j − (2R − 1) − c of column c leaves the array.
            const lo = Math.max(0, j - (2 * R - 2 + T));
            const hi = Math.min(colsUsed - 1, j - (2 * R - 1));
            for (let c = lo; c <= hi; c++) {
              const t = j - (2 * R - 1) - c;
              const o = ws ? t * N + c0 + c : (c0 + c) * N + t;
              ofmap[o] = (ofmap[o] + sReg[(R - 1) * C + c]) | 0;
              writes++;
            }
          }
          mem.endLine(writes);
        }
      }
    }
  }
  return { result: assembleResult(layer, cfg, a, p, mem, compat), ofmap };
}
