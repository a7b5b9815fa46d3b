/**
 * `npm run bench -- <name> [flags]` / `npm run bench -- --list`.
 * Each benchmark is a subcommand (named by the study descriptors, loaded by bench/benchmarks.ts); its result goes to
 * bench/results/<name>.json (atomically) together with machine info.
 */
import { Command, CommanderError } from 'commander';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineInfo, initEngine, parseBackendChoice } from '../src/core/engine.js';
import { isAccelabError } from '../src/core/errors.js';
import { writeJsonAtomic } from '../src/core/fsx.js';
import './benchmarks.js';
import { benchmarks } from './registry.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  backend: string | null;
  simd: boolean | null;
  tfjs: string | null;
  /** 1-minute load average when the record was written (the machine may be shared). */
  loadAverage1m: number;
  /**
   * Native BLAS kernels of the benchmark process's engine (workers start with the same choice unless a
   * benchmark says otherwise): in use or why not, OpenBLAS library, core type, threads, and the
   * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE environment (null = unset).
   */
  native: {
    enabled: boolean;
    reason: string | null;
    library: string | null;
    coreType: string | null;
    threads: number | null;
    OPENBLAS_CORETYPE: string | null;
    OPENBLAS_L2_SIZE: string | null;
  } | null;
}

export function machineInfo(): MachineInfo {
  const e = engineInfo();
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend: e?.backend ?? null,
    simd: e?.simd ?? null,
    tfjs: e?.tfjsVersion ?? null,
    loadAverage1m: +loadavg()[0].toFixed(2),
    native: e
      ? {
          enabled: e.native.enabled,
          reason: e.native.reason,
          library: e.native.blas?.library ?? null,
          coreType: e.native.blas?.coreType ?? null,
          threads: e.native.blas?.threads ?? null,
          ...e.native.env,
        }
      : null,
  };
}

const program = new Command('bench')
  .description('accelab benchmarks (results in bench/results/<name>.json)')
  .option('--list', 'list the benchmarks')
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(s) });

for (const b of benchmarks()) {
  const cmd = program.command(b.name).description(b.description);
  cmd.option('--json', 'print the result JSON on stdout instead of the table');
  cmd.option('--out <dir>', 'results folder', join(ROOT, 'bench', 'results'));
  b.options?.(cmd);
  cmd.exitOverride();
  cmd.action(async (opts: Record<string, unknown>) => {
    const started = new Date();
    const loadBefore = +loadavg()[0].toFixed(2);
    const log = (line: string) => process.stderr.write(`${line}\n`);
    await initEngine(parseBackendChoice(process.env.ACCELAB_BACKEND));
    const result = await b.run(opts, { log, root: ROOT });
    const { out, json, ...options } = opts;
    const record = { name: b.name, date: started.toISOString(), machine: { ...machineInfo(), loadAverage1mAtStart: loadBefore }, options, result };
    const file = join(String(out), `${b.name}.json`);
    writeJsonAtomic(file, record);
    if (json) process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    else process.stdout.write(`${b.format ? b.format(result) : JSON.stringify(result, null, 2)}\n\nwritten: ${file}\n`);
  });
}

program.argument('[name]', 'benchmark to run (see --list)');
program.action((name: string | undefined, o: { list?: boolean }) => {
  if (name !== undefined) {
    process.stderr.write(`error: unknown benchmark '${name}': use one of ${benchmarks().map((b) => b.name).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  if (o.list) {
    for (const b of benchmarks()) process.stdout.write(`${b.name.padEnd(14)} ${b.description}\n`);
    return;
  }
  program.help();
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else {
    process.stderr.write(`error: ${isAccelabError(e) || e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = isAccelabError(e) ? e.exitCode : 1;
  }
}
