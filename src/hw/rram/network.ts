/**
 * Whole-network simulation on the crossbar engine (predictions and per-layer counters over an
 * evaluation set), the action counts of a run, and its cost: energy priced by `priceActions`,
 * time from the bit-serial schedule (each layer's slowest column tile; layers one after another
 * or pipelined, `pipeline`).
 */
import { type Progress, silentProgress } from '../../core/progress.js';
import { type ActionCount, type EnergyReport, priceActions, type TechPoint } from '../energy.js';
import { BoundNetwork, type EvalSet, type MatMulEngine, type QuantizedWorkload } from '../../nn/runtime/index.js';
import { adcBitsOf, type RramConfig } from './config.js';
import { addCounts, type LayerCounts } from './control.js';
import { type RramImplementation, rramEngine } from './engine.js';

export interface SimulationOptions {
  batchSize?: number;
  implementation?: RramImplementation;
  /** Matrix product of the fast path (default plain typed arrays). */
  matmul?: MatMulEngine;
  /** Index of the first image of `set` in its data set (keys the ADC noise). */
  firstImage?: number;
  progress?: Progress;
  label?: string;
  /** Layers simulated on the crossbars, the others exact (see `RramEngineOptions.crossbarLayers`; exact crossbars only). */
  crossbarLayers?: readonly string[];
}

/** Predictions (argmax) and per-layer counters of one simulation. */
export interface Simulation {
  images: number;
  correct: number;
  predictions: number[];
  layers: LayerCounts[];
}

/** Runs the quantized network on crossbars over `set`. */
export function simulateNetwork(qw: QuantizedWorkload, c: RramConfig, set: EvalSet, classes: number, o: SimulationOptions = {}): Simulation {
  const engine = rramEngine(qw, c, { implementation: o.implementation, firstImage: o.firstImage, matmul: o.matmul, crossbarLayers: o.crossbarLayers });
  const net = new BoundNetwork(qw, engine);
  const per = set.x.length / set.count;
  const bs = o.batchSize ?? 50;
  const progress = o.progress ?? silentProgress;
  const predictions: number[] = [];
  let correct = 0;
  progress.start(o.label ?? `rram ${c.termination}`, set.count);
  try {
    for (let s = 0; s < set.count; s += bs) {
      const b = Math.min(bs, set.count - s);
      const logits = net.forward(set.x.subarray(s * per, (s + b) * per), b);
      for (let r = 0; r < b; r++) {
        let best = 0;
        for (let k = 1; k < classes; k++) if (logits[r * classes + k] > logits[r * classes + best]) best = k;
        predictions.push(best);
        if (best === set.labels[s + r]) correct++;
      }
      progress.tick(b);
    }
  } finally {
    progress.stop();
    net.dispose();
  }
  return { images: set.count, correct, predictions, layers: engine.counts() };
}

/** Joins simulations of consecutive parts of one set (counters summed, predictions concatenated). */
export function mergeSimulations(parts: readonly Simulation[]): Simulation {
  return parts.slice(1).reduce(
    (a, b) => ({
      images: a.images + b.images,
      correct: a.correct + b.correct,
      predictions: [...a.predictions, ...b.predictions],
      layers: a.layers.map((l, i) => addCounts(l, b.layers[i])),
    }),
    parts[0],
  );
}

