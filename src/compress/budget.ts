/**
 * The budgeted (capacity-limited) packed format and its permutation search.
 *
 * Layout as the tight format (tight.ts): rows of F in `rowOrder` cut into tiles of `tileRows`,
 * columns in `colOrder` cut into groups of `groupSize` positions (the multiplexer fan-in). Every
 * row gets at most k = `slotsPerGroup` slots per group: a row with more than k nonzeros in a group
 * keeps its k largest-magnitude ones (ties: the earlier position) and the others are **pruned by
 * packing** (the network is then fine-tuned with that mask). Block (t, p) is
 * w(t, p) = min(k, largest count of its rows) packed columns wide, so the pruned matrix packs into
 * exactly the tight format with widths ≤ k (`unpackTight` gives back the pruned matrix). k = 1 is
 * the shape of column combining (one weight per row per combined column); k = groupSize is the
 * lossless tight format.
 *
 * Permutation search (`searchBudgetOrders`), at a fixed (groupSize, k): minimise
 *   J = pruned / total + slotWeight · slots / maxSlots
 * with pruned = Σ over pruned weights of |w| ('l1', default), w² ('l2') or 1 ('count'), total the
 * same sum over all nonzeros, slots = Σ_{t,p} w(t, p) and maxSlots = tiles · groups · k. With the
 * default slotWeight 0 the rate is fixed by (g, k) up to empty blocks and only column moves
 * matter (rows only change which blocks are empty).
 * - Greedy start: columns by nonzero count, descending, each into the open group (fewer than
 *   groupSize columns) where it adds the least pruned magnitude (exact: a weight entering a full
 *   (row, group) adds min(|w|, smallest kept weight)); ties: the group with the fewest nonzeros
 *   (balanced groups overflow least). `greedyCandidates` seeded-random open groups when more.
 * - Simulated annealing: the tight search's loop and schedule (permute.ts `anneal`); a column swap
 *   recomputes the pruned magnitude of the (row, group) pairs of the rows where either column has
 *   a nonzero and the count exceeds k (O((nnz_a + nnz_b) · groupSize)).
 */
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { type IntMatrix, intMatrix, type WeightMatrix } from './matrix.js';
import { type AnnealOptions, type AnnealTarget, anneal, checkAnneal, DEFAULT_ANNEAL, initialStats, type Orders, type Pattern, PackState, pattern, startState } from './permute.js';
import { checkLayout, identityOrder, packTight, type TightLayout, type TightPacked } from './tight.js';

export interface BudgetLayout extends TightLayout {
  /** k: packed slots per row per group. */
  slotsPerGroup: number;
}

export type BudgetObjective = 'l1' | 'l2' | 'count';

export function checkBudgetLayout(l: BudgetLayout, rows: number, cols: number): void {
  checkLayout(l, rows, cols);
  if (!Number.isInteger(l.slotsPerGroup) || l.slotsPerGroup < 1 || l.slotsPerGroup > l.groupSize)
    throw new ConfigError(`budgeted packing: slotsPerGroup ${l.slotsPerGroup} must be an integer in 1…groupSize (${l.groupSize})`);
}

/**
 * Objective weight of an entry, computed on the fly (no copy of the matrix): |v| times the
 * column's scale (a subword column's significance 2^(subwordBits·shift), else 1), then as the
 * objective says (|·|, (·)² or 1 per nonzero).
 */
class ObjectiveWeights {
  constructor(
    readonly m: WeightMatrix,
    readonly objective: BudgetObjective,
    readonly colScale: Float64Array | null,
  ) {}

  at(r: number, c: number): number {
    const v = this.m.values[r * this.m.cols + c];
    if (v === 0) return 0;
    if (this.objective === 'count') return 1;
    const a = Math.abs(v) * (this.colScale ? this.colScale[c] : 1);
    return this.objective === 'l2' ? a * a : a;
  }

  total(): number {
    let t = 0;
    for (let r = 0; r < this.m.rows; r++) for (let c = 0; c < this.m.cols; c++) t += this.at(r, c);
    return t;
  }
}

