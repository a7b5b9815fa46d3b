/**
 * The client side of a round: set the global weights, train locally, hand back the new weights.
 * Deterministic given (weights, task, client, round seed): data order comes from `Rng(seed)`,
 * the optimizer is created fresh each round, and nothing else is random.
 *
 * The same function trains the global model (FedAvg, PKD's distillation rounds with the partial-KD
 * term) and the group experts (only the group's samples, relabelled 0..|G|-1). The optimizer
 * factory, its disposal, the batch pipeline and prediction are those of central training
 * (nn/train.ts, data/pipeline.ts): one training stack.
 */
import { tf } from '../core/engine.js';
import { Rng } from '../core/rng.js';
import { batches } from '../data/pipeline.js';
import { createModel } from '../nn/models.js';
import { type OptimizerOptions, disposeOptimizer, makeOptimizer } from '../nn/train.js';
import type { PreparedTask } from './task.js';
import type { Weights } from './weights.js';

/** Local training of one client job: the optimizer (as central training names it), epochs and batch size. */
export interface TrainOptions extends OptimizerOptions {
  epochs: number;
  batchSize: number;
}

/** When the partial-KD term fires for a sample (inferred choice [I]; see docs/fl.md). */
export type TriggerRule =
  /** y ∈ G, argmax z ∈ G and argmax z ≠ y: misclassified into another class of the same group (default). With triggerOn 'weak', y must also be weak. */
  | 'within-group'
  /** y weak (in some group) and argmax z ≠ y. */
  | 'any-weak-miss'
  /** every sample whose true class is in a group (plain group KD, no trigger: ablation). */
  | 'always';

/**
 * A further condition on the group's expert [I]: 'expert-correct' (the config default): the term fires only
 * where the expert classifies the sample correctly, so the student is never pulled toward an expert's mistake;
 * 'none': no condition.
 */
export type ExpertGate = 'none' | 'expert-correct';

/** Which true classes can trigger: only the weak classes (default), or every member of a group. */
export type TriggerOn = 'weak' | 'group';

export interface KdOptions {
  groups: number[][];
  /** The weak set identified after the warm-up. */
  weak: number[];
  triggerOn: TriggerOn;
  /** Expert weights, one per group, as they are after stage 3. */
  experts: Weights[];
  expertModel: string;
  temperature: number;
  lambda: number;
  trigger: TriggerRule;
  expertGate: ExpertGate;
}

export interface LocalFitInput {
  task: PreparedTask;
  clientId: number;
  seed: number;
  weights: Weights;
  train: TrainOptions;
  /** Model to train (global model name, or the expert architecture). */
  model: string;
  /** Expert training: keep only these classes, relabelled to their position in the list. */
  classes?: number[];
  kd?: KdOptions;
}

export interface LocalFitOutput {
  weights: Weights;
  numExamples: number;
  meanLoss: number;
  /** Samples on which the KD term fired (summed over epochs). */
  kdTriggered: number;
}

const models = new Map<string, tf.LayersModel>();

/** One cached model per (architecture, input shape, classes) in a process; weights are set each time. */
export function cachedModel(name: string, inputShape: [number, number, number], numClasses: number): tf.LayersModel {
  const key = `${name}|${inputShape.join('x')}|${numClasses}`;
  let m = models.get(key);
  if (!m) {
    m = createModel(name, { inputShape, numClasses, seed: 1 });
    models.set(key, m);
  }
  return m;
}

export function getWeights(model: tf.LayersModel): Weights {
  return model.getWeights().map((t) => new Float32Array(t.dataSync()));
}

export function setWeights(model: tf.LayersModel, w: Weights): void {
  const cur = model.getWeights();
  if (cur.length !== w.length) throw new Error(`weights list has ${w.length} tensors, the model needs ${cur.length}`);
  const ts = cur.map((t, i) => tf.tensor(w[i], t.shape));
  model.setWeights(ts);
  for (const t of ts) t.dispose();
}

