/**
 * One client's work in one round, as a self-contained job: everything is named by JSON (task
 * spec, store, weight keys), so it runs the same in-process, on a worker thread, or on a BullMQ
 * worker on another machine. Weights travel by reference: the job reads `weightsRef` from the
 * store and writes its result to `outRef`.
 */
import { initEngine } from '../core/engine.js';
import { type ExpertGate, type TrainOptions, type TriggerOn, type TriggerRule, localFit } from './client.js';
import { type TaskSpec, prepareTask } from './task.js';
import { type StoreSpec, type WeightStore, openStore } from './weights.js';

export interface KdJobSpec {
  groups: number[][];
  weak: number[];
  triggerOn: TriggerOn;
  expertRefs: string[];
  expertModel: string;
  temperature: number;
  lambda: number;
  trigger: TriggerRule;
  expertGate: ExpertGate;
}

export interface FitJob {
  /** Unique, stable id (run, phase, round, client): a retried job has the same id. */
  id: string;
  task: TaskSpec;
  store: StoreSpec;
  weightsRef: string;
  outRef: string;
  clientId: number;
  round: number;
  seed: number;
  model: string;
  train: TrainOptions;
  classes?: number[];
  kd?: KdJobSpec;
  /** Test hook: the BullMQ processor waits this long before training (lets a fault test kill a worker mid-job). */
  holdMs?: number;
}

export interface FitJobResult {
  id: string;
  clientId: number;
  numExamples: number;
  outRef: string;
  meanLoss: number;
  kdTriggered: number;
  durationS: number;
}

const stores = new Map<string, Promise<WeightStore>>();

export function storeFor(spec: StoreSpec): Promise<WeightStore> {
  const key = JSON.stringify(spec);
  let s = stores.get(key);
  if (!s) {
    s = openStore(spec);
    stores.set(key, s);
  }
  return s;
}

/** Closes every store this process opened (Redis connections). */
export async function closeStores(): Promise<void> {
  const all = [...stores.values()];
  stores.clear();
  for (const s of all) await (await s).close();
}

/** The KD options a job carries, without the store keys of the experts (the job loads those). */
function kdSpec(k: KdJobSpec): Omit<KdJobSpec, 'expertRefs'> {
  const { expertRefs: _refs, ...rest } = k;
  return rest;
}

/** The job function (exported for executors: module `fl/job.js`, function `runFitJob`). */
export async function runFitJob(job: FitJob): Promise<FitJobResult> {
  const t0 = performance.now();
  await initEngine();
  const [task, store] = await Promise.all([prepareTask(job.task), storeFor(job.store)]);
  const weights = await store.get(job.weightsRef);
  const experts = job.kd ? await Promise.all(job.kd.expertRefs.map((r) => store.get(r))) : [];
  const out = await localFit({
    task,
    clientId: job.clientId,
    seed: job.seed,
    weights,
    train: job.train,
    model: job.model,
    classes: job.classes,
    kd: job.kd ? { ...kdSpec(job.kd), experts } : undefined,
  });
  await store.put(job.outRef, out.weights);
  return {
    id: job.id,
    clientId: job.clientId,
    numExamples: out.numExamples,
    outRef: job.outRef,
    meanLoss: out.meanLoss,
    kdTriggered: out.kdTriggered,
    durationS: (performance.now() - t0) / 1000,
  };
}
