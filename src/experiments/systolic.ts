/**
 * Systolic-array experiments: one run of a network (a SCALE-Sim topology, a zoo model or a
 * checkpoint) on one architecture, a design-space sweep (array shapes × dataflows × SRAM sizes)
 * on worker threads with its Pareto front (cycles, energy, area), and a quick run for the tour.
 * Each returns plain JSON; `write*` functions produce run folders.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { validate } from '../core/config.js';
import { ConfigError, NotFoundError } from '../core/errors.js';
import { runJobs } from '../core/executor.js';
import { tableCsv, toCsv, writeFileAtomic, writeRunJson } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import {
  DATAFLOWS,
  DEFAULT_CONFIG,
  gemmDims,
  gemmLayer,
  type LayerData,
  layersFromWorkload,
  randomLayerData,
  parseScalesimConfig,
  parseTopology,
  runSystolic,
  scalesimReports,
  SIM_MODES,
  type SystolicConfig,
  type SystolicLayer,
  type SystolicRun,
} from '../hw/systolic/index.js';

// ---------------------------------------------------------------------------------------------
// Configs

const ArchSchema = z
  .object({
    runName: z.string().default(DEFAULT_CONFIG.runName),
    arrayHeight: z.number().int().min(1).max(4096).default(DEFAULT_CONFIG.arrayHeight),
    arrayWidth: z.number().int().min(1).max(4096).default(DEFAULT_CONFIG.arrayWidth),
    ifmapSramKb: z.number().int().min(1).default(DEFAULT_CONFIG.ifmapSramKb),
    filterSramKb: z.number().int().min(1).default(DEFAULT_CONFIG.filterSramKb),
    ofmapSramKb: z.number().int().min(1).default(DEFAULT_CONFIG.ofmapSramKb),
    ifmapOffset: z.number().int().min(0).default(DEFAULT_CONFIG.ifmapOffset),
    filterOffset: z.number().int().min(0).default(DEFAULT_CONFIG.filterOffset),
    ofmapOffset: z.number().int().min(0).default(DEFAULT_CONFIG.ofmapOffset),
    dataflow: z.enum(['os', 'ws', 'is']).default(DEFAULT_CONFIG.dataflow),
    interfaceBandwidth: z.enum(['CALC', 'USER']).default('CALC'),
    bandwidthWordsPerCycle: z.array(z.number().int().min(1)).min(1).default([10]),
    memoryBanks: z.number().int().min(1).default(1),
  })
  .strict();

const TechSchema = z.object({ nodeNm: z.number().min(3).max(180).default(45), vdd: z.number().min(0.3).max(2).default(0.9) }).strict();

/** Where the layers come from: a SCALE-Sim topology CSV, or a zoo model / checkpoint (through the workload). */
const NetworkSchema = z
  .object({
    topology: z.string().nullable().default(null),
    gemm: z.boolean().default(false),
    model: z.string().nullable().default(null),
    checkpoint: z.string().nullable().default(null),
    /** Input shape of a zoo model (H, W, C). */
    inputShape: z.array(z.number().int().min(1)).min(1).max(3).default([32, 32, 3]),
    numClasses: z.number().int().min(2).default(10),
    batchSize: z.number().int().min(1).default(1),
  })
  .strict();
export type NetworkConfig = z.output<typeof NetworkSchema>;

export const SystolicRunConfigSchema = z
  .object({
    arch: ArchSchema.default({}),
    network: NetworkSchema.default({}),
    mode: z.enum(SIM_MODES as unknown as ['analytical', 'cycle']).default('analytical'),
    scalesimCompat: z.boolean().default(false),
    verify: z.boolean().default(false),
    tech: TechSchema.default({}),
    seed: z.number().int().min(0).default(1),
  })
  .strict();
export type SystolicRunConfig = z.output<typeof SystolicRunConfigSchema>;

/** Reads a SCALE-Sim `.cfg` file into the arch object of a run config. */
export function readScalesimConfig(file: string): SystolicConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new NotFoundError(`--config: cannot read ${file}: give a SCALE-Sim .cfg file`);
  }
  return parseScalesimConfig(text, file);
}

interface NetworkLayers {
  name: string;
  layers: SystolicLayer[];
  /** Cycle mode operands per layer (zoo weights quantized, seeded random inputs). */
  data: (LayerData | undefined)[];
}

