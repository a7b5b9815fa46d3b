/**
 * Worker-thread entry of the executor (src/core/executor.ts). Starts its own numeric engine, then
 * runs jobs one at a time: imports the job's module (cached), calls the named export with
 * (args, ctx) and posts back the result or the error message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type BackendChoice, initEngine, parseBackendChoice, parseNativeChoice } from './engine.js';
import type { JobContext, WorkerReply, WorkerRequest } from './executor.js';

const port = parentPort;
if (!port) throw new Error('executor-worker must run in a worker thread');

const data = workerData as { backend: string; native: string; index: number };
const engine: Promise<unknown> =
  data.backend === 'none' ? Promise.resolve(null) : (async () => initEngine(parseBackendChoice(data.backend) as BackendChoice, { native: parseNativeChoice(data.native) }))();
// An engine failure is reported with each job (below), not as an unhandled rejection.
engine.catch(() => {});

const modules = new Map<string, Promise<Record<string, unknown>>>();

function message(e: unknown): { message: string; name: string } {
  if (e instanceof Error) return { message: e.message, name: e.name };
  return { message: String(e), name: 'Error' };
}

port.on('message', async (req: WorkerRequest) => {
  if (req.type !== 'run') return;
  let reply: WorkerReply;
  try {
    await engine;
    let mod = modules.get(req.module);
    if (!mod) {
      mod = import(req.module) as Promise<Record<string, unknown>>;
      modules.set(req.module, mod);
    }
    const m = await mod.catch((e: unknown) => {
      modules.delete(req.module);
      throw new Error(`cannot load job module ${req.module}: ${message(e).message}`);
    });
    const fn = m[req.fn];
    if (typeof fn !== 'function') throw new Error(`module ${req.module} has no exported function '${req.fn}'`);
    const ctx: JobContext = { jobId: req.jobId, workerIndex: data.index };
    const value = await (fn as (a: unknown, c: JobContext) => unknown)(req.args, ctx);
    reply = { type: 'result', jobId: req.jobId, value };
  } catch (e) {
    reply = { type: 'error', jobId: req.jobId, ...message(e) };
  }
  try {
    port.postMessage(reply);
  } catch (e) {
    port.postMessage({ type: 'error', jobId: req.jobId, message: `the result cannot be sent back: ${message(e).message}`, name: 'DataCloneError' });
  }
});
port.postMessage({ type: 'ready' } satisfies WorkerReply);
