/**
 * The federated task: which data set, how it is split over clients, and which model. A `TaskSpec`
 * is plain JSON so that any process (a worker thread, a BullMQ worker on another machine) can
 * rebuild exactly the same client data and model from it. Loading is cached per process.
 */
import { Rng } from '../core/rng.js';
import { loadDataset } from '../data/load.js';
import { knownNormalization, type Normalization } from '../data/pipeline.js';
import { partition } from '../data/partition.js';
import { type Dataset, classHistogram } from '../data/types.js';

export type PartitionKind = 'balanced' | 'iid' | 'dirichlet' | 'shards';

export interface DataSpec {
  /** Data set name as `loadDataset` takes it (`fashion-mnist`, `cifar10-subset`, `synthetic-gray`, `fl-blobs`, ...). */
  name: string;
  /** Use only the first n training / test examples (undefined = all). */
  trainLimit?: number;
  testLimit?: number;
  /** Training examples per class held out on the server as a validation split (PKD identifies weak classes on it). */
  valPerClass: number;
}

export interface PartitionSpec {
  kind: PartitionKind;
  /** Dirichlet concentration (dirichlet only). */
  alpha: number;
  /** Shards per client (shards only). */
  shardsPerClient: number;
}

export interface TaskSpec {
  data: DataSpec;
  model: string;
  clients: number;
  partition: PartitionSpec;
  seed: number;
}

export interface PreparedTask {
  spec: TaskSpec;
  dataset: Dataset;
  inputShape: [number, number, number];
  /** Training-set indices of each client. */
  clientIndices: Int32Array[];
  /** Training-set indices of the server's validation split. */
  valIndices: Int32Array;
  /** Per-client class histograms. */
  histograms: number[][];
  /** Input normalization (per channel, 0..1 scale), or null for plain pixels / 255. */
  norm: Normalization | null;
}

// ---------------------------------------------------------------- loading

function loadData(spec: DataSpec): Promise<Dataset> {
  return loadDataset(spec.name, { trainLimit: spec.trainLimit, testLimit: spec.testLimit });
}

// ---------------------------------------------------------------- partitioning

function partitionPool(spec: TaskSpec, labels: Uint8Array, pool: Int32Array, numClasses: number, seed: number): Int32Array[] {
  const poolLabels = new Uint8Array(pool.length);
  for (let i = 0; i < pool.length; i++) poolLabels[i] = labels[pool[i]];
  const p = partition(poolLabels, numClasses, {
    method: spec.partition.kind,
    clients: spec.clients,
    seed,
    alpha: spec.partition.alpha,
    shardsPerClient: spec.partition.shardsPerClient,
  });
  return p.clients.map((ids) => Int32Array.from(ids, (i) => pool[i]));
}

const cache = new Map<string, Promise<PreparedTask>>();

/** Loads the data and splits it: server validation split first (class-balanced), then the clients. */
export function prepareTask(spec: TaskSpec): Promise<PreparedTask> {
  const key = JSON.stringify(spec);
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const dataset = await loadData(spec.data);
      const rng = new Rng((spec.seed ^ 0x7a5c) >>> 0);
      const labels = dataset.train.labels;
      const byClass: number[][] = Array.from({ length: dataset.numClasses }, () => []);
      for (let i = 0; i < dataset.train.count; i++) byClass[labels[i]].push(i);
      const val: number[] = [];
      const pool: number[] = [];
      for (const idx of byClass) {
        rng.shuffle(idx);
        const v = Math.min(spec.data.valPerClass, Math.floor(idx.length / 2));
        val.push(...idx.slice(0, v));
        pool.push(...idx.slice(v));
      }
      pool.sort((a, b) => a - b);
      const clientIndices = partitionPool(spec, labels, Int32Array.from(pool), dataset.numClasses, rng.seed());
      return {
        spec,
        dataset,
        inputShape: dataset.shape,
        clientIndices,
        valIndices: Int32Array.from(val.sort((a, b) => a - b)),
        histograms: clientIndices.map((ix) => classHistogram(labels, dataset.numClasses, ix)),
        norm: knownNormalization(dataset.name),
      };
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}
