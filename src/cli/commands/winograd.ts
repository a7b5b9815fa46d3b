/**
 * `accelab winograd table|error|transforms|run|train-filters`: nested Winograd (paper B): multiplication counts vs
 * the paper's ratios, numerical error by algorithm and number format, exact Cook–Toom transforms.
 */
import { type Command, Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readConfigFile } from '../../core/config-file.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { readJson } from '../../core/fsx.js';
import {
  COUNT_COLUMNS,
  type CountStudyResult,
  type ErrorStudyResult,
  FILTER_SOURCES,
  kernelRange,
  parseSpeedRecord,
  parseTrainFiltersConfig,
  parseWinogradRunConfig,
  runTrainFilters,
  runWinogradConfig,
  type WinogradRunConfig,
} from '../../experiments/winograd.js';
import { ERROR_METHODS, NUMBER_FORMATS } from '../../winograd/numerics.js';
import { Q, qToStrings } from '../../winograd/rational.js';
import { type FilterBank, loadTrainedFilters, trainedExtraFilters } from '../../winograd/trained.js';
import { checkExact, cookToom, nestedAlgorithm } from '../../winograd/transforms.js';
import { pct, signedPercent } from '../../report/format.js';
import { emit, inRunDir, progressFor, stagedReport, startEngine } from '../common.js';
import {
  addOptions,
  batchSizeOptions,
  type CommonOptions,
  checkDataDir,
  checkOut,
  checkpointOption,
  DATASET_CHOICES,
  dataDirOption,
  datasetOption,
  intArg,
  limitOptions,
  listArg,
  lrOption,
  resolveCheckpoint,
  withCommon,
} from '../options.js';

interface WinoFlags extends CommonOptions {
  config?: string;
  kernels?: string;
  m?: number;
  size?: number;
  channels?: number;
  formats?: string[];
  methods?: string[];
  filters?: string[];
  policy?: string;
  r?: number;
  points?: string;
  nested?: number;
  checkpoint?: string;
  speed?: string;
}

/** The conv filters (K ≥ 5) of a checkpoint folder (holding model.json); needs the engine to load weights. */
async function checkpointFilters(modelDir: string | null, o: CommonOptions): Promise<{ banks: FilterBank[]; extra: ReturnType<typeof trainedExtraFilters> } | undefined> {
  if (!modelDir) return undefined;
  await startEngine(o);
  const banks = await loadTrainedFilters(modelDir, { minKernel: 5 });
  return { banks, extra: trainedExtraFilters(banks) };
}

const DEFAULT_SPEED = 'bench/results/winograd.json';

/** Reads and checks a speed record; `required` when given by the user (else a missing default is fine). */
function readSpeed(file: string | null, required: boolean): unknown {
  if (file === null) return undefined;
  if (!existsSync(file)) {
    if (required) throw new NotFoundError(`--speed ${file} does not exist: run \`npm run bench -- winograd --record\` first, or leave --speed out`);
    return undefined;
  }
  if (statSync(file).isDirectory()) throw new ConfigError(`--speed ${file} is a folder: pass the benchmark's JSON file`);
  return parseSpeedRecord(readJson(file), file);
}

export function formatCountTable(r: CountStudyResult): string {
  const head = COUNT_COLUMNS.map((c) => c.short);
  const rows = r.rows.map((x) =>
    COUNT_COLUMNS.map((c) => {
      const v = c.cell(x);
      return v === null ? '' : typeof v === 'number' && c.short !== 'K' && c.short !== 'paper' ? v.toFixed(2) : String(v);
    }),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `Counting convention: ${r.convention}. OLA tile m = nested outer m1 = ${r.m}; layer ${r.layer.h}×${r.layer.w}, ${r.layer.cin}→${r.layer.cout} channels.`,
    'Columns: element-wise multiplications per output pixel per channel pair (direct, OLA, nested pure-3, nested mixed-radix); ratios; nested transform mults/adds per output per channel.',
    line(head),
    ...rows.map(line),
    '',
    `Paper vs ours (OLA/nested): ${r.paper.map((p) => `${p.kernel}×${p.kernel}: ${p.ratio} vs ${p.ours.toFixed(2)} (${signedPercent(p.diffPercent)})`).join('; ')}`,
  ].join('\n');
}