/** Runs `epochs` of local minibatch training and returns the new weights. */
export async function localFit(inp: LocalFitInput): Promise<LocalFitOutput> {
  const { task, train } = inp;
  const ds = task.dataset;
  const labelsAll = ds.train.labels;
  let indices = task.clientIndices[inp.clientId];
  const classes = inp.classes;
  const relabel = new Int32Array(ds.numClasses).fill(-1);
  if (classes) {
    classes.forEach((c, j) => {
      relabel[c] = j;
    });
    indices = indices.filter((i) => relabel[labelsAll[i]] >= 0);
  } else for (let c = 0; c < ds.numClasses; c++) relabel[c] = c;
  const numOut = classes ? classes.length : ds.numClasses;
  const model = cachedModel(inp.model, task.inputShape, numOut);
  setWeights(model, inp.weights);

  // Frozen experts for the partial-KD term.
  const kd = inp.kd && inp.kd.groups.length > 0 ? inp.kd : undefined;
  const experts: tf.LayersModel[] = [];
  const groupOf = new Int32Array(ds.numClasses).fill(-1);
  const eligible = new Uint8Array(ds.numClasses);
  if (kd) {
    for (let c = 0; c < ds.numClasses; c++) eligible[c] = kd.triggerOn === 'group' || kd.weak.includes(c) ? 1 : 0;
    kd.groups.forEach((g, j) => {
      for (const c of g) groupOf[c] = j;
    });
    for (let j = 0; j < kd.groups.length; j++) {
      // Each expert needs its own model instance: key by group index as well.
      const key = `expert#${j}|${kd.expertModel}|${task.inputShape.join('x')}|${kd.groups[j].length}`;
      let e = models.get(key);
      if (!e) {
        e = createModel(kd.expertModel, { inputShape: task.inputShape, numClasses: kd.groups[j].length, seed: 1 });
        models.set(key, e);
      }
      const m = e;
      setWeights(m, kd.experts[j]);
      experts.push(m);
    }
  }

  const select = kd
    ? kd.groups.map((g) => {
        const m = new Float32Array(ds.numClasses * g.length);
        g.forEach((c, j) => {
          m[c * g.length + j] = 1;
        });
        return tf.tensor2d(m, [ds.numClasses, g.length]);
      })
    : [];
  const opt = makeOptimizer(train);
  const rng = new Rng(inp.seed);
  const n = indices.length;
  let lossSum = 0;
  let steps = 0;
  let triggered = 0;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const gate = kd?.expertGate === 'expert-correct';
  const teachers = kd ? experts.map((m, j) => teacherTable(m, kd.groups[j].length, task, indices, (k) => groupOf[labelsAll[indices[k]]] === j, kd.temperature)) : [];
  const ordered = new Int32Array(n);
  for (let e = 0; e < train.epochs; e++) {
    const order = rng.permutation(n);
    for (let i = 0; i < n; i++) ordered[i] = indices[order[i]];
    let from = 0;
    for (const b of batches(ds.train, ds.shape, { batchSize: train.batchSize, shuffle: false, indices: ordered, normalize: task.norm })) {
      const yb = new Int32Array(b.size);
      for (let i = 0; i < b.size; i++) yb[i] = relabel[b.y[i]];
      const x = tf.tensor4d(b.x, [b.size, ...ds.shape]);
      const yOneHot = tf.tidy(() => tf.oneHot(tf.tensor1d(yb, 'int32'), numOut).toFloat());
      const B = b.size;
      const lossT = opt.minimize(
        () => {
          const z = model.apply(x, { training: true }) as tf.Tensor2D;
          const ce = tf.losses.softmaxCrossEntropy(yOneHot, z);
          if (!kd) return ce as tf.Scalar;
          // Trigger from the current student prediction; read as plain numbers, so no gradient flows through it.
          const pred = (tf.argMax(z, 1).dataSync() as Int32Array).slice();
          let kdSum: tf.Tensor = tf.scalar(0);
          kd.groups.forEach((_g, j) => {
            const mask = new Float32Array(B);
            let any = false;
            for (let i = 0; i < B; i++) {
              const y = yb[i];
              const p = pred[i];
              let fire = false;
              if (groupOf[y] === j && eligible[y]) {
                if (kd.trigger === 'within-group') fire = groupOf[p] === j && p !== y;
                else if (kd.trigger === 'any-weak-miss') fire = p !== y;
                else fire = true;
                if (fire && gate) fire = kd.groups[j][teachers[j].argmax[teachers[j].rowOf[order[from + i]]]] === y;
              }
              if (fire) {
                mask[i] = 1;
                any = true;
                triggered++;
              }
            }
            if (!any) return;
            // z[:, G] as a product with a one-hot selection matrix (exact; its gradient needs no scatter kernel).
            const logQ = tf.logSoftmax(tf.div(tf.matMul(z, select[j]), kd.temperature));
            const logP = teachers[j].batch(order, from, B);
            const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), 1);
            kdSum = tf.add(kdSum, tf.sum(tf.mul(kl, tf.tensor1d(mask))));
          });
          const scale = (kd.lambda * kd.temperature * kd.temperature) / B;
          return tf.add(ce, tf.mul(kdSum, scale)) as tf.Scalar;
        },
        true,
        vars,
      );
      lossSum += lossT ? (await lossT.data())[0] : 0;
      steps++;
      lossT?.dispose();
      x.dispose();
      yOneHot.dispose();
      from += B;
    }
  }
  disposeOptimizer(opt);
  for (const t of select) t.dispose();
  return { weights: getWeights(model), numExamples: n, meanLoss: steps ? lossSum / steps : 0, kdTriggered: triggered };
}

