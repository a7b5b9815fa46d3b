/** `accelab data list|fetch|info`: which data sets are present and where, downloading, and a load check. */
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { CATALOG, DATASET_NAMES, fetchDataset, findDataset, loadDataset, searchRoots, SYNTHETIC_NAMES } from '../../data/index.js';
import { classHistogram } from '../../data/types.js';
import { emit, progressFor } from '../common.js';
import { addOptions, type CommonOptions, checkDataDir, checkOutputFolder, dataDirOption, limitOptions, withCommon } from '../options.js';

interface DataOptions extends CommonOptions {
  dataDir?: string;
  baseUrl?: string;
  force?: boolean;
  trainLimit?: number;
  testLimit?: number;
}

function knownName(name: string, allowSynthetic: boolean): void {
  const names = allowSynthetic ? [...DATASET_NAMES, ...SYNTHETIC_NAMES] : DATASET_NAMES;
  if (!names.includes(name)) throw new ConfigError(`data set '${name}' is not known: use one of ${names.join(', ')}`);
}

/** Present data sets, for `data list` and `doctor`. */
export function listDatasets(dataDir?: string) {
  return DATASET_NAMES.map((name) => {
    const loc = findDataset(name, { dataDir });
    return {
      name,
      title: CATALOG[name].title,
      present: loc !== null,
      where: loc ? (loc.layout === 'folder' ? loc.files.folder : loc.layout === 'archive' ? loc.files.archive : loc.dir) : null,
      source: loc?.source ?? null,
    };
  });
}

export function register(program: Command): void {
  const data = program.command('data').description('data sets: list what is present, fetch the official files, check that one loads');

  withCommon(data.command('list').description('show which data sets are present and where (look-up: --data-dir, ACCELAB_DATA, user cache, Debian, ../shared/datasets)'), {
    out: false,
    seed: false,
    backend: false,
  })
    .addOption(dataDirOption())
    .action((o: DataOptions) => {
      checkDataDir(o.dataDir);
      const rows = listDatasets(o.dataDir);
      const roots = searchRoots('fashion-mnist', { dataDir: o.dataDir }).map((r) => `${r.source}: ${r.dir}`);
      emit(o, { datasets: rows, synthetic: SYNTHETIC_NAMES, searched: roots }, () =>
        [
          ...rows.map((r) => `${r.name.padEnd(16)} ${r.present ? `present  ${r.where} (${r.source})` : `missing  (accelab data fetch ${r.name})`}`),
          `${'synthetic-gray'.padEnd(16)} generated (28×28×1, 10 classes, confusable group 2,4,6)`,
          `${'synthetic-rgb'.padEnd(16)} generated (32×32×3, 10 classes, confusable group 2,4,6)`,
        ].join('\n'),
      );
    });

  withCommon(
    data
      .command('fetch')
      .argument('<name>', `data set: ${DATASET_NAMES.join(', ')}`)
      .description('download the official files, verify their checksums, resume an interrupted download'),
    {
      out: false,
      seed: false,
      backend: false,
    },
  )
    .option('--data-dir <dir>', 'download into <dir>/<name> (default: ACCELAB_DATA or the user cache folder)')
    .option('--base-url <url>', "download from this base URL instead of the catalog's (a mirror)")
    .option('--force', 'download again even when verified files are present')
    .action(async (name: string, o: DataOptions) => {
      knownName(name, false);
      if (o.dataDir !== undefined) checkOutputFolder(o.dataDir, '--data-dir');
      if (o.baseUrl !== undefined && !/^(https?|file):\/\/\S+$/.test(o.baseUrl))
        throw new ConfigError(`--base-url '${o.baseUrl}' is not an http(s):// or file:// URL: give a mirror's base URL`);
      const r = await fetchDataset(name, { dataDir: o.dataDir, baseUrl: o.baseUrl, force: o.force, progress: progressFor(o) });
      emit(o, r, () =>
        [`${name}: ${r.dir}`, ...r.files.map((f) => `  ${f.name.padEnd(30)} ${String(f.bytes).padStart(10)} bytes  ${f.status}  sha256 ${f.sha256.slice(0, 16)}…`)].join('\n'),
      );
    });

  const info = withCommon(
    data.command('info').argument('<name>', 'data set (catalog or synthetic name)').description('load a data set and show its counts, shape, classes and load time'),
    {
      out: false,
      backend: false,
    },
  );
  addOptions(info, dataDirOption(), limitOptions({ train: '', test: '' })).action(async (name: string, o: DataOptions) => {
    knownName(name, true);
    checkDataDir(o.dataDir);
    const t0 = performance.now();
    const ds = await loadDataset(name, { dataDir: o.dataDir, trainLimit: o.trainLimit, testLimit: o.testLimit, seed: o.seed, progress: progressFor(o) });
    const ms = Math.round(performance.now() - t0);
    const info = {
      name: ds.name,
      source: ds.source ?? null,
      shape: ds.shape,
      numClasses: ds.numClasses,
      classNames: ds.classNames,
      train: { count: ds.train.count, perClass: classHistogram(ds.train.labels, ds.numClasses) },
      test: { count: ds.test.count, perClass: classHistogram(ds.test.labels, ds.numClasses) },
      loadMs: ms,
      bytes: ds.train.images.byteLength + ds.test.images.byteLength + ds.train.labels.byteLength + ds.test.labels.byteLength,
    };
    emit(o, info, () =>
      [
        `${info.name}  ${info.shape.join('×')}  ${info.numClasses} classes  from ${info.source}`,
        `train  ${info.train.count}  per class ${info.train.perClass.join(' ')}`,
        `test   ${info.test.count}  per class ${info.test.perClass.join(' ')}`,
        `classes ${info.classNames.join(', ')}`,
        `loaded in ${ms} ms, ${(info.bytes / 2 ** 20).toFixed(1)} MiB of bytes`,
      ].join('\n'),
    );
  });
}
