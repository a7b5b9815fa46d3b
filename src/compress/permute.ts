/**
 * Permutation search for the tight format (tight.ts): row and column orders that minimise the
 * packed size E = Σ_{t,p} w(t, p) (packed columns summed over tiles; slots = tileRows·E).
 *
 * Initialisation (`greedyOrders`):
 * - rows sorted by nonzero count, descending, so each tile holds rows of similar weight count;
 * - columns taken by nonzero count, descending, each put into the open group (fewer than groupSize
 *   columns) whose Σ_t w(t, p) grows least (best fit; ties: the group with fewest nonzeros). With
 *   many groups only `greedyCandidates` seeded-random open groups are tried per column.
 *
 * Simulated annealing (`annealOrders`), Kirkpatrick with a geometric schedule:
 * - moves: swap two columns of different groups (probability `columnMoveProb`), or two rows of
 *   different tiles; a move with ΔE ≤ 0 is accepted, otherwise with probability exp(−ΔE/T);
 * - ΔE is incremental: per-(row, group) nonzero counts and per-(tile, group) histograms of them,
 *   so a column swap costs O(nnz of the two columns) and a row swap O(groups);
 * - T0 accepts `initialAcceptance` of the uphill moves of a warm-up sample; T ← `cooling`·T after
 *   `movesPerTemperature`·(rows + cols) moves; stop when T < `finalTemperatureRatio`·T0, after
 *   `patience` temperatures without a new best, or after `maxMoves` moves; the best state is kept.
 */
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { IntMatrix } from './matrix.js';
import { checkLayout, identityOrder, type TightLayout } from './tight.js';

export interface AnnealOptions {
  seed: number;
  /** Moves per temperature = movesPerTemperature · (rows + cols). Default 2. */
  movesPerTemperature: number;
  /** Geometric cooling factor α. Default 0.9. */
  cooling: number;
  /** Fraction of uphill warm-up moves T0 accepts. Default 0.3 (the greedy start is already good). */
  initialAcceptance: number;
  /** Stop when T < finalTemperatureRatio · T0. Default 1e-3. */
  finalTemperatureRatio: number;
  /** Stop after this many temperatures without a new best. Default 20. */
  patience: number;
  /** Probability that a move swaps columns (else rows). Default 0.7. */
  columnMoveProb: number;
  /** Hard cap on the number of moves (keeps a whole VGG-16 within minutes). Default 1e6. */
  maxMoves: number;
}

export const DEFAULT_ANNEAL: Omit<AnnealOptions, 'seed'> = {
  movesPerTemperature: 2,
  cooling: 0.9,
  initialAcceptance: 0.3,
  finalTemperatureRatio: 1e-3,
  patience: 20,
  columnMoveProb: 0.7,
  maxMoves: 1e6,
};

export interface Orders {
  rowOrder: Int32Array;
  colOrder: Int32Array;
}

export interface SearchStats {
  /** Packed columns Σ w(t, p) of the identity order, the greedy start and the best found. */
  identityCost: number;
  greedyCost: number;
  bestCost: number;
  moves: number;
  accepted: number;
  temperatures: number;
  initialTemperature: number;
  /** Best cost after each temperature step. */
  bestByTemperature: number[];
  /** Cost of the given start orders (`SearchOptions.start`); null when none was given. */
  startCost: number | null;
}

/** Statistics of a search before it runs: every cost is the identity order's. */
export function initialStats(identityCost: number): Omit<SearchStats, 'bestByTemperature'> {
  return { identityCost, greedyCost: identityCost, bestCost: identityCost, moves: 0, accepted: 0, temperatures: 0, initialTemperature: 0, startCost: null };
}

/**
 * The state a search starts from: the greedy one, or the warm start's (`make(start)`) when it costs
 * no more; the warm start's cost goes to `stats.startCost`.
 */
