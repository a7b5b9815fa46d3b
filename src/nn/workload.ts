/**
 * Neutral workload: a sequential network as plain layer descriptions with typed-array weights, so
 * hardware models never touch tfjs. `workloadFromModel` extracts it from a tf.LayersModel
 * (Conv2D, Dense, MaxPooling2D, Flatten, Dropout, Activation/ReLU, BatchNormalization folded into
 * the preceding convolution or dense layer). The input normalisation (x − mean)/std can be kept
 * separately so a hardware model can work on raw 0..1 pixels. `weightedLayers` gives only the
 * (batch-norm-folded) convolution and dense layers, of any graph model, residual networks included.
 */
import { ConfigError } from '../core/errors.js';
import type { tf } from '../core/engine.js';

export type Activation = 'linear' | 'relu';

export interface ConvOp {
  kind: 'conv2d';
  name: string;
  /** Input H, W, C and output channels. */
  inShape: [number, number, number];
  outShape: [number, number, number];
  kernel: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
  /** HWIO layout (kh, kw, inC, outC), as tfjs stores it. */
  weights: Float32Array;
  bias: Float32Array | null;
  activation: Activation;
}

export interface DenseOp {
  kind: 'dense';
  name: string;
  inFeatures: number;
  outFeatures: number;
  /** (in, out) layout. */
  weights: Float32Array;
  bias: Float32Array | null;
  activation: Activation;
}

export interface PoolOp {
  kind: 'maxpool';
  name: string;
  inShape: [number, number, number];
  outShape: [number, number, number];
  pool: [number, number];
  strides: [number, number];
}

export interface FlattenOp {
  kind: 'flatten';
  name: string;
}

export interface ReluOp {
  kind: 'relu';
  name: string;
}

export type WorkloadOp = ConvOp | DenseOp | PoolOp | FlattenOp | ReluOp;

export interface Workload {
  name: string;
  /** H, W, C (or [features]). */
  inputShape: number[];
  ops: WorkloadOp[];
  /** Input normalisation applied before the first op, when known. */
  normalization: { mean: number[]; std: number[] } | null;
}

/** Multiply-accumulates of one example. */
export function workloadMacs(w: Workload): number {
  let s = 0;
  for (const op of w.ops) {
    if (op.kind === 'conv2d') s += op.outShape[0] * op.outShape[1] * op.outShape[2] * op.kernel[0] * op.kernel[1] * op.inShape[2];
    else if (op.kind === 'dense') s += op.inFeatures * op.outFeatures;
  }
  return s;
}

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [Number(v[0]), Number(v[1])];
  throw new ConfigError(`workload: ${what} ${JSON.stringify(v)} is not a number or a pair`);
}

function act(v: unknown, layer: string): Activation {
  if (v === undefined || v === null || v === 'linear') return 'linear';
  if (v === 'relu') return 'relu';
  throw new ConfigError(`workload: layer '${layer}' has activation '${String(v)}'; only relu and linear are supported`);
}

function shape3(s: unknown): [number, number, number] {
  const a = (Array.isArray(s) && Array.isArray(s[0]) ? s[0] : s) as (number | null)[];
  return [Number(a[1]), Number(a[2]), Number(a[3])];
}

function inputShapeOf(layer: tf.layers.Layer): (number | null)[] {
  const i = layer.input;
  return (Array.isArray(i) ? i[0].shape : i.shape) as (number | null)[];
}

function convOp(layer: tf.layers.Layer): ConvOp {
  const cfg = layer.getConfig() as Record<string, unknown>;
  const name = layer.name;
  const w = layer.getWeights();
  if (cfg.dilationRate !== undefined && pair(cfg.dilationRate, 'dilationRate').some((d) => d !== 1))
    throw new ConfigError(`workload: dilated convolution '${name}' is not supported`);
  return {
    kind: 'conv2d',
    name,
    inShape: shape3(inputShapeOf(layer)),
    outShape: shape3(layer.outputShape),
    kernel: pair(cfg.kernelSize, 'kernelSize'),
    strides: pair(cfg.strides, 'strides'),
    padding: cfg.padding === 'same' ? 'same' : 'valid',
    weights: Float32Array.from(w[0].dataSync()),
    bias: w[1] ? Float32Array.from(w[1].dataSync()) : null,
    activation: act(cfg.activation, name),
  };
}

