/**
 * Partitioners that split a training set among federated clients. All are seeded and return, for
 * every client, the example indices and the per-class histogram.
 *
 * - `balanced`: class-balanced both globally and on every client — each client gets exactly
 *   q = floor(min_c n_c / K) examples of every class (n_c: examples of class c, K: clients).
 *   Remainders: examples beyond K·q of a class are left unassigned (reported in `unassigned`),
 *   so that every client and the union stay exactly balanced. With Fashion-MNIST (6,000 per class)
 *   and 10 clients nothing is dropped. Examples of each class are picked at random.
 * - `iid`: a random permutation cut into K parts whose sizes differ by at most one.
 * - `dirichlet`: label skew; for every class, proportions p ~ Dir(α,…,α) over the K clients and the
 *   class's shuffled examples are cut at the cumulative proportions. Redrawn (up to 100 times)
 *   until every client has ≥ `minPerClient` examples (default 1).
 * - `shards`: examples sorted by label (random order within a label), cut into K·s equal shards,
 *   and every client gets s random shards (s = `shardsPerClient`, default 2); the remainder of the
 *   integer division goes unassigned.
 */
import { z } from 'zod';
import { validate } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';

export const PARTITION_METHODS = ['balanced', 'iid', 'dirichlet', 'shards'] as const;
export type PartitionMethod = (typeof PARTITION_METHODS)[number];

export const partitionConfigSchema = z
  .object({
    method: z.enum(PARTITION_METHODS).default('balanced'),
    clients: z.number().int().min(1),
    seed: z.number().int().min(0).default(1),
    /** Dirichlet concentration (smaller = more skew). */
    alpha: z.number().positive().default(0.5),
    minPerClient: z.number().int().min(0).default(1),
    shardsPerClient: z.number().int().min(1).default(2),
  })
  .strict();
export type PartitionConfig = z.input<typeof partitionConfigSchema>;

export interface Partition {
  method: PartitionMethod;
  numClients: number;
  numClasses: number;
  seed: number;
  params: Record<string, number>;
  /** Example indices per client (sorted ascending). */
  clients: number[][];
  /** histograms[k][c]: examples of class c on client k. */
  histograms: number[][];
  /** Examples not given to any client. */
  unassigned: number;
}

function byClass(labels: ArrayLike<number>, numClasses: number): number[][] {
  const out: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c >= numClasses) throw new ConfigError(`label ${c} at index ${i} is not below numClasses ${numClasses}`);
    out[c].push(i);
  }
  return out;
}

function finish(method: PartitionMethod, labels: ArrayLike<number>, numClasses: number, seed: number, params: Record<string, number>, clients: number[][]): Partition {
  const histograms = clients.map((ids) => {
    const h = new Array<number>(numClasses).fill(0);
    for (const i of ids) h[labels[i]]++;
    return h;
  });
  for (const ids of clients) ids.sort((a, b) => a - b);
  const assigned = clients.reduce((a, ids) => a + ids.length, 0);
  return { method, numClients: clients.length, numClasses, seed, params, clients, histograms, unassigned: labels.length - assigned };
}

export function partitionBalanced(labels: ArrayLike<number>, numClasses: number, numClients: number, seed: number): Partition {
  const rng = new Rng(seed);
  const groups = byClass(labels, numClasses);
  const present = groups.filter((g) => g.length > 0);
  const q = Math.floor(Math.min(...present.map((g) => g.length)) / numClients);
  if (q === 0) throw new ConfigError(`balanced partition: the rarest class has fewer examples than clients (${numClients}); use fewer clients`);
  const clients: number[][] = Array.from({ length: numClients }, () => []);
  for (const g of present) {
    const ids = rng.shuffle(g.slice());
    for (let k = 0; k < numClients; k++) for (let j = 0; j < q; j++) clients[k].push(ids[k * q + j]);
  }
  return finish('balanced', labels, numClasses, seed, { perClassPerClient: q }, clients);
}

