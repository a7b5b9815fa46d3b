/** RRAM crossbar accelerator model: mapping, bit-serial engine with early termination, calibration and cost. */
export * from './calibrate.js';
export * from './config.js';
export * from './control.js';
export * from './engine.js';
export * from './mapping.js';
export * from './network.js';