export function startState<S extends { readonly cost: number }>(
  greedy: S,
  start: Orders | undefined,
  make: (orders: Orders) => S,
  shape: { rows: number; cols: number; what: string },
  stats: { startCost: number | null },
): S {
  if (!start) return greedy;
  checkStart(start, shape.rows, shape.cols, shape.what);
  const warm = make(start);
  stats.startCost = warm.cost;
  return warm.cost <= greedy.cost ? warm : greedy;
}

/** Checks that warm-start orders are permutations of the matrix's rows and columns. */
export function checkStart(start: Orders, rows: number, cols: number, what: string): void {
  for (const [name, order, n] of [
    ['rowOrder', start.rowOrder, rows],
    ['colOrder', start.colOrder, cols],
  ] as const) {
    const seen = new Uint8Array(n);
    let ok = order.length === n;
    for (let i = 0; ok && i < n; i++) {
      const v = order[i];
      ok = Number.isInteger(v) && v >= 0 && v < n && !seen[v];
      if (ok) seen[v] = 1;
    }
    if (!ok) throw new ConfigError(`${what}: the start's ${name} is not a permutation of 0…${n - 1} (was it found for a matrix of another shape?)`);
  }
}

/** Column lists of the nonzero pattern (CSC row indices) and row nonzero counts. */
export interface Pattern {
  rows: number;
  cols: number;
  colStart: Int32Array;
  colRows: Int32Array;
  nz: Uint8Array;
  rowNnz: Int32Array;
  colNnz: Int32Array;
}

/** The nonzero pattern of a rows×cols row-major matrix (any numeric values; nonzero = ≠ 0). */
export function pattern(m: { rows: number; cols: number; values: ArrayLike<number> }): Pattern {
  const { rows, cols } = m;
  const nz = new Uint8Array(rows * cols);
  const colNnz = new Int32Array(cols);
  const rowNnz = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (m.values[r * cols + c] !== 0) {
        nz[r * cols + c] = 1;
        colNnz[c]++;
        rowNnz[r]++;
      }
    }
  }
  const colStart = new Int32Array(cols + 1);
  for (let c = 0; c < cols; c++) colStart[c + 1] = colStart[c] + colNnz[c];
  const colRows = new Int32Array(colStart[cols]);
  const fill = colStart.slice(0, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (nz[r * cols + c]) colRows[fill[c]++] = r;
  return { rows, cols, colStart, colRows, nz, rowNnz, colNnz };
}

/**
 * Incremental state of the objective: per-(row, group) counts, per-(tile, group) histograms of
 * those counts, the widths w(t, p) and their sum Σ min(cap, w(t, p)) (cap = groupSize for the
 * tight format, the slots per group for the budgeted format).
 */
export class PackState {
  readonly numTiles: number;
  readonly numGroups: number;
  readonly rowPos: Int32Array;
  readonly colPos: Int32Array;
  readonly rowOrder: Int32Array;
  readonly colOrder: Int32Array;
  readonly cnt: Uint16Array;
  readonly hist: Int32Array;
  readonly width: Int32Array;
  cost = 0;
  private readonly stride: number;

