/**
 * `accelab systolic run|sweep`: the SCALE-Sim-compatible systolic-array simulator (SCALE-Sim's
 * .cfg and topology CSV in, its three reports plus our energy file out) and design-space sweeps
 * with their Pareto front of cycles, energy and area.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { readConfigFile } from '../../core/config-file.js';
import { validate } from '../../core/config.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import {
  readScalesimConfig,
  runSweep,
  runSystolicExperiment,
  SweepConfigSchema,
  SystolicRunConfigSchema,
  type SystolicRunResult,
  type SystolicSweepResult,
  writeSweepRun,
  writeSystolicRun,
} from '../../experiments/systolic.js';
import { SIM_MODES } from '../../hw/systolic/index.js';
import { DATAFLOWS } from '../../hw/systolic/types.js';
import { emit, progressFor, runFolderLines, saveRun } from '../common.js';
import {
  addOptions,
  type CommonOptions,
  checkOut,
  checkpointInfo,
  checkpointOption,
  floatArg,
  flagOrConfig,
  intArg,
  intListArg,
  listArg,
  modelOption,
  seedInto,
  shapeArg,
  withCommon,
  workersOption,
} from '../options.js';

interface NetFlags extends CommonOptions {
  config?: string;
  topology?: string;
  gemm?: boolean;
  model?: string;
  checkpoint?: string;
  inputShape?: [number, number, number];
  batchSize?: number;
  node?: number;
  scalesimCompat?: boolean;
}

interface RunFlags extends NetFlags {
  mode?: string;
  verify?: boolean;
}

interface SweepFlags extends NetFlags {
  arrays?: [number, number][];
  dataflows?: string[];
  sramKb?: number[];
  workers?: number;
}

/** "HxWxC" (whole numbers ≥ 1). */
function inputShapeArg(v: string): [number, number, number] {
  const dims = v.split('x').map((d) => (/^\s*\d+\s*$/.test(d) ? Number(d) : Number.NaN));
  if (dims.length !== 3 || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) throw new InvalidArgumentError('--input-shape must be HxWxC, e.g. 32x32x3.');
  return dims as [number, number, number];
}

function addNetworkOptions(cmd: Command): Command {
  cmd
    .option('--config <file>', "SCALE-Sim .cfg file (default: SCALE-Sim's scale.cfg: 32×32 OS, 64 kB SRAMs), or a run's config.json (a .json/.yaml run config; flags override it)")
    .option('--topology <csv>', 'SCALE-Sim topology CSV (conv rows; GEMM rows with --gemm)')
    .option('--gemm', 'the topology has M, N, K rows (SCALE-Sim -i gemm)');
  addOptions(
    cmd,
    modelOption({ note: 'its conv and dense layers are the network' }),
    checkpointOption('a trained model as the network'),
    new Option('--input-shape <HxWxC>', 'input shape of --model (default 32x32x3)').argParser(inputShapeArg),
    new Option('--batch-size <n>', 'batch size of dense layers taken from a model (default 1)').argParser(intArg('--batch-size', 1, 4096)),
    new Option('--node <nm>', 'technology node the energy table is scaled to (default 45)').argParser(floatArg('--node', 3, 180)),
  );
  return cmd.option('--scalesim-compat', "reproduce SCALE-Sim v2's counting quirks (see docs/systolic.md)");
}

/** A file named .json/.yaml/.yml is a run config (e.g. a run's config.json); anything else is a SCALE-Sim .cfg. */
const isRunConfig = (file: string): boolean => /\.(json|ya?ml)$/i.test(file);

/**
 * The run or sweep input from --config (a run config, or a SCALE-Sim .cfg as `arch`) and the flags,
 * with the network's files checked: everything that can be checked before the simulation starts.
 */
