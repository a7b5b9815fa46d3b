/**
 * `accelab fl run|compare|consistency|worker|clean`: federated learning (FedAvg, PKD) with per-class
 * analysis; worker for the BullMQ executor; clean-up of a killed coordinator's Redis keys.
 */
import { type Command, Option } from 'commander';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readConfigFile } from '../../core/config-file.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { ensureDir, writeJsonAtomic } from '../../core/fsx.js';
import { type CompareVariant, type FlRunResult, runComparison, runConsistency, runFlExperiment } from '../../experiments/fl.js';
import { EXECUTORS, EXPERT_GATES, type FlConfig, type FlConfigInput, flConfigSchema, METHODS, PARTITIONS, TRIGGERS } from '../../fl/config.js';
import { DEFAULT_QUEUE, parseRedisUrl, redisReachable, startBullmqWorker } from '../../fl/executors/bullmq.js';
import type { ExecutorChoice } from '../../fl/executors/index.js';
import { validate } from '../../core/config.js';
import { MODEL_NAMES } from '../../nn/models.js';
import { pct } from '../../report/format.js';
import { writeRunReport } from '../run-report.js';
import { defaultOut, emit, inRunDir, progressFor, stagedReport, startEngine } from '../common.js';
import {
  addOptions,
  batchSizeOptions,
  type CommonOptions,
  checkOut,
  DATASET_CHOICES,
  datasetOption,
  floatArg,
  intArg,
  intListArg,
  limitOptions,
  listArg,
  lrOption,
  modelOption,
  optimizerOption,
  withCommon,
} from '../options.js';

/** FL also knows a tiny built-in data set and model (for tests and quick checks). */
const FL_DATASETS = [...new Set([...DATASET_CHOICES, 'fl-blobs'])];
const FL_MODELS = [...new Set<string>([...MODEL_NAMES, 'fl-mlp'])];
/** Seconds to wait for Redis before giving up with one line. */
const REDIS_TIMEOUT_MS = 3000;

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
  batch?: number;
  optimizer?: string;
  momentum?: number;
  lr?: number;
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
  seeds?: number[];
  models?: string[];
  partitions?: string[];
  variants?: string;
}

type Mode = 'run' | 'compare' | 'consistency';

function addRunFlags(cmd: Command, mode: Mode): Command {
  cmd.option('--config <file>', "YAML/JSON file with the options, e.g. configs/fl/ or a run's config.json (flags override it)");
  addOptions(cmd, datasetOption({ default: 'fashion-mnist', choices: FL_DATASETS }));
  if (mode !== 'consistency') addOptions(cmd, modelOption({ default: 'cnn-small', choices: FL_MODELS }));
  cmd
    .option('--clients <n>', 'number of clients (default 10)', intArg('--clients', 1, 10000))
    .option('--rounds <n>', 'total global rounds; for PKD warm-up + PKD rounds (default 20)', intArg('--rounds', 1, 100000));
  if (mode !== 'consistency') cmd.addOption(new Option('--partition <kind>', 'how data is split over clients (default balanced)').choices([...PARTITIONS]));
  cmd.option('--alpha <a>', 'Dirichlet concentration (default 0.5)', floatArg('--alpha', 1e-6, 1e6));
  if (mode === 'run') cmd.addOption(new Option('--method <m>', 'federated method (default fedavg)').choices([...METHODS]));
  cmd
    .option('--fraction <f>', 'fraction of clients per round (default 1)', floatArg('--fraction', 1e-6, 1))
    .option('--epochs <n>', 'local epochs per round (default 1)', intArg('--epochs', 1, 1000));
  addOptions(cmd, batchSizeOptions('32'), optimizerOption('sgd with momentum 0.9'), lrOption('0.01'), limitOptions({ train: '', test: '' }));
  if (mode !== 'consistency')
    cmd
      .option('--warmup-rounds <n>', 'PKD: warm-up FedAvg rounds (default 10)', intArg('--warmup-rounds', 1, 100000))
      .option('--expert-rounds <n>', 'PKD: federated rounds per expert (default 5)', intArg('--expert-rounds', 0, 100000))
      .option('--expert-epochs <n>', 'PKD: local epochs per expert round (default 3)', intArg('--expert-epochs', 1, 1000))
      .addOption(new Option('--expert-init <how>', 'PKD: expert initialisation (default warmup)').choices(['warmup', 'scratch']))
      .option('--lambda <l>', 'PKD: KD weight λ (default 2)', floatArg('--lambda', 0, 1000))
      .option('--temperature <T>', 'PKD: KD temperature (default 2)', floatArg('--temperature', 1e-6, 1000))
      .addOption(new Option('--trigger <rule>', 'PKD: when KD applies (default within-group)').choices([...TRIGGERS]))
      .addOption(new Option('--expert-model <name>', "PKD: expert architecture (default: the global model's)").choices(FL_MODELS))
      .addOption(new Option('--expert-gate <gate>', 'PKD: expert gate (default expert-correct)').choices([...EXPERT_GATES]));
  return cmd
    .addOption(new Option('--executor <kind>', 'where client jobs run (default threads)').choices([...EXECUTORS]))
    .option('--workers <n>', 'worker threads for --executor threads (default 2)', intArg('--workers', 1, 256))
    .option('--redis <url>', 'Redis URL for --executor bullmq (default ACCELAB_REDIS_URL)')
    .option('--queue <name>', `BullMQ queue name (default ${DEFAULT_QUEUE})`);
}