export function formatErrorTable(r: ErrorStudyResult): string {
  const head = ['K', 'filters', 'method', 'algorithm', 'format', 'max rel', 'rms rel'];
  const rows = r.rows.map((x) => [String(x.kernel), x.filters, x.method, x.algorithm, x.format, x.maxRel.toExponential(2), x.rmsRel.toExponential(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), ...rows.map(line), '', ...r.notes].join('\n');
}

/** Study config from a config file (e.g. a run's config.json) and the flags given. */
function studyConfig(o: WinoFlags, c: Command, mode: 'table' | 'error' | 'run'): WinogradRunConfig {
  const base: Record<string, unknown> = o.config ? readConfigFile(o.config) : {};
  const cli = (k: string) => c.getOptionValueSource(k) === 'cli';
  const input: Record<string, unknown> = { ...base };
  if (mode === 'table') input.error = null;
  const err: Record<string, unknown> | null = mode === 'table' ? null : { ...((base.error as Record<string, unknown> | null | undefined) ?? {}) };
  if (mode === 'error') {
    // The error study's own flags; the count table follows its kernels.
    if (cli('kernels')) err!.kernels = kernelRange(o.kernels as string);
    if (input.kernels === undefined) input.kernels = (err!.kernels as number[] | undefined) ?? [5, 9];
  } else if (cli('kernels')) input.kernels = kernelRange(o.kernels as string);
  if (cli('m')) {
    input.m = o.m;
    if (err) err.m = o.m;
  }
  if (cli('size')) (mode === 'table' ? input : err!).size = o.size;
  if (cli('channels')) {
    if (mode === 'table') input.channels = o.channels;
    else {
      err!.channels = o.channels;
      err!.outChannels = o.channels;
    }
  }
  if (err) {
    if (cli('formats')) err.formats = o.formats;
    if (cli('methods')) err.methods = o.methods;
    if (cli('filters')) err.filters = o.filters;
    if (cli('policy')) err.policy = o.policy;
    if (cli('seed') || err.seed === undefined) err.seed = o.seed ?? 1;
    input.error = err;
  }
  if (cli('checkpoint')) input.checkpoint = resolveCheckpoint(o.checkpoint as string).modelDir;
  else if (typeof input.checkpoint === 'string') input.checkpoint = resolveCheckpoint(input.checkpoint, `checkpoint (in ${o.config})`).modelDir;
  if (mode === 'run') {
    if (cli('speed')) input.speed = resolve(o.speed as string);
    else if (input.speed === undefined) input.speed = existsSync(DEFAULT_SPEED) ? resolve(DEFAULT_SPEED) : null;
  }
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
  return parseWinogradRunConfig(input);
}

/** Runs a table/error/run study: everything checked first, then the run folder written atomically when --out. */
async function runStudy(o: WinoFlags, c: Command, mode: 'table' | 'error' | 'run') {
  const cfg = studyConfig(o, c, mode);
  const speed = readSpeed(cfg.speed, mode === 'run' && c.getOptionValueSource('speed') === 'cli');
  checkOut(o);
  const trained = await checkpointFilters(cfg.checkpoint, o);
  const progress = progressFor(o);
  if (!o.out && mode !== 'run') return { cfg, trained, r: runWinogradConfig(cfg, { progress, extraFilters: trained?.extra, speed }), dir: null, report: null };
  const { value, dir } = await inRunDir(o, `winograd-${mode}`, async (stage, final) => {
    const r = runWinogradConfig(cfg, { outDir: stage, progress, extraFilters: trained?.extra, speed });
    return { r, report: await stagedReport(stage, final, r) };
  });
  return { cfg, trained, r: value.r, dir, report: value.report };
}

export function register(program: Command): void {
  const wino = program.command('winograd').description('nested Winograd for large kernels: counts, numerical error, exact transforms');
  const configOpt = () => new Option('--config <file>', "JSON/YAML file with the study options, e.g. a run's config.json (flags override it)");
  const mOpt = (what: string) => new Option('--m <n>', `${what} (default 3)`).argParser(intArg('--m', 1, 6));

  const table = wino.command('table').description('multiplication counts per kernel size and the OLA/nested, direct/nested ratios (paper B)');
  addOptions(
    table,
    configOpt(),
    new Option('--kernels <list>', 'kernel sizes 1…31, e.g. 3..31 or 5,9,27 (default 3..31)'),
    mOpt('OLA tile outputs m = nested outer m1'),
    new Option('--size <n>', 'feature-map size for the per-layer counts (default 56)').argParser(intArg('--size', 1, 4096)),
    new Option('--channels <n>', 'input = output channels for the per-layer counts (default 64)').argParser(intArg('--channels', 1, 4096)),
  );
  withCommon(table, { seed: false, backend: false }).action(async (o: WinoFlags, c: Command) => {
    const { r, dir, report } = await runStudy(o, c, 'table');
    const x = r.counts;
    emit(
      o,
      { convention: x.convention, m: x.m, layer: x.layer, paper: x.paper, rows: x.rows, out: dir, report },
      () => `${formatCountTable(x)}${dir ? `\nrun folder ${dir}\nreport ${report}` : ''}`,
    );
  });

  const err = wino.command('error').description('max and RMS error vs float64 direct: float32/float16/int16/int8, single tile vs OLA vs nested');
  addOptions(
    err,
    configOpt(),
    new Option('--kernels <list>', 'kernel sizes 2…31 (default 5,9)'),
    new Option('--formats <list>', `number formats, comma-separated: ${NUMBER_FORMATS.join(',')} (default float32,float16,int16,int8)`).argParser(
      listArg('--formats', NUMBER_FORMATS),
    ),
    new Option('--methods <list>', `${ERROR_METHODS.join(',')} (default all)`).argParser(listArg('--methods', ERROR_METHODS)),
    new Option('--filters <list>', `${FILTER_SOURCES.join(',')} (default both)`).argParser(listArg('--filters', FILTER_SOURCES)),
    new Option('--size <n>', 'input height = width (default 18)').argParser(intArg('--size', 4, 128)),
    new Option('--channels <n>', 'input = output channels (default 2)').argParser(intArg('--channels', 1, 64)),
    mOpt('outputs per tile (single tile F(m,K), OLA F(m,3), nested outer m1)'),
    new Option('--policy <p>', 'nesting policy (default pure3)').choices(['pure3', 'mixed']),
    checkpointOption("also measure a trained model's K×K (K ≥ 5) conv filters, labelled trained/<layer> (see `winograd train-filters`)"),
  );
  withCommon(err, { backend: false }).action(async (o: WinoFlags, c: Command) => {
    const { cfg, trained, r, dir, report } = await runStudy(o, c, 'error');
    const e = r.errors as ErrorStudyResult;
    const banks = trained
      ? `trained filters from ${cfg.checkpoint}: ${trained.banks.map((b) => `${b.layer} ${b.kernel}×${b.kernel} ${b.cin}→${b.cout} (${b.cin * b.cout} pairs)`).join(', ')}\n`
      : '';
    emit(o, { ...e, checkpoint: cfg.checkpoint, out: dir, report }, () => `${banks}${formatErrorTable(e)}${dir ? `\nrun folder ${dir}\nreport ${report}` : ''}`);
  });

  const tr = wino.command('transforms').description('exact Cook–Toom Aᵀ, G, Bᵀ for F(m, r) (or a nested algorithm), checked symbolically');
  addOptions(
    tr,
    new Option('--m <n>', 'outputs per tile (default 3)').argParser(intArg('--m', 1, 16)),
    new Option('--r <n>', 'filter taps (default 3)').argParser(intArg('--r', 1, 16)),
    new Option('--points <list>', 'm + r − 2 distinct finite interpolation points, e.g. 0,1,-1,1/2 (default 0, ±1, ±2, ±1/2, …)'),
    new Option('--nested <K>', 'show the pure-3 nested algorithm for a K-tap filter instead').argParser(intArg('--nested', 2, 31)),
  );
  withCommon(tr, { out: false, seed: false, backend: false }).action((o: WinoFlags) => {
    let points: Q[] | undefined;
    if (o.points !== undefined) {
      try {
        points = o.points.split(',').map((s) => Q.parse(s));
      } catch (e) {
        throw new ConfigError(`--points: ${(e as Error).message}: give comma-separated integers or fractions, e.g. 0,1,-1,1/2`);
      }
    }
    if (o.nested && (o.points !== undefined || o.r !== undefined)) throw new ConfigError('--nested builds its own points and taps: leave out --points and --r');
    const alg = o.nested ? nestedAlgorithm(o.nested, { m1: o.m ?? 3 }) : cookToom(o.m ?? 3, o.r ?? 3, points);
    const bad = checkExact(alg);
    const value = { name: alg.name, m: alg.m, r: alg.r, mu: alg.mu, exact: bad === null, AT: qToStrings(alg.AT), G: qToStrings(alg.G), BT: qToStrings(alg.BT) };
    const show = (name: string, m: string[][]) => `${name} =\n${m.map((row) => `  [${row.map((v) => v.padStart(6)).join(' ')}]`).join('\n')}`;
    emit(o, value, () =>
      [
        `${alg.name}: ${alg.m} outputs, ${alg.r} taps, ${alg.mu} multiplications; bilinear identity ${bad ? `FAILS at ${JSON.stringify(bad)}` : 'holds exactly'}`,
        show('Aᵀ', value.AT),
        show('G', value.G),
        show('Bᵀ', value.BT),
      ].join('\n'),
    );
  });

  const run = wino.command('run').description('count table + error table into a run folder with config.json, result.json and report.html');
  addOptions(
    run,
    configOpt(),
    new Option('--kernels <list>', 'kernel sizes for the count table (default 3..31)'),
    new Option('--speed <file>', `benchmark record to include (default ${DEFAULT_SPEED} when it exists)`),
    checkpointOption("include a trained model's K×K conv filters in the error table (see `winograd train-filters`)"),
  );
  withCommon(run, { backend: false }).action(async (o: WinoFlags, c: Command) => {
    const { r, dir, report } = await runStudy(o, c, 'run');
    emit(o, { ...r, outDir: dir, report }, () => `${formatCountTable(r.counts)}\n\n${r.errors ? formatErrorTable(r.errors) : ''}\nrun folder ${dir}\nreport ${report}`);
  });

  const trainCmd = wino
    .command('train-filters')
    .description('train the small 9×9-kernel CNN briefly (Fashion-MNIST, else synthetic-gray) into a run folder: real filters for `winograd error --checkpoint`');
  addOptions(
    trainCmd,
    configOpt(),
    new Option('--epochs <n>', 'training epochs (default 1)').argParser(intArg('--epochs', 1, 100)),
    limitOptions({ train: '20000', test: '2000' }),
    new Option('--kernel <K>', 'kernel size of both convolutions (default 9)').argParser(intArg('--kernel', 3, 31)),
    datasetOption({ default: 'fashion-mnist', note: 'synthetic-gray when the default is not installed' }),
    dataDirOption(),
    batchSizeOptions('64'),
    lrOption('Adam 0.001'),
  );
  withCommon(trainCmd).action(
    async (
      o: CommonOptions & {
        config?: string;
        epochs?: number;
        trainLimit?: number;
        testLimit?: number;
        kernel?: number;
        dataset?: string;
        dataDir?: string;
        batchSize?: number;
        batch?: number;
        lr?: number;
      },
      c: Command,
    ) => {
      const input: Record<string, unknown> = o.config ? readConfigFile(o.config) : {};
      const cli = (k: string) => c.getOptionValueSource(k) === 'cli';
      for (const k of ['epochs', 'trainLimit', 'testLimit', 'kernel', 'dataset', 'dataDir', 'lr'] as const) if (cli(k)) input[k] = o[k];
      if (cli('batchSize') || cli('batch')) input.batch = o.batchSize ?? o.batch;
      if (cli('seed') || input.seed === undefined) input.seed = o.seed ?? 1;
      // Falling back to synthetic data only when no data set was asked for.
      if (input.fallback === undefined) input.fallback = input.dataset === undefined;
      const cfg = parseTrainFiltersConfig(input);
      if (!DATASET_CHOICES.includes(cfg.dataset)) throw new ConfigError(`dataset '${cfg.dataset}' is not known: use one of ${DATASET_CHOICES.join(', ')}`);
      checkDataDir(cfg.dataDir, cli('dataDir') || !o.config ? '--data-dir' : `dataDir (in ${o.config})`);
      checkOut(o);
      const info = await startEngine(o);
      const { value: s, dir } = await inRunDir(o, 'winograd-filters', (stage) => runTrainFilters(cfg, stage, progressFor(o)));
      emit(o, { ...s, out: dir, checkpoint: join(dir, 'checkpoint'), backend: info.backend }, () =>
        [
          s.fallbackReason ? `note: ${s.fallbackReason}; trained on synthetic-gray instead` : '',
          `${s.model} on ${s.dataset} (${s.trainCount} train / ${s.testCount} test images), ${s.epochs} epoch(s), batch ${s.batch}, Adam ${s.lr}: train loss ${s.trainLoss.toFixed(3)}, test accuracy ${pct(s.testAccuracy)} in ${s.trainSeconds.toFixed(0)} s (${info.backend})`,
          `run folder ${dir}`,
          `next: accelab winograd error --kernels 9 --checkpoint ${dir}`,
        ]
          .filter(Boolean)
          .join('\n'),
      );
    },
  );
}
