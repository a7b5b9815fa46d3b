/** `accelab rram run|sweep`: a trained network on RRAM crossbars with early termination (negative detection, adaptive). */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { readConfigFile } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { type RramRunResult, type RramSweepResult, runRram, runRramSweep, writeRramRun, writeRramSweep } from '../../experiments/rram.js';
import {
  BIT_ORDERS,
  BOUNDS,
  CALIBRATION_METRICS,
  CALIBRATION_SEARCHES,
  COLUMN_TIMINGS,
  ESTIMATES,
  GRANULARITIES,
  PIPELINES,
  SIGNED_ENCODINGS,
  TERMINATIONS,
} from '../../hw/rram/index.js';
import { pct, times } from '../../report/format.js';
import { type CommonOptions, emit, floatArg, intArg, progressFor, withCommon } from '../common.js';
import { writeRunReport } from '../run-report.js';

interface CrossbarFlags extends CommonOptions {
  config?: string;
  checkpoint?: string;
  dataset?: string;
  testLimit?: number;
  heldOut?: number;
  calibrationMetric?: string;
  calibrationSearch?: string;
  thetaGrid?: string;
  skipZeroPlanes?: boolean;
  workers?: number;
  dataDir?: string;
  rows?: number;
  columns?: number;
  bitsPerCell?: number;
  encoding?: string;
  adcBits?: number;
  bound?: string;
  bitOrder?: string;
  granularity?: string;
  groupSize?: number;
  estimate?: string;
  columnTiming?: string;
  pipeline?: string;
  conductanceSpread?: number;
  stuckAtZero?: number;
  stuckAtOne?: number;
  adcNoise?: number;
  readNs?: number;
  adcsPerCrossbar?: number;
}

interface RunFlags extends CrossbarFlags {
  termination?: string;
  budget?: number;
}

interface SweepFlags extends CrossbarFlags {
  budgets?: string;
  spreads?: string;
}

function choice(v: string | undefined, allowed: readonly string[], flag: string): string | undefined {
  if (v !== undefined && !allowed.includes(v)) throw new ConfigError(`${flag} '${v}' is not known: use one of ${allowed.join(', ')}`);
  return v;
}

function numberList(v: string, flag: string): number[] {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x < 0)) throw new ConfigError(`${flag} '${v}' must be comma-separated non-negative numbers, e.g. 0,0.2,1`);
  return xs;
}

function addCrossbarOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON/YAML file with the options (crossbar settings under "crossbar"); flags override it')
    .option('--checkpoint <run>', 'run folder of `accelab train --out` (uses its checkpoint/)')
    .option('--dataset <name>', 'data set the network was trained on (default fashion-mnist)')
    .option('--test-limit <n>', 'test images (default 10000)', intArg('--test-limit', 1))
    .option('--held-out <n>', 'last training images used to calibrate adaptive thresholds (default 1000)', intArg('--held-out', 10, 60000))
    .option('--calibration-metric <m>', `adaptive calibration loss: ${CALIBRATION_METRICS.join(', ')} (default accuracy)`)
    .option('--calibration-search <s>', `adaptive threshold search: ${CALIBRATION_SEARCHES.join(', ')} (default greedy)`)
    .option('--theta-grid <list>', 'comma-separated θ grid of the calibration, ascending from 0 (default 0,0.0625,…,64)')
    .option('--no-skip-zero-planes', 'with termination: read all-zero input bit-planes too (default: skip them)')
    .option('--workers <n>', 'worker threads for the test images (default: all cores)', intArg('--workers', 1, 64))
    .option('--data-dir <dir>', 'folder holding the data set files')
    .option('--rows <n>', 'crossbar rows (default 128)', intArg('--rows', 2, 4096))
    .option('--columns <n>', 'crossbar columns (default 128)', intArg('--columns', 2, 4096))
    .option('--bits-per-cell <n>', 'bits per RRAM cell (default 2)', intArg('--bits-per-cell', 1, 8))
    .option('--encoding <e>', `signed weights: ${SIGNED_ENCODINGS.join(', ')} (default differential)`)
    .option('--adc-bits <n>', 'ADC resolution (default: exact for the crossbar)', intArg('--adc-bits', 1, 24))
    .option('--bound <b>', `run-time bound: ${BOUNDS.join(', ')} (default plane)`)
    .option('--bit-order <o>', `input bit order: ${BIT_ORDERS.join(', ')} (default msb-first)`)
    .option('--granularity <g>', `what stops together: ${GRANULARITIES.join(', ')} (default output)`)
    .option('--group-size <n>', 'outputs per column group (default 8)', intArg('--group-size', 1, 4096))
    .option('--estimate <e>', `value of an adaptively stopped output: ${ESTIMATES.join(', ')} (default mean-weight)`)
    .option('--column-timing <t>', `read-cycle time: ${COLUMN_TIMINGS.join(', ')} (default adc-skip)`)
    .option('--pipeline <p>', `layers: ${PIPELINES.join(', ')} (default sequential)`)
    .option('--conductance-spread <s>', 'relative σ of cell conductances (default 0)', floatArg('--conductance-spread', 0, 2))
    .option('--stuck-at-zero <p>', 'probability of a cell stuck at level 0 (default 0)', floatArg('--stuck-at-zero', 0, 1))
    .option('--stuck-at-one <p>', 'probability of a cell stuck at the top level (default 0)', floatArg('--stuck-at-one', 0, 1))
    .option('--adc-noise <lsb>', 'σ of ADC input noise in LSBs (default 0)', floatArg('--adc-noise', 0, 100))
    .option('--read-ns <ns>', 'crossbar read cycle in ns (default 100, ISAAC)', floatArg('--read-ns', 0.001, 1e6))
    .option('--adcs-per-crossbar <n>', 'ADCs per crossbar, time-shared by its columns (default 1)', intArg('--adcs-per-crossbar', 1, 4096));
}

