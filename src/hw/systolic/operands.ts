/**
 * Conv-to-GEMM lowering as SCALE-Sim does it: the ifmap operand is the M×K im2col matrix of
 * element addresses (M = output pixels, K = filter window, channel fastest), the filter operand is
 * K×N and the ofmap M×N. SCALE-Sim has no padding; its output size is ceil((H − R + S)/S), so the
 * last window can reach past the input: those elements have no address (−1) and are never fetched
 * (the values they stand for are zeros).
 *
 * Addresses here are operand-local (no offset); offsets only relabel traces.
 */
import { ConfigError } from '../../core/errors.js';
import type { GemmDims, SystolicLayer } from './types.js';

export function gemmDims(layer: SystolicLayer): GemmDims {
  const oh = Math.ceil((layer.ifmapHeight - layer.filterHeight + layer.strideHeight) / layer.strideHeight);
  const ow = Math.ceil((layer.ifmapWidth - layer.filterWidth + layer.strideWidth) / layer.strideWidth);
  const kFull = layer.filterHeight * layer.filterWidth * layer.channels;
  const k = layer.packed ? layer.packed.keptRows.length : kFull;
  return { m: oh * ow, n: layer.numFilters, k, ofmapHeight: oh, ofmapWidth: ow };
}

/** A GEMM topology row (M, N, K) mapped onto conv fields exactly as SCALE-Sim's `-i gemm` does. */
export function gemmLayer(name: string, m: number, n: number, k: number): SystolicLayer {
  return { name, ifmapHeight: m, ifmapWidth: k, filterHeight: 1, filterWidth: k, channels: 1, numFilters: n, strideHeight: 1, strideWidth: 1 };
}

export function validateLayer(layer: SystolicLayer, where: string): void {
  for (const key of ['ifmapHeight', 'ifmapWidth', 'filterHeight', 'filterWidth', 'channels', 'numFilters', 'strideHeight', 'strideWidth'] as const) {
    const v = layer[key];
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${where}: ${key} = ${v} must be a positive integer`);
  }
  if (layer.filterHeight > layer.ifmapHeight) throw new ConfigError(`${where}: filter height ${layer.filterHeight} is larger than the ifmap height ${layer.ifmapHeight}`);
  if (layer.filterWidth > layer.ifmapWidth) throw new ConfigError(`${where}: filter width ${layer.filterWidth} is larger than the ifmap width ${layer.ifmapWidth}`);
  if (layer.packed) {
    const kFull = layer.filterHeight * layer.filterWidth * layer.channels;
    const kr = layer.packed.keptRows;
    if (kr.length < 1) throw new ConfigError(`${where}: packed weights keep no rows`);
    for (const r of kr) if (r < 0 || r >= kFull) throw new ConfigError(`${where}: packed row index ${r} is outside 0..${kFull - 1}`);
    if (layer.packed.values && layer.packed.values.length !== kr.length * layer.numFilters)
      throw new ConfigError(`${where}: packed values hold ${layer.packed.values.length} words, expected ${kr.length}×${layer.numFilters}`);
    const sel = layer.packed.select;
    if (sel) {
      if (sel.length !== kr.length * layer.numFilters) throw new ConfigError(`${where}: packed selects hold ${sel.length} entries, expected ${kr.length}×${layer.numFilters}`);
      for (const s of sel) if (s < -1 || s >= kFull) throw new ConfigError(`${where}: packed select ${s} is outside −1..${kFull - 1}`);
    }
  }
}

/**
 * Address tables of one layer's operands. `ifmap(m, k)` is the ifmap word feeding output pixel m
 * at window position k (−1 when the window reaches past the input); `filter(k, n)` and
 * `ofmap(m, n)` follow SCALE-Sim's layouts (filter n's window contiguous; ofmap pixel-major).
 * With packed weights, k indexes the packed rows: the ifmap address uses the original row, the
 * filter words are stored packed (K'×N, column n contiguous).
 */
export class OperandAddresses {
  readonly dims: GemmDims;
  /** Per output pixel: base word address, input row and column of the window origin. */
  readonly mBase: Int32Array;
  readonly mRow: Int32Array;
  readonly mCol: Int32Array;
  /** Per (packed) window position: offset inside the window, its row and column. */
  readonly kOff: Int32Array;
  readonly kRow: Int32Array;
  readonly kCol: Int32Array;
  readonly ifmapWords: number;
  readonly filterWords: number;
  readonly ofmapWords: number;
  private readonly h: number;
  private readonly w: number;
  /** Offsets, rows and columns of every original window position (for multiplexer selects). */
  private readonly full: { off: Int32Array; row: Int32Array; col: Int32Array };

  constructor(layer: SystolicLayer) {
    const d = gemmDims(layer);
    this.dims = d;
    const C = layer.channels;
    const W = layer.ifmapWidth;
    this.h = layer.ifmapHeight;
    this.w = W;
    this.mBase = new Int32Array(d.m);
    this.mRow = new Int32Array(d.m);
    this.mCol = new Int32Array(d.m);
    for (let m = 0; m < d.m; m++) {
      const oy = Math.floor(m / d.ofmapWidth);
      const ox = m - oy * d.ofmapWidth;
      const iy = oy * layer.strideHeight;
      const ix = ox * layer.strideWidth;
      this.mRow[m] = iy;
      this.mCol[m] = ix;
      this.mBase[m] = (iy * W + ix) * C;
    }
    const rowLen = layer.filterWidth * C;
    const kFull = layer.filterHeight * rowLen;
    const full = { off: new Int32Array(kFull), row: new Int32Array(kFull), col: new Int32Array(kFull) };
    for (let k = 0; k < kFull; k++) {
      const r = Math.floor(k / rowLen);
      const rem = k - r * rowLen;
      const c = Math.floor(rem / C);
      full.row[k] = r;
      full.col[k] = c;
      full.off[k] = (r * W + c) * C + (rem - c * C);
    }
    this.full = full;
    this.kOff = new Int32Array(d.k);
    this.kRow = new Int32Array(d.k);
    this.kCol = new Int32Array(d.k);
    for (let kk = 0; kk < d.k; kk++) {
      const k = layer.packed ? layer.packed.keptRows[kk] : kk;
      this.kRow[kk] = full.row[k];
      this.kCol[kk] = full.col[k];
      this.kOff[kk] = full.off[k];
    }
    this.ifmapWords = layer.ifmapHeight * layer.ifmapWidth * C;
    this.filterWords = d.k * d.n;
    this.ofmapWords = d.m * d.n;
  }

  ifmap(m: number, k: number): number {
    if (this.kRow[k] + this.mRow[m] < this.h && this.kCol[k] + this.mCol[m] < this.w) return this.mBase[m] + this.kOff[k];
    return -1;
  }

  /** The ifmap word of output pixel m at ORIGINAL window position k (−1 past the input); for multiplexer selects. */
  ifmapOriginal(m: number, k: number): number {
    const f = this.full;
    if (f.row[k] + this.mRow[m] < this.h && f.col[k] + this.mCol[m] < this.w) return this.mBase[m] + f.off[k];
    return -1;
  }

  filter(k: number, n: number): number {
    return n * this.dims.k + k;
  }

  ofmap(m: number, n: number): number {
    return this.dims.n * m + n;
  }
}
