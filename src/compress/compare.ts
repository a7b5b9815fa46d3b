/**
 * One pruned weight matrix packed by every method on the same array, with bits, rates and the
 * exactness check: column combining (the baseline, lossy; with its γ, and with γ = 1 so its groups
 * are full — the budgeted format's k = 1 shape at the same rate), the tight format in the identity
 * order, the tight format after the permutation search, the tight format over subwords after
 * subword pruning and its own permutation search, and the budgeted format (k slots per row and
 * group, pruned-magnitude search) over words and over subwords.
 *
 * `change` of every method compares what the packed array computes with the input matrix:
 * weights changed (pruned by packing, or by subword pruning) and Σ|Δw| / Σ|w|, Σ Δw² / Σ w².
 */
import { type BudgetSearchOptions, type BudgetSearchStats, packBudgeted, searchBudgetOrders } from './budget.js';
import { type ColumnCombined, type ColumnCombineOptions, combineColumns, unpackColumnCombined } from './column-combine.js';
import { type IntMatrix, matricesEqual, nonzeros } from './matrix.js';
import { type SearchOptions, type SearchStats, searchOrders } from './permute.js';
import { columnCombinedRate, type PackRate, tightRate } from './rates.js';
import {
  DEFAULT_SUBWORD,
  mergeSubwords,
  nonzeroSubwords,
  pruneSubwords,
  type SubwordRounding,
  type SubwordSpec,
  splitSubwords,
  subwordColumnScale,
  subwordsPerWeight,
  subwordValueBits,
} from './subword.js';
import { packTight, type TightLayout, type TightPacked, unpackTight } from './tight.js';

export interface PackMethodsConfig extends TightLayout {
  seed: number;
  /** Bits of a weight code. Default 8. */
  weightBits?: number;
  columnCombine?: Partial<ColumnCombineOptions>;
  search?: Omit<SearchOptions, 'seed'>;
  /** Subword pruning before subword packing: fraction of nonzero subwords removed. Default 0.25. */
  subwordFraction?: number;
  subwordRounding?: SubwordRounding;
  subwordSpec?: Omit<SubwordSpec, 'weightBits'>;
  /** Budgeted format: slots per row and group (k). Default 1. The subword variant uses groups of groupSize·subwordsPerWeight subword columns. */
  budgetSlots?: number;
  budgetSearch?: Omit<BudgetSearchOptions, 'seed'>;
}

/** What the packed array computes vs the input matrix. */
export interface ChangeStats {
  /** Weights whose value changed (pruned by packing, or rounded by subword pruning). */
  changed: number;
  /** Σ|Δw| / Σ|w| and Σ Δw² / Σ w² over the input matrix. */
  l1Share: number;
  l2Share: number;
}

export function changeStats(m: IntMatrix, computed: IntMatrix): ChangeStats {
  let changed = 0;
  let l1 = 0;
  let l1d = 0;
  let l2 = 0;
  let l2d = 0;
  for (let i = 0; i < m.values.length; i++) {
    const v = m.values[i];
    const d = v - computed.values[i];
    l1 += Math.abs(v);
    l2 += v * v;
    if (d !== 0) {
      changed++;
      l1d += Math.abs(d);
      l2d += d * d;
    }
  }
  return { changed, l1Share: l1 > 0 ? l1d / l1 : 0, l2Share: l2 > 0 ? l2d / l2 : 0 };
}

export interface MethodRate extends PackRate {
  /** Nonzero weights (or subwords) the packed form holds. */
  nonzeros: number;
  /** Unpacking gives back the matrix it packed: F for the lossless formats, the pruned matrix for the budgeted ones. */
  exact: boolean;
  change: ChangeStats;
  /** Wall-clock seconds of the method (its permutation search included). */
  seconds: number;
}

/** The packed forms themselves (for the array simulation); not part of the JSON results. */
export interface Packings {
  columnCombining: ColumnCombined;
  columnCombiningFull: ColumnCombined;
  permutation: TightPacked;
  permutationSubword: TightPacked;
  budgeted: TightPacked;
  budgetedSubword: TightPacked;
}

export interface PackMethodsResult {
  rows: number;
  cols: number;
  nonzeros: number;
  sparsity: number;
  /** The word-level bound 1 / density. */
  idealRate: number;
  /** Σ|w| and Σw² of the input matrix (to weight the `change` shares across layers). */
  weightL1: number;
  weightL2: number;
  columnCombining: MethodRate & { prunedByConflicts: number; combinedColumns: number };
  tight: MethodRate;
  permutation: MethodRate & { search: SearchStats };
  permutationSubword: MethodRate & { search: SearchStats; subwordsBefore: number; subwordsAfter: number; weightsZeroed: number };
  columnCombiningFull: MethodRate & { prunedByConflicts: number; combinedColumns: number };
  budgeted: MethodRate & { slotsPerGroup: number; search: BudgetSearchStats };
  budgetedSubword: MethodRate & { slotsPerGroup: number; groupSize: number; search: BudgetSearchStats; subwordsPrunedByPacking: number };
  /** Every tight-family packing unpacks exactly to the matrix it packed (the pruned one for the budgeted formats). */
  exact: boolean;
  packings: Packings;
}

export const DEFAULT_BUDGET_SLOTS = 1;

export const DEFAULT_SUBWORD_FRACTION = 0.25;

