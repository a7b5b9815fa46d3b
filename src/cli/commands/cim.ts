/** `accelab cim characterize|infer|cost`: the SRAM compute-in-memory macro (arXiv 2307.05944). */
import { type Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readConfigFile } from '../../core/config-file.js';
import { ConfigError } from '../../core/errors.js';
import { readJson, writeJsonAtomic } from '../../core/fsx.js';
import { runCharacterize, runCost, runInfer, writeCharacterizeRun, writeInferRun } from '../../experiments/cim.js';
import { ADC_ALGORITHMS, BOOSTED_CLIPPING_MODES, INPUT_ENCODINGS, MAC_FOLDING_MODES } from '../../hw/cim/config.js';
import { readModelMetadata } from '../../nn/checkpoint.js';
import { pct, points } from '../../report/format.js';
import { emit, inRunDir, progressFor, stagedReport, startEngine } from '../common.js';
import {
  addOptions,
  type CommonOptions,
  checkDataDir,
  checkOut,
  checkpointOption,
  DATASET_CHOICES,
  dataDirOption,
  floatArg,
  intArg,
  limitOptions,
  modelOption,
  resolveCheckpoint,
  withCommon,
} from '../options.js';

const CIM_MODELS = ['cnn-small', 'mlp-300-100', 'lenet5'] as const;

function powerOfTwo(flag: string, max = 256) {
  return (v: string): number => {
    const n = /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < 1 || n > max || (n & (n - 1)) !== 0) throw new InvalidArgumentError(`${flag} must be a power of two from 1 to ${max}.`);
    return n;
  };
}

/** Comma-separated non-negative numbers (noise scales). */
function noiseLevelsArg(v: string): number[] {
  const xs = v.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s)));
  if (!xs.length || xs.some((x) => !Number.isFinite(x) || x < 0 || x > 100))
    throw new InvalidArgumentError('--noise-levels must be comma-separated numbers from 0 to 100, e.g. 0.5,1,2.');
  return xs;
}

interface MacroFlags extends CommonOptions {
  config?: string;
  rows?: number;
  columns?: number;
  folding?: string;
  boostedClipping?: string;
  boost?: number | 'auto';
  adc?: string;
  inputEncoding?: string;
}

function boostArg(v: string): number | 'auto' {
  if (v === 'auto') return 'auto';
  try {
    return powerOfTwo('--boost')(v);
  } catch {
    throw new InvalidArgumentError("--boost must be 'auto' or a power of two from 1 to 256.");
  }
}

function addMacroOptions(cmd: Command, boostAuto = false): Command {
  return cmd
    .option('--config <file>', 'JSON/YAML file with the options (macro settings under "macro"); flags override it')
    .option('--rows <n>', 'weight rows accumulated per conversion (default 64)', intArg('--rows', 1, 1024))
    .option('--columns <n>', 'columns per macro (default 64)', intArg('--columns', 1, 1024))
    .option('--folding <mode>', `MAC-folding: ${MAC_FOLDING_MODES.join(', ')} (default sign-magnitude)`)
    .option('--boosted-clipping <mode>', `boosted-clipping: ${BOOSTED_CLIPPING_MODES.join(', ')} (default gain)`)
    .option(
      '--boost <n>',
      boostAuto
        ? "boost factor β: 'auto' (default: per layer, largest power of two with partial-sum clip rate ≤ --clip-rate-target on training images) or a power of two for every layer"
        : 'boost factor β, a power of two (default 4)',
      boostAuto ? boostArg : powerOfTwo('--boost'),
    )
    .option('--adc <alg>', `in-cell ADC: ${ADC_ALGORITHMS.join(', ')} (default binary-search)`)
    .option('--input-encoding <enc>', `word-line input encoding: ${INPUT_ENCODINGS.join(', ')} (default pwm)`);
}

function choice(v: string | undefined, allowed: readonly string[], flag: string): string | undefined {
  if (v !== undefined && !allowed.includes(v)) throw new ConfigError(`${flag} '${v}' is not known: use one of ${allowed.join(', ')}`);
  return v;
}

