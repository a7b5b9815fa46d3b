/** `accelab doctor`: backend, SIMD, threads, and which data sets can be found. */
import type { Command } from 'commander';
import { cpus, totalmem } from 'node:os';
import { emit, startEngine, withCommon, type CommonOptions } from '../common.js';
import { listDatasets } from './data.js';

export function register(program: Command): void {
  withCommon(program.command('doctor').description('show the numeric backend, SIMD, threads and the data sets found'), { out: false, seed: false }).action(
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
          `kernels      ${engine.projectKernels.length ? `${engine.projectKernels.length} project training kernels (${engine.projectKernels.join(', ')})` : 'stock'}`,
          `tfjs         ${engine.tfjsVersion}`,
          `machine      ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`,
          `data sets    ${datasets.map((d) => `${d.name} ${d.present ? `(${d.where})` : 'missing'}`).join('; ')}`,
        ].join('\n'),
      );
    },
  );
}
