/**
 * The tight packed format: a lossless per-nonzero packing of a sparse filter matrix F (rows = output
 * channels, cols = input features) for a weight-stationary systolic array.
 *
 * - The rows of F, in the order `rowOrder`, are cut into tiles of `tileRows` rows (the array
 *   dimension that holds output channels); the columns, in the order `colOrder`, are cut into groups
 *   of `groupSize` consecutive positions (the fan-in of each PE's input multiplexer).
 * - Block (tile t, group p) gets w(t, p) = the largest number of nonzeros any of its rows has in the
 *   group: that many packed columns. In every row the nonzeros of the group are squeezed into slots
 *   0..nnz−1 in column order; each slot stores the weight and its index (position inside the group,
 *   the multiplexer select). Empty slots hold weight 0 and index 0.
 * - Partial sums stay on their rows, so outputs need no reordering inside a tile; `rowOrder` only
 *   renames output channels and `colOrder` only changes input-buffer addressing.
 *
 * Nothing is dropped, so `unpackTight(packTight(F, …))` is F exactly, for any orders.
 */
import { ConfigError } from '../core/errors.js';
import { type IntMatrix, intMatrix } from './matrix.js';

export interface TightLayout {
  /** Output channels per tile (array columns in the weight-stationary mapping). */
  tileRows: number;
  /** Columns per group: the multiplexer fan-in. */
  groupSize: number;
}

export interface TightPacked extends TightLayout {
  rows: number;
  cols: number;
  /** Physical row position → original row. */
  rowOrder: Int32Array;
  /** Column position → original column; group p holds positions p·groupSize … (p+1)·groupSize − 1. */
  colOrder: Int32Array;
  numTiles: number;
  numGroups: number;
  /** w(t, p), tile-major (numTiles × numGroups). */
  widths: Int32Array;
  /** First packed column of tile t in `values` / `index` (numTiles + 1 offsets, in slots per row). */
  tileOffset: Int32Array;
  /** Per tile, tileRows × (packed columns of the tile), row-major, tiles concatenated. */
  values: Int32Array;
  /** Multiplexer select of each slot (position inside its group), same layout as `values`. */
  index: Uint16Array;
}

export function checkLayout(l: TightLayout, rows: number, cols: number): void {
  if (!Number.isInteger(l.tileRows) || l.tileRows < 1)
    throw new ConfigError(`packing: tileRows ${l.tileRows} must be a positive integer (the array dimension holding output channels)`);
  if (!Number.isInteger(l.groupSize) || l.groupSize < 1 || l.groupSize > 65535)
    throw new ConfigError(`packing: groupSize ${l.groupSize} must be an integer in 1…65535 (the multiplexer fan-in)`);
  if (rows < 1 || cols < 1) throw new ConfigError(`packing: empty ${rows}×${cols} matrix`);
}

export function identityOrder(n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return p;
}

function checkOrder(order: Int32Array, n: number, what: string): void {
  if (order.length !== n) throw new ConfigError(`packing: ${what} order has ${order.length} entries, expected ${n}`);
  const seen = new Uint8Array(n);
  for (const v of order) {
    if (v < 0 || v >= n || seen[v]) throw new ConfigError(`packing: ${what} order is not a permutation of 0…${n - 1}`);
    seen[v] = 1;
  }
}

/** Packs F with the given row and column orders (identity when omitted). */
export function packTight(m: IntMatrix, layout: TightLayout, orders: { rowOrder?: Int32Array; colOrder?: Int32Array } = {}): TightPacked {
  checkLayout(layout, m.rows, m.cols);
  const rowOrder = orders.rowOrder ?? identityOrder(m.rows);
  const colOrder = orders.colOrder ?? identityOrder(m.cols);
  checkOrder(rowOrder, m.rows, 'row');
  checkOrder(colOrder, m.cols, 'column');
  const { tileRows: h, groupSize: g } = layout;
  const numTiles = Math.ceil(m.rows / h);
  const numGroups = Math.ceil(m.cols / g);
  const widths = new Int32Array(numTiles * numGroups);
  for (let t = 0; t < numTiles; t++) {
    for (let pos = t * h; pos < Math.min(m.rows, (t + 1) * h); pos++) {
      const base = rowOrder[pos] * m.cols;
      for (let p = 0; p < numGroups; p++) {
        let c = 0;
        for (let q = p * g; q < Math.min(m.cols, (p + 1) * g); q++) if (m.values[base + colOrder[q]] !== 0) c++;
        if (c > widths[t * numGroups + p]) widths[t * numGroups + p] = c;
      }
    }
  }
  const tileOffset = new Int32Array(numTiles + 1);
  for (let t = 0; t < numTiles; t++) {
    let s = 0;
    for (let p = 0; p < numGroups; p++) s += widths[t * numGroups + p];
    tileOffset[t + 1] = tileOffset[t] + s;
  }
  const values = new Int32Array(tileOffset[numTiles] * h);
  const index = new Uint16Array(values.length);
  for (let t = 0; t < numTiles; t++) {
    const width = tileOffset[t + 1] - tileOffset[t];
    const tileBase = tileOffset[t] * h;
    for (let i = 0; i < h && t * h + i < m.rows; i++) {
      const base = rowOrder[t * h + i] * m.cols;
      let slot = tileBase + i * width;
      for (let p = 0; p < numGroups; p++) {
        const end = slot + widths[t * numGroups + p];
        for (let q = p * g; q < Math.min(m.cols, (p + 1) * g); q++) {
          const v = m.values[base + colOrder[q]];
          if (v !== 0) {
            values[slot] = v;
            index[slot] = q - p * g;
            slot++;
          }
        }
        slot = end;
      }
    }
  }
  return { rows: m.rows, cols: m.cols, tileRows: h, groupSize: g, rowOrder, colOrder, numTiles, numGroups, widths, tileOffset, values, index };
}

