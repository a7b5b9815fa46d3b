/** Compression for systolic arrays: pruning, subwords, packed formats, permutation search, rates. */
export * from './budget.js';
export * from './column-combine.js';
export * from './compare.js';
export * from './masks.js';
export * from './matrix.js';
export * from './permute.js';
export * from './prune.js';
export * from './rates.js';
export * from './subword.js';
export * from './tight.js';