function macroFrom(o: MacroFlags, base: Record<string, unknown>): Record<string, unknown> {
  const m: Record<string, unknown> = { ...((base.macro as Record<string, unknown>) ?? {}) };
  if (o.rows !== undefined) m.rows = o.rows;
  if (o.columns !== undefined) m.columns = o.columns;
  if (o.folding !== undefined) m.macFolding = choice(o.folding, MAC_FOLDING_MODES, '--folding');
  if (o.boostedClipping !== undefined) m.boostedClipping = choice(o.boostedClipping, BOOSTED_CLIPPING_MODES, '--boosted-clipping');
  if (o.boost === 'auto') throw new ConfigError("--boost 'auto' is only for `cim infer`: give a power of two (1, 2, 4, …)");
  if (o.boost !== undefined) m.boost = o.boost;
  if (o.adc !== undefined) m.adc = choice(o.adc, ADC_ALGORITHMS, '--adc');
  if (o.inputEncoding !== undefined) m.inputEncoding = choice(o.inputEncoding, INPUT_ENCODINGS, '--input-encoding');
  return m;
}

interface CharFlags extends MacroFlags {
  ideal?: boolean;
  chips?: number;
  trials?: number;
  noise?: number;
  techniques?: boolean;
}

interface InferFlags extends MacroFlags {
  model?: string;
  checkpoint?: string;
  epochs?: number;
  testLimit?: number;
  testOffset?: number;
  sweepLimit?: number;
  noiseLevels?: number[];
  dataDir?: string;
  clipRateTarget?: number;
  maxBoost?: number;
  trainLimit?: number;
  qatEpochs?: number;
  qatLr?: number;
}

interface CostFlags extends MacroFlags {
  node?: number;
}

/**
 * Checks `cim infer`'s input before any work: the data folder, and a checkpoint's model and data set
 * (taken from the checkpoint; a different --model is refused), so config.json names what really ran.
 */
function checkInferInput(input: Record<string, unknown>, o: InferFlags, c: Command): void {
  const fromFile = o.config && c.getOptionValueSource('dataDir') !== 'cli';
  checkDataDir(input.dataDir as string | undefined, fromFile ? `dataDir (in ${o.config})` : '--data-dir');
  if (input.dataset !== undefined && !DATASET_CHOICES.includes(String(input.dataset)))
    throw new ConfigError(`cim infer config: dataset '${String(input.dataset)}' is not known: use one of ${DATASET_CHOICES.join(', ')}`);
  if (typeof input.checkpoint !== 'string') return;
  const flag = c.getOptionValueSource('checkpoint') === 'cli' ? '--checkpoint' : `checkpoint (in ${o.config})`;
  const { modelDir, runDir } = resolveCheckpoint(input.checkpoint, flag);
  input.checkpoint = modelDir;
  const meta = readModelMetadata(modelDir) as { config?: { model?: unknown; dataset?: unknown; dataDir?: unknown } };
  const runCfg = runDir && existsSync(join(runDir, 'config.json')) ? readJson<{ model?: unknown; dataset?: unknown }>(join(runDir, 'config.json')) : {};
  const model = String(meta.config?.model ?? runCfg.model ?? '');
  const dataset = meta.config?.dataset ?? runCfg.dataset;
  if (!model) throw new ConfigError(`${flag} ${o.checkpoint ?? input.checkpoint}: the checkpoint does not say which model it holds: pass a run folder of \`accelab train\``);
  if (!(CIM_MODELS as readonly string[]).includes(model))
    throw new ConfigError(`${flag}: the checkpoint holds ${model}; cim infer maps ${CIM_MODELS.join(', ')}: train one of those`);
  if (input.model !== undefined && input.model !== model) throw new ConfigError(`--model ${String(input.model)} does not match the checkpoint's model ${model}: leave --model out`);
  input.model = model;
  if (input.dataset === undefined && typeof dataset === 'string') input.dataset = dataset;
}