  constructor(
    readonly pt: Pattern,
    readonly h: number,
    readonly g: number,
    orders: Orders,
    readonly cap = g,
  ) {
    this.numTiles = Math.ceil(pt.rows / h);
    this.numGroups = Math.ceil(pt.cols / g);
    this.stride = g + 1;
    this.rowOrder = orders.rowOrder.slice();
    this.colOrder = orders.colOrder.slice();
    this.rowPos = new Int32Array(pt.rows);
    this.colPos = new Int32Array(pt.cols);
    for (let i = 0; i < pt.rows; i++) this.rowPos[this.rowOrder[i]] = i;
    for (let i = 0; i < pt.cols; i++) this.colPos[this.colOrder[i]] = i;
    this.cnt = new Uint16Array(pt.rows * this.numGroups);
    this.hist = new Int32Array(this.numTiles * this.numGroups * this.stride);
    this.width = new Int32Array(this.numTiles * this.numGroups);
    for (let c = 0; c < pt.cols; c++) {
      const p = Math.floor(this.colPos[c] / g);
      for (let k = pt.colStart[c]; k < pt.colStart[c + 1]; k++) this.cnt[pt.colRows[k] * this.numGroups + p]++;
    }
    for (let r = 0; r < pt.rows; r++) {
      const t = Math.floor(this.rowPos[r] / h);
      for (let p = 0; p < this.numGroups; p++) this.hist[(t * this.numGroups + p) * this.stride + this.cnt[r * this.numGroups + p]]++;
    }
    for (let b = 0; b < this.width.length; b++) {
      let w = g;
      while (w > 0 && this.hist[b * this.stride + w] === 0) w--;
      this.width[b] = w;
      this.cost += Math.min(cap, w);
    }
  }

  tileOf(r: number): number {
    return Math.floor(this.rowPos[r] / this.h);
  }

  groupOf(c: number): number {
    return Math.floor(this.colPos[c] / this.g);
  }

  /** Moves row r's count in group p from `from` to `to` inside tile t, updating w and the cost. */
  private shift(t: number, p: number, from: number, to: number): void {
    const b = t * this.numGroups + p;
    const hb = b * this.stride;
    this.hist[hb + from]--;
    this.hist[hb + to]++;
    const w = this.width[b];
    let nw = w;
    if (to > w) nw = to;
    else if (from === w && this.hist[hb + from] === 0) while (nw > 0 && this.hist[hb + nw] === 0) nw--;
    if (nw !== w) {
      this.width[b] = nw;
      this.cost += Math.min(this.cap, nw) - Math.min(this.cap, w);
    }
  }

  private bump(r: number, p: number, d: number): void {
    const i = r * this.numGroups + p;
    const from = this.cnt[i];
    this.cnt[i] = from + d;
    this.shift(this.tileOf(r), p, from, from + d);
  }

  /** Swaps columns a and b (their positions); its own inverse. */
  swapColumns(a: number, b: number): void {
    const pt = this.pt;
    const pa = this.groupOf(a);
    const pb = this.groupOf(b);
    if (pa !== pb) {
      const cols = pt.cols;
      for (let k = pt.colStart[a]; k < pt.colStart[a + 1]; k++) {
        const r = pt.colRows[k];
        if (!pt.nz[r * cols + b]) {
          this.bump(r, pa, -1);
          this.bump(r, pb, 1);
        }
      }
      for (let k = pt.colStart[b]; k < pt.colStart[b + 1]; k++) {
        const r = pt.colRows[k];
        if (!pt.nz[r * cols + a]) {
          this.bump(r, pb, -1);
          this.bump(r, pa, 1);
        }
      }
    }
    const ia = this.colPos[a];
    const ib = this.colPos[b];
    this.colPos[a] = ib;
    this.colPos[b] = ia;
    this.colOrder[ia] = b;
    this.colOrder[ib] = a;
  }

  /** Swaps rows x and y (their positions); its own inverse. */
  swapRows(x: number, y: number): void {
    const tx = this.tileOf(x);
    const ty = this.tileOf(y);
    if (tx !== ty) {
      const P = this.numGroups;
      for (let p = 0; p < P; p++) {
        const cx = this.cnt[x * P + p];
        const cy = this.cnt[y * P + p];
        if (cx !== cy) {
          this.shift(tx, p, cx, cy);
          this.shift(ty, p, cy, cx);
        }
      }
    }
    const ix = this.rowPos[x];
    const iy = this.rowPos[y];
    this.rowPos[x] = iy;
    this.rowPos[y] = ix;
    this.rowOrder[ix] = y;
    this.rowOrder[iy] = x;
  }
}