function baseInput(o: NetFlags, c: Command): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  if (o.config !== undefined) {
    if (isRunConfig(o.config)) Object.assign(input, readConfigFile(o.config));
    else input.arch = readScalesimConfig(o.config);
  }
  const network: Record<string, unknown> = { ...((input.network as Record<string, unknown> | undefined) ?? {}) };
  const sources = (['topology', 'model', 'checkpoint'] as const).filter((k) => o[k] !== undefined);
  if (sources.length > 1) throw new ConfigError('systolic: give one of --topology, --model and --checkpoint');
  if (sources.length === 1) {
    network.topology = null;
    network.model = null;
    network.checkpoint = null;
  }
  const where = (k: string): string => flagOrConfig(c, o, k, `--${k}`).replace(/^(\w+) \(in/, 'network.$1 (in');
  if (o.topology !== undefined) network.topology = o.topology;
  if (typeof network.topology === 'string') {
    const t = network.topology;
    if (!existsSync(t)) throw new NotFoundError(`${where('topology')} ${t} does not exist: give a SCALE-Sim topology CSV`);
    if (statSync(t).isDirectory()) throw new ConfigError(`${where('topology')} ${t} is a folder: give a SCALE-Sim topology CSV`);
    network.topology = resolve(t);
  }
  if (o.gemm) network.gemm = true;
  if (o.model !== undefined) network.model = o.model;
  if (o.checkpoint !== undefined) network.checkpoint = o.checkpoint;
  if (typeof network.checkpoint === 'string') {
    const info = checkpointInfo(network.checkpoint, where('checkpoint'));
    network.checkpoint = info.runDir ?? info.modelDir;
  }
  if (o.batchSize !== undefined) network.batchSize = o.batchSize;
  if (o.inputShape !== undefined) network.inputShape = o.inputShape;
  if (network.topology == null && network.model == null && network.checkpoint == null)
    throw new ConfigError('systolic: give --topology <csv>, --model <name> or --checkpoint <dir>');
  input.network = network;
  if (o.scalesimCompat) input.scalesimCompat = true;
  if (o.node !== undefined) input.tech = { ...((input.tech as Record<string, unknown> | undefined) ?? {}), nodeNm: o.node };
  seedInto(c, o, input);
  return input;
}

const fmt = (v: number, d = 2) => v.toFixed(d);