export function partitionIid(labels: ArrayLike<number>, numClasses: number, numClients: number, seed: number): Partition {
  const rng = new Rng(seed);
  const order = rng.permutation(labels.length);
  const clients: number[][] = [];
  const base = Math.floor(labels.length / numClients);
  const extra = labels.length % numClients;
  let off = 0;
  for (let k = 0; k < numClients; k++) {
    const n = base + (k < extra ? 1 : 0);
    clients.push(Array.from(order.subarray(off, off + n)));
    off += n;
  }
  return finish('iid', labels, numClasses, seed, {}, clients);
}

export function partitionDirichlet(labels: ArrayLike<number>, numClasses: number, numClients: number, seed: number, alpha: number, minPerClient = 1): Partition {
  if (!(alpha > 0)) throw new ConfigError(`dirichlet partition: alpha ${alpha} must be > 0`);
  if (minPerClient * numClients > labels.length)
    throw new ConfigError(`dirichlet partition: ${numClients} clients × minPerClient ${minPerClient} exceeds ${labels.length} examples`);
  const rng = new Rng(seed);
  const groups = byClass(labels, numClasses);
  let clients: number[][] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    clients = Array.from({ length: numClients }, () => []);
    for (const g of groups) {
      if (g.length === 0) continue;
      const ids = rng.shuffle(g.slice());
      const p = rng.dirichlet(alpha, numClients);
      let acc = 0;
      let prev = 0;
      for (let k = 0; k < numClients; k++) {
        acc += p[k];
        const cut = k === numClients - 1 ? ids.length : Math.round(acc * ids.length);
        for (let j = prev; j < cut; j++) clients[k].push(ids[j]);
        prev = Math.max(prev, cut);
      }
    }
    if (Math.min(...clients.map((c) => c.length)) >= minPerClient) break;
    if (attempt === 99)
      throw new ConfigError(`dirichlet partition: could not give every client ≥ ${minPerClient} examples with alpha ${alpha} in 100 draws; raise alpha or lower minPerClient`);
  }
  return finish('dirichlet', labels, numClasses, seed, { alpha, minPerClient }, clients);
}

export function partitionShards(labels: ArrayLike<number>, numClasses: number, numClients: number, seed: number, shardsPerClient = 2): Partition {
  const rng = new Rng(seed);
  const groups = byClass(labels, numClasses).map((g) => rng.shuffle(g.slice()));
  const sorted = groups.flat();
  const numShards = numClients * shardsPerClient;
  const shardSize = Math.floor(sorted.length / numShards);
  if (shardSize === 0) throw new ConfigError(`shards partition: ${numShards} shards for ${sorted.length} examples; use fewer clients or shards`);
  const shardOrder = rng.permutation(numShards);
  const clients: number[][] = Array.from({ length: numClients }, () => []);
  for (let s = 0; s < numShards; s++) {
    const k = Math.floor(s / shardsPerClient);
    const shard = shardOrder[s];
    for (let j = 0; j < shardSize; j++) clients[k].push(sorted[shard * shardSize + j]);
  }
  return finish('shards', labels, numClasses, seed, { shardsPerClient, shardSize }, clients);
}

/** Partitions `labels` with a validated config (see `partitionConfigSchema`). */
export function partition(labels: ArrayLike<number>, numClasses: number, config: PartitionConfig): Partition {
  const c = validate(partitionConfigSchema, config, 'partition');
  if (c.clients > labels.length) throw new ConfigError(`partition: field 'clients': ${c.clients} clients for ${labels.length} examples; use fewer clients`);
  switch (c.method) {
    case 'balanced':
      return partitionBalanced(labels, numClasses, c.clients, c.seed);
    case 'iid':
      return partitionIid(labels, numClasses, c.clients, c.seed);
    case 'dirichlet':
      return partitionDirichlet(labels, numClasses, c.clients, c.seed, c.alpha, c.minPerClient);
    case 'shards':
      return partitionShards(labels, numClasses, c.clients, c.seed, c.shardsPerClient);
  }
}
