/**
 * Using the fast convolution algorithms in models (inference): `conv2dWith(algorithm, x, w, …)` on
 * engine tensors, and `predictWith(model, x, algorithm)`, which runs a sequential tf.layers model
 * layer by layer and computes its Conv2D layers with the chosen algorithm.
 *   direct   – the engine's own tf.conv2d
 *   winograd – Winograd F(3×3, 3×3) tiles; filters larger than 3×3 by overlap-add of 3×3 sub-filters
 *   nested   – nested Winograd (fast path, algorithm chosen for the layer size)
 *   auto     – direct for kernels < AUTO_NESTED_MIN_KERNEL, nested from there on
 */
import { tf } from '../core/engine.js';
import { ConfigError } from '../core/errors.js';
import { conv2dFast } from './fast.js';
import type { Padding } from './tensor.js';

export const MODEL_ALGORITHMS = ['direct', 'winograd', 'nested', 'auto'] as const;
export type ModelConvAlgorithm = (typeof MODEL_ALGORITHMS)[number];

/** Smallest kernel for which `auto` uses nested Winograd. */
export const AUTO_NESTED_MIN_KERNEL = 5;

export function resolveAlgorithm(algorithm: ModelConvAlgorithm, kernel: number): 'direct' | 'winograd' | 'nested' {
  if (!(MODEL_ALGORITHMS as readonly string[]).includes(algorithm)) throw new ConfigError(`algorithm '${algorithm}' is not known: use one of ${MODEL_ALGORITHMS.join(', ')}`);
  if (algorithm !== 'auto') return algorithm;
  return kernel >= AUTO_NESTED_MIN_KERNEL ? 'nested' : 'direct';
}

/** Convolution of engine tensors (NHWC input, HWIO filter) by the chosen algorithm. */
export function conv2dWith(algorithm: ModelConvAlgorithm, x: tf.Tensor4D, w: tf.Tensor4D, opts: { stride?: number; padding?: Padding } = {}): tf.Tensor4D {
  const stride = opts.stride ?? 1;
  const padding = opts.padding ?? 'same';
  const [kh, kw] = w.shape;
  const alg = resolveAlgorithm(algorithm, Math.max(kh, kw));
  if (alg === 'direct' || kh !== kw) return tf.conv2d(x, w, stride as 1 | 2, padding);
  const xs = { data: x.dataSync() as Float32Array, shape: x.shape as [number, number, number, number] };
  const ws = { data: w.dataSync() as Float32Array, shape: w.shape as [number, number, number, number] };
  const y = conv2dFast(xs, ws, alg === 'winograd' ? 'ola' : 'nested', { stride, padding });
  return tf.tensor4d(y.data, y.shape);
}

interface ConvLayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): tf.Tensor[];
  activation?: { apply(x: tf.Tensor): tf.Tensor };
}

/**
 * Inference of a sequential (single-chain) tf.layers model with its Conv2D layers computed by
 * `algorithm`. Other layers run as usual. Returns the model's output.
 */
export function predictWith(model: tf.LayersModel, x: tf.Tensor, algorithm: ModelConvAlgorithm): tf.Tensor {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new ConfigError('predictWith handles single-input, single-output sequential models');
  let h: tf.Tensor = x;
  const owned: tf.Tensor[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const l = layer as unknown as ConvLayerLike;
    let next: tf.Tensor;
    if (l.getClassName() === 'Conv2D') {
      const cfg = l.getConfig();
      const strides = cfg.strides as number[];
      const dil = (cfg.dilation_rate ?? cfg.dilationRate ?? [1, 1]) as number | number[];
      const dilations = Array.isArray(dil) ? dil : [dil, dil];
      const fmt = (cfg.data_format ?? cfg.dataFormat ?? 'channelsLast') as string;
      const pad = cfg.padding as string;
      if (dilations.some((d) => d !== 1) || strides[0] !== strides[1] || strides[0] > 2 || fmt !== 'channelsLast' || (pad !== 'same' && pad !== 'valid')) {
        next = layer.apply(h) as tf.Tensor;
      } else {
        const [kernel, bias] = l.getWeights();
        const y = conv2dWith(algorithm, h as tf.Tensor4D, kernel as tf.Tensor4D, { stride: strides[0], padding: pad });
        const yb = bias ? tf.add(y, bias) : y;
        next = l.activation ? l.activation.apply(yb) : yb;
        if (yb !== y) y.dispose();
        if (next !== yb) yb.dispose();
      }
    } else {
      next = layer.apply(h) as tf.Tensor;
    }
    owned.push(next);
    h = next;
  }
  for (const t of owned) if (t !== h) t.dispose();
  return h;
}
