/**
 * Packed-weight hook. A layer may carry `PackedWeights` (see types.ts): the rows of its K×N filter
 * matrix that survive packing, stored densely (K'×N) with some metadata. The simulator runs the
 * compacted GEMM M×N×K' (the ifmap words of dropped rows are never fetched), reads the metadata
 * alongside the filter words (same SRAM and DRAM traffic ratio, on a side channel: no extra cycles)
 * and prices it like filter traffic. A compression study plugs in its own `PackedWeightFormat`.
 *
 * `rowBitmaskFormat` is the simple reference format: drop the all-zero rows, keep a K-bit mask.
 */
import type { PackedWeightFormat, PackedWeights, SystolicLayer } from './types.js';

/** Word size of the simulated memories (bytes), as in SCALE-Sim. */
export const WORD_BITS = 8;

export const rowBitmaskFormat: PackedWeightFormat = {
  name: 'row-bitmask',
  pack(weights: Int32Array, k: number, n: number): PackedWeights {
    const kept: number[] = [];
    for (let r = 0; r < k; r++) {
      let nz = false;
      for (let j = 0; j < n && !nz; j++) nz = weights[r * n + j] !== 0;
      if (nz) kept.push(r);
    }
    // A layer keeps at least one row so the array has something to do.
    if (kept.length === 0) kept.push(0);
    const values = new Int32Array(kept.length * n);
    kept.forEach((r, i) => {
      values.set(weights.subarray(r * n, r * n + n), i * n);
    });
    return { format: 'row-bitmask', keptRows: Int32Array.from(kept), values, metadataWords: Math.ceil(k / WORD_BITS) };
  },
};

/** The K×N (k-major) filter matrix of a layer from its operand-ordered filter words (n·K + k). */
export function filterMatrix(filterWords: Int32Array, k: number, n: number): Int32Array {
  const w = new Int32Array(k * n);
  for (let j = 0; j < n; j++) for (let r = 0; r < k; r++) w[r * n + j] = filterWords[j * k + r];
  return w;
}

/** The layer with its weights packed by `format`. */
export function withPackedWeights(layer: SystolicLayer, format: PackedWeightFormat, weights: Int32Array): SystolicLayer {
  const k = layer.filterHeight * layer.filterWidth * layer.channels;
  return { ...layer, packed: format.pack(weights, k, layer.numFilters) };
}
