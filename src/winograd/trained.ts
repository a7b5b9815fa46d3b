/**
 * Real (trained) large-kernel filters for the numerical-error study (`accelab winograd error --checkpoint`).
 *
 * - `buildLargeKernelCnn`: a small sequential CNN with K×K convolutions (default 9×9):
 *   conv K×K 16 'same' relu → maxpool 2 → conv K×K 32 'same' relu → maxpool 2 → flatten → dense(10)
 *   logits; seeded initializers (He-normal convolutions, Glorot-uniform dense, zero biases).
 * - `trainLargeKernelCnn`: trains it briefly on Fashion-MNIST (or synthetic-gray when Fashion-MNIST
 *   is not installed and `fallback` is on) with the project's training loop (src/nn/train.ts) and
 *   returns the model and a plain-JSON summary; `saveModel` (src/nn/checkpoint.ts) stores it.
 * - `convFilterBanks` / `loadTrainedFilters`: every Conv2D layer's K×K kernel as a float64 filter
 *   bank in which each (input, output) channel pair is its own single-channel filter:
 *   HWIO [K, K, cin, cout] viewed as [K, K, 1, cin·cout] (the same memory order), keyed
 *   `trained/<layer name>` for `runErrorStudy(…, { extraFilters })`.
 */
import { tf } from '../core/engine.js';
import { ConfigError, DataError } from '../core/errors.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { loadModel, saveModel } from '../nn/checkpoint.js';
import { train } from '../nn/train.js';
import type { Filter4 } from './tensor.js';

export interface LargeKernelCnnOptions {
  /** Kernel size of both convolutions (default 9). */
  kernel?: number;
  /** Filters of the two convolutions (default [16, 32]). */
  filters?: [number, number];
  inputShape?: [number, number, number];
  numClasses?: number;
  seed?: number;
}

/** The large-kernel CNN (sequential, logits out), named `large-kernel-cnn-<K>`. */
export function buildLargeKernelCnn(o: LargeKernelCnnOptions = {}): tf.Sequential {
  const k = o.kernel ?? 9;
  const [f1, f2] = o.filters ?? [16, 32];
  if (!Number.isInteger(k) || k < 1 || k > 31) throw new ConfigError(`large-kernel CNN: kernel must be a whole number 1…31, got ${k}`);
  const rng = new Rng(o.seed ?? 1);
  const he = () => tf.initializers.heNormal({ seed: rng.seed() });
  return tf.sequential({
    name: `large-kernel-cnn-${k}`,
    layers: [
      tf.layers.conv2d({ name: 'conv1', inputShape: o.inputShape ?? [28, 28, 1], filters: f1, kernelSize: k, padding: 'same', activation: 'relu', kernelInitializer: he() }),
      tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      tf.layers.conv2d({ name: 'conv2', filters: f2, kernelSize: k, padding: 'same', activation: 'relu', kernelInitializer: he() }),
      tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ name: 'logits', units: o.numClasses ?? 10, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }) }),
    ],
  });
}

export interface TrainFiltersOptions {
  /** Data set name (default fashion-mnist). */
  dataset?: string;
  /** Use synthetic-gray when the data set is not installed (default true). */
  fallback?: boolean;
  dataDir?: string;
  epochs?: number;
  /** First N training images (default 20000). */
  trainLimit?: number;
  /** First N test images (default 2000). */
  testLimit?: number;
  kernel?: number;
  batch?: number;
  lr?: number;
  seed?: number;
}

export interface TrainFiltersSummary {
  kind: 'winograd-trained-filters';
  model: string;
  kernel: number;
  dataset: string;
  trainCount: number;
  testCount: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  trainLoss: number;
  testAccuracy: number;
  trainSeconds: number;
  /** Set when the requested data set was missing and synthetic-gray was used instead. */
  fallbackReason?: string;
}

