/** `accelab compress prune`: pruning with fine-tuning of a trained checkpoint; writes a run folder with the pruned checkpoint. */
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { readConfigFile } from '../../core/config-file.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { SHIFT_SELECTS } from '../../compress/rates.js';
import { SUBWORD_LAYER_FORMATS } from '../../compress/finetune.js';
import { parseShape } from '../../experiments/compress.js';
import { PACKING_FORMATS, PRUNE_METHODS, type PruneResult, parsePruneConfig, runPrune, writePruneRun } from '../../experiments/prune.js';
import { pct, round, times } from '../../report/format.js';
import { emit, inRunDir, progressFor, stagedReport, startEngine } from '../common.js';
import {
  addOptions,
  batchSizeOptions,
  type CommonOptions,
  checkDataDir,
  checkOut,
  copyFlags,
  copyTrainingFlags,
  dataDirOption,
  floatArg,
  fromCli,
  intArg,
  limitOptions,
  lrOption,
  optimizerOption,
  resolveCheckpoint,
  withCommon,
} from '../options.js';

interface PruneFlags extends CommonOptions {
  config?: string;
  checkpoint?: string;
  method?: string;
  sparsity?: number;
  scope?: string;
  layers?: string;
  rampFraction?: number;
  pruneEvery?: number;
  nm?: { n: number; m: number };
  subwordFraction?: number;
  subwordRounding?: string;
  packing?: string;
  packingSubwords?: boolean;
  array?: string;
  groupSize?: number;
  slotsPerGroup?: number;
  maxPrunedL1?: number;
  losslessLayers?: string;
  subwordShift?: string;
  subwordLayers?: string;
  warmStart?: boolean;
  maxOverlap?: number;
  search?: string;
  epochs?: number;
  optimizer?: string;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  lrSchedule?: string;
  batchSize?: number;
  batch?: number;
  augment?: boolean;
  trainLimit?: number;
  testLimit?: number;
  dataDir?: string;
  evalEveryEpoch?: boolean;
}

function nmArg(v: string): { n: number; m: number } {
  const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new InvalidArgumentError('--nm must be N:M with 1 ≤ N ≤ M, e.g. 2:4.');
  return { n: Number(m[1]), m: Number(m[2]) };
}