/** FNV-1a (32-bit, hex) of the predicted classes: equal hashes ⇔ (almost surely) identical predictions. */
export function predictionsHash(predictions: readonly number[]): string {
  let h = 0x811c9dc5;
  for (const p of predictions) {
    h ^= p & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= (p >>> 8) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Bytes of one code of `bits` bits in the buffers. */
const bytesOf = (bits: number): number => Math.ceil(bits / 8);

/** Action counts of a run; `dense` gives those of the same work without termination. */
export function actionCounts(layers: readonly LayerCounts[], c: RramConfig, dense = false): ActionCount[] {
  const steps = 2 ** adcBitsOf(c);
  const out: ActionCount[] = [];
  for (const l of layers) {
    const reads = dense ? l.denseCrossbarReads : l.crossbarReads;
    const conv = dense ? l.denseAdcConversions : l.adcConversions;
    const bits = dense ? l.denseInputBits : l.inputBitsApplied;
    const add = (component: string, action: string, count: number): void => {
      out.push({ layer: l.layer, component, action, count });
    };
    add('rram-crossbar', 'read', reads);
    add('rram-dac', 'row-drive', bits);
    add('rram-input-register', 'bit-read', bits);
    add('rram-sample-hold', 'sample', conv);
    add('rram-adc', 'conversion-step', conv * steps);
    add('rram-shift-add', 'add', conv);
    add('rram-buffer', 'read-byte', l.vectors * l.k * bytesOf(c.activationBits));
    add('rram-buffer', 'write-byte', l.vectors * l.n * bytesOf(c.activationBits));
    add('rram-control', 'bound-check', dense ? 0 : l.boundChecks);
    add('rram-control', 'popcount', dense ? 0 : l.popcounts);
  }
  return out;
}

/** Time (ns) of each layer over the run: its slowest column tile. */
export function layerTimesNs(layers: readonly LayerCounts[], dense = false): number[] {
  return layers.map((l) => Math.max(0, ...(dense ? l.denseTileTimeNs : l.tileTimeNs)));
}

/** Time of the run (ns): layers in sequence, or pipelined (the slowest layer). */
export function runTimeNs(layers: readonly LayerCounts[], c: RramConfig, dense = false): number {
  const t = layerTimesNs(layers, dense);
  return c.pipeline === 'layer' ? Math.max(0, ...t) : t.reduce((a, b) => a + b, 0);
}

export interface LayerSummary {
  layer: string;
  kind: 'conv2d' | 'dense';
  crossbars: number;
  macs: number;
  crossbarReads: number;
  adcConversions: number;
  inputBitsApplied: number;
  /** 1 − executed / no-termination, for ADC conversions (the computation measure), reads and input bits. */
  computeReduction: number;
  readReduction: number;
  inputBitReduction: number;
  /** Fractions of the (output, plane) work skipped by each technique. */
  skippedNegativeFraction: number;
  skippedAdaptiveFraction: number;
  /** Share of the no-termination ADC conversions not made because the input bit-plane was all zero. */
  skippedZeroPlaneFraction: number;
  stoppedNegativeFraction: number;
  stoppedAdaptiveFraction: number;
  energyPj: number;
  denseEnergyPj: number;
  timeNs: number;
  denseTimeNs: number;
  energyRatio: number;
  throughputRatio: number;
}

export interface CostSummary {
  /** Over the whole network (ratios against no termination on the same crossbars). */
  computeReduction: number;
  readReduction: number;
  skippedNegativeFraction: number;
  skippedAdaptiveFraction: number;
  skippedZeroPlaneFraction: number;
  energyPj: number;
  denseEnergyPj: number;
  energyPerImagePj: number;
  energyRatio: number;
  timeNs: number;
  denseTimeNs: number;
  imagesPerSecond: number;
  denseImagesPerSecond: number;
  throughputRatio: number;
  perLayer: LayerSummary[];
  energy: EnergyReport;
  denseEnergy: EnergyReport;
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);

/** Energy, time and reductions of a simulation. */
export function costOf(sim: Simulation, c: RramConfig, tech: TechPoint = { nodeNm: 32, vdd: 1.0 }): CostSummary {
  const energy = priceActions(actionCounts(sim.layers, c), tech);
  const denseEnergy = priceActions(actionCounts(sim.layers, c, true), tech);
  const lt = layerTimesNs(sim.layers);
  const ld = layerTimesNs(sim.layers, true);
  const perLayer: LayerSummary[] = sim.layers.map((l, i) => {
    const e = energy.byLayer.find((x) => x.layer === l.layer)?.energyPj ?? 0;
    const d = denseEnergy.byLayer.find((x) => x.layer === l.layer)?.energyPj ?? 0;
    return {
      layer: l.layer,
      kind: l.kind,
      crossbars: l.crossbars,
      macs: l.macs,
      crossbarReads: l.crossbarReads,
      adcConversions: l.adcConversions,
      inputBitsApplied: l.inputBitsApplied,
      computeReduction: 1 - ratio(l.adcConversions, l.denseAdcConversions),
      readReduction: 1 - ratio(l.crossbarReads, l.denseCrossbarReads),
      inputBitReduction: 1 - ratio(l.inputBitsApplied, l.denseInputBits),
      skippedNegativeFraction: ratio(l.skippedNegative, l.denseOutputPlanes),
      skippedAdaptiveFraction: ratio(l.skippedAdaptive, l.denseOutputPlanes),
      skippedZeroPlaneFraction: ratio(l.zeroPlaneConversions, l.denseAdcConversions),
      stoppedNegativeFraction: ratio(l.stoppedNegative, l.vectors * l.n),
      stoppedAdaptiveFraction: ratio(l.stoppedAdaptive, l.vectors * l.n),
      energyPj: e,
      denseEnergyPj: d,
      timeNs: lt[i],
      denseTimeNs: ld[i],
      energyRatio: ratio(d, e),
      throughputRatio: ratio(ld[i], lt[i]),
    };
  });
  const sum = (f: (l: LayerCounts) => number): number => sim.layers.reduce((s, l) => s + f(l), 0);
  const t = runTimeNs(sim.layers, c);
  const td = runTimeNs(sim.layers, c, true);
  const imagesPerSecond = ratio(sim.images, t * 1e-9);
  const denseImagesPerSecond = ratio(sim.images, td * 1e-9);
  return {
    computeReduction:
      1 -
      ratio(
        sum((l) => l.adcConversions),
        sum((l) => l.denseAdcConversions),
      ),
    readReduction:
      1 -
      ratio(
        sum((l) => l.crossbarReads),
        sum((l) => l.denseCrossbarReads),
      ),
    skippedNegativeFraction: ratio(
      sum((l) => l.skippedNegative),
      sum((l) => l.denseOutputPlanes),
    ),
    skippedAdaptiveFraction: ratio(
      sum((l) => l.skippedAdaptive),
      sum((l) => l.denseOutputPlanes),
    ),
    skippedZeroPlaneFraction: ratio(
      sum((l) => l.zeroPlaneConversions),
      sum((l) => l.denseAdcConversions),
    ),
    energyPj: energy.totalPj,
    denseEnergyPj: denseEnergy.totalPj,
    energyPerImagePj: ratio(energy.totalPj, sim.images),
    energyRatio: ratio(denseEnergy.totalPj, energy.totalPj),
    timeNs: t,
    denseTimeNs: td,
    imagesPerSecond,
    denseImagesPerSecond,
    throughputRatio: ratio(imagesPerSecond, denseImagesPerSecond),
    perLayer,
    energy,
    denseEnergy,
  };
}
