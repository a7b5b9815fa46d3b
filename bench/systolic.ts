/**
 * `npm run bench -- systolic`: simulation speed of the systolic-array model.
 * - AlexNet's 5 conv layers (SCALE-Sim's topology) on SCALE-Sim's scale.cfg (32×32 OS, 64 kB SRAMs);
 * - VGG-16's 13 conv layers on a 128×128 OS array (same SRAMs);
 * each in the analytical and the cycle-level mode (cycle mode: `--cycle-layers` limits the layers).
 * When ACCELAB_SCALESIM names a SCALE-Sim v2 checkout, SCALE-Sim runs the same config and topology
 * in the same benchmark (AlexNet; VGG-16 too with --scalesim-vgg), its COMPUTE_REPORT cycles are
 * compared with ours and the wall-clock ratio is reported. Python: ACCELAB_SCALESIM_PYTHON, else
 * /usr/bin/python3 when present (needs numpy and tqdm), else python3.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALEXNET_TOPOLOGY, VGG16_TOPOLOGY } from '../src/experiments/systolic.js';
import { DEFAULT_CONFIG, formatScalesimConfig, parseReport, parseTopology, runSystolic, type SystolicConfig } from '../src/hw/systolic/index.js';
import { median, registerBenchmark } from './registry.js';

interface SystolicBenchOptions {
  cycleLayers?: string;
  scalesimVgg?: boolean;
}

interface Timing {
  wallS: number;
  cpuS: number;
  totalCycles: number;
  layers: number;
  macs: number;
}

interface NetworkBench {
  network: string;
  array: string;
  analytical: Timing;
  cycle: Timing & { outputsVerified: boolean };
  /** SCALE-Sim v2 on the same config and topology; the speed-up divides its wall time by the median of our analytical runs (before and after it). */
  scalesim:
    | {
        wallS: number;
        cpuS: number | null;
        totalCycles: number;
        cyclesIdentical: boolean;
        analyticalSpeedup: number;
        analyticalSpeedupCpu: number | null;
        python: string;
        commit: string | null;
      }
    | { skipped: string };
}

interface SystolicBenchResult {
  networks: NetworkBench[];
  env: { OPENBLAS_CORETYPE: string | null; OPENBLAS_L2_SIZE: string | null };
  note: string;
}

function timed<T>(fn: () => T): { value: T; wallS: number; cpuS: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, wallS, cpuS: (c.user + c.system) / 1e6 };
}

