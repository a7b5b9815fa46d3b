/**
 * Nested Winograd study (paper B): multiplication-count table vs the paper's published ratios, and
 * the numerical-error table (float32 / float16 / int16 / int8; single large tile vs OLA vs nested),
 * on random filters and on smooth filters or any filters passed in (e.g. a trained model's).
 * Results are plain JSON (`kind: 'winograd'`), rendered by src/report/sections/winograd.ts.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { validate } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { writeFileAtomic, writeJsonAtomic, toCsv } from '../core/fsx.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { COUNT_CONVENTION, type CountRow, PAPER_RATIOS, countTable } from '../winograd/counts.js';
import { ERROR_METHODS, type ErrorMethod, type ErrorRow, NUMBER_FORMATS, type NumberFormat, measureErrors } from '../winograd/numerics.js';
import type { Filter4, Tensor4 } from '../winograd/tensor.js';
import { loadTrainedFilters, type TrainFiltersSummary, trainedExtraFilters, trainFiltersCheckpoint } from '../winograd/trained.js';

export const FILTER_SOURCES = ['random', 'smooth'] as const;

export const errorConfigSchema = z
  .object({
    kernels: z.array(z.number().int().min(2).max(31)).min(1).default([5, 9]),
    formats: z.array(z.enum(NUMBER_FORMATS)).min(1).default(['float32', 'float16', 'int16', 'int8']),
    methods: z.array(z.enum(ERROR_METHODS)).min(1).default(['direct', 'winograd', 'ola', 'nested']),
    filters: z.array(z.enum(FILTER_SOURCES)).min(1).default(['random', 'smooth']),
    /** input height = width */
    size: z.number().int().min(4).max(128).default(18),
    channels: z.number().int().min(1).max(64).default(2),
    outChannels: z.number().int().min(1).max(64).default(2),
    /** outputs per tile of the single large tile F(m, K) and of OLA's F(m, 3); also the nested outer m1 */
    m: z.number().int().min(1).max(6).default(3),
    policy: z.enum(['pure3', 'mixed']).default('pure3'),
    seed: z.number().int().min(0).default(1),
  })
  .strict();
export type ErrorConfig = z.output<typeof errorConfigSchema>;

export function parseErrorConfig(v: unknown): ErrorConfig {
  return validate(errorConfigSchema, v, 'winograd error config');
}

/** Random filter N(0, 1/fan-in) (He-like scale). */
export function randomFilter(rng: Rng, k: number, cin: number, cout: number): Filter4<Float64Array> {
  const data = new Float64Array(k * k * cin * cout);
  const std = 1 / Math.sqrt(k * k * cin);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal(0, std);
  return { data, shape: [k, k, cin, cout] };
}

/**
 * Smooth filters from a seeded generator (stand-in for trained filters, which are spatially smooth
 * and centre-weighted): a few random low-frequency cosines under a Gaussian envelope, per channel pair.
 */
export function smoothFilter(rng: Rng, k: number, cin: number, cout: number): Filter4<Float64Array> {
  const data = new Float64Array(k * k * cin * cout);
  const c0 = (k - 1) / 2;
  const sigma = Math.max(1, k / 3);
  for (let ci = 0; ci < cin; ci++)
    for (let o = 0; o < cout; o++) {
      const waves = Array.from({ length: 3 }, () => ({ a: rng.normal(), f: rng.uniform(0, 1.5), g: rng.uniform(0, 1.5), ph: rng.uniform(0, 2 * Math.PI) }));
      const vals: number[] = [];
      for (let p = 0; p < k; p++)
        for (let q = 0; q < k; q++) {
          let s = 0;
          for (const w of waves) s += w.a * Math.cos((2 * Math.PI * (w.f * p + w.g * q)) / k + w.ph);
          vals.push(s * Math.exp(-((p - c0) ** 2 + (q - c0) ** 2) / (2 * sigma * sigma)));
        }
      const norm = Math.sqrt(vals.reduce((a, b) => a + b * b, 0)) || 1;
      vals.forEach((v, i) => {
        data[(i * cin + ci) * cout + o] = v / norm / Math.sqrt(cin);
      });
    }
  return { data, shape: [k, k, cin, cout] };
}

function randomInput(rng: Rng, size: number, c: number): Tensor4<Float64Array> {
  const data = new Float64Array(size * size * c);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, shape: [1, size, size, c] };
}

export interface ErrorStudyResult {
  config: ErrorConfig;
  rows: ErrorRow[];
  notes: string[];
}