/** Merges the config file and the flags given on the command line into a checked config + executor choice. */
function gather(o: FlFlags, c: Command): { input: FlConfigInput; cfg: FlConfig; executor: ExecutorChoice; file: Record<string, unknown> } {
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
    ['batch', 'batchSize'],
    ['batchSize', 'batchSize'],
    ['optimizer', 'optimizer'],
    ['momentum', 'momentum'],
    ['lr', 'lr'],
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
  if (!(EXECUTORS as readonly string[]).includes(kind)) throw new ConfigError(`executor '${kind}' is not known: use ${EXECUTORS.join(', ')}`);
  const workers = cli('workers') ? o.workers : ((fw as number | undefined) ?? 2);
  if (!Number.isInteger(workers) || (workers as number) < 1 || (workers as number) > 256)
    throw new ConfigError(`workers must be a whole number from 1 to 256, got ${String(workers)}`);
  const executor: ExecutorChoice = {
    kind: kind as ExecutorChoice['kind'],
    workers,
    redis: (cli('redis') ? o.redis : (fr as string | undefined)) ?? process.env.ACCELAB_REDIS_URL,
    queue: cli('queue') ? o.queue : (fq as string | undefined),
    backend: o.backend as ExecutorChoice['backend'],
  };
  const cfg = checkFlConfig(input, o.config);
  return { input: input as FlConfigInput, cfg, executor, file };
}

/** The FL config checked before any work: schema, data set and model names, consistency of the numbers. */
function checkFlConfig(input: Record<string, unknown>, configFile?: string): FlConfig {
  const cfg = validate(flConfigSchema, input, 'fl config');
  const where = configFile ? ` (flag or ${configFile})` : '';
  if (!FL_DATASETS.includes(cfg.dataset)) throw new ConfigError(`fl config: dataset '${cfg.dataset}'${where} is not known: use one of ${FL_DATASETS.join(', ')}`);
  if (!FL_MODELS.includes(cfg.model)) throw new ConfigError(`fl config: model '${cfg.model}'${where} is not known: use one of ${FL_MODELS.join(', ')}`);
  if (cfg.pkd.expertModel !== undefined && !FL_MODELS.includes(cfg.pkd.expertModel))
    throw new ConfigError(`fl config: expert model '${cfg.pkd.expertModel}'${where} is not known: use one of ${FL_MODELS.join(', ')}`);
  if (cfg.trainLimit !== undefined && cfg.clients > cfg.trainLimit)
    throw new ConfigError(`fl config: ${cfg.clients} clients cannot share ${cfg.trainLimit} training examples: lower --clients or raise --train-limit`);
  if (cfg.minClients > cfg.clients) throw new ConfigError(`fl config: minClients ${cfg.minClients} is more than the ${cfg.clients} clients: lower it`);
  if (cfg.method === 'pkd' && cfg.pkd.warmupRounds >= cfg.rounds)
    throw new ConfigError(`fl config: PKD's ${cfg.pkd.warmupRounds} warm-up rounds leave none of the ${cfg.rounds} rounds for PKD: raise --rounds or lower --warmup-rounds`);
  return cfg;
}

