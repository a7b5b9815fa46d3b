/**
 * Optional native BLAS kernels for the tfjs `wasm` backend.
 *
 * The addon (native/, built at `npm install` when OpenBLAS, pkg-config and a C++ compiler are
 * present) runs OpenBLAS `sgemm` directly on the wasm heap, without copies: every call passes
 * `backend.wasm.HEAPU8` (taken fresh, after all allocations of the kernel, since growing the
 * wasm memory replaces the buffer) and the operands' byte offsets; the addon checks bounds,
 * alignment and output/input overlap in 64-bit arithmetic before touching memory and throws
 * otherwise (turned into an `EngineError` here).
 *
 * Kernels (each wraps the kernel registered before it and falls through to it for cases it does not
 * take: other dtypes, NCHW, dilation > 1, activations other than relu, unusual broadcasting, empty
 * tensors, or while the native path is switched off with `setNativeEnabled(false)`):
 * - Conv2D / FusedConv2D (bias, relu): im2col blocks (128 KiB, L2-resident) × filter; with these
 *   blocks even a first layer with one input channel (3×3) measured faster than XNNPACK. Where the
 *   reduction K = KH·KW·C is short (≤ 32; ≤ 16 for the filter gradient) and CO a multiple of 8, direct
 *   AVX2/FMA kernels replace im2col + sgemm (`setNativeSmallConvK`; the latter is their twin).
 * - Conv2DBackpropFilter: dW = Σ_blocks colᵀ·dy. Conv2DBackpropInput: for stride 1 a forward
 *   convolution of dy with the flipped, channel-transposed filter; for larger strides dcol = dy·Wᵀ
 *   scattered back (col2im). 1×1 stride-1 unpadded convolutions skip im2col.
 * - BatchMatMul / _FusedMatMul (bias over the last axis, relu): transposes and batch broadcasting
 *   (one operand with batch 1) handled by sgemm's transpose flags and a zero batch stride.
 * - Beyond BLAS, the next largest items of a training step as compiled loops: the fused batch-norm
 *   forward and gradient (./batchnorm.ts), MaxPool and MaxPoolGrad (2×2, stride 2), the leading-axes Sum (bias gradients), Add
 *   (same shape, or a bias over the last axis), Relu and its gradient (one kernel in place of three),
 *   and for the fused conv layer (./conv.ts) the relu/bias gradient and the max-pool/relu/bias
 *   gradient, each in one pass; the SGD and Adam updates as one kernel per variable (./optimizers.ts).
 *
 * OpenBLAS runs on one thread per call (set at load); the executor's worker threads each load the
 * addon and provide the parallelism.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { ConfigError, EngineError } from '../errors.js';
import { ADAM_UPDATE_KERNEL, installFusedOptimizers, SGD_UPDATE_KERNEL } from './optimizers.js';
import { BN_FORWARD_KERNEL, BN_GRAD_KERNEL, conv2dInfoFromAttrs, leadingAxesSum, type WasmBackendLike } from './wasm.js';

/** What `native/src/accelab_blas.cc` exports. */
interface Addon {
  gemm(
    heap: Uint8Array,
    batch: number,
    transA: number,
    transB: number,
    M: number,
    N: number,
    K: number,
    aOff: number,
    aStride: number,
    bOff: number,
    bStride: number,
    cOff: number,
    biasOff: number,
    relu: number,
  ): void;
  conv2d(heap: Uint8Array, op: number, aOff: number, bOff: number, outOff: number, biasOff: number, ...geometryAndRelu: number[]): void;
  bnForward(heap: Uint8Array, xOff: number, gammaOff: number, betaOff: number, yOff: number, meanOff: number, varOff: number, M: number, C: number, eps: number): void;
  bnGrad(
    heap: Uint8Array,
    xOff: number,
    dyOff: number,
    meanOff: number,
    varOff: number,
    gammaOff: number,
    dxOff: number,
    dgOff: number,
    dbOff: number,
    M: number,
    C: number,
    eps: number,
  ): void;
  sumRows(heap: Uint8Array, xOff: number, outOff: number, M: number, C: number): void;
  reluBiasGrad(heap: Uint8Array, dyOff: number, yOff: number, dzOff: number, dbOff: number, M: number, C: number): void;
  maxPool2x2(heap: Uint8Array, xOff: number, yOff: number, N: number, H: number, W: number, C: number, OH: number, OW: number): void;
  maxPoolReluBiasGrad2x2(heap: Uint8Array, yOff: number, dyOff: number, dzOff: number, dbOff: number, N: number, H: number, W: number, C: number, OH: number, OW: number): void;
  setSmallConvK(k: number): number;
  sgdUpdate(heap: Uint8Array, xOff: number, gOff: number, outOff: number, n: number, c: number): void;
  adamUpdate(heap: Uint8Array, ...offsetsSizeAndScalars: number[]): void;
  reluGrad(heap: Uint8Array, dyOff: number, xOff: number, dxOff: number, n: number): void;
  addRows(heap: Uint8Array, aOff: number, bOff: number, outOff: number, M: number, C: number): void;
  relu(heap: Uint8Array, xOff: number, yOff: number, n: number): void;
  maxPoolGrad2x2(heap: Uint8Array, xOff: number, dyOff: number, dxOff: number, N: number, H: number, W: number, C: number, OH: number, OW: number): void;
  info(): NativeBlasInfo;
}

