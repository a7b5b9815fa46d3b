/**
 * Column combining (Kung, McDanel and Zhang, ASPLOS 2019), the baseline packing.
 *
 * The columns of F (input features) are combined into groups of at most `maxColumns` columns (the
 * multiplexer fan-in α). A column may join a group only if the two share at most
 * ⌊maxOverlap·rows⌋ rows where both hold a nonzero (the conflict limit γ). Each group becomes ONE
 * packed column: in every row it keeps a single weight, the largest-magnitude one among the group's
 * columns, with the multiplexer index of its column; the other conflicting weights are pruned
 * (this is the reference implementation's `fix_mask`; the network is then retrained with that
 * mask). So column combining is lossy: `unpackColumnCombined` gives back F with the conflicts
 * removed, and `prunedByConflicts` counts them.
 *
 * Grouping: the reference implementation repeatedly merges the pair of groups with the fewest
 * rows empty in both, among pairs within the limits, which is quadratic in the number of columns per
 * merge. This implementation is the single-pass variant: columns in descending nonzero count, each
 * joins the open group (fewer than `maxColumns` columns) with the fewest conflicting rows within the
 * limit (ties: the densest group, i.e. fewest empty rows), else opens a new group. With many groups,
 * only the `candidates` most recently opened open groups are tried.
 */
import { ConfigError } from '../core/errors.js';
import { type IntMatrix, intMatrix, type WeightMatrix } from './matrix.js';

export interface ColumnCombineOptions {
  /** α: most columns per combined column (multiplexer fan-in). Default 8 (packMethods uses its groupSize). */
  maxColumns: number;
  /** γ: most conflicting rows per merge, as a fraction of the rows. Default 0.05. */
  maxOverlap: number;
  /** Open groups tried per column. Default 512. */
  candidates: number;
}

export const DEFAULT_COLUMN_COMBINE: ColumnCombineOptions = { maxColumns: 8, maxOverlap: 0.05, candidates: 512 };

export interface ColumnCombined {
  rows: number;
  cols: number;
  maxColumns: number;
  /** Original columns of each combined column; all-zero columns are dropped and belong to none. */
  groups: Int32Array[];
  /** rows × groups.length kept weights (row-major) and the multiplexer select of each. */
  values: Int32Array;
  index: Uint16Array;
  /** Nonzero weights removed because they conflicted with a larger one in their row and group. */
  prunedByConflicts: number;
}