function scalesimPython(): string {
  if (process.env.ACCELAB_SCALESIM_PYTHON) return process.env.ACCELAB_SCALESIM_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function runScalesim(checkout: string, cfg: SystolicConfig, topology: string, ours: number[]): NetworkBench['scalesim'] {
  const dir = mkdtempSync(join(tmpdir(), 'accelab-scalesim-'));
  try {
    writeFileSync(join(dir, 'config.cfg'), formatScalesimConfig(cfg));
    writeFileSync(join(dir, 'topology.csv'), topology);
    const python = scalesimPython();
    const args = [python, '-m', 'scalesim.scale', '-c', 'config.cfg', '-t', 'topology.csv', '-p', 'out'];
    // GNU time reports the child's CPU seconds, which stay comparable when the machine is shared.
    const gnuTime = existsSync('/usr/bin/time');
    const cmd = gnuTime ? ['/usr/bin/time', '-f', 'ACCELAB_CPU %U %S', ...args] : args;
    const t0 = performance.now();
    const r = spawnSync(cmd[0], cmd.slice(1), { cwd: dir, env: { ...process.env, PYTHONPATH: checkout }, encoding: 'utf8', maxBuffer: 1 << 30 });
    const wallS = (performance.now() - t0) / 1000;
    const cpu = /ACCELAB_CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
    const cpuS = cpu ? Number(cpu[1]) + Number(cpu[2]) : null;
    if (r.status !== 0) return { skipped: `SCALE-Sim failed (${python}, exit ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}` };
    const report = parseReport(readFileSync(join(dir, 'out', cfg.runName, 'COMPUTE_REPORT.csv'), 'utf8'));
    const theirs = report.rows.map((x) => x[1]);
    const git = spawnSync('git', ['-C', checkout, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
    return {
      wallS,
      cpuS,
      totalCycles: theirs.reduce((s, v) => s + v, 0),
      cyclesIdentical: theirs.length === ours.length && theirs.every((v, i) => v === ours[i]),
      analyticalSpeedup: 0,
      analyticalSpeedupCpu: null,
      python,
      commit: git.status === 0 ? git.stdout.trim() : null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchNetwork(name: string, topology: string, cfg: SystolicConfig, cycleLayers: number, scalesim: boolean, log: (s: string) => void): NetworkBench {
  const layers = parseTopology(topology, `${name}.csv`, false);
  log(`${name} on ${cfg.arrayHeight}×${cfg.arrayWidth} ${cfg.dataflow}: analytical (3 runs)`);
  const analyticalRuns = [0, 1, 2].map(() => timed(() => runSystolic(layers, cfg, { scalesimCompat: true })));
  const a = analyticalRuns.sort((x, y) => x.wallS - y.wallS)[1];
  const cl = layers.slice(0, Math.min(cycleLayers, layers.length));
  log(`${name}: cycle-level, ${cl.length} layer(s)`);
  const c = timed(() => runSystolic(cl, cfg, { mode: 'cycle', scalesimCompat: true, seed: 1 }));
  const cyclesMatch = c.value.layers.every((l, i) => l.totalCycles === a.value.layers[i].totalCycles);
  const ours = a.value.layers.map((l) => l.totalCycles);
  let sc: NetworkBench['scalesim'] = { skipped: 'ACCELAB_SCALESIM is not set' };
  const checkout = process.env.ACCELAB_SCALESIM;
  if (checkout && scalesim) {
    log(`${name}: SCALE-Sim v2 (${checkout}) — this takes minutes`);
    sc = runScalesim(checkout, cfg, topology, ours);
    // The machine may be shared: time ours again right after SCALE-Sim and compare with the median of all runs.
    analyticalRuns.push(...[0, 1].map(() => timed(() => runSystolic(layers, cfg, { scalesimCompat: true }))));
    const wall = median(analyticalRuns.map((x) => x.wallS));
    const cpuMed = median(analyticalRuns.map((x) => x.cpuS));
    if ('wallS' in sc) {
      sc.analyticalSpeedup = sc.wallS / wall;
      sc.analyticalSpeedupCpu = sc.cpuS === null ? null : sc.cpuS / cpuMed;
    }
  } else if (checkout) sc = { skipped: 'SCALE-Sim not timed on this network (use --scalesim-vgg)' };
  return {
    network: name,
    array: `${cfg.arrayHeight}×${cfg.arrayWidth} ${cfg.dataflow.toUpperCase()}`,
    analytical: { wallS: a.wallS, cpuS: a.cpuS, totalCycles: a.value.totalCycles, layers: layers.length, macs: a.value.macs },
    cycle: { wallS: c.wallS, cpuS: c.cpuS, totalCycles: c.value.totalCycles, layers: cl.length, macs: c.value.macs, outputsVerified: cyclesMatch },
    scalesim: sc,
  };
}

registerBenchmark<SystolicBenchOptions, SystolicBenchResult>({
  name: 'systolic',
  description: 'systolic-array model: AlexNet conv 32×32 OS and VGG-16 128×128, analytical and cycle-level; SCALE-Sim v2 side by side when ACCELAB_SCALESIM is set',
  options(cmd) {
    cmd.option('--cycle-layers <n>', 'layers of each network run in the cycle-level mode (default: all)', '99');
    cmd.option('--scalesim-vgg', 'also time SCALE-Sim on VGG-16 128×128 (slow)');
  },
  async run(o, ctx) {
    const cycleLayers = Number(o.cycleLayers ?? 99);
    const alex = benchNetwork('AlexNet', ALEXNET_TOPOLOGY, DEFAULT_CONFIG, cycleLayers, true, ctx.log);
    const vgg = benchNetwork(
      'VGG-16',
      VGG16_TOPOLOGY,
      { ...DEFAULT_CONFIG, runName: 'vgg16_128x128_os', arrayHeight: 128, arrayWidth: 128 },
      cycleLayers,
      o.scalesimVgg === true,
      ctx.log,
    );
    return {
      networks: [alex, vgg],
      env: { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, OPENBLAS_L2_SIZE: process.env.OPENBLAS_L2_SIZE ?? null },
      note: 'analytical and SCALE-Sim runs use --scalesim-compat counting so the reports are comparable; cycle mode steps the array with seeded int8 operands',
    };
  },
  format(r) {
    return r.networks
      .map((n) => {
        const sc = n.scalesim;
        const s =
          'wallS' in sc
            ? `SCALE-Sim v2 ${sc.wallS.toFixed(1)} s wall${sc.cpuS === null ? '' : `, ${sc.cpuS.toFixed(1)} s CPU`}, cycles ${sc.cyclesIdentical ? 'identical' : 'DIFFER'}; analytical is ${sc.analyticalSpeedup.toFixed(0)}× faster (wall)${sc.analyticalSpeedupCpu === null ? '' : `, ${sc.analyticalSpeedupCpu.toFixed(0)}× (CPU time)`}`
            : `SCALE-Sim: ${sc.skipped}`;
        return [
          `${n.network} on ${n.array}: ${n.analytical.totalCycles.toLocaleString('en')} cycles, ${(n.analytical.macs / 1e9).toFixed(2)} G MACs`,
          `  analytical   ${n.analytical.wallS.toFixed(3)} s wall, ${n.analytical.cpuS.toFixed(3)} s CPU`,
          `  cycle-level  ${n.cycle.wallS.toFixed(2)} s wall, ${n.cycle.cpuS.toFixed(2)} s CPU (${n.cycle.layers} layer(s), ${(n.cycle.macs / n.cycle.cpuS / 1e6).toFixed(0)} M MACs/CPU-s; cycles equal the analytical: ${n.cycle.outputsVerified ? 'yes' : 'NO'})`,
          `  ${s}`,
        ].join('\n');
      })
      .join('\n');
  },
});