function inputFrom(o: CrossbarFlags, c: Command): Record<string, unknown> {
  const base = o.config ? readConfigFile(o.config) : {};
  const input: Record<string, unknown> = { ...base };
  const xb: Record<string, unknown> = { ...((base.crossbar as Record<string, unknown>) ?? {}) };
  const top: [keyof CrossbarFlags, string][] = [
    ['checkpoint', 'checkpoint'],
    ['dataset', 'dataset'],
    ['testLimit', 'testLimit'],
    ['heldOut', 'heldOutCount'],
    ['workers', 'workers'],
    ['dataDir', 'dataDir'],
  ];
  for (const [f, k] of top) if (o[f] !== undefined) input[k] = o[f];
  if (o.calibrationMetric !== undefined) input.calibrationMetric = choice(o.calibrationMetric, CALIBRATION_METRICS, '--calibration-metric');
  if (o.calibrationSearch !== undefined) input.calibrationSearch = choice(o.calibrationSearch, CALIBRATION_SEARCHES, '--calibration-search');
  if (c.getOptionValueSource('skipZeroPlanes') === 'cli') xb.skipZeroPlanes = o.skipZeroPlanes;
  if (o.thetaGrid !== undefined) input.thetaGrid = numberList(o.thetaGrid, '--theta-grid');
  const nums: [keyof CrossbarFlags, string][] = [
    ['rows', 'rows'],
    ['columns', 'columns'],
    ['bitsPerCell', 'bitsPerCell'],
    ['adcBits', 'adcBits'],
    ['groupSize', 'groupSize'],
    ['conductanceSpread', 'conductanceSpread'],
    ['stuckAtZero', 'stuckAtZero'],
    ['stuckAtOne', 'stuckAtOne'],
    ['adcNoise', 'adcNoiseLsb'],
    ['readNs', 'readNs'],
    ['adcsPerCrossbar', 'adcsPerCrossbar'],
  ];
  for (const [f, k] of nums) if (o[f] !== undefined) xb[k] = o[f];
  const enums: [keyof CrossbarFlags, string, readonly string[], string][] = [
    ['encoding', 'signedEncoding', SIGNED_ENCODINGS, '--encoding'],
    ['bound', 'bound', BOUNDS, '--bound'],
    ['bitOrder', 'bitOrder', BIT_ORDERS, '--bit-order'],
    ['granularity', 'granularity', GRANULARITIES, '--granularity'],
    ['estimate', 'estimate', ESTIMATES, '--estimate'],
    ['columnTiming', 'columnTiming', COLUMN_TIMINGS, '--column-timing'],
    ['pipeline', 'pipeline', PIPELINES, '--pipeline'],
  ];
  for (const [f, k, allowed, flag] of enums) if (o[f] !== undefined) xb[k] = choice(o[f] as string, allowed, flag);
  input.crossbar = xb;
  if (c.getOptionValueSource('seed') === 'cli' || input.seed === undefined) input.seed = o.seed ?? 1;
  if (input.checkpoint === undefined) throw new ConfigError('--checkpoint is required: give the run folder of `accelab train --out` (e.g. --checkpoint runs/train-cnn-small-…)');
  return input;
}