function checkColScale(s: Float64Array | null | undefined, cols: number): void {
  if (s && s.length !== cols) throw new ConfigError(`budgeted packing: colScale has ${s.length} entries, expected one per column (${cols})`);
}

/**
 * Mask (F layout, 1 = kept) of the budgeted format under the given orders: in every (row, group)
 * the k largest |w|·colScale are kept (ties: earlier position in the group), zeros are never kept.
 */
export function budgetMask(m: WeightMatrix, layout: BudgetLayout, orders?: Partial<Orders>, colScale?: Float64Array | null): Uint8Array {
  checkBudgetLayout(layout, m.rows, m.cols);
  checkColScale(colScale, m.cols);
  const colOrder = orders?.colOrder ?? identityOrder(m.cols);
  const { groupSize: g, slotsPerGroup: k } = layout;
  const mask = new Uint8Array(m.rows * m.cols);
  const P = Math.ceil(m.cols / g);
  const cand: number[] = [];
  const mag = (q: number, base: number) => Math.abs(m.values[base + colOrder[q]]) * (colScale ? colScale[colOrder[q]] : 1);
  for (let r = 0; r < m.rows; r++) {
    const base = r * m.cols;
    for (let p = 0; p < P; p++) {
      cand.length = 0;
      for (let q = p * g; q < Math.min(m.cols, (p + 1) * g); q++) if (m.values[base + colOrder[q]] !== 0) cand.push(q);
      if (cand.length > k) cand.sort((a, b) => mag(b, base) - mag(a, base) || a - b);
      for (let i = 0; i < Math.min(k, cand.length); i++) mask[base + colOrder[cand[i]]] = 1;
    }
  }
  return mask;
}

/** Weights pruned by a mask: count and magnitude shares of the nonzeros (L1 and L2). */
export interface PrunedStats {
  nonzerosBefore: number;
  pruned: number;
  /** Σ|w| pruned / Σ|w| of all nonzeros. */
  l1Share: number;
  /** Σw² pruned / Σw² of all nonzeros. */
  l2Share: number;
}

export function prunedStats(values: ArrayLike<number>, mask: Uint8Array): PrunedStats {
  let nz = 0;
  let pruned = 0;
  let l1 = 0;
  let l1p = 0;
  let l2 = 0;
  let l2p = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === 0) continue;
    nz++;
    const a = Math.abs(v);
    l1 += a;
    l2 += a * a;
    if (!mask[i]) {
      pruned++;
      l1p += a;
      l2p += a * a;
    }
  }
  return { nonzerosBefore: nz, pruned, l1Share: l1 > 0 ? l1p / l1 : 0, l2Share: l2 > 0 ? l2p / l2 : 0 };
}

export interface BudgetPacked {
  /** The tight packing of the pruned matrix (widths ≤ slotsPerGroup). */
  packed: TightPacked;
  slotsPerGroup: number;
  /** F ⊙ mask: what the packed array computes. */
  pruned: IntMatrix;
  mask: Uint8Array;
  stats: PrunedStats;
}

/**
 * Packs F in the budgeted format: prune the overflow of every (row, group), then tight-pack.
 * `colScale` multiplies the magnitudes of a column (e.g. subwords ranked by their contribution
 * |subword|·2^(subwordBits·shift)); default 1.
 */
export function packBudgeted(m: IntMatrix, layout: BudgetLayout, orders: Partial<Orders> = {}, colScale?: Float64Array | null): BudgetPacked {
  const mask = budgetMask(m, layout, orders, colScale);
  const pruned = intMatrix(
    m.rows,
    m.cols,
    m.values.map((v, i) => (mask[i] ? v : 0)),
  );
  const packed = packTight(pruned, { tileRows: layout.tileRows, groupSize: layout.groupSize }, orders);
  return { packed, slotsPerGroup: layout.slotsPerGroup, pruned, mask, stats: prunedStats(m.values, mask) };
}

/** Incremental state of J: the capped slot count (PackState) and the pruned magnitude per (row, group). */
export class BudgetState implements AnnealTarget {
  readonly ps: PackState;
  readonly loss: Float64Array;
  lossTotal = 0;
  private readonly top: Float64Array;
  private readonly maxSlots: number;
  /** Column of each nonzero in the pattern's CSC order. */
  private readonly colOf: Int32Array;