export function formatRun(r: SystolicRunResult): string {
  const c = r.config;
  const head = ['layer', 'cycles', 'stalls', 'util %', 'map eff %', 'DRAM rd', 'DRAM wr', 'energy µJ'];
  const rows = r.layers.map((l) => [
    l.name,
    String(l.totalCycles),
    String(l.stallCycles),
    fmt(l.overallUtilPct),
    fmt(l.mappingEfficiencyPct),
    String(l.dram.ifmapReads + l.dram.filterReads),
    String(l.dram.ofmapWrites),
    fmt(l.energyPj / 1e6, 3),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  return [
    `${r.network} on ${c.arrayHeight}×${c.arrayWidth} ${c.dataflow.toUpperCase()}, SRAM ${c.ifmapSramKb}/${c.filterSramKb}/${c.ofmapSramKb} kB, ${r.mode} mode${r.scalesimCompat ? ' (SCALE-Sim compat)' : ''}`,
    line(head),
    ...rows.map(line),
    `total ${r.totalCycles.toLocaleString('en')} cycles, ${r.macs.toLocaleString('en')} MACs, energy ${fmt(r.energyPj / 1e6, 3)} µJ (estimate at ${r.tech.nodeNm} nm), area ${fmt(r.areaMm2, 3)} mm²; simulated in ${fmt(r.seconds, 3)} s`,
    ...(r.layers.some((l) => l.outputsMatchReference !== undefined)
      ? [
          `outputs equal the integer GEMM: ${
            r.layers.every((l) => l.outputsMatchReference)
              ? 'yes, every layer'
              : `NO (${r.layers
                  .filter((l) => !l.outputsMatchReference)
                  .map((l) => l.name)
                  .join(', ')})`
          }`,
        ]
      : []),
  ].join('\n');
}

export function formatSweep(r: SystolicSweepResult): string {
  const head = ['array', 'dataflow', 'SRAM kB', 'cycles', 'energy µJ', 'area mm²', 'util %'];
  const rows = r.front.map((p) => [
    `${p.arrayHeight}×${p.arrayWidth}`,
    p.dataflow,
    String(p.sramKb),
    String(p.totalCycles),
    fmt(p.energyPj / 1e6, 3),
    fmt(p.areaMm2, 3),
    fmt(p.overallUtilPct, 1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (cells: string[]) => cells.map((x, i) => x.padStart(widths[i])).join('  ');
  return [
    `${r.network}: ${r.points.length} design points on ${r.workers} worker(s) in ${fmt(r.seconds, 1)} s; Pareto front (cycles, energy, area) has ${r.front.length}:`,
    line(head),
    ...rows.map(line),
  ].join('\n');
}

export function register(program: Command): void {
  const sys = program.command('systolic').description('SCALE-Sim-compatible systolic-array simulator: cycles, traffic, energy, real integer outputs, sweeps');

  const run = addNetworkOptions(sys.command('run').description("simulate a network on one array (writes SCALE-Sim's three reports and energy.csv with --out)"))
    .addOption(new Option('--mode <mode>', 'analytical (SCALE-Sim-exact, fast) or cycle (steps the array with integer data) (default analytical)').choices([...SIM_MODES]))
    .option('--verify', "cycle mode: check every layer's outputs against a plain integer GEMM");
  withCommon(run, { backend: false }).action(async (o: RunFlags, c: Command) => {
    const input = baseInput(o, c);
    if (o.mode !== undefined) input.mode = o.mode;
    if (o.verify) input.verify = true;
    validate(SystolicRunConfigSchema, input, o.config && isRunConfig(o.config) ? `systolic run config (${o.config})` : 'systolic run config');
    checkOut(o);
    const r = await runSystolicExperiment(input, progressFor(o));
    const saved = await saveRun(o, 'systolic', r, (dir) => writeSystolicRun(dir, r), { subtitle: `${r.network} on a systolic array` });
    emit(o, { ...r, out: saved.dir, report: saved.report }, () => [formatRun(r), ...runFolderLines(saved)].join('\n'));
  });

  const sweep = addNetworkOptions(sys.command('sweep').description('grid of array shapes × dataflows × SRAM sizes on worker threads; Pareto front of cycles, energy and area'))
    .addOption(
      new Option('--arrays <list>', 'array shapes HxW, comma-separated (default 8x8,16x16,32x32,64x64,128x128,16x64,64x16)').argParser((v) =>
        v.split(',').map(shapeArg('--arrays', '16x16,32x32')),
      ),
    )
    .addOption(new Option('--dataflows <list>', `dataflows, comma-separated: ${DATAFLOWS.join(', ')} (default all)`).argParser(listArg('--dataflows', DATAFLOWS)))
    .addOption(new Option('--sram-kb <list>', 'SRAM sizes in kB for each buffer, comma-separated (default 16,64,256)').argParser(intListArg('--sram-kb', 1, 1 << 20)))
    .addOption(workersOption('2'));
  withCommon(sweep, { backend: false }).action(async (o: SweepFlags, c: Command) => {
    const input = baseInput(o, c);
    if (o.arrays !== undefined) input.arrays = o.arrays.map(([h, w]) => `${h}x${w}`);
    if (o.dataflows !== undefined) input.dataflows = o.dataflows;
    if (o.sramKb !== undefined) input.sramKb = o.sramKb;
    if (o.workers !== undefined) input.workers = o.workers;
    validate(SweepConfigSchema, input, o.config && isRunConfig(o.config) ? `systolic sweep config (${o.config})` : 'systolic sweep config');
    checkOut(o);
    const r = await runSweep(input, progressFor(o));
    const saved = await saveRun(o, 'systolic-sweep', r, (dir) => writeSweepRun(dir, r), { subtitle: `design-space sweep of ${r.network}` });
    emit(o, { ...r, out: saved.dir, report: saved.report }, () => [formatSweep(r), ...runFolderLines(saved)].join('\n'));
  });
}
