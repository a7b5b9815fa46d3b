/**
 * Numeric-engine set-up: picks the tfjs backend once per process (or worker thread).
 *
 * Order for `auto`: `tensorflow` when `@tensorflow/tfjs-node` is installed and loads, else `wasm`.
 * `cpu` (pure JS, very slow) is used only when asked for. The choice comes from the caller
 * (CLI `--backend`) or the `ACCELAB_BACKEND` variable. On wasm, the project's own training
 * kernels (src/core/kernels) are registered before the backend is selected, and, unless
 * `ACCELAB_NATIVE=0` / `--native off`, the native BLAS kernels on top of them where the optional
 * addon is built (src/core/kernels/native.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { EngineError, ConfigError } from './errors.js';
import { availableParallelism } from 'node:os';
import { registerProjectKernels, WASM_PROJECT_KERNELS } from './kernels/index.js';
import { type NativeChoice, type NativeStatus, nativeLoadError, nativeStatus, parseNativeChoice, registerNativeKernels } from './kernels/native.js';

export { NATIVE_CHOICES, type NativeChoice, type NativeStatus, parseNativeChoice } from './kernels/native.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface EngineInfo {
  backend: BackendName;
  simd: boolean | null;
  threads: number;
  tfjsVersion: string;
  tfjsNodeAvailable: boolean;
  /** Kernels the project registered for this backend (src/core/kernels). */
  projectKernels: string[];
  /** Worker threads the executor uses by default (one engine each). */
  workers: number;
  /** Native BLAS kernels (wasm backend only): in use or why not, library, core type, threads. */
  native: NativeStatus;
}

export interface EngineOptions {
  /** Native BLAS kernels on wasm (default: ACCELAB_NATIVE or auto). */
  native?: NativeChoice;
}

let current: EngineInfo | null = null;
let pending: Promise<EngineInfo> | null = null;

export function parseBackendChoice(v: string | undefined): BackendChoice {
  const s = (v ?? 'auto').toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(s)) return s as BackendChoice;
  throw new ConfigError(`backend '${v}' is not known: use one of ${BACKEND_CHOICES.join(', ')}`);
}

async function tryTfjsNode(): Promise<boolean> {
  try {
    // The package is optional; its native binding is missing wherever its install failed.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return tf.findBackend('tensorflow') !== null;
  } catch {
    return false;
  }
}

async function initWasm(native: NativeChoice): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  registerProjectKernels('wasm');
  if (native !== 'off' && !registerNativeKernels() && native === 'on') {
    throw new EngineError(`native BLAS was required (ACCELAB_NATIVE=on / --native on) but ${nativeLoadError()}`);
  }
  if (!(await tf.setBackend('wasm'))) throw new EngineError('the wasm backend failed to start: reinstall @tensorflow/tfjs-backend-wasm');
}

/**
 * Initializes the engine. Idempotent within a process: a second call returns the first result
 * (asking for a different backend later is an error, since tensors would be stranded).
 */
export async function initEngine(choice: BackendChoice = parseBackendChoice(process.env.ACCELAB_BACKEND), opts: EngineOptions = {}): Promise<EngineInfo> {
  const native = opts.native ?? parseNativeChoice(process.env.ACCELAB_NATIVE);
  if (current) {
    if (choice !== 'auto' && choice !== current.backend) {
      throw new EngineError(`engine already started on '${current.backend}', cannot switch to '${choice}' in the same process`);
    }
    return current;
  }
  if (pending) return pending;
  pending = (async () => {
    tf.env().set('PROD', true);
    let backend: BackendName;
    let tfjsNodeAvailable = false;
    if (choice === 'tensorflow' || choice === 'auto') {
      tfjsNodeAvailable = await tryTfjsNode();
      if (tfjsNodeAvailable) {
        await tf.setBackend('tensorflow');
        backend = 'tensorflow';
      } else if (choice === 'tensorflow') {
        throw new ConfigError("backend 'tensorflow' needs @tensorflow/tfjs-node, which is not installed or failed to load: install it, or use --backend wasm");
      } else {
        await initWasm(native);
        backend = 'wasm';
      }
    } else if (choice === 'wasm') {
      await initWasm(native);
      backend = 'wasm';
    } else {
      registerProjectKernels('cpu');
      await tf.setBackend('cpu');
      backend = 'cpu';
    }
    await tf.ready();
    const simd = backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null;
    let threads = 1;
    if (backend === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      threads = wasm.getThreadsCount();
    }
    const projectKernels = backend === 'wasm' ? [...WASM_PROJECT_KERNELS] : [];
    current = { backend, simd, threads, tfjsVersion: tf.version.tfjs, tfjsNodeAvailable, projectKernels, workers: availableParallelism(), native: nativeStatus(native) };
    return current;
  })();
  try {
    return await pending;
  } finally {
    pending = null;
  }
}

export function engineInfo(): EngineInfo | null {
  return current;
}

export { tf };