  constructor(
    readonly pt: Pattern,
    readonly w: ObjectiveWeights,
    readonly totalWeight: number,
    readonly layout: BudgetLayout,
    orders: Orders,
    readonly slotWeight: number,
  ) {
    this.ps = new PackState(pt, layout.tileRows, layout.groupSize, orders, layout.slotsPerGroup);
    this.colOf = new Int32Array(pt.colRows.length);
    for (let c = 0; c < pt.cols; c++) this.colOf.fill(c, pt.colStart[c], pt.colStart[c + 1]);
    this.loss = new Float64Array(pt.rows * this.ps.numGroups);
    this.top = new Float64Array(layout.slotsPerGroup + 1);
    this.maxSlots = this.ps.numTiles * this.ps.numGroups * layout.slotsPerGroup;
    const P = this.ps.numGroups;
    for (let r = 0; r < pt.rows; r++) {
      for (let p = 0; p < P; p++) {
        if (this.ps.cnt[r * P + p] > layout.slotsPerGroup) {
          const l = this.lossOf(r, p);
          this.loss[r * P + p] = l;
          this.lossTotal += l;
        }
      }
    }
  }

  get cost(): number {
    const pruned = this.totalWeight > 0 ? this.lossTotal / this.totalWeight : 0;
    return this.slotWeight > 0 ? pruned + (this.slotWeight * this.ps.cost) / this.maxSlots : pruned;
  }
  get numGroups(): number {
    return this.ps.numGroups;
  }
  get numTiles(): number {
    return this.ps.numTiles;
  }
  get rowOrder(): Int32Array {
    return this.ps.rowOrder;
  }
  get colOrder(): Int32Array {
    return this.ps.colOrder;
  }
  groupOf(c: number): number {
    return this.ps.groupOf(c);
  }
  tileOf(r: number): number {
    return this.ps.tileOf(r);
  }

  /** Pruned objective weight of row r in group p: the sum of all but its k largest. */
  private lossOf(r: number, p: number): number {
    const { groupSize: g, slotsPerGroup: k } = this.layout;
    const cols = this.pt.cols;
    const top = this.top;
    let n = 0;
    let sum = 0;
    const co = this.ps.colOrder;
    for (let q = p * g; q < Math.min(cols, (p + 1) * g); q++) {
      const v = this.w.at(r, co[q]);
      if (v === 0) continue;
      sum += v;
      // Insert into the descending top-k buffer.
      let i: number;
      if (n < k) i = n++;
      else if (v <= top[k - 1]) continue;
      else i = k - 1;
      while (i > 0 && top[i - 1] < v) {
        top[i] = top[i - 1];
        i--;
      }
      top[i] = v;
    }
    for (let i = 0; i < n; i++) sum -= top[i];
    return sum < 1e-12 ? 0 : sum;
  }

  private refresh(r: number, p: number): void {
    const i = r * this.ps.numGroups + p;
    const l = this.ps.cnt[i] > this.layout.slotsPerGroup ? this.lossOf(r, p) : 0;
    this.lossTotal += l - this.loss[i];
    this.loss[i] = l;
  }

  swapColumns(a: number, b: number): void {
    const pa = this.ps.groupOf(a);
    const pb = this.ps.groupOf(b);
    this.ps.swapColumns(a, b);
    if (pa === pb) return;
    const pt = this.pt;
    for (const c of [a, b]) {
      for (let i = pt.colStart[c]; i < pt.colStart[c + 1]; i++) {
        const r = pt.colRows[i];
        this.refresh(r, pa);
        this.refresh(r, pb);
      }
    }
  }

  swapRows(x: number, y: number): void {
    this.ps.swapRows(x, y);
  }

  /**
   * The column of a random nonzero that is pruned in its (row, group) (up to `PICK_TRIES` draws,
   * else the last draw): random swaps of such columns are the moves that can lower J.
   */
  pickColumn(rng: Rng): number {
    const pt = this.pt;
    const nnz = pt.colRows.length;
    if (nnz === 0) return rng.int(pt.cols);
    const P = this.ps.numGroups;
    let c = 0;
    for (let t = 0; t < PICK_TRIES; t++) {
      const i = rng.int(nnz);
      c = this.colOf[i];
      if (this.ps.cnt[pt.colRows[i] * P + this.ps.groupOf(c)] > this.layout.slotsPerGroup) return c;
    }
    return c;
  }
}

