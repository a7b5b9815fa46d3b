/**
 * Benchmark registry. A benchmark module calls `registerBenchmark({...})` at import time; the
 * list comes from the study descriptors (src/cli/studies: a study's `benchmarks`), loaded by bench/benchmarks.ts.
 * Results are written by bench/main.ts to bench/results/<name>.json with machine info.
 */
import type { Command } from 'commander';

export interface BenchContext {
  /** Prints a progress/status line on stderr (benchmarks never print tables themselves). */
  log(line: string): void;
  /** Package root (so reference scripts can be found from dist/). */
  root: string;
}

export interface Benchmark<O extends object = Record<string, unknown>, R = unknown> {
  /** CLI name: `npm run bench -- <name>`. */
  name: string;
  description: string;
  /** Adds the benchmark's own flags (commander options) to its subcommand. */
  options?(cmd: Command): void;
  /** Runs it; returns a JSON-serializable result (stored under `result`). */
  run(opts: O, ctx: BenchContext): Promise<R>;
  /** Human-readable table of a result. */
  format?(result: R): string;
}

const registry = new Map<string, Benchmark>();

export function registerBenchmark<O extends object, R>(b: Benchmark<O, R>): void {
  if (registry.has(b.name)) throw new Error(`benchmark '${b.name}' is registered twice`);
  registry.set(b.name, b as unknown as Benchmark);
}

export function benchmarks(): Benchmark[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A commander value parser that only checks the text (throws a one-line usage error) and keeps it as it is. */
export function checked<T>(parse: (v: string) => T): (v: string) => string {
  return (v) => {
    parse(v);
    return v;
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
