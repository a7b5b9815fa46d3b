/**
 * Project-owned tfjs kernels. Registered once per process, before the backend is selected.
 * (Filled in by the kernels work: Conv2DBackpropFilter, Conv2DBackpropInput, BatchMatMul with
 * transposed operands, MaxPoolGrad, Tile, depthwise-convolution gradients.)
 */
let registered = false;
export function registerProjectKernels(_backend: 'wasm' | 'cpu'): void {
  if (registered) return;
  registered = true;
}
