/**
 * `accelab winograd table|error|transforms|run|train-filters`: nested Winograd (paper B): multiplication counts vs
 * the paper's ratios, numerical error by algorithm and number format, exact Cook–Toom transforms.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { readJson } from '../../core/fsx.js';
import { COUNT_COLUMNS, FILTER_SOURCES, kernelRange, runCountStudy, runErrorStudy, runWinograd, type CountStudyResult, type ErrorStudyResult } from '../../experiments/winograd.js';
import { ERROR_METHODS, NUMBER_FORMATS } from '../../winograd/numerics.js';
import { Q, qToStrings } from '../../winograd/rational.js';
import { loadTrainedFilters, trainedExtraFilters, trainFiltersCheckpoint, type FilterBank } from '../../winograd/trained.js';
import { checkExact, cookToom, nestedAlgorithm } from '../../winograd/transforms.js';
import { writeRunReport } from '../run-report.js';
import { type CommonOptions, defaultOut, emit, floatArg, intArg, progressFor, startEngine, withCommon } from '../common.js';
import { pct, signedPercent } from '../../report/format.js';

interface WinoFlags extends CommonOptions {
  kernels?: string;
  m?: number;
  size?: number;
  channels?: number;
  formats?: string;
  methods?: string;
  filters?: string;
  policy?: string;
  r?: number;
  points?: string;
  nested?: number;
  checkpoint?: string;
}

/** The conv filters (K ≥ 5) of a checkpoint, for the error study; needs the engine to load weights. */
async function checkpointFilters(o: WinoFlags): Promise<{ banks: FilterBank[]; extra: ReturnType<typeof trainedExtraFilters> } | undefined> {
  if (!o.checkpoint) return undefined;
  if (!existsSync(o.checkpoint)) throw new ConfigError(`--checkpoint: ${o.checkpoint} does not exist: run \`accelab winograd train-filters --out ${o.checkpoint}\` first`);
  await startEngine(o);
  const banks = await loadTrainedFilters(o.checkpoint, { minKernel: 5 });
  return { banks, extra: trainedExtraFilters(banks) };
}


function listOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of items) if (!(allowed as readonly string[]).includes(s)) throw new ConfigError(`${flag}: '${s}' is not known: use ${allowed.join(', ')}`);
  return items as T[];
}

