/**
 * Project-owned training kernels for the tfjs `wasm` backend.
 *
 * Stock tfjs-backend-wasm 4.22.0 lacks Conv2DBackpropFilter and the depthwise-convolution
 * gradients, and runs Conv2DBackpropInput, transposed BatchMatMul, MaxPoolGrad and Tile on slow
 * scalar paths. Each kernel here is either rewritten onto the fast XNNPACK kernels the backend
 * already has (Conv2D, untransposed BatchMatMul, Transpose) or is a tight typed-array loop working
 * directly on the wasm heap:
 *
 * - Conv2DBackpropFilter: dW[kh,kw,ci,co] = Σ x[b, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[b,oh,ow,co], which
 *   is a Conv2D of xᵀ ([ci,H,W,b], batch and channels swapped) with dyᵀ ([oh,ow,b,co]) as the
 *   filter, dilated by the stride. The result [ci,kh,kw,co] is permuted (and cropped) to [kh,kw,ci,co].
 *   For 1×1 kernels and few input channels (kh·kw·ci ≤ 32) an im2col matmul is faster and used instead.
 * - Conv2DBackpropInput: a stride-1 Conv2D of dy with the spatially flipped, in/out-swapped filter and
 *   padding (k−1−pad); for strides > 1 split into stride² phases (one small Conv2D each, no zero work),
 *   falling back to a Conv2D of the zero-dilated dy for paddings the phases do not cover.
 * - BatchMatMul / _FusedMatMul with transposed operands: explicit Transpose, then the untransposed
 *   (XNNPACK) kernel. Batched _FusedMatMul is decomposed (the stock kernel is wrong for batch > 1).
 * - MaxPoolGrad, Tile, DepthwiseConv2dNativeBackpropFilter/Input: loops on typed-array views of
 *   the wasm heap.
 * - Identity, and Cast to the same dtype: share the data by reference count instead of copying it.
 * - UnsortedSegmentSum (missing on stock wasm; gradient of tf.gather): a typed-array loop.
 * - Sum over leading axes (bias gradients) and 2×2/stride-2 MaxPoolGrad: single-pass typed-array loops.
 * - AccelabBatchNormForward / AccelabBatchNormGrad: project-defined kernels behind the fused batch
 *   norm of ./batchnorm.ts (channel-major blocked loops, float64 accumulators).
 *
 * Heap views are taken only after every allocation of a kernel (an allocation can grow the wasm
 * memory, which detaches older views). Intermediates are freed before returning.
 * Semantics follow the tfjs `cpu` backend (e.g. MaxPoolGrad routes the gradient to the first
 * maximum of each window in row-major order); test/core/kernels.test.ts checks each against it.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { EngineError } from '../errors.js';

type TypedArray = Float32Array | Int32Array | Uint8Array;

/** The part of tfjs-backend-wasm's BackendWasm these kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: WasmBackendLike;
  attrs: NamedAttrMap;
}

type Kfn = (args: KernelArgs) => TensorInfo;

function callKernel(name: string, backend: WasmBackendLike, inputs: Record<string, TensorInfo | undefined>, attrs: object): TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new EngineError(`wasm kernel ${name} is not registered: reinstall @tensorflow/tfjs-backend-wasm 4.22.0`);
  const out = (k.kernelFunc as unknown as (a: object) => TensorInfo | TensorInfo[])({ inputs, backend, attrs });
  return Array.isArray(out) ? out[0] : out;
}

function f32(backend: WasmBackendLike, t: TensorInfo): Float32Array {
  const a = backend.typedArrayFromHeap(t);
  if (!(a instanceof Float32Array)) throw new EngineError(`expected a float32 tensor, got ${t.dtype}`);
  return a;
}

function req(inputs: Record<string, TensorInfo | undefined>, name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new EngineError(`kernel input '${name}' is missing`);
  return t;
}

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

function channelsLastOnly(dataFormat: unknown, kernel: string): void {
  if (dataFormat === 'NCHW' || dataFormat === 'channelsFirst') {
    throw new EngineError(`${kernel} on wasm supports only channels-last (NHWC) data`);
  }
}

/**
 * Channels-last conv geometry (dilation 1) of a conv kernel or gradient from its attributes
 * (strides, pad, dimRoundingMode), for input shape `xShape` and filter shape `filterShape`.
 */
export function conv2dInfoFromAttrs(xShape: readonly number[], filterShape: readonly number[], attrs: NamedAttrMap): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter
// ---------------------------------------------------------------------------------------------
/**
 * Few input channels (a network's first layer): the conv formulation degenerates to a GEMM with
 * ≤ 9 rows, which XNNPACK runs slowly; there the transposed im2col matrix is small, so
 * dW[(kh,kw,c), co] = colᵀ[(kh,kw,c), (n,oh,ow)] · dy[(n,oh,ow), co] as one untransposed matmul.
 */
/** The kh·kw·ci limit of the im2col filter-gradient path (1×1 filters always take it). */
const IM2COL_MAX_ROWS = 32;

