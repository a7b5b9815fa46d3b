/**
 * `accelab compress pack|run`: tight packing (permutation search, subwords) vs column combining on
 * a systolic array, for one synthetic matrix, a network's layer shapes or a checkpoint's layers.
 */
import { type Command, Option } from 'commander';
import { readConfigFile } from '../../core/config-file.js';
import { ConfigError } from '../../core/errors.js';
import { type CompressResult, METHOD_LABELS, METHODS, NETWORKS, parseCompressConfig, runCompress, workloadLayerCodes, writeCompressRun } from '../../experiments/compress.js';
import { loadModel } from '../../nn/checkpoint.js';
import { weightedLayers } from '../../nn/workload.js';
import { round, times } from '../../report/format.js';
import { emit, progressFor, runFolderLines, saveRun, startEngine } from '../common.js';
import {
  addOptions,
  type CommonOptions,
  checkOut,
  checkpointInfo,
  checkpointOption,
  configOption,
  floatArg,
  intArg,
  seedInto,
  shapeArg,
  withCommon,
  workersOption,
} from '../options.js';
import { registerPrune } from './compress-prune.js';

interface PackFlags extends CommonOptions {
  config?: string;
  synthetic?: [number, number];
  network?: string;
  checkpoint?: string;
  sparsity?: number;
  keepDensity?: boolean;
  array?: [number, number];
  groupSize?: number;
  maxOverlap?: number;
  subwordFraction?: number;
  search?: string;
  budgetSearch?: string;
  budgetSlots?: number;
  budgetObjective?: string;
  vectors?: number;
  simulate?: boolean;
  layers?: string[];
  workers?: number;
}

/**
 * The compress config from --config and the flags (flags override the file), checked before any
 * work; `defaultSource` is the source when neither names one.
 */
function configFrom(o: PackFlags, c: Command, defaultSource?: string): Record<string, unknown> {
  const config: Record<string, unknown> = o.config ? readConfigFile(o.config) : {};
  const sources = [o.synthetic, o.network, o.checkpoint].filter((v) => v !== undefined).length;
  if (sources > 1) throw new ConfigError('compress: give one of --synthetic, --network and --checkpoint');
  if (o.synthetic) config.source = 'matrix';
  if (o.network) config.source = o.network;
  if (o.checkpoint) config.source = 'checkpoint';
  if (sources === 1) config.checkpoint = o.checkpoint ?? null;
  if (config.source === undefined && defaultSource !== undefined) config.source = defaultSource;
  if (o.synthetic) config.matrix = { rows: o.synthetic[0], cols: o.synthetic[1] };
  if (typeof config.checkpoint === 'string' && config.source === 'checkpoint') {
    const flag = o.checkpoint !== undefined ? '--checkpoint' : `checkpoint (in ${o.config})`;
    config.checkpoint = checkpointInfo(config.checkpoint, flag).modelDir;
  }
  if (o.keepDensity) {
    if (!(NETWORKS as readonly string[]).includes(String(config.source))) throw new ConfigError('--keep-density: only with --network (its layers keep their published densities)');
    config.sparsity = null;
  } else if (o.sparsity !== undefined) config.sparsity = o.sparsity;
  if (o.array) config.array = { rows: o.array[0], cols: o.array[1] };
  if (o.groupSize !== undefined) config.groupSize = o.groupSize;
  if (o.maxOverlap !== undefined) config.maxOverlap = o.maxOverlap;
  if (o.subwordFraction !== undefined) config.subwordFraction = o.subwordFraction;
  if (o.search) config.search = { ...((config.search as Record<string, unknown> | undefined) ?? {}), method: o.search };
  const budgetMethod = o.budgetSearch ?? o.search;
  if (budgetMethod || o.budgetObjective)
    config.budgetSearch = {
      ...((config.budgetSearch as Record<string, unknown> | undefined) ?? {}),
      ...(budgetMethod ? { method: budgetMethod } : {}),
      ...(o.budgetObjective ? { objective: o.budgetObjective } : {}),
    };
  if (o.budgetSlots !== undefined) config.budgetSlots = o.budgetSlots;
  if (o.vectors !== undefined) config.vectors = o.vectors;
  if (c.getOptionValueSource('simulate') === 'cli') config.simulate = o.simulate;
  if (o.layers) config.layers = o.layers;
  if (o.workers !== undefined) config.workers = o.workers;
  seedInto(c, o, config);
  const checked = parseCompressConfig(config);
  if (checked.source === 'checkpoint' && checked.checkpoint === null)
    throw new ConfigError("compress config: source 'checkpoint' needs field 'checkpoint' (or give --checkpoint <dir>)");
  return config;
}

