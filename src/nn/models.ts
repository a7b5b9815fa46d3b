/**
 * Model zoo. Every model is a `tf.LayersModel` with explicitly named layers and seeded
 * initializers: the same name, shapes and seed give bit-identical initial weights.
 *
 * - `fl-mlp`: flatten → dense(32, relu) → dense(numClasses), Glorot-uniform seeded by `seed` and `seed + 1`: a tiny
 *   model for federated-learning tests and smoke runs.
 * - `mlp-300-100`, `mlp-1000-500`: flatten → dense(300|1000, relu) → dense(100|500, relu) → dense(numClasses)
 *   (LeCun et al. 1998 / Han et al. 2015's LeNet-300-100 and the wider variant).
 * - `lenet5`: conv6 5×5 'same' → maxpool2 → conv16 5×5 'valid' → maxpool2 → dense120 → dense84 → dense(numClasses),
 *   ReLU activations and max pooling (the modern variant of LeCun 1998; 'same' in the first layer
 *   plays the role of the original 28→32 padding).
 * - `cnn-small`: conv32 3×3 relu → maxpool2 → conv64 3×3 relu → maxpool2 → dense128 relu → dense(numClasses), 'same'
 *   padding (the benchmark CNN of the engine evaluation).
 * - `vgg-small`: three VGG stages [conv-BN-relu ×2, maxpool2] with 32, 64, 128 channels → dense128 relu →
 *   dense(numClasses); meant for 32×32×3.
 * - `resnet20`: the CIFAR ResNet-20 of He et al. 2016 (§4.2): conv16 3×3-BN-relu, three stages of three basic
 *   blocks (16, 32, 64 channels; stride 2 at the first block of stages 2 and 3), global average pool,
 *   dense(numClasses); 0.27 M parameters. Shortcut **option B**: where the shape changes, the shortcut
 *   is a 1×1 stride-2 convolution + BN (a projection); elsewhere it is the identity. (Option A's
 *   zero-padded subsampling needs a custom layer in tfjs; B is the common, slightly stronger choice.)
 *
 * Outputs are logits (no softmax): train with softmax cross-entropy on logits.
 * Convolutions use He-normal, dense layers Glorot-uniform initializers; biases start at zero.
 * Batch norm (momentum 0.9, ε 1e-5) is `FastBatchNormalization` (src/core/kernels/batchnorm.ts): the
 * tfjs layer with a fused training path; it serializes as a standard 'BatchNormalization'. Likewise,
 * convolutions are `FastConv2D` (src/core/kernels/conv.ts: convolution, bias and relu as one kernel
 * while training), serialized as a standard 'Conv2D'.
 */
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { tf } from '../core/engine.js';
import { fastBatchNormalization } from '../core/kernels/batchnorm.js';
import { fastConv2d } from '../core/kernels/conv.js';
import { Rng } from '../core/rng.js';

export const MODEL_NAMES = ['fl-mlp', 'mlp-300-100', 'mlp-1000-500', 'lenet5', 'cnn-small', 'vgg-small', 'resnet20'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
export const ModelNameSchema = z.enum(MODEL_NAMES);

export interface ModelOptions {
  /** Input shape without the batch dimension, e.g. [28, 28, 1] or [32, 32, 3]. */
  inputShape: number[];
  numClasses: number;
  /** Seed of the initializers. */
  seed: number;
}

export const ModelOptionsSchema = z.object({
  inputShape: z.array(z.number().int().positive()).min(1).max(3),
  numClasses: z.number().int().min(2),
  seed: z.number().int().min(0),
});

type SymT = tf.SymbolicTensor;
type Init = ReturnType<typeof tf.initializers.heNormal>;

class Builder {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  he(): Init {
    return tf.initializers.heNormal({ seed: this.rng.seed() });
  }
  glorot(): Init {
    return tf.initializers.glorotUniform({ seed: this.rng.seed() });
  }
  conv(x: SymT, name: string, filters: number, kernelSize: number, opts: { strides?: number; padding?: 'same' | 'valid'; activation?: 'relu'; useBias?: boolean } = {}): SymT {
    return fastConv2d({
      name,
      filters,
      kernelSize,
      strides: opts.strides ?? 1,
      padding: opts.padding ?? 'same',
      activation: opts.activation,
      useBias: opts.useBias ?? true,
      kernelInitializer: this.he(),
    }).apply(x) as SymT;
  }
  dense(x: SymT, name: string, units: number, activation?: 'relu'): SymT {
    return tf.layers.dense({ name, units, activation, kernelInitializer: this.glorot() }).apply(x) as SymT;
  }
  bn(x: SymT, name: string): SymT {
    return fastBatchNormalization({ name, momentum: 0.9, epsilon: 1e-5 }).apply(x) as SymT;
  }
  relu(x: SymT, name: string): SymT {
    return tf.layers.reLU({ name }).apply(x) as SymT;
  }
  pool(x: SymT, name: string): SymT {
    return tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2 }).apply(x) as SymT;
  }
  flatten(x: SymT, name = 'flatten'): SymT {
    return tf.layers.flatten({ name }).apply(x) as SymT;
  }
}

function mlp(b: Builder, x: SymT, h1: number, h2: number, k: number): SymT {
  let y = x.shape.length > 2 ? b.flatten(x) : x;
  y = b.dense(y, 'fc1', h1, 'relu');
  y = b.dense(y, 'fc2', h2, 'relu');
  return b.dense(y, 'fc3', k);
}