function filterGradIm2col(x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo, backend: WasmBackendLike): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const K = KH * KW * C;
  const P = N * OH * OW;
  // With several channels, read from x transposed to [C, N, H, W] (native Transpose) so that every
  // col row is gathered from one contiguous plane.
  const xT = C > 1 ? callKernel('Transpose', backend, { x }, { perm: [3, 0, 1, 2] }) : x;
  const col = backend.makeOutput([1, K, P], 'float32');
  {
    const xv = f32(backend, xT);
    const cv = f32(backend, col);
    const plane = N * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        // Output columns whose input column lies inside the image: [owLo, owHi).
        const owLo = Math.min(OW, Math.max(0, Math.ceil((left - kw) / sw)));
        const owHi = Math.max(owLo, Math.min(OW, Math.floor((W - 1 + left - kw) / sw) + 1));
        for (let c = 0; c < C; c++) {
          let d = ((kh * KW + kw) * C + c) * P;
          const cBase = c * plane;
          for (let n = 0; n < N; n++) {
            for (let oh = 0; oh < OH; oh++, d += OW) {
              const ih = oh * sh + kh - top;
              if (ih < 0 || ih >= H) {
                cv.fill(0, d, d + OW);
                continue;
              }
              const rowBase = cBase + (n * H + ih) * W + kw - left;
              for (let ow = 0; ow < owLo; ow++) cv[d + ow] = 0;
              for (let ow = owLo; ow < owHi; ow++) cv[d + ow] = xv[rowBase + ow * sw];
              for (let ow = owHi; ow < OW; ow++) cv[d + ow] = 0;
            }
          }
        }
      }
    }
  }
  if (xT !== x) backend.disposeData(xT.dataId);
  const dy3: TensorInfo = { dataId: dy.dataId, shape: [1, P, CO], dtype: 'float32' };
  const out = callKernel('BatchMatMul', backend, { a: col, b: dy3 }, { transposeA: false, transposeB: false });
  backend.disposeData(col.dataId);
  return { dataId: out.dataId, shape: [KH, KW, C, CO], dtype: 'float32' };
}

/** When the stride-1 filter gradient uses the swapped formulation (x as the filter). */
const SWAPPED_FILTER_GRAD = (C: number, CO: number): boolean => C <= CO;

/**
 * Stride-1 filter gradient with the roles swapped: a Conv2D whose batch is CO (input dyᵀ
 * [co, OH, OW, n], padded by KH−1−top / KW−1−left) and whose filter is x arranged [H, W, n, ci];
 * the output O[co, a, b, ci] is dW[KH−1−a, KW−1−b, ci, co]. The filter XNNPACK packs per call is
 * then x (H·W·N·C values) instead of dy (OH·OW·N·CO), cheaper when C ≤ CO.
 */
function filterGradSwapped(x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo, backend: WasmBackendLike): TensorInfo {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dyI = callKernel('Transpose', backend, { x: dy }, { perm: [3, 1, 2, 0] }); // [CO, OH, OW, N]
  const xF = callKernel('Transpose', backend, { x }, { perm: [1, 2, 0, 3] }); // [H, W, N, C]
  const pt = KH - 1 - top;
  const pl = KW - 1 - left;
  const r = callKernel(
    'Conv2D',
    backend,
    { x: dyI, filter: xF },
    {
      strides: [1, 1],
      dilations: [1, 1],
      pad: [
        [0, 0],
        [pt, KH + H - 1 - OH - pt],
        [pl, KW + W - 1 - OW - pl],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
    },
  ); // [CO, KH, KW, C]
  backend.disposeData(dyI.dataId);
  backend.disposeData(xF.dataId);
  const out = backend.makeOutput([KH, KW, C, CO], 'float32');
  const src = f32(backend, r);
  const dst = f32(backend, out);
  for (let o = 0; o < CO; o++) {
    for (let a = 0; a < KH; a++) {
      for (let b = 0; b < KW; b++) {
        const s0 = ((o * KH + a) * KW + b) * C;
        const d0 = ((KH - 1 - a) * KW + (KW - 1 - b)) * C * CO + o;
        for (let c = 0; c < C; c++) dst[d0 + c * CO] = src[s0 + c];
      }
    }
  }
  backend.disposeData(r.dataId);
  return out;
}

const conv2dBackpropFilter: Kfn = ({ inputs, backend, attrs }) => {
  const x = req(inputs, 'x');
  const dy = req(inputs, 'dy');
  channelsLastOnly(attrs.dataFormat, 'Conv2DBackpropFilter');
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = conv2dInfoFromAttrs(x.shape, filterShape, attrs);
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  if (top < 0 || left < 0) throw new EngineError('Conv2DBackpropFilter on wasm: negative explicit padding is not supported');
  // Padded extent the windows actually read; extra rows/cols (bottom/right < 0) are cropped after.
  const bottom = (OH - 1) * sh + KH - H - top;
  const right = (OW - 1) * sw + KW - W - left;
  const pb = Math.max(bottom, 0);
  const pr = Math.max(right, 0);
  if (KH * KW * C <= IM2COL_MAX_ROWS || (KH === 1 && KW === 1)) return filterGradIm2col(x, dy, info, backend);
  // xT[c,h,w,n] = x[n,h,w,c] and dyT[oh,ow,n,co] = dy[n,oh,ow,co] by the stock (native) Transpose,
  // several times faster than JS loops over the wasm heap.
  if (sh === 1 && sw === 1 && SWAPPED_FILTER_GRAD(C, CO) && bottom <= KH - 1 && right <= KW - 1 && top <= KH - 1 && left <= KW - 1) {
    return filterGradSwapped(x, dy, info, backend);
  }
  const xT = callKernel('Transpose', backend, { x }, { perm: [3, 1, 2, 0] });
  const dyT = callKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  const r = callKernel(
    'Conv2D',
    backend,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      dilations: [sh, sw],
      pad: [
        [0, 0],
        [top, pb],
        [left, pr],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
    },
  ); // [C, KH + pb - bottom, KW + pr - right, CO]
  backend.disposeData(xT.dataId);
  backend.disposeData(dyT.dataId);
  const rH = r.shape[1];
  const rW = r.shape[2];
  const out = backend.makeOutput([KH, KW, C, CO], 'float32');
  const src = f32(backend, r);
  const dst = f32(backend, out);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      for (let c = 0; c < C; c++) {
        const s = ((c * rH + kh) * rW + kw) * CO;
        const d = ((kh * KW + kw) * C + c) * CO;
        for (let o = 0; o < CO; o++) dst[d + o] = src[s + o];
      }
    }
  }
  backend.disposeData(r.dataId);
  return out;
};

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput
// ---------------------------------------------------------------------------------------------
interface Phase {
  /** Filter taps of this phase: k = p + s·j, j < J. */
  p: number;
  J: number;
  /** Output index q ↦ input index q·s + p − pad; valid q in [qMin, qMin + Q). */
  qMin: number;
  Q: number;
  padBefore: number;
  padAfter: number;
}

