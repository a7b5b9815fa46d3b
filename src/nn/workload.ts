/**
 * Neutral workload: a network as a list of plain layer descriptions with typed-array weights, so
 * hardware models never touch tfjs. `workloadFromModel` extracts it from a tf.LayersModel
 * (Conv2D, Dense, MaxPooling2D, GlobalAveragePooling2D, Flatten, Dropout, Activation/ReLU, Add,
 * BatchNormalization folded into the convolution or dense layer that feeds it). The ops are in
 * topological order; an op reads the previous op's output unless its `input` names another op,
 * and an 'add' op sums the outputs of the ops it names (residual networks). The input
 * normalisation (x − mean)/std can be kept separately so a hardware model can work on raw 0..1
 * pixels. `weightedLayers` gives only the (batch-norm-folded) convolution and dense layers.
 */
import { ConfigError } from '../core/errors.js';
import type { tf } from '../core/engine.js';

export type Activation = 'linear' | 'relu';

/** What every op has: its name and, when it does not read the previous op's output, the op it reads. */
interface OpBase {
  name: string;
  /** The op whose output this op reads (residual branches); absent: the previous op (or the network input). */
  input?: string;
}

export interface ConvOp extends OpBase {
  kind: 'conv2d';
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

export interface DenseOp extends OpBase {
  kind: 'dense';
  inFeatures: number;
  outFeatures: number;
  /** (in, out) layout. */
  weights: Float32Array;
  bias: Float32Array | null;
  activation: Activation;
}

export interface PoolOp extends OpBase {
  kind: 'maxpool';
  inShape: [number, number, number];
  outShape: [number, number, number];
  pool: [number, number];
  strides: [number, number];
}

/** Mean over the spatial positions: H×W×C → C. */
export interface GlobalPoolOp extends OpBase {
  kind: 'globalavgpool';
  inShape: [number, number, number];
}

export interface FlattenOp extends OpBase {
  kind: 'flatten';
}

export interface ReluOp extends OpBase {
  kind: 'relu';
}

/** Element-wise sum of the outputs of the named ops (a residual connection). */
export interface AddOp {
  kind: 'add';
  name: string;
  inputs: string[];
}

export type WorkloadOp = ConvOp | DenseOp | PoolOp | GlobalPoolOp | FlattenOp | ReluOp | AddOp;

/** The names of the ops that op `i` reads (none: the network input). */
export function opInputs(ops: readonly WorkloadOp[], i: number): string[] {
  const op = ops[i];
  if (op.kind === 'add') return op.inputs;
  if (op.input !== undefined) return [op.input];
  return i > 0 ? [ops[i - 1].name] : [];
}

/** Throws a ConfigError naming `what` unless every op reads the one before it and there is no add or global pooling (a plain chain). */
export function requireSequential(w: Workload, what: string): void {
  if (!w.ops.every((op) => op.kind !== 'add' && op.kind !== 'globalavgpool' && op.input === undefined))
    throw new ConfigError(
      `${what}: network '${w.name}' has residual connections or global pooling; only sequential networks (conv, dense, max-pool, flatten, relu) are supported here`,
    );
}

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

/** The convolution and dense layers of a model, batch norm folded: the weights a hardware model quantizes. */
export function weightedLayers(model: tf.LayersModel): (ConvOp | DenseOp)[] {
  return workloadFromModel(model).ops.filter((op): op is ConvOp | DenseOp => op.kind === 'conv2d' || op.kind === 'dense');
}

/**
 * Extracts the neutral workload of a tf.LayersModel: sequential networks, and graphs whose merges
 * are Add layers (residual networks). Each batch norm is folded into the convolution or dense layer
 * that feeds it, which must feed nothing else.
 */
export function workloadFromModel(model: tf.LayersModel, normalization: { mean: number[]; std: number[] } | null = null): Workload {
  const ops: WorkloadOp[] = [];
  const inShape = (model.inputs[0].shape as (number | null)[]).slice(1).map(Number);
  // Layer name → the op whose output the layer's output is (null: the network input).
  const source = new Map<string, string | null>(model.inputs.map((t) => [t.sourceLayer.name, null]));
  const byName = new Map<string, WorkloadOp>();
  const sourceOf = (layer: tf.layers.Layer, l: tf.layers.Layer): string | null => {
    const s = source.get(l.name);
    if (s === undefined) throw new ConfigError(`workload: layer '${layer.name}' reads '${l.name}', which comes later in the model`);
    return s;
  };
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    const cfg = layer.getConfig() as Record<string, unknown>;
    const name = layer.name;
    if (layer.inboundNodes.length !== 1) throw new ConfigError(`workload: layer '${name}' is used more than once; shared layers cannot be mapped`);
    const from = layer.inboundNodes[0].inboundLayers.map((l) => sourceOf(layer, l));
    if (cls !== 'Add' && from.length !== 1) throw new ConfigError(`workload: layer '${name}' (${cls}) has ${from.length} inputs; only Add layers merge`);
    const push = (op: WorkloadOp): void => {
      if (op.kind !== 'add') {
        const prev = ops.length > 0 ? ops[ops.length - 1].name : null;
        if (from[0] !== prev) {
          if (from[0] === null) throw new ConfigError(`workload: layer '${name}' reads the network input after other layers; this branch cannot be mapped`);
          op.input = from[0];
        }
      }
      ops.push(op);
      byName.set(op.name, op);
      source.set(name, op.name);
    };
    switch (cls) {
      case 'Dropout':
        source.set(name, from[0]);
        break;
      case 'Conv2D':
        push(convOp(layer));
        break;
      case 'Dense':
        push(denseOp(layer));
        break;
      case 'MaxPooling2D':
        push({
          kind: 'maxpool',
          name,
          inShape: shape3(inputShapeOf(layer)),
          outShape: shape3(layer.outputShape),
          pool: pair(cfg.poolSize, 'poolSize'),
          strides: pair(cfg.strides ?? cfg.poolSize, 'strides'),
        });
        break;
      case 'GlobalAveragePooling2D':
        push({ kind: 'globalavgpool', name, inShape: shape3(inputShapeOf(layer)) });
        break;
      case 'Flatten':
        push({ kind: 'flatten', name });
        break;
      case 'ReLU':
        push({ kind: 'relu', name });
        break;
      case 'Activation':
        if (act(cfg.activation, name) === 'relu') push({ kind: 'relu', name });
        else source.set(name, from[0]);
        break;
      case 'Add':
        if (from.some((f) => f === null)) throw new ConfigError(`workload: add '${name}' reads the network input; this cannot be mapped`);
        push({ kind: 'add', name, inputs: from as string[] });
        break;
      case 'BatchNormalization': {
        const src = layer.inboundNodes[0].inboundLayers[0];
        if (src.outboundNodes.length > 1) throw new ConfigError(`workload: batch norm '${name}' cannot be folded: its input layer '${src.name}' also feeds other layers`);
        foldInto(from[0] === null ? undefined : byName.get(from[0]), layer);
        source.set(name, from[0]);
        break;
      }
      default:
        throw new ConfigError(
          `workload: layer '${name}' of type ${cls} cannot be mapped (supported: Conv2D, Dense, MaxPooling2D, GlobalAveragePooling2D, Flatten, Dropout, ReLU, Add, BatchNormalization)`,
        );
    }
  }
  const out = model.outputs.map((t) => source.get(t.sourceLayer.name));
  if (out.length !== 1 || out[0] !== ops[ops.length - 1]?.name) throw new ConfigError(`workload: model '${model.name}' must have one output, computed by its last layer`);
  return { name: model.name, inputShape: inShape, ops, normalization };
}
