/**
 * Quantized inference with a pluggable integer GEMM. The runtime does everything around the
 * product (im2col, activation codes, zero-point corrections, dequantization, bias, activation,
 * pooling); a hardware model supplies only the product of each conv/dense layer, as an
 * `IntGemmEngine`. `exactIntGemm` is the ideal engine (exact integer arithmetic); `tiledEngine`
 * cuts a layer into rows × columns array tiles and adds the row tiles' partial sums digitally.
 */
import { ConfigError } from '../../core/errors.js';
import { gemmInput, walkWorkload } from './forward.js';
import { type MatMulEngine, type MatMulOperand, plainMatMul } from './matmul.js';
import { type QuantizedWorkload, type QuantLayer, quantizeActivations } from './quantize.js';

/** The integer product of one layer, prepared once for its weights. */
export interface IntGemmLayer {
  /**
   * x: M×K input codes (integers stored as floats, row-major). Returns the M×N products Σ_k x·w_q
   * in code units (exact for ideal hardware, the hardware's estimate otherwise).
   */
  run(x: Float32Array, m: number): Float32Array;
  dispose?(): void;
}

/** A hardware model's integer GEMM: prepares each quantized layer (called once per layer, in layer order). */
export interface IntGemmEngine {
  prepare(layer: QuantLayer): IntGemmLayer;
}

/** Exact integer GEMM (float products of integer codes are exact below 2^24). */
export function exactIntGemm(mm: MatMulEngine = plainMatMul): IntGemmEngine {
  return {
    prepare(L) {
      const w: MatMulOperand = mm.prepare(Float32Array.from(L.wq), L.k, L.n);
      return { run: (x, m) => mm.run(x, m, L.k, w), dispose: () => mm.release(w) };
    },
  };
}

/** One tile of a layer's K×N weight matrix: rows r0…r1−1, columns c0…c1−1. */
export interface LayerTile {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** The tiles of a K×N matrix on rows × columns arrays, row tiles outer, column tiles inner. */
export function layerTiles(k: number, n: number, rows: number, columns: number): LayerTile[] {
  const out: LayerTile[] = [];
  for (let r0 = 0; r0 < k; r0 += rows) for (let c0 = 0; c0 < n; c0 += columns) out.push({ r0, r1: Math.min(k, r0 + rows), c0, c1: Math.min(n, c0 + columns) });
  return out;
}

/** Rows r0…r1−1 and columns c0…c1−1 of a row-major matrix with `cols` columns. */
export function subMatrix<A extends Float32Array | Int32Array>(a: A, cols: number, r0: number, r1: number, c0: number, c1: number): A {
  const w = c1 - c0;
  const out = new (a.constructor as { new (n: number): A })((r1 - r0) * w);
  for (let r = r0; r < r1; r++) out.set(a.subarray(r * cols + c0, r * cols + c1), (r - r0) * w);
  return out;
}

/** The product of one tile: x is M×(r1−r0) codes, returns M×(c1−c0). */
export interface TileGemm {
  run(x: Float32Array, m: number): Float32Array;
  dispose?(): void;
}

/**
 * An engine that maps each layer onto rows × columns tiles: `tile` is called once per tile (row
 * tiles outer, column tiles inner, layers in order) with the tile's weight codes; a layer's result
 * is the digital sum of its row tiles' results.
 */
export function tiledEngine(rows: number, columns: number, tile: (layer: QuantLayer, t: LayerTile, w: Int32Array) => TileGemm): IntGemmEngine {
  return {
    prepare(L) {
      const tiles = layerTiles(L.k, L.n, rows, columns).map((t) => ({ t, g: tile(L, t, subMatrix(L.wq, L.n, t.r0, t.r1, t.c0, t.c1)) }));
      return {
        run(x, m) {
          const out = new Float32Array(m * L.n);
          let xs: Float32Array | null = null;
          let xr0 = -1;
          for (const { t, g } of tiles) {
            if (t.r0 !== xr0) {
              xs = subMatrix(x, L.k, 0, m, t.r0, t.r1);
              xr0 = t.r0;
            }
            const y = g.run(xs as Float32Array, m);
            const cc = t.c1 - t.c0;
            for (let r = 0; r < m; r++) for (let j = 0; j < cc; j++) out[r * L.n + t.c0 + j] += y[r * cc + j];
          }
          return out;
        },
        dispose() {
          for (const { g } of tiles) g.dispose?.();
        },
      };
    },
  };
}

/** What a quantized forward pass shows of one conv/dense layer. */
export interface QuantLayerCapture {
  layer: QuantLayer;
  batch: number;
  /** M×K input codes (im2col'd for convolutions), M = batch × output positions. */
  codes: Float32Array;
  m: number;
  /** M×N products returned by the engine (code units, before zero-point corrections). */
  products: Float32Array;
  /** M×N layer output after dequantization, bias and activation. */
  output: Float32Array;
}

export interface QuantForwardOptions {
  capture?: (c: QuantLayerCapture) => void;
}

/** A quantized workload bound to an engine: every layer prepared once, ready to run batches. */
export class BoundNetwork {
  readonly qw: QuantizedWorkload;
  private readonly layers: Map<number, IntGemmLayer>;

