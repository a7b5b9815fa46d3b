/**
 * `accelab fl run|compare|consistency|worker`: federated learning (FedAvg, PKD) with per-class
 * analysis; worker for the BullMQ executor.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { readConfigFile } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { type CompareVariant, type FlRunResult, runComparison, runConsistency, runFlExperiment } from '../../experiments/fl.js';
import { EXECUTORS, EXPERT_GATES, type FlConfigInput, METHODS, PARTITIONS, TRIGGERS } from '../../fl/config.js';
import { startBullmqWorker } from '../../fl/executors/bullmq.js';
import type { ExecutorChoice } from '../../fl/executors/index.js';
import { writeRunReport } from '../run-report.js';
import { type CommonOptions, defaultOut, emit, floatArg, intArg, progressFor, startEngine, withCommon } from '../common.js';
import { pct } from '../../report/format.js';

interface FlFlags extends CommonOptions {
  config?: string;
  dataset?: string;
  model?: string;
  clients?: number;
  rounds?: number;
  partition?: string;
  alpha?: number;
  method?: string;
  fraction?: number;
  epochs?: number;
  batchSize?: number;
  optimizer?: string;
  lr?: number;
  momentum?: number;
  trainLimit?: number;
  testLimit?: number;
  warmupRounds?: number;
  expertRounds?: number;
  expertEpochs?: number;
  expertInit?: string;
  expertModel?: string;
  expertGate?: string;
  lambda?: number;
  temperature?: number;
  trigger?: string;
  executor?: string;
  workers?: number;
  redis?: string;
  queue?: string;
  resume?: boolean;
  seeds?: string;
  models?: string;
  partitions?: string;
  variants?: string;
}

function addRunFlags(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'YAML/JSON file with the options (flags override it); see configs/fl/')
    .option('--dataset <name>', 'fashion-mnist, cifar10-subset, cifar10, mnist, synthetic-gray, fl-blobs (default fashion-mnist)')
    .option('--model <name>', 'mlp-300-100, lenet5, cnn-small, vgg-small, resnet20, fl-mlp (default cnn-small)')
    .option('--clients <n>', 'number of clients (default 10)', intArg('--clients', 1, 10000))
    .option('--rounds <n>', 'total global rounds; for PKD warm-up + PKD rounds (default 20)', intArg('--rounds', 1))
    .option('--partition <kind>', `${PARTITIONS.join('|')} (default balanced)`)
    .option('--alpha <a>', 'Dirichlet concentration (default 0.5)', floatArg('--alpha', 1e-6))
    .option('--method <m>', `${METHODS.join('|')} (default fedavg)`)
    .option('--fraction <f>', 'fraction of clients per round (default 1)', floatArg('--fraction', 1e-6, 1))
    .option('--epochs <n>', 'local epochs per round (default 1)', intArg('--epochs', 1))
    .option('--batch-size <n>', 'local batch size (default 32)', intArg('--batch-size', 1))
    .option('--optimizer <name>', 'sgd (with --momentum) or adam (default sgd)')
    .option('--lr <rate>', 'learning rate (default 0.01)', floatArg('--lr', 1e-9, 10))
    .option('--momentum <m>', 'SGD momentum, 0 = plain SGD (default 0.9)', floatArg('--momentum', 0, 1))
    .option('--train-limit <n>', 'use only the first N training images', intArg('--train-limit', 1))
    .option('--test-limit <n>', 'use only the first N test images', intArg('--test-limit', 1))
    .option('--warmup-rounds <n>', 'PKD: warm-up FedAvg rounds (default 10)', intArg('--warmup-rounds', 1))
    .option('--expert-rounds <n>', 'PKD: federated rounds per expert (default 5)', intArg('--expert-rounds', 0))
    .option('--expert-epochs <n>', 'PKD: local epochs per expert round (default 3)', intArg('--expert-epochs', 1))
    .option('--expert-init <how>', 'PKD: warmup or scratch (default warmup)')
    .option('--lambda <l>', 'PKD: KD weight λ (default 2)', floatArg('--lambda', 0))
    .option('--temperature <T>', 'PKD: KD temperature (default 2)', floatArg('--temperature', 1e-6))
    .option('--trigger <rule>', `PKD: ${TRIGGERS.join('|')} (default within-group)`)
    .option('--expert-model <name>', "PKD: expert architecture (default: the global model's)")
    .option('--expert-gate <gate>', `PKD: ${EXPERT_GATES.join('|')} (default expert-correct)`)
    .option('--executor <kind>', `${EXECUTORS.join('|')} (default threads)`)
    .option('--workers <n>', 'worker threads for --executor threads (default 2)', intArg('--workers', 1, 256))
    .option('--redis <url>', 'Redis URL for --executor bullmq (default ACCELAB_REDIS_URL)')
    .option('--queue <name>', 'BullMQ queue name (default accelab-fl)');
}

/** Merges the config file and the flags given on the command line into config input + executor choice. */
function gather(o: FlFlags, c: Command): { input: FlConfigInput; executor: ExecutorChoice; file: Record<string, unknown> } {
  const file = o.config ? readConfigFile(o.config) : {};
  const { executor: fx, workers: fw, redis: fr, queue: fq, seeds: _s, models: _m, partitions: _p, variants: _v, ...rest } = file as Record<string, unknown>;
  const input: Record<string, unknown> = { ...rest };
  const pkd: Record<string, unknown> = { ...((rest.pkd as Record<string, unknown>) ?? {}) };
  const cli = (k: keyof FlFlags) => c.getOptionValueSource(k as string) === 'cli';
  const top: [keyof FlFlags, string][] = [
    ['dataset', 'dataset'],
    ['model', 'model'],
    ['clients', 'clients'],
    ['rounds', 'rounds'],
    ['partition', 'partition'],
    ['alpha', 'alpha'],
    ['method', 'method'],
    ['fraction', 'fraction'],
    ['epochs', 'epochs'],
    ['batchSize', 'batchSize'],
    ['optimizer', 'optimizer'],
    ['lr', 'lr'],
    ['momentum', 'momentum'],
    ['trainLimit', 'trainLimit'],
    ['testLimit', 'testLimit'],
    ['seed', 'seed'],
  ];
  for (const [f, k] of top) if (cli(f)) input[k] = o[f];
  const p: [keyof FlFlags, string][] = [
    ['warmupRounds', 'warmupRounds'],
    ['expertRounds', 'expertRounds'],
    ['expertEpochs', 'expertEpochs'],
    ['expertInit', 'expertInit'],
    ['lambda', 'lambda'],
    ['temperature', 'temperature'],
    ['trigger', 'trigger'],
    ['expertModel', 'expertModel'],
    ['expertGate', 'expertGate'],
  ];
  for (const [f, k] of p) if (cli(f)) pkd[k] = o[f];
  input.pkd = pkd;
  if (input.seed === undefined) input.seed = o.seed ?? 1;
  const kind = (cli('executor') ? o.executor : (fx as string | undefined)) ?? 'threads';
  if (!(EXECUTORS as readonly string[]).includes(kind)) throw new ConfigError(`--executor '${kind}' is not known: use ${EXECUTORS.join(', ')}`);
  const executor: ExecutorChoice = {
    kind: kind as ExecutorChoice['kind'],
    workers: cli('workers') ? o.workers : ((fw as number | undefined) ?? 2),
    redis: (cli('redis') ? o.redis : (fr as string | undefined)) ?? process.env.ACCELAB_REDIS_URL,
    queue: cli('queue') ? o.queue : (fq as string | undefined),
    backend: o.backend as ExecutorChoice['backend'],
  };
  return { input: input as FlConfigInput, executor, file };
}

