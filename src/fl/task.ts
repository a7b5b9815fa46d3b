/**
 * The federated task: which data set, how it is split over clients, and which model. A `TaskSpec`
 * is plain JSON so that any process (a worker thread, a BullMQ worker on another machine) can
 * rebuild exactly the same client data and model from it. Loading is cached per process.
 */
import { Rng } from '../core/rng.js';
import { tf } from '../core/engine.js';
import { loadDataset } from '../data/load.js';
import { NORMALIZATION, type Normalization } from '../data/pipeline.js';
import { partition } from '../data/partition.js';
import { type Dataset, classHistogram, imageSize } from '../data/types.js';
import { createModel } from '../nn/models.js';

export type PartitionKind = 'balanced' | 'iid' | 'dirichlet' | 'shards';

export interface DataSpec {
  /** Catalog name (`fashion-mnist`, `cifar10-subset`, ...) or `fl-blobs` (tiny built-in synthetic set for tests). */
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

function normalizationFor(name: string): Normalization | null {
  if (NORMALIZATION[name]) return NORMALIZATION[name];
  if (name.startsWith('cifar10')) return NORMALIZATION.cifar10;
  return null;
}

// ---------------------------------------------------------------- synthetic data for tests

/**
 * `fl-blobs`: 10 classes of 4×4×1 "images" drawn around class centres, where classes 0/6 and 2/4
 * have nearby centres (built-in confusable pairs). Tiny and fast: for unit tests and the tour's smoke run.
 */
export function flBlobs(trainPerClass: number, testPerClass: number, seed: number): Dataset {
  const C = 10;
  const D = 16;
  const rng = new Rng(seed ^ 0x5eed);
  const centres = Array.from({ length: C }, () => Array.from({ length: D }, () => rng.normal(0, 1.2)));
  const near = (a: number, b: number) => {
    for (let d = 0; d < D; d++) centres[b][d] = centres[a][d] + rng.normal(0, 0.25);
  };
  near(0, 6);
  near(2, 4);
  const make = (perClass: number, r: Rng) => {
    const count = perClass * C;
    const images = new Uint8Array(count * D);
    const labels = new Uint8Array(count);
    const order = r.permutation(count);
    for (let i = 0; i < count; i++) {
      const c = order[i] % C;
      labels[i] = c;
      for (let d = 0; d < D; d++) images[i * D + d] = Math.max(0, Math.min(255, Math.round(128 + 40 * (centres[c][d] + r.normal(0, 0.6)))));
    }
    return { images, labels, count };
  };
  return {
    name: 'fl-blobs',
    train: make(trainPerClass, rng.fork(1)),
    test: make(testPerClass, rng.fork(2)),
    shape: [4, 4, 1],
    numClasses: C,
    classNames: Array.from({ length: C }, (_, c) => `c${c}`),
    source: 'synthetic',
  };
}

// ---------------------------------------------------------------- loading

async function loadData(spec: DataSpec): Promise<Dataset> {
  if (spec.name === 'fl-blobs') {
    const per = spec.trainLimit ? Math.ceil(spec.trainLimit / 10) : 200;
    const perTest = spec.testLimit ? Math.ceil(spec.testLimit / 10) : 50;
    return flBlobs(per, perTest, 7);
  }
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
        norm: normalizationFor(dataset.name),
      };
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

// ---------------------------------------------------------------- batches

/** A float batch ((pixels / 255 − mean) / std per channel) of the given example indices of a split, shaped N×H×W×C. */
export function batchX(
  images: Uint8Array,
  shape: [number, number, number],
  indices: ArrayLike<number>,
  from = 0,
  to = indices.length,
  norm: Normalization | null = null,
): tf.Tensor4D {
  const d = imageSize(shape);
  const ch = shape[2];
  const n = to - from;
  const scale = new Float32Array(ch);
  const shift = new Float32Array(ch);
  for (let c = 0; c < ch; c++) {
    const std = norm ? norm.std[c] : 1;
    scale[c] = 1 / (255 * std);
    shift[c] = norm ? norm.mean[c] / std : 0;
  }
  const buf = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = indices[from + i] * d;
    for (let j = 0; j < d; j++) buf[i * d + j] = images[o + j] * scale[j % ch] - shift[j % ch];
  }
  return tf.tensor4d(buf, [n, shape[0], shape[1], shape[2]]);
}

// ---------------------------------------------------------------- models

/**
 * Builds a model: `fl-mlp` (flatten, dense 32 relu, dense C: a tiny model for tests) or any name
 * of the model zoo (src/nn/models.ts: mlp-300-100, lenet5, cnn-small, vgg-small, resnet20).
 */
export function buildModel(name: string, inputShape: [number, number, number], numClasses: number, seed: number): tf.LayersModel {
  if (name === 'fl-mlp') {
    return tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape }),
        tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
        tf.layers.dense({ units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
      ],
    });
  }
  return createModel(name, { inputShape, numClasses, seed });
}
