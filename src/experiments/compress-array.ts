/**
 * Packed layers on the systolic array. A packed filter matrix F (rows = output channels) becomes
 * one `SystolicLayer` per tile of output channels (the tiles have different packed depths): the
 * array's columns hold the tile's filters, its rows the tile's packed slots, and every PE gets a
 * multiplexer select (`PackedWeights.select`, hw/systolic/types.ts) naming the original reduction
 * row it multiplies. Formats: the tight and budgeted formats (a `TightPacked`, widths ≤ k for the
 * budgeted one), its subword variant (a subword slot's value is its subword shifted by its
 * significance) and column combining.
 *
 * Overhead accounting (priced by hw/systolic/energy.ts on their own rows):
 * - index metadata: ⌈log2 fan-in⌉ select bits per slot (+ the shift bit of a subword slot), stored
 *   with the filter words;
 * - input buses: a block (tile, group) of w packed rows needs the group's inputs on its rows'
 *   buses; the scratchpads see one word per packed row, the other max(0, inputs − w) words per
 *   input vector are counted as bus reads (read once at the array edge and fanned out to the block's
 *   rows), and each PE forwards its fan-in − 1 extra bus words.
 * Subword slot values are moved as full 8-b words by the simulator (an upper bound on their traffic).
 */
import type { ColumnCombined } from '../compress/column-combine.js';
import { log2Ceil } from '../compress/rates.js';
import type { TightPacked } from '../compress/tight.js';
import type { SystolicLayer } from '../hw/systolic/types.js';

/** One tile of output channels of a packed layer, ready for the array. */
export interface PackedTile {
  /** Original output channel of each tile column. */
  filters: Int32Array;
  /** Packed rows K'. */
  depth: number;
  /** K'×filters original reduction row per slot (−1 empty) and the slot's integer weight. */
  select: Int32Array;
  values: Int32Array;
  /** First bus word of each packed row. */
  keptRows: Int32Array;
  busWordsPerVector: number;
}

export interface SubwordShape {
  /** Subwords per weight (subword columns per weight column). */
  perWeight: number;
  subwordBits: number;
}

/** The tiles of a tight/budgeted packing (F's columns are subword columns when `subword` is given). */
export function tightTiles(pk: TightPacked, subword?: SubwordShape): PackedTile[] {
  const { tileRows: h, groupSize: g, numGroups: P } = pk;
  const s = subword?.perWeight ?? 1;
  const orig = (col: number) => Math.floor(col / s);
  const scale = (col: number) => 2 ** ((subword?.subwordBits ?? 0) * (s - 1 - (col % s)));
  const tiles: PackedTile[] = [];
  for (let t = 0; t < pk.numTiles; t++) {
    const width = pk.tileOffset[t + 1] - pk.tileOffset[t];
    if (width === 0) continue;
    const nf = Math.min(h, pk.rows - t * h);
    const filters = pk.rowOrder.slice(t * h, t * h + nf);
    const select = new Int32Array(width * nf).fill(-1);
    const values = new Int32Array(width * nf);
    const keptRows = new Int32Array(width);
    const groupOfCol = new Int32Array(width);
    let bus = 0;
    let j = 0;
    for (let p = 0; p < P; p++) {
      const w = pk.widths[t * P + p];
      if (w === 0) continue;
      const inputs = new Set<number>();
      for (let q = p * g; q < Math.min(pk.cols, (p + 1) * g); q++) inputs.add(orig(pk.colOrder[q]));
      bus += Math.max(0, inputs.size - w);
      for (let x = 0; x < w; x++, j++) {
        groupOfCol[j] = p;
        keptRows[j] = orig(pk.colOrder[p * g]);
      }
    }
    const base = pk.tileOffset[t] * h;
    for (let i = 0; i < nf; i++) {
      for (let c = 0; c < width; c++) {
        const slot = base + i * width + c;
        const v = pk.values[slot];
        if (v === 0) continue;
        const col = pk.colOrder[groupOfCol[c] * g + pk.index[slot]];
        select[c * nf + i] = orig(col);
        values[c * nf + i] = v * scale(col);
      }
    }
    tiles.push({ filters, depth: width, select, values, keptRows, busWordsPerVector: bus });
  }
  return tiles;
}

/** The tiles of a column-combined matrix: every combined column is one packed row of every tile. */
export function columnCombinedTiles(cc: ColumnCombined, tileRows: number): PackedTile[] {
  const P = cc.groups.length;
  if (P === 0) return [];
  const tiles: PackedTile[] = [];
  const keptRows = Int32Array.from(cc.groups, (ms) => ms[0]);
  const bus = cc.groups.reduce((sum, ms) => sum + ms.length - 1, 0);
  for (let t = 0; t * tileRows < cc.rows; t++) {
    const nf = Math.min(tileRows, cc.rows - t * tileRows);
    const filters = Int32Array.from({ length: nf }, (_, i) => t * tileRows + i);
    const select = new Int32Array(P * nf).fill(-1);
    const values = new Int32Array(P * nf);
    for (let i = 0; i < nf; i++) {
      const r = filters[i];
      for (let p = 0; p < P; p++) {
        const v = cc.values[r * P + p];
        if (v === 0) continue;
        select[p * nf + i] = cc.groups[p][cc.index[r * P + p]];
        values[p * nf + i] = v;
      }
    }
    tiles.push({ filters, depth: P, select, values, keptRows, busWordsPerVector: bus });
  }
  return tiles;
}

export interface ArrayFormat {
  name: string;
  /** Multiplexer fan-in of a PE. */
  fanIn: number;
  /** Stored bits of a slot value (8 for words, 5 for sign-magnitude 4-bit subwords). */
  slotBits: number;
  /** Extra select bits per slot beyond ⌈log2 fan-in⌉ (1: the shift of a subword slot). */
  extraIndexBits?: number;
}

/** The array layers of a packed layer: one per tile, named `<layer>#<tile>`. */
export function packedArrayLayers(base: SystolicLayer, tiles: readonly PackedTile[], f: ArrayFormat): SystolicLayer[] {
  const indexBits = log2Ceil(f.fanIn) + (f.extraIndexBits ?? 0);
  return tiles.map((t, i) => ({
    ...base,
    name: `${base.name}#${i}`,
    numFilters: t.filters.length,
    packed: {
      format: f.name,
      keptRows: t.keptRows,
      values: t.values,
      metadataWords: Math.ceil((t.depth * t.filters.length * indexBits) / 8),
      select: t.select,
      muxFanIn: f.fanIn,
      busWordsPerVector: t.busWordsPerVector,
      slotBits: f.slotBits,
    },
  }));
}

/** The M×N outputs of the original layer from its tiles' M×(tile filters) outputs. */
export function assembleTileOutputs(tiles: readonly PackedTile[], outputs: readonly Int32Array[], m: number, n: number): Int32Array {
  const out = new Int32Array(m * n);
  tiles.forEach((t, i) => {
    const nf = t.filters.length;
    for (let px = 0; px < m; px++) for (let j = 0; j < nf; j++) out[px * n + t.filters[j]] = outputs[i][px * nf + j];
  });
  return out;
}