/** Redis must answer before any work starts (a wrong URL fails in seconds, never hangs). */
async function checkRedis(url: string | undefined, what: string): Promise<string> {
  if (!url) throw new ConfigError(`${what} needs --redis redis://host:port (or ACCELAB_REDIS_URL)`);
  parseRedisUrl(url);
  if (!(await redisReachable(url, REDIS_TIMEOUT_MS)))
    throw new NotFoundError(`no Redis answers at ${url} within ${REDIS_TIMEOUT_MS / 1000} s: start redis-server, or pass the right --redis URL`);
  return url;
}

async function checkExecutor(e: ExecutorChoice): Promise<void> {
  if (e.kind === 'bullmq') await checkRedis(e.redis, '--executor bullmq');
}

function parseVariants(o: FlFlags, file: Record<string, unknown>): CompareVariant[] {
  const raw =
    o.variants !== undefined
      ? (() => {
          try {
            return JSON.parse(o.variants as string) as unknown;
          } catch {
            throw new ConfigError('--variants must be JSON, e.g. [{"name":"λ=2","pkd":{"lambda":2}}]');
          }
        })()
      : file.variants;
  if (raw === undefined) return [{ name: 'pkd', pkd: {} }];
  if (
    !Array.isArray(raw) ||
    raw.length === 0 ||
    !raw.every((v) => v && typeof v === 'object' && typeof v.name === 'string' && v.name && (v.pkd === undefined || (typeof v.pkd === 'object' && v.pkd !== null)))
  )
    throw new ConfigError('variants must be a non-empty list of {"name": "...", "pkd": {...}} objects');
  const names = raw.map((v) => v.name as string);
  if (new Set(names).size !== names.length || names.includes('fedavg')) throw new ConfigError('variant names must be distinct and not "fedavg"');
  return raw as CompareVariant[];
}

function seedList(o: FlFlags, file: Record<string, unknown>): number[] {
  if (o.seeds) return o.seeds;
  if (file.seeds === undefined) return [1, 2, 3];
  const xs = file.seeds;
  if (!Array.isArray(xs) || xs.length === 0 || !xs.every((x) => Number.isInteger(x) && x >= 0)) throw new ConfigError('seeds must be a list of whole numbers ≥ 0, e.g. [1, 2, 3]');
  return xs as number[];
}

function nameList(flag: string[] | undefined, file: unknown, fallback: string[], allowed: readonly string[], what: string): string[] {
  const xs = flag ?? file ?? fallback;
  if (!Array.isArray(xs) || xs.length === 0 || !xs.every((x) => typeof x === 'string' && allowed.includes(x)))
    throw new ConfigError(`${what} must be a non-empty list of ${allowed.join(', ')}`);
  return xs as string[];
}

/**
 * `fl run`'s folder: the run works in --out itself (its checkpoint is what --resume continues), but
 * never mixes with another run: a non-empty folder needs --resume (same run) or --overwrite (the old
 * folder is set aside and removed once the new run completes, or put back if it fails). A run that
 * fails before its first checkpoint leaves nothing.
 */
