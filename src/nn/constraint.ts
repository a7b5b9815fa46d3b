/**
 * Constraints on the kernels of a layers model, held through training (`WeightConstraint` of
 * nn/train.ts), given as plain typed arrays per layer:
 * - a mask (1 = kept): the gradients of pruned weights are zeroed before the optimizer step, so
 *   neither the step nor the optimizer's state (momentum, Adam's moments) moves them, and after
 *   every step the kernel is multiplied by the mask again, so pruned weights are exactly zero;
 * - a projection with the straight-through estimator: the optimizer updates a float latent copy of
 *   the kernel and after every step the model's kernel is set to project(latent) (then masked).
 *   The forward pass and the gradient are computed at the projected weights; the gradient is
 *   applied to the latent weights as if the projection were the identity.
 * Rules may change during training (`set`, e.g. from the `onStep` hook for gradual pruning).
 */
import { tf } from '../core/engine.js';
import { ConfigError } from '../core/errors.js';
import type { WeightConstraint } from './train.js';

/** What is held on one kernel. */
export interface KernelRule {
  /** 1 = kept, 0 = pruned (the kernel's length, tfjs layout). */
  mask?: Uint8Array;
  /** Writes the constrained values of the latent weights into `out` (same length); enables the straight-through estimator. */
  project?: (latent: Float32Array, out: Float32Array) => void;
}

/** A conv or dense kernel of a model. */
export interface ModelKernel {
  /** Layer name (the workload's op name). */
  layer: string;
  /** tfjs layout: HWIO for convolutions (kh, kw, inC, outC), (in, out) for dense layers. */
  shape: number[];
  variable: tf.LayerVariable;
}

/** The kernels of a model's Conv2D and Dense layers, in layer order. */
export function modelKernels(model: tf.LayersModel): ModelKernel[] {
  const out: ModelKernel[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'Dense') continue;
    const v = layer.trainableWeights.find((w) => /kernel/.test(w.originalName));
    if (v) out.push({ layer: layer.name, shape: v.shape.slice() as number[], variable: v });
  }
  return out;
}

/** Reads a kernel's current values. */
export function kernelValues(k: ModelKernel): Float32Array {
  return Float32Array.from(k.variable.read().dataSync() as Float32Array);
}

/** Writes values into a kernel. */
export function setKernelValues(k: ModelKernel, values: Float32Array): void {
  if (values.length !== k.variable.read().size) throw new ConfigError(`kernel ${k.layer}: ${values.length} values for ${k.shape.join('×')}`);
  tf.tidy(() => {
    k.variable.write(tf.tensor(values, k.shape));
  });
}

interface Held {
  kernel: ModelKernel;
  rule: KernelRule;
  maskT: tf.Tensor | null;
  latent: tf.Variable | null;
}

/** `WeightConstraint` over a model's kernels, one rule per layer name (layers without a rule train freely). */
export class KernelConstraint implements WeightConstraint {
  private readonly held = new Map<string, Held>();
  private readonly byVariable = new Map<string, Held>();
  private started = false;

  constructor(
    readonly model: tf.LayersModel,
    rules: ReadonlyMap<string, KernelRule>,
    private readonly onStep?: (step: number, c: KernelConstraint) => void,
  ) {
    const kernels = new Map(modelKernels(model).map((k) => [k.layer, k]));
    for (const [layer, rule] of rules) {
      const kernel = kernels.get(layer);
      if (!kernel) throw new ConfigError(`constraint: layer '${layer}' has no conv/dense kernel (layers: ${[...kernels.keys()].join(', ')})`);
      const h: Held = { kernel, rule: {}, maskT: null, latent: null };
      this.held.set(layer, h);
      this.byVariable.set(kernel.variable.name, h);
      this.check(h, rule);
      h.rule = rule;
    }
  }

  /** The layers held. */
  layers(): string[] {
    return [...this.held.keys()];
  }

  rule(layer: string): KernelRule {
    return this.get(layer).rule;
  }

  /** The float weights being trained: the latent copy under a projection, else the kernel. */
  latentValues(layer: string): Float32Array {
    const h = this.get(layer);
    return h.latent ? Float32Array.from(h.latent.dataSync() as Float32Array) : kernelValues(h.kernel);
  }

  /** Replaces a layer's rule; once training has begun the kernel is constrained at once. */
  set(layer: string, rule: KernelRule): void {
    const h = this.get(layer);
    this.check(h, rule);
    if (this.started && Boolean(rule.project) !== Boolean(h.rule.project))
      throw new ConfigError(`constraint: layer '${layer}' cannot switch the projection on or off during training`);
    h.rule = rule;
    if (this.started) {
      h.maskT?.dispose();
      h.maskT = rule.mask ? tf.tensor(Float32Array.from(rule.mask), h.kernel.shape) : null;
      this.write(h);
    }
  }

  begin(): void {
    if (this.started) throw new ConfigError('constraint: begin() called twice');
    this.started = true;
    for (const h of this.held.values()) {
      h.maskT = h.rule.mask ? tf.tensor(Float32Array.from(h.rule.mask), h.kernel.shape) : null;
      if (h.rule.project) h.latent = tf.variable(h.kernel.variable.read().clone(), false);
      this.write(h);
    }
  }

  gradients(grads: tf.NamedTensorMap): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    for (const [name, g] of Object.entries(grads)) {
      const h = this.byVariable.get(name);
      if (!h) {
        out[name] = g;
        continue;
      }
      const gm = h.maskT ? tf.mul(g, h.maskT) : g;
      out[h.latent ? h.latent.name : name] = gm;
    }
    return out;
  }

  afterStep(step: number): void {
    this.onStep?.(step, this);
    for (const h of this.held.values()) this.write(h);
  }

  end(): void {
    for (const h of this.held.values()) {
      h.maskT?.dispose();
      h.maskT = null;
      h.latent?.dispose();
      h.latent = null;
    }
    this.started = false;
  }

  private get(layer: string): Held {
    const h = this.held.get(layer);
    if (!h) throw new ConfigError(`constraint: layer '${layer}' is not held (held: ${[...this.held.keys()].join(', ')})`);
    return h;
  }

  private check(h: Held, rule: KernelRule): void {
    const n = h.kernel.variable.read().size;
    if (rule.mask && rule.mask.length !== n) throw new ConfigError(`constraint: the mask of '${h.kernel.layer}' has ${rule.mask.length} entries for ${n} weights`);
  }

  /** Sets the model's kernel from the latent weights (or itself): projected, then masked. */
  private write(h: Held): void {
    if (h.rule.project) {
      const src = h.latent ? (h.latent.dataSync() as Float32Array) : kernelValues(h.kernel);
      const out = new Float32Array(src.length);
      h.rule.project(src, out);
      const m = h.rule.mask;
      if (m) for (let i = 0; i < out.length; i++) if (!m[i]) out[i] = 0;
      setKernelValues(h.kernel, out);
    } else if (h.maskT) {
      const maskT = h.maskT;
      tf.tidy(() => {
        h.kernel.variable.write(tf.mul(h.kernel.variable.read(), maskT));
      });
    }
  }
}

/** Fraction of exact zeros of each kernel (by layer name). */
export function kernelSparsity(model: tf.LayersModel): { layer: string; weights: number; zeros: number; sparsity: number }[] {
  return modelKernels(model).map((k) => {
    const v = kernelValues(k);
    let z = 0;
    for (const x of v) if (x === 0) z++;
    return { layer: k.layer, weights: v.length, zeros: z, sparsity: v.length ? z / v.length : 0 };
  });
}