/** Rebuilds F from its packed form. */
export function unpackTight(pk: TightPacked): IntMatrix {
  const m = intMatrix(pk.rows, pk.cols);
  const { tileRows: h, groupSize: g, numGroups } = pk;
  for (let t = 0; t < pk.numTiles; t++) {
    const width = pk.tileOffset[t + 1] - pk.tileOffset[t];
    const tileBase = pk.tileOffset[t] * h;
    for (let i = 0; i < h && t * h + i < pk.rows; i++) {
      const base = pk.rowOrder[t * h + i] * pk.cols;
      let slot = tileBase + i * width;
      for (let p = 0; p < numGroups; p++) {
        for (let s = 0; s < pk.widths[t * numGroups + p]; s++, slot++) {
          const v = pk.values[slot];
          if (v !== 0) m.values[base + pk.colOrder[p * g + pk.index[slot]]] = v;
        }
      }
    }
  }
  return m;
}

/** Packed slots: tileRows × Σ w(t, p) (the last tile is padded to full height). */
export function tightSlots(pk: TightPacked): number {
  return pk.values.length;
}

/**
 * y = F·x for one input vector, computed the way the packed array does it: each slot multiplies its
 * weight by the input its multiplexer selects, and the products add along the row.
 */
export function tightMatVec(pk: TightPacked, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(pk.rows);
  const { tileRows: h, groupSize: g, numGroups } = pk;
  for (let t = 0; t < pk.numTiles; t++) {
    const width = pk.tileOffset[t + 1] - pk.tileOffset[t];
    const tileBase = pk.tileOffset[t] * h;
    for (let i = 0; i < h && t * h + i < pk.rows; i++) {
      let slot = tileBase + i * width;
      let acc = 0;
      for (let p = 0; p < numGroups; p++) {
        for (let s = 0; s < pk.widths[t * numGroups + p]; s++, slot++) {
          const col = p * g + pk.index[slot];
          if (col < pk.cols) acc += pk.values[slot] * x[pk.colOrder[col]];
        }
      }
      y[pk.rowOrder[t * h + i]] = acc;
    }
  }
  return y;
}

/** Tile t of the packed matrix as a tileRows × (packed columns of the tile) matrix of its values. */
export function packedTile(pk: TightPacked, t: number): IntMatrix {
  const width = pk.tileOffset[t + 1] - pk.tileOffset[t];
  const base = pk.tileOffset[t] * pk.tileRows;
  return intMatrix(pk.tileRows, Math.max(1, width), width ? pk.values.slice(base, base + pk.tileRows * width) : new Int32Array(pk.tileRows));
}

/** Fraction of nonzeros in cells of `cell`×`cell` entries: a picture of a matrix (row-major grid). */
export function occupancyGrid(m: IntMatrix, cell: number): { rows: number; cols: number; density: number[] } {
  const gr = Math.ceil(m.rows / cell);
  const gc = Math.ceil(m.cols / cell);
  const nz = new Float64Array(gr * gc);
  const n = new Float64Array(gr * gc);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const i = Math.floor(r / cell) * gc + Math.floor(c / cell);
      n[i]++;
      if (m.values[r * m.cols + c] !== 0) nz[i]++;
    }
  }
  return { rows: gr, cols: gc, density: Array.from(nz, (v, i) => v / n[i]) };
}
