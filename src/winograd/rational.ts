/** Exact rational numbers on bigint: always reduced, denominator > 0. Used to derive Winograd transforms. */
export class Q {
  readonly num: bigint;
  readonly den: bigint;

  private constructor(num: bigint, den: bigint) {
    this.num = num;
    this.den = den;
  }

  static of(num: bigint | number, den: bigint | number = 1n): Q {
    let n = BigInt(num);
    let d = BigInt(den);
    if (d === 0n) throw new RangeError('rational with zero denominator');
    if (d < 0n) {
      n = -n;
      d = -d;
    }
    const g = gcd(n < 0n ? -n : n, d);
    return new Q(g > 1n ? n / g : n, g > 1n ? d / g : d);
  }

  static readonly ZERO = Q.of(0n);
  static readonly ONE = Q.of(1n);

  /** Parses '3', '-1/2'. */
  static parse(s: string): Q {
    const m = /^\s*(-?\d+)\s*(?:\/\s*(\d+))?\s*$/.exec(s);
    if (!m) throw new RangeError(`'${s}' is not a rational number like 2 or -1/2`);
    return Q.of(BigInt(m[1]), m[2] ? BigInt(m[2]) : 1n);
  }

  add(o: Q): Q {
    return Q.of(this.num * o.den + o.num * this.den, this.den * o.den);
  }
  sub(o: Q): Q {
    return Q.of(this.num * o.den - o.num * this.den, this.den * o.den);
  }
  mul(o: Q): Q {
    return Q.of(this.num * o.num, this.den * o.den);
  }
  div(o: Q): Q {
    if (o.num === 0n) throw new RangeError('rational division by zero');
    return Q.of(this.num * o.den, this.den * o.num);
  }
  neg(): Q {
    return new Q(-this.num, this.den);
  }
  isZero(): boolean {
    return this.num === 0n;
  }
  equals(o: Q): boolean {
    return this.num === o.num && this.den === o.den;
  }
  /** True for 0, 1 and -1 (the coefficients that cost no multiplication). */
  isTrivial(): boolean {
    return this.den === 1n && (this.num === 0n || this.num === 1n || this.num === -1n);
  }
  toNumber(): number {
    return Number(this.num) / Number(this.den);
  }
  toString(): string {
    return this.den === 1n ? this.num.toString() : `${this.num}/${this.den}`;
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a === 0n ? 1n : a;
}

export function lcm(a: bigint, b: bigint): bigint {
  return (a / gcd(a, b)) * b;
}

export type QMatrix = Q[][];

export function qZeros(rows: number, cols: number): QMatrix {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => Q.ZERO));
}

export function qToNumbers(m: QMatrix): number[][] {
  return m.map((row) => row.map((v) => v.toNumber()));
}

export function qToStrings(m: QMatrix): string[][] {
  return m.map((row) => row.map((v) => v.toString()));
}