export interface NativeBlasInfo {
  /** Shared library the BLAS symbols were resolved from. */
  library: string;
  /** OpenBLAS kernel family in use (openblas_get_corename, e.g. "Haswell", "SkylakeX"). */
  coreType: string;
  /** openblas_get_config(). */
  config: string;
  /** OpenBLAS threads per call (1: the executor's workers provide the parallelism). */
  threads: number;
  /** The CPU has AVX2 and FMA (the direct small-K convolution kernels run). */
  avx2Fma: boolean;
}

/** `auto`: native where the addon loads; `on`: required (error if missing); `off`: wasm kernels only. */
export type NativeChoice = 'auto' | 'on' | 'off';
export const NATIVE_CHOICES: readonly NativeChoice[] = ['auto', 'on', 'off'];

export interface NativeStatus {
  choice: NativeChoice;
  /** Native kernels registered and in use. */
  enabled: boolean;
  /** Why not, when not enabled. */
  reason: string | null;
  blas: NativeBlasInfo | null;
  /** OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as set in the environment (null = unset). */
  env: { OPENBLAS_CORETYPE: string | null; OPENBLAS_L2_SIZE: string | null };
  kernels: string[];
}

/** Parses `ACCELAB_NATIVE` / `--native`: auto|on|off, also 1/0, true/false, yes/no. */
export function parseNativeChoice(v: string | undefined): NativeChoice {
  const s = (v ?? 'auto').trim().toLowerCase();
  if (s === '' || s === 'auto') return 'auto';
  if (['on', '1', 'true', 'yes'].includes(s)) return 'on';
  if (['off', '0', 'false', 'no'].includes(s)) return 'off';
  throw new ConfigError(`native '${v}' is not known: use auto, on or off (ACCELAB_NATIVE / --native)`);
}

const ADDON_REL = join('native', 'build', 'Release', 'accelab_blas.node');

/** Every entry point of `Addon`, checked at load. */
const ADDON_FUNCTIONS = [
  'gemm',
  'conv2d',
  'bnForward',
  'bnGrad',
  'sumRows',
  'reluBiasGrad',
  'maxPoolReluBiasGrad2x2',
  'maxPool2x2',
  'setSmallConvK',
  'sgdUpdate',
  'adamUpdate',
  'reluGrad',
  'addRows',
  'relu',
  'maxPoolGrad2x2',
  'info',
] as const satisfies readonly (keyof Addon)[];
// Compile-time check that the list is complete.
const addonFunctionsComplete: Exclude<keyof Addon, (typeof ADDON_FUNCTIONS)[number]> extends never ? true : false = true;
void addonFunctionsComplete;

let addon: Addon | null = null;
let loadError: string | null = null;
let loaded = false;

/** Finds and loads the addon once per thread; null (with `nativeLoadError()`) when unavailable. */
export function loadNativeAddon(): Addon | null {
  if (loaded) return addon;
  loaded = true;
  let dir = dirname(fileURLToPath(import.meta.url));
  let path: string | null = null;
  for (let i = 0; i < 6; i++) {
    const p = join(dir, ADDON_REL);
    if (existsSync(p)) {
      path = p;
      break;
    }
    dir = dirname(dir);
  }
  if (!path) {
    loadError = 'the addon is not built (needs libopenblas-dev, pkg-config and a C++ compiler at npm install; then run npm run build:native)';
    return null;
  }
  let loadedAddon: Addon | null = null;
  try {
    loadedAddon = createRequire(import.meta.url)(path) as Addon;
  } catch (e) {
    loadError = `the addon does not load: ${(e as Error).message.split('\n')[0]} (rebuild with npm run build:native)`;
    return null;
  }
  // A binary built from older sources lacks newer entry points: not used until rebuilt.
  const missing = ADDON_FUNCTIONS.filter((f) => typeof (loadedAddon as unknown as Record<string, unknown>)[f] !== 'function');
  if (missing.length) {
    loadError = `the addon is out of date (no ${missing.join(', ')}): rebuild it with npm run build:native`;
    return null;
  }
  addon = loadedAddon;
  return addon;
}

export function nativeLoadError(): string | null {
  return loadError;
}