function listArg(s: string | undefined, what: string): string[] | undefined {
  if (s === undefined) return undefined;
  const xs = s.split(',').map((x) => x.trim()).filter(Boolean);
  if (!xs.length) throw new ConfigError(`${what} must be a comma-separated list`);
  return xs;
}

function seedList(s: string | undefined, file: unknown, fallback: number[]): number[] {
  const xs = listArg(s, '--seeds')?.map(Number) ?? (Array.isArray(file) ? file.map(Number) : fallback);
  if (!xs.every((x) => Number.isInteger(x) && x >= 0)) throw new ConfigError('--seeds must be whole numbers ≥ 0, e.g. 1,2,3');
  return xs;
}

function describeRun(r: FlRunResult): string {
  const name = (c: number) => r.classNames[c];
  const lines = [
    `${r.config.method} on ${r.dataset} (${r.config.model}, ${r.config.clients} clients, ${r.config.partition}, ${r.rounds.length} rounds, executor ${r.executor})`,
    `accuracy ${pct(r.final.accuracy)}  inter-class discrepancy ${pct(r.final.interClassDiscrepancy)} (per-class std ${pct(r.final.perClassAccuracyStd)})  weak: ${r.final.weak.map(name).join(', ') || '–'}  (mean ${pct(r.final.weakMean)})`,
    `per class: ${r.final.perClass.map((a, c) => `${name(c)} ${pct(a)}`).join(', ')}`,
  ];
  if (r.pkd) {
    lines.push(`PKD groups (${r.pkd.identifiedOn}): ${r.pkd.groups.map((g) => `{${g.map(name).join(', ')}}`).join(' ') || 'none'}`);
    for (const e of r.pkd.experts)
      lines.push(`  group {${e.groupNames.join(', ')}}: within-group accuracy: expert ${pct(e.withinGroupAccuracy.expert)}, global ${pct(e.withinGroupAccuracy.warmup)} after warm-up, ${e.withinGroupAccuracy.final === undefined ? '–' : pct(e.withinGroupAccuracy.final)} at the end`);
  }
  lines.push(`${r.roundsPerMinute.toFixed(2)} rounds/min, ${r.durationS.toFixed(0)} s`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const fl = program.command('fl').description('federated learning: FedAvg and PKD with per-class analysis (run, compare, consistency, worker)');

  const run = addRunFlags(fl.command('run').description('run FedAvg or PKD and write a run folder (result.json, rounds.csv, report.html)'));
  run.option('--resume', 'continue the interrupted run in --out from its last checkpoint');
  withCommon(run).action(async (o: FlFlags, c: Command) => {
    const { input, executor } = gather(o, c);
    if (o.resume && !o.out) throw new ConfigError('--resume needs --out <folder of the interrupted run>');
    await startEngine(o);
    const dir = resolve(o.out ?? defaultOut(`fl-${input.method ?? 'fedavg'}-${input.dataset ?? 'fashion-mnist'}`));
    const r = await runFlExperiment(input, { outDir: dir, executor, resume: o.resume, progress: progressFor(o) });
    const rep = await writeRunReport(dir, r);
    emit(o, { ...r, outDir: dir, report: rep?.html ?? null }, () => `${describeRun(r)}\nrun folder ${dir}${rep ? `\nreport ${rep.html}` : ''}`);
  });

  const cmp = addRunFlags(fl.command('compare').description('PKD vs FedAvg at the same total rounds over seeds, with PKD variants (a sweep)'));
  cmp.option('--seeds <list>', 'seeds, e.g. 1,2,3 (default 1,2,3)');
  cmp.option('--variants <json>', 'PKD variants as JSON: [{"name":"λ=2","pkd":{"lambda":2}}, ...] (default: one variant with the config\'s PKD options)');
  withCommon(cmp).action(async (o: FlFlags, c: Command) => {
    const { input, executor, file } = gather(o, c);
    const seeds = seedList(o.seeds, file.seeds, [1, 2, 3]);
    let variants: CompareVariant[] = [{ name: 'pkd', pkd: {} }];
    const raw = o.variants !== undefined ? (() => {
      try {
        return JSON.parse(o.variants as string) as unknown;
      } catch {
        throw new ConfigError('--variants must be JSON, e.g. [{"name":"λ=2","pkd":{"lambda":2}}]');
      }
    })() : file.variants;
    if (raw !== undefined) {
      if (!Array.isArray(raw) || !raw.every((v) => v && typeof v.name === 'string')) throw new ConfigError('variants must be a list of {name, pkd} objects');
      variants = raw as CompareVariant[];
    }
    await startEngine(o);
    const dir = resolve(o.out ?? defaultOut(`fl-compare-${input.dataset ?? 'fashion-mnist'}`));
    const r = await runComparison(input, seeds, variants, {
      executor,
      outDir: dir,
      progress: progressFor(o),
      onRow: (row) => {
        if (!o.json) process.stderr.write(`seed ${row.seed} ${row.method}: acc ${pct(row.accuracy)}, weak mean ${pct(row.weakMean)}, ICD ${pct(row.interClassDiscrepancy)}${row.experts.length ? `, within-group: expert ${row.experts.map((e) => pct(e.withinGroupAccuracy.expert)).join('/')}, global ${row.experts.map((e) => pct(e.withinGroupAccuracy.final ?? Number.NaN)).join('/')}, FedAvg ${row.experts.map((e) => pct(e.withinGroupAccuracy.fedavg ?? Number.NaN)).join('/')}` : ''}\n`);
      },
    });
    const rep = await writeRunReport(dir, r);
    emit(o, { ...r, outDir: dir }, () =>
      [
        ...r.summary.map(
          (s) =>
            `${s.method.padEnd(24)} n=${s.n}  acc ${pct(s.accuracy[0])} ± ${pct(s.accuracy[1])}  weak mean ${pct(s.weakMean[0])} ± ${pct(s.weakMean[1])}  ICD ${pct(s.interClassDiscrepancy[0])}${s.withinGroupAccuracy.expert ? `  within-group: expert ${pct(s.withinGroupAccuracy.expert[0])}, global ${pct(s.withinGroupAccuracy.final?.[0] ?? Number.NaN)}, FedAvg ${pct(s.withinGroupAccuracy.fedavg?.[0] ?? Number.NaN)}` : ''}`,
        ),
        `run folder ${dir}${rep ? `\nreport ${rep.html}` : ''}`,
      ].join('\n'),
    );
  });

  const cons = addRunFlags(fl.command('consistency').description('weak-class consistency: FedAvg over models × partitions × seeds, overlap of the weak sets'));
  cons.option('--seeds <list>', 'seeds (default 1,2,3)');
  cons.option('--models <list>', 'models (default mlp-300-100,cnn-small)');
  cons.option('--partitions <list>', 'partitions (default balanced)');
  withCommon(cons).action(async (o: FlFlags, c: Command) => {
    const { input, executor, file } = gather(o, c);
    const seeds = seedList(o.seeds, file.seeds, [1, 2, 3]);
    const models = listArg(o.models, '--models') ?? (file.models as string[] | undefined) ?? ['mlp-300-100', 'cnn-small'];
    const partitions = (listArg(o.partitions, '--partitions') ?? (file.partitions as string[] | undefined) ?? ['balanced']) as ('balanced' | 'iid' | 'dirichlet' | 'shards')[];
    for (const p of partitions) if (!(PARTITIONS as readonly string[]).includes(p)) throw new ConfigError(`--partitions: '${p}' is not known: use ${PARTITIONS.join(', ')}`);
    await startEngine(o);
    const dir = resolve(o.out ?? defaultOut(`fl-consistency-${input.dataset ?? 'fashion-mnist'}`));
    const r = await runConsistency(input, { models, partitions, seeds }, {
      executor,
      outDir: dir,
      progress: progressFor(o),
      onRun: (x) => {
        if (!o.json) process.stderr.write(`${x.model} ${x.partition} seed ${x.seed}: acc ${pct(x.accuracy)}, ICD ${pct(x.interClassDiscrepancy)}, weak ${x.weak.join(',')}\n`);
      },
    });
    const rep = await writeRunReport(dir, r);
    const name = (c: number) => r.classNames[c];
    emit(o, { ...r, outDir: dir }, () =>
      [
        `${r.runs.length} runs; mean pairwise Jaccard of weak sets ${r.jaccard.all.toFixed(2)} (same seed across models ${r.jaccard.acrossModelsSameSeed.toFixed(2)}, across rounds ${r.jaccard.acrossRounds.toFixed(2)}); Spearman of per-class accuracy ${r.spearman.toFixed(2)}`,
        `weak frequency: ${r.weakFrequency.map((f, c) => `${name(c)} ${f.toFixed(2)}`).join(', ')}`,
        `run folder ${dir}${rep ? `\nreport ${rep.html}` : ''}`,
      ].join('\n'),
    );
  });

  const worker = fl
    .command('worker')
    .description('process federated client jobs from Redis (BullMQ) until stopped with Ctrl-C')
    .option('--redis <url>', 'Redis URL (default ACCELAB_REDIS_URL)')
    .option('--queue <name>', 'BullMQ queue name (default accelab-fl)')
    .option('--concurrency <n>', 'jobs at once, each on its own thread (default 1)', intArg('--concurrency', 1, 64))
    .option('--lock-ms <ms>', "job lock: a dead worker's job is retried elsewhere after about this long (default 30000)", intArg('--lock-ms', 200))
    .option('--name <name>', 'worker name (shown as the job\'s processedBy)');
  withCommon(worker, { out: false, seed: false }).action(async (o: CommonOptions & { redis?: string; queue?: string; concurrency?: number; lockMs?: number; name?: string }) => {
    const url = o.redis ?? process.env.ACCELAB_REDIS_URL;
    if (!url) throw new ConfigError('accelab fl worker needs --redis redis://host:port (or ACCELAB_REDIS_URL)');
    if (o.backend) process.env.ACCELAB_BACKEND = o.backend;
    const w = await startBullmqWorker({
      url,
      queue: o.queue,
      concurrency: o.concurrency,
      lockMs: o.lockMs,
      name: o.name,
      onEvent: (e) => {
        if (!o.json) process.stderr.write(`${new Date().toISOString()} ${e.kind} ${e.jobId}${e.message ? `: ${e.message}` : ''}\n`);
        else process.stdout.write(`${JSON.stringify(e)}\n`);
      },
    });
    if (!o.json) process.stderr.write(`worker ${o.name ?? ''} ready on ${url} queue ${o.queue ?? 'accelab-fl'}\n`);
    else process.stdout.write(`${JSON.stringify({ kind: 'ready' })}\n`);
    await new Promise<void>((res) => {
      const stop = () => res();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await w.close();
  });
}
