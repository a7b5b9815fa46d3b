/**
 * Worker job of the RRAM experiments (loaded by core/executor in a worker thread):
 * simulates a range of test images on the crossbars once per configuration, with the tfjs matrix
 * product as the fast path's engine (the worker starts its own tfjs backend).
 */
import { type Simulation, type SimulationRun, simulateNetwork } from '../hw/rram/index.js';
import type { QuantizedWorkload } from '../nn/runtime/index.js';
import { tfMatMul } from '../nn/runtime/matmul-tf.js';

export interface SimulateJobArgs {
  qw: QuantizedWorkload;
  /** One crossbar configuration (and optionally the only layers on crossbars) per simulation. */
  runs: SimulationRun[];
  x: Float32Array;
  labels: number[];
  count: number;
  classes: number;
  firstImage: number;
  batchSize: number;
}

export function simulateJob(a: SimulateJobArgs): Simulation[] {
  return a.runs.map((r) =>
    simulateNetwork(a.qw, r.config, { x: a.x, labels: a.labels, count: a.count }, a.classes, {
      batchSize: a.batchSize,
      firstImage: a.firstImage,
      matmul: tfMatMul,
      crossbarLayers: r.crossbarLayers,
    }),
  );
}
