/**
 * Per-kernel timers for the `train-step` benchmark's `--profile` option (runs inside a worker).
 *
 * Every kernel registered for the active backend is wrapped, at run time, by a timer that charges
 * the kernel's own time (self time: time spent in kernels it calls itself is charged to those) to
 * the current phase of the step: `forward` (model and loss), `backward` (the gradient tape) or
 * `optimizer` (the update and reading the loss). What a phase spends outside kernels (tfjs engine
 * dispatch, tape bookkeeping, tensor allocation and disposal, layer code) is its `overhead`.
 * Two clocks: wall time (performance.now) and process CPU time (process.cpuUsage, about 1 µs per
 * reading; all threads of the process, so profile with one worker busy). CPU time is the robust
 * figure on a loaded machine. `stop()` restores the original kernels.
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import { tf } from '../src/core/engine.js';

export const PROFILE_PHASES = ['forward', 'backward', 'optimizer'] as const;
export type ProfilePhase = (typeof PROFILE_PHASES)[number];

export interface KernelTime {
  phase: ProfilePhase;
  kernel: string;
  /** Calls per step. */
  calls: number;
  /** Self wall time per step, ms. */
  ms: number;
  /** Self CPU time per step, ms. */
  cpuMs: number;
}

export interface PhaseTimes {
  forward: number;
  backward: number;
  optimizer: number;
}

export interface StepProfile {
  /** Steps the figures are averaged over. */
  steps: number;
  /** Wall and CPU time per step, ms (with the timers in place). */
  msPerStep: number;
  cpuMsPerStep: number;
  /** Per phase, ms per step. */
  phaseMs: PhaseTimes;
  phaseCpuMs: PhaseTimes;
  /** Per phase: phase time − kernel self time, ms per step. */
  overheadMs: PhaseTimes;
  overheadCpuMs: PhaseTimes;
  /** Kernel calls per step. */
  kernelCalls: number;
  /** Sorted by CPU time, largest first. */
  kernels: KernelTime[];
}

interface Clock {
  wall: number;
  cpu: number;
}

function now(): Clock {
  const c = process.cpuUsage();
  return { wall: performance.now(), cpu: (c.user + c.system) / 1000 };
}

function shapesOf(inputs: Record<string, { shape: number[] } | undefined>): string {
  return Object.values(inputs)
    .map((t) => (t ? t.shape.join('x') || 'scalar' : '-'))
    .join(',');
}

const zero = (): PhaseTimes => ({ forward: 0, backward: 0, optimizer: 0 });

export class KernelProfiler {
  private phase: ProfilePhase = 'forward';
  private readonly totals = new Map<string, KernelTime>();
  private phaseWall = zero();
  private phaseCpu = zero();
  private phaseStart: Clock = { wall: 0, cpu: 0 };
  private stepStart: Clock = { wall: 0, cpu: 0 };
  private readonly originals: KernelConfig[] = [];
  /** Time of nested kernels, per running kernel (a kernel's self time excludes them). */
  private readonly child: Clock[] = [];
  private steps = 0;
  private stepWall = 0;
  private stepCpu = 0;
  private recording = false;

  /** `byShape`: one entry per kernel and input shapes (e.g. `Conv2D 64x14x14x32,3x3x32x64`). */
  constructor(
    private readonly byShape = false,
    private readonly backend = tf.getBackend(),
  ) {
    for (const k of tf.getKernelsForBackend(this.backend)) {
      const prev = k.kernelFunc;
      this.originals.push(k);
      tf.unregisterKernel(k.kernelName, this.backend);
      const wrapped: KernelFunc = (args) => {
        if (!this.recording) return prev(args);
        this.child.push({ wall: 0, cpu: 0 });
        const t0 = now();
        try {
          return prev(args);
        } finally {
          const t1 = now();
          const wall = t1.wall - t0.wall;
          const cpu = t1.cpu - t0.cpu;
          const inner = this.child.pop() ?? { wall: 0, cpu: 0 };
          const parent = this.child[this.child.length - 1];
          if (parent) {
            parent.wall += wall;
            parent.cpu += cpu;
          }
          this.add(this.byShape ? `${k.kernelName} ${shapesOf(args.inputs)}` : k.kernelName, wall - inner.wall, cpu - inner.cpu);
        }
      };
      tf.registerKernel({ ...k, kernelFunc: wrapped });
    }
  }

  private add(kernel: string, ms: number, cpuMs: number): void {
    const key = `${this.phase}\u0000${kernel}`;
    const e = this.totals.get(key);
    if (e) {
      e.calls++;
      e.ms += ms;
      e.cpuMs += cpuMs;
    } else this.totals.set(key, { phase: this.phase, kernel, calls: 1, ms, cpuMs });
  }

  /** Starts a recorded step (in phase `forward`). */
  beginStep(): void {
    this.recording = true;
    this.phase = 'forward';
    this.stepStart = now();
    this.phaseStart = this.stepStart;
  }

  private closePhase(t: Clock): void {
    this.phaseWall[this.phase] += t.wall - this.phaseStart.wall;
    this.phaseCpu[this.phase] += t.cpu - this.phaseStart.cpu;
    this.phaseStart = t;
  }

  /** Charges the following time to `phase`. */
  enter(phase: ProfilePhase): void {
    if (!this.recording) return;
    this.closePhase(now());
    this.phase = phase;
  }

  endStep(): void {
    if (!this.recording) return;
    const t = now();
    this.closePhase(t);
    this.stepWall += t.wall - this.stepStart.wall;
    this.stepCpu += t.cpu - this.stepStart.cpu;
    this.steps++;
    this.recording = false;
  }

  /** Forgets what was recorded so far (e.g. a warm-up step). */
  reset(): void {
    this.totals.clear();
    this.phaseWall = zero();
    this.phaseCpu = zero();
    this.steps = 0;
    this.stepWall = 0;
    this.stepCpu = 0;
  }

  result(): StepProfile {
    const n = Math.max(this.steps, 1);
    const kernels = [...this.totals.values()]
      .map((e) => ({ phase: e.phase, kernel: e.kernel, calls: e.calls / n, ms: e.ms / n, cpuMs: e.cpuMs / n }))
      .sort((a, b) => b.cpuMs - a.cpuMs);
    const per = (p: PhaseTimes): PhaseTimes => ({ forward: p.forward / n, backward: p.backward / n, optimizer: p.optimizer / n });
    const phaseMs = per(this.phaseWall);
    const phaseCpuMs = per(this.phaseCpu);
    const overheadMs = { ...phaseMs };
    const overheadCpuMs = { ...phaseCpuMs };
    for (const k of kernels) {
      overheadMs[k.phase] -= k.ms;
      overheadCpuMs[k.phase] -= k.cpuMs;
    }
    return {
      steps: this.steps,
      msPerStep: this.stepWall / n,
      cpuMsPerStep: this.stepCpu / n,
      phaseMs,
      phaseCpuMs,
      overheadMs,
      overheadCpuMs,
      kernelCalls: kernels.reduce((s, k) => s + k.calls, 0),
      kernels,
    };
  }

  /** Puts the original kernels back. */
  stop(): void {
    for (const k of this.originals) {
      tf.unregisterKernel(k.kernelName, this.backend);
      tf.registerKernel(k);
    }
    this.originals.length = 0;
  }
}
