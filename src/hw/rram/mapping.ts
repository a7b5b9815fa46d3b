/**
 * Mapping of one quantized layer (K×N signed weight codes) onto RRAM crossbars.
 *
 * - Row tiles of `rows` inputs, column tiles of `outputsPerCrossbar` outputs; crossbar (t, u) holds
 *   rows t and outputs u. Every output's physical columns sit on the same crossbar (adjacent bit lines).
 * - Differential encoding: |w| in weightBits−1 bits, sliced LSB first into cells of bitsPerCell bits,
 *   one column for w > 0 and one for w < 0 per slice. Offset encoding: w + (2^(b−1)−1) sliced the same
 *   way, plus one reference column per crossbar whose cells all hold level 1 (its bit-line sum is the
 *   number of ones in the input bit-plane; the digital side subtracts offset × that count).
 * - Devices: each cell's conductance (in units of one level) is its level times (1 + σ·n), clamped at
 *   0; stuck-at-0 cells hold 0, stuck-at-1 cells the top level. Draws come from a generator seeded per
 *   crossbar (seed, layer, row tile, column tile), in row-major cell order.
 */
import { Rng } from '../../core/rng.js';
import type { QuantLayer } from '../../nn/runtime/index.js';
import { type RramConfig, outputsPerCrossbar, physicalColumnsPerOutput, referenceColumns, slicesPerWeight, weightOffset } from './config.js';

/** One physical bit line of a crossbar. */
export interface PhysicalColumn {
  /** Output (layer column) it belongs to, or −1 for the reference column. */
  output: number;
  slice: number;
  /** +1 or −1 (differential negative column); offset and reference columns are +1. */
  sign: number;
}

/** One crossbar: a row tile × column tile of a layer, its bit lines and cell conductances. */
export interface Crossbar {
  rowTile: number;
  colTile: number;
  r0: number;
  r1: number;
  /** Outputs o0…o1−1 of the layer. */
  o0: number;
  o1: number;
  columns: PhysicalColumn[];
  /** (r1−r0) × columns.length conductances in level units (row-major). */
  g: Float32Array;
  /** Same shape: the programmed integer levels (before variation). */
  levels: Int32Array;
}

export interface LayerMapping {
  rowTiles: number;
  colTiles: number;
  outputsPerCrossbar: number;
  /** Crossbars, row tiles outer, column tiles inner. */
  crossbars: Crossbar[];
}

/** A 32-bit mix of several integers (seeding per-crossbar generators and hashed noise). */
export function mix32(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d) >>> 0;
    h ^= h >>> 12;
  }
  return h >>> 0;
}

/** A standard normal determined by its key only (Box–Muller on two hashed uniforms). */
export function hashNormal(...key: number[]): number {
  const a = mix32(...key, 0x9e3779b9);
  const b = mix32(a, 0x85ebca6b);
  const u = (a + 1) / 4294967297;
  const v = b / 4294967296;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The level (0…2^bpc−1) a weight code puts in slice `s` of column polarity `sign`. */
export function cellLevel(c: RramConfig, w: number, slice: number, sign: number): number {
  const mask = 2 ** c.bitsPerCell - 1;
  let v: number;
  if (c.signedEncoding === 'differential') v = sign > 0 ? Math.max(w, 0) : Math.max(-w, 0);
  else v = w + weightOffset(c);
  return Math.floor(v / 2 ** (slice * c.bitsPerCell)) & mask;
}

/**
 * Maps a quantized layer onto crossbars and programs their cells (layerIndex seeds the device draws);
 * `cells: false` leaves `g` and `levels` empty (for users of the layout only, e.g. exact crossbars).
 */
export function mapLayer(c: RramConfig, L: QuantLayer, layerIndex: number, cells = true): LayerMapping {
  const opc = outputsPerCrossbar(c);
  const rowTiles = Math.ceil(L.k / c.rows);
  const colTiles = Math.ceil(L.n / opc);
  const slices = slicesPerWeight(c);
  const top = 2 ** c.bitsPerCell - 1;
  const varied = c.conductanceSpread > 0 || c.stuckAtZero > 0 || c.stuckAtOne > 0;
  const crossbars: Crossbar[] = [];
  for (let t = 0; t < rowTiles; t++)
    for (let u = 0; u < colTiles; u++) {
      const r0 = t * c.rows;
      const r1 = Math.min(L.k, r0 + c.rows);
      const o0 = u * opc;
      const o1 = Math.min(L.n, o0 + opc);
      const columns: PhysicalColumn[] = [];
      for (let o = o0; o < o1; o++)
        for (let s = 0; s < slices; s++) {
          columns.push({ output: o, slice: s, sign: 1 });
          if (c.signedEncoding === 'differential') columns.push({ output: o, slice: s, sign: -1 });
        }
      for (let r = 0; r < referenceColumns(c); r++) columns.push({ output: -1, slice: 0, sign: 1 });
      const nc = columns.length;
      if (!cells) {
        crossbars.push({ rowTile: t, colTile: u, r0, r1, o0, o1, columns, g: new Float32Array(0), levels: new Int32Array(0) });
        continue;
      }
      const levels = new Int32Array((r1 - r0) * nc);
      for (let i = r0; i < r1; i++)
        for (let q = 0; q < nc; q++) {
          const col = columns[q];
          levels[(i - r0) * nc + q] = col.output < 0 ? 1 : cellLevel(c, L.wq[i * L.n + col.output], col.slice, col.sign);
        }
      const g = Float32Array.from(levels);
      if (varied) {
        const rng = new Rng(mix32(c.seed, layerIndex, t, u));
        for (let p = 0; p < g.length; p++) {
          const f = rng.next();
          const n = rng.normal();
          if (f < c.stuckAtZero) g[p] = 0;
          else if (f < c.stuckAtZero + c.stuckAtOne) g[p] = top;
          else g[p] = Math.max(0, levels[p] * (1 + c.conductanceSpread * n));
        }
      }
      crossbars.push({ rowTile: t, colTile: u, r0, r1, o0, o1, columns, g, levels });
    }
  return { rowTiles, colTiles, outputsPerCrossbar: opc, crossbars };
}

/** Physical bit lines a layer uses in one read of all its crossbars (data + reference columns). */
export function layerPhysicalColumns(c: RramConfig, L: QuantLayer, m: LayerMapping): number {
  return m.rowTiles * (L.n * physicalColumnsPerOutput(c) + m.colTiles * referenceColumns(c));
}
