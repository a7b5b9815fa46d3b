/** Output-sparsity prediction (SparseNN): SVD, low-rank predictors, masked inference and statistics. The tfjs training (`train.ts`) is imported on its own. */
export * from './predictor.js';
export * from './svd.js';
