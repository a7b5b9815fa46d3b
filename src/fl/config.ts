/**
 * The options of a federated run, validated with zod at the edge. Defaults marked [I] are
 * inferred choices (the PKD paper's values are unknown); every one is documented in docs/fl.md.
 */
import { z } from 'zod';
import { validate } from '../core/config.js';
import { ConfigError } from '../core/errors.js';

export const METHODS = ['fedavg', 'pkd'] as const;
export type Method = (typeof METHODS)[number];
export const EXECUTORS = ['inprocess', 'threads', 'bullmq'] as const;
export const PARTITIONS = ['balanced', 'iid', 'dirichlet', 'shards'] as const;
export const TRIGGERS = ['within-group', 'any-weak-miss', 'always'] as const;
export const EXPERT_GATES = ['none', 'expert-correct'] as const;
export const OPTIMIZERS = ['sgd', 'adam'] as const;

export const pkdSchema = z
  .object({
    /** Stage 1: FedAvg rounds before the weak classes are identified (the rest of `rounds` is stage 4). */
    warmupRounds: z.number().int().min(1).default(10),
    /** Stage 3: federated rounds per expert. */
    expertRounds: z.number().int().min(0).default(5),
    /** Local epochs per expert round. */
    expertEpochs: z.number().int().min(1).default(3),
    /** Learning rate of expert training (default: the run's lr). */
    expertLr: z.number().positive().optional(),
    /** 'warmup': backbone copied from the warm-up model, head = its rows for the group's classes; 'scratch': fresh init. */
    expertInit: z.enum(['warmup', 'scratch']).default('warmup'),
    /** Expert architecture (default: the global model's). */
    expertModel: z.string().optional(),
    temperature: z.number().positive().default(2),
    lambda: z.number().min(0).default(2),
    trigger: z.enum(TRIGGERS).default('within-group'),
    /** True classes that can trigger: 'weak' (only weak classes, default) or 'group' (every member of a weak group). */
    triggerOn: z.enum(['weak', 'group']).default('weak'),
    /** Extra condition on the expert: 'expert-correct' (default: fire only where the group's expert classifies the sample correctly) or 'none'. */
    expertGate: z.enum(EXPERT_GATES).default('expert-correct'),
    /** Data on which weak classes and groups are identified: the server's validation split (default) or the test set. */
    identifyOn: z.enum(['validation', 'test']).default('validation'),
    /** Fixed groups (skip identification), e.g. [[0,2,4,6]]. */
    groups: z.array(z.array(z.number().int().min(0)).min(2)).optional(),
  })
  .strict();

export const flConfigSchema = z
  .object({
    dataset: z.string().default('fashion-mnist'),
    trainLimit: z.number().int().positive().optional(),
    testLimit: z.number().int().positive().optional(),
    /** Training examples per class held out for the server (validation). */
    valPerClass: z.number().int().min(0).default(100),
    model: z.string().default('cnn-small'),
    clients: z.number().int().min(1).default(10),
    fraction: z.number().gt(0).max(1).default(1),
    minClients: z.number().int().min(1).default(1),
    partition: z.enum(PARTITIONS).default('balanced'),
    alpha: z.number().positive().default(0.5),
    shardsPerClient: z.number().int().min(1).default(2),
    /** Total global rounds (FedAvg), or warm-up + PKD rounds (PKD): the same budget for both methods. */
    rounds: z.number().int().min(1).default(20),
    epochs: z.number().int().min(1).default(1),
    batchSize: z.number().int().min(1).default(32),
    /** 'sgd' (with `momentum`; 0 = plain SGD) or 'adam', as in central training. 'momentum' (older runs' name) reads as 'sgd'. */
    optimizer: z
      .enum([...OPTIMIZERS, 'momentum'])
      .transform((v): (typeof OPTIMIZERS)[number] => (v === 'momentum' ? 'sgd' : v))
      .default('sgd'),
    lr: z.number().positive().default(0.01),
    momentum: z.number().min(0).max(1).default(0.9),
    method: z.enum(METHODS).default('fedavg'),
    seed: z.number().int().min(0).default(1),
    weakRule: z.enum(['mean-minus-delta', 'bottom-k']).default('mean-minus-delta'),
    weakDelta: z.number().min(0).default(0.05),
    weakK: z.number().int().min(1).default(4),
    groupTau: z.number().min(0).max(1).default(0.02),
    groupMax: z.number().int().min(2).default(4),
    pkd: pkdSchema.default({}),
    /** Evaluate the global model on the test set every n rounds (the last round always). */
    evalEvery: z.number().int().min(1).default(1),
  })
  .strict();

export type FlConfig = z.output<typeof flConfigSchema>;
export type FlConfigInput = z.input<typeof flConfigSchema>;

/** Keys that other commands or older versions spell differently: named in the error instead of "unrecognized key". */
const RENAMED: Record<string, string> = { batch: 'batchSize' };

export function parseFlConfig(v: unknown): FlConfig {
  if (v && typeof v === 'object') {
    for (const [old, now] of Object.entries(RENAMED)) if (Object.hasOwn(v, old)) throw new ConfigError(`fl config: field '${old}' is called '${now}': rename it`);
  }
  const c = validate(flConfigSchema, v, 'fl config');
  if (c.method === 'pkd' && c.pkd.warmupRounds >= c.rounds) {
    throw new ConfigError(`fl config: field 'pkd.warmupRounds': ${c.pkd.warmupRounds} warm-up rounds leave no PKD rounds out of ${c.rounds}; lower it or raise 'rounds'`);
  }
  if (c.minClients > c.clients) throw new ConfigError(`fl config: field 'minClients': ${c.minClients} is more than the ${c.clients} clients`);
  return c;
}
