/**
 * Exact Cook–Toom / Winograd minimal-filtering transforms F(m, r), and their nesting.
 *
 * A 1D "bilinear algorithm" computes m outputs of the r-tap correlation y[i] = Σ_a g[a]·d[i+a] from an
 * input tile of length L = m + r − 1 with μ multiplications:  y = Aᵀ[(G g) ⊙ (Bᵀ d)].
 * Cook–Toom: with n = m + r − 1 interpolation points (n − 1 finite points plus ∞), the correlation
 * is the transpose of the polynomial product s(x) = g(x)·h(x) computed by evaluation/interpolation:
 *   Aᵀ[i][k] = a_kⁱ (∞ column: 1 in the last row),
 *   G[k][j]  = a_kʲ / Π_{l≠k}(a_k − a_l) (∞ row: [0 … 0 1]),
 *   Bᵀ[k]    = coefficients of Π_{l≠k}(x − a_l) (ascending powers; ∞ row: Π_l (x − a_l)),
 * then each Bᵀ row is scaled to integers (the scale moves into the matching G row).
 * Everything here is exact (bigint rationals); nothing is a typed-in table.
 *
 * Nesting (Agarwal–Cooley, paper B): an outer F(m1, r1) applied over blocks of s taps, with inner
 * F(s, s) products, is itself a bilinear algorithm F(s·m1, r1·s) with μ = μ_outer·μ_inner.
 */
import { ConfigError } from '../core/errors.js';
import { Q, type QMatrix, lcm, qZeros, qToNumbers } from './rational.js';

/** A 1D bilinear algorithm in exact arithmetic, with its structure (for staged counting). */
export interface ExactAlgorithm {
  /** Outputs per tile. */
  m: number;
  /** Filter taps. */
  r: number;
  /** Element-wise multiplications per tile (number of rows of G and Bᵀ). */
  mu: number;
  /** m × μ */
  AT: QMatrix;
  /** μ × r */
  G: QMatrix;
  /** μ × (m + r − 1) */
  BT: QMatrix;
  /** Human-readable name, e.g. "F(3,3)" or "F(3,3)∘F(3,3)". */
  name: string;
  /** Present when the algorithm is an outer F(m1, r1) nested over an inner F(s, s). */
  nested?: { outer: ExactAlgorithm; inner: ExactAlgorithm };
}

/** A float64 copy of an algorithm's matrices (row-major). */
export interface FloatAlgorithm {
  m: number;
  r: number;
  mu: number;
  /** Input tile length m + r − 1. */
  L: number;
  AT: number[][];
  G: number[][];
  BT: number[][];
  name: string;
}

/** The k-th default finite interpolation point: 0, 1, −1, 2, −2, 1/2, −1/2, 3, −3, 1/3, −1/3, 4, … */
export function defaultPoints(count: number): Q[] {
  const pts: Q[] = [Q.ZERO];
  for (let k = 1; pts.length < count; k++) {
    pts.push(Q.of(k), Q.of(-k));
    if (k > 1) pts.push(Q.of(1, k), Q.of(-1, k));
  }
  return pts.slice(0, count);
}

/** Polynomial (ascending coefficients) product with (c1·x + c0). */
function polyMulLinear(p: Q[], c1: Q, c0: Q): Q[] {
  const out: Q[] = Array.from({ length: p.length + 1 }, () => Q.ZERO);
  for (let i = 0; i < p.length; i++) {
    out[i] = out[i].add(p[i].mul(c0));
    out[i + 1] = out[i + 1].add(p[i].mul(c1));
  }
  return out;
}

/**
 * Cook–Toom F(m, r) from `points` (n − 1 = m + r − 2 distinct finite points; ∞ is added).
 * Defaults to `defaultPoints(m + r − 2)`.
 */