/** Draws per targeted column pick. */
const PICK_TRIES = 8;

/** Greedy start: see the module comment. */
function greedyBudget(pt: Pattern, w: ObjectiveWeights, layout: BudgetLayout, seed: number, candidates: number, sortRows: boolean): Orders {
  const { groupSize: g, slotsPerGroup: k } = layout;
  const rng = new Rng(seed);
  // Rows only matter for the slot term: sorted by nonzero count then, else identity (an identity order costs no bits).
  const rowOrder = sortRows ? identityOrder(pt.rows).sort((a, b) => pt.rowNnz[b] - pt.rowNnz[a] || a - b) : identityOrder(pt.rows);
  const P = Math.ceil(pt.cols / g);
  const cnt = new Uint16Array(pt.rows * P);
  // Smallest kept objective weight of each (row, group) once it holds k weights.
  const keptMin = new Float64Array(pt.rows * P);
  const members: number[][] = Array.from({ length: P }, () => []);
  const groupNnz = new Float64Array(P);
  const open: number[] = Array.from({ length: P }, (_, i) => i);
  const byNnz = identityOrder(pt.cols).sort((a, b) => pt.colNnz[b] - pt.colNnz[a] || a - b);
  const vals: number[] = [];
  for (const c of byNnz) {
    let best = -1;
    let bestAdd = Number.POSITIVE_INFINITY;
    const tries = Math.min(open.length, candidates);
    for (let t = 0; t < tries; t++) {
      const p = open[open.length <= candidates ? t : rng.int(open.length)];
      let add = 0;
      for (let i = pt.colStart[c]; i < pt.colStart[c + 1] && add <= bestAdd; i++) {
        const r = pt.colRows[i];
        if (cnt[r * P + p] >= k) add += Math.min(w.at(r, c), keptMin[r * P + p]);
      }
      if (add < bestAdd || (add === bestAdd && groupNnz[p] < groupNnz[best])) {
        best = p;
        bestAdd = add;
      }
    }
    const ms = members[best];
    ms.push(c);
    groupNnz[best] += pt.colNnz[c];
    for (let i = pt.colStart[c]; i < pt.colStart[c + 1]; i++) {
      const r = pt.colRows[i];
      const j = r * P + best;
      const v = w.at(r, c);
      const n = ++cnt[j];
      if (n < k) keptMin[j] = n === 1 ? v : Math.min(keptMin[j], v);
      else if (n === k) keptMin[j] = k === 1 ? v : Math.min(keptMin[j], v);
      else if (v > keptMin[j]) {
        if (k === 1) keptMin[j] = v;
        else {
          vals.length = 0;
          for (const m of ms) if (w.at(r, m) > 0) vals.push(w.at(r, m));
          vals.sort((x, y) => y - x);
          keptMin[j] = vals[k - 1];
        }
      }
    }
    if (ms.length === g || (best === P - 1 && ms.length === pt.cols - (P - 1) * g)) open.splice(open.indexOf(best), 1);
    if (open.length === 0) break;
  }
  const colOrder = new Int32Array(pt.cols);
  let q = 0;
  for (const ms of members) for (const c of ms) colOrder[q++] = c;
  return { rowOrder, colOrder };
}

export interface BudgetSearchOptions extends Partial<Omit<AnnealOptions, 'seed'>> {
  seed: number;
  /** 'anneal' (greedy start, then SA), 'greedy' (the start only) or 'identity'. Default 'anneal'. */
  method?: 'anneal' | 'greedy' | 'identity';
  /** What a pruned weight costs. Default 'l1'. */
  objective?: BudgetObjective;
  /** λ of the slot term of J. Default 0. */
  slotWeight?: number;
  /** Per-column factor of |w| (a subword column's significance); default 1. */
  colScale?: Float64Array | null;
  greedyCandidates?: number;
  /** Warm start (permute.ts `SearchOptions.start`): used when its J is no more than the greedy start's. */
  start?: Orders;
  onTemperature?: (step: number, best: number) => void;
}

