/**
 * tfjs tensors from pipeline batches (kept apart from pipeline.ts so that loading data does not load tfjs).
 * The caller owns the tensors (dispose them, or create them inside `tf.tidy`).
 */
import { tf } from '../core/engine.js';
import type { Batch, Shape } from './pipeline.js';

export interface BatchTensors {
  /** [size, H, W, C] float32. */
  xs: tf.Tensor4D;
  /** One-hot [size, numClasses] float32, or class indices [size] int32 when `oneHot` is false. */
  ys: tf.Tensor2D | tf.Tensor1D;
}

export function batchToTensors(batch: Batch, shape: Shape, numClasses: number, opts: { oneHot?: boolean } = {}): BatchTensors {
  const xs = tf.tensor4d(batch.x, [batch.size, shape[0], shape[1], shape[2]], 'float32');
  const labels = Int32Array.from(batch.y);
  if (opts.oneHot === false) return { xs, ys: tf.tensor1d(labels, 'int32') };
  const oh = new Float32Array(batch.size * numClasses);
  for (let i = 0; i < batch.size; i++) oh[i * numClasses + labels[i]] = 1;
  return { xs, ys: tf.tensor2d(oh, [batch.size, numClasses], 'float32') };
}
