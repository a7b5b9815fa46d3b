/**
 * Fused convolution + bias + relu for training (2-D, channels-last).
 *
 * While gradients are recorded, tfjs runs a conv layer with bias and relu as three kernels over the
 * full activation (Conv2D, Add, Relu) and differentiates each: a relu gradient dy·step(x), a Sum for
 * the bias gradient, then the two convolution gradients. Here the forward is one FusedConv2D kernel
 * (bias and relu in the convolution's epilogue) and its gradient (registered for the FusedConv2D
 * kernel, which tfjs leaves without one) takes the relu mask from the output, dz = dy·step(y)
 * (y > 0 exactly where the pre-activation is), with the bias gradient Σdz in the same pass on the
 * native path (`AccelabReluBiasGrad`, ./native.ts) or as two tf ops elsewhere (the reference twin);
 * then Conv2DBackpropInput / Conv2DBackpropFilter, each only when that gradient is needed (tfjs
 * skips the input gradient of a first layer).
 *
 * `FastConv2D` is a drop-in subclass of the tfjs Conv2D layer (same config, weights and serialized
 * class name 'Conv2D', so checkpoints stay standard tfjs); it takes the fused path for 2-D,
 * channels-last, dilation-1 convolutions with relu or linear activation and a bias or relu, on any
 * backend with a FusedConv2D kernel, and defers to tfjs otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedAttrMap } from '@tensorflow/tfjs';
import { EngineError } from '../errors.js';
import { MAXPOOL_RELU_BIAS_GRAD_KERNEL, nativeEnabled, pool2x2Geometry, RELU_BIAS_GRAD_KERNEL } from './native.js';

type Activation = 'linear' | 'relu';

/** dz = dy·step(y) and db = Σ dz over all axes but the last, as plain tf ops (reference twin). */
export function reluBiasGradOps(dy: tf.Tensor, y: tf.Tensor): [tf.Tensor, tf.Tensor1D] {
  return tf.tidy(() => {
    const dz = tf.mul(dy, tf.step(y));
    const db = tf.sum(dz, dz.shape.map((_, i) => i).slice(0, -1)) as tf.Tensor1D;
    return [dz, db];
  });
}

function nativeOn(): boolean {
  return nativeEnabled() && tf.getBackend() === 'wasm';
}

/**
 * Data of relu outputs of fused convolutions run in training mode (keys: tensor dataIds, which the
 * tape's saved clones share).
 */
const trainingReluOutputs = new WeakSet<object>();

/**
 * Gradients that already carry the relu mask of a fused convolution's output (produced by the
 * MaxPool gradient below), by dataId: the output's dataId and its bias gradient.
 */
const maskedGradients = new WeakMap<object, { y: object; db: tf.Tensor1D }>();

function reluBiasGrad(dy: tf.Tensor, y: tf.Tensor): [tf.Tensor, tf.Tensor1D] {
  const masked = maskedGradients.get(dy.dataId);
  if (masked && masked.y === y.dataId && !masked.db.isDisposed) return [dy, masked.db];
  if (nativeOn() && dy.dtype === 'float32' && y.dtype === 'float32' && dy.size === y.size && y.size > 0) {
    return tf.engine().runKernel(RELU_BIAS_GRAD_KERNEL, { dy, y }, {}) as unknown as [tf.Tensor, tf.Tensor1D];
  }
  return reluBiasGradOps(dy, y);
}

function convAttrs(attrs: NamedAttrMap): NamedAttrMap {
  return { strides: attrs.strides, pad: attrs.pad, dataFormat: attrs.dataFormat, dimRoundingMode: attrs.dimRoundingMode };
}

/**
 * The MaxPool gradient, stock (MaxPoolGrad) except for one case on the native path: a 2×2, stride-2,
 * unpadded pool over the relu output of a fused convolution run in training mode. There the one
 * native pass AccelabMaxPoolReluBiasGrad returns dz = maxPoolGrad(dy, y)·step(y) (the relu mask
 * applied, as the convolution's gradient would apply it next) and the bias gradient Σdz, which the
 * convolution's gradient then takes as they are, without writing and re-reading the pool gradient.
 * So, in that case, the gradient this returns for the pool's input already includes the relu mask:
 * exact for everything behind the relu (the conv's weights, bias and input), but not the gradient
 * w.r.t. the relu output itself (ask for that in inference mode, or with the native path off).
 */