export function formatPrune(r: PruneResult, dir: string): string {
  const c = r.config;
  const what =
    c.method === 'magnitude'
      ? `gradual magnitude pruning to ${pct(c.sparsity, 1)} (${c.scope}, cubic over ${pct(c.rampFraction, 0)} of the steps)`
      : c.method === 'nm'
        ? `${c.nm.n}:${c.nm.m} structured pruning`
        : c.method === 'packing'
          ? c.packing.maxPrunedL1 !== null
            ? `the mask of ${c.packing.format} packing${c.packing.subwords ? ' of 4-bit subwords' : ''} (array ${c.packing.array.rows}×${c.packing.array.cols}), per-layer settings pruning ≤ ${pct(c.packing.maxPrunedL1, 1)} of each layer's Σ|w|${c.packing.losslessLayers.length > 0 ? ` (none of ${c.packing.losslessLayers.join(', ')})` : ''}`
            : `the mask of ${c.packing.format} packing${c.packing.subwords ? ' of 4-bit subwords' : ''} (array ${c.packing.array.rows}×${c.packing.array.cols}, fan-in ${c.packing.groupSize}${c.packing.format === 'budgeted' ? `, ${c.packing.slotsPerGroup} slot(s) per group` : ''}${c.packing.format === 'columnCombining' ? `, γ ${c.packing.maxOverlap}` : ''})`
          : `subword pruning of ${pct(c.subword.fraction, 0)} of the nonzero 4-bit subwords (8-bit sign-magnitude codes, straight-through fine-tuning)`;
  const lines = [
    `${r.source.model} on ${r.dataset.name}: ${what}, ${c.epochs} epoch(s) ${c.optimizer} lr ${c.lr}, ${r.dataset.trainCount} training / ${r.dataset.testCount} test images, seed ${c.seed}`,
    ...r.epochs.map((e) => `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)} | test acc ${pct(e.testAccuracy, 2)} | ${e.trainSeconds.toFixed(1)} s`),
    `test accuracy   ${pct(r.before.accuracy, 2)} → ${pct(r.after.accuracy, 2)} (${r.accuracyChangePts >= 0 ? '+' : ''}${r.accuracyChangePts.toFixed(2)} points)`,
    `sparsity        ${pct(r.sparsity, 2)} over the pruned layers`,
    ...r.layers.map((l) => `  ${l.layer.padEnd(12)} ${String(l.weights).padStart(8)} weights  ${pct(l.sparsity, 1).padStart(6)} zero${l.pruned ? '' : '  (not pruned)'}`),
  ];
  if (r.subwords) {
    const b = r.subwords.reduce((s, l) => s + l.subwordsBefore, 0);
    const a = r.subwords.reduce((s, l) => s + l.subwordsAfterFineTune, 0);
    lines.push(`subwords        ${b} → ${a} nonzero (${round((100 * (b - a)) / Math.max(1, b), 1)}% removed); constraint violations after fine-tuning: ${r.subwordViolations}`);
  }
  if (r.packing) {
    lines.push(
      `packing         rate ${times(r.packing.rate)} with every bit (${times(r.packing.rateNoIndex)} value bits only); packing pruned ${r.packing.pruned} of ${r.packing.nonzeros} nonzero ${r.packing.subwords ? 'subwords' : 'weights'}`,
    );
    if (r.packing.warmStartLayers > 0) lines.push(`warm start      ${r.packing.warmStartLayers} layer(s) searched from the source run's packing orders`);
    const a = r.packing.array;
    lines.push(
      `on the array    ${a.array.rows}×${a.array.cols} weight stationary, per image: throughput ${times(a.throughput)}, energy efficiency ${times(a.energyEfficiency)} vs the dense layers (${a.packed.cycles.toLocaleString('en')} vs ${a.dense.cycles.toLocaleString('en')} cycles)`,
    );
    for (const l of r.packing.layers)
      if (l.setting !== undefined)
        lines.push(
          `  ${l.layer.padEnd(12)} ${(l.format === 'words' ? `${l.setting}, words` : l.setting).padEnd(30)} rate ${times(l.rate).padStart(7)}  pruned ${pct(l.prunedL1Share ?? 0, 1)} of Σ|w|`,
        );
  }
  if (r.foldedBatchNorm) lines.push('batch norm      folded into the convolutions before fine-tuning');
  lines.push(`run folder      ${dir}`);
  return lines.join('\n');
}