/**
 * The error table. `extraFilters` (e.g. a trained model's K×K filters, HWIO float64) are measured
 * too, labelled by their key; their kernel size is taken from the filter.
 */
export function runErrorStudy(input: unknown, opts: { progress?: Progress; extraFilters?: Record<string, Filter4<Float64Array>> } = {}): ErrorStudyResult {
  const cfg = parseErrorConfig(input);
  const progress = opts.progress ?? silentProgress;
  const rng = new Rng(cfg.seed);
  const rows: ErrorRow[] = [];
  const jobs: { label: string; w: Filter4<Float64Array> }[] = [];
  for (const k of cfg.kernels)
    for (const src of cfg.filters)
      jobs.push({
        label: src,
        w: src === 'random' ? randomFilter(rng.fork(k), k, cfg.channels, cfg.outChannels) : smoothFilter(rng.fork(100 + k), k, cfg.channels, cfg.outChannels),
      });
  for (const [label, w] of Object.entries(opts.extraFilters ?? {})) jobs.push({ label, w });
  progress.start('winograd error', jobs.length);
  for (const job of jobs) {
    const x = randomInput(rng.fork(7 + job.w.shape[0]), cfg.size, job.w.shape[2]);
    rows.push(...measureErrors(x, job.w, cfg.methods as ErrorMethod[], cfg.formats as NumberFormat[], job.label, { m: cfg.m, nested: { policy: cfg.policy, m1: cfg.m } }));
    progress.tick(1, `${job.label} ${job.w.shape[0]}×${job.w.shape[0]}`);
  }
  progress.stop();
  const notes = [
    'Reference: float64 direct convolution of the unrounded input and filter; errors are max|y − ref| / max|ref| and RMS(y − ref)/RMS(ref).',
    "'smooth' filters come from a seeded generator (low-frequency cosines under a Gaussian envelope); 'trained/<layer>' filters are a trained model's convolution kernels (`accelab winograd error --checkpoint <dir>`), each (input, output) channel pair a single-channel filter on a random N(0, 1) input, with one fixed-point scale per layer.",
    'Fixed point: per-tensor scales for input and filter, one scale per Winograd point for the transformed input and filter, exact integer accumulation.',
  ];
  return { config: cfg, rows, notes };
}

export interface CountStudyResult {
  convention: string;
  m: number;
  layer: { h: number; w: number; cin: number; cout: number };
  rows: CountRow[];
  paper: { kernel: number; ratio: number; ours: number; diffPercent: number }[];
}

/**
 * The count table's columns, shared by the CLI's text table and the report's table: a full title,
 * a short title for the terminal, and the cell of a row (numbers rounded to 2 decimals).
 */
export const COUNT_COLUMNS: readonly { title: string; short: string; cell: (x: CountRow) => string | number | null }[] = [
  { title: 'K', short: 'K', cell: (x) => x.kernel },
  { title: 'direct', short: 'direct', cell: (x) => round2(x.direct.mulPerOutput) },
  { title: 'OLA', short: 'OLA', cell: (x) => round2(x.ola.mulPerOutput) },
  { title: 'nested', short: 'nested', cell: (x) => round2(x.nested.mulPerOutput) },
  { title: 'nested algorithm', short: 'nested alg', cell: (x) => x.nested.detail },
  { title: 'OLA/nested', short: 'OLA/nest', cell: (x) => round2(x.olaOverNested) },
  { title: 'direct/nested', short: 'dir/nest', cell: (x) => round2(x.directOverNested) },
  { title: 'mixed radix', short: 'mixed', cell: (x) => round2(x.nestedMixed.mulPerOutput) },
  { title: 'OLA/mixed', short: 'OLA/mixed', cell: (x) => round2(x.olaOverNestedMixed) },
  { title: 'OLA/nested (56×56 layer)', short: 'OLA/nest layer', cell: (x) => round2(x.olaOverNestedLayer) },
  { title: 'nested transform mults', short: 'tr.mul', cell: (x) => round2(x.nested.transformMulPerOutput) },
  { title: 'nested transform adds', short: 'tr.add', cell: (x) => round2(x.nested.transformAddPerOutput) },
  { title: 'paper', short: 'paper', cell: (x) => x.paper },
];

const round2 = (v: number) => Number(v.toFixed(2));