// ---------------------------------------------------------------------------------------------
// Heap calls
// ---------------------------------------------------------------------------------------------
function native<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const err = e as Error & { code?: string };
    if (typeof err.code === 'string' && err.code.startsWith('ACCELAB_NATIVE')) throw new EngineError(`native BLAS ${what}: ${err.message}`);
    throw e;
  }
}

function requireAddon(): Addon {
  const a = loadNativeAddon();
  if (!a) throw new EngineError(`native BLAS: ${loadError}`);
  return a;
}

/** Row-major C[b] = op(A[b])·op(B[b]) (+ bias) (relu) on a heap view; byte offsets, strides in floats. */
export interface GemmOperands {
  batch: number;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  aOff: number;
  /** Floats between batch matrices of A (0 broadcasts one matrix). */
  aStride: number;
  bOff: number;
  bStride: number;
  cOff: number;
  /** Byte offset of a [N] bias, or -1. */
  biasOff: number;
  relu: boolean;
}

export function gemmOnHeap(heap: Uint8Array, o: GemmOperands): void {
  const a = requireAddon();
  native('gemm', () => a.gemm(heap, o.batch, +o.transA, +o.transB, o.M, o.N, o.K, o.aOff, o.aStride, o.bOff, o.bStride, o.cOff, o.biasOff, +o.relu));
}

export const CONV_FORWARD = 0;
export const CONV_FILTER_GRAD = 1;
export const CONV_INPUT_GRAD = 2;

/** NHWC convolution geometry (dilation 1). */
export interface ConvGeometry {
  N: number;
  H: number;
  W: number;
  C: number;
  KH: number;
  KW: number;
  CO: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  OH: number;
  OW: number;
}

/**
 * One convolution pass on a heap view (byte offsets): CONV_FORWARD (a = x, b = filter → y, optional
 * bias and relu), CONV_FILTER_GRAD (a = x, b = dy → dW), CONV_INPUT_GRAD (a = dy, b = filter → dx).
 */
export function conv2dOnHeap(heap: Uint8Array, op: number, aOff: number, bOff: number, outOff: number, g: ConvGeometry, biasOff = -1, relu = false): void {
  const a = requireAddon();
  native('conv2d', () => a.conv2d(heap, op, aOff, bOff, outOff, biasOff, g.N, g.H, g.W, g.C, g.KH, g.KW, g.CO, g.strideH, g.strideW, g.padTop, g.padLeft, g.OH, g.OW, +relu));
}

// ---------------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------------
/** The part of tfjs-backend-wasm's BackendWasm the native kernels use. */
interface NativeBackend extends WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  getMemoryOffset(dataId: object): number;
}

interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: NativeBackend;
  attrs: NamedAttrMap;
}

type Kfn = (args: KernelArgs) => TensorInfo | TensorInfo[];

let enabled = false;
const calls = new Map<string, number>();

/** Switches the registered native kernels on or off at run time (off: every call falls through). */
export function setNativeEnabled(on: boolean): void {
  enabled = on && registered;
}

export function nativeEnabled(): boolean {
  return enabled;
}

/** Calls taken by each native kernel so far in this thread (tests check the path was used). */
export function nativeKernelCalls(): Record<string, number> {
  return Object.fromEntries(calls);
}

function count(name: string): void {
  calls.set(name, (calls.get(name) ?? 0) + 1);
}

function off(b: NativeBackend, t: TensorInfo): number {
  return b.getMemoryOffset(t.dataId);
}

function size(shape: readonly number[]): number {
  return shape.reduce((p, v) => p * v, 1);
}

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

function isNhwc(dataFormat: unknown): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

function unitDilation(d: unknown): boolean {
  return d === undefined || d === 1 || (Array.isArray(d) && d.every((v) => v === 1));
}

function convGeometry(info: tf.backend_util.Conv2DInfo): ConvGeometry | null {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.padInfo.top < 0 || info.padInfo.left < 0) return null;
  if (info.outHeight < 1 || info.outWidth < 1 || info.batchSize < 1 || info.inChannels < 1 || info.outChannels < 1) return null;
  return {
    N: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    C: info.inChannels,
    KH: info.filterHeight,
    KW: info.filterWidth,
    CO: info.outChannels,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    OH: info.outHeight,
    OW: info.outWidth,
  };
}

