/**
 * Project-owned tfjs kernels, registered once per process (per worker thread) before the backend
 * is selected. For `wasm` see ./wasm.ts: Conv2DBackpropFilter, Conv2DBackpropInput, BatchMatMul and
 * _FusedMatMul with transposed operands, MaxPoolGrad, Tile and the two depthwise-convolution
 * gradients. The `cpu` backend keeps its stock kernels (it is the reference the tests compare to).
 */
import { registerWasmKernels } from './wasm.js';
import './batchnorm.js';
import './conv.js';

export { WASM_PROJECT_KERNELS } from './wasm.js';

const registered = new Set<string>();

export function registerProjectKernels(backend: 'wasm' | 'cpu'): void {
  if (registered.has(backend)) return;
  registered.add(backend);
  if (backend === 'wasm') registerWasmKernels();
}
