/**
 * A tfjs model built from a workload (nn/workload.ts): Conv2D/Dense with bias, MaxPooling2D,
 * Flatten and ReLU layers with the workload's names and weights. `foldBatchNorm` uses it to turn a
 * sequential model with batch norm into the equivalent model without it (each batch norm folded
 * into the convolution or dense layer before it, as `workloadFromModel` does), so that its kernels
 * are exactly the weights a hardware model quantizes.
 */
import { tf } from '../core/engine.js';
import { type Workload, workloadFromModel } from './workload.js';

/** The workload as a tfjs functional model (inference-equivalent; no input normalisation layer). */
export function modelFromWorkload(w: Workload, name = w.name): tf.LayersModel {
  const input = tf.input({ shape: w.inputShape });
  let y = input as tf.SymbolicTensor;
  const weighted: { layer: tf.layers.Layer; weights: tf.Tensor[] }[] = [];
  for (const op of w.ops) {
    if (op.kind === 'conv2d') {
      const layer = tf.layers.conv2d({
        name: op.name,
        filters: op.outShape[2],
        kernelSize: op.kernel,
        strides: op.strides,
        padding: op.padding,
        activation: op.activation === 'relu' ? 'relu' : 'linear',
        useBias: true,
      });
      y = layer.apply(y) as tf.SymbolicTensor;
      weighted.push({
        layer,
        weights: [tf.tensor4d(op.weights, [op.kernel[0], op.kernel[1], op.inShape[2], op.outShape[2]]), tf.tensor1d(op.bias ?? new Float32Array(op.outShape[2]))],
      });
    } else if (op.kind === 'dense') {
      const layer = tf.layers.dense({ name: op.name, units: op.outFeatures, activation: op.activation === 'relu' ? 'relu' : 'linear', useBias: true });
      y = layer.apply(y) as tf.SymbolicTensor;
      weighted.push({ layer, weights: [tf.tensor2d(op.weights, [op.inFeatures, op.outFeatures]), tf.tensor1d(op.bias ?? new Float32Array(op.outFeatures))] });
    } else if (op.kind === 'maxpool') {
      y = tf.layers.maxPooling2d({ name: op.name, poolSize: op.pool, strides: op.strides, padding: 'valid' }).apply(y) as tf.SymbolicTensor;
    } else if (op.kind === 'flatten') {
      y = tf.layers.flatten({ name: op.name }).apply(y) as tf.SymbolicTensor;
    } else {
      y = tf.layers.reLU({ name: op.name }).apply(y) as tf.SymbolicTensor;
    }
  }
  const model = tf.model({ inputs: input, outputs: y, name });
  for (const { layer, weights } of weighted) {
    layer.setWeights(weights);
    tf.dispose(weights);
  }
  return model;
}

/** True when the model has a BatchNormalization layer. */
export function hasBatchNorm(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l.getClassName() === 'BatchNormalization');
}

/** The same network with every batch norm folded into the layer before it (a new model; the input is not disposed). */
export function foldBatchNorm(model: tf.LayersModel): tf.LayersModel {
  return modelFromWorkload(workloadFromModel(model), model.name);
}