/** Σ w(t, p) of F under the given orders (identity when omitted). */
export function packedColumns(m: IntMatrix, layout: TightLayout, orders?: Orders): number {
  checkLayout(layout, m.rows, m.cols);
  const o = orders ?? { rowOrder: identityOrder(m.rows), colOrder: identityOrder(m.cols) };
  return new PackState(pattern(m), layout.tileRows, layout.groupSize, o).cost;
}

export interface GreedyOptions {
  seed: number;
  /** Open groups tried per column when there are more (seeded sample). Default 256. */
  greedyCandidates?: number;
}

function greedyFromPattern(pt: Pattern, layout: TightLayout, o: GreedyOptions): Orders {
  const { tileRows: h, groupSize: g } = layout;
  const rng = new Rng(o.seed);
  const rowOrder = identityOrder(pt.rows).sort((a, b) => pt.rowNnz[b] - pt.rowNnz[a] || a - b);
  const tileOf = new Int32Array(pt.rows);
  for (let i = 0; i < pt.rows; i++) tileOf[rowOrder[i]] = Math.floor(i / h);
  const numTiles = Math.ceil(pt.rows / h);
  const P = Math.ceil(pt.cols / g);
  const cnt = new Uint16Array(pt.rows * P);
  const width = new Int32Array(numTiles * P);
  const members: number[][] = Array.from({ length: P }, () => []);
  const groupNnz = new Float64Array(P);
  const open: number[] = Array.from({ length: P }, (_, i) => i);
  const cand = o.greedyCandidates ?? 256;
  const byNnz = identityOrder(pt.cols).sort((a, b) => pt.colNnz[b] - pt.colNnz[a] || a - b);
  const touched = new Int32Array(numTiles).fill(-1);
  for (const c of byNnz) {
    let best = -1;
    let bestGrow = Number.POSITIVE_INFINITY;
    const tries = Math.min(open.length, cand);
    for (let k = 0; k < tries; k++) {
      const oi = open.length <= cand ? k : rng.int(open.length);
      const p = open[oi];
      // Growth of Σ_t w(t, p): each tile's width grows by at most 1 when the column joins.
      let grow = 0;
      for (let i = pt.colStart[c]; i < pt.colStart[c + 1]; i++) {
        const r = pt.colRows[i];
        const t = tileOf[r];
        if (touched[t] !== p && cnt[r * P + p] + 1 > width[t * P + p]) {
          touched[t] = p;
          grow++;
        }
      }
      for (let i = pt.colStart[c]; i < pt.colStart[c + 1]; i++) touched[tileOf[pt.colRows[i]]] = -1;
      if (grow < bestGrow || (grow === bestGrow && groupNnz[p] < groupNnz[best])) {
        best = p;
        bestGrow = grow;
      }
    }
    members[best].push(c);
    groupNnz[best] += pt.colNnz[c];
    for (let i = pt.colStart[c]; i < pt.colStart[c + 1]; i++) {
      const r = pt.colRows[i];
      const v = ++cnt[r * P + best];
      const b = tileOf[r] * P + best;
      if (v > width[b]) width[b] = v;
    }
    if (members[best].length === g || (best === P - 1 && members[best].length === pt.cols - (P - 1) * g)) {
      // The last group holds the remainder when cols is not a multiple of g.
      open.splice(open.indexOf(best), 1);
    }
    if (open.length === 0) break;
  }
  // Group P−1 may only hold cols − (P−1)·g columns; the loop above closes it at that size.
  const colOrder = new Int32Array(pt.cols);
  let q = 0;
  for (const ms of members) for (const c of ms) colOrder[q++] = c;
  return { rowOrder, colOrder };
}

/** The greedy start (see the module comment). */
export function greedyOrders(m: IntMatrix, layout: TightLayout, o: GreedyOptions): Orders {
  checkLayout(layout, m.rows, m.cols);
  return greedyFromPattern(pattern(m), layout, o);
}