/** Adds `prune` to the `compress` command. */
export function registerPrune(compress: Command): void {
  const cmd = compress
    .command('prune')
    .description('prune a trained checkpoint (gradual magnitude, N:M or subword pruning) with fine-tuning; writes a run folder with the pruned checkpoint')
    .option('--config <file>', "JSON/YAML file with the options below, e.g. a run's config.json (flags override it)");
  addOptions(
    cmd,
    new Option('--checkpoint <run>', 'run folder of `accelab train` or `accelab compress prune` (its checkpoint/ is pruned)'),
    new Option(
      '--method <m>',
      'magnitude (gradual, cubic schedule), nm (N:M structured), subword (4-bit subwords of 8-bit codes) or packing (the mask of a packed format) (default magnitude)',
    ).choices([...PRUNE_METHODS]),
    new Option('--sparsity <s>', 'magnitude: target sparsity of the pruned layers (default 0.9)').argParser(floatArg('--sparsity', 0, 0.999)),
    new Option('--scope <s>', "magnitude: 'layer' (each layer at --sparsity) or 'global' (one threshold) (default layer)").choices(['layer', 'global']),
    new Option('--layers <list>', 'only these conv/dense layers (comma-separated names; default all)'),
    new Option('--ramp-fraction <f>', 'magnitude: the sparsity ramps over this fraction of the steps (default 0.5)').argParser(floatArg('--ramp-fraction', 0.001, 1)),
    new Option('--prune-every <n>', 'magnitude: steps between mask updates (default: 20 updates over the ramp)').argParser(intArg('--prune-every', 1)),
    new Option('--nm <N:M>', 'nm: keep N of every M consecutive reduction weights (default 2:4)').argParser(nmArg),
    new Option('--subword-fraction <f>', 'subword: fraction of the nonzero subwords removed (default 0.5)').argParser(floatArg('--subword-fraction', 0, 0.999)),
    new Option('--subword-rounding <r>', 'subword: how a weight loses its low subword (default nearest)').choices(['nearest', 'truncate']),
    new Option('--packing <format>', 'packing: the packed format whose mask is held (default budgeted)').choices([...PACKING_FORMATS]),
    new Option('--packing-subwords', 'packing: pack the 4-bit subwords of the 8-bit codes (budgeted or tight)'),
    new Option('--array <R>x<C>', 'packing: systolic array rows × columns; a tile holds C output channels (default 32x32)'),
    new Option('--group-size <n>', "packing: multiplexer fan-in, column combining's α (default 16)").argParser(intArg('--group-size', 1, 1024)),
    new Option('--slots-per-group <k>', 'packing: budgeted slots per row per group (default 1)').argParser(intArg('--slots-per-group', 1, 1024)),
    new Option('--max-overlap <f>', "packing: column combining's γ (default 0.05)").argParser(floatArg('--max-overlap', 0, 1)),
    new Option(
      '--max-pruned-l1 <f>',
      "packing: per-layer settings — each layer gets the highest-rate setting of the format's grid (fan-in 4–32; k 1–4 or γ 0–0.2) that prunes at most this share of its Σ|w| (default: one setting for all layers)",
    ).argParser(floatArg('--max-pruned-l1', 0, 1)),
    new Option('--subword-shift <s>', "packing subwords: a slot's shift select stored in its index, or implied by the select over subword columns (default stored)").choices([
      ...SHIFT_SELECTS,
    ]),
    new Option(
      '--subword-layers <f>',
      'packing subwords: each layer stored in whichever of its subword and word packings is denser (best), or every layer as subwords (all) (default best)',
    ).choices([...SUBWORD_LAYER_FORMATS]),
    new Option('--no-warm-start', "packing: search every layer from scratch, not from the source run's packing orders (packing-orders.json)"),
    new Option('--lossless-layers <list>', 'packing with --max-pruned-l1: these layers prune nothing (comma-separated names, e.g. the classifier)'),
    new Option('--search <method>', 'packing: permutation search (default anneal)').choices(['anneal', 'greedy', 'identity']),
    new Option('--epochs <n>', 'fine-tuning epochs (default 2)').argParser(intArg('--epochs', 1, 1000)),
    optimizerOption("the source run's"),
    lrOption("a tenth of the source run's"),
    new Option('--weight-decay <wd>', "L2 weight decay on kernels (default the source run's)").argParser(floatArg('--weight-decay', 0, 1)),
    new Option('--lr-schedule <s>', "learning-rate schedule (default the source run's)").choices(['constant', 'cosine']),
    batchSizeOptions("the source run's"),
    new Option('--augment', "random crop + horizontal flip (default the source run's)"),
    new Option('--no-augment', 'switch augmentation off'),
    limitOptions({ train: '', test: '' }),
    dataDirOption(),
    new Option('--no-eval-every-epoch', 'evaluate on the test set only after the last fine-tuning epoch (quicker)'),
  );
  withCommon(cmd).action(async (o: PruneFlags, c: Command) => {
    const input: Record<string, unknown> = o.config ? readConfigFile(o.config) : {};
    copyFlags(c, o, input, ['method', 'sparsity', 'scope', 'rampFraction', 'pruneEvery', 'nm']);
    copyTrainingFlags(c, o, input);
    if (o.checkpoint !== undefined) input.checkpoint = o.checkpoint;
    if (o.dataDir !== undefined) input.dataDir = resolve(o.dataDir);
    const names = (list: string): string[] =>
      list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    if (o.layers !== undefined) input.layers = names(o.layers);
    if (o.subwordFraction !== undefined || o.subwordRounding !== undefined) {
      const sw = { ...((input.subword as Record<string, unknown> | undefined) ?? {}) };
      if (o.subwordFraction !== undefined) sw.fraction = o.subwordFraction;
      if (o.subwordRounding !== undefined) sw.rounding = o.subwordRounding;
      input.subword = sw;
    }
    const pk: [keyof PruneFlags, string][] = [
      ['packing', 'format'],
      ['packingSubwords', 'subwords'],
      ['groupSize', 'groupSize'],
      ['slotsPerGroup', 'slotsPerGroup'],
      ['maxOverlap', 'maxOverlap'],
      ['maxPrunedL1', 'maxPrunedL1'],
      ['search', 'search'],
      ['subwordShift', 'subwordShift'],
      ['subwordLayers', 'subwordLayers'],
    ];
    const warmStart = fromCli<boolean>(c, o as unknown as Record<string, unknown>, 'warmStart');
    if (pk.some(([f]) => o[f] !== undefined) || o.array !== undefined || o.losslessLayers !== undefined || warmStart !== undefined) {
      const p = { ...((input.packing as Record<string, unknown> | undefined) ?? {}) };
      if (warmStart !== undefined) p.warmStart = warmStart;
      for (const [f, key] of pk) if (o[f] !== undefined) p[key] = o[f];
      if (o.array !== undefined) p.array = parseShape('--array', o.array);
      if (o.losslessLayers !== undefined) p.losslessLayers = names(o.losslessLayers);
      input.packing = p;
    }
    if (input.seed === undefined) input.seed = o.seed ?? 1;
    if (input.checkpoint === undefined) throw new NotFoundError('compress prune: give --checkpoint <run folder of `accelab train`>');
    input.checkpoint = resolve(String(input.checkpoint));
    // Everything is checked before the engine starts or a file is written.
    parsePruneConfig(input);
    const { runDir } = resolveCheckpoint(String(input.checkpoint));
    if (runDir === null)
      throw new ConfigError(`--checkpoint ${input.checkpoint}: a bare model folder has no training config: pass the run folder of \`accelab train\` or \`accelab compress prune\``);
    checkDataDir(typeof input.dataDir === 'string' ? input.dataDir : undefined, '--data-dir');
    checkOut(o);
    await startEngine(o);
    const run = await runPrune(input, progressFor(o));
    const r = run.result;
    const { value: report, dir } = await inRunDir(o, `prune-${r.config.method}-${r.source.model}`, async (stage, final) => {
      await writePruneRun(stage, run);
      return stagedReport(stage, final, r, {
        title: `Pruning: ${r.source.model} on ${r.dataset.name}`,
        subtitle: `test accuracy ${pct(r.before.accuracy, 2)} → ${pct(r.after.accuracy, 2)} at ${pct(r.sparsity, 1)} sparsity`,
      });
    }).finally(() => run.model.dispose());
    emit(
      o,
      {
        run: dir,
        report,
        method: r.config.method,
        accuracyBefore: r.before.accuracy,
        accuracyAfter: r.after.accuracy,
        accuracyChangePts: r.accuracyChangePts,
        testCount: r.dataset.testCount,
        trainCount: r.dataset.trainCount,
        sparsity: r.sparsity,
        foldedBatchNorm: r.foldedBatchNorm,
        layers: r.layers,
        packing: r.packing,
        subwords: r.subwords,
        subwordViolations: r.subwordViolations,
        epochs: r.epochs,
        config: r.config,
      },
      () => `${formatPrune(r, dir)}${report ? `\nreport          ${report}` : ''}`,
    );
  });
}
