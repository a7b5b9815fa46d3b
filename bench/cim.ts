/**
 * `npm run bench -- cim`: simulated MACs per second of the CIM macro model.
 * - single macro (64×64, 4b×4b): the bulk fast path (GEMM + elementwise transfer/ADC) and the
 *   cell-level ODE reference twin, default non-idealities;
 * - whole network: cnn-small (random initial weights, 28×28×1) mapped onto macros, N images.
 * Reports wall-clock and process CPU time (the machine may be shared; CPU time is more robust).
 */
import { tf } from '../src/core/engine.js';
import { Rng } from '../src/core/rng.js';
import { macroConfig } from '../src/hw/cim/config.js';
import { MacroChip } from '../src/hw/cim/macro.js';
import { MappedNetwork } from '../src/hw/cim/network.js';
import { createModel } from '../src/nn/models.js';
import { quantizeWorkload } from '../src/nn/runtime/index.js';
import { tfMatMul } from '../src/nn/runtime/matmul-tf.js';
import { workloadFromModel, workloadMacs } from '../src/nn/workload.js';
import { intArg } from '../src/cli/options.js';
import { checked, median, registerBenchmark } from './registry.js';

interface CimBenchOptions {
  images?: string;
  batch?: string;
  reps?: string;
}

interface Rate {
  macs: number;
  wallMs: number;
  cpuMs: number;
  macsPerSecondWall: number;
  macsPerSecondCpu: number;
}

interface CimBenchResult {
  singleMacroFast: Rate & { conversions: number };
  singleMacroReference: Rate & { conversions: number };
  network: Rate & { model: string; images: number; macsPerImage: number; conversions: number; macros: number };
  note: string;
}

function timed(reps: number, macs: number, fn: () => void): Rate {
  fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const wallMs = median(wall);
  const cpuMs = median(cpu);
  return { macs, wallMs, cpuMs, macsPerSecondWall: macs / (wallMs / 1000), macsPerSecondCpu: macs / (cpuMs / 1000) };
}

registerBenchmark<CimBenchOptions, CimBenchResult>({
  name: 'cim',
  description: 'CIM macro model: simulated MACs/s for one 64×64 macro (fast path and cell-level reference) and for cnn-small on macros',
  options(cmd) {
    cmd.option('--images <n>', 'images for the network benchmark', checked(intArg('--images', 1, 10000)), '20');
    cmd.option('--batch <n>', 'input vectors per single-macro run', checked(intArg('--batch', 1, 100000)), '256');
    cmd.option('--reps <n>', 'timed repetitions (median)', checked(intArg('--reps', 1, 1000)), '3');
  },
  async run(o, ctx) {
    const reps = Number(o.reps ?? 3);
    const B = Number(o.batch ?? 256);
    const images = Number(o.images ?? 20);
    const cfg = macroConfig({});
    const rng = new Rng(1);
    const chip = new MacroChip(cfg, 1);
    const x = new Float32Array(B * cfg.rows).map(() => (rng.next() < 0.5 ? 0 : rng.int(16)));
    const w = new Float32Array(cfg.rows * cfg.columns).map(() => -7 + rng.int(15));
    const macsTile = B * cfg.rows * cfg.columns;
    ctx.log('single macro, fast path');
    const fast = timed(reps, macsTile, () => chip.macTile(x, B, cfg.rows, w, cfg.columns));
    ctx.log('single macro, cell-level reference (one column per input vector)');
    const refVectors = Math.max(4, Math.floor(B / 16));
    const refMacs = refVectors * cfg.rows;
    const wcol = Array.from({ length: cfg.rows }, (_, i) => w[i * cfg.columns]);
    const reference = timed(reps, refMacs, () => {
      for (let b = 0; b < refVectors; b++) chip.referenceColumn(x.subarray(b * cfg.rows, (b + 1) * cfg.rows), wcol, 0);
    });
    ctx.log(`network: cnn-small, ${images} images`);
    const model = createModel('cnn-small', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const wl = workloadFromModel(model, { mean: [0.286], std: [0.353] });
    model.dispose();
    const imgs = new Float32Array(images * 784).map(() => rng.next());
    const net = quantizeWorkload(wl, { calib: imgs, calibCount: images, percentile: 0.9995, matmul: tfMatMul });
    const mapped = new MappedNetwork(net, { kind: 'macro', config: cfg, seed: 1 }, tfMatMul);
    const perImage = workloadMacs(wl);
    const netRate = timed(reps, perImage * images, () => mapped.forward(imgs, images));
    const conversionsPerRun = mapped.conversions / (reps + 1);
    mapped.dispose();
    void tf;
    return {
      singleMacroFast: { ...fast, conversions: B * cfg.columns },
      singleMacroReference: { ...reference, conversions: refVectors },
      network: { ...netRate, model: 'cnn-small', images, macsPerImage: perImage, conversions: conversionsPerRun, macros: mapped.macros },
      note: 'default macro (64 rows × 64 columns, sign-magnitude folding, boosted-clipping gain ×4, default non-idealities); 1 MAC = one 4b×4b product',
    };
  },
  format(r) {
    const m = (v: number) => `${(v / 1e6).toFixed(2)} M MACs/s`;
    return [
      `single macro, fast path:       ${m(r.singleMacroFast.macsPerSecondCpu)} (CPU time), ${m(r.singleMacroFast.macsPerSecondWall)} (wall)`,
      `single macro, cell reference:  ${m(r.singleMacroReference.macsPerSecondCpu)} (CPU time), ${m(r.singleMacroReference.macsPerSecondWall)} (wall)`,
      `cnn-small on ${r.network.macros} macros:    ${m(r.network.macsPerSecondCpu)} (CPU time), ${m(r.network.macsPerSecondWall)} (wall); ${r.network.images} images, ${(r.network.conversions / r.network.images).toFixed(0)} conversions/image`,
    ].join('\n');
  },
});
