/**
 * The data-set catalog (official URLs, files, sizes, checksums) and the look-up of data on disk.
 *
 * Look-up order for a data set `<name>`:
 *   1. `--data-dir` (the `dataDir` option), 2. `$ACCELAB_DATA`, 3. the user cache folder
 *   (`$XDG_CACHE_HOME/accelab` or `~/.cache/accelab`), 4. Debian's share folder
 *   (`/usr/share/datasets/fashion-mnist`, package `dataset-fashion-mnist`) for Fashion-MNIST,
 *   5. for `cifar10-subset`: `../shared/datasets` relative to the project root and to the cwd.
 * In folders 1–3 a data set may sit in `<root>/<name>/` or directly in `<root>/`.
 *
 * Checksums: sha256 of the official files as published by well-known mirrors/loaders (MNIST:
 * torchvision/TensorFlow mirror lists; Fashion-MNIST: several independent loaders; CIFAR-10:
 * third-party verification logs), and the md5 the data-set authors publish (Fashion-MNIST README,
 * CIFAR-10 page, torchvision for MNIST). The downloader verifies both when both are known.
 * Debian recompressed Fashion-MNIST, so files found in its share folder are not checksummed (their
 * decompressed content is the official data; the reader still checks structure and labels).
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type DatasetFormat = 'idx' | 'cifar10-bin';
export type FileRole = 'train-images' | 'train-labels' | 'test-images' | 'test-labels' | 'archive';

export interface CatalogFile {
  role: FileRole;
  /** File name as published. */
  name: string;
  /** Size in bytes of the official file. */
  size?: number;
  sha256?: string;
  md5?: string;
}

export interface CatalogEntry {
  name: string;
  title: string;
  format: DatasetFormat;
  homepage: string;
  /** Base URLs tried in order (official first, then mirrors); empty when not downloadable. */
  baseUrls: string[];
  files: CatalogFile[];
  shape: [number, number, number];
  numClasses: number;
  classNames: string[];
  trainCount: number;
  testCount: number;
  /** Debian package that installs it, and the folder it installs to. */
  debian?: { package: string; dir: string };
  /** Folders relative to the project root / cwd that may hold it (for this project's machines). */
  projectDirs?: string[];
  note?: string;
}

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export const CATALOG: Record<string, CatalogEntry> = {
  'fashion-mnist': {
    name: 'fashion-mnist',
    title: 'Fashion-MNIST (Zalando), 60,000 train / 10,000 test, 28×28 gray',
    format: 'idx',
    homepage: 'https://github.com/zalandoresearch/fashion-mnist',
    baseUrls: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/', 'https://storage.googleapis.com/tensorflow/tf-keras-datasets/'],
    files: [
      {
        role: 'train-images',
        name: 'train-images-idx3-ubyte.gz',
        size: 26421880,
        sha256: '08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc',
        md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      },
      {
        role: 'train-labels',
        name: 'train-labels-idx1-ubyte.gz',
        size: 29515,
        sha256: 'b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc',
        md5: '25c81989df183df01b3e8a0aad5dffbe',
      },
      {
        role: 'test-images',
        name: 't10k-images-idx3-ubyte.gz',
        size: 4422102,
        sha256: '78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229',
        md5: 'bef4ecab320f06d8554ea6380940ec79',
      },
      {
        role: 'test-labels',
        name: 't10k-labels-idx1-ubyte.gz',
        size: 5148,
        sha256: '42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf',
        md5: 'bb300cfdad3c16e7a12a480ee83cd310',
      },
    ],
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: FASHION_CLASSES,
    trainCount: 60000,
    testCount: 10000,
    debian: { package: 'dataset-fashion-mnist', dir: '/usr/share/datasets/fashion-mnist' },
  },
  mnist: {
    name: 'mnist',
    title: 'MNIST handwritten digits, 60,000 train / 10,000 test, 28×28 gray',
    format: 'idx',
    homepage: 'http://yann.lecun.com/exdb/mnist/',
    baseUrls: ['http://yann.lecun.com/exdb/mnist/', 'https://ossci-datasets.s3.amazonaws.com/mnist/', 'https://storage.googleapis.com/cvdf-datasets/mnist/'],
    files: [
      {
        role: 'train-images',
        name: 'train-images-idx3-ubyte.gz',
        size: 9912422,
        sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
        md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      },
      {
        role: 'train-labels',
        name: 'train-labels-idx1-ubyte.gz',
        size: 28881,
        sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
        md5: 'd53e105ee54ea40749a09fcbcd1e9432',
      },
      {
        role: 'test-images',
        name: 't10k-images-idx3-ubyte.gz',
        size: 1648877,
        sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
        md5: '9fb629c4189551a2d022fa330f9573f3',
      },
      {
        role: 'test-labels',
        name: 't10k-labels-idx1-ubyte.gz',
        size: 4542,
        sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
        md5: 'ec29112dd5afa0611ce80d1b7f02629c',
      },
    ],
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: DIGITS,
    trainCount: 60000,
    testCount: 10000,
  },
  cifar10: {
    name: 'cifar10',
    title: 'CIFAR-10 binary version, 50,000 train / 10,000 test, 32×32 RGB',
    format: 'cifar10-bin',
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    baseUrls: ['https://www.cs.toronto.edu/~kriz/'],
    files: [
      {
        role: 'archive',
        name: 'cifar-10-binary.tar.gz',
        size: 170052171,
        sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
        md5: 'c32a1d4ab5d03f1284b67883e8d87530',
      },
    ],
    shape: [32, 32, 3],
    numClasses: 10,
    classNames: CIFAR_CLASSES,
    trainCount: 50000,
    testCount: 10000,
    note: 'md5 as published on the CIFAR page; sha256 from third-party verification of the same 170,052,171-byte file',
  },
  'cifar10-subset': {
    name: 'cifar10-subset',
    title: 'CIFAR-10 subset (project machines): 10,000 train (1,000/class) / 10,000 test, official binary layout',
    format: 'cifar10-bin',
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    baseUrls: [],
    files: [{ role: 'archive', name: 'cifar-10-subset-binary.tar.gz', size: 57916305, sha256: '8605822f9835d468a3357c0f8f942fec995dd6e6b15b3b1f1b95395da6795082' }],
    shape: [32, 32, 3],
    numClasses: 10,
    classNames: CIFAR_CLASSES,
    trainCount: 10000,
    testCount: 10000,
    projectDirs: ['../shared/datasets'],
    note: 'it is provided in ../shared/datasets on the project machines only; elsewhere use `accelab data fetch cifar10`',
  },
};

