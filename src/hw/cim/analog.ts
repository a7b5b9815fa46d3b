/**
 * One bit line as an analog quantity.
 *
 * A line of capacitance C starts at V_PRE and is discharged by cells whose current depends on the
 * line voltage: C·dV/dt = −I_u·f(V)·W(t), where W(t) is the (mismatch-weighted) number of cells
 * conducting. With G(V) = ∫_V^{V_PRE} dv / (V_u·f(v)) (V_u = I_u·T0/C, the "analog LSB") the
 * solution is G(V_end) = ∫W(t)dt/T0 — the total *cell-time* on the line in units of T0, whatever
 * the order or overlap of the pulses. So a line is described by one number, its
 * cell-time τ, and its voltage is V = G⁻¹(τ). `LineModel` tabulates G and G⁻¹.
 *
 * f(V) = tri(V)·(1 + λ(V − V_PRE)) with tri(V) = min(1, (V/Vk)(2 − V/Vk)): channel-length
 * modulation above the knee, triode collapse below it (docs/cim.md, non-idealities).
 */

export interface LineModelParams {
  vPre: number;
  /** Analog LSB V_u (V per unit cell-time at f = 1). */
  vu: number;
  lambda: number;
  vKnee: number;
}

/** Relative cell current at bit-line voltage v (1 at V_PRE when λ = 0). */
export function cellCurrentFactor(v: number, vPre: number, lambda: number, vKnee: number): number {
  let tri = 1;
  if (vKnee > 0 && v < vKnee) {
    const r = Math.max(v, 0) / vKnee;
    tri = r * (2 - r);
  }
  return Math.max(1e-6, tri * (1 + lambda * (v - vPre)));
}

const V_MIN = 0.002;
const TABLE = 1 << 14;

export class LineModel {
  readonly vPre: number;
  readonly vu: number;
  readonly lambda: number;
  readonly vKnee: number;
  /** True when f ≡ 1 (V = V_PRE − V_u·τ exactly). */
  readonly linear: boolean;
  private readonly tauMax: number;
  private readonly invStep: number;
  private readonly vOfTau: Float64Array;
  private readonly gOfV: Float64Array;
  private readonly vStep: number;

  constructor(p: LineModelParams) {
    this.vPre = p.vPre;
    this.vu = p.vu;
    this.lambda = p.lambda;
    this.vKnee = p.vKnee;
    this.linear = p.lambda === 0 && p.vKnee === 0;
    if (this.linear) {
      this.tauMax = Number.POSITIVE_INFINITY;
      this.invStep = 0;
      this.vOfTau = new Float64Array(0);
      this.gOfV = new Float64Array(0);
      this.vStep = 0;
      return;
    }
    // G on a uniform voltage grid from V_PRE (index 0) down to V_MIN, Simpson per interval.
    const n = TABLE;
    this.vStep = (p.vPre - V_MIN) / n;
    const g = new Float64Array(n + 1);
    const inv = (v: number): number => 1 / (p.vu * cellCurrentFactor(v, p.vPre, p.lambda, p.vKnee));
    for (let i = 1; i <= n; i++) {
      const a = p.vPre - (i - 1) * this.vStep;
      const b = p.vPre - i * this.vStep;
      g[i] = g[i - 1] + (this.vStep / 6) * (inv(a) + 4 * inv((a + b) / 2) + inv(b));
    }
    this.gOfV = g;
    this.tauMax = g[n];
    // Inverse on a uniform τ grid.
    const m = TABLE * 2;
    this.invStep = this.tauMax / m;
    const vt = new Float64Array(m + 1);
    let j = 0;
    for (let k = 0; k <= m; k++) {
      const t = k * this.invStep;
      while (j < n - 1 && g[j + 1] < t) j++;
      const span = g[j + 1] - g[j];
      const frac = span > 0 ? Math.min(1, Math.max(0, (t - g[j]) / span)) : 0;
      vt[k] = p.vPre - (j + frac) * this.vStep;
    }
    this.vOfTau = vt;
  }

  /** Raw lookup data for hot loops (voltage = table[τ/invStep] interpolated; vMin beyond tauMax). */
  lookup(): { table: Float64Array; invStep: number; tauMax: number; vMin: number } {
    return { table: this.vOfTau, invStep: this.invStep, tauMax: this.tauMax, vMin: V_MIN };
  }

  /** Voltage after a cell-time τ (T0 units) from V_PRE. */
  voltage(tau: number): number {
    if (this.linear) return this.vPre - this.vu * tau;
    if (tau <= 0) return this.vPre - this.vu * tau;
    if (tau >= this.tauMax) return V_MIN;
    const x = tau / this.invStep;
    const k = x | 0;
    const fr = x - k;
    return this.vOfTau[k] + fr * (this.vOfTau[k + 1] - this.vOfTau[k]);
  }

  /** Cell-time that brings the line from V_PRE to `v` (inverse of `voltage`). */
  cellTime(v: number): number {
    if (this.linear || v >= this.vPre) return (this.vPre - v) / this.vu;
    const x = (this.vPre - v) / this.vStep;
    if (x >= TABLE) return this.tauMax;
    const k = x | 0;
    const fr = x - k;
    return this.gOfV[k] + fr * (this.gOfV[k + 1] - this.gOfV[k]);
  }

  /** ∫_{vLow}^{V_PRE} dv / f(v) in volts: the usable swing measured in "f = 1 volts". */
  static swingIntegral(vPre: number, vLow: number, lambda: number, vKnee: number): number {
    const n = 2048;
    const h = (vPre - vLow) / n;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const a = vPre - i * h;
      const b = a - h;
      const inv = (v: number): number => 1 / cellCurrentFactor(v, vPre, lambda, vKnee);
      s += (h / 6) * (inv(a) + 4 * inv((a + b) / 2) + inv(b));
    }
    return s;
  }
}

/**
 * Fast standard-normal source: a seeded table of 2^16 normals read at pseudo-random positions
 * (xorshift32). Used for per-decision comparator noise in bulk simulation, where a Box–Muller
 * draw per comparison would dominate the run time.
 */
export class NormalTable {
  private readonly table: Float32Array;
  private state: number;
  constructor(draw: () => number, seed: number) {
    this.table = new Float32Array(1 << 16);
    for (let i = 0; i < this.table.length; i++) this.table[i] = draw();
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.table[(x >>> 8) & 0xffff];
  }
}
