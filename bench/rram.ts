/**
 * `npm run bench -- rram`: simulated MACs per second of the RRAM crossbar network simulation
 * (cnn-small with random initial weights on 28×28×1 inputs, 8-bit weights and activations, default
 * crossbars, lossless termination) for the fast path and for the cell-level reference twin, measured
 * in the same run; their ratio is the headline. Wall-clock and process CPU time are both reported
 * (the machine may be shared).
 */
import { Rng } from '../src/core/rng.js';
import { rramConfig, simulateNetwork } from '../src/hw/rram/index.js';
import { createModel } from '../src/nn/models.js';
import { quantizeWorkload } from '../src/nn/runtime/index.js';
import { workloadFromModel, workloadMacs } from '../src/nn/workload.js';
import { registerBenchmark } from './registry.js';

interface RramBenchOptions {
  images?: string;
  referenceImages?: string;
  termination?: string;
}

interface Rate {
  images: number;
  macs: number;
  wallS: number;
  cpuS: number;
  macsPerSecondWall: number;
  macsPerSecondCpu: number;
}

interface RramBenchResult {
  model: string;
  macsPerImage: number;
  termination: string;
  fast: Rate;
  reference: Rate;
  /** Fast path over reference twin, MACs/s on CPU time. */
  speedupCpu: number;
  samePredictions: boolean;
  env: { OPENBLAS_CORETYPE: string | null; OPENBLAS_L2_SIZE: string | null };
  note: string;
}

function measure(images: number, macsPerImage: number, fn: () => void): Rate {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  const macs = images * macsPerImage;
  return { images, macs, wallS, cpuS, macsPerSecondWall: macs / wallS, macsPerSecondCpu: macs / cpuS };
}

registerBenchmark<RramBenchOptions, RramBenchResult>({
  name: 'rram',
  description: 'RRAM crossbar model: simulated MACs/s of cnn-small on crossbars, fast path vs cell-level reference twin',
  options(cmd) {
    cmd.option('--images <n>', 'images for the fast path', '20');
    cmd.option('--reference-images <n>', 'images for the reference twin (slow)', '1');
    cmd.option('--termination <mode>', 'none, lossless or adaptive (θ = 1 for every layer)', 'lossless');
  },
  async run(o, ctx) {
    const images = Number(o.images ?? 20);
    const refImages = Number(o.referenceImages ?? 1);
    const termination = o.termination ?? 'lossless';
    const rng = new Rng(1);
    const model = createModel('cnn-small', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const wl = workloadFromModel(model, { mean: [0.286], std: [0.353] });
    model.dispose();
    const x = new Float32Array(images * 784).map(() => rng.next());
    const labels = new Array<number>(images).fill(0);
    const qw = quantizeWorkload(wl, {
      calib: x,
      calibCount: images,
      percentile: 0.9995,
      weights: { bits: 8, signed: true, granularity: 'per-channel' },
      activations: { bits: 8, signed: false },
    });
    const c = rramConfig({ termination, defaultThreshold: termination === 'adaptive' ? 1 : 0 });
    const perImage = workloadMacs(wl);
    let fastPred: number[] = [];
    let refPred: number[] = [];
    ctx.log(`fast path, ${images} images`);
    const fast = measure(images, perImage, () => {
      fastPred = simulateNetwork(qw, c, { x, labels, count: images }, 10).predictions;
    });
    ctx.log(`cell-level reference twin, ${refImages} image(s)`);
    const reference = measure(refImages, perImage, () => {
      refPred = simulateNetwork(qw, c, { x: x.subarray(0, refImages * 784), labels, count: refImages }, 10, { implementation: 'reference' }).predictions;
    });
    return {
      model: 'cnn-small',
      macsPerImage: perImage,
      termination,
      fast,
      reference,
      speedupCpu: fast.macsPerSecondCpu / reference.macsPerSecondCpu,
      samePredictions: refPred.every((p, i) => p === fastPred[i]),
      env: { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, OPENBLAS_L2_SIZE: process.env.OPENBLAS_L2_SIZE ?? null },
      note: 'default crossbars (128×128, 2 b/cell, differential, exact ADC), 8-bit weights and activations; 1 MAC = one 8b×8b product of the layer',
    };
  },
  format(r) {
    const m = (v: number) => `${(v / 1e6).toFixed(2)} M MACs/s`;
    return [
      `${r.model}, termination ${r.termination}, ${r.macsPerImage.toLocaleString('en')} MACs/image`,
      `fast path (${r.fast.images} images):       ${m(r.fast.macsPerSecondCpu)} (CPU time), ${m(r.fast.macsPerSecondWall)} (wall)`,
      `reference twin (${r.reference.images} image(s)): ${m(r.reference.macsPerSecondCpu)} (CPU time), ${m(r.reference.macsPerSecondWall)} (wall)`,
      `fast / reference: ${r.speedupCpu.toFixed(1)}× (CPU time); same predictions: ${r.samePredictions ? 'yes' : 'NO'}`,
    ].join('\n');
  },
});