function phases(s: number, K: number, pad: number, inSize: number, outSize: number): Phase[] | null {
  const out: Phase[] = [];
  for (let p = 0; p < s; p++) {
    const J = Math.max(0, Math.ceil((K - p) / s));
    const qMin = Math.ceil((pad - p) / s);
    const qMax = Math.floor((inSize - 1 + pad - p) / s);
    const Q = qMax - qMin + 1;
    const padBefore = J - 1 - qMin;
    const padAfter = Q + J - 1 - outSize - padBefore;
    if (J > 0 && Q > 0 && (padBefore < 0 || padAfter < 0)) return null;
    out.push({ p, J, qMin, Q, padBefore, padAfter });
  }
  return out;
}

/**
 * Strided input gradient by phase decomposition: the input rows with (ih + pad) ≡ p (mod s) see
 * only the filter taps k ≡ p (mod s), so each of the sh·sw phases is a stride-1 Conv2D of the
 * (undilated) dy with a flipped sub-filter, scattered into dx. Avoids the s² zero work of the
 * dilated formulation. Returns null for paddings it does not cover (the caller falls back).
 */
function inputGradPhased(dy: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo, backend: WasmBackendLike): TensorInfo | null {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const ph = phases(sh, KH, info.padInfo.top, H, OH);
  const pw = phases(sw, KW, info.padInfo.left, W, OW);
  if (!ph || !pw) return null;
  const out = backend.makeOutput([N, H, W, C], 'float32');
  f32(backend, out).fill(0);
  for (const a of ph) {
    for (const b of pw) {
      if (a.J === 0 || b.J === 0 || a.Q <= 0 || b.Q <= 0) continue;
      // Sub-filter, flipped and in/out swapped: f[j', i', co, c] = w[a.p + sh(J−1−j'), b.p + sw(J−1−i'), c, co].
      const sub = backend.makeOutput([a.J, b.J, CO, C], 'float32');
      {
        const w = f32(backend, filter);
        const f = f32(backend, sub);
        for (let j = 0; j < a.J; j++) {
          const kh = a.p + sh * (a.J - 1 - j);
          for (let i = 0; i < b.J; i++) {
            const kw = b.p + sw * (b.J - 1 - i);
            const sBase = (kh * KW + kw) * C * CO;
            const dBase = (j * b.J + i) * CO * C;
            for (let c = 0; c < C; c++) for (let o = 0; o < CO; o++) f[dBase + o * C + c] = w[sBase + c * CO + o];
          }
        }
      }
      const r = callKernel(
        'Conv2D',
        backend,
        { x: dy, filter: sub },
        {
          strides: [1, 1],
          dilations: [1, 1],
          pad: [
            [0, 0],
            [a.padBefore, a.padAfter],
            [b.padBefore, b.padAfter],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
        },
      ); // [N, a.Q, b.Q, C]
      backend.disposeData(sub.dataId);
      const src = f32(backend, r);
      const dst = f32(backend, out);
      for (let n = 0; n < N; n++) {
        for (let qh = 0; qh < a.Q; qh++) {
          const ih = (a.qMin + qh) * sh + a.p - info.padInfo.top;
          for (let qw = 0; qw < b.Q; qw++) {
            const iw = (b.qMin + qw) * sw + b.p - info.padInfo.left;
            const s0 = ((n * a.Q + qh) * b.Q + qw) * C;
            const d0 = ((n * H + ih) * W + iw) * C;
            for (let c = 0; c < C; c++) dst[d0 + c] = src[s0 + c];
          }
        }
      }
      backend.disposeData(r.dataId);
    }
  }
  return out;
}

const conv2dBackpropInput: Kfn = ({ inputs, backend, attrs }) => {
  const dy = req(inputs, 'dy');
  const filter = req(inputs, 'filter');
  channelsLastOnly(attrs.dataFormat, 'Conv2DBackpropInput');
  const inputShape = attrs.inputShape as [number, number, number, number];
  const info = conv2dInfoFromAttrs(inputShape, filter.shape, attrs);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  if (sh > 1 || sw > 1) {
    const phased = inputGradPhased(dy, filter, info, backend);
    if (phased) return phased;
  }
  const pt = KH - 1 - info.padInfo.top;
  const pl = KW - 1 - info.padInfo.left;
  const Hd = (OH - 1) * sh + 1;
  const Wd = (OW - 1) * sw + 1;
  const pbot = H + KH - 1 - pt - Hd;
  const pright = W + KW - 1 - pl - Wd;
  if (pt < 0 || pl < 0 || pbot < 0 || pright < 0) {
    throw new EngineError('Conv2DBackpropInput on wasm: this padding/stride combination is not supported');
  }
  // Flipped filter with in/out channels swapped: wf[kh,kw,co,c] = w[KH-1-kh, KW-1-kw, c, co].
  const wf = backend.makeOutput([KH, KW, CO, C], 'float32');
  let dyd: TensorInfo = dy;
  const dilated = sh !== 1 || sw !== 1;
  if (dilated) dyd = backend.makeOutput([N, Hd, Wd, CO], 'float32');
  {
    const w = f32(backend, filter);
    const f = f32(backend, wf);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const sBase = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * C * CO;
        const dBase = (kh * KW + kw) * CO * C;
        for (let c = 0; c < C; c++) {
          for (let o = 0; o < CO; o++) f[dBase + o * C + c] = w[sBase + c * CO + o];
        }
      }
    }
    if (dilated) {
      const g = f32(backend, dy);
      const d = f32(backend, dyd);
      d.fill(0);
      for (let b = 0; b < N; b++) {
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const s = ((b * OH + oh) * OW + ow) * CO;
            const t = ((b * Hd + oh * sh) * Wd + ow * sw) * CO;
            for (let o = 0; o < CO; o++) d[t + o] = g[s + o];
          }
        }
      }
    }
  }
  const out = callKernel(
    'Conv2D',
    backend,
    { x: dyd, filter: wf },
    {
      strides: [1, 1],
      dilations: [1, 1],
      pad: [
        [0, 0],
        [pt, pbot],
        [pl, pright],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
    },
  );
  backend.disposeData(wf.dataId);
  if (dilated) backend.disposeData(dyd.dataId);
  return out;
};