/** The layers of a network config (a topology file, or a model through `nn/workload`). */
export async function networkLayers(n: NetworkConfig, seed: number): Promise<NetworkLayers> {
  const sources = [n.topology, n.model, n.checkpoint].filter((x) => x !== null).length;
  if (sources !== 1) throw new ConfigError('systolic: give exactly one of --topology, --model or --checkpoint');
  if (n.topology) {
    let text: string;
    try {
      text = readFileSync(n.topology, 'utf8');
    } catch {
      throw new NotFoundError(`--topology: cannot read ${n.topology}: give a SCALE-Sim topology CSV`);
    }
    const layers = parseTopology(text, n.topology, n.gemm);
    return {
      name:
        n.topology
          .split('/')
          .pop()
          ?.replace(/\.csv$/, '') ?? 'topology',
      layers,
      data: layers.map(() => undefined),
    };
  }
  const { initEngine } = await import('../core/engine.js');
  await initEngine();
  const { workloadFromModel } = await import('../nn/workload.js');
  let model: import('../core/engine.js').tf.LayersModel;
  let name: string;
  if (n.checkpoint) {
    const { loadModel } = await import('../nn/checkpoint.js');
    // A run folder (its checkpoint/) or a folder holding model.json.
    const dir = existsSync(join(n.checkpoint, 'model.json')) ? n.checkpoint : join(n.checkpoint, 'checkpoint');
    model = await loadModel(dir);
    name = `checkpoint ${n.checkpoint}`;
  } else {
    const { createModel } = await import('../nn/models.js');
    model = createModel(n.model as string, { inputShape: n.inputShape, numClasses: n.numClasses, seed });
    name = n.model as string;
  }
  const wl = workloadFromModel(model);
  model.dispose();
  const mapped = layersFromWorkload(wl, { batchSize: n.batchSize });
  const rng = new Rng(seed);
  // Inputs: seeded random int8; weights: the model's, quantized (filter words ordered n·K + k).
  const data = mapped.map((m, i) => {
    const { n: N, k: K } = gemmDims(m.layer);
    const filter = new Int32Array(K * N);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) filter[j * K + k] = m.weights[k * N + j];
    return { ifmap: randomLayerData(m.layer, rng.fork(i)).ifmap, filter };
  });
  return { name, layers: mapped.map((m) => m.layer), data };
}

// ---------------------------------------------------------------------------------------------
// One run

export interface SystolicRunResult extends SystolicRun {
  config: SystolicConfig;
  runConfig: SystolicRunConfig;
  network: string;
  seconds: number;
}

export async function runSystolicExperiment(input: unknown, progress: Progress = silentProgress): Promise<SystolicRunResult> {
  const c = validate(SystolicRunConfigSchema, input, 'systolic run config');
  const net = await networkLayers(c.network, c.seed);
  const t0 = performance.now();
  const run = runSystolic(net.layers, c.arch, { mode: c.mode, scalesimCompat: c.scalesimCompat, verify: c.verify, seed: c.seed, tech: c.tech, data: net.data }, progress);
  return { ...run, runConfig: c, network: net.name, seconds: (performance.now() - t0) / 1000 };
}

/** Our energy report (separate from SCALE-Sim's files): per layer and per priced action. */
export function energyCsv(run: SystolicRun): string {
  return toCsv(
    ['layerName', 'totalCycles', 'macs', 'computeEnergyPj', 'sramEnergyPj', 'dramEnergyPj', 'energyPj'],
    run.layers.map((l) => [l.name, l.totalCycles, l.macs, l.computeEnergyPj, l.sramEnergyPj, l.dramEnergyPj, l.energyPj]),
  );
}