export function packMethods(m: IntMatrix, c: PackMethodsConfig): PackMethodsResult {
  const weightBits = c.weightBits ?? 8;
  const layout: TightLayout = { tileRows: c.tileRows, groupSize: c.groupSize };
  const nnz = nonzeros(m);
  const total = m.rows * m.cols;

  let t0 = performance.now();
  const lap = () => {
    const t = performance.now();
    const d = (t - t0) / 1000;
    t0 = t;
    return d;
  };
  const combined = (cc: ColumnCombined) => {
    const back = unpackColumnCombined(cc);
    return {
      seconds: lap(),
      ...columnCombinedRate(cc, c.tileRows, weightBits),
      nonzeros: nnz - cc.prunedByConflicts,
      exact: cc.prunedByConflicts === 0 && matricesEqual(back, m),
      change: changeStats(m, back),
      prunedByConflicts: cc.prunedByConflicts,
      combinedColumns: cc.groups.length,
    };
  };
  const cc = combineColumns(m, { maxColumns: c.groupSize, ...c.columnCombine });
  const columnCombining = combined(cc);
  const ccFull = combineColumns(m, { ...c.columnCombine, maxColumns: c.groupSize, maxOverlap: 1 });
  const columnCombiningFull = combined(ccFull);
  const none: ChangeStats = { changed: 0, l1Share: 0, l2Share: 0 };

  const word = { weightBits, valueBits: weightBits, subwordsPerWeight: 1 };
  const identity = packTight(m, layout);
  const tight = { ...tightRate(identity, word), nonzeros: nnz, exact: matricesEqual(unpackTight(identity), m), change: none, seconds: lap() };

  const found = searchOrders(m, layout, { ...c.search, seed: c.seed });
  const permuted = packTight(m, layout, found);
  const permutation = { ...tightRate(permuted, word), nonzeros: nnz, exact: matricesEqual(unpackTight(permuted), m), change: none, search: found.stats, seconds: lap() };

  const spec: SubwordSpec = { ...DEFAULT_SUBWORD, ...c.subwordSpec, weightBits };
  const sp = pruneSubwords(m, { fraction: c.subwordFraction ?? DEFAULT_SUBWORD_FRACTION, rounding: c.subwordRounding, spec });
  const sm = splitSubwords(sp.matrix, spec);
  const sfound = searchOrders(sm, layout, { ...c.search, seed: c.seed + 1 });
  const spacked = packTight(sm, layout, sfound);
  const sback = mergeSubwords(unpackTight(spacked), spec);
  const subBits = { weightBits, valueBits: subwordValueBits(spec), subwordsPerWeight: subwordsPerWeight(spec), shiftSelect: spec.shiftSelect };
  const permutationSubword = {
    ...tightRate(spacked, subBits),
    nonzeros: nonzeroSubwords(sp.matrix, spec),
    exact: matricesEqual(sback, sp.matrix),
    change: changeStats(m, sp.matrix),
    search: sfound.stats,
    seconds: lap(),
    subwordsBefore: sp.subwordsBefore,
    subwordsAfter: sp.subwordsAfter,
    weightsZeroed: sp.weightsZeroed,
  };

  // Budgeted, words: k slots per row per group of groupSize columns.
  const k = c.budgetSlots ?? DEFAULT_BUDGET_SLOTS;
  const bl = { ...layout, slotsPerGroup: Math.min(k, c.groupSize) };
  const bfound = searchBudgetOrders(m, bl, { ...c.budgetSearch, seed: c.seed + 2 });
  const bp = packBudgeted(m, bl, bfound);
  const budgeted = {
    ...tightRate(bp.packed, { ...word, maxWidth: bl.slotsPerGroup }),
    nonzeros: nnz - bp.stats.pruned,
    exact: matricesEqual(unpackTight(bp.packed), bp.pruned),
    change: changeStats(m, bp.pruned),
    slotsPerGroup: bl.slotsPerGroup,
    search: bfound.stats,
    seconds: lap(),
  };
  // Budgeted, subwords: the subword-pruned matrix, groups covering the same weights (groupSize·subwordsPerWeight subword columns), subwords ranked by contribution.
  const sg = c.groupSize * subwordsPerWeight(spec);
  const sbl = { tileRows: c.tileRows, groupSize: sg, slotsPerGroup: Math.min(k, sg) };
  const scale = subwordColumnScale(sm.cols, spec);
  const sbfound = searchBudgetOrders(sm, sbl, { ...c.budgetSearch, colScale: scale, seed: c.seed + 3 });
  const sbp = packBudgeted(sm, sbl, sbfound, scale);
  const sbBack = mergeSubwords(sbp.pruned, spec);
  const budgetedSubword = {
    ...tightRate(sbp.packed, { ...subBits, maxWidth: sbl.slotsPerGroup }),
    nonzeros: nonzeroSubwords(sbBack, spec),
    exact: matricesEqual(unpackTight(sbp.packed), sbp.pruned),
    change: changeStats(m, sbBack),
    slotsPerGroup: sbl.slotsPerGroup,
    groupSize: sg,
    search: sbfound.stats,
    seconds: lap(),
    subwordsPrunedByPacking: sbp.stats.pruned,
  };

  return {
    rows: m.rows,
    cols: m.cols,
    nonzeros: nnz,
    sparsity: 1 - nnz / total,
    idealRate: nnz > 0 ? total / nnz : Number.POSITIVE_INFINITY,
    weightL1: m.values.reduce((acc, v) => acc + Math.abs(v), 0),
    weightL2: m.values.reduce((acc, v) => acc + v * v, 0),
    columnCombining,
    tight,
    permutation,
    permutationSubword,
    columnCombiningFull,
    budgeted,
    budgetedSubword,
    exact: permutation.exact && permutationSubword.exact && budgeted.exact && budgetedSubword.exact,
    packings: { columnCombining: cc, columnCombiningFull: ccFull, permutation: permuted, permutationSubword: spacked, budgeted: bp.packed, budgetedSubword: sbp.packed },
  };
}