export function checkAnneal(a: AnnealOptions): void {
  const bad = (field: string, msg: string) => new ConfigError(`permutation search: ${field} ${msg}`);
  if (!(a.movesPerTemperature > 0)) throw bad('movesPerTemperature', `${a.movesPerTemperature} must be > 0`);
  if (!(a.cooling > 0 && a.cooling < 1)) throw bad('cooling', `${a.cooling} must be in (0, 1)`);
  if (!(a.initialAcceptance > 0 && a.initialAcceptance < 1)) throw bad('initialAcceptance', `${a.initialAcceptance} must be in (0, 1)`);
  if (!(a.finalTemperatureRatio > 0 && a.finalTemperatureRatio < 1)) throw bad('finalTemperatureRatio', `${a.finalTemperatureRatio} must be in (0, 1)`);
  if (!(a.patience >= 1)) throw bad('patience', `${a.patience} must be ≥ 1`);
  if (!(a.columnMoveProb >= 0 && a.columnMoveProb <= 1)) throw bad('columnMoveProb', `${a.columnMoveProb} must be in [0, 1]`);
  if (!(a.maxMoves >= 0)) throw bad('maxMoves', `${a.maxMoves} must be ≥ 0`);
}

export interface SearchOptions extends Partial<Omit<AnnealOptions, 'seed'>> {
  seed: number;
  /** 'anneal' (greedy start, then SA), 'greedy' (the start only) or 'identity'. Default 'anneal'. */
  method?: 'anneal' | 'greedy' | 'identity';
  greedyCandidates?: number;
  /**
   * Warm start: orders to begin from when they cost no more than the greedy start (e.g. the orders
   * an earlier packing of the same layer found, whose zeros fine-tuning kept).
   */
  start?: Orders;
  /** Called after each temperature with (temperature step, best cost). */
  onTemperature?: (step: number, best: number) => void;
}

/** Searches row/column orders for the tight format; returns the best orders and the search's statistics. */
export function searchOrders(m: IntMatrix, layout: TightLayout, o: SearchOptions): Orders & { stats: SearchStats } {
  checkLayout(layout, m.rows, m.cols);
  const a: AnnealOptions = { ...DEFAULT_ANNEAL, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)), seed: o.seed } as AnnealOptions;
  checkAnneal(a);
  const pt = pattern(m);
  const ident = { rowOrder: identityOrder(m.rows), colOrder: identityOrder(m.cols) };
  const identityCost = new PackState(pt, layout.tileRows, layout.groupSize, ident).cost;
  const stats: SearchStats = { ...initialStats(identityCost), bestByTemperature: [] };
  const method = o.method ?? 'anneal';
  if (method === 'identity') return { ...ident, stats };
  const greedy = greedyFromPattern(pt, layout, { seed: o.seed, greedyCandidates: o.greedyCandidates });
  const g = new PackState(pt, layout.tileRows, layout.groupSize, greedy);
  stats.greedyCost = g.cost;
  const st = startState(g, o.start, (orders) => new PackState(pt, layout.tileRows, layout.groupSize, orders), { rows: m.rows, cols: m.cols, what: 'permutation search' }, stats);
  stats.bestCost = st.cost;
  if (method === 'greedy') return { rowOrder: st.rowOrder.slice(), colOrder: st.colOrder.slice(), stats };
  const r = anneal(st, pt.rows, pt.cols, a, o.onTemperature);
  Object.assign(stats, r.stats);
  return { rowOrder: r.rowOrder, colOrder: r.colOrder, stats };
}

/** What the annealing loop needs of a state: its cost and self-inverse column/row swaps. */
export interface AnnealTarget {
  readonly cost: number;
  readonly numGroups: number;
  readonly numTiles: number;
  readonly rowOrder: Int32Array;
  readonly colOrder: Int32Array;
  groupOf(c: number): number;
  tileOf(r: number): number;
  swapColumns(a: number, b: number): void;
  swapRows(x: number, y: number): void;
  /** A column worth moving (e.g. one holding a pruned weight); uniform when absent. */
  pickColumn?(rng: Rng): number;
}