function registerMaxPoolGradient(): void {
  tf.registerGradient({
    kernelName: 'MaxPool',
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved;
      const g = dy as tf.Tensor;
      if (nativeOn() && trainingReluOutputs.has(x.dataId) && g.dtype === 'float32' && x.dtype === 'float32' && pool2x2Geometry(x.shape, g.shape, attrs)) {
        const [dz, db] = tf.engine().runKernel(MAXPOOL_RELU_BIAS_GRAD_KERNEL, { dy: g, y: x }, attrs) as unknown as [tf.Tensor, tf.Tensor1D];
        maskedGradients.set(dz.dataId, { y: x.dataId, db });
        return { x: () => dz };
      }
      const { filterSize, strides, pad, dimRoundingMode } = attrs;
      return { x: () => tf.engine().runKernel('MaxPoolGrad', { dy: g, input: x, output: y }, { filterSize, strides, pad, dimRoundingMode }) as tf.Tensor };
    },
  });
}

/** Registers the gradient of the FusedConv2D kernel (activations linear and relu, dilation 1); done at import. */
function registerFusedConvGradient(): void {
  tf.registerGradient({
    kernelName: 'FusedConv2D',
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved;
      const act = (attrs.activation as string | undefined) ?? 'linear';
      if (act !== 'linear' && act !== 'relu') throw new EngineError(`FusedConv2D gradient: activation '${act}' is not supported (linear or relu)`);
      const d = attrs.dilations;
      if (!(d === undefined || d === 1 || (Array.isArray(d) && d.every((v) => v === 1)))) throw new EngineError('FusedConv2D gradient: dilation must be 1');
      if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') throw new EngineError('FusedConv2D gradient: only NHWC is supported');
      const g = dy as tf.Tensor;
      let dz = g;
      let db: tf.Tensor1D | null = null;
      if (act === 'relu') [dz, db] = reluBiasGrad(g, y);
      const a = convAttrs(attrs);
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter }, { ...a, inputShape: x.shape }) as tf.Tensor,
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dz }, { ...a, filterShape: filter.shape }) as tf.Tensor,
        bias: () => db ?? (tf.sum(dz, [0, 1, 2]) as tf.Tensor1D),
      };
    },
  });
}

export interface ConvBiasActivationArgs {
  x: tf.Tensor4D;
  filter: tf.Tensor4D;
  bias?: tf.Tensor1D | null;
  strides: [number, number];
  pad: 'same' | 'valid';
  activation: Activation;
  /**
   * Training mode: a relu output may be recorded for the fused max-pool gradient (see
   * registerMaxPoolGradient).
   */
  training?: boolean;
}

/** y = act(conv2d(x, filter) + bias), NHWC, dilation 1: one FusedConv2D kernel, differentiable. */
export function conv2dBiasActivation(a: ConvBiasActivationArgs): tf.Tensor4D {
  const inputs: Record<string, tf.Tensor> = { x: a.x, filter: a.filter };
  if (a.bias) inputs.bias = a.bias;
  const y = tf.engine().runKernel('FusedConv2D', inputs, {
    strides: a.strides,
    pad: a.pad,
    dataFormat: 'NHWC',
    dilations: [1, 1],
    dimRoundingMode: undefined as unknown as string,
    activation: a.activation,
  }) as tf.Tensor4D;
  if (a.training && a.activation === 'relu') trainingReluOutputs.add(y.dataId);
  return y;
}

type ConvLayer = ReturnType<typeof tf.layers.conv2d>;
type ConvArgs = Parameters<typeof tf.layers.conv2d>[0];
interface ConvInternals {
  rank: number;
  kernel: tf.LayerVariable | null;
  bias: tf.LayerVariable | null;
  activation: { getClassName(): string };
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number | number[];
}

const BaseConv2D = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as new (args: ConvArgs) => ConvLayer;

export class FastConv2D extends BaseConv2D {
  static className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const me = this as unknown as ConvInternals;
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const act = me.activation.getClassName();
    const dil = me.dilationRate;
    const unitDilation = dil === undefined || dil === 1 || (Array.isArray(dil) && dil.every((v) => v === 1));
    if (
      me.rank !== 2 ||
      !me.kernel ||
      input.rank !== 4 ||
      input.dtype !== 'float32' ||
      me.dataFormat !== 'channelsLast' ||
      (me.padding !== 'same' && me.padding !== 'valid') ||
      !unitDilation ||
      (act !== 'relu' && act !== 'linear') ||
      (act === 'linear' && !me.bias) ||
      !tf.getKernel('FusedConv2D', tf.getBackend())
    ) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() =>
      conv2dBiasActivation({
        x: input as tf.Tensor4D,
        filter: (me.kernel as tf.LayerVariable).read() as tf.Tensor4D,
        bias: me.bias ? (me.bias.read() as tf.Tensor1D) : null,
        strides: [me.strides[0], me.strides[1]],
        pad: me.padding as 'same' | 'valid',
        activation: act as Activation,
        training: kwargs.training === true,
      }),
    );
  }
}

registerFusedConvGradient();
registerMaxPoolGradient();
tf.serialization.registerClass(FastConv2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/** Drop-in for tf.layers.conv2d with the fused training path. */
export function fastConv2d(args: ConvArgs): ConvLayer {
  return new FastConv2D(args);
}