/** The frozen expert's log-softmax(logits / T) and argmax for the client's samples of its group, computed once per job. */
interface TeacherTable {
  /** Position k in the client's index list → row of `logp` (−1: not a sample of the group). */
  rowOf: Int32Array;
  logp: Float32Array;
  argmax: Int32Array;
  /** The rows of a minibatch (positions order[from..from+B)) as a B×|G| tensor; rows outside the group are uniform (they never fire). */
  batch(order: ArrayLike<number>, from: number, B: number): tf.Tensor2D;
}

function teacherTable(expert: tf.LayersModel, g: number, task: PreparedTask, indices: ArrayLike<number>, inGroup: (k: number) => boolean, temperature: number): TeacherTable {
  const n = indices.length;
  const rowOf = new Int32Array(n).fill(-1);
  const members: number[] = [];
  for (let k = 0; k < n; k++) {
    if (inGroup(k)) {
      rowOf[k] = members.length;
      members.push(indices[k]);
    }
  }
  const logp = new Float32Array(members.length * g);
  const argmax = new Int32Array(members.length);
  let from = 0;
  for (const b of batches(task.dataset.train, task.dataset.shape, { batchSize: 500, shuffle: false, indices: members, normalize: task.norm })) {
    const t = tf.tidy(() => tf.logSoftmax(tf.div(expert.predict(tf.tensor4d(b.x, [b.size, ...task.dataset.shape])) as tf.Tensor2D, temperature)));
    logp.set(t.dataSync(), from * g);
    from += b.size;
    t.dispose();
  }
  for (let r = 0; r < members.length; r++) {
    let best = 0;
    for (let c = 1; c < g; c++) if (logp[r * g + c] > logp[r * g + best]) best = c;
    argmax[r] = best;
  }
  const uniform = -Math.log(g);
  return {
    rowOf,
    logp,
    argmax,
    batch(order, from, B) {
      const out = new Float32Array(B * g).fill(uniform);
      for (let i = 0; i < B; i++) {
        const r = rowOf[order[from + i]];
        if (r >= 0) out.set(logp.subarray(r * g, (r + 1) * g), i * g);
      }
      return tf.tensor2d(out, [B, g]);
    },
  };
}
