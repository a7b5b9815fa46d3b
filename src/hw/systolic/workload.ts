/**
 * A neutral workload (zoo model or checkpoint, `nn/workload.ts`) as systolic-array layers: every
 * convolution and dense layer becomes one GEMM layer (pooling, flatten and ReLU run off the array).
 * SCALE-Sim's topology has no padding, so a 'same'-padded convolution is described by its padded
 * input ((out − 1)·stride + kernel per side), which gives the same GEMM (M = output pixels).
 * A dense layer is a GEMM with M = batch size.
 */
import { ConfigError } from '../../core/errors.js';
import { quantizeWeights } from '../../nn/runtime/quantize.js';
import type { Workload } from '../../nn/workload.js';
import { gemmLayer } from './operands.js';
import type { SystolicLayer } from './types.js';

export interface WorkloadLayer {
  layer: SystolicLayer;
  /** K×N filter matrix (k-major) quantized to signed integers per layer (runtime's PTQ), and its scale. */
  weights: Int32Array;
  weightScale: number;
}

export function layersFromWorkload(w: Workload, opts: { batchSize?: number; weightBits?: number } = {}): WorkloadLayer[] {
  const batch = opts.batchSize ?? 1;
  const bits = opts.weightBits ?? 8;
  const out: WorkloadLayer[] = [];
  for (const op of w.ops) {
    if (op.kind === 'conv2d') {
      const [oh, ow, oc] = op.outShape;
      const [ih, iw, ic] = op.inShape;
      const [kh, kw] = op.kernel;
      const [sh, sw] = op.strides;
      const layer: SystolicLayer = {
        name: op.name,
        ifmapHeight: op.padding === 'same' ? (oh - 1) * sh + kh : ih,
        ifmapWidth: op.padding === 'same' ? (ow - 1) * sw + kw : iw,
        filterHeight: kh,
        filterWidth: kw,
        channels: ic,
        numFilters: oc,
        strideHeight: sh,
        strideWidth: sw,
      };
      const q = quantizeWeights(op.weights, kh * kw * ic, oc, { bits, signed: true, granularity: 'per-layer' });
      out.push({ layer, weights: q.wq, weightScale: q.wScale[0] });
    } else if (op.kind === 'dense') {
      const q = quantizeWeights(op.weights, op.inFeatures, op.outFeatures, { bits, signed: true, granularity: 'per-layer' });
      out.push({ layer: gemmLayer(op.name, batch, op.outFeatures, op.inFeatures), weights: q.wq, weightScale: q.wScale[0] });
    }
  }
  if (out.length === 0) throw new ConfigError(`workload '${w.name}' has no convolution or dense layer to map onto the array`);
  return out;
}
