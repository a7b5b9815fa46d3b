/**
 * One pruned weight matrix packed by every method on the same array, with bits, rates and the
 * exactness check: column combining (the baseline, lossy), the tight format in the identity order,
 * the tight format after the permutation search, and the tight format over subwords after
 * subword pruning and its own permutation search.
 */
import { type ColumnCombineOptions, combineColumns, unpackColumnCombined } from './column-combine.js';
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
  subwordsPerWeight,
  subwordValueBits,
} from './subword.js';
import { packTight, type TightLayout, unpackTight } from './tight.js';

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
}

export interface MethodRate extends PackRate {
  /** Nonzero weights (or subwords) the packed form holds. */
  nonzeros: number;
  /** Unpacking gives back the matrix it packed (always true for the lossless tight format). */
  exact: boolean;
}

export interface PackMethodsResult {
  rows: number;
  cols: number;
  nonzeros: number;
  sparsity: number;
  /** The word-level bound 1 / density. */
  idealRate: number;
  columnCombining: MethodRate & { prunedByConflicts: number; combinedColumns: number };
  tight: MethodRate;
  permutation: MethodRate & { search: SearchStats };
  permutationSubword: MethodRate & { search: SearchStats; subwordsBefore: number; subwordsAfter: number; weightsZeroed: number };
  /** The permutation and permutation+subword packings unpack exactly (to the pruned, resp. subword-pruned, matrix). */
  exact: boolean;
}

export const DEFAULT_SUBWORD_FRACTION = 0.25;

export function packMethods(m: IntMatrix, c: PackMethodsConfig): PackMethodsResult {
  const weightBits = c.weightBits ?? 8;
  const layout: TightLayout = { tileRows: c.tileRows, groupSize: c.groupSize };
  const nnz = nonzeros(m);
  const total = m.rows * m.cols;

  const cc = combineColumns(m, { maxColumns: c.groupSize, ...c.columnCombine });
  const ccBack = unpackColumnCombined(cc);
  const columnCombining = {
    ...columnCombinedRate(cc, c.tileRows, weightBits),
    nonzeros: nnz - cc.prunedByConflicts,
    exact: cc.prunedByConflicts === 0 && matricesEqual(ccBack, m),
    prunedByConflicts: cc.prunedByConflicts,
    combinedColumns: cc.groups.length,
  };

  const word = { weightBits, valueBits: weightBits, subwordsPerWeight: 1 };
  const identity = packTight(m, layout);
  const tight = { ...tightRate(identity, word), nonzeros: nnz, exact: matricesEqual(unpackTight(identity), m) };

  const found = searchOrders(m, layout, { ...c.search, seed: c.seed });
  const permuted = packTight(m, layout, found);
  const permutation = { ...tightRate(permuted, word), nonzeros: nnz, exact: matricesEqual(unpackTight(permuted), m), search: found.stats };

  const spec: SubwordSpec = { ...DEFAULT_SUBWORD, ...c.subwordSpec, weightBits };
  const sp = pruneSubwords(m, { fraction: c.subwordFraction ?? DEFAULT_SUBWORD_FRACTION, rounding: c.subwordRounding, spec });
  const sm = splitSubwords(sp.matrix, spec);
  const sfound = searchOrders(sm, layout, { ...c.search, seed: c.seed + 1 });
  const spacked = packTight(sm, layout, sfound);
  const sback = mergeSubwords(unpackTight(spacked), spec);
  const permutationSubword = {
    ...tightRate(spacked, { weightBits, valueBits: subwordValueBits(spec), subwordsPerWeight: subwordsPerWeight(spec) }),
    nonzeros: nonzeroSubwords(sp.matrix, spec),
    exact: matricesEqual(sback, sp.matrix),
    search: sfound.stats,
    subwordsBefore: sp.subwordsBefore,
    subwordsAfter: sp.subwordsAfter,
    weightsZeroed: sp.weightsZeroed,
  };

  return {
    rows: m.rows,
    cols: m.cols,
    nonzeros: nnz,
    sparsity: 1 - nnz / total,
    idealRate: nnz > 0 ? total / nnz : Number.POSITIVE_INFINITY,
    columnCombining,
    tight,
    permutation,
    permutationSubword,
    exact: permutation.exact && permutationSubword.exact,
  };
}