export function writeSystolicRun(dir: string, run: SystolicRunResult): void {
  writeRunJson(dir, run.runConfig, run);
  const reports = scalesimReports(run.layers);
  for (const [file, text] of Object.entries(reports)) writeFileAtomic(join(dir, file), text);
  writeFileAtomic(join(dir, 'energy.csv'), energyCsv(run));
  writeFileAtomic(
    join(dir, 'energy-actions.csv'),
    toCsv(
      ['layerName', 'component', 'action', 'count', 'energyPerActionPj', 'energyPj', 'source'],
      run.actions.map((a) => [a.layer, a.component, a.action, a.count, a.energyPerActionPj, a.energyPj, a.source]),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Sweep

export const SweepConfigSchema = z
  .object({
    arch: ArchSchema.default({}),
    network: NetworkSchema.default({}),
    /** Array shapes "HxW". */
    arrays: z
      .array(z.string().regex(/^\d+x\d+$/, 'an array shape is HxW, e.g. 32x32'))
      .min(1)
      .default(['8x8', '16x16', '32x32', '64x64', '128x128', '16x64', '64x16']),
    dataflows: z
      .array(z.enum(['os', 'ws', 'is']))
      .min(1)
      .default([...DATAFLOWS]),
    /** SRAM size in kB, used for each of the three buffers. */
    sramKb: z.array(z.number().int().min(1)).min(1).default([16, 64, 256]),
    workers: z.number().int().min(1).max(64).default(2),
    scalesimCompat: z.boolean().default(false),
    tech: TechSchema.default({}),
    seed: z.number().int().min(0).default(1),
  })
  .strict();
export type SweepConfig = z.output<typeof SweepConfigSchema>;

export interface SweepPoint {
  arrayHeight: number;
  arrayWidth: number;
  dataflow: string;
  sramKb: number;
  totalCycles: number;
  energyPj: number;
  areaMm2: number;
  overallUtilPct: number;
  pareto: boolean;
}

export interface SystolicSweepResult {
  kind: 'systolic-sweep';
  config: SweepConfig;
  network: string;
  layers: number;
  macs: number;
  points: SweepPoint[];
  /** Points no other point beats on all of cycles, energy and area (sorted by cycles). */
  front: SweepPoint[];
  workers: number;
  seconds: number;
}

/** Marks the points not dominated on (cycles, energy, area), all minimised. */
export function paretoFront<T extends { totalCycles: number; energyPj: number; areaMm2: number }>(pts: readonly T[]): boolean[] {
  return pts.map(
    (p) =>
      !pts.some(
        (q) =>
          q !== p &&
          q.totalCycles <= p.totalCycles &&
          q.energyPj <= p.energyPj &&
          q.areaMm2 <= p.areaMm2 &&
          (q.totalCycles < p.totalCycles || q.energyPj < p.energyPj || q.areaMm2 < p.areaMm2),
      ),
  );
}

export interface SweepJobArgs {
  layers: SystolicLayer[];
  configs: SystolicConfig[];
  scalesimCompat: boolean;
  tech: { nodeNm: number; vdd: number };
}

/** Worker job: a batch of design points, analytical mode. */
export function sweepJob(args: SweepJobArgs): Omit<SweepPoint, 'pareto'>[] {
  return args.configs.map((cfg) => {
    const r = runSystolic(args.layers, cfg, { scalesimCompat: args.scalesimCompat, tech: args.tech });
    return {
      arrayHeight: cfg.arrayHeight,
      arrayWidth: cfg.arrayWidth,
      dataflow: cfg.dataflow,
      sramKb: cfg.ifmapSramKb,
      totalCycles: r.totalCycles,
      energyPj: r.energyPj,
      areaMm2: r.areaMm2,
      overallUtilPct: (r.macs * 100) / (r.totalCycles * cfg.arrayHeight * cfg.arrayWidth),
    };
  });
}

export async function runSweep(input: unknown, progress: Progress = silentProgress): Promise<SystolicSweepResult> {
  const c = validate(SweepConfigSchema, input, 'systolic sweep config');
  const net = await networkLayers(c.network, c.seed);
  const configs: SystolicConfig[] = [];
  for (const a of c.arrays) {
    const [h, w] = a.split('x').map(Number);
    if (h < 1 || w < 1) throw new ConfigError(`systolic sweep: array shape '${a}' must have positive sides`);
    for (const df of c.dataflows)
      for (const kb of c.sramKb) configs.push({ ...c.arch, arrayHeight: h, arrayWidth: w, dataflow: df, ifmapSramKb: kb, filterSramKb: kb, ofmapSramKb: kb });
  }
  const t0 = performance.now();
  const workers = Math.min(c.workers, configs.length);
  // Interleave points over jobs so each job gets a mix of small and large arrays.
  const jobs = Array.from({ length: Math.min(configs.length, workers * 4) }, (_, j) => configs.filter((_, i) => i % (workers * 4) === j));
  progress.start('systolic sweep', jobs.length);
  const outcomes = await runJobs<Omit<SweepPoint, 'pareto'>[]>(
    jobs.map((cfgs, j) => ({
      id: `sweep-${j}`,
      module: new URL('./systolic.js', import.meta.url),
      fn: 'sweepJob',
      args: { layers: net.layers, configs: cfgs, scalesimCompat: c.scalesimCompat, tech: c.tech } satisfies SweepJobArgs,
    })),
    { workers, backend: 'none' },
  );
  progress.stop();
  const pts: Omit<SweepPoint, 'pareto'>[] = [];
  for (const o of outcomes) {
    if (!o.ok) throw o.error;
    pts.push(...o.value);
  }
  const front = paretoFront(pts);
  const points = pts.map((p, i) => ({ ...p, pareto: front[i] }));
  const macs = net.layers.reduce((s, l) => {
    const d = gemmDims(l);
    return s + d.m * d.n * d.k;
  }, 0);
  return {
    kind: 'systolic-sweep',
    config: c,
    network: net.name,
    layers: net.layers.length,
    macs,
    points,
    front: points.filter((p) => p.pareto).sort((a, b) => a.totalCycles - b.totalCycles),
    workers,
    seconds: (performance.now() - t0) / 1000,
  };
}

export function writeSweepRun(dir: string, r: SystolicSweepResult): void {
  writeRunJson(dir, r.config, r);
  const cols = ['arrayHeight', 'arrayWidth', 'dataflow', 'sramKb', 'totalCycles', 'energyPj', 'areaMm2', 'overallUtilPct', 'pareto'] as const;
  writeFileAtomic(join(dir, 'sweep.csv'), tableCsv(cols, r.points));
  writeFileAtomic(join(dir, 'pareto.csv'), tableCsv(cols, r.front));
}

// ---------------------------------------------------------------------------------------------
// Tour

/** Quick step for the tour: SCALE-Sim's AlexNet conv layers on a 32×32 OS array, analytical mode, plus one cycle-level layer checked against an integer GEMM. */
export function runSystolicQuick(): SystolicRunResult {
  const layers = parseTopology(ALEXNET_TOPOLOGY, 'alexnet.csv', false);
  const runConfig = validate(SystolicRunConfigSchema, { network: { topology: 'alexnet.csv' } }, 'systolic quick config');
  const t0 = performance.now();
  const run = runSystolic(layers, DEFAULT_CONFIG, { tech: runConfig.tech });
  const check = runSystolic(
    [gemmLayer('check', 64, 48, 200)],
    { ...DEFAULT_CONFIG, arrayHeight: 16, arrayWidth: 16, ifmapSramKb: 4, filterSramKb: 4, ofmapSramKb: 4 },
    { mode: 'cycle', verify: true, seed: 1 },
  );
  if (check.layers[0].outputsMatchReference !== true) throw new ConfigError('systolic quick: the cycle-level outputs differ from the integer GEMM');
  return { ...run, runConfig, network: 'AlexNet conv (SCALE-Sim topology)', seconds: (performance.now() - t0) / 1000 };
}

/** SCALE-Sim's AlexNet conv topology (topologies/conv_nets/alexnet.csv). */
export const ALEXNET_TOPOLOGY = `Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1, 224, 224, 11, 11, 3, 96, 4,
Conv2, 27, 27, 5, 5, 96, 256, 1,
Conv3, 13, 13, 3, 3, 256, 384, 1,
Conv4, 13, 13, 3, 3, 384, 384, 1,
Conv5, 13, 13, 3, 3, 384, 256, 1,
`;

/** VGG-16's 13 conv layers at 224×224 ('same' padding written as the padded input, as SCALE-Sim topologies do). */
export const VGG16_TOPOLOGY = `Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1_1, 226, 226, 3, 3, 3, 64, 1,
Conv1_2, 226, 226, 3, 3, 64, 64, 1,
Conv2_1, 114, 114, 3, 3, 64, 128, 1,
Conv2_2, 114, 114, 3, 3, 128, 128, 1,
Conv3_1, 58, 58, 3, 3, 128, 256, 1,
Conv3_2, 58, 58, 3, 3, 256, 256, 1,
Conv3_3, 58, 58, 3, 3, 256, 256, 1,
Conv4_1, 30, 30, 3, 3, 256, 512, 1,
Conv4_2, 30, 30, 3, 3, 512, 512, 1,
Conv4_3, 30, 30, 3, 3, 512, 512, 1,
Conv5_1, 16, 16, 3, 3, 512, 512, 1,
Conv5_2, 16, 16, 3, 3, 512, 512, 1,
Conv5_3, 16, 16, 3, 3, 512, 512, 1,
`;