  constructor(qw: QuantizedWorkload, engine: IntGemmEngine) {
    this.qw = qw;
    this.layers = new Map(qw.layers.map((L) => [L.opIndex, engine.prepare(L)]));
  }

  /** Outputs (B × last op's size) for raw inputs x (B examples). */
  forward(x: Float32Array, batch: number, o: QuantForwardOptions = {}): Float32Array {
    const { workload: wl, actRange } = this.qw;
    let li = 0;
    return walkWorkload(wl, x, batch, (op, i, a) => {
      const L = this.qw.layers[li++];
      const g = this.layers.get(i);
      if (!g || L.opIndex !== i) throw new ConfigError(`runtime: quantized layers do not match the workload at op ${i} ('${op.name}')`);
      // Activation codes first, then im2col: the same as quantizing the patches (padding taps are code 0 = value 0).
      const q = gemmInput(op, quantizeActivations(a, L.inScale, actRange), batch);
      const m = q.length / L.k;
      const products = g.run(q, m);
      const acc = zeroPointCorrected(L, q, m, products);
      const P = L.biasPerPosition ? L.bias.length / L.n : 1;
      const out = acc === products ? new Float32Array(products) : acc;
      for (let r = 0; r < m; r++) {
        const bOff = L.biasPerPosition ? (r % P) * L.n : 0;
        for (let j = 0; j < L.n; j++) {
          let v = out[r * L.n + j] * L.inScale * L.wScale[j] + L.bias[bOff + j];
          if (op.activation === 'relu' && v < 0) v = 0;
          out[r * L.n + j] = v;
        }
      }
      o.capture?.({ layer: L, batch, codes: q, m, products, output: out });
      return out;
    });
  }

  dispose(): void {
    for (const g of this.layers.values()) g.dispose?.();
  }
}

/** x·(w − zw) from x·w: subtracts zw·rowsum(x) per channel; returns `y` itself when every weight zero-point is 0. */
function zeroPointCorrected(L: QuantLayer, x: Float32Array, m: number, y: Float32Array): Float32Array {
  if (L.wZero.every((z) => z === 0)) return y;
  const out = new Float32Array(y);
  for (let r = 0; r < m; r++) {
    let rowSum = 0;
    for (let p = 0; p < L.k; p++) rowSum += x[r * L.k + p];
    for (let j = 0; j < L.n; j++) out[r * L.n + j] -= L.wZero[j] * rowSum;
  }
  return out;
}

/** One quantized forward pass: binds the engine, runs, releases. */
export function runQuantized(qw: QuantizedWorkload, x: Float32Array, batch: number, engine: IntGemmEngine, o: QuantForwardOptions = {}): Float32Array {
  const net = new BoundNetwork(qw, engine);
  try {
    return net.forward(x, batch, o);
  } finally {
    net.dispose();
  }
}