export function register(program: Command): void {
  const cim = program.command('cim').description('SRAM compute-in-memory macro: characterize, run a network on macros, estimate cost');

  const ch = addMacroOptions(
    cim.command('characterize').description('transfer curve, INL/DNL, RMS error, signal margin, error histogram, Monte-Carlo over chips, each technique on/off'),
  )
    .option('--ideal', 'turn every non-ideality off (the conversion is then exact up to the ADC step: exact MAC codes where the step is 1 LSB)')
    .option('--chips <n>', 'Monte-Carlo chips (default 8)', intArg('--chips', 1, 1000))
    .option('--trials <n>', 'realisations per MAC level (default 2)', intArg('--trials', 1, 100))
    .option('--noise <s>', 'scale of mismatch, offsets and comparator noise (default 1)', floatArg('--noise', 0, 100))
    .option('--no-techniques', 'only the configured setting, not the folding × boosted-clipping grid');
  withCommon(ch, { backend: false }).action(async (o: CharFlags, c: Command) => {
    const base = o.config ? readConfigFile(o.config) : {};
    const input: Record<string, unknown> = { ...base, macro: macroFrom(o, base) };
    if (o.ideal) input.ideal = true;
    if (o.chips !== undefined) input.chips = o.chips;
    if (o.trials !== undefined) input.trials = o.trials;
    if (o.noise !== undefined) input.noiseScale = o.noise;
    if (c.getOptionValueSource('techniques') === 'cli') input.techniques = o.techniques;
    if (c.getOptionValueSource('seed') === 'cli' || input.seed === undefined) input.seed = o.seed ?? 1;
    checkOut(o);
    let run!: ReturnType<typeof runCharacterize>;
    let report: string | null = null;
    if (o.out) {
      report = (
        await inRunDir(o, 'cim-characterize', async (dir, final) => {
          run = runCharacterize(input, progressFor(o));
          writeCharacterizeRun(dir, run);
          return stagedReport(dir, final, run, { subtitle: 'SRAM CIM macro characterization' });
        })
      ).value;
    } else run = runCharacterize(input, progressFor(o));
    const r = run.result;
    emit(
      o,
      {
        rmsErrorLsb: r.rmsErrorLsb,
        inlMaxLsb: r.inlMaxLsb,
        dnlMaxLsb: r.dnlMaxLsb,
        marginMvPerLsb: r.marginMvPerLsb,
        ideal: r.ideal,
        variants: r.variants.map((v) => ({
          name: v.name,
          step: v.design.step,
          rmsErrorLsb: v.rmsErrorLsb,
          rmsErrorMac: v.rmsErrorMac,
          inlMaxLsb: v.inlMaxLsb,
          dnlMaxLsb: v.dnlMaxLsb,
          marginMvPerLsb: v.marginMvPerLsb,
          typicalRmsErrorMac: v.typicalRmsErrorMac,
        })),
        out: o.out ? resolve(o.out) : null,
        report,
      },
      () =>
        [
          `SRAM CIM macro, ${r.rows} rows per conversion, ${r.chips} chips${r.ideal ? ', all non-idealities OFF' : `, noise ×${r.noiseScale}`}`,
          'setting                                              LSB  mV/LSB  RMS(LSB)  RMS(MAC)  |INL|  |DNL|  DNN-like RMS(MAC)',
          ...r.variants.map(
            (v) =>
              `${v.name.padEnd(52)} ${String(v.design.step).padStart(3)}  ${v.marginMvPerLsb.toFixed(2).padStart(6)}  ${v.rmsErrorLsb.toFixed(3).padStart(8)}  ${v.rmsErrorMac.toFixed(2).padStart(8)}  ${v.inlMaxLsb.toFixed(2).padStart(5)}  ${v.dnlMaxLsb.toFixed(2).padStart(5)}  ${v.typicalRmsErrorMac.toFixed(2).padStart(8)}`,
          ),
          ...(o.out ? [`run folder ${resolve(o.out)}`, `report     ${report}`] : []),
        ].join('\n'),
    );
  });

  const inf = addMacroOptions(
    cim.command('infer').description('quantize a model to 4 b, tile it onto macros, and evaluate float / ideal 4-bit / macro accuracy (each technique, noise sweep)'),
    true,
  )
    .option('--clip-rate-target <r>', 'with --boost auto: largest partial-sum clip rate allowed per layer (default 1e-4)', floatArg('--clip-rate-target', 0, 0.5))
    .option('--max-boost <n>', 'with --boost auto: largest β tried, a power of two (default 64)', powerOfTwo('--max-boost'))
    .option('--epochs <n>', 'training epochs when no checkpoint is given (default 3)', intArg('--epochs', 1, 100))
    .option('--test-offset <n>', 'first test image (split a long evaluation over several processes)', intArg('--test-offset', 0))
    .option('--sweep-limit <n>', 'test images for the technique grid and the noise sweep (default 500)', intArg('--sweep-limit', 10))
    .option('--noise-levels <list>', 'comma-separated noise scales (default 0.5,1,2,4)', noiseLevelsArg)
    .option('--qat-epochs <n>', 'quantization-aware fine-tuning epochs before quantizing (default 0 = off)', intArg('--qat-epochs', 0, 100))
    .option('--qat-lr <lr>', 'Adam learning rate of the quantization-aware fine-tuning (default 1e-4)', floatArg('--qat-lr', 1e-9, 1));
  addOptions(
    inf,
    modelOption({ choices: CIM_MODELS, default: 'cnn-small', note: "trained here unless --checkpoint; with --checkpoint, the checkpoint's" }),
    checkpointOption('a trained model to quantize (instead of training one here)'),
    limitOptions({ train: 'all; used for training without --checkpoint, QAT and calibration', test: '10000; for float / ideal / enhanced macro', minTrain: 100, minTest: 10 }),
    dataDirOption(),
  );
  withCommon(inf).action(async (o: InferFlags, c: Command) => {
    const base = o.config ? readConfigFile(o.config) : {};
    const boost = o.boost;
    const input: Record<string, unknown> = { ...base, macro: macroFrom({ ...o, boost: undefined }, base) };
    if (boost !== undefined) input.boost = boost;
    if (o.clipRateTarget !== undefined) input.clipRateTarget = o.clipRateTarget;
    if (o.maxBoost !== undefined) input.maxBoost = o.maxBoost;
    if (o.model !== undefined) input.model = o.model;
    if (o.checkpoint !== undefined) input.checkpoint = o.checkpoint;
    if (o.epochs !== undefined) input.epochs = o.epochs;
    if (o.testLimit !== undefined) input.testLimit = o.testLimit;
    if (o.sweepLimit !== undefined) input.sweepLimit = o.sweepLimit;
    if (o.testOffset !== undefined) input.testOffset = o.testOffset;
    if (o.dataDir !== undefined) input.dataDir = o.dataDir;
    if (o.trainLimit !== undefined) input.trainLimit = o.trainLimit;
    if (o.qatEpochs !== undefined) input.qatEpochs = o.qatEpochs;
    if (o.qatLr !== undefined) input.qatLr = o.qatLr;
    if (o.noiseLevels !== undefined) input.noiseLevels = o.noiseLevels;
    if (c.getOptionValueSource('seed') === 'cli' || input.seed === undefined) input.seed = o.seed ?? 1;
    checkInferInput(input, o, c);
    checkOut(o);
    await startEngine(o);
    const r = await runInfer(input, progressFor(o));
    let report: string | null = null;
    if (o.out) {
      report = (
        await inRunDir(o, 'cim-infer', async (dir, final) => {
          writeInferRun(dir, r);
          return stagedReport(dir, final, r, { subtitle: `${r.model} on CIM macros` });
        })
      ).value;
    }
    emit(o, { ...r, out: o.out ? resolve(o.out) : null, report }, () =>
      [
        `${r.model} on ${r.dataset}: ${r.macsPerImage.toLocaleString('en')} MACs/image on ${r.macrosUsed} macros`,
        `float                         ${pct(r.floatAccuracy, 2)}  (${r.config.testLimit} images)`,
        `ideal 4-bit                   ${pct(r.ideal4bitAccuracy, 2)}`,
        ...(r.qat.ran
          ? [
              `  QAT ${r.qat.epochs} epoch(s) on ${r.qat.trainImages} images (lr ${r.qat.lr}, ${r.qat.seconds.toFixed(0)} s): ideal 4-bit ${pct(r.qat.ideal4bitAccuracyBefore ?? 0, 2)} → ${pct(r.qat.ideal4bitAccuracyAfter ?? 0, 2)}, float ${pct(r.qat.floatAccuracyBefore ?? 0, 2)} → ${pct(r.qat.floatAccuracyAfter ?? 0, 2)}`,
            ]
          : []),
        `macro, ${r.enhanced.setting.padEnd(22).slice(0, 22)} ${pct(r.enhanced.accuracy, 2)}  (${points(r.enhanced.accuracy - r.ideal4bitAccuracy, 2)} vs ideal 4-bit)`,
        `noise sweep (${r.noiseSweep[0]?.images ?? 0} images, ideal 4-bit ${pct(r.ideal4bitSweepAccuracy, 2)}):`,
        ...r.noiseSweep.map((s) => `  ×${String(s.noiseScale).padEnd(4)} ${s.setting.padEnd(46)} ${pct(s.accuracy, 2)}`),
        `boost β per layer (${r.boostMode === 'auto' ? `auto, clip rate ≤ ${r.config.clipRateTarget} on ${r.config.boostCalibCount} training images` : 'fixed'}): ${r.layerBoost.map((b) => `${b.name} ${b.boost}`).join(', ')}`,
        ...(r.cost
          ? [
              `cost (ESTIMATE, ${r.cost.nodeNm} nm): ${(r.cost.energyPerImagePj / 1e3).toFixed(2)} nJ and ${(r.cost.latencyPerImageS * 1e6).toFixed(2)} µs per image, ${r.cost.topsPerW.toFixed(1)} TOPS/W`,
            ]
          : []),
        `simulated ${(r.simulatedMacsPerSecond / 1e6).toFixed(1)} M MACs/s`,
        ...(o.out ? [`run folder ${resolve(o.out)}`, `report     ${report}`] : []),
      ].join('\n'),
    );
  });

  const cost = addMacroOptions(
    cim.command('cost').description("energy per MAC and per conversion, latency, throughput and TOPS/W (an estimate) next to the paper's 137.5 TOPS/W"),
  ).option('--node <nm>', 'technology node in nm the energy table is scaled to (default 28)', floatArg('--node', 3, 180));
  withCommon(cost, { seed: false, backend: false }).action(async (o: CostFlags) => {
    const base = o.config ? readConfigFile(o.config) : {};
    for (const k of Object.keys(base))
      if (k !== 'macro' && k !== 'cost') throw new ConfigError(`cim cost config: field '${k}' is not known: use "macro" and "cost" (e.g. a cost run's config.json)`);
    const costIn: Record<string, unknown> = { ...((base.cost as Record<string, unknown>) ?? {}) };
    if (o.node !== undefined) costIn.nodeNm = o.node;
    checkOut(o);
    const run = runCost({ macro: macroFrom(o, base), cost: costIn });
    let report: string | null = null;
    if (o.out) {
      report = (
        await inRunDir(o, 'cim-cost', async (dir, final) => {
          writeJsonAtomic(resolve(dir, 'config.json'), run.config);
          writeJsonAtomic(resolve(dir, 'result.json'), run);
          return stagedReport(dir, final, run, { subtitle: 'SRAM CIM macro cost estimate' });
        })
      ).value;
    }
    const r = run.result;
    emit(o, { ...r, variants: run.variants, report }, () =>
      [
        `ESTIMATE at ${r.nodeNm} nm, ${r.vdd} V, ${r.rows}×${r.columns} macro`,
        `energy/conversion  ${r.energyPerConversionFj.toFixed(1)} fJ  (bit lines ${r.breakdownFj.bitLines.toFixed(1)}, word lines ${r.breakdownFj.wordLines.toFixed(1)}, refs ${r.breakdownFj.references.toFixed(1)}, comparator ${r.breakdownFj.comparator.toFixed(1)}, digital ${r.breakdownFj.digital.toFixed(1)})`,
        `energy/MAC         ${r.energyPerMacFj.toFixed(2)} fJ`,
        `latency            ${r.latencyNs.toFixed(1)} ns per conversion, ${r.gops.toFixed(0)} GOPS per macro`,
        `efficiency         ${r.topsPerW.toFixed(1)} TOPS/W (estimate)  vs paper ${r.paperTopsPerW} TOPS/W (measured)`,
        `                   ${r.topsPerWBinary.toFixed(0)} TOPS/W normalised to 1b×1b; ${r.topsPerMm2.toFixed(2)} TOPS/mm²`,
        ...run.variants.map((v) => `  folding ${v.macFolding.padEnd(15)} boosted-clipping ${v.boostedClipping.padEnd(9)} ${v.topsPerW.toFixed(1)} TOPS/W`),
      ].join('\n'),
    );
  });
}