/** The run's headline as console lines. */
export function runLines(r: RramRunResult): string[] {
  return [
    `${r.model} on ${r.dataset}, ${r.images} test images, ${r.macsPerImage.toLocaleString('en')} MACs/image, termination ${r.termination}`,
    `accuracy            ${pct(r.accuracy, 2)}  (no termination ${pct(r.baselineAccuracy, 2)}, loss ${r.accuracyLossPoints.toFixed(2)} pts)`,
    `computation removed ${pct(r.computeReduction)} of ADC conversions (zero input planes ${pct(r.skippedZeroPlaneFraction)} of conversions; negative detection ${pct(r.skippedNegativeFraction)}, adaptive ${pct(r.skippedAdaptiveFraction)} of output-planes); crossbar reads ${pct(r.readReduction)}`,
    `energy              ${times(r.energyRatio)} better (${(r.energyPerImagePj / 1e6).toFixed(2)} vs ${(r.baselineEnergyPerImagePj / 1e6).toFixed(2)} µJ/image)`,
    `throughput          ${times(r.throughputRatio)} (${r.imagesPerSecond.toFixed(0)} vs ${r.baselineImagesPerSecond.toFixed(0)} images/s)`,
    `predictions hash    ${r.predictionsHash} (no termination ${r.baselinePredictionsHash}; ${r.samePredictions ? 'identical predictions' : 'predictions differ'})`,
    ...(r.termination === 'adaptive'
      ? [
          `thresholds θ         ${Object.entries(r.thresholds)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        ]
      : []),
    'layer           reduction  neg.skip  adapt.skip  energy×  throughput×',
    ...r.perLayer.map(
      (l) =>
        `${l.layer.padEnd(15)} ${pct(l.computeReduction).padStart(9)}  ${pct(l.skippedNegativeFraction).padStart(8)}  ${pct(l.skippedAdaptiveFraction).padStart(10)}  ${times(l.energyRatio).padStart(7)}  ${times(l.throughputRatio).padStart(11)}`,
    ),
  ];
}

export function register(program: Command): void {
  const rram = program.command('rram').description('RRAM crossbar accelerator: bit-serial inputs, early negative detection and adaptive early termination');

  const run = addCrossbarOptions(rram.command('run').description('run a trained network on crossbars with a termination mode, against no termination on the same crossbars'))
    .option('--termination <mode>', `${TERMINATIONS.join(', ')} (default lossless)`)
    .option('--budget <points>', 'adaptive: accuracy budget in points on the held-out images (default 0.2)', floatArg('--budget', 0, 100));
  withCommon(run, { backend: false }).action(async (o: RunFlags, c: Command) => {
    const input = inputFrom(o, c);
    if (o.termination !== undefined) input.termination = choice(o.termination, TERMINATIONS, '--termination');
    if (o.budget !== undefined) input.budget = o.budget;
    const r = await runRram(input, progressFor(o));
    let report: string | null = null;
    if (o.out) {
      const dir = resolve(o.out);
      writeRramRun(dir, r);
      report = (await writeRunReport(dir, r, { subtitle: `${r.model} on RRAM crossbars` }))?.html ?? null;
    }
    emit(o, { ...r, out: o.out ? resolve(o.out) : null, report }, () => [...runLines(r), ...(o.out ? [`run folder ${resolve(o.out)}`, `report     ${report}`] : [])].join('\n'));
  });

  const sweep = addCrossbarOptions(rram.command('sweep').description('accuracy-budget sweep (trade-off curve) and device variation, against no termination on the same crossbars'))
    .option('--budgets <list>', 'comma-separated budgets in points (default 0,0.1,0.2,0.5,1,2)')
    .option('--spreads <list>', 'comma-separated conductance spreads for the variation rows (default 0.02,0.05,0.1)');
  withCommon(sweep, { backend: false }).action(async (o: SweepFlags, c: Command) => {
    const input = inputFrom(o, c);
    if (o.budgets !== undefined) input.budgets = numberList(o.budgets, '--budgets');
    if (o.spreads !== undefined) input.spreads = numberList(o.spreads, '--spreads');
    const r: RramSweepResult = await runRramSweep(input, progressFor(o));
    let report: string | null = null;
    if (o.out) {
      const dir = resolve(o.out);
      writeRramSweep(dir, r);
      report = (await writeRunReport(dir, r, { subtitle: `${r.model} on RRAM crossbars: budget sweep` }))?.html ?? null;
    }
    emit(o, { ...r, out: o.out ? resolve(o.out) : null, report }, () =>
      [
        `${r.model} on ${r.dataset}, ${r.images} test images`,
        'setting                                   accuracy  loss(pts)  reduction  energy×  throughput×  same predictions',
        ...r.rows.map(
          (x) =>
            `${x.setting.padEnd(41)} ${pct(x.accuracy, 2).padStart(8)}  ${x.accuracyLossPoints.toFixed(2).padStart(9)}  ${pct(x.computeReduction).padStart(9)}  ${times(x.energyRatio).padStart(7)}  ${times(x.throughputRatio).padStart(11)}  ${x.samePredictions ? 'yes' : 'no'}`,
        ),
        ...(o.out ? [`run folder ${resolve(o.out)}`, `report     ${report}`] : []),
      ].join('\n'),
    );
  });
}
