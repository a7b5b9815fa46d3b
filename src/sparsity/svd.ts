/**
 * Singular value decomposition by one-sided Jacobi rotations (Hestenes 1958; Demmel & Veselić 1992),
 * in float64 on plain arrays. Works on the orientation with fewer columns: A (m×n, m ≥ n) is
 * orthogonalised column pair by column pair, A·V = U·Σ, until every pair is orthogonal to
 * `tol` relative to its norms. Accurate to working precision for the small matrices of a layer
 * (hundreds to a few thousand rows); cost per sweep ≈ 3·m·n² flops, typically 6–10 sweeps.
 */

export interface Svd {
  /** Rows m and columns n of the decomposed matrix. */
  m: number;
  n: number;
  /** Number of singular triplets kept (min(m, n), or the truncation rank). */
  rank: number;
  /** Left singular vectors, m × rank, row-major. */
  u: Float64Array;
  /** Singular values, descending. */
  s: Float64Array;
  /** Right singular vectors, n × rank, row-major (A ≈ U·diag(s)·Vᵀ). */
  v: Float64Array;
  sweeps: number;
}

/**
 * SVD of an m×n row-major matrix (`a` is not modified), keeping the `rank` largest triplets
 * (default min(m, n)). `maxSweeps` bounds the Jacobi sweeps; `tol` the relative off-orthogonality.
 */
export function svd(a: ArrayLike<number>, m: number, n: number, o: { rank?: number; maxSweeps?: number; tol?: number } = {}): Svd {
  if (a.length !== m * n) throw new RangeError(`svd: matrix has ${a.length} entries, expected ${m}×${n}`);
  const transpose = n > m;
  // Work on columns of B (rows × cols, rows ≥ cols), stored column-major so each column is contiguous.
  const rows = transpose ? n : m;
  const cols = transpose ? m : n;
  const b = new Float64Array(rows * cols);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const v = a[i * n + j];
      if (transpose)
        b[i * rows + j] = v; // B = Aᵀ: column i of B is row i of A
      else b[j * rows + i] = v;
    }
  }
  const w = new Float64Array(cols * cols); // right rotations, column-major
  for (let j = 0; j < cols; j++) w[j * cols + j] = 1;
  const tol = o.tol ?? 1e-13;
  const maxSweeps = o.maxSweeps ?? 60;
  let sweeps = 0;
  for (; sweeps < maxSweeps; ) {
    sweeps++;
    let rotated = false;
    for (let p = 0; p < cols - 1; p++) {
      const po = p * rows;
      for (let q = p + 1; q < cols; q++) {
        const qo = q * rows;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < rows; i++) {
          const x = b[po + i];
          const y = b[qo + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < rows; i++) {
          const x = b[po + i];
          const y = b[qo + i];
          b[po + i] = c * x - s * y;
          b[qo + i] = s * x + c * y;
        }
        const pw = p * cols;
        const qw = q * cols;
        for (let i = 0; i < cols; i++) {
          const x = w[pw + i];
          const y = w[qw + i];
          w[pw + i] = c * x - s * y;
          w[qw + i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += b[j * rows + i] ** 2;
    norms[j] = Math.sqrt(s);
  }
  const order = Array.from({ length: cols }, (_, j) => j).sort((x, y) => norms[y] - norms[x] || x - y);
  const rank = Math.min(o.rank ?? cols, cols);
  // B = Ub Σ Wᵀ. For A = B: U = Ub, V = W. For A = Bᵀ: A = W Σ Ubᵀ, so U = W, V = Ub.
  const ub = new Float64Array(rows * rank); // rows × rank, row-major
  const wv = new Float64Array(cols * rank);
  const s = new Float64Array(rank);
  for (let k = 0; k < rank; k++) {
    const j = order[k];
    s[k] = norms[j];
    const inv = norms[j] > 0 ? 1 / norms[j] : 0;
    for (let i = 0; i < rows; i++) ub[i * rank + k] = b[j * rows + i] * inv;
    for (let i = 0; i < cols; i++) wv[i * rank + k] = w[j * cols + i];
  }
  return transpose ? { m, n, rank, u: wv, s, v: ub, sweeps } : { m, n, rank, u: ub, s, v: wv, sweeps };
}