function lenet5(b: Builder, x: SymT, k: number): SymT {
  let y = b.conv(x, 'conv1', 6, 5, { activation: 'relu' });
  y = b.pool(y, 'pool1');
  y = b.conv(y, 'conv2', 16, 5, { padding: 'valid', activation: 'relu' });
  y = b.pool(y, 'pool2');
  y = b.flatten(y);
  y = b.dense(y, 'fc1', 120, 'relu');
  y = b.dense(y, 'fc2', 84, 'relu');
  return b.dense(y, 'fc3', k);
}

function cnnSmall(b: Builder, x: SymT, k: number): SymT {
  let y = b.conv(x, 'conv1', 32, 3, { activation: 'relu' });
  y = b.pool(y, 'pool1');
  y = b.conv(y, 'conv2', 64, 3, { activation: 'relu' });
  y = b.pool(y, 'pool2');
  y = b.flatten(y);
  y = b.dense(y, 'fc1', 128, 'relu');
  return b.dense(y, 'fc2', k);
}

function vggSmall(b: Builder, x: SymT, k: number): SymT {
  let y = x;
  [32, 64, 128].forEach((ch, s) => {
    for (let i = 1; i <= 2; i++) {
      const n = `s${s + 1}c${i}`;
      y = b.conv(y, `conv_${n}`, ch, 3, { useBias: false });
      y = b.bn(y, `bn_${n}`);
      y = b.relu(y, `relu_${n}`);
    }
    y = b.pool(y, `pool${s + 1}`);
  });
  y = b.flatten(y);
  y = b.dense(y, 'fc1', 128, 'relu');
  return b.dense(y, 'fc2', k);
}

function resnet20(b: Builder, x: SymT, k: number): SymT {
  let y = b.conv(x, 'conv1', 16, 3, { useBias: false });
  y = b.bn(y, 'bn1');
  y = b.relu(y, 'relu1');
  let inCh = 16;
  [16, 32, 64].forEach((ch, s) => {
    for (let i = 0; i < 3; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      const n = `s${s + 1}b${i + 1}`;
      let r = b.conv(y, `conv_${n}a`, ch, 3, { strides: stride, useBias: false });
      r = b.bn(r, `bn_${n}a`);
      r = b.relu(r, `relu_${n}a`);
      r = b.conv(r, `conv_${n}b`, ch, 3, { useBias: false });
      r = b.bn(r, `bn_${n}b`);
      let sc = y;
      if (stride !== 1 || inCh !== ch) {
        sc = b.conv(y, `conv_${n}_proj`, ch, 1, { strides: stride, useBias: false });
        sc = b.bn(sc, `bn_${n}_proj`);
      }
      y = tf.layers.add({ name: `add_${n}` }).apply([r, sc]) as SymT;
      y = b.relu(y, `relu_${n}`);
      inCh = ch;
    }
  });
  y = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(y) as SymT;
  return b.dense(y, 'fc', k);
}

function flMlp(inputShape: number[], numClasses: number, seed: number): tf.LayersModel {
  return tf.sequential({
    name: 'fl-mlp',
    layers: [
      tf.layers.flatten({ inputShape }),
      tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

/** Builds a zoo model. Throws ConfigError for an unknown name or an input shape the model cannot take. */
export function createModel(name: ModelName | string, options: ModelOptions): tf.LayersModel {
  const parsed = ModelNameSchema.safeParse(name);
  if (!parsed.success) throw new ConfigError(`model '${name}' is not known: use one of ${MODEL_NAMES.join(', ')}`);
  const o = ModelOptionsSchema.safeParse(options);
  if (!o.success) {
    const issue = o.error.issues[0];
    throw new ConfigError(`model options: ${issue.path.join('.')}: ${issue.message}`);
  }
  const { inputShape, numClasses, seed } = o.data;
  const isImage = inputShape.length === 3;
  if (parsed.data === 'fl-mlp') return flMlp(inputShape, numClasses, seed);
  if (parsed.data !== 'mlp-300-100' && parsed.data !== 'mlp-1000-500' && !isImage) {
    throw new ConfigError(`model '${name}' needs an image input shape [height, width, channels], got [${inputShape.join(', ')}]`);
  }
  if (isImage && (parsed.data === 'vgg-small' || parsed.data === 'resnet20' || parsed.data === 'lenet5') && Math.min(inputShape[0], inputShape[1]) < 16) {
    throw new ConfigError(`model '${name}' needs images of at least 16×16, got ${inputShape[0]}×${inputShape[1]}`);
  }
  const b = new Builder(seed);
  const input = tf.input({ shape: inputShape, name: 'input' });
  let out: SymT;
  switch (parsed.data) {
    case 'mlp-300-100':
      out = mlp(b, input, 300, 100, numClasses);
      break;
    case 'mlp-1000-500':
      out = mlp(b, input, 1000, 500, numClasses);
      break;
    case 'lenet5':
      out = lenet5(b, input, numClasses);
      break;
    case 'cnn-small':
      out = cnnSmall(b, input, numClasses);
      break;
    case 'vgg-small':
      out = vggSmall(b, input, numClasses);
      break;
    case 'resnet20':
      out = resnet20(b, input, numClasses);
      break;
  }
  return tf.model({ inputs: input, outputs: out, name: parsed.data });
}

/** Number of trainable parameters. */
export function countParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}
