/** Report section for the tour's engine step (`kind: 'engine'`): what `accelab doctor` shows. */
import type { EngineStepResult } from '../../experiments/tour.js';
import type { ReportSection } from '../types.js';

export function engineSection(r: EngineStepResult): ReportSection {
  const e = r.engine;
  return {
    id: 'engine',
    title: 'Engine and data',
    highlights: [
      { label: 'Backend', value: e?.backend ?? 'not started', hint: e?.tfjsNodeAvailable ? 'tfjs-node' : 'tfjs-node not installed' },
      { label: 'SIMD', value: e?.simd === null || e?.simd === undefined ? 'n/a' : e.simd ? 'yes' : 'no' },
      { label: 'Threads', value: String(e?.threads ?? '?'), hint: 'per process; workers use more cores' },
      {
        label: 'Native BLAS',
        value: e?.native?.enabled ? 'on' : 'off',
        hint: e?.native?.enabled ? `OpenBLAS ${e.native.blas?.coreType ?? '?'}, ${e.native.blas?.threads ?? '?'} thread per worker` : (e?.native?.reason ?? 'not reported'),
      },
      { label: 'Data sets found', value: `${r.datasets.filter((d) => d.found).length} / ${r.datasets.length}` },
    ],
    tables: [
      {
        title: 'Machine',
        columns: ['key', 'value'],
        rows: [
          ['tfjs', e?.tfjsVersion ?? '?'],
          ['Node', r.machine.node],
          ['CPU', `${r.machine.cpus} × ${r.machine.cpuModel}`],
          ['memory', `${r.machine.memoryGiB} GiB`],
        ],
      },
      { title: 'Data sets', columns: ['data set', 'found', 'where'], rows: r.datasets.map((d) => [d.name, d.found, d.where]) },
    ],
  };
}