export function formatCountTable(r: CountStudyResult): string {
  const head = COUNT_COLUMNS.map((c) => c.short);
  const rows = r.rows.map((x) => COUNT_COLUMNS.map((c) => { const v = c.cell(x); return v === null ? '' : typeof v === 'number' && c.short !== 'K' && c.short !== 'paper' ? v.toFixed(2) : String(v); }));
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

export function register(program: Command): void {
  const wino = program.command('winograd').description('nested Winograd for large kernels: counts, numerical error, exact transforms');

  const table = wino.command('table').description('multiplication counts per kernel size and the OLA/nested, direct/nested ratios (paper B)');
  table.option('--kernels <list>', 'kernel sizes, e.g. 3..31 or 5,9,27 (default 3..31)');
  table.option('--m <n>', 'OLA tile outputs m = nested outer m1 (default 3)', intArg('--m', 1, 6));
  table.option('--size <n>', 'feature-map size for the per-layer counts (default 56)', intArg('--size', 1));
  table.option('--channels <n>', 'input = output channels for the per-layer counts (default 64)', intArg('--channels', 1));
  withCommon(table, { out: false, seed: false, backend: false }).action((o: WinoFlags) => {
    const kernels = kernelRange(o.kernels ?? '3..31');
    for (const k of kernels) if (k < 1 || k > 31) throw new ConfigError(`--kernels: ${k} is out of range: use sizes 1…31`);
    const r = runCountStudy(kernels, { m: o.m, size: o.size, channels: o.channels });
    emit(o, { convention: r.convention, m: r.m, layer: r.layer, paper: r.paper, rows: r.rows }, () => formatCountTable(r));
  });

  const err = wino.command('error').description('max and RMS error vs float64 direct: float32/float16/int16/int8, single tile vs OLA vs nested');
  err.option('--kernels <list>', 'kernel sizes (default 5,9)');
  err.option('--formats <list>', `${NUMBER_FORMATS.join(',')} (default float32,float16,int16,int8)`);
  err.option('--methods <list>', `${ERROR_METHODS.join(',')} (default all)`);
  err.option('--filters <list>', `${FILTER_SOURCES.join(',')} (default both)`);
  err.option('--size <n>', 'input height = width (default 18)', intArg('--size', 4, 128));
  err.option('--channels <n>', 'input = output channels (default 2)', intArg('--channels', 1, 64));
  err.option('--m <n>', 'outputs per tile (single tile F(m,K), OLA F(m,3), nested outer m1; default 3)', intArg('--m', 1, 6));
  err.option('--policy <p>', 'nesting policy pure3|mixed (default pure3)');
  err.option('--checkpoint <dir>', "also measure a trained model's K×K (K ≥ 5) conv filters, per channel pair, labelled trained/<layer> (see `winograd train-filters`)");
  withCommon(err, { out: false, backend: false }).action(async (o: WinoFlags) => {
    const trained = await checkpointFilters(o);
    const r = runErrorStudy(
      {
        kernels: o.kernels ? kernelRange(o.kernels) : undefined,
        formats: listOf('--formats', o.formats, NUMBER_FORMATS),
        methods: listOf('--methods', o.methods, ERROR_METHODS),
        filters: listOf('--filters', o.filters, FILTER_SOURCES),
        size: o.size,
        channels: o.channels,
        outChannels: o.channels,
        m: o.m,
        policy: o.policy,
        seed: o.seed,
      },
      { progress: progressFor(o), extraFilters: trained?.extra },
    );
    const banks = trained ? `trained filters from ${o.checkpoint}: ${trained.banks.map((b) => `${b.layer} ${b.kernel}×${b.kernel} ${b.cin}→${b.cout} (${b.cin * b.cout} pairs)`).join(', ')}\n` : '';
    emit(o, { ...r, checkpoint: o.checkpoint ?? null }, () => `${banks}${formatErrorTable(r)}`);
  });

  const tr = wino.command('transforms').description('exact Cook–Toom Aᵀ, G, Bᵀ for F(m, r) (or a nested algorithm), checked symbolically');
  tr.option('--m <n>', 'outputs per tile (default 2)', intArg('--m', 1, 16));
  tr.option('--r <n>', 'filter taps (default 3)', intArg('--r', 1, 16));
  tr.option('--points <list>', 'finite interpolation points, e.g. 0,1,-1,1/2 (default 0, ±1, ±2, ±1/2, …)');
  tr.option('--nested <K>', 'show the pure-3 nested algorithm for a K-tap filter instead', intArg('--nested', 2, 31));
  withCommon(tr, { out: false, seed: false, backend: false }).action((o: WinoFlags) => {
    const alg = o.nested ? nestedAlgorithm(o.nested, { m1: o.m ?? 3 }) : cookToom(o.m ?? 2, o.r ?? 3, o.points ? o.points.split(',').map((s) => Q.parse(s)) : undefined);
    const bad = checkExact(alg);
    const value = { name: alg.name, m: alg.m, r: alg.r, mu: alg.mu, exact: bad === null, AT: qToStrings(alg.AT), G: qToStrings(alg.G), BT: qToStrings(alg.BT) };
    const show = (name: string, m: string[][]) => `${name} =\n${m.map((row) => `  [${row.map((v) => v.padStart(6)).join(' ')}]`).join('\n')}`;
    emit(o, value, () =>
      [`${alg.name}: ${alg.m} outputs, ${alg.r} taps, ${alg.mu} multiplications; bilinear identity ${bad ? `FAILS at ${JSON.stringify(bad)}` : 'holds exactly'}`, show('Aᵀ', value.AT), show('G', value.G), show('Bᵀ', value.BT)].join('\n'),
    );
  });

  const run = wino.command('run').description('count table + error table into a run folder with report.html');
  run.option('--kernels <list>', 'kernel sizes for the count table (default 3..31)');
  run.option('--speed <file>', 'benchmark record to include (default bench/results/winograd.json when it exists)');
  run.option('--checkpoint <dir>', "include a trained model's K×K conv filters in the error table (see `winograd train-filters`)");
  withCommon(run, { backend: false }).action(async (o: WinoFlags & { speed?: string }) => {
    const trained = await checkpointFilters(o);
    const dir = resolve(o.out ?? defaultOut('winograd'));
    const speedFile = o.speed ?? 'bench/results/winograd.json';
    if (o.speed && !existsSync(speedFile)) throw new ConfigError(`--speed: ${speedFile} does not exist: run \`npm run bench -- winograd\` first`);
    const speed = existsSync(speedFile) ? readJson<{ result?: unknown }>(speedFile).result : undefined;
    const r = runWinograd({ kernels: kernelRange(o.kernels ?? '3..31'), error: { seed: o.seed }, outDir: dir, progress: progressFor(o), speed, extraFilters: trained?.extra });
    const rep = await writeRunReport(dir, r);
    emit(o, { ...r, outDir: dir, report: rep?.html ?? null }, () => `${formatCountTable(r.counts)}\n\n${r.errors ? formatErrorTable(r.errors) : ''}\nrun folder ${dir}${rep ? `\nreport ${rep.html}` : ''}`);
  });

  const trainCmd = wino.command('train-filters').description('train the small 9×9-kernel CNN briefly (Fashion-MNIST, else synthetic-gray) and save it: real filters for `winograd error --checkpoint`');
  trainCmd.option('--epochs <n>', 'training epochs (default 1)', intArg('--epochs', 1, 100));
  trainCmd.option('--train-limit <n>', 'first N training images (default 20000)', intArg('--train-limit', 1));
  trainCmd.option('--test-limit <n>', 'first N test images (default 2000)', intArg('--test-limit', 1));
  trainCmd.option('--kernel <K>', 'kernel size of both convolutions (default 9)', intArg('--kernel', 3, 31));
  trainCmd.option('--dataset <name>', 'data set (default fashion-mnist; synthetic-gray when it is not installed)');
  trainCmd.option('--batch <n>', 'batch size (default 64)', intArg('--batch', 1, 4096));
  trainCmd.option('--lr <x>', 'Adam learning rate (default 0.001)', floatArg('--lr', 0, 10));
  withCommon(trainCmd).action(async (o: CommonOptions & { epochs?: number; trainLimit?: number; testLimit?: number; kernel?: number; dataset?: string; batch?: number; lr?: number }) => {
    if (!o.out) throw new ConfigError('--out: required: give the checkpoint folder, e.g. --out runs/winograd-trained-filters');
    const dir = resolve(o.out);
    const info = await startEngine(o);
    const s = await trainFiltersCheckpoint(dir, { epochs: o.epochs, trainLimit: o.trainLimit, testLimit: o.testLimit, kernel: o.kernel, dataset: o.dataset, batch: o.batch, lr: o.lr, seed: o.seed }, progressFor(o));
    emit(o, { ...s, checkpoint: dir, backend: info.backend }, () =>
      [
        s.fallbackReason ? `note: ${s.fallbackReason}; trained on synthetic-gray instead` : '',
        `${s.model} on ${s.dataset} (${s.trainCount} train / ${s.testCount} test images), ${s.epochs} epoch(s), batch ${s.batch}, Adam ${s.lr}: train loss ${s.trainLoss.toFixed(3)}, test accuracy ${pct(s.testAccuracy)} in ${s.trainSeconds.toFixed(0)} s (${info.backend})`,
        `checkpoint ${dir}`,
        `next: accelab winograd error --kernels 9 --checkpoint ${o.out}`,
      ]
        .filter(Boolean)
        .join('\n'),
    );
  });
}