export interface AnnealStats {
  moves: number;
  accepted: number;
  temperatures: number;
  initialTemperature: number;
  bestCost: number;
  bestByTemperature: number[];
}

/**
 * The simulated-annealing loop shared by the tight and the budgeted searches (see the module
 * comment): column swaps with probability `columnMoveProb` (rows otherwise; only columns when
 * `rowMoves` is false), Metropolis acceptance, geometric cooling, best state kept.
 */
export function anneal(
  st: AnnealTarget,
  rows: number,
  cols: number,
  a: AnnealOptions,
  onTemperature?: (step: number, best: number) => void,
  rowMoves = true,
): Orders & { stats: AnnealStats } {
  const stats: AnnealStats = { moves: 0, accepted: 0, temperatures: 0, initialTemperature: 0, bestCost: st.cost, bestByTemperature: [] };
  const canCol = st.numGroups > 1;
  const canRow = rowMoves && st.numTiles > 1;
  if (!canCol && !canRow) return { rowOrder: st.rowOrder.slice(), colOrder: st.colOrder.slice(), stats };
  const rng = new Rng(a.seed ^ 0x5a5a5a5a);
  const pCol = !canRow ? 1 : !canCol ? 0 : a.columnMoveProb;
  // One random move between different groups/tiles (a swap is its own undo).
  const propose = (): [number, number, boolean] => {
    if (rng.next() < pCol) {
      const x = st.pickColumn ? st.pickColumn(rng) : rng.int(cols);
      let y = rng.int(cols);
      while (st.groupOf(y) === st.groupOf(x)) y = rng.int(cols);
      return [x, y, true];
    }
    const x = rng.int(rows);
    let y = rng.int(rows);
    while (st.tileOf(y) === st.tileOf(x)) y = rng.int(rows);
    return [x, y, false];
  };
  const apply = (mv: [number, number, boolean]) => (mv[2] ? st.swapColumns(mv[0], mv[1]) : st.swapRows(mv[0], mv[1]));
  // Warm-up: mean uphill ΔE of random moves (all undone).
  let upSum = 0;
  let upN = 0;
  for (let i = 0; i < 200; i++) {
    const mv = propose();
    const before = st.cost;
    apply(mv);
    const d = st.cost - before;
    apply(mv);
    if (d > 0) {
      upSum += d;
      upN++;
    }
  }
  const t0 = upN > 0 ? -(upSum / upN) / Math.log(a.initialAcceptance) : 1;
  stats.initialTemperature = t0;
  let best = st.cost;
  let bestRow = st.rowOrder.slice();
  let bestCol = st.colOrder.slice();
  const perTemp = Math.max(1, Math.round(a.movesPerTemperature * (rows + cols)));
  let temp = t0;
  let stale = 0;
  while (temp >= a.finalTemperatureRatio * t0 && stale < a.patience && stats.moves < a.maxMoves && best > 0) {
    let improved = false;
    for (let i = 0; i < perTemp && stats.moves < a.maxMoves; i++) {
      const mv = propose();
      const before = st.cost;
      apply(mv);
      stats.moves++;
      const d = st.cost - before;
      if (d <= 0 || rng.next() < Math.exp(-d / temp)) {
        stats.accepted++;
        if (st.cost < best - 1e-12) {
          best = st.cost;
          bestRow = st.rowOrder.slice();
          bestCol = st.colOrder.slice();
          improved = true;
        }
      } else apply(mv);
    }
    stats.temperatures++;
    stats.bestByTemperature.push(best);
    onTemperature?.(stats.temperatures, best);
    stale = improved ? 0 : stale + 1;
    temp *= a.cooling;
  }
  stats.bestCost = best;
  return { rowOrder: bestRow, colOrder: bestCol, stats };
}
