/**
 * Subwords of quantized weights. A signed `weightBits`-bit code is cut into subwords of
 * `subwordBits` bits, most significant first; the subword matrix has `subwordsPerWeight` columns
 * per weight column (column j·k + i holds subword i of weight column j), so the packing code treats
 * subwords exactly like weights. Products of a subword with its input are shifted by its
 * significance and summed, so the subwords of one weight may sit in different PEs.
 *
 * Encodings:
 * - 'sign-magnitude' (default): w = s·Σ_i m_i·2^(subwordBits·(k−1−i)); every nonzero subword is
 *   stored with the weight's sign (1 + subwordBits bits). A small weight has zero high subwords.
 * - 'twos-complement': the top subword is signed, the others unsigned (w = Σ_i d_i·2^(…)); subwords
 *   take subwordBits bits, but a small negative weight has a nonzero top subword (all ones), which
 *   costs a slot: kept to measure that effect.
 */
import { ConfigError } from '../core/errors.js';
import { type IntMatrix, intMatrix, maxCode } from './matrix.js';
import type { ShiftSelect } from './rates.js';

export type SubwordEncoding = 'sign-magnitude' | 'twos-complement';

export interface SubwordSpec {
  weightBits: number;
  subwordBits: number;
  encoding: SubwordEncoding;
  /** Bit accounting of packed subword slots (rates.ts `ShiftSelect`); default 'stored'. */
  shiftSelect?: ShiftSelect;
}

export const DEFAULT_SUBWORD: SubwordSpec = { weightBits: 8, subwordBits: 4, encoding: 'sign-magnitude' };

/** Subwords per weight: the magnitude bits (sign-magnitude) or all bits (two's complement), rounded up. */
export function subwordsPerWeight(s: SubwordSpec): number {
  maxCode(s.weightBits);
  if (!Number.isInteger(s.subwordBits) || s.subwordBits < 1 || s.subwordBits >= s.weightBits) {
    throw new ConfigError(`subwords: subwordBits ${s.subwordBits} must be an integer in 1…${s.weightBits - 1}`);
  }
  const bits = s.encoding === 'sign-magnitude' ? s.weightBits - 1 : s.weightBits;
  return Math.ceil(bits / s.subwordBits);
}

/** Bits a packed subword slot stores for its value. */
export function subwordValueBits(s: SubwordSpec): number {
  return s.encoding === 'sign-magnitude' ? s.subwordBits + 1 : s.subwordBits;
}

function subwordsOf(w: number, s: SubwordSpec, k: number, out: Int32Array, at: number): void {
  const base = 2 ** s.subwordBits;
  if (s.encoding === 'sign-magnitude') {
    const sign = w < 0 ? -1 : 1;
    let m = Math.abs(w);
    for (let i = k - 1; i >= 0; i--) {
      out[at + i] = sign * (m % base);
      m = Math.floor(m / base);
    }
  } else {
    let m = w;
    for (let i = k - 1; i > 0; i--) {
      const d = ((m % base) + base) % base;
      out[at + i] = d;
      m = (m - d) / base;
    }
    out[at] = m;
  }
}

/** The subword matrix: rows × (cols·k). */
export function splitSubwords(m: IntMatrix, s: SubwordSpec = DEFAULT_SUBWORD): IntMatrix {
  const k = subwordsPerWeight(s);
  const q = maxCode(s.weightBits);
  const out = intMatrix(m.rows, m.cols * k);
  for (let i = 0; i < m.values.length; i++) {
    const w = m.values[i];
    if (w < -q || w > q) throw new ConfigError(`subwords: weight code ${w} is outside ±${q} for ${s.weightBits}-bit weights`);
    if (w !== 0) subwordsOf(w, s, k, out.values, i * k);
  }
  return out;
}

/** The weight matrix back from its subword matrix (inverse of `splitSubwords`). */
export function mergeSubwords(sm: IntMatrix, s: SubwordSpec = DEFAULT_SUBWORD): IntMatrix {
  const k = subwordsPerWeight(s);
  if (sm.cols % k !== 0) throw new ConfigError(`subwords: ${sm.cols} subword columns are not a multiple of ${k}`);
  const out = intMatrix(sm.rows, sm.cols / k);
  const base = 2 ** s.subwordBits;
  for (let i = 0; i < out.values.length; i++) {
    let w = 0;
    for (let j = 0; j < k; j++) w = w * base + sm.values[i * k + j];
    out.values[i] = w;
  }
  return out;
}

