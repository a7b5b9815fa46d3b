/**
 * `npm run bench -- sparsenn`: simulated accelerator cycles per second of the SparseNN model
 * (src/hw/sparsenn), fast path against its cycle-by-cycle reference twin in the same run, on
 * synthetic mlp-300-100-shaped layers (784→300→100→10) with 50 % zero inputs and 50 % predicted-zero
 * outputs, all three architectures (dense, input-sparse, SparseNN), 64 PEs.
 * Reports wall-clock and process CPU time (the machine may be shared; CPU time is more robust).
 */
import { Rng } from '../src/core/rng.js';
import { type AcceleratorLayer, ARCHITECTURES, SparseNNSimulator, sparseNNConfig } from '../src/hw/sparsenn/index.js';
import { median, registerBenchmark } from './registry.js';

interface Options {
  rows?: string;
  reps?: string;
  pes?: string;
}

interface Rate {
  rows: number;
  cycles: number;
  wallMs: number;
  cpuMs: number;
  cyclesPerSecondWall: number;
  cyclesPerSecondCpu: number;
}

interface Result {
  pes: number;
  fast: Rate;
  reference: Rate;
  /** Fast cycles/s ÷ reference cycles/s (CPU time). */
  speedupCpu: number;
  note: string;
}

const LAYERS: AcceleratorLayer[] = [
  { name: 'fc1', k: 784, n: 300, rank: 10 },
  { name: 'fc2', k: 300, n: 100, rank: 3 },
  { name: 'fc3', k: 100, n: 10, rank: 0 },
];

function traces(rows: number, seed: number): { x: Float32Array; mask: Uint8Array }[] {
  const rng = new Rng(seed);
  return LAYERS.map((l) => ({
    x: Float32Array.from({ length: rows * l.k }, () => (rng.next() < 0.5 ? 0 : rng.next())),
    mask: Uint8Array.from({ length: rows * l.n }, () => (rng.next() < 0.5 ? 0 : 1)),
  }));
}

function timed(reps: number, rows: number, run: () => number): Rate {
  run();
  const wall: number[] = [];
  const cpu: number[] = [];
  let cycles = 0;
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    cycles = run();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const wallMs = median(wall);
  const cpuMs = median(cpu);
  return { rows, cycles, wallMs, cpuMs, cyclesPerSecondWall: cycles / (wallMs / 1000), cyclesPerSecondCpu: cycles / (cpuMs / 1000) };
}

function simulate(pes: number, t: { x: Float32Array; mask: Uint8Array }[], rows: number, reference: boolean): number {
  const cfg = sparseNNConfig({ pes });
  let cycles = 0;
  for (const arch of ARCHITECTURES) {
    const sim = new SparseNNSimulator(cfg, arch, LAYERS, { reference });
    LAYERS.forEach((l, i) => {
      sim.addRows(i, t[i].x, rows, arch === 'sparsenn' && l.rank > 0 ? t[i].mask : null);
    });
    cycles += sim.layerTotals().reduce((s, x) => s + x.cycles, 0);
  }
  return cycles;
}

registerBenchmark<Options, Result>({
  name: 'sparsenn',
  description: 'SparseNN accelerator model: simulated cycles/s of the fast path and of the cycle-by-cycle reference (mlp-300-100-shaped layers, 64 PEs)',
  options(cmd) {
    cmd.option('--rows <n>', 'input vectors (examples) simulated by the fast path', '400');
    cmd.option('--reps <n>', 'timed repetitions (median)', '3');
    cmd.option('--pes <n>', 'processing elements', '64');
  },
  async run(o, ctx) {
    const rows = Number(o.rows ?? 400);
    const reps = Number(o.reps ?? 3);
    const pes = Number(o.pes ?? 64);
    const refRows = Math.max(2, Math.floor(rows / 50));
    const t = traces(rows, 1);
    ctx.log(`fast path, ${rows} examples × 3 architectures`);
    const fast = timed(reps, rows, () => simulate(pes, t, rows, false));
    ctx.log(`reference twin, ${refRows} examples × 3 architectures`);
    const tr = traces(refRows, 2);
    const reference = timed(reps, refRows, () => simulate(pes, tr, refRows, true));
    return {
      pes,
      fast,
      reference,
      speedupCpu: fast.cyclesPerSecondCpu / reference.cyclesPerSecondCpu,
      note: 'synthetic 784→300→100→10 layers, ranks 10/3/0, 50 % zero inputs, 50 % predicted-zero outputs; cycles summed over dense, input-sparse and SparseNN',
    };
  },
  format(r) {
    const m = (v: number) => `${(v / 1e6).toFixed(2)} M cycles/s`;
    return [
      `fast path (${r.fast.rows} examples):      ${m(r.fast.cyclesPerSecondCpu)} (CPU time), ${m(r.fast.cyclesPerSecondWall)} (wall)`,
      `reference twin (${r.reference.rows} examples):   ${m(r.reference.cyclesPerSecondCpu)} (CPU time), ${m(r.reference.cyclesPerSecondWall)} (wall)`,
      `fast / reference:                 ${r.speedupCpu.toFixed(0)}× (CPU time), ${r.pes} PEs`,
    ].join('\n');
  },
});
