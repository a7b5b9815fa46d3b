/** `accelab rram run|sweep`: a trained network on RRAM crossbars with early termination (negative detection, adaptive). */
import { type Command, Option } from 'commander';
import type { z } from 'zod';
import { readConfigFile } from '../../core/config-file.js';
import { validate } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import {
  type RramRunResult,
  RramRunConfigSchema,
  type RramSweepResult,
  RramSweepConfigSchema,
  runRram,
  runRramSweep,
  writeRramRun,
  writeRramSweep,
} from '../../experiments/rram.js';
import {
  ADAPTIVE_RULES,
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
import { pct, points, signed, times } from '../../report/format.js';
import { emit, progressFor, runFolderLines, saveRun } from '../common.js';
import {
  addOptions,
  type CommonOptions,
  checkDataDir,
  checkDatasetName,
  checkOut,
  checkpointInfo,
  checkpointOption,
  configOption,
  dataDirOption,
  datasetOption,
  floatArg,
  floatListArg,
  flagOrConfig,
  intArg,
  limitOptions,
  seedInto,
  withCommon,
  workersOption,
} from '../options.js';

interface CrossbarFlags extends CommonOptions {
  config?: string;
  checkpoint?: string;
  dataset?: string;
  testLimit?: number;
  heldOut?: number;
  heldOutFrom?: string;
  weightBits?: number;
  activationBits?: number;
  calibrationMetric?: string;
  calibrationSearch?: string;
  thetaGrid?: number[];
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
  adaptiveRule?: string;
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
  budgets?: number[];
  spreads?: number[];
}

function addCrossbarOptions(cmd: Command): Command {
  cmd.addOption(configOption('crossbar settings under "crossbar"'));
  return addOptions(
    cmd,
    checkpointOption('the trained network to run on crossbars'),
    datasetOption({ note: "default: the checkpoint's, else fashion-mnist" }),
    limitOptions({ test: '10000' }),
    new Option('--held-out <n>', 'images used to calibrate adaptive thresholds (default 1000)').argParser(intArg('--held-out', 10, 60000)),
    new Option('--held-out-from <split>', 'calibration images: the last training images, or the last test images (never the evaluated ones) (default train)').choices([
      'train',
      'test',
    ]),
    new Option('--calibration-metric <m>', 'adaptive calibration loss (default accuracy)').choices([...CALIBRATION_METRICS]),
    new Option('--calibration-search <s>', 'adaptive threshold search (default greedy)').choices([...CALIBRATION_SEARCHES]),
    new Option('--theta-grid <list>', 'comma-separated θ grid of the calibration, ascending from 0 (default 0,0.0625,…,64)').argParser(
      floatListArg('--theta-grid', 0, Number.MAX_VALUE, '0,0.5,1,2'),
    ),
    new Option('--no-skip-zero-planes', 'with termination: read all-zero input bit-planes too (default: skip them)'),
    workersOption('all cores'),
    dataDirOption(),
    new Option('--weight-bits <n>', 'weight width in bits (default 8)').argParser(intArg('--weight-bits', 2, 16)),
    new Option('--activation-bits <n>', 'input (activation) width in bits, applied bit-serially (default 8; ISAAC uses 16)').argParser(intArg('--activation-bits', 1, 16)),
    new Option('--rows <n>', 'crossbar rows (default 128)').argParser(intArg('--rows', 2, 4096)),
    new Option('--columns <n>', 'crossbar columns (default 128)').argParser(intArg('--columns', 2, 4096)),
    new Option('--bits-per-cell <n>', 'bits per RRAM cell (default 2)').argParser(intArg('--bits-per-cell', 1, 8)),
    new Option('--encoding <e>', 'signed weights (default differential)').choices([...SIGNED_ENCODINGS]),
    new Option('--adc-bits <n>', 'ADC resolution (default: exact for the crossbar)').argParser(intArg('--adc-bits', 1, 24)),
    new Option('--bound <b>', 'run-time bound (default plane)').choices([...BOUNDS]),
    new Option('--bit-order <o>', 'input bit order (default msb-first)').choices([...BIT_ORDERS]),
    new Option('--granularity <g>', 'what stops together (default output)').choices([...GRANULARITIES]),
    new Option('--group-size <n>', 'outputs per column group (default 8)').argParser(intArg('--group-size', 1, 4096)),
    new Option('--estimate <e>', 'value of an adaptively stopped output (default mean-weight)').choices([...ESTIMATES]),
    new Option(
      '--adaptive-rule <r>',
      "adaptive stop test: 'range' (remaining range small against the estimate), 'negative' (predicted negative) or 'both' (default range)",
    ).choices([...ADAPTIVE_RULES]),
    new Option('--column-timing <t>', 'read-cycle time (default adc-skip)').choices([...COLUMN_TIMINGS]),
    new Option('--pipeline <p>', 'layers (default sequential)').choices([...PIPELINES]),
    new Option('--conductance-spread <s>', 'relative σ of cell conductances (default 0)').argParser(floatArg('--conductance-spread', 0, 2)),
    new Option('--stuck-at-zero <p>', 'probability of a cell stuck at level 0 (default 0)').argParser(floatArg('--stuck-at-zero', 0, 1)),
    new Option('--stuck-at-one <p>', 'probability of a cell stuck at the top level (default 0)').argParser(floatArg('--stuck-at-one', 0, 1)),
    new Option('--adc-noise <lsb>', 'σ of ADC input noise in LSBs (default 0)').argParser(floatArg('--adc-noise', 0, 100)),
    new Option('--read-ns <ns>', 'crossbar read cycle in ns (default 100, ISAAC)').argParser(floatArg('--read-ns', 0.001, 1e6)),
    new Option('--adcs-per-crossbar <n>', 'ADCs per crossbar, time-shared by its columns (default 1)').argParser(intArg('--adcs-per-crossbar', 1, 4096)),
  );
}

/** Flag → config key, top level and under "crossbar" (flags override the config file). */
const TOP_KEYS: [keyof CrossbarFlags, string][] = [
  ['checkpoint', 'checkpoint'],
  ['dataset', 'dataset'],
  ['testLimit', 'testLimit'],
  ['heldOut', 'heldOutCount'],
  ['heldOutFrom', 'heldOutFrom'],
  ['calibrationMetric', 'calibrationMetric'],
  ['calibrationSearch', 'calibrationSearch'],
  ['thetaGrid', 'thetaGrid'],
  ['workers', 'workers'],
  ['dataDir', 'dataDir'],
];
const CROSSBAR_KEYS: [keyof CrossbarFlags, string][] = [
  ['weightBits', 'weightBits'],
  ['activationBits', 'activationBits'],
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
  ['encoding', 'signedEncoding'],
  ['bound', 'bound'],
  ['bitOrder', 'bitOrder'],
  ['granularity', 'granularity'],
  ['estimate', 'estimate'],
  ['adaptiveRule', 'adaptiveRule'],
  ['columnTiming', 'columnTiming'],
  ['pipeline', 'pipeline'],
];

function inputFrom(o: CrossbarFlags, c: Command): Record<string, unknown> {
  const base = o.config ? readConfigFile(o.config) : {};
  const input: Record<string, unknown> = { ...base };
  const xb: Record<string, unknown> = { ...((base.crossbar as Record<string, unknown>) ?? {}) };
  for (const [f, k] of TOP_KEYS) if (o[f] !== undefined) input[k] = o[f];
  for (const [f, k] of CROSSBAR_KEYS) if (o[f] !== undefined) xb[k] = o[f];
  if (c.getOptionValueSource('skipZeroPlanes') === 'cli') xb.skipZeroPlanes = o.skipZeroPlanes;
  input.crossbar = xb;
  seedInto(c, o, input);
  return input;
}

/**
 * Checks a run or sweep input before any work (schema, checkpoint, data set, data folder, --out); the
 * data set defaults to the one the checkpoint was trained on.
 */
function checkInput(input: Record<string, unknown>, schema: z.ZodTypeAny, o: CrossbarFlags, c: Command, what: string): void {
  if (input.checkpoint === undefined) throw new ConfigError('--checkpoint is required: give the run folder of `accelab train --out` (e.g. --checkpoint runs/train-cnn-small-…)');
  const label = o.config ? `${what} (${o.config})` : what;
  validate(schema, input, label);
  const info = checkpointInfo(String(input.checkpoint), flagOrConfig(c, o, 'checkpoint', '--checkpoint'));
  input.checkpoint = info.runDir ?? info.modelDir;
  if (input.dataset === undefined && info.dataset !== null) input.dataset = info.dataset;
  checkDatasetName(input.dataset, label);
  checkDataDir(input.dataDir as string | undefined, flagOrConfig(c, o, 'dataDir', '--data-dir'));
  checkOut(o);
}

/** The run's headline as console lines. */
export function runLines(r: RramRunResult): string[] {
  return [
    `${r.model} on ${r.dataset}, ${r.images} test images, ${r.macsPerImage.toLocaleString('en')} MACs/image, termination ${r.termination}`,
    `accuracy            ${pct(r.accuracy, 2)}  (no termination ${pct(r.baselineAccuracy, 2)}, ${points(-r.accuracyLossPoints / 100, 2)})`,
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
    .addOption(new Option('--termination <mode>', 'termination mode (default lossless)').choices([...TERMINATIONS]))
    .addOption(new Option('--budget <points>', 'adaptive: accuracy budget in points on the held-out images (default 0.2)').argParser(floatArg('--budget', 0, 100)));
  withCommon(run, { backend: false }).action(async (o: RunFlags, c: Command) => {
    const input = inputFrom(o, c);
    if (o.termination !== undefined) input.termination = o.termination;
    if (o.budget !== undefined) input.budget = o.budget;
    checkInput(input, RramRunConfigSchema, o, c, 'rram run config');
    const r = await runRram(input, progressFor(o));
    const saved = await saveRun(o, 'rram-run', r, (dir) => writeRramRun(dir, r), { subtitle: `${r.model} on RRAM crossbars` });
    emit(o, { ...r, out: saved.dir, report: saved.report }, () => [...runLines(r), ...runFolderLines(saved)].join('\n'));
  });

  const sweep = addCrossbarOptions(rram.command('sweep').description('accuracy-budget sweep (trade-off curve) and device variation, against no termination on the same crossbars'))
    .addOption(new Option('--budgets <list>', 'comma-separated budgets in points (default 0,0.1,0.2,0.5,1,2)').argParser(floatListArg('--budgets', 0, 100, '0,0.2,1')))
    .addOption(
      new Option('--spreads <list>', 'comma-separated conductance spreads for the variation rows (default 0.02,0.05,0.1)').argParser(floatListArg('--spreads', 0, 2, '0.02,0.1')),
    );
  withCommon(sweep, { backend: false }).action(async (o: SweepFlags, c: Command) => {
    const input = inputFrom(o, c);
    if (o.budgets !== undefined) input.budgets = o.budgets;
    if (o.spreads !== undefined) input.spreads = o.spreads;
    checkInput(input, RramSweepConfigSchema, o, c, 'rram sweep config');
    const r: RramSweepResult = await runRramSweep(input, progressFor(o));
    const saved = await saveRun(o, 'rram-sweep', r, (dir) => writeRramSweep(dir, r), { subtitle: `${r.model} on RRAM crossbars: budget sweep` });
    emit(o, { ...r, out: saved.dir, report: saved.report }, () =>
      [
        `${r.model} on ${r.dataset}, ${r.images} test images`,
        'setting                                   accuracy   Δacc(pp)  reduction  energy×  throughput×  same predictions',
        ...r.rows.map(
          (x) =>
            `${x.setting.padEnd(41)} ${pct(x.accuracy, 2).padStart(8)}  ${signed(-x.accuracyLossPoints, 2).padStart(9)}  ${pct(x.computeReduction).padStart(9)}  ${times(x.energyRatio).padStart(7)}  ${times(x.throughputRatio).padStart(11)}  ${x.samePredictions ? 'yes' : 'no'}`,
        ),
        ...runFolderLines(saved),
      ].join('\n'),
    );
  });
}