function conv2dForward(fused: boolean): (prev: Kfn) => Kfn {
  const name = fused ? 'FusedConv2D' : 'Conv2D';
  return (prev) => (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    const filter = inputs.filter;
    const bias = fused ? inputs.bias : undefined;
    const act = fused ? ((attrs.activation as string | undefined) ?? 'linear') : 'linear';
    if (
      !enabled ||
      !x ||
      !filter ||
      x.dtype !== 'float32' ||
      filter.dtype !== 'float32' ||
      x.shape.length !== 4 ||
      !isNhwc(attrs.dataFormat) ||
      !unitDilation(attrs.dilations) ||
      (act !== 'linear' && act !== 'relu') ||
      (fused && inputs.preluActivationWeights) ||
      (bias && (bias.dtype !== 'float32' || size(bias.shape) !== filter.shape[3] || bias.shape[bias.shape.length - 1] !== filter.shape[3]))
    ) {
      return prev(args);
    }
    const info = conv2dInfoFromAttrs(x.shape, filter.shape, attrs);
    const g = convGeometry(info);
    if (!g) return prev(args);
    const out = backend.makeOutput(info.outShape.slice(), 'float32');
    conv2dOnHeap(backend.wasm.HEAPU8, CONV_FORWARD, off(backend, x), off(backend, filter), off(backend, out), g, bias ? off(backend, bias) : -1, act === 'relu');
    count(name);
    return out;
  };
}

const conv2dBackpropFilter =
  (prev: Kfn): Kfn =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    const dy = inputs.dy;
    if (!enabled || !x || !dy || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4 || !isNhwc(attrs.dataFormat)) return prev(args);
    const filterShape = attrs.filterShape as [number, number, number, number];
    const info = conv2dInfoFromAttrs(x.shape, filterShape, attrs);
    const g = convGeometry(info);
    if (!g || dy.shape.some((d, i) => d !== info.outShape[i])) return prev(args);
    const out = backend.makeOutput(filterShape.slice(), 'float32');
    conv2dOnHeap(backend.wasm.HEAPU8, CONV_FILTER_GRAD, off(backend, x), off(backend, dy), off(backend, out), g);
    count('Conv2DBackpropFilter');
    return out;
  };

const conv2dBackpropInput =
  (prev: Kfn): Kfn =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const dy = inputs.dy;
    const filter = inputs.filter;
    if (!enabled || !dy || !filter || dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.shape.length !== 4 || !isNhwc(attrs.dataFormat)) {
      return prev(args);
    }
    const inputShape = attrs.inputShape as [number, number, number, number];
    const info = conv2dInfoFromAttrs(inputShape, filter.shape, attrs);
    const g = convGeometry(info);
    if (!g || dy.shape.some((d, i) => d !== info.outShape[i])) return prev(args);
    const out = backend.makeOutput(inputShape.slice(), 'float32');
    conv2dOnHeap(backend.wasm.HEAPU8, CONV_INPUT_GRAD, off(backend, dy), off(backend, filter), off(backend, out), g);
    count('Conv2DBackpropInput');
    return out;
  };

/**
 * Batch dims of a and b (all but the last two) broadcast to the output's; supported when they are
 * equal or one side has a single matrix. Returns [batch, aStride, bStride, outBatchShape] or null.
 */
function batchLayout(a: TensorInfo, b: TensorInfo, M: number, N: number, K: number): [number, number, number, number[]] | null {
  const ab = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const na = size(ab);
  const nb = size(bb);
  const r = Math.max(ab.length, bb.length);
  const pa = [...new Array<number>(r - ab.length).fill(1), ...ab];
  const pb = [...new Array<number>(r - bb.length).fill(1), ...bb];
  const outShape: number[] = [];
  for (let i = 0; i < r; i++) {
    if (pa[i] !== pb[i] && pa[i] !== 1 && pb[i] !== 1) return null;
    outShape.push(Math.max(pa[i], pb[i]));
  }
  const batch = size(outShape);
  if (na === batch && nb === batch && pa.every((v, i) => v === pb[i])) return [batch, M * K, K * N, outShape];
  if (na === 1) return [batch, 0, K * N, outShape];
  if (nb === 1) return [batch, M * K, 0, outShape];
  return null;
}