export function runCountStudy(kernels: readonly number[], opts: { m?: number; size?: number; channels?: number } = {}): CountStudyResult {
  const layer = { h: opts.size ?? 56, w: opts.size ?? 56, cin: opts.channels ?? 64, cout: opts.channels ?? 64 };
  const t = countTable(kernels, { m: opts.m, layer });
  const full = countTable(Object.keys(PAPER_RATIOS).map(Number), { m: opts.m, layer });
  const paper = full.rows.map((r) => ({
    kernel: r.kernel,
    ratio: r.paper as number,
    ours: r.olaOverNested,
    diffPercent: (100 * (r.olaOverNested - (r.paper as number))) / (r.paper as number),
  }));
  return { convention: t.convention, m: t.m, layer: t.layer, rows: t.rows, paper };
}

export interface WinogradResult {
  kind: 'winograd';
  counts: CountStudyResult;
  errors: ErrorStudyResult | null;
  /** optional: the benchmark record (bench/results/winograd.json `result`) */
  speed?: unknown;
  seconds: number;
}

export interface WinogradRunOptions {
  kernels?: number[];
  /** Tile size and layer shape of the count table (defaults m 3, 56×56, 64 channels). */
  counts?: { m?: number; size?: number; channels?: number };
  error?: unknown;
  outDir?: string;
  progress?: Progress;
  extraFilters?: Record<string, Filter4<Float64Array>>;
  speed?: unknown;
}

export function kernelRange(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new ConfigError(`kernels: '${part}' is not a kernel size or range: use e.g. 3..31 or 5,7,9`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    if (b < a) throw new ConfigError(`kernels: '${part.trim()}' is an empty range: write the smaller size first, e.g. ${b}..${a}`);
    if (b > 64) throw new ConfigError(`kernels: '${part.trim()}' goes past 64: use kernel sizes up to 31`);
    for (let k = a; k <= b; k++) out.push(k);
  }
  return out;
}

/** Count table + error table; writes result.json and CSVs into outDir when given. */
export function runWinograd(o: WinogradRunOptions = {}): WinogradResult {
  const t0 = performance.now();
  const counts = runCountStudy(o.kernels ?? kernelRange('3..31'), o.counts);
  const errors = o.error === null ? null : runErrorStudy(o.error ?? {}, { progress: o.progress, extraFilters: o.extraFilters });
  const result: WinogradResult = { kind: 'winograd', counts, errors, seconds: (performance.now() - t0) / 1000 };
  if (o.speed !== undefined) result.speed = o.speed;
  if (o.outDir) writeWinogradRun(o.outDir, result);
  return result;
}

export function writeWinogradRun(outDir: string, r: WinogradResult): void {
  writeJsonAtomic(join(outDir, 'result.json'), r);
  writeFileAtomic(
    join(outDir, 'counts.csv'),
    toCsv(
      [
        'kernel',
        'directMulPerOutput',
        'olaMulPerOutput',
        'nestedMulPerOutput',
        'nestedMixedMulPerOutput',
        'olaOverNested',
        'directOverNested',
        'olaOverNestedMixed',
        'olaOverNestedLayer',
        'paper',
      ],
      r.counts.rows.map((x) => [
        x.kernel,
        x.direct.mulPerOutput,
        x.ola.mulPerOutput,
        x.nested.mulPerOutput,
        x.nestedMixed.mulPerOutput,
        x.olaOverNested,
        x.directOverNested,
        x.olaOverNestedMixed,
        x.olaOverNestedLayer,
        x.paper,
      ]),
    ),
  );
  if (r.errors)
    writeFileAtomic(
      join(outDir, 'errors.csv'),
      toCsv(
        ['kernel', 'filters', 'method', 'algorithm', 'format', 'maxRel', 'rmsRel'],
        r.errors.rows.map((x) => [x.kernel, x.filters, x.method, x.algorithm, x.format, x.maxRel, x.rmsRel]),
      ),
    );
}

/**
 * Everything `winograd run|table|error` needs to rerun a study: what config.json holds. `error: null`
 * skips the error table; `checkpoint` (a folder holding model.json) adds a trained model's filters;
 * `speed` is the benchmark record to include.
 */
export const winogradRunConfigSchema = z
  .object({
    kernels: z.array(z.number().int().min(1).max(31)).min(1).default(kernelRange('3..31')),
    m: z.number().int().min(1).max(6).default(3),
    size: z.number().int().min(1).max(4096).default(56),
    channels: z.number().int().min(1).max(4096).default(64),
    error: errorConfigSchema.nullable().default({}),
    checkpoint: z.string().min(1).nullable().default(null),
    speed: z.string().min(1).nullable().default(null),
  })
  .strict();
export type WinogradRunConfig = z.output<typeof winogradRunConfigSchema>;