export function cookToom(m: number, r: number, points?: readonly Q[]): ExactAlgorithm {
  if (!Number.isInteger(m) || m < 1 || !Number.isInteger(r) || r < 1) throw new ConfigError(`F(${m},${r}): m and r must be whole numbers ≥ 1`);
  const n = m + r - 1;
  const pts = points ? [...points] : defaultPoints(n - 1);
  if (pts.length !== n - 1) throw new ConfigError(`F(${m},${r}) needs ${n - 1} finite interpolation points, got ${pts.length}`);
  for (let i = 0; i < pts.length; i++)
    for (let j = 0; j < i; j++) if (pts[i].equals(pts[j])) throw new ConfigError(`interpolation point ${pts[i]} is repeated: points must be distinct`);
  const AT = qZeros(m, n);
  const G = qZeros(n, r);
  const BT = qZeros(n, n);
  for (let k = 0; k < n - 1; k++) {
    const a = pts[k];
    let pw = Q.ONE;
    for (let i = 0; i < Math.max(m, r); i++) {
      if (i < m) AT[i][k] = pw;
      if (i < r) G[k][i] = pw;
      pw = pw.mul(a);
    }
    let scale = Q.ONE;
    let poly: Q[] = [Q.ONE];
    for (let l = 0; l < n - 1; l++) {
      if (l === k) continue;
      scale = scale.mul(a.sub(pts[l]));
      poly = polyMulLinear(poly, Q.ONE, pts[l].neg());
    }
    for (let j = 0; j < r; j++) G[k][j] = G[k][j].div(scale);
    for (let j = 0; j < poly.length; j++) BT[k][j] = poly[j];
  }
  // the point at infinity
  AT[m - 1][n - 1] = Q.ONE;
  G[n - 1][r - 1] = Q.ONE;
  let full: Q[] = [Q.ONE];
  for (let l = 0; l < n - 1; l++) full = polyMulLinear(full, Q.ONE, pts[l].neg());
  for (let j = 0; j < n; j++) BT[n - 1][j] = full[j];
  // scale Bᵀ rows to integers; compensate in G
  for (let k = 0; k < n; k++) {
    let d = 1n;
    for (const v of BT[k]) d = lcm(d, v.den);
    if (d === 1n) continue;
    const s = Q.of(d);
    BT[k] = BT[k].map((v) => v.mul(s));
    G[k] = G[k].map((v) => v.div(s));
  }
  return { m, r, mu: n, AT, G, BT, name: `F(${m},${r})` };
}

/**
 * Nests an outer F(m1, r1) over an inner F(s, s): the result is F(s·m1, r1·s) with μ = μ1·μ2.
 * Filter index k = a·s + b, output index i = t·s + u, input block D_j = d[j·s : j·s + 2s − 1].
 */
export function nest(outer: ExactAlgorithm, inner: ExactAlgorithm): ExactAlgorithm {
  if (inner.m !== inner.r) throw new ConfigError(`the inner algorithm of a nesting must be F(s,s), got ${inner.name}`);
  const s = inner.m;
  const M = s * outer.m;
  const R = outer.r * s;
  const L = M + R - 1;
  const mu = outer.mu * inner.mu;
  const AT = qZeros(M, mu);
  const G = qZeros(mu, R);
  const BT = qZeros(mu, L);
  for (let k = 0; k < outer.mu; k++) {
    for (let p = 0; p < inner.mu; p++) {
      const row = k * inner.mu + p;
      for (let t = 0; t < outer.m; t++) for (let u = 0; u < s; u++) AT[t * s + u][row] = outer.AT[t][k].mul(inner.AT[u][p]);
      for (let a = 0; a < outer.r; a++) for (let b = 0; b < s; b++) G[row][a * s + b] = outer.G[k][a].mul(inner.G[p][b]);
      for (let j = 0; j < outer.m + outer.r - 1; j++) {
        const c = outer.BT[k][j];
        if (c.isZero()) continue;
        for (let q = 0; q < 2 * s - 1; q++) {
          const v = inner.BT[p][q];
          if (!v.isZero()) BT[row][j * s + q] = BT[row][j * s + q].add(c.mul(v));
        }
      }
    }
  }
  const wrap = (x: ExactAlgorithm) => (x.nested ? `(${x.name})` : x.name);
  return { m: M, r: R, mu, AT, G, BT, name: `${wrap(outer)}∘${wrap(inner)}`, nested: { outer, inner } };
}

/**
 * Checks the bilinear identity Σ_k Aᵀ[i][k]·G[k][a]·Bᵀ[k][j] = [j = i + a] exactly, for all i, a, j.
 * It is equivalent to y = Aᵀ[(G g) ⊙ (Bᵀ d)] being the r-tap correlation for every g and d
 * (compare the coefficients of g[a]·d[j]). Returns the first violation, or null.
 */