function matMul(fused: boolean): (prev: Kfn) => Kfn {
  const name = fused ? '_FusedMatMul' : 'BatchMatMul';
  return (prev) => (args) => {
    const { inputs, backend, attrs } = args;
    const a = inputs.a;
    const b = inputs.b;
    const bias = fused ? inputs.bias : undefined;
    const act = fused ? ((attrs.activation as string | undefined) ?? 'linear') : 'linear';
    if (!enabled || !a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return prev(args);
    if ((act !== 'linear' && act !== 'relu') || (fused && inputs.preluActivationWeights)) return prev(args);
    const tA = Boolean(attrs.transposeA);
    const tB = Boolean(attrs.transposeB);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
    const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
    const K2 = tB ? b.shape[rb - 1] : b.shape[rb - 2];
    const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (K !== K2 || M < 1 || N < 1 || K < 1) return prev(args);
    if (bias && (bias.dtype !== 'float32' || size(bias.shape) !== N || bias.shape[bias.shape.length - 1] !== N)) return prev(args);
    const layout = batchLayout(a, b, M, N, K);
    if (!layout) return prev(args);
    const [batch, aStride, bStride, outBatch] = layout;
    const out = backend.makeOutput([...outBatch, M, N], 'float32');
    gemmOnHeap(backend.wasm.HEAPU8, {
      batch,
      transA: tA,
      transB: tB,
      M,
      N,
      K,
      aOff: off(backend, a),
      aStride,
      bOff: off(backend, b),
      bStride,
      cOff: off(backend, out),
      biasOff: bias ? off(backend, bias) : -1,
      relu: act === 'relu',
    });
    count(name);
    return out;
  };
}

function allF32(ts: (TensorInfo | undefined)[]): ts is TensorInfo[] {
  return ts.every((t) => t !== undefined && t.dtype === 'float32');
}

/** Channels-last batch-norm training forward ([y, mean, variance]); see ./batchnorm.ts. */
const bnForward =
  (prev: Kfn): Kfn =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const { x, gamma, beta } = inputs;
    if (!enabled || !allF32([x, gamma, beta]) || !x || !gamma || !beta || x.shape.length < 1) return prev(args);
    const C = x.shape[x.shape.length - 1];
    const M = size(x.shape) / Math.max(C, 1);
    if (C < 1 || M < 1 || size(gamma.shape) !== C || size(beta.shape) !== C) return prev(args);
    const y = backend.makeOutput(x.shape.slice(), 'float32');
    const mean = backend.makeOutput([C], 'float32');
    const variance = backend.makeOutput([C], 'float32');
    const heap = backend.wasm.HEAPU8;
    const eps = attrs.epsilon as number;
    native(BN_FORWARD_KERNEL, () =>
      requireAddon().bnForward(heap, off(backend, x), off(backend, gamma), off(backend, beta), off(backend, y), off(backend, mean), off(backend, variance), M, C, eps),
    );
    count(BN_FORWARD_KERNEL);
    return [y, mean, variance];
  };

/** Channels-last batch-norm gradient ([dx, dgamma, dbeta]). */
const bnGrad =
  (prev: Kfn): Kfn =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const { x, dy, mean, variance, gamma } = inputs;
    if (!enabled || !allF32([x, dy, mean, variance, gamma]) || !x || !dy || !mean || !variance || !gamma || x.shape.length < 1) return prev(args);
    const C = x.shape[x.shape.length - 1];
    const M = size(x.shape) / Math.max(C, 1);
    if (C < 1 || M < 1 || size(dy.shape) !== size(x.shape) || [mean, variance, gamma].some((t) => size(t.shape) !== C)) return prev(args);
    const dx = backend.makeOutput(x.shape.slice(), 'float32');
    const dg = backend.makeOutput([C], 'float32');
    const db = backend.makeOutput([C], 'float32');
    const heap = backend.wasm.HEAPU8;
    const eps = attrs.epsilon as number;
    native(BN_GRAD_KERNEL, () =>
      requireAddon().bnGrad(
        heap,
        off(backend, x),
        off(backend, dy),
        off(backend, mean),
        off(backend, variance),
        off(backend, gamma),
        off(backend, dx),
        off(backend, dg),
        off(backend, db),
        M,
        C,
        eps,
      ),
    );
    count(BN_GRAD_KERNEL);
    return [dx, dg, db];
  };

/** Geometry of a 2×2, stride-2, unpadded max pool of NHWC `x` with gradient `dy`, or null for other pools. */
export function pool2x2Geometry(xShape: readonly number[], dyShape: readonly number[], attrs: NamedAttrMap): [number, number, number, number, number, number] | null {
  if (xShape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const fits = info.effectiveFilterHeight === 2 && info.effectiveFilterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2;
  if (!fits || info.padInfo.top !== 0 || info.padInfo.left !== 0 || OH < 1 || OW < 1 || 2 * OH > H || 2 * OW > W || dyShape.some((d, i) => d !== info.outShape[i])) {
    return null;
  }
  return [N, H, W, C, OH, OW];
}

/** MaxPool of 2×2 windows with stride 2 and no padding (NaN never wins, as on cpu); others fall through. */
const maxPool =
  (prev: Kfn): Kfn =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    if (!enabled || !x || x.dtype !== 'float32' || x.shape.length !== 4 || !isNhwc(attrs.dataFormat)) return prev(args);
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterSize as [number, number] | number,
      attrs.strides as [number, number] | number,
      1,
      attrs.pad as Pad,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const geo = pool2x2Geometry(x.shape, info.outShape, attrs);
    if (!geo) return prev(args);
    const [N, H, W, C, OH, OW] = geo;
    const y = backend.makeOutput(info.outShape.slice(), 'float32');
    const heap = backend.wasm.HEAPU8;
    native('MaxPool', () => requireAddon().maxPool2x2(heap, off(backend, x), off(backend, y), N, H, W, C, OH, OW));
    count('MaxPool');
    return y;
  };