/** The combined columns' member lists (original columns; all-zero columns belong to none). */
export function combineGroups(m: WeightMatrix, opts: Partial<ColumnCombineOptions> = {}): { maxColumns: number; groups: Int32Array[] } {
  const o: ColumnCombineOptions = { ...DEFAULT_COLUMN_COMBINE, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
  if (!Number.isInteger(o.maxColumns) || o.maxColumns < 1 || o.maxColumns > 65535)
    throw new ConfigError(`column combining: maxColumns ${o.maxColumns} must be an integer in 1…65535`);
  if (!(o.maxOverlap >= 0 && o.maxOverlap <= 1)) throw new ConfigError(`column combining: maxOverlap ${o.maxOverlap} must be in [0, 1]`);
  if (!Number.isInteger(o.candidates) || o.candidates < 1) throw new ConfigError(`column combining: candidates ${o.candidates} must be a positive integer`);
  const { rows, cols } = m;
  const limit = Math.floor(o.maxOverlap * rows);
  const colRows: Int32Array[] = [];
  const nnz = new Int32Array(cols);
  for (let c = 0; c < cols; c++) {
    const rs: number[] = [];
    for (let r = 0; r < rows; r++) if (m.values[r * cols + c] !== 0) rs.push(r);
    colRows.push(Int32Array.from(rs));
    nnz[c] = rs.length;
  }
  const order = Array.from({ length: cols }, (_, i) => i)
    .filter((c) => nnz[c] > 0)
    .sort((a, b) => nnz[b] - nnz[a] || a - b);
  // Per group: member columns and the number of its columns holding a nonzero in each row.
  const members: number[][] = [];
  const occ: Uint16Array[] = [];
  const filled: number[] = [];
  const open: number[] = [];
  for (const c of order) {
    let best = -1;
    let bestConf = Number.POSITIVE_INFINITY;
    for (let k = open.length - 1; k >= 0 && k >= open.length - o.candidates; k--) {
      const gi = open[k];
      const oc = occ[gi];
      let conf = 0;
      for (const r of colRows[c]) if (oc[r] > 0 && ++conf > limit) break;
      if (conf > limit) continue;
      if (conf < bestConf || (conf === bestConf && filled[gi] > filled[best])) {
        best = gi;
        bestConf = conf;
      }
    }
    if (best < 0) {
      best = members.length;
      members.push([]);
      occ.push(new Uint16Array(rows));
      filled.push(0);
      open.push(best);
    }
    members[best].push(c);
    const oc = occ[best];
    for (const r of colRows[c]) if (oc[r]++ === 0) filled[best]++;
    if (members[best].length >= o.maxColumns) open.splice(open.indexOf(best), 1);
  }
  return { maxColumns: o.maxColumns, groups: members.map((ms) => Int32Array.from(ms)) };
}

/** Member index (in `ms`) of the largest-|w| nonzero of row r among the columns `ms` (the first on ties), −1 if none; and the nonzero count. */
function largestIn(m: WeightMatrix, r: number, ms: Int32Array): [number, number] {
  let keep = -1;
  let count = 0;
  for (let i = 0; i < ms.length; i++) {
    const v = m.values[r * m.cols + ms[i]];
    if (v === 0) continue;
    count++;
    if (keep < 0 || Math.abs(v) > Math.abs(m.values[r * m.cols + ms[keep]])) keep = i;
  }
  return [keep, count];
}

/** Mask (1 = kept, F layout) of column combining: per row and combined column only the largest |w| survives. */
export function columnCombineMask(m: WeightMatrix, opts: Partial<ColumnCombineOptions> = {}): { mask: Uint8Array; groups: Int32Array[]; maxColumns: number } {
  const { groups, maxColumns } = combineGroups(m, opts);
  const mask = new Uint8Array(m.rows * m.cols);
  for (const ms of groups) {
    for (let r = 0; r < m.rows; r++) {
      const [keep] = largestIn(m, r, ms);
      if (keep >= 0) mask[r * m.cols + ms[keep]] = 1;
    }
  }
  return { mask, groups, maxColumns };
}

export function combineColumns(m: IntMatrix, opts: Partial<ColumnCombineOptions> = {}): ColumnCombined {
  const { groups, maxColumns } = combineGroups(m, opts);
  return combineWithGroups(m, groups, maxColumns);
}

/** Column combining of `m` with given combined columns (e.g. the groups a packing mask was made with). */
export function combineWithGroups(m: IntMatrix, groups: Int32Array[], maxColumns: number): ColumnCombined {
  const { rows, cols } = m;
  const P = groups.length;
  const values = new Int32Array(rows * P);
  const index = new Uint16Array(rows * P);
  let pruned = 0;
  for (let p = 0; p < P; p++) {
    const ms = groups[p];
    for (let r = 0; r < rows; r++) {
      const [keep, count] = largestIn(m, r, ms);
      if (keep >= 0) {
        values[r * P + p] = m.values[r * cols + ms[keep]];
        index[r * P + p] = keep;
        pruned += count - 1;
      }
    }
  }
  return { rows, cols, maxColumns, groups, values, index, prunedByConflicts: pruned };
}

/** F with the conflicting weights removed (what the combined array computes). */
export function unpackColumnCombined(cc: ColumnCombined): IntMatrix {
  const out = intMatrix(cc.rows, cc.cols);
  const P = cc.groups.length;
  for (let p = 0; p < P; p++) {
    for (let r = 0; r < cc.rows; r++) {
      const v = cc.values[r * P + p];
      if (v !== 0) out.values[r * cc.cols + cc.groups[p][cc.index[r * P + p]]] = v;
    }
  }
  return out;
}