/** Trains the large-kernel CNN briefly (Adam). The caller disposes `model`. */
export async function trainLargeKernelCnn(o: TrainFiltersOptions = {}, progress: Progress = silentProgress): Promise<{ model: tf.Sequential; summary: TrainFiltersSummary }> {
  const name = o.dataset ?? 'fashion-mnist';
  const epochs = o.epochs ?? 1;
  const batch = o.batch ?? 64;
  const lr = o.lr ?? 1e-3;
  const seed = o.seed ?? 1;
  const limits = { trainLimit: o.trainLimit ?? 20000, testLimit: o.testLimit ?? 2000, seed, dataDir: o.dataDir, progress };
  let data: Dataset;
  let fallbackReason: string | undefined;
  try {
    data = await loadDataset(name, limits);
  } catch (e) {
    if (!(e instanceof DataError) || o.fallback === false) throw e;
    fallbackReason = e.message;
    data = await loadDataset('synthetic-gray', limits);
  }
  const model = buildLargeKernelCnn({ kernel: o.kernel, inputShape: data.shape, numClasses: data.numClasses, seed });
  try {
    const r = train({ dataset: data, model, epochs, optimizer: 'adam', lr, batchSize: batch, seed, evalEveryEpoch: false }, progress);
    const last = r.epochs[r.epochs.length - 1];
    return {
      model,
      summary: {
        kind: 'winograd-trained-filters',
        model: model.name,
        kernel: o.kernel ?? 9,
        dataset: data.name,
        trainCount: data.train.count,
        testCount: data.test.count,
        epochs,
        batch,
        lr,
        seed,
        trainLoss: last.trainLoss,
        testAccuracy: r.testAccuracy,
        trainSeconds: r.trainSeconds,
        ...(fallbackReason ? { fallbackReason } : {}),
      },
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Trains and saves the large-kernel CNN to `dir` (tfjs model.json + weights.bin, summary in the metadata). */
export async function trainFiltersCheckpoint(dir: string, o: TrainFiltersOptions = {}, progress: Progress = silentProgress): Promise<TrainFiltersSummary> {
  const { model, summary } = await trainLargeKernelCnn(o, progress);
  try {
    await saveModel(model, dir, { winogradTrainedFilters: summary });
  } finally {
    model.dispose();
  }
  return summary;
}

export interface FilterBank {
  layer: string;
  kernel: number;
  cin: number;
  cout: number;
  /** [K, K, 1, cin·cout]: each channel pair a single-channel filter. */
  filter: Filter4<Float64Array>;
}

/** The square K×K (K ≥ minKernel) Conv2D kernels of a model, one channel pair per output channel. */
export function convFilterBanks(model: tf.LayersModel, opts: { minKernel?: number } = {}): FilterBank[] {
  const out: FilterBank[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Conv2D') continue;
    const kernel = layer.getWeights()[0];
    const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
    if (kh !== kw || kh < (opts.minKernel ?? 2)) continue;
    out.push({ layer: layer.name, kernel: kh, cin, cout, filter: { data: Float64Array.from(kernel.dataSync()), shape: [kh, kh, 1, cin * cout] } });
  }
  return out;
}

/** `extraFilters` for the error study: `trained/<layer>` → filter bank. */
export function trainedExtraFilters(banks: readonly FilterBank[]): Record<string, Filter4<Float64Array>> {
  return Object.fromEntries(banks.map((b) => [`trained/${b.layer}`, b.filter]));
}

/** Loads a checkpoint (e.g. from `accelab winograd train-filters`) and returns its conv filter banks. */
export async function loadTrainedFilters(dir: string, opts: { minKernel?: number } = {}): Promise<FilterBank[]> {
  const model = await loadModel(dir);
  try {
    const banks = convFilterBanks(model, opts);
    if (banks.length === 0)
      throw new ConfigError(
        `checkpoint ${dir} has no square Conv2D kernels of size ≥ ${opts.minKernel ?? 2}: pass a model with large-kernel convolutions (e.g. from \`accelab winograd train-filters\`)`,
      );
    return banks;
  } finally {
    model.dispose();
  }
}
