/**
 * `npm run bench -- <name> [flags]` / `npm run bench -- --list`.
 * Each benchmark is a subcommand (named by the study descriptors, loaded by bench/benchmarks.ts). Its
 * record (result + machine info, written atomically) goes to a scratch folder (runs/bench/<name>.json)
 * unless `--record` asks for the committed bench/results/<name>.json (never with --quick), or
 * `--out <dir>` names another folder.
 */
import { Command, CommanderError } from 'commander';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineInfo, initEngine, parseBackendChoice } from '../src/core/engine.js';
import { ConfigError, isAccelabError } from '../src/core/errors.js';
import { checkWritableDir, writeJsonAtomic } from '../src/core/fsx.js';
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

const RESULTS = join(ROOT, 'bench', 'results');
const SCRATCH = join(ROOT, 'runs', 'bench');

const program = new Command('bench')
  .description('accelab benchmarks (records in runs/bench/<name>.json; with --record in the committed bench/results/<name>.json)')
  .option('--list', 'list the benchmarks')
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(`${s.replace(/\s*\n\s*/g, ' ').trim()}\n`) });

for (const b of benchmarks()) {
  const cmd = program.command(b.name).description(b.description);
  cmd.option('--json', 'print the result JSON on stdout instead of the table');
  cmd.option('--record', `write the committed record bench/results/${b.name}.json (a full run: not with --quick)`);
  cmd.option('--out <dir>', 'folder for the record (default runs/bench, or bench/results with --record)');
  b.options?.(cmd);
  cmd.exitOverride();
  cmd.action(async (opts: Record<string, unknown>) => {
    if (opts.record && opts.quick) throw new ConfigError('--record is for full runs: leave out --quick (quick runs go to runs/bench/)');
    if (opts.record && opts.out !== undefined) throw new ConfigError('--record writes bench/results/: leave out --out');
    const outDir = opts.record ? RESULTS : String(opts.out ?? SCRATCH);
    checkWritableDir(outDir, '--out');
    const started = new Date();
    const loadBefore = +loadavg()[0].toFixed(2);
    const log = (line: string) => process.stderr.write(`${line}\n`);
    await initEngine(parseBackendChoice(process.env.ACCELAB_BACKEND));
    const result = await b.run(opts, { log, root: ROOT });
    const { out: _out, json, record: _record, ...options } = opts;
    const record = { name: b.name, date: started.toISOString(), machine: { ...machineInfo(), loadAverage1mAtStart: loadBefore }, options, result };
    const file = join(outDir, `${b.name}.json`);
    writeJsonAtomic(file, record);
    if (json) process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    else process.stdout.write(`${b.format ? b.format(result) : JSON.stringify(result, null, 2)}\n\nwritten: ${file}\n`);
  });
}

program.argument('[name]', 'benchmark to run (see --list)');
program.action((name: string | undefined, o: { list?: boolean }) => {
  if (name !== undefined) {
    process.stderr.write(
      `error: unknown benchmark '${name}': use one of ${benchmarks()
        .map((b) => b.name)
        .join(', ')}\n`,
    );
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