/** MaxPoolGrad of 2×2 windows with stride 2 and no padding (SIMD over channels); others fall through. */
const maxPoolGrad =
  (prev: Kfn): Kfn =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, input: x } = inputs;
    if (!enabled || !allF32([dy, x]) || !dy || !x) return prev(args);
    const geo = pool2x2Geometry(x.shape, dy.shape, attrs);
    if (!geo) return prev(args);
    const [N, H, W, C, OH, OW] = geo;
    const dx = backend.makeOutput(x.shape.slice(), 'float32');
    const heap = backend.wasm.HEAPU8;
    native('MaxPoolGrad', () => requireAddon().maxPoolGrad2x2(heap, off(backend, x), off(backend, dy), off(backend, dx), N, H, W, C, OH, OW));
    count('MaxPoolGrad');
    return dx;
  };

/** Sum over leading axes (bias gradients). */
const sum =
  (prev: Kfn): Kfn =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    const s = enabled && x ? leadingAxesSum(x, attrs) : null;
    if (!x || !s) return prev(args);
    const out = backend.makeOutput(s.outShape, 'float32');
    const heap = backend.wasm.HEAPU8;
    native('Sum', () => requireAddon().sumRows(heap, off(backend, x), off(backend, out), s.M, s.C));
    count('Sum');
    return out;
  };

/**
 * Add of two float32 tensors of the same shape, or of a tensor and a bias over its last axis (either
 * order): the bias add of every conv/dense layer that tfjs does not fuse while training.
 */
const add =
  (prev: Kfn): Kfn =>
  (args) => {
    const { inputs, backend } = args;
    const { a, b } = inputs;
    if (!enabled || !allF32([a, b]) || !a || !b) return prev(args);
    const sa = size(a.shape);
    const sb = size(b.shape);
    if (sa === 0 || sb === 0) return prev(args);
    const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    let big = a;
    let small = b;
    if (!sameShape && sb > sa) {
      big = b;
      small = a;
    }
    const C = big.shape[big.shape.length - 1];
    const M = size(big.shape) / C;
    const trailing = small.shape.length <= big.shape.length && size(small.shape) === C && small.shape.every((d, i) => (i === small.shape.length - 1 ? d === C : d === 1));
    if (!sameShape && !trailing) return prev(args);
    const out = backend.makeOutput(big.shape.slice(), 'float32');
    const heap = backend.wasm.HEAPU8;
    if (sameShape) native('Add', () => requireAddon().addRows(heap, off(backend, a), off(backend, b), off(backend, out), 1, sa));
    else native('Add', () => requireAddon().addRows(heap, off(backend, big), off(backend, small), off(backend, out), M, C));
    count('Add');
    return out;
  };

const relu =
  (prev: Kfn): Kfn =>
  (args) => {
    const { inputs, backend } = args;
    const x = inputs.x;
    if (!enabled || !x || x.dtype !== 'float32' || size(x.shape) === 0) return prev(args);
    const out = backend.makeOutput(x.shape.slice(), 'float32');
    const heap = backend.wasm.HEAPU8;
    native('Relu', () => requireAddon().relu(heap, off(backend, x), off(backend, out), size(x.shape)));
    count('Relu');
    return out;
  };

/** Project kernel: dx = dy·step(x) in one pass (the gradient of Relu; see registerReluGradient). */
export const RELU_GRAD_KERNEL = 'AccelabReluGrad';

const reluGrad: Kfn = ({ inputs, backend }) => {
  const { dy, x } = inputs;
  if (!dy || !x || !allF32([dy, x]) || size(dy.shape) !== size(x.shape)) throw new EngineError(`${RELU_GRAD_KERNEL}: dy and x must be float32 tensors of one size`);
  const out = backend.makeOutput(x.shape.slice(), 'float32');
  const n = size(x.shape);
  if (n === 0) return out;
  const heap = backend.wasm.HEAPU8;
  native(RELU_GRAD_KERNEL, () => requireAddon().reluGrad(heap, off(backend, dy), off(backend, x), off(backend, out), n));
  count(RELU_GRAD_KERNEL);
  return out;
};

/** Project kernel: [dz, db] = [dy·step(y), Σ dz over all axes but the last] in one pass (./conv.ts). */
export const RELU_BIAS_GRAD_KERNEL = 'AccelabReluBiasGrad';

