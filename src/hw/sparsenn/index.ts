/** SparseNN accelerator model: PEs with local weight memories on an on-chip network, skipping zero inputs and predicted-zero outputs. */
export * from './config.js';
export * from './sim.js';
export * from './stream.js';
