/** Systolic-array simulator: SCALE-Sim v2-exact analytical mode, cycle-level mode, energy, packed weights. */
export * from './types.js';
export { gemmDims, gemmLayer, OperandAddresses, validateLayer } from './operands.js';
export { simulateLayerAnalytical } from './analytical.js';
export { type CycleLayerResult, type LayerData, packedFilterData, randomLayerData, referenceGemm, simulateLayerCycle } from './cycle.js';
export { filterMatrix, rowBitmaskFormat, withPackedWeights } from './packed.js';
export { arrayAreaMm2, DEFAULT_TECH, energySplit, layerActions, runEnergy } from './energy.js';
export { type RunOptions, runSystolic, SIM_MODES, type SimMode, type SystolicLayerRun, type SystolicRun } from './run.js';
export { formatScalesimConfig, formatTopology, parseReport, parseScalesimConfig, parseTopology, pyFloat, scalesimReports } from './scalesim-io.js';
export { layersFromWorkload, type WorkloadLayer } from './workload.js';
export { ScalesimLimitError } from './memory.js';