const reluBiasGrad: Kfn = ({ inputs, backend }) => {
  const { dy, y } = inputs;
  if (!dy || !y || !allF32([dy, y]) || size(dy.shape) !== size(y.shape) || y.shape.length < 1 || size(y.shape) === 0) {
    throw new EngineError(`${RELU_BIAS_GRAD_KERNEL}: dy and y must be non-empty float32 tensors of one size`);
  }
  const C = y.shape[y.shape.length - 1];
  const M = size(y.shape) / C;
  const dz = backend.makeOutput(y.shape.slice(), 'float32');
  const db = backend.makeOutput([C], 'float32');
  const heap = backend.wasm.HEAPU8;
  native(RELU_BIAS_GRAD_KERNEL, () => requireAddon().reluBiasGrad(heap, off(backend, dy), off(backend, y), off(backend, dz), off(backend, db), M, C));
  count(RELU_BIAS_GRAD_KERNEL);
  return [dz, db];
};

/**
 * Project kernel: the gradient through relu(z + bias) followed by a 2×2/2 max pool, from the relu
 * output y: [dz, db] = [maxPoolGrad(dy, y)·step(y), Σ dz over all axes but the last] in one pass
 * (./conv.ts; throws for other pools, which the caller checks with pool2x2Geometry).
 */
export const MAXPOOL_RELU_BIAS_GRAD_KERNEL = 'AccelabMaxPoolReluBiasGrad';

const maxPoolReluBiasGrad: Kfn = ({ inputs, backend, attrs }) => {
  const { dy, y } = inputs;
  const geo = dy && y && allF32([dy, y]) ? pool2x2Geometry(y.shape, dy.shape, attrs) : null;
  if (!dy || !y || !geo) throw new EngineError(`${MAXPOOL_RELU_BIAS_GRAD_KERNEL}: float32 NHWC y and dy of a 2×2, stride-2, unpadded max pool are required`);
  const [N, H, W, C, OH, OW] = geo;
  const dz = backend.makeOutput(y.shape.slice(), 'float32');
  const db = backend.makeOutput([C], 'float32');
  const heap = backend.wasm.HEAPU8;
  native(MAXPOOL_RELU_BIAS_GRAD_KERNEL, () =>
    requireAddon().maxPoolReluBiasGrad2x2(heap, off(backend, y), off(backend, dy), off(backend, dz), off(backend, db), N, H, W, C, OH, OW),
  );
  count(MAXPOOL_RELU_BIAS_GRAD_KERNEL);
  return [dz, db];
};

function sameSizeF32(ts: (TensorInfo | undefined)[], n: number): ts is TensorInfo[] {
  return allF32(ts) && ts.every((t) => size(t.shape) === n);
}

/** SGD update of one variable, x + c·g (c = −learning rate), bit-identical to tfjs's (./optimizers.ts). */
const sgdUpdate: Kfn = ({ inputs, backend, attrs }) => {
  const { x, g } = inputs;
  const n = x ? size(x.shape) : 0;
  if (!x || !g || n === 0 || !sameSizeF32([x, g], n)) throw new EngineError(`${SGD_UPDATE_KERNEL}: x and g must be non-empty float32 tensors of one size`);
  const out = backend.makeOutput(x.shape.slice(), 'float32');
  const heap = backend.wasm.HEAPU8;
  native(SGD_UPDATE_KERNEL, () => requireAddon().sgdUpdate(heap, off(backend, x), off(backend, g), off(backend, out), n, attrs.c as number));
  count(SGD_UPDATE_KERNEL);
  return out;
};

/** Adam update of one variable and its moments ([x, m, v]), bit-identical to tfjs's (./optimizers.ts). */
const adamUpdate: Kfn = ({ inputs, backend, attrs }) => {
  const { x, g, m, v, s1, s2 } = inputs;
  const n = x ? size(x.shape) : 0;
  if (!x || !g || !m || !v || !s1 || !s2 || n === 0 || !sameSizeF32([x, g, m, v], n) || !sameSizeF32([s1, s2], 1)) {
    throw new EngineError(`${ADAM_UPDATE_KERNEL}: x, g, m, v must be non-empty float32 tensors of one size, s1 and s2 float32 scalars`);
  }
  const xNew = backend.makeOutput(x.shape.slice(), 'float32');
  const mNew = backend.makeOutput(x.shape.slice(), 'float32');
  const vNew = backend.makeOutput(x.shape.slice(), 'float32');
  const heap = backend.wasm.HEAPU8;
  const b1 = attrs.beta1 as number;
  const b2 = attrs.beta2 as number;
  native(ADAM_UPDATE_KERNEL, () =>
    requireAddon().adamUpdate(
      heap,
      ...[x, g, m, v, s1, s2, xNew, mNew, vNew].map((t) => off(backend, t)),
      n,
      b1,
      1 - b1,
      b2,
      1 - b2,
      attrs.epsilon as number,
      -(attrs.learningRate as number),
    ),
  );
  count(ADAM_UPDATE_KERNEL);
  return [xNew, mNew, vNew];
};

