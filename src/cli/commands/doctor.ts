/** `accelab doctor`: backend, SIMD, threads, and which data sets can be found. */
import type { Command } from 'commander';
import { cpus, totalmem } from 'node:os';
import { emit, startEngine, withCommon, type CommonOptions } from '../common.js';
import { listDatasets } from './data.js';
import type { NativeStatus } from '../../core/engine.js';

/** One line: whether the native BLAS kernels are in use, with library, core type and threads, or why not. */
export function nativeLine(n: NativeStatus): string {
  if (!n.enabled) return `off: ${n.reason ?? 'not in use'}`;
  const b = n.blas;
  const env = Object.entries(n.env)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`);
  return `on: OpenBLAS ${b?.coreType ?? '?'}, ${b?.threads ?? '?'} thread${b?.threads === 1 ? '' : 's'} per worker (${b?.library ?? '?'})${env.length ? `, ${env.join(' ')}` : ''}; ${n.kernels.join(', ')}`;
}

export function register(program: Command): void {
  withCommon(program.command('doctor').description('show the numeric backend, SIMD, threads, native BLAS and the data sets found'), { out: false, seed: false }).action(
    async (o: CommonOptions) => {
      const engine = await startEngine(o);
      const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: +(totalmem() / 2 ** 30).toFixed(1) };
      const datasets = listDatasets();
      const result = { engine, machine, datasets };
      emit(o, result, () =>
        [
          `backend      ${engine.backend}${engine.tfjsNodeAvailable ? '' : ' (tfjs-node not installed)'}`,
          `SIMD         ${engine.simd === null ? 'n/a' : engine.simd ? 'yes' : 'no'}`,
          `threads      ${engine.threads} per process; executor default ${engine.workers} worker threads, one engine each`,
          `native BLAS  ${nativeLine(engine.native)}`,
          `kernels      ${engine.projectKernels.length ? `${engine.projectKernels.length} project training kernels (${engine.projectKernels.join(', ')})` : 'stock'}`,
          `tfjs         ${engine.tfjsVersion}`,
          `machine      ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`,
          `data sets    ${datasets.map((d) => `${d.name} ${d.present ? `(${d.where})` : 'missing'}`).join('; ')}`,
        ].join('\n'),
      );
    },
  );
}