// ---------------------------------------------------------------------------------------------
// BatchMatMul / _FusedMatMul with transposed operands
// ---------------------------------------------------------------------------------------------
function swapLast(rank: number): number[] {
  const p = Array.from({ length: rank }, (_, i) => i);
  p[rank - 1] = rank - 2;
  p[rank - 2] = rank - 1;
  return p;
}

const ACTIVATION_KERNELS: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu' };

/**
 * Stock wasm _FusedMatMul gives wrong results when the batch dimension is > 1 (the bias/activation
 * epilogue is applied per batch incorrectly), so that case is decomposed into BatchMatMul, Add and
 * the activation kernel. Rank-2 products (dense layers) keep the fused kernel.
 */
const fusedMatMulBatched: Kfn = ({ inputs, backend, attrs }) => {
  const a = req(inputs, 'a');
  const b = req(inputs, 'b');
  let y = callKernel('BatchMatMul', backend, { a, b }, { transposeA: attrs.transposeA, transposeB: attrs.transposeB });
  const step = (next: TensorInfo): void => {
    backend.disposeData(y.dataId);
    y = next;
  };
  if (inputs.bias) step(callKernel('Add', backend, { a: y, b: inputs.bias }, {}));
  const act = (attrs.activation as string | undefined) ?? 'linear';
  if (act !== 'linear') {
    const k = ACTIVATION_KERNELS[act];
    if (!k) throw new EngineError(`_FusedMatMul activation '${act}' is not supported on wasm`);
    if (act === 'prelu') step(callKernel(k, backend, { x: y, alpha: req(inputs, 'preluActivationWeights') }, {}));
    else step(callKernel(k, backend, { x: y }, act === 'leakyrelu' ? { alpha: attrs.leakyreluAlpha ?? 0.2 } : {}));
  }
  return y;
};

function batchOf(t: TensorInfo): number {
  return t.shape.slice(0, -2).reduce((p, v) => p * v, 1);
}

