/**
 * The hardware-neutral workload runtime: conv geometry and im2col, float reference forward pass,
 * post-training quantization, quantized inference with a pluggable integer GEMM (`IntGemmEngine`,
 * one per hardware model), batched evaluation and activation capture. Plain typed arrays only:
 * the tfjs fast path (`matmul-tf.ts`) is not re-exported here and is injected by callers.
 */
export * from './evaluate.js';
export * from './forward.js';
export * from './geometry.js';
export * from './matmul.js';
export * from './quantize.js';
export * from './run.js';