export const DATASET_NAMES = Object.keys(CATALOG);

/** Names accepted by loadDataset besides the catalog: generated data (see synthetic.ts). */
export const SYNTHETIC_NAMES = ['synthetic-gray', 'synthetic-rgb', 'fl-blobs'] as const;

export function catalogEntry(name: string): CatalogEntry | undefined {
  return Object.hasOwn(CATALOG, name) ? CATALOG[name] : undefined;
}

/** `$XDG_CACHE_HOME/accelab` or `~/.cache/accelab`. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'accelab');
}

/** The project root (the folder holding accelab's package.json), found from this module's location. */
export function projectRoot(): string | null {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'src', 'data'))) return d;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return null;
}

export type LocationSource = 'data-dir' | 'env' | 'cache' | 'debian' | 'project';

export interface SearchRoot {
  dir: string;
  source: LocationSource;
}

export interface LookupOptions {
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The folders searched for `name`, in order. */
export function searchRoots(name: string, opts: LookupOptions = {}): SearchRoot[] {
  const env = opts.env ?? process.env;
  const roots: SearchRoot[] = [];
  if (opts.dataDir) roots.push({ dir: resolve(opts.dataDir), source: 'data-dir' });
  if (env.ACCELAB_DATA) roots.push({ dir: resolve(env.ACCELAB_DATA), source: 'env' });
  roots.push({ dir: userCacheDir(env), source: 'cache' });
  const e = catalogEntry(name);
  if (e?.debian) roots.push({ dir: e.debian.dir, source: 'debian' });
  if (e?.projectDirs) {
    const root = projectRoot();
    for (const p of e.projectDirs) {
      if (root) roots.push({ dir: resolve(root, p), source: 'project' });
      roots.push({ dir: resolve(opts.cwd ?? process.cwd(), p), source: 'project' });
    }
  }
  const seen = new Set<string>();
  return roots.filter((r) => {
    const key = `${r.dir}|${r.source}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface DatasetLocation {
  name: string;
  format: DatasetFormat;
  source: LocationSource;
  /** The folder holding the files. */
  dir: string;
  /** IDX: role -> path (a `.gz` or a raw file). CIFAR: `archive` -> tar.gz, or `folder` -> batches folder. */
  files: Record<string, string>;
  /** For CIFAR-10: read from the tar.gz or from an extracted folder. */
  layout?: 'archive' | 'folder';
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Looks for the data set's files in one folder; returns null when incomplete. */
export function probeDir(entry: CatalogEntry, dir: string, source: LocationSource): DatasetLocation | null {
  if (!isDir(dir)) return null;
  if (entry.format === 'idx') {
    const files: Record<string, string> = {};
    for (const f of entry.files) {
      const gz = join(dir, f.name);
      const raw = join(dir, f.name.replace(/\.gz$/, ''));
      if (isFile(gz)) files[f.role] = gz;
      else if (isFile(raw)) files[f.role] = raw;
      else return null;
    }
    return { name: entry.name, format: entry.format, source, dir, files };
  }
  // CIFAR-10: an extracted batches folder beats the archive (no decompression).
  for (const folder of [join(dir, 'cifar-10-batches-bin'), dir]) {
    if (isFile(join(folder, 'test_batch.bin')) && isFile(join(folder, 'data_batch_1.bin'))) {
      return { name: entry.name, format: entry.format, source, dir, files: { folder }, layout: 'folder' };
    }
  }
  const archive = entry.files.find((f) => f.role === 'archive');
  if (archive && isFile(join(dir, archive.name))) {
    return { name: entry.name, format: entry.format, source, dir, files: { archive: join(dir, archive.name) }, layout: 'archive' };
  }
  return null;
}

/** Where `name` is on this machine (first match in the look-up order), or null. */
export function findDataset(name: string, opts: LookupOptions = {}): DatasetLocation | null {
  const entry = catalogEntry(name);
  if (!entry) return null;
  for (const r of searchRoots(name, opts)) {
    const sub = r.source === 'debian' || r.source === 'project' ? null : probeDir(entry, join(r.dir, name), r.source);
    if (sub) return sub;
    const here = probeDir(entry, r.dir, r.source);
    if (here) return here;
  }
  return null;
}

/** The folder `data fetch` writes into: `<dataDir | $ACCELAB_DATA | cache>/<name>`. */
export function fetchTargetDir(name: string, opts: LookupOptions = {}): string {
  const env = opts.env ?? process.env;
  const root = opts.dataDir ? resolve(opts.dataDir) : env.ACCELAB_DATA ? resolve(env.ACCELAB_DATA) : userCacheDir(env);
  return join(root, name);
}

/** The message for a missing data set: both ways to get it. */
export function missingMessage(name: string, opts: LookupOptions = {}): string {
  const e = catalogEntry(name);
  if (!e) return `data set '${name}' is not known: use one of ${[...DATASET_NAMES, ...SYNTHETIC_NAMES].join(', ')}`;
  const where = searchRoots(name, opts)
    .map((r) => r.dir)
    .join(', ');
  const ways: string[] = [];
  if (e.baseUrls.length > 0) ways.push(`run \`accelab data fetch ${name}\``);
  if (e.debian) ways.push(`\`apt-get install ${e.debian.package}\``);
  if (e.baseUrls.length > 0) ways.push(`download ${e.files.map((f) => f.name).join(', ')} from ${e.baseUrls[0]} into a folder and pass --data-dir`);
  if (e.projectDirs)
    ways.push(`put ${e.files[0].name} in ${e.projectDirs.join(' or ')} (or a folder given by --data-dir/ACCELAB_DATA); elsewhere use \`accelab data fetch cifar10\``);
  return `data set '${name}' not found (looked in ${where}): ${ways.join(', or ')}`;
}