export function parseWinogradRunConfig(v: unknown): WinogradRunConfig {
  return validate(winogradRunConfigSchema, v, 'winograd run config');
}

/** The part of a `npm run bench -- winograd` record the report uses; anything else is refused. */
const speedRecordSchema = z.object({
  name: z.literal('winograd'),
  result: z
    .object({
      size: z.number(),
      channels: z.number(),
      reps: z.number(),
      rows: z.array(
        z
          .object({
            batch: z.number(),
            kernel: z.number(),
            nestedAlgorithm: z.string(),
            direct: z.object({ cpuMs: z.number() }).passthrough().nullable(),
            conv2d: z.object({ cpuMs: z.number() }).passthrough(),
            ola: z.object({ cpuMs: z.number() }).passthrough(),
            nested: z.object({ cpuMs: z.number() }).passthrough(),
            conv2dOverNested: z.number(),
            olaOverNested: z.number(),
          })
          .passthrough(),
      ),
    })
    .passthrough(),
});

/** Checks a benchmark record (bench/results/winograd.json) and returns its `result`. */
export function parseSpeedRecord(v: unknown, file: string): unknown {
  const r = speedRecordSchema.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(
      `--speed ${file} is not a winograd benchmark record (field '${i.path.join('.') || '(root)'}': ${i.message}): pass a file written by \`npm run bench -- winograd --record\``,
    );
  }
  return r.data.result;
}

/** Runs a validated study config; writes config.json, result.json and CSVs into `outDir` when given. */
export function runWinogradConfig(
  cfg: WinogradRunConfig,
  o: { outDir?: string; progress?: Progress; extraFilters?: Record<string, Filter4<Float64Array>>; speed?: unknown } = {},
): WinogradResult {
  const r = runWinograd({
    kernels: cfg.kernels,
    counts: { m: cfg.m, size: cfg.size, channels: cfg.channels },
    error: cfg.error,
    progress: o.progress,
    extraFilters: o.extraFilters,
    speed: o.speed,
  });
  if (o.outDir) {
    writeJsonAtomic(join(o.outDir, 'config.json'), cfg);
    writeWinogradRun(o.outDir, r);
  }
  return r;
}

/** `winograd train-filters`: what config.json holds. */
export const trainFiltersConfigSchema = z
  .object({
    dataset: z.string().min(1).default('fashion-mnist'),
    /** Train on synthetic-gray when the data set is not installed (only for the default data set). */
    fallback: z.boolean().default(true),
    dataDir: z.string().min(1).optional(),
    epochs: z.number().int().min(1).max(100).default(1),
    trainLimit: z.number().int().min(1).default(20000),
    testLimit: z.number().int().min(1).default(2000),
    kernel: z.number().int().min(3).max(31).default(9),
    batch: z.number().int().min(1).max(4096).default(64),
    lr: z.number().positive().max(10).default(1e-3),
    seed: z.number().int().min(0).default(1),
  })
  .strict();
export type TrainFiltersConfig = z.output<typeof trainFiltersConfigSchema>;

export function parseTrainFiltersConfig(v: unknown): TrainFiltersConfig {
  return validate(trainFiltersConfigSchema, v, 'winograd train-filters config');
}

/**
 * Trains the large-kernel CNN and writes a run folder: config.json, result.json (the summary,
 * `kind: 'winograd-trained-filters'`) and checkpoint/ (tfjs model.json + weights).
 */
export async function runTrainFilters(cfg: TrainFiltersConfig, outDir: string, progress?: Progress): Promise<TrainFiltersSummary> {
  const summary = await trainFiltersCheckpoint(join(outDir, 'checkpoint'), cfg, progress);
  writeJsonAtomic(join(outDir, 'config.json'), cfg);
  writeJsonAtomic(join(outDir, 'result.json'), summary);
  return summary;
}

/** The tour's quick version (a few seconds): full count table, small error table. */
export async function quickRun(o: { seed?: number; outDir?: string; progress?: Progress; checkpoint?: string } = {}): Promise<WinogradResult> {
  // trained filters only when a checkpoint is given (the tour never trains)
  const extraFilters = o.checkpoint ? trainedExtraFilters(await loadTrainedFilters(o.checkpoint, { minKernel: 5 })) : undefined;
  return runWinograd({
    extraFilters,
    kernels: kernelRange('3..31'),
    error: { kernels: [5, 9], formats: ['float32', 'float16', 'int8'], size: 14, channels: 2, outChannels: 2, seed: o.seed ?? 1 },
    outDir: o.outDir,
    progress: o.progress,
  });
}

export { COUNT_CONVENTION };
