/**
 * `foldBatchNorm` turns any graph model with batch norm (residual networks included) into the
 * equivalent model without it (each batch norm folded into the convolution or dense layer that
 * feeds it, as `weightedLayers` folds it), so that its kernels are exactly the weights a hardware
 * model quantizes.
 */
import { tf } from '../core/engine.js';
import { ConfigError } from '../core/errors.js';
import { weightedLayers } from './workload.js';

/** True when the model has a BatchNormalization layer. */
export function hasBatchNorm(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l.getClassName() === 'BatchNormalization');
}

type LayerClass = tf.serialization.SerializableConstructor<tf.layers.Layer>;

/**
 * The same network with every batch norm folded into the layer that feeds it (a new model with the
 * same layer classes, names and connections; the input is not disposed).
 */
export function foldBatchNorm(model: tf.LayersModel): tf.LayersModel {
  const ops = new Map(weightedLayers(model).map((op) => [op.name, op]));
  const out = new Map<string, tf.SymbolicTensor>();
  const inputs = model.inputs.map((t) => {
    const x = tf.input({ shape: t.shape.slice(1) as number[] });
    out.set(t.sourceLayer.name, x);
    return x;
  });
  const pending: { layer: tf.layers.Layer; weights: tf.Tensor[]; own: boolean }[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) throw new ConfigError(`fold: layer '${layer.name}' is used more than once; shared layers are not supported`);
    const from = layer.inboundNodes[0].inboundLayers.map((l) => {
      const t = out.get(l.name);
      if (!t) throw new ConfigError(`fold: layer '${layer.name}' reads '${l.name}', which is not built yet`);
      return t;
    });
    if (layer.getClassName() === 'BatchNormalization') {
      out.set(layer.name, from[0]);
      continue;
    }
    const op = ops.get(layer.name);
    const cfg = layer.getConfig();
    if (op?.bias) cfg.useBias = true;
    const cls = layer.constructor as LayerClass;
    const clone = cls.fromConfig(cls, cfg);
    out.set(layer.name, clone.apply(from.length === 1 ? from[0] : from) as tf.SymbolicTensor);
    const current = layer.getWeights();
    if (op) {
      const weights = [tf.tensor(op.weights, current[0].shape)];
      if (op.bias) weights.push(tf.tensor1d(op.bias));
      pending.push({ layer: clone, weights, own: true });
    } else if (current.length) pending.push({ layer: clone, weights: current, own: false });
  }
  const outputs = model.outputs.map((t) => out.get(t.sourceLayer.name) as tf.SymbolicTensor);
  const folded = tf.model({ inputs, outputs: outputs.length === 1 ? outputs[0] : outputs, name: model.name });
  for (const { layer, weights, own } of pending) {
    layer.setWeights(weights);
    if (own) tf.dispose(weights);
  }
  return folded;
}