export type SubwordRounding = 'truncate' | 'nearest';

export interface SubwordPruneOptions {
  /** Fraction of the nonzero subwords to remove, cheapest first (0 ≤ f < 1). */
  fraction: number;
  /**
   * How a dropped low subword changes the weight: 'truncate' zeroes it; 'nearest' (default) moves
   * the weight to the nearest value whose lower subwords are all zero (which may raise the one above).
   */
  rounding?: SubwordRounding;
  spec?: SubwordSpec;
}

export interface SubwordPruneResult {
  matrix: IntMatrix;
  subwordsBefore: number;
  subwordsAfter: number;
  /** Weights that became zero. */
  weightsZeroed: number;
}

function countSubwords(w: number, base: number): number {
  let m = Math.abs(w);
  let n = 0;
  while (m > 0) {
    if (m % base !== 0) n++;
    m = Math.floor(m / base);
  }
  return n;
}

/**
 * Subword-level pruning of sign-magnitude codes: each nonzero weight offers its cheapest single
 * change that removes one nonzero subword (dropping its lowest nonzero subword with the rounding
 * rule, or dropping the weight when it has one subword left); the cheapest changes by |Δw| are
 * applied until `fraction` of the nonzero subwords are gone (at most one change per weight per
 * call; call again for more). Ties are broken by position, so the result is deterministic.
 */
export function pruneSubwords(m: IntMatrix, o: SubwordPruneOptions): SubwordPruneResult {
  const s = o.spec ?? DEFAULT_SUBWORD;
  if (s.encoding !== 'sign-magnitude') throw new ConfigError(`subword pruning: encoding '${s.encoding}' is not supported (use 'sign-magnitude')`);
  if (!(o.fraction >= 0 && o.fraction < 1)) throw new ConfigError(`subword pruning: fraction ${o.fraction} must be in [0, 1)`);
  subwordsPerWeight(s);
  const q = maxCode(s.weightBits);
  const base = 2 ** s.subwordBits;
  const rounding = o.rounding ?? 'nearest';
  const n = m.values.length;
  const target = new Int32Array(n);
  const cost = new Float64Array(n);
  const cand: number[] = [];
  let before = 0;
  for (let i = 0; i < n; i++) {
    const w = m.values[i];
    if (w === 0) continue;
    const mag = Math.abs(w);
    const subs = countSubwords(w, base);
    before += subs;
    let next = 0;
    if (subs > 1) {
      // Significance of the lowest nonzero subword.
      let unit = 1;
      while (Math.floor(mag / unit) % base === 0) unit *= base;
      const span = unit * base;
      const down = mag - (mag % span);
      let up = down + span;
      if (up > q || countSubwords(up, base) > subs - 1) up = -1;
      next = rounding === 'nearest' && up >= 0 && up - mag < mag - down ? up : down;
    }
    target[i] = Math.sign(w) * next;
    cost[i] = Math.abs(mag - next);
    cand.push(i);
  }
  cand.sort((a, b) => cost[a] - cost[b] || a - b);
  const remove = Math.min(cand.length, Math.round(o.fraction * before));
  const out = intMatrix(m.rows, m.cols, m.values.slice());
  let zeroed = 0;
  let after = before;
  for (let k = 0; k < remove; k++) {
    const i = cand[k];
    after += countSubwords(target[i], base) - countSubwords(out.values[i], base);
    out.values[i] = target[i];
    if (target[i] === 0) zeroed++;
  }
  return { matrix: out, subwordsBefore: before, subwordsAfter: after, weightsZeroed: zeroed };
}

/** Number of nonzero subwords of a weight matrix. */
export function nonzeroSubwords(m: IntMatrix, s: SubwordSpec = DEFAULT_SUBWORD): number {
  const sm = splitSubwords(m, s);
  let n = 0;
  for (const v of sm.values) if (v !== 0) n++;
  return n;
}

/** 2^(subwordBits · significance) of every subword column: what a unit of its subword is worth. */
export function subwordColumnScale(cols: number, s: SubwordSpec = DEFAULT_SUBWORD): Float64Array {
  const k = subwordsPerWeight(s);
  return Float64Array.from({ length: cols }, (_, c) => 2 ** (s.subwordBits * (k - 1 - (c % k))));
}