function untransposed(stock: Kfn, fused: boolean): Kfn {
  return ({ inputs, backend, attrs }) => {
    if (fused && (batchOf(req(inputs, 'a')) > 1 || batchOf(req(inputs, 'b')) > 1)) return fusedMatMulBatched({ inputs, backend, attrs });
    if (!attrs.transposeA && !attrs.transposeB) return stock({ inputs, backend, attrs });
    const a = req(inputs, 'a');
    const b = req(inputs, 'b');
    if (!fused && !attrs.transposeA && attrs.transposeB && a.shape.length === b.shape.length && batchOf(a) === 1 && batchOf(b) === 1) {
      // a[M,K]·b[N,K]ᵀ: XNNPACK packs its right operand on every call. When b is the big one (a
      // dense layer's input gradient dy·Wᵀ), compute cᵀ = b·aᵀ instead (packs aᵀ) and transpose
      // the small result back.
      const r = a.shape.length;
      const [M, K] = a.shape.slice(-2);
      const N = b.shape[r - 2];
      if (2 * M * K + M * N < N * K) {
        const aT = callKernel('Transpose', backend, { x: a }, { perm: swapLast(r) });
        const cT = stock({ inputs: { a: b, b: aT }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
        backend.disposeData(aT.dataId);
        const c = callKernel('Transpose', backend, { x: cT }, { perm: swapLast(r) });
        backend.disposeData(cT.dataId);
        return c;
      }
    }
    const tmp: TensorInfo[] = [];
    let a2 = a;
    let b2 = b;
    if (attrs.transposeA) {
      a2 = callKernel('Transpose', backend, { x: a }, { perm: swapLast(a.shape.length) });
      tmp.push(a2);
    }
    if (attrs.transposeB) {
      b2 = callKernel('Transpose', backend, { x: b }, { perm: swapLast(b.shape.length) });
      tmp.push(b2);
    }
    try {
      return stock({ inputs: { ...inputs, a: a2, b: b2 }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of tmp) backend.disposeData(t.dataId);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad
// ---------------------------------------------------------------------------------------------
/**
 * MaxPoolGrad for 2×2 windows, stride 2, no padding (windows tile the input; a trailing odd row or
 * column is outside every window). One pass: each window's four inputs are compared in row-major
 * order (first maximum wins, as on cpu) and all four dx entries are written at once, so dx needs no
 * separate zero fill except for the uncovered trailing row/column.
 */
export function maxPoolGrad2x2(x: Float32Array, g: Float32Array, dx: Float32Array, N: number, H: number, W: number, C: number, OH: number, OW: number): void {
  const rowLen = W * C;
  if (2 * OH < H || 2 * OW < W) dx.fill(0);
  for (let b = 0; b < N; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const r0 = (b * H + 2 * oh) * rowLen;
      const r1 = r0 + rowLen;
      let gi = (b * OH + oh) * OW * C;
      for (let ow = 0; ow < OW; ow++) {
        const a0 = r0 + 2 * ow * C;
        const b0 = r1 + 2 * ow * C;
        for (let c = 0; c < C; c++, gi++) {
          const i00 = a0 + c;
          const i01 = i00 + C;
          const i10 = b0 + c;
          const i11 = i10 + C;
          const v00 = x[i00];
          const v01 = x[i01];
          const v10 = x[i10];
          const v11 = x[i11];
          dx[i00] = 0;
          dx[i01] = 0;
          dx[i10] = 0;
          dx[i11] = 0;
          const fin = v00 + v01 + v10 + v11;
          let bi: number;
          if (fin - fin === 0) {
            // All finite: branch-free argmax (comparisons as 0/1, values re-read by index).
            // Strict '>' keeps the first maximum in row-major order on ties.
            const ta = +(v01 > v00);
            const tb = +(v11 > v10);
            const ia = i00 + ta * C;
            const ib = i10 + tb * C;
            const tc = +(x[ib] > x[ia]);
            bi = ia + tc * (ib - ia);
          } else {
            // NaN or ±Infinity present: the running '>' from −∞ of the cpu backend.
            let best = Number.NEGATIVE_INFINITY;
            bi = -1;
            if (v00 > best) {
              best = v00;
              bi = i00;
            }
            if (v01 > best) {
              best = v01;
              bi = i01;
            }
            if (v10 > best) {
              best = v10;
              bi = i10;
            }
            if (v11 > best) bi = i11;
          }
          if (bi >= 0) dx[bi] = g[gi];
        }
      }
    }
  }
}

const maxPoolGrad: Kfn = ({ inputs, backend, attrs }) => {
  const dy = req(inputs, 'dy');
  const x = req(inputs, 'input');
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: KH, effectiveFilterWidth: KW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = backend.makeOutput(x.shape.slice(), 'float32');
  const xv = f32(backend, x);
  const g = f32(backend, dy);
  const dx = f32(backend, out);
  if (KH === 2 && KW === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && 2 * OH <= H && 2 * OW <= W) {
    maxPoolGrad2x2(xv, g, dx, N, H, W, C, OH, OW);
    return out;
  }
  dx.fill(0);
  // Per window and channel a scalar running max in registers (first maximum wins, as on cpu);
  // consecutive channels read consecutive addresses.
  for (let b = 0; b < N; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const r0 = oh * sh - top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(H, r0 + KH);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = ow * sw - left;
        const qMin = Math.max(0, c0);
        const qMax = Math.min(W, c0 + KW);
        const gBase = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          let best = Number.NEGATIVE_INFINITY;
          let bi = -1;
          for (let r = rMin; r < rMax; r++) {
            let i = ((b * H + r) * W + qMin) * C + c;
            for (let q = qMin; q < qMax; q++, i += C) {
              const v = xv[i];
              if (v > best) {
                best = v;
                bi = i;
              }
            }
          }
          if (bi >= 0) dx[bi] += g[gBase + c];
        }
      }
    }
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// Sum over leading axes (bias gradients)
// ---------------------------------------------------------------------------------------------
/**
 * out[c] = Σ_m x[m·C + c] for x viewed as [M, C], float64 accumulation. This is the gradient of a
 * broadcast bias add (Sum over N, H, W of an NHWC activation), which the stock kernel runs as a
 * Transpose followed by an inner-axis reduction.
 */
export function sumLeadingInto(x: Float32Array, M: number, C: number, out: Float32Array): void {
  // Blocks of R rows (≤ 16 KiB, L1-resident), swept once per channel with four independent
  // float64 accumulators (rows i, i+1, i+2, i+3) to hide the add latency.
  const R = Math.max(4, Math.floor(4096 / C) & ~3);
  const acc = new Float64Array(C);
  const C2 = 2 * C;
  const C3 = 3 * C;
  const C4 = 4 * C;
  for (let i0 = 0; i0 < M; i0 += R) {
    const i1 = Math.min(M, i0 + R);
    const n4 = i0 + ((i1 - i0) & ~3);
    for (let c = 0; c < C; c++) {
      let a = 0;
      let b = 0;
      let d = 0;
      let e = 0;
      let k = i0 * C + c;
      for (let i = i0; i < n4; i += 4, k += C4) {
        a += x[k];
        b += x[k + C];
        d += x[k + C2];
        e += x[k + C3];
      }
      for (let i = n4; i < i1; i++, k += C) a += x[k];
      acc[c] += a + b + d + e;
    }
  }
  for (let c = 0; c < C; c++) out[c] = acc[c];
}

/**
 * A float32 Sum over the leading axes 0..k−1 (k < rank) as [M, C] → [C] rows, with its output shape;
 * null for other reductions.
 */
export function leadingAxesSum(x: TensorInfo, attrs: NamedAttrMap): { M: number; C: number; outShape: number[] } | null {
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank < 2) return null;
  const raw = attrs.axis as number | number[] | undefined;
  const axes = (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  const k = axes.length;
  if (k === 0 || k >= rank || !axes.every((a, i) => a === i)) return null;
  const M = x.shape.slice(0, k).reduce((p, v) => p * v, 1);
  const inner = x.shape.slice(k);
  const C = inner.reduce((p, v) => p * v, 1);
  if (M <= 1 || C <= 0) return null;
  return { M, C, outShape: attrs.keepDims ? [...x.shape.slice(0, k).map(() => 1), ...inner] : inner };
}

function sumKernel(stock: Kfn): Kfn {
  return ({ inputs, backend, attrs }) => {
    const x = req(inputs, 'x');
    const s = leadingAxesSum(x, attrs);
    if (!s) return stock({ inputs, backend, attrs });
    const out = backend.makeOutput(s.outShape, 'float32');
    sumLeadingInto(f32(backend, x), s.M, s.C, f32(backend, out));
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Tile
// ---------------------------------------------------------------------------------------------
/** Tiles `src` (shape `shape`) by `reps` into `dst` (plain loops and block copies). */
export function tileInto(src: TypedArray, shape: readonly number[], reps: readonly number[], dst: TypedArray): void {
  const r = shape.length;
  if (r === 0) {
    dst[0] = src[0];
    return;
  }
  const inStride = new Array<number>(r);
  const outStride = new Array<number>(r);
  inStride[r - 1] = 1;
  outStride[r - 1] = 1;
  for (let d = r - 2; d >= 0; d--) {
    inStride[d] = inStride[d + 1] * shape[d + 1];
    outStride[d] = outStride[d + 1] * shape[d + 1] * reps[d + 1];
  }
  const build = (d: number, inOff: number, outOff: number): void => {
    const n = shape[d];
    if (d === r - 1) {
      for (let i = 0; i < n; i++) dst[outOff + i] = src[inOff + i];
    } else {
      for (let i = 0; i < n; i++) build(d + 1, inOff + i * inStride[d], outOff + i * outStride[d]);
    }
    const block = n * outStride[d];
    for (let k = 1; k < reps[d]; k++) dst.copyWithin(outOff + k * block, outOff, outOff + block);
  };
  build(0, 0, 0);
}

const tile: Kfn = ({ inputs, backend, attrs }) => {
  const x = req(inputs, 'x');
  const reps = attrs.reps as number[];
  const outShape = x.shape.map((s, i) => s * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (outShape.some((s) => s === 0)) return out;
  tileInto(backend.typedArrayFromHeap(x), x.shape, reps, backend.typedArrayFromHeap(out));
  return out;
};

// ---------------------------------------------------------------------------------------------
// Depthwise convolution gradients
// ---------------------------------------------------------------------------------------------
function depthwiseInfo(xShape: number[], filterShape: number[], attrs: NamedAttrMap) {
  const d = attrs.dilations as [number, number] | number | undefined;
  if (d !== undefined && (Array.isArray(d) ? d.some((v) => v !== 1) : d !== 1)) {
    // tfjs itself rejects gradients of dilated depthwise convolutions; keep the same contract.
    throw new EngineError('depthwise-convolution gradients on wasm support only dilation 1');
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    (attrs.dilations as [number, number] | number | undefined) ?? 1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    true,
  );
}

const depthwiseBackpropFilter: Kfn = ({ inputs, backend, attrs }) => {
  const x = req(inputs, 'x');
  const dy = req(inputs, 'dy');
  const info = depthwiseInfo(x.shape, attrs.filterShape as number[], attrs);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const M = CO / C;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const acc = new Float64Array(KH * KW * C * M);
  const out = backend.makeOutput([KH, KW, C, M], 'float32');
  const xv = f32(backend, x);
  const g = f32(backend, dy);
  for (let b = 0; b < N; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const gBase = ((b * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh + kh * dh - top;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sw + kw * dw - left;
            if (iw < 0 || iw >= W) continue;
            const xBase = ((b * H + ih) * W + iw) * C;
            const wBase = (kh * KW + kw) * CO;
            for (let c = 0; c < C; c++) {
              const v = xv[xBase + c];
              for (let m = 0; m < M; m++) acc[wBase + c * M + m] += v * g[gBase + c * M + m];
            }
          }
        }
      }
    }
  }
  f32(backend, out).set(acc);
  return out;
};

const depthwiseBackpropInput: Kfn = ({ inputs, backend, attrs }) => {
  const dy = req(inputs, 'dy');
  const filter = req(inputs, 'filter');
  const info = depthwiseInfo(attrs.inputShape as number[], filter.shape, attrs);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const M = CO / C;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = backend.makeOutput([N, H, W, C], 'float32');
  const g = f32(backend, dy);
  const w = f32(backend, filter);
  const dx = f32(backend, out);
  dx.fill(0);
  for (let b = 0; b < N; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const gBase = ((b * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh + kh * dh - top;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sw + kw * dw - left;
            if (iw < 0 || iw >= W) continue;
            const xBase = ((b * H + ih) * W + iw) * C;
            const wBase = (kh * KW + kw) * CO;
            for (let c = 0; c < C; c++) {
              let s = 0;
              for (let m = 0; m < M; m++) s += g[gBase + c * M + m] * w[wBase + c * M + m];
              dx[xBase + c] += s;
            }
          }
        }
      }
    }
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------
/**
 * Stock wasm Identity copies the data. tfjs clones every tensor saved by a customGrad op (fused
 * conv2d saves its input and output; batch norm saves its input), which made ~100 activation
 * copies per ResNet-20 step. Tensor data is immutable in the wasm backend (Reshape already shares
 * it by reference count), so Identity shares too.
 */
const identity: Kfn = ({ inputs, backend }) => {
  const x = req(inputs, 'x');
  if (x.dtype === 'string') throw new EngineError('Identity of string tensors is not supported on wasm');
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
};

// ---------------------------------------------------------------------------------------------
// UnsortedSegmentSum (missing on stock wasm; needed by the gradient of tf.gather)
// ---------------------------------------------------------------------------------------------
/**
 * out[s, j] = Σ_{i : ids[i] = s} x[i, j] for x viewed as [ids.size, inner]; ids outside
 * [0, numSegments) are dropped (as on cpu). float64 accumulation, row order.
 */
export function unsortedSegmentSumInto(x: ArrayLike<number>, ids: ArrayLike<number>, numSegments: number, out: Float32Array | Int32Array): void {
  const n = ids.length;
  const inner = n === 0 ? 0 : x.length / n;
  const acc = new Float64Array(numSegments * inner);
  for (let i = 0; i < n; i++) {
    const seg = ids[i];
    if (seg < 0 || seg >= numSegments) continue;
    const s0 = i * inner;
    const d0 = seg * inner;
    for (let j = 0; j < inner; j++) acc[d0 + j] += x[s0 + j];
  }
  for (let k = 0; k < acc.length; k++) out[k] = acc[k];
}

const unsortedSegmentSum: Kfn = ({ inputs, backend, attrs }) => {
  const x = req(inputs, 'x');
  const segmentIds = req(inputs, 'segmentIds');
  const numSegments = attrs.numSegments as number;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new EngineError(`UnsortedSegmentSum on wasm supports float32 and int32, got ${x.dtype}`);
  const r = segmentIds.shape.length;
  if (segmentIds.shape.some((d, i) => d !== x.shape[i])) {
    throw new EngineError(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
  }
  const out = backend.makeOutput([numSegments, ...x.shape.slice(r)], x.dtype);
  const xv = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const ov = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  unsortedSegmentSumInto(xv, ids, numSegments, ov);
  return out;
};

/**
 * Cast to the tensor's own dtype (e.g. the float32 cast in every ReLU gradient, of a Step output
 * that is already float32) shares the data like Identity; other casts run the stock kernel.
 */
function castKernel(stock: Kfn): Kfn {
  return (args) => {
    const x = req(args.inputs, 'x');
    if (args.attrs.dtype === x.dtype && x.dtype !== 'string' && x.dtype !== 'complex64') return identity(args);
    return stock(args);
  };
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------
/** Names of the kernels this module (re)registers for `wasm`. */
export const WASM_PROJECT_KERNELS = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'BatchMatMul',
  '_FusedMatMul',
  'MaxPoolGrad',
  'Tile',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Identity',
  'Cast',
  'UnsortedSegmentSum',
  'Sum',
  'AccelabBatchNormForward',
  'AccelabBatchNormGrad',
] as const;

/**
 * Registers the project kernels for 'wasm'. Must run after `@tensorflow/tfjs-backend-wasm` is
 * imported (it registers the stock kernels) and before the backend is initialized (setup
 * functions run at initialization).
 */
export function registerWasmKernels(): void {
  const own: Record<string, Kfn> = {
    Conv2DBackpropFilter: conv2dBackpropFilter,
    Conv2DBackpropInput: conv2dBackpropInput,
    MaxPoolGrad: maxPoolGrad,
    Tile: tile,
    DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
    DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
    Identity: identity,
    UnsortedSegmentSum: unsortedSegmentSum,
  };
  for (const name of WASM_PROJECT_KERNELS) {
    if (name === BN_FORWARD_KERNEL || name === BN_GRAD_KERNEL) continue;
    const stock = tf.getKernel(name, 'wasm');
    let fn = own[name];
    if (name === 'Cast') {
      if (!stock) throw new EngineError('stock wasm kernel Cast is missing: reinstall @tensorflow/tfjs-backend-wasm 4.22.0');
      fn = castKernel(stock.kernelFunc as unknown as Kfn);
    }
    if (name === 'Sum') {
      if (!stock) throw new EngineError('stock wasm kernel Sum is missing: reinstall @tensorflow/tfjs-backend-wasm 4.22.0');
      fn = sumKernel(stock.kernelFunc as unknown as Kfn);
    }
    if (name === 'BatchMatMul' || name === '_FusedMatMul') {
      if (!stock) throw new EngineError(`stock wasm kernel ${name} is missing: reinstall @tensorflow/tfjs-backend-wasm 4.22.0`);
      fn = untransposed(stock.kernelFunc as unknown as Kfn, name === '_FusedMatMul');
    }
    if (stock) tf.unregisterKernel(name, 'wasm');
    const config: KernelConfig = {
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: fn as unknown as KernelFunc,
      // Wrapped stock kernels keep their setup (it binds the wasm function they call).
      ...(stock?.setupFunc ? { setupFunc: stock.setupFunc } : {}),
    };
    tf.registerKernel(config);
  }
  registerWasmBatchNormKernels();
}

// ---------------------------------------------------------------------------------------------
// Batch-norm training kernels (project-defined kernel names, used by ./batchnorm.ts)
// ---------------------------------------------------------------------------------------------
/**
 * Channels-last batch-norm training forward: inputs x, gamma, beta (attr epsilon) → [y, mean, variance],
 * with the batch mean and (biased) variance over all axes but the last (float64 accumulation).
 */
export const BN_FORWARD_KERNEL = 'AccelabBatchNormForward';
/** Channels-last batch-norm gradient: inputs x, dy, mean, variance, gamma → [dx, dgamma, dbeta]. */
export const BN_GRAD_KERNEL = 'AccelabBatchNormGrad';

/**
 * Rows per block of the channel-major loops below: each block (≤ 64 KiB) is swept once per
 * channel with scalar accumulators in registers, which the JIT turns into much faster code than
 * row-major loops updating a per-channel accumulator array.
 */
function blockRows(C: number): number {
  return Math.max(1, Math.floor(16384 / C));
}

const bnForwardKernel = ({ inputs, backend, attrs }: KernelArgs): TensorInfo[] => {
  const x = req(inputs, 'x');
  const C = x.shape[x.shape.length - 1];
  const eps = attrs.epsilon as number;
  const yI = backend.makeOutput(x.shape.slice(), 'float32');
  const mean = backend.makeOutput([C], 'float32');
  const variance = backend.makeOutput([C], 'float32');
  const xv = f32(backend, x);
  const M = xv.length / C;
  const R = blockRows(C);
  const s = new Float64Array(C);
  for (let i0 = 0; i0 < M; i0 += R) {
    const end = Math.min(M, i0 + R) * C;
    for (let c = 0; c < C; c++) {
      let a = 0;
      for (let k = i0 * C + c; k < end; k += C) a += xv[k];
      s[c] += a;
    }
  }
  for (let c = 0; c < C; c++) s[c] /= M;
  const q = new Float64Array(C);
  for (let i0 = 0; i0 < M; i0 += R) {
    const end = Math.min(M, i0 + R) * C;
    for (let c = 0; c < C; c++) {
      const m = s[c];
      let a = 0;
      for (let k = i0 * C + c; k < end; k += C) {
        const d = xv[k] - m;
        a += d * d;
      }
      q[c] += a;
    }
  }
  for (let c = 0; c < C; c++) q[c] /= M;
  // y = x·scale + shift with scale = γ/√(σ²+ε), shift = β − μ·scale
  const gamma = f32(backend, req(inputs, 'gamma'));
  const beta = f32(backend, req(inputs, 'beta'));
  const y = f32(backend, yI);
  const scale = new Float64Array(C);
  const shift = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    scale[c] = gamma[c] / Math.sqrt(q[c] + eps);
    shift[c] = beta[c] - s[c] * scale[c];
  }
  for (let i0 = 0; i0 < M; i0 += R) {
    const end = Math.min(M, i0 + R) * C;
    for (let c = 0; c < C; c++) {
      const a = scale[c];
      const b = shift[c];
      for (let k = i0 * C + c; k < end; k += C) y[k] = xv[k] * a + b;
    }
  }
  f32(backend, mean).set(s);
  f32(backend, variance).set(q);
  return [yI, mean, variance];
};

const bnGradKernel = ({ inputs, backend, attrs }: KernelArgs): TensorInfo[] => {
  const x = req(inputs, 'x');
  const C = x.shape[x.shape.length - 1];
  const eps = attrs.epsilon as number;
  const dxI = backend.makeOutput(x.shape.slice(), 'float32');
  const dgI = backend.makeOutput([C], 'float32');
  const dbI = backend.makeOutput([C], 'float32');
  const xv = f32(backend, x);
  const g = f32(backend, req(inputs, 'dy'));
  const mean = f32(backend, req(inputs, 'mean'));
  const variance = f32(backend, req(inputs, 'variance'));
  const gamma = f32(backend, req(inputs, 'gamma'));
  const dx = f32(backend, dxI);
  const M = xv.length / C;
  const R = blockRows(C);
  const db = new Float64Array(C);
  const dgRaw = new Float64Array(C); // Σ dy·(x − μ)
  for (let i0 = 0; i0 < M; i0 += R) {
    const end = Math.min(M, i0 + R) * C;
    for (let c = 0; c < C; c++) {
      const m = mean[c];
      let a = 0;
      let b = 0;
      for (let k = i0 * C + c; k < end; k += C) {
        const d = g[k];
        a += d;
        b += d * (xv[k] - m);
      }
      db[c] += a;
      dgRaw[c] += b;
    }
  }
  // dx = γ·inv/M · (M·dy − Σdy − x̂·Σ(dy·x̂)),  x̂ = (x − μ)·inv
  const dg = new Float64Array(C);
  const ca = new Float64Array(C);
  const cb = new Float64Array(C);
  const ce = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const inv = 1 / Math.sqrt(variance[c] + eps);
    dg[c] = dgRaw[c] * inv;
    const kk = (gamma[c] * inv) / M;
    ca[c] = kk * M;
    cb[c] = kk * db[c];
    ce[c] = kk * dg[c] * inv;
  }
  for (let i0 = 0; i0 < M; i0 += R) {
    const end = Math.min(M, i0 + R) * C;
    for (let c = 0; c < C; c++) {
      const a = ca[c];
      const b = cb[c];
      const e = ce[c];
      const m = mean[c];
      for (let k = i0 * C + c; k < end; k += C) dx[k] = a * g[k] - b - (xv[k] - m) * e;
    }
  }
  f32(backend, dgI).set(dg);
  f32(backend, dbI).set(db);
  return [dxI, dgI, dbI];
};

export function registerWasmBatchNormKernels(): void {
  for (const [name, fn] of [
    [BN_FORWARD_KERNEL, bnForwardKernel],
    [BN_GRAD_KERNEL, bnGradKernel],
  ] as const) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn as unknown as KernelFunc });
  }
}