/**
 * Largest reduction KH·KW·C for which the native convolutions use their direct small-K kernels
 * (forward; the filter gradient up to 16) instead of im2col + sgemm; 0 forces im2col + sgemm (the
 * reference twin, for tests). Process-wide. Returns the previous value.
 */
export function setNativeSmallConvK(k: number): number {
  return requireAddon().setSmallConvK(k);
}

/**
 * Replaces tfjs's Relu gradient, dy·cast(step(x)) (three kernels over the activation), by the one-pass
 * native kernel while the native path is on; the stock formula otherwise (other backends, native off,
 * other dtypes).
 */
function registerReluGradient(): void {
  tf.registerKernel({ kernelName: RELU_GRAD_KERNEL, backendName: 'wasm', kernelFunc: reluGrad as unknown as KernelFunc });
  tf.registerKernel({ kernelName: RELU_BIAS_GRAD_KERNEL, backendName: 'wasm', kernelFunc: reluBiasGrad as unknown as KernelFunc });
  tf.registerKernel({ kernelName: MAXPOOL_RELU_BIAS_GRAD_KERNEL, backendName: 'wasm', kernelFunc: maxPoolReluBiasGrad as unknown as KernelFunc });
  tf.registerKernel({ kernelName: SGD_UPDATE_KERNEL, backendName: 'wasm', kernelFunc: sgdUpdate as unknown as KernelFunc });
  tf.registerKernel({ kernelName: ADAM_UPDATE_KERNEL, backendName: 'wasm', kernelFunc: adamUpdate as unknown as KernelFunc });
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const g = dy as tf.Tensor;
      return {
        x: () =>
          enabled && tf.getBackend() === 'wasm' && x.dtype === 'float32' && g.dtype === 'float32'
            ? (tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: g, x }, {}) as tf.Tensor)
            : tf.mul(g, tf.cast(tf.step(x), 'float32')),
      };
    },
  });
}

const WRAPPERS: Record<string, (prev: Kfn) => Kfn> = {
  Conv2D: conv2dForward(false),
  FusedConv2D: conv2dForward(true),
  Conv2DBackpropFilter: conv2dBackpropFilter,
  Conv2DBackpropInput: conv2dBackpropInput,
  BatchMatMul: matMul(false),
  _FusedMatMul: matMul(true),
  [BN_FORWARD_KERNEL]: bnForward,
  [BN_GRAD_KERNEL]: bnGrad,
  Sum: sum,
  Add: add,
  Relu: relu,
  MaxPool: maxPool,
  MaxPoolGrad: maxPoolGrad,
};

/** Names of the kernels the native path wraps or adds. */
export const NATIVE_KERNELS = [...Object.keys(WRAPPERS), RELU_GRAD_KERNEL, RELU_BIAS_GRAD_KERNEL, MAXPOOL_RELU_BIAS_GRAD_KERNEL, SGD_UPDATE_KERNEL, ADAM_UPDATE_KERNEL];

let registered = false;

/**
 * Loads the addon and, when it loads, wraps the currently registered `wasm` kernels (stock or
 * project, see ./wasm.ts) with the native ones, keeping their setup functions. Call after the
 * project's wasm kernels are registered and before the backend is initialized. Returns whether
 * the native kernels are in use.
 */
export function registerNativeKernels(): boolean {
  if (registered) return enabled;
  if (!loadNativeAddon()) return false;
  registered = true;
  for (const name of Object.keys(WRAPPERS)) {
    const prev = tf.getKernel(name, 'wasm');
    if (!prev) throw new EngineError(`wasm kernel ${name} is not registered: reinstall @tensorflow/tfjs-backend-wasm 4.22.0`);
    const prevFn = prev.kernelFunc as unknown as Kfn;
    tf.unregisterKernel(name, 'wasm');
    const config: KernelConfig = {
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: WRAPPERS[name](prevFn) as unknown as KernelFunc,
      ...(prev.setupFunc ? { setupFunc: prev.setupFunc } : {}),
    };
    tf.registerKernel(config);
  }
  registerReluGradient();
  installFusedOptimizers(() => enabled && tf.getBackend() === 'wasm');
  enabled = true;
  return true;
}

/** The native path's status for this thread's engine (doctor, benchmark records). */
export function nativeStatus(choice: NativeChoice): NativeStatus {
  const env = { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, OPENBLAS_L2_SIZE: process.env.OPENBLAS_L2_SIZE ?? null };
  const a = loaded ? addon : null;
  const reason = enabled ? null : choice === 'off' ? 'switched off (ACCELAB_NATIVE=0 / --native off)' : (loadError ?? 'the engine is not on wasm');
  return { choice, enabled, reason, blas: a ? a.info() : null, env, kernels: enabled ? [...NATIVE_KERNELS] : [] };
}
