/**
 * Number formatting for report sections, console summaries and progress labels: percentages, signed
 * differences, rounded table cells. Everything formats through these (report/format.ts re-exports
 * them), so one idea reads the same everywhere ("85.1 %", "+2.1 %", "−1.5 %", "+1.2 pp").
 */

/** Shown for a missing value (null, undefined or NaN). */
export const MISSING = '–';

const missing = (v: number | null | undefined): v is null | undefined => v === null || v === undefined || Number.isNaN(v);

/** A fraction as a percentage: `pct(0.8512) === '85.1 %'`, `pct(0.8512, 2) === '85.12 %'`; missing → '–'. */
export function pct(fraction: number | null | undefined, digits = 1): string {
  return missing(fraction) ? MISSING : `${(100 * fraction).toFixed(digits)} %`;
}

/** A number with an explicit sign and a typographic minus: `signed(2.13) === '+2.1'`, `signed(-1.5) === '−1.5'`. */
export function signed(v: number | null | undefined, digits = 1): string {
  if (missing(v) || !Number.isFinite(v)) return MISSING;
  const s = Math.abs(v).toFixed(digits);
  if (Number(s) === 0) return s;
  return `${v > 0 ? '+' : '−'}${s}`;
}

/** A value that is already in percent, with its sign: `signedPercent(2.13) === '+2.1 %'`. */
export function signedPercent(percent: number | null | undefined, digits = 1): string {
  const s = signed(percent, digits);
  return s === MISSING ? s : `${s} %`;
}

/** A difference of two fractions in percentage points: `points(0.012) === '+1.2 pp'`. */
export function points(fractionDiff: number | null | undefined, digits = 1): string {
  const s = missing(fractionDiff) ? MISSING : signed(100 * fractionDiff, digits);
  return s === MISSING ? s : `${s} pp`;
}

/** A number rounded to `digits` decimals for a table cell (stays a number); missing → null. */
export function round(v: number | null | undefined, digits: number): number | null {
  return missing(v) ? null : Number(v.toFixed(digits));
}

/** A number to `digits` significant digits for a table cell; missing or infinite → null. */
export function sig(v: number | null | undefined, digits = 3): number | null {
  return missing(v) || !Number.isFinite(v) ? null : Number(v.toPrecision(digits));
}

/** A ratio as text: `times(1.4367) === '1.44×'`. */
export function times(v: number | null | undefined, digits = 2): string {
  return missing(v) ? MISSING : `${v.toFixed(digits)}×`;
}
