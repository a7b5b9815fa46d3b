/**
 * `accelab compress pack|run`: tight packing (permutation search, subwords) vs column combining on
 * a systolic array, for one synthetic matrix, a network's layer shapes or a checkpoint's layers.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { type CompressConfig, type CompressResult, METHOD_LABELS, METHODS, NETWORKS, parseShape, runCompress, workloadLayerCodes } from '../../experiments/compress.js';
import { loadModel } from '../../nn/checkpoint.js';
import { workloadFromModel } from '../../nn/workload.js';
import { round, times } from '../../report/format.js';
import { type CommonOptions, defaultOut, emit, floatArg, intArg, progressFor, startEngine, withCommon } from '../common.js';
import { writeRunReport } from '../run-report.js';
import { registerPrune } from './compress-prune.js';

interface PackFlags extends CommonOptions {
  synthetic?: string;
  network?: string;
  checkpoint?: string;
  sparsity?: number;
  keepDensity?: boolean;
  array?: string;
  groupSize?: number;
  maxOverlap?: number;
  subwordFraction?: number;
  search?: string;
  budgetSlots?: number;
  budgetObjective?: string;
  vectors?: number;
  simulate?: boolean;
  layers?: string;
  workers?: number;
}

function configFrom(o: PackFlags): { config: Partial<CompressConfig> & Record<string, unknown>; needsCheckpoint: boolean } {
  const sources = [o.synthetic, o.network, o.checkpoint].filter((v) => v !== undefined).length;
  if (sources > 1) throw new ConfigError('compress: give one of --synthetic, --network and --checkpoint');
  if (o.network && !(NETWORKS as readonly string[]).includes(o.network)) throw new ConfigError(`--network: '${o.network}' is not known: use ${NETWORKS.join(', ')}`);
  if (o.search && !['anneal', 'greedy', 'identity'].includes(o.search)) throw new ConfigError(`--search: '${o.search}' is not known: use anneal, greedy or identity`);
  const config: Record<string, unknown> = {
    source: o.checkpoint ? 'checkpoint' : o.network ? o.network : 'matrix',
    seed: o.seed,
  };
  if (o.synthetic) config.matrix = parseShape('--synthetic', o.synthetic);
  if (o.checkpoint) config.checkpoint = resolve(o.checkpoint);
  if (o.keepDensity) {
    if (!o.network) throw new ConfigError('--keep-density: only with --network (its layers keep their published densities)');
    config.sparsity = null;
  } else if (o.sparsity !== undefined) config.sparsity = o.sparsity;
  if (o.array) config.array = parseShape('--array', o.array);
  if (o.groupSize !== undefined) config.groupSize = o.groupSize;
  if (o.maxOverlap !== undefined) config.maxOverlap = o.maxOverlap;
  if (o.subwordFraction !== undefined) config.subwordFraction = o.subwordFraction;
  if (o.budgetObjective && !['l1', 'l2', 'count'].includes(o.budgetObjective))
    throw new ConfigError(`--budget-objective: '${o.budgetObjective}' is not known: use l1, l2 or count`);
  if (o.search) config.search = { method: o.search };
  if (o.search || o.budgetObjective) config.budgetSearch = { ...(o.search ? { method: o.search } : {}), ...(o.budgetObjective ? { objective: o.budgetObjective } : {}) };
  if (o.budgetSlots !== undefined) config.budgetSlots = o.budgetSlots;
  if (o.vectors !== undefined) config.vectors = o.vectors;
  if (o.simulate === false) config.simulate = false;
  if (o.layers)
    config.layers = o.layers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (o.workers !== undefined) config.workers = o.workers;
  return { config: config as Partial<CompressConfig> & Record<string, unknown>, needsCheckpoint: Boolean(o.checkpoint) };
}

async function checkpointLayers(o: PackFlags) {
  if (!o.checkpoint) return undefined;
  if (!existsSync(resolve(o.checkpoint, 'model.json'))) throw new ConfigError(`--checkpoint: ${o.checkpoint} has no model.json: give a folder written by \`accelab train\``);
  await startEngine(o);
  const model = await loadModel(resolve(o.checkpoint));
  const layers = workloadLayerCodes(workloadFromModel(model));
  model.dispose();
  return layers;
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)];
}

export function formatCompress(r: CompressResult): string {
  const c = r.config;
  const arr = r.array;
  const methodRows = METHODS.map((k) => {
    const t = r.total[k];
    const a = arr && k !== 'tight' ? arr.methods[k] : null;
    return [
      METHOD_LABELS[k],
      times(t.rate),
      times(t.rateNoIndex),
      `${round(100 * t.indexShare, 1)}%`,
      String(t.changed),
      `${round(100 * t.l1Share, 1)}%`,
      `${round(100 * t.l2Share, 1)}%`,
      a ? times(a.throughput) : '',
      a ? times(a.energyEfficiency) : '',
    ];
  });
  const layerRows = r.layers.map((l) => [l.name, `${l.rows}×${l.cols}`, `${round(100 * l.sparsity, 1)}%`, ...METHODS.map((k) => times(l[k].rate))]);
  return [
    `Compression rate = dense bits / packed bits, every index, block-width and order bit counted. Array ${c.array.rows}×${c.array.cols} (weight stationary), multiplexer fan-in ${c.groupSize}, budgeted k = ${c.budgetSlots}, search ${c.search.method}, seed ${c.seed}.`,
    ...table(['method', 'rate', 'value bits', 'index share', 'weights changed', 'Σ|Δw|/Σ|w|', 'ΣΔw²/Σw²', 'throughput', 'energy eff.'], methodRows),
    '',
    ...table(['layer', 'rows×cols', 'sparsity', ...METHODS.map((k) => SHORT_LABELS[k])], layerRows),
    '',
    `word-level bound (1/density): ${times(r.idealRate)}; packings unpack exactly (to the pruned matrix for the budgeted formats): ${r.exact ? 'yes' : 'NO'}${arr ? '; throughput and energy efficiency vs the dense layers on the same array (analytical mode)' : ''}`,
    `paper (Tight Compression, TCAD): ${r.paper.stateOfTheArt}× → ${r.paper.unstructured}× → ${r.paper.subword}×, ${r.paper.throughput}× throughput, ${r.paper.energyEfficiency}× energy efficiency; ours (every bit): column combining ${times(r.total.columnCombining.rate)}, tight + permutation ${times(r.total.permutation.rate)}, + subwords ${times(r.total.permutationSubword.rate)}, budgeted ${times(r.total.budgeted.rate)}, budgeted subwords ${times(r.total.budgetedSubword.rate)}`,
  ].join('\n');
}

const SHORT_LABELS: Record<(typeof METHODS)[number], string> = {
  columnCombining: 'CC',
  columnCombiningFull: 'CC γ=1',
  tight: 'tight',
  permutation: 'perm',
  permutationSubword: 'perm+sw',
  budgeted: 'budget',
  budgetedSubword: 'budget+sw',
};

function packSummary(r: CompressResult) {
  const per = <T>(f: (k: (typeof METHODS)[number]) => T) => Object.fromEntries(METHODS.map((k) => [k, f(k)])) as Record<(typeof METHODS)[number], T>;
  return {
    rates: per((k) => r.total[k].rate),
    ratesNoIndex: per((k) => r.total[k].rateNoIndex),
    indexOverhead: per((k) => r.total[k].indexShare),
    changed: per((k) => ({ weights: r.total[k].changed, l1Share: r.total[k].l1Share, l2Share: r.total[k].l2Share })),
    array: r.array
      ? {
          denseCycles: r.array.dense.cycles,
          denseEnergyPj: r.array.dense.energyPj,
          throughput: Object.fromEntries(Object.entries(r.array.methods).map(([k, v]) => [k, v.throughput])),
          energyEfficiency: Object.fromEntries(Object.entries(r.array.methods).map(([k, v]) => [k, v.energyEfficiency])),
          overheadPj: Object.fromEntries(Object.entries(r.array.methods).map(([k, v]) => [k, v.overheadPj])),
        }
      : null,
    exact: r.exact,
    idealRate: r.idealRate,
    config: r.config,
    layers: r.layers,
    seconds: r.seconds,
  };
}

function addPackFlags(cmd: Command): Command {
  cmd.option('--synthetic <rows>x<cols>', 'one seeded matrix of magnitude-distributed 8-bit weights (default 512x4608)');
  cmd.option('--network <name>', `layer shapes of ${NETWORKS.join(' or ')} with synthetic weights`);
  cmd.option('--checkpoint <dir>', 'the conv/dense layers of a trained model (8-bit per-layer codes, magnitude-pruned)');
  cmd.option('--sparsity <s>', 'weight sparsity after magnitude pruning (default 0.9)', floatArg('--sparsity', 0, 0.999));
  cmd.option('--keep-density', "with --network: each layer's published density (Han et al. 2015) instead of --sparsity");
  cmd.option('--array <R>x<C>', 'systolic array rows × columns; a tile holds C output channels (default 32x32)');
  cmd.option('--group-size <n>', 'multiplexer fan-in: tight group size and column-combining α (default 16)', intArg('--group-size', 1, 1024));
  cmd.option('--max-overlap <f>', "column combining's γ: conflicting rows per merge / rows (default 0.05)", floatArg('--max-overlap', 0, 1));
  cmd.option('--subword-fraction <f>', 'fraction of nonzero subwords removed by subword pruning (default 0.25)', floatArg('--subword-fraction', 0, 0.999));
  cmd.option('--search <method>', 'permutation searches (tight and budgeted): anneal, greedy or identity (default anneal)');
  cmd.option('--budget-slots <k>', 'budgeted format: slots per row and group (default 1)', intArg('--budget-slots', 1, 1024));
  cmd.option('--budget-objective <o>', 'budgeted search: what a pruned weight costs: l1, l2 or count (default l1)');
  cmd.option('--vectors <n>', 'input vectors of the --synthetic matrix on the array (default 196)', intArg('--vectors', 1, 10_000_000));
  cmd.option('--no-simulate', 'skip the systolic-array simulation (throughput, energy)');
  cmd.option('--layers <list>', 'only these layers (comma-separated names)');
  cmd.option('--workers <n>', 'worker threads for the layers (default 2)', intArg('--workers', 1, 64));
  return cmd;
}

export function register(program: Command): void {
  const cmd = program
    .command('compress')
    .description('pruning with fine-tuning, and pruned-weight packing for systolic arrays: column combining vs tight permutation packing (+ subwords)');
  registerPrune(cmd);

  const pack = addPackFlags(cmd.command('pack').description('pack a matrix or a network by every method and print the compression rates'));
  withCommon(pack, { backend: true }).action(async (o: PackFlags) => {
    const { config } = configFrom(o);
    const layers = await checkpointLayers(o);
    const dir = o.out ? resolve(o.out) : undefined;
    const r = await runCompress(config, { outDir: dir, progress: progressFor(o), checkpointLayers: layers });
    emit(o, { ...packSummary(r), outDir: dir ?? null }, () => `${formatCompress(r)}${dir ? `\nrun folder ${dir}` : ''}`);
  });

  const run = addPackFlags(cmd.command('run').description('pack a network (default VGG-16 shapes) into a run folder with report.html'));
  withCommon(run, { backend: true }).action(async (o: PackFlags) => {
    if (!o.synthetic && !o.checkpoint && !o.network) o.network = 'vgg16';
    const { config } = configFrom(o);
    const layers = await checkpointLayers(o);
    const dir = resolve(o.out ?? defaultOut('compress'));
    const r = await runCompress(config, { outDir: dir, progress: progressFor(o), checkpointLayers: layers });
    const rep = await writeRunReport(dir, r);
    emit(o, { ...packSummary(r), outDir: dir, report: rep?.html ?? null }, () => `${formatCompress(r)}\nrun folder ${dir}${rep ? `\nreport ${rep.html}` : ''}`);
  });
}
