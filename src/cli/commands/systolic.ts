/**
 * `accelab systolic run|sweep`: the SCALE-Sim-compatible systolic-array simulator (SCALE-Sim's
 * .cfg and topology CSV in, its three reports plus our energy file out) and design-space sweeps
 * with their Pareto front of cycles, energy and area.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import {
  readScalesimConfig,
  runSweep,
  runSystolicExperiment,
  type SystolicRunResult,
  type SystolicSweepResult,
  writeSweepRun,
  writeSystolicRun,
} from '../../experiments/systolic.js';
import { DATAFLOWS } from '../../hw/systolic/types.js';
import { type CommonOptions, emit, floatArg, intArg, progressFor, withCommon } from '../common.js';
import { writeRunReport } from '../run-report.js';

interface NetFlags extends CommonOptions {
  config?: string;
  topology?: string;
  gemm?: boolean;
  model?: string;
  checkpoint?: string;
  inputShape?: string;
  batchSize?: number;
  node?: number;
  scalesimCompat?: boolean;
}

interface RunFlags extends NetFlags {
  mode?: string;
  verify?: boolean;
}

interface SweepFlags extends NetFlags {
  arrays?: string;
  dataflows?: string;
  sramKb?: string;
  workers?: number;
}

function addNetworkOptions(cmd: Command): Command {
  return cmd
    .option('--config <cfg>', "SCALE-Sim .cfg file (default: SCALE-Sim's scale.cfg: 32×32 OS, 64 kB SRAMs)")
    .option('--topology <csv>', 'SCALE-Sim topology CSV (conv rows; GEMM rows with --gemm)')
    .option('--gemm', 'the topology has M, N, K rows (SCALE-Sim -i gemm)')
    .option('--model <name>', 'a zoo model as the network (its conv and dense layers)')
    .option('--checkpoint <dir>', 'a trained checkpoint as the network')
    .option('--input-shape <HxWxC>', 'input shape of --model (default 32x32x3)')
    .option('--batch-size <n>', 'batch size of dense layers taken from a model (default 1)', intArg('--batch-size', 1))
    .option('--node <nm>', 'technology node the energy table is scaled to (default 45)', floatArg('--node', 3, 180))
    .option('--scalesim-compat', "reproduce SCALE-Sim v2's counting quirks (see docs/systolic.md)");
}

function networkInput(o: NetFlags): Record<string, unknown> {
  const network: Record<string, unknown> = {};
  if (o.topology !== undefined) network.topology = o.topology;
  if (o.gemm) network.gemm = true;
  if (o.model !== undefined) network.model = o.model;
  if (o.checkpoint !== undefined) network.checkpoint = o.checkpoint;
  if (o.batchSize !== undefined) network.batchSize = o.batchSize;
  if (o.inputShape !== undefined) {
    const dims = o.inputShape.split('x').map(Number);
    if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) throw new ConfigError(`--input-shape '${o.inputShape}' must be HxWxC, e.g. 32x32x3`);
    network.inputShape = dims;
  }
  if (o.topology === undefined && o.model === undefined && o.checkpoint === undefined)
    throw new ConfigError('systolic: give --topology <csv>, --model <name> or --checkpoint <dir>');
  return network;
}

function listOf(flag: string, v: string, check: (s: string) => boolean, hint: string): string[] {
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of items) if (!check(s)) throw new ConfigError(`${flag}: '${s}' is not valid: ${hint}`);
  if (items.length === 0) throw new ConfigError(`${flag}: empty list: ${hint}`);
  return items;
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
    .option('--mode <mode>', 'analytical (SCALE-Sim-exact, fast) or cycle (steps the array with integer data)', 'analytical')
    .option('--verify', "cycle mode: check every layer's outputs against a plain integer GEMM");
  withCommon(run, { backend: false }).action(async (o: RunFlags, c: Command) => {
    if (o.mode !== 'analytical' && o.mode !== 'cycle') throw new ConfigError(`--mode: '${o.mode}' must be analytical or cycle`);
    const input: Record<string, unknown> = { network: networkInput(o), mode: o.mode };
    if (o.config !== undefined) input.arch = readScalesimConfig(o.config);
    if (o.scalesimCompat) input.scalesimCompat = true;
    if (o.verify) input.verify = true;
    if (o.node !== undefined) input.tech = { nodeNm: o.node };
    if (c.getOptionValueSource('seed') === 'cli') input.seed = o.seed;
    const r = await runSystolicExperiment(input, progressFor(o));
    let report: string | null = null;
    if (o.out) {
      const dir = resolve(o.out);
      writeSystolicRun(dir, r);
      report = (await writeRunReport(dir, r, { subtitle: `${r.network} on a systolic array` }))?.html ?? null;
    }
    emit(o, { ...r, out: o.out ? resolve(o.out) : null, report }, () => [formatRun(r), ...(o.out ? [`run folder ${resolve(o.out)}`, `report     ${report}`] : [])].join('\n'));
  });

  const sweep = addNetworkOptions(sys.command('sweep').description('grid of array shapes × dataflows × SRAM sizes on worker threads; Pareto front of cycles, energy and area'))
    .option('--arrays <list>', 'array shapes HxW, comma-separated (default 8x8,16x16,32x32,64x64,128x128,16x64,64x16)')
    .option('--dataflows <list>', 'dataflows, comma-separated (default os,ws,is)')
    .option('--sram-kb <list>', 'SRAM sizes in kB for each buffer, comma-separated (default 16,64,256)')
    .option('--workers <n>', 'worker threads (default 2)', intArg('--workers', 1, 64));
  withCommon(sweep, { backend: false }).action(async (o: SweepFlags, c: Command) => {
    const input: Record<string, unknown> = { network: networkInput(o) };
    if (o.config !== undefined) input.arch = readScalesimConfig(o.config);
    if (o.arrays !== undefined) input.arrays = listOf('--arrays', o.arrays, (s) => /^[1-9]\d*x[1-9]\d*$/.test(s), 'use HxW, e.g. 32x32');
    if (o.dataflows !== undefined) input.dataflows = listOf('--dataflows', o.dataflows, (s) => (DATAFLOWS as readonly string[]).includes(s), `use ${DATAFLOWS.join(', ')}`);
    if (o.sramKb !== undefined) input.sramKb = listOf('--sram-kb', o.sramKb, (s) => /^[1-9]\d*$/.test(s), 'use whole kB, e.g. 16,64').map(Number);
    if (o.workers !== undefined) input.workers = o.workers;
    if (o.scalesimCompat) input.scalesimCompat = true;
    if (o.node !== undefined) input.tech = { nodeNm: o.node };
    if (c.getOptionValueSource('seed') === 'cli') input.seed = o.seed;
    const r = await runSweep(input, progressFor(o));
    let report: string | null = null;
    if (o.out) {
      const dir = resolve(o.out);
      writeSweepRun(dir, r);
      report = (await writeRunReport(dir, r, { subtitle: `design-space sweep of ${r.network}` }))?.html ?? null;
    }
    emit(o, { ...r, out: o.out ? resolve(o.out) : null, report }, () => [formatSweep(r), ...(o.out ? [`run folder ${resolve(o.out)}`, `report     ${report}`] : [])].join('\n'));
  });
}