export function checkExact(alg: ExactAlgorithm): { i: number; a: number; j: number; value: string } | null {
  const L = alg.m + alg.r - 1;
  for (let i = 0; i < alg.m; i++)
    for (let a = 0; a < alg.r; a++) {
      const ga: Q[] = alg.G.map((row, k) => alg.AT[i][k].mul(row[a]));
      for (let j = 0; j < L; j++) {
        let acc = Q.ZERO;
        for (let k = 0; k < alg.mu; k++) if (!ga[k].isZero() && !alg.BT[k][j].isZero()) acc = acc.add(ga[k].mul(alg.BT[k][j]));
        const want = j === i + a ? Q.ONE : Q.ZERO;
        if (!acc.equals(want)) return { i, a, j, value: acc.toString() };
      }
    }
  return null;
}

export function toFloat(alg: ExactAlgorithm): FloatAlgorithm {
  return { m: alg.m, r: alg.r, mu: alg.mu, L: alg.m + alg.r - 1, AT: qToNumbers(alg.AT), G: qToNumbers(alg.G), BT: qToNumbers(alg.BT), name: alg.name };
}

/** Pure-3 nesting F(3^l, 3^l) for l ≥ 1 (F(3,3) for l = 1). */
export function pure3Square(level: number): ExactAlgorithm {
  let alg = cookToom(3, 3);
  for (let l = 2; l <= level; l++) alg = nest(cookToom(3, 3), alg);
  return alg;
}

export type NestingPolicy = 'pure3' | 'mixed';

export interface NestedOptions {
  policy?: NestingPolicy;
  /** Outputs per tile of the outermost algorithm (m1). Default 3 (the paper's F(3,3) kernel). */
  m1?: number;
  /** Mixed policy: largest outer tap count r1 allowed (default 4). */
  maxOuterTaps?: number;
}

const cache = new Map<string, ExactAlgorithm>();

/**
 * The nested algorithm for a K-tap filter (the filter is zero-padded to the algorithm's r).
 * pure3: r = 3^L ≥ K, outer F(m1, 3) over inner F(3^{L−1}, 3^{L−1}) built recursively from F(3,3).
 * mixed: r = r1·s with s ∈ {1, 3, 9, 27} (inner pure-3 F(s, s)) and outer F(m1, r1), r1 ≤ maxOuterTaps,
 *        choosing the fewest element-wise multiplications per output.
 */
export function nestedAlgorithm(K: number, opts: NestedOptions = {}): ExactAlgorithm {
  const policy = opts.policy ?? 'pure3';
  const m1 = opts.m1 ?? 3;
  const maxR = opts.maxOuterTaps ?? 4;
  if (!Number.isInteger(K) || K < 1 || K > 81) throw new ConfigError(`kernel size ${K} is not supported: use 1…81`);
  if (!Number.isInteger(maxR) || maxR < 3) throw new ConfigError(`maxOuterTaps must be a whole number ≥ 3, got ${maxR}`);
  if (!Number.isInteger(m1) || m1 < 1 || m1 > 8) throw new ConfigError(`m1 (outer outputs per tile) must be 1…8, got ${m1}`);
  const key = `${K}|${policy}|${m1}|${maxR}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let best: ExactAlgorithm;
  if (policy === 'pure3') {
    let level = 1;
    while (3 ** level < K) level++;
    best = level === 1 ? cookToom(m1, 3) : nest(cookToom(m1, 3), pure3Square(level - 1));
  } else {
    let bestCost = Infinity;
    let bestSpec: [number, number] = [1, K];
    for (const [s, level] of [
      [1, 0],
      [3, 1],
      [9, 2],
      [27, 3],
    ] as const) {
      const r1 = Math.ceil(K / s);
      if (r1 > maxR) continue;
      const muInner = s === 1 ? 1 : 5 ** level;
      const cost = ((m1 + r1 - 1) * muInner) / (m1 * s);
      if (cost < bestCost - 1e-12) {
        bestCost = cost;
        bestSpec = [s, r1];
      }
    }
    const [s, r1] = bestSpec;
    best = s === 1 ? cookToom(m1, r1) : nest(cookToom(m1, r1), pure3Square(Math.round(Math.log(s) / Math.log(3))));
  }
  cache.set(key, best);
  return best;
}