async function inFlRunDir<T>(o: FlFlags, name: string, work: (dir: string) => Promise<T>): Promise<{ value: T; dir: string }> {
  const dir = resolve(o.out ?? defaultOut(name));
  if (o.resume) {
    if (!existsSync(join(dir, 'checkpoint', 'state.json'))) throw new NotFoundError(`--resume: no checkpoint in ${dir}/checkpoint: pass the --out folder of the interrupted run`);
    if (existsSync(join(dir, 'result.json'))) throw new ConfigError(`--resume: ${dir} holds a finished run (result.json): nothing to resume`);
    return { value: await work(dir), dir };
  }
  const existed = existsSync(dir) && readdirSync(dir).length > 0;
  let aside: string | null = null;
  if (existed) {
    aside = join(dirname(dir), `.${basename(dir)}.old-${process.pid}`);
    renameSync(dir, aside);
  }
  ensureDir(dir, '--out');
  try {
    const value = await work(dir);
    if (aside) rmSync(aside, { recursive: true, force: true });
    return { value, dir };
  } catch (e) {
    if (aside) {
      rmSync(dir, { recursive: true, force: true });
      renameSync(aside, dir);
    } else if (!existsSync(join(dir, 'checkpoint', 'state.json'))) rmSync(dir, { recursive: true, force: true });
    else if (e instanceof Error) e.message = `${e.message.replace(/\.$/, '')} (the checkpoint in ${dir} is kept: continue with --resume)`;
    throw e;
  }
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
      lines.push(
        `  group {${e.groupNames.join(', ')}}: within-group accuracy: expert ${pct(e.withinGroupAccuracy.expert)}, global ${pct(e.withinGroupAccuracy.warmup)} after warm-up, ${e.withinGroupAccuracy.final === undefined ? '–' : pct(e.withinGroupAccuracy.final)} at the end`,
      );
  }
  lines.push(`${r.roundsPerMinute.toFixed(2)} rounds/min, ${r.durationS.toFixed(0)} s`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const fl = program.command('fl').description('federated learning: FedAvg and PKD with per-class analysis (run, compare, consistency, worker, clean)');

  const run = addRunFlags(fl.command('run').description('run FedAvg or PKD and write a run folder (config.json, result.json, rounds.csv, report.html)'), 'run');
  run.option('--resume', 'continue the interrupted run in --out from its last checkpoint (and delete the weight keys it left in Redis)');
  withCommon(run).action(async (o: FlFlags, c: Command) => {
    const { input, cfg, executor } = gather(o, c);
    if (o.resume && !o.out) throw new ConfigError('--resume needs --out <folder of the interrupted run>');
    if (o.resume && o.overwrite) throw new ConfigError('--resume and --overwrite contradict each other: pass one of them');
    checkOut(o, o.resume);
    await checkExecutor(executor);
    await startEngine(o);
    const { value: r, dir } = await inFlRunDir(o, `fl-${cfg.method}-${cfg.dataset}`, (d) =>
      runFlExperiment(input, {
        outDir: d,
        executor,
        resume: o.resume,
        progress: progressFor(o),
        onStaleKeys: (n) => {
          if (n > 0 && !o.json) process.stderr.write(`note: deleted ${n} weight key${n === 1 ? '' : 's'} the interrupted run left in the store\n`);
        },
      }),
    );
    const rep = await writeRunReport(dir, r);
    emit(o, { ...r, outDir: dir, report: rep?.html ?? null }, () => `${describeRun(r)}\nrun folder ${dir}${rep ? `\nreport ${rep.html}` : ''}`);
  });

  const cmp = addRunFlags(fl.command('compare').description('PKD vs FedAvg at the same total rounds over seeds, with PKD variants (a sweep)'), 'compare');
  cmp.option('--seeds <list>', 'seeds, e.g. 1,2,3 (default 1,2,3)', intListArg('--seeds', 0, 2 ** 31 - 1));
  cmp.option('--variants <json>', 'PKD variants as JSON: [{"name":"λ=2","pkd":{"lambda":2}}, ...] (default: one variant with the config\'s PKD options)');
  withCommon(cmp, { seed: false }).action(async (o: FlFlags, c: Command) => {
    const { input, executor, file } = gather(o, c);
    const seeds = seedList(o, file);
    const variants = parseVariants(o, file);
    for (const v of variants) checkFlConfig({ ...input, method: 'pkd', pkd: { ...(input.pkd ?? {}), ...(v.pkd ?? {}) } }, o.config);
    checkOut(o);
    await checkExecutor(executor);
    await startEngine(o);
    const { value, dir } = await inRunDir(o, `fl-compare-${input.dataset ?? 'fashion-mnist'}`, async (stage, final) => {
      const r = await runComparison(input, seeds, variants, {
        executor,
        outDir: stage,
        progress: progressFor(o),
        onRow: (row) => {
          if (!o.json)
            process.stderr.write(
              `seed ${row.seed} ${row.method}: acc ${pct(row.accuracy)}, weak mean ${pct(row.weakMean)}, ICD ${pct(row.interClassDiscrepancy)}${row.experts.length ? `, within-group: expert ${row.experts.map((e) => pct(e.withinGroupAccuracy.expert)).join('/')}, global ${row.experts.map((e) => pct(e.withinGroupAccuracy.final ?? Number.NaN)).join('/')}, FedAvg ${row.experts.map((e) => pct(e.withinGroupAccuracy.fedavg ?? Number.NaN)).join('/')}` : ''}\n`,
            );
        },
      });
      writeJsonAtomic(join(stage, 'config.json'), { ...r.base, seeds, variants });
      return { r, report: await stagedReport(stage, final, r) };
    });
    const r = value.r;
    emit(o, { ...r, outDir: dir, report: value.report }, () =>
      [
        ...r.summary.map(
          (s) =>
            `${s.method.padEnd(24)} n=${s.n}  acc ${pct(s.accuracy[0])} ± ${pct(s.accuracy[1])}  weak mean ${pct(s.weakMean[0])} ± ${pct(s.weakMean[1])}  ICD ${pct(s.interClassDiscrepancy[0])}${s.withinGroupAccuracy.expert ? `  within-group: expert ${pct(s.withinGroupAccuracy.expert[0])}, global ${pct(s.withinGroupAccuracy.final?.[0] ?? Number.NaN)}, FedAvg ${pct(s.withinGroupAccuracy.fedavg?.[0] ?? Number.NaN)}` : ''}`,
        ),
        `run folder ${dir}${value.report ? `\nreport ${value.report}` : ''}`,
      ].join('\n'),
    );
  });

  const cons = addRunFlags(fl.command('consistency').description('weak-class consistency: FedAvg over models × partitions × seeds, overlap of the weak sets'), 'consistency');
  cons.option('--seeds <list>', 'seeds (default 1,2,3)', intListArg('--seeds', 0, 2 ** 31 - 1));
  cons.option('--models <list>', 'models (default mlp-300-100,cnn-small)', listArg('--models', FL_MODELS));
  cons.option('--partitions <list>', `partitions: ${PARTITIONS.join(', ')} (default balanced)`, listArg('--partitions', PARTITIONS));
  withCommon(cons, { seed: false }).action(async (o: FlFlags, c: Command) => {
    const { input, executor, file } = gather(o, c);
    const seeds = seedList(o, file);
    const models = nameList(o.models, file.models, ['mlp-300-100', 'cnn-small'], FL_MODELS, 'models');
    const partitions = nameList(o.partitions, file.partitions, ['balanced'], PARTITIONS, 'partitions') as FlConfig['partition'][];
    checkOut(o);
    await checkExecutor(executor);
    await startEngine(o);
    const { value, dir } = await inRunDir(o, `fl-consistency-${input.dataset ?? 'fashion-mnist'}`, async (stage, final) => {
      const r = await runConsistency(
        input,
        { models, partitions, seeds },
        {
          executor,
          outDir: stage,
          progress: progressFor(o),
          onRun: (x) => {
            if (!o.json) process.stderr.write(`${x.model} ${x.partition} seed ${x.seed}: acc ${pct(x.accuracy)}, ICD ${pct(x.interClassDiscrepancy)}, weak ${x.weak.join(',')}\n`);
          },
        },
      );
      writeJsonAtomic(join(stage, 'config.json'), { ...r.base, seeds, models, partitions });
      return { r, report: await stagedReport(stage, final, r) };
    });
    const r = value.r;
    const name = (k: number) => r.classNames[k];
    emit(o, { ...r, outDir: dir, report: value.report }, () =>
      [
        `${r.runs.length} runs; mean pairwise Jaccard of weak sets ${r.jaccard.all.toFixed(2)} (same seed across models ${r.jaccard.acrossModelsSameSeed.toFixed(2)}, across rounds ${r.jaccard.acrossRounds.toFixed(2)}); Spearman of per-class accuracy ${r.spearman.toFixed(2)}`,
        `weak frequency: ${r.weakFrequency.map((f, k) => `${name(k)} ${f.toFixed(2)}`).join(', ')}`,
        `run folder ${dir}${value.report ? `\nreport ${value.report}` : ''}`,
      ].join('\n'),
    );
  });

  const worker = fl
    .command('worker')
    .description('process federated client jobs from Redis (BullMQ) until stopped with Ctrl-C')
    .option('--redis <url>', 'Redis URL (default ACCELAB_REDIS_URL)')
    .option('--queue <name>', `BullMQ queue name (default ${DEFAULT_QUEUE})`)
    .option('--concurrency <n>', 'jobs at once, each on its own thread (default 1)', intArg('--concurrency', 1, 64))
    .option('--lock-ms <ms>', "job lock: a dead worker's job is retried elsewhere after about this long (default 30000)", intArg('--lock-ms', 200, 3_600_000))
    .option('--name <name>', "worker name (shown as the job's processedBy)");
  withCommon(worker, { out: false, seed: false }).action(async (o: CommonOptions & { redis?: string; queue?: string; concurrency?: number; lockMs?: number; name?: string }) => {
    const url = await checkRedis(o.redis ?? process.env.ACCELAB_REDIS_URL, 'accelab fl worker');
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
    if (!o.json) process.stderr.write(`worker ${o.name ?? ''} ready on ${url} queue ${o.queue ?? DEFAULT_QUEUE}\n`);
    else process.stdout.write(`${JSON.stringify({ kind: 'ready' })}\n`);
    await new Promise<void>((res) => {
      const stop = () => res();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await w.close();
  });

  const clean = fl
    .command('clean')
    .description(
      "delete the model weights a killed coordinator left in Redis (keys accelab-fl-*, kept 24 h otherwise); run it when no coordinator is running, or keep --older-than above a round's duration",
    )
    .option('--redis <url>', 'Redis URL (default ACCELAB_REDIS_URL)')
    .option('--older-than <s>', 'only keys written at least this many seconds ago (default 0: all)', intArg('--older-than', 0, WEIGHT_TTL_S))
    .option('--dry-run', 'only count what would be deleted');
  withCommon(clean, { out: false, seed: false, backend: false }).action(async (o: CommonOptions & { redis?: string; olderThan?: number; dryRun?: boolean }) => {
    const url = await checkRedis(o.redis ?? process.env.ACCELAB_REDIS_URL, 'accelab fl clean');
    const r = await cleanWeightKeys(url, o.olderThan ?? 0, o.dryRun ?? false);
    emit(
      o,
      { redis: url, ...r, dryRun: o.dryRun ?? false },
      () =>
        `${o.dryRun ? 'would delete' : 'deleted'} ${r.keys} weight key${r.keys === 1 ? '' : 's'} (${(r.bytes / 2 ** 20).toFixed(1)} MiB) at ${url}${r.kept ? `; kept ${r.kept} newer than ${o.olderThan} s` : ''}`,
    );
  });
}

/** Seconds a weight key lives in Redis (the weight store's expiry). */
const WEIGHT_TTL_S = 24 * 3600;

/** Deletes `accelab-fl-*` weight keys written at least `olderThanS` seconds ago (age from the remaining TTL). */
async function cleanWeightKeys(url: string, olderThanS: number, dryRun: boolean): Promise<{ keys: number; bytes: number; kept: number }> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: REDIS_TIMEOUT_MS, retryStrategy: () => null });
  client.on('error', () => {});
  let keys = 0;
  let bytes = 0;
  let kept = 0;
  try {
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', 'accelab-fl-*', 'COUNT', 500);
      cursor = next;
      for (const key of batch) {
        const ttl = await client.ttl(key);
        const age = ttl < 0 ? Number.POSITIVE_INFINITY : WEIGHT_TTL_S - ttl;
        if (age < olderThanS) {
          kept++;
          continue;
        }
        bytes += await client.strlen(key);
        if (!dryRun) await client.del(key);
        keys++;
      }
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return { keys, bytes, kept };
}