function denseOp(layer: tf.layers.Layer): DenseOp {
  const cfg = layer.getConfig() as Record<string, unknown>;
  const w = layer.getWeights();
  const [inF, outF] = w[0].shape;
  return {
    kind: 'dense',
    name: layer.name,
    inFeatures: inF,
    outFeatures: outF,
    weights: Float32Array.from(w[0].dataSync()),
    bias: w[1] ? Float32Array.from(w[1].dataSync()) : null,
    activation: act(cfg.activation, layer.name),
  };
}

/** Folds batch norm `layer` into `prev` (its input layer's op): weights scaled per output channel, bias shifted. */
function foldInto(prev: WorkloadOp | undefined, layer: tf.layers.Layer): void {
  if (!prev || (prev.kind !== 'conv2d' && prev.kind !== 'dense') || prev.activation !== 'linear') {
    throw new ConfigError(`workload: batch norm '${layer.name}' must follow a convolution or dense layer without activation`);
  }
  const cfg = layer.getConfig() as Record<string, unknown>;
  const ws = layer.getWeights().map((t) => t.dataSync());
  let k = 0;
  const gamma = cfg.scale !== false ? ws[k++] : null;
  const beta = cfg.center !== false ? ws[k++] : null;
  const mean = ws[k++];
  const variance = ws[k++];
  const eps = Number(cfg.epsilon ?? 1e-3);
  const outC = mean.length;
  const bias = prev.bias ?? new Float32Array(outC);
  for (let c = 0; c < outC; c++) {
    const g = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + eps);
    for (let i = c; i < prev.weights.length; i += outC) prev.weights[i] *= g;
    bias[c] = (bias[c] - mean[c]) * g + (beta ? beta[c] : 0);
  }
  prev.bias = bias;
}

/**
 * The convolution and dense layers of any tfjs graph model (residual networks included), in layer
 * order, with each batch norm folded into the layer that feeds it — the weights a hardware model
 * quantizes. Only the weighted layers are described: use `workloadFromModel` to run a network.
 */
export function weightedLayers(model: tf.LayersModel): (ConvOp | DenseOp)[] {
  const ops = new Map<string, ConvOp | DenseOp>();
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Conv2D') ops.set(layer.name, convOp(layer));
    else if (cls === 'Dense') ops.set(layer.name, denseOp(layer));
    else if (cls === 'BatchNormalization') {
      const from = layer.inboundNodes[0]?.inboundLayers ?? [];
      const src = from.length === 1 ? from[0] : undefined;
      if (src && src.outboundNodes.length > 1)
        throw new ConfigError(`workload: batch norm '${layer.name}' cannot be folded: its input layer '${src.name}' also feeds other layers`);
      foldInto(src ? ops.get(src.name) : undefined, layer);
    }
  }
  return [...ops.values()];
}

/** Extracts the neutral workload of a sequential tf.LayersModel. */
export function workloadFromModel(model: tf.LayersModel, normalization: { mean: number[]; std: number[] } | null = null): Workload {
  const ops: WorkloadOp[] = [];
  const inShape = (model.inputs[0].shape as (number | null)[]).slice(1).map(Number);
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    const name = layer.name;
    if (layer.inboundNodes.length > 0 && layer.inboundNodes[0].inboundLayers.length > 1) {
      throw new ConfigError(`workload: layer '${name}' merges several inputs; only sequential models can be mapped`);
    }
    switch (cls) {
      case 'InputLayer':
      case 'Dropout':
        break;
      case 'Conv2D':
        ops.push(convOp(layer));
        break;
      case 'Dense':
        ops.push(denseOp(layer));
        break;
      case 'MaxPooling2D':
        ops.push({
          kind: 'maxpool',
          name,
          inShape: shape3(inputShapeOf(layer)),
          outShape: shape3(layer.outputShape),
          pool: pair(cfg.poolSize, 'poolSize'),
          strides: pair(cfg.strides ?? cfg.poolSize, 'strides'),
        });
        break;
      case 'Flatten':
        ops.push({ kind: 'flatten', name });
        break;
      case 'ReLU':
        ops.push({ kind: 'relu', name });
        break;
      case 'Activation':
        if (act(cfg.activation, name) === 'relu') ops.push({ kind: 'relu', name });
        break;
      case 'BatchNormalization':
        foldInto(ops[ops.length - 1], layer);
        break;
      default:
        throw new ConfigError(`workload: layer '${name}' of type ${cls} cannot be mapped (supported: Conv2D, Dense, MaxPooling2D, Flatten, Dropout, ReLU, BatchNormalization)`);
    }
  }
  return { name: model.name, inputShape: inShape, ops, normalization };
}