/** The integer layer codes of the config's checkpoint (none for other sources). */
async function checkpointLayers(o: PackFlags, config: Record<string, unknown>) {
  if (config.source !== 'checkpoint') return undefined;
  await startEngine(o);
  const model = await loadModel(String(config.checkpoint));
  const layers = workloadLayerCodes(weightedLayers(model));
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
    `Compression rate = dense bits / packed bits, every index, block-width and order bit counted. Array ${c.array.rows}×${c.array.cols} (weight stationary), multiplexer fan-in ${c.groupSize}, budgeted k = ${c.budgetSlots}, search ${c.search.method} (budgeted ${c.budgetSearch.method}), seed ${c.seed}.`,
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
  cmd.addOption(configOption());
  addOptions(
    cmd,
    new Option('--synthetic <rows>x<cols>', 'one seeded matrix of magnitude-distributed 8-bit weights (default 512x4608)').argParser(shapeArg('--synthetic', '512x4608')),
    new Option('--network <name>', 'layer shapes of a published network with synthetic weights').choices([...NETWORKS]),
    checkpointOption('the conv/dense layers of a trained model (8-bit per-layer codes, magnitude-pruned)'),
    new Option('--sparsity <s>', 'weight sparsity after magnitude pruning (default 0.9)').argParser(floatArg('--sparsity', 0, 0.999)),
    new Option('--keep-density', "with --network: each layer's published density (Han et al. 2015) instead of --sparsity"),
    new Option('--array <R>x<C>', 'systolic array rows × columns; a tile holds C output channels (default 32x32)').argParser(shapeArg('--array', '32x32')),
    new Option('--group-size <n>', 'multiplexer fan-in: tight group size and column-combining α (default 16)').argParser(intArg('--group-size', 1, 1024)),
    new Option('--max-overlap <f>', "column combining's γ: conflicting rows per merge / rows (default 0.05)").argParser(floatArg('--max-overlap', 0, 1)),
    new Option('--subword-fraction <f>', 'fraction of nonzero subwords removed by subword pruning (default 0.25)').argParser(floatArg('--subword-fraction', 0, 0.999)),
    new Option('--search <method>', 'permutation search of the tight formats, and of the budgeted ones unless --budget-search (default anneal)').choices([
      'anneal',
      'greedy',
      'identity',
    ]),
    new Option('--budget-search <method>', 'permutation search of the budgeted formats (default greedy: annealing only trims the pruned share, at up to 130× the time)').choices([
      'anneal',
      'greedy',
      'identity',
    ]),
    new Option('--budget-slots <k>', 'budgeted format: slots per row and group (default 1)').argParser(intArg('--budget-slots', 1, 1024)),
    new Option('--budget-objective <o>', 'budgeted search: what a pruned weight costs (default l1)').choices(['l1', 'l2', 'count']),
    new Option('--vectors <n>', 'input vectors of the --synthetic matrix on the array (default 196)').argParser(intArg('--vectors', 1, 10_000_000)),
    new Option('--no-simulate', 'skip the systolic-array simulation (throughput, energy)'),
    new Option('--layers <list>', 'only these layers (comma-separated names)').argParser((v) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
    workersOption('2'),
  );
  return cmd;
}

/** pack and run: check everything, load the checkpoint's layers, pack, write the run folder (always for run, with --out for pack). */
async function packAction(o: PackFlags, c: Command, run: boolean): Promise<void> {
  const config = configFrom(o, c, run ? 'vgg16' : undefined);
  checkOut(o);
  const layers = await checkpointLayers(o, config);
  const r = await runCompress(config, { progress: progressFor(o), checkpointLayers: layers });
  const saved = await saveRun(
    o,
    'compress',
    r,
    (dir) => writeCompressRun(dir, r),
    { subtitle: `${r.layers.length} layer(s) packed for a ${r.config.array.rows}×${r.config.array.cols} array` },
    run,
  );
  emit(o, { ...packSummary(r), outDir: saved.dir, report: saved.report }, () => [formatCompress(r), ...runFolderLines(saved)].join('\n'));
}

export function register(program: Command): void {
  const cmd = program
    .command('compress')
    .description('pruning with fine-tuning, and pruned-weight packing for systolic arrays: column combining vs tight permutation packing (+ subwords)');
  registerPrune(cmd);

  const pack = addPackFlags(cmd.command('pack').description('pack a matrix or a network by every method and print the compression rates'));
  withCommon(pack, { backend: true }).action((o: PackFlags, c: Command) => packAction(o, c, false));

  const run = addPackFlags(cmd.command('run').description('pack a network (default VGG-16 shapes) into a run folder with report.html'));
  withCommon(run, { backend: true }).action((o: PackFlags, c: Command) => packAction(o, c, true));
}
