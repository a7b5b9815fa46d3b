/**
 * Fold geometry and the per-cycle operand schedule shared by the analytical and cycle-level modes.
 *
 * A layer's GEMM (M×K times K×N) is cut into folds that fit the R×C array. Per dataflow:
 * - OS: array rows take output pixels (Sr = M), columns take filters (Sc = N), T = K steps stream
 *   through; a fold lasts T + R + C − 2 cycles.
 * - WS: rows take window positions (Sr = K), columns take filters (Sc = N); the fold first loads
 *   its weights (R cycles), then T = M ifmap rows stream through; 2R + C + T − 2 cycles.
 * - IS: as WS with the ifmap stationary (Sc = M) and the filter streaming (T = N).
 * Folds run column-fold-major (for each column fold, every row fold), as SCALE-Sim orders them.
 */
import type { Dataflow, GemmDims } from './types.js';

export interface FoldPlan {
  dataflow: Dataflow;
  rows: number;
  cols: number;
  /** Spatial extents mapped on rows and columns, and the temporal extent. */
  sr: number;
  sc: number;
  t: number;
  rowFolds: number;
  colFolds: number;
  /** Cycles (demand lines) per fold. */
  foldCycles: number;
}

export function foldPlan(dataflow: Dataflow, d: GemmDims, rows: number, cols: number): FoldPlan {
  const sr = dataflow === 'os' ? d.m : d.k;
  const sc = dataflow === 'is' ? d.m : d.n;
  const t = dataflow === 'os' ? d.k : dataflow === 'ws' ? d.m : d.n;
  const foldCycles = dataflow === 'os' ? t + rows + cols - 2 : 2 * rows + cols + t - 2;
  return { dataflow, rows, cols, sr, sc, t, rowFolds: Math.ceil(sr / rows), colFolds: Math.ceil(sc / cols), foldCycles };
}

/** Closed-form SRAM traffic of a fold plan (SCALE-Sim counts padded-window positions as reads too). */
export function sramTraffic(p: FoldPlan, d: GemmDims, compat: boolean): { ifmapReads: number; filterReads: number; ofmapWrites: number } {
  const folds = p.rowFolds * p.colFolds;
  if (p.dataflow === 'os') {
    return { ifmapReads: d.k * d.m * p.colFolds, filterReads: d.k * d.n * p.rowFolds, ofmapWrites: d.m * d.n + (compat ? (p.rows + p.cols) * folds : 0) };
  }
  if (p.dataflow === 'ws') return { ifmapReads: d.m * d.k * p.colFolds, filterReads: d.k * d.n, ofmapWrites: d.m * d.n * p.rowFolds };
  return { ifmapReads: d.k * d.m, filterReads: d.n * d.k * p.colFolds, ofmapWrites: d.m * d.n * p.rowFolds };
}

/** Mapping efficiency and compute utilisation averaged over folds, summed in SCALE-Sim's order. */
export function foldUtilisation(p: FoldPlan): { mappingEfficiency: number; computeUtil: number } {
  const pe = p.rows * p.cols;
  const utilCycles = p.dataflow === 'os' ? p.foldCycles : p.foldCycles + p.cols - 1;
  let map = 0;
  let util = 0;
  for (let fc = 0; fc < p.colFolds; fc++) {
    const colsUsed = Math.min(p.cols, p.sc - fc * p.cols);
    for (let fr = 0; fr < p.rowFolds; fr++) {
      const rowsUsed = Math.min(p.rows, p.sr - fr * p.rows);
      const used = rowsUsed * colsUsed;
      map += used / pe;
      util += (used * p.t) / (pe * utilCycles);
    }
  }
  const folds = p.rowFolds * p.colFolds;
  return { mappingEfficiency: map / folds, computeUtil: util / folds };
}

/** Number of ofmap words written at line j of a fold (the skewed drain), for every dataflow. */
export function ofmapWordsAt(p: FoldPlan, j: number, rowsUsed: number, colsUsed: number): number {
  let lo: number;
  let hi: number;
  if (p.dataflow === 'os') {
    // Row q of the flipped R×C result (array row R−1−q) leaves at line T−1+q+c.
    lo = j - (p.t + p.rows - 2);
    hi = j - (p.t - 1 + p.rows - rowsUsed);
  } else {
    // Output t of column c leaves the bottom of the array at line 2R−1+t+c.
    lo = j - (2 * p.rows - 2 + p.t);
    hi = j - (2 * p.rows - 1);
  }
  if (lo < 0) lo = 0;
  if (hi > colsUsed - 1) hi = colsUsed - 1;
  return hi >= lo ? hi - lo + 1 : 0;
}
