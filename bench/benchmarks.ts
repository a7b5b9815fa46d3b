/**
 * Loads the benchmarks: each study names its benchmarks in its descriptor (src/cli/studies), and
 * benchmark `<name>` is the module bench/<name>.ts, which calls `registerBenchmark({ name, … })`.
 * A named module that is missing or registers another name is an error here, not a silent gap.
 */
import { BENCHMARKS } from '../src/cli/studies/index.js';
import { benchmarks } from './registry.js';

for (const name of BENCHMARKS) {
  await import(`./${name}.js`);
  if (!benchmarks().some((b) => b.name === name)) throw new Error(`bench/${name}.ts does not register a benchmark named '${name}' (registerBenchmark({ name: '${name}', … }))`);
}