export interface BudgetSearchStats {
  /** J of the identity order, the greedy start and the best found. */
  identityCost: number;
  greedyCost: number;
  bestCost: number;
  moves: number;
  accepted: number;
  temperatures: number;
  initialTemperature: number;
  /** J of the given start orders; null when none was given. */
  startCost: number | null;
}

/**
 * Defaults of the budgeted search. The annealing starts cold (T0 accepts 0.1% of the uphill
 * warm-up moves): the moves that lower J are rare and small next to the uphill ones, so a hot start
 * only walks away from the greedy start (measured on 90%-sparse 256×1152, g = 16, k = 1).
 */
export const DEFAULT_BUDGET_SEARCH = { objective: 'l1' as BudgetObjective, slotWeight: 0, greedyCandidates: 256, initialAcceptance: 0.001 };

/** Searches row/column orders for the budgeted format (see the module comment). */
export function searchBudgetOrders(m: WeightMatrix, layout: BudgetLayout, o: BudgetSearchOptions): Orders & { stats: BudgetSearchStats } {
  checkBudgetLayout(layout, m.rows, m.cols);
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const a = { ...DEFAULT_ANNEAL, initialAcceptance: DEFAULT_BUDGET_SEARCH.initialAcceptance, ...defined, seed: o.seed } as AnnealOptions;
  checkAnneal(a);
  const objective = o.objective ?? DEFAULT_BUDGET_SEARCH.objective;
  if (!['l1', 'l2', 'count'].includes(objective)) throw new ConfigError(`budgeted search: objective '${objective}' is not known (use l1, l2 or count)`);
  const slotWeight = o.slotWeight ?? DEFAULT_BUDGET_SEARCH.slotWeight;
  if (!(slotWeight >= 0)) throw new ConfigError(`budgeted search: slotWeight ${slotWeight} must be ≥ 0`);
  checkColScale(o.colScale, m.cols);
  const pt = pattern(m);
  const w = new ObjectiveWeights(m, objective, o.colScale ?? null);
  const total = w.total();
  const ident = { rowOrder: identityOrder(m.rows), colOrder: identityOrder(m.cols) };
  const identityCost = new BudgetState(pt, w, total, layout, ident, slotWeight).cost;
  const stats: BudgetSearchStats = initialStats(identityCost);
  const method = o.method ?? 'anneal';
  if (method === 'identity') return { ...ident, stats };
  const greedy = greedyBudget(pt, w, layout, o.seed, o.greedyCandidates ?? DEFAULT_BUDGET_SEARCH.greedyCandidates, slotWeight > 0);
  const g = new BudgetState(pt, w, total, layout, greedy, slotWeight);
  stats.greedyCost = g.cost;
  const st = startState(g, o.start, (orders) => new BudgetState(pt, w, total, layout, orders, slotWeight), { rows: m.rows, cols: m.cols, what: 'budgeted search' }, stats);
  stats.bestCost = st.cost;
  if (method === 'greedy' || st.cost === 0) return { rowOrder: st.rowOrder.slice(), colOrder: st.colOrder.slice(), stats };
  const r = anneal(st, m.rows, m.cols, a, o.onTemperature, slotWeight > 0);
  const { bestByTemperature: _b, ...rs } = r.stats;
  Object.assign(stats, rs);
  return { rowOrder: r.rowOrder, colOrder: r.colOrder, stats };
}

/** J of the given orders (identity when omitted): the objective the search minimises. */
export function budgetCost(
  m: WeightMatrix,
  layout: BudgetLayout,
  orders?: Orders,
  objective: BudgetObjective = 'l1',
  slotWeight = 0,
  colScale: Float64Array | null = null,
): number {
  checkBudgetLayout(layout, m.rows, m.cols);
  checkColScale(colScale, m.cols);
  const w = new ObjectiveWeights(m, objective, colScale);
  return new BudgetState(pattern(m), w, w.total(), layout, orders ?? { rowOrder: identityOrder(m.rows), colOrder: identityOrder(m.cols) }, slotWeight).cost;
}
