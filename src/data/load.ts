/**
 * `loadDataset(name)`: finds a data set (see catalog.ts for the look-up order) and reads it into
 * the `Dataset` type, or generates one for the synthetic names. Every defect is a `DataError`.
 */
import { DataError } from '../core/errors.js';
import { type Progress, silentProgress } from '../core/progress.js';
import { readCifarArchive, readCifarFolder } from './cifar.js';
import { type CatalogEntry, type DatasetLocation, type LookupOptions, catalogEntry, findDataset, missingMessage, SYNTHETIC_NAMES } from './catalog.js';
import { readIdx } from './idx.js';
import { makeFlBlobs, makeSynthetic } from './synthetic.js';
import type { Dataset, Split } from './types.js';

export interface LoadOptions extends LookupOptions {
  /** Keep only the first `limit` examples of each split (train and test). */
  limit?: number;
  /** Overrides `limit` for the training split. */
  trainLimit?: number;
  /** Overrides `limit` for the test split. */
  testLimit?: number;
  /** Seed for the synthetic data sets (default 1). */
  seed?: number;
  progress?: Progress;
}

function checkLabels(labels: Uint8Array, numClasses: number, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) throw new DataError(`${file}: bad label value ${labels[i]} at index ${i} (labels must be 0..${numClasses - 1})`);
  }
}

async function readIdxSplit(entry: CatalogEntry, loc: DatasetLocation, split: 'train' | 'test', limit: number | undefined): Promise<Split> {
  const imgPath = loc.files[`${split}-images`];
  const lblPath = loc.files[`${split}-labels`];
  const [h, w] = entry.shape;
  const img = await readIdx(imgPath, { expectDims: 3, maxItems: limit });
  if (img.dims[1] !== h || img.dims[2] !== w) {
    throw new DataError(`${imgPath}: size mismatch: images are ${img.dims[1]}×${img.dims[2]}, expected ${h}×${w} for ${entry.name}`);
  }
  const lbl = await readIdx(lblPath, { expectDims: 1, maxItems: limit });
  if (lbl.dims[0] !== img.dims[0]) {
    throw new DataError(`${lblPath}: size mismatch: ${lbl.dims[0]} labels for ${img.dims[0]} images in ${imgPath}`);
  }
  checkLabels(lbl.data, entry.numClasses, lblPath);
  return { images: img.data, labels: lbl.data, count: img.items };
}

/** Reads a located data set. */
export async function readDataset(loc: DatasetLocation, opts: LoadOptions = {}): Promise<Dataset> {
  const entry = catalogEntry(loc.name);
  if (!entry) throw new DataError(`data set '${loc.name}' is not in the catalog`);
  const trainLimit = opts.trainLimit ?? opts.limit;
  const testLimit = opts.testLimit ?? opts.limit;
  const progress = opts.progress ?? silentProgress;
  progress.start(`load ${loc.name}`, 2);
  try {
    if (entry.format === 'idx') {
      const train = await readIdxSplit(entry, loc, 'train', trainLimit);
      progress.tick();
      const test = await readIdxSplit(entry, loc, 'test', testLimit);
      progress.tick();
      return { name: entry.name, train, test, shape: [...entry.shape], numClasses: entry.numClasses, classNames: entry.classNames.slice(), source: loc.dir };
    }
    const ds =
      loc.layout === 'folder'
        ? readCifarFolder(loc.files.folder, { trainLimit, testLimit, name: entry.name })
        : await readCifarArchive(loc.files.archive, { trainLimit, testLimit, name: entry.name });
    progress.tick(2);
    return ds;
  } finally {
    progress.stop();
  }
}

/**
 * Loads a data set by name: a catalog name (`fashion-mnist`, `mnist`, `cifar10`, `cifar10-subset`)
 * or a synthetic one (`synthetic-gray` 28×28×1, `synthetic-rgb` 32×32×3, seeded by `seed`; `fl-blobs` 4×4×1,
 * 200 / 50 examples per class unless limited, always seed 7).
 * Throws `DataError` naming both ways to get a missing data set.
 */
export async function loadDataset(name: string, opts: LoadOptions = {}): Promise<Dataset> {
  if (name === 'fl-blobs') {
    const tl = opts.trainLimit ?? opts.limit;
    const sl = opts.testLimit ?? opts.limit;
    return makeFlBlobs(tl === undefined ? 200 : Math.ceil(tl / 10), sl === undefined ? 50 : Math.ceil(sl / 10), 7);
  }
  if ((SYNTHETIC_NAMES as readonly string[]).includes(name)) {
    const rgb = name === 'synthetic-rgb';
    const tl = opts.trainLimit ?? opts.limit;
    const sl = opts.testLimit ?? opts.limit;
    // Generate only what the limits need (whole classes, then cut).
    const per = (n: number | undefined, dflt: number): number => (n === undefined ? dflt : Math.min(dflt, Math.ceil(n / 10)));
    const ds = makeSynthetic({ kind: rgb ? 'rgb' : 'gray', seed: opts.seed ?? 1, trainPerClass: per(tl, 600), testPerClass: per(sl, 100) });
    const bpi = ds.shape[0] * ds.shape[1] * ds.shape[2];
    const cut = (s: Split, n: number | undefined): Split => (n === undefined || n >= s.count ? s : { images: s.images.slice(0, n * bpi), labels: s.labels.slice(0, n), count: n });
    return { ...ds, name, train: cut(ds.train, tl), test: cut(ds.test, sl) };
  }
  const loc = findDataset(name, opts);
  if (!loc) throw new DataError(missingMessage(name, opts));
  return readDataset(loc, opts);
}
