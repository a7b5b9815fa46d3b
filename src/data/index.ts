/** The data layer: official-format readers, catalog and download, synthetic data, pipeline, partitioners. */
export * from './types.js';
export * from './idx.js';
export * from './cifar.js';
export * from './catalog.js';
export * from './load.js';
export * from './download.js';
export * from './synthetic.js';
export * from './pipeline.js';
export * from './partition.js';
