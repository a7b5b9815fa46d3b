/**
 * `train-step`: training images/s of (a) cnn-small on 28×28×1, (b) cnn-small on 32×32×3 and
 * (c) resnet20 on 32×32×3, batch 64, each with 1 worker and with 2 workers training at once
 * (executor threads, one tfjs-wasm engine each). Median over `--reps` repetitions after
 * `--warmup` steps. The 2-worker figure is the sum of the two workers' median images/s, measured
 * over the same period (a shared barrier starts both timers together).
 * `--vs-torch` also runs bench/reference/train_step.py (PyTorch, 1 thread) on each case, right after
 * the 1-worker measurement of that case.
 * Where the native BLAS kernels are in use (the default path), each measurement is repeated on the
 * wasm kernels (workers started with native off) right after it, unless `--no-wasm-path`.
 * `--profile`: after the timed 1-worker repetitions, `--profile-steps` more steps with per-kernel
 * timers (bench/train-step-profile.ts; not part of the timings): time per kernel, forward /
 * backward / optimizer, and what each phase spends outside kernels.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { engineInfo, type NativeChoice, type NativeStatus } from '../src/core/engine.js';
import { ConfigError, EngineError } from '../src/core/errors.js';
import { Executor } from '../src/core/executor.js';
import type { ModelName } from '../src/nn/models.js';
import { type BenchContext, median, registerBenchmark } from './registry.js';
import type { TrainStepArgs, TrainStepTiming } from './train-step-job.js';
import { PROFILE_PHASES, type StepProfile } from './train-step-profile.js';

const JOB_MODULE = new URL('./train-step-job.js', import.meta.url);

interface Case {
  key: string;
  label: string;
  model: ModelName;
  inputShape: number[];
}

export const TRAIN_STEP_CASES: Case[] = [
  { key: 'cnn-small-28x28x1', label: '(a) cnn-small 28×28×1', model: 'cnn-small', inputShape: [28, 28, 1] },
  { key: 'cnn-small-32x32x3', label: '(b) cnn-small 32×32×3', model: 'cnn-small', inputShape: [32, 32, 3] },
  { key: 'resnet20-32x32x3', label: '(c) resnet20 32×32×3', model: 'resnet20', inputShape: [32, 32, 3] },
];

export interface TrainStepOptions {
  reps: number;
  warmup: number;
  steps: number;
  batch: number;
  cases: string;
  workers: string;
  vsTorch?: boolean;
  /** Per-kernel profile of the 1-worker runs. */
  profile?: boolean;
  profileSteps: number;
  /** Also measure the wasm kernels when the default path is native (commander: --no-wasm-path). */
  wasmPath: boolean;
  seed: number;
}

type PathName = 'native' | 'wasm';

interface WorkersResult {
  workers: number;
  /** Total images/s of all workers together. */
  imagesPerSec: number;
  /** Median ms per step of each worker. */
  msPerStep: number[];
  /**
   * Images per second of process CPU time (all threads; robust to other load on a shared machine,
   * unlike wall-clock images/s). With 2 workers both share the process, so it is total images ÷
   * total CPU time over the common window.
   */
  imagesPerCpuSec: number;
}

export interface TrainStepCaseResult {
  case: string;
  model: ModelName;
  inputShape: number[];
  batch: number;
  /** Kernels of the default path: native BLAS where it is in use, else wasm. */
  path: PathName;
  accelab: WorkersResult[];
  /** The wasm kernels (native off), when the default path is native and --wasm-path (default). */
  accelabWasm: WorkersResult[] | null;
  torch: { imagesPerSec: number; msPerStep: number; imagesPerCpuSec: number } | null;
  /** accelab 1-worker images/s ÷ PyTorch 1-thread images/s (wall clock), default path. */
  ratioVsTorch: number | null;
  /** The same ratio on CPU time (images per CPU-second), less sensitive to other load. */
  ratioVsTorchCpu: number | null;
  /** ratioVsTorch of the wasm kernels. */
  ratioVsTorchWasm: number | null;
  /** ratioVsTorchCpu of the wasm kernels. */
  ratioVsTorchCpuWasm: number | null;
  /** Per-kernel profile of one worker on each path measured (--profile), else null. */
  profile: { native: StepProfile | null; wasm: StepProfile | null } | null;
  /** 2-worker images/s ÷ 1-worker images/s (wall clock; needs two idle cores to reach 2). */
  workerScaling: number | null;
  /**
   * 2-worker images per CPU-second ÷ 1-worker images per CPU-second: how much per-core efficiency
   * the concurrent workers keep (1.0 = none lost). On a loaded machine this, not workerScaling,
   * shows whether 2 workers would give 2× on two free cores.
   */
  workerCpuEfficiency: number | null;
}

export interface TrainStepResult {
  backend: string | null;
  /** Native BLAS status of the default path's engines (library, core type, threads), or why not. */
  native: NativeStatus | null;
  torch: { version: string; threads: number; python: string } | null;
  torchSkipped: string | null;
  cases: TrainStepCaseResult[];
}

function posInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
    return n;
  };
}

async function measure(
  c: Case,
  workers: number,
  o: TrainStepOptions,
  ctx: BenchContext,
  path: PathName,
): Promise<{ r: WorkersResult; backend: string | null; profile: StepProfile | null }> {
  const native: NativeChoice = path === 'native' ? 'on' : 'off';
  const ex = new Executor({ workers, native });
  try {
    const barrier = new Int32Array(new SharedArrayBuffer(8));
    barrier[1] = workers;
    const jobs = Array.from({ length: workers }, (_, i) => ({
      id: `${c.key}-w${workers}-${i}`,
      module: JOB_MODULE,
      fn: 'trainStepJob',
      args: {
        model: c.model,
        inputShape: c.inputShape,
        batch: o.batch,
        warmup: o.warmup,
        reps: o.reps,
        stepsPerRep: o.steps,
        seed: o.seed + i,
        barrier,
        profileSteps: o.profile && workers === 1 ? o.profileSteps : 0,
      } satisfies TrainStepArgs,
    }));
    const outs = await ex.runAll<TrainStepTiming>(jobs);
    const timings = outs.map((out) => {
      if (!out.ok) throw out.error;
      if (out.value.native !== (path === 'native')) throw new EngineError(`train-step: a worker ran with native ${out.value.native ? 'on' : 'off'}, expected ${path}`);
      return out.value;
    });
    const msPerStep = timings.map((t) => median(t.msPerStep));
    const imagesPerSec = msPerStep.reduce((s, ms) => s + (o.batch * 1000) / ms, 0);
    const cpuMs = median(timings.map((t) => median(t.cpuMsPerStep)));
    const imagesPerCpuSec = (workers * o.batch * 1000) / cpuMs;
    ctx.log(
      `  ${c.key} ${path}: ${workers} worker(s): ${imagesPerSec.toFixed(1)} images/s, ${imagesPerCpuSec.toFixed(1)} images/CPU-s (ms/step ${msPerStep.map((m) => m.toFixed(1)).join(', ')})`,
    );
    return { r: { workers, imagesPerSec, msPerStep, imagesPerCpuSec }, backend: timings[0]?.backend ?? null, profile: timings[0]?.profile ?? null };
  } finally {
    await ex.close();
  }
}

interface TorchOut {
  torch: string;
  threads: number;
  results: { case: string; imagesPerSec: number; msPerStep: number; imagesPerCpuSec: number }[];
}

let pythonWithTorch: string | null = null;

function findPython(): string[] {
  const c: string[] = [];
  if (process.env.ACCELAB_PYTHON) c.push(process.env.ACCELAB_PYTHON);
  c.push('/usr/bin/python3', 'python3');
  return c;
}

function runTorch(cases: Case[], o: TrainStepOptions, ctx: BenchContext): { out: TorchOut; python: string } | { skipped: string } {
  const script = join(ctx.root, 'bench', 'reference', 'train_step.py');
  if (!existsSync(script)) return { skipped: `${script} is missing` };
  let python: string | null = pythonWithTorch;
  for (const p of python ? [] : findPython()) {
    const r = spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) {
      python = p;
      break;
    }
  }
  pythonWithTorch = python;
  if (!python) return { skipped: `no python with torch found (tried ${findPython().join(', ')}; set ACCELAB_PYTHON, or apt-get install python3-torch)` };
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const args = [
    script,
    '--reps',
    String(o.reps),
    '--warmup',
    String(o.warmup),
    '--steps',
    String(o.steps),
    '--batch',
    String(o.batch),
    '--cases',
    cases.map((c) => c.key).join(','),
  ];
  const r = spawnSync(python, args, { encoding: 'utf8', env, timeout: 30 * 60_000, maxBuffer: 16 << 20 });
  if (r.status !== 0) return { skipped: `the PyTorch reference failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').pop()}` };
  try {
    return { out: JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as TorchOut, python };
  } catch {
    return { skipped: 'the PyTorch reference printed no JSON result' };
  }
}

async function run(o: TrainStepOptions, ctx: BenchContext): Promise<TrainStepResult> {
  const keys = o.cases.split(',').map((s) => s.trim());
  const cases = TRAIN_STEP_CASES.filter((c) => keys.includes(c.key) || keys.includes('all'));
  const unknown = keys.filter((k) => k !== 'all' && !TRAIN_STEP_CASES.some((c) => c.key === k));
  if (unknown.length || cases.length === 0) {
    throw new ConfigError(`unknown case(s) ${unknown.join(', ')}: use all or ${TRAIN_STEP_CASES.map((c) => c.key).join(', ')}`);
  }
  const workerCounts = o.workers.split(',').map((s) => posInt('--workers')(s.trim()));
  const native = engineInfo()?.native ?? null;
  const path: PathName = native?.enabled ? 'native' : 'wasm';
  const paths: PathName[] = path === 'native' && o.wasmPath ? ['native', 'wasm'] : [path];
  let backend: string | null = null;
  const results: TrainStepCaseResult[] = [];
  let torch: TrainStepResult['torch'] = null;
  let torchSkipped: string | null = o.vsTorch ? null : 'not requested (use --vs-torch)';
  // Per case: accelab with each worker count, then PyTorch on the same case right after, so that
  // both see similar machine load (the machine is shared).
  for (const c of cases) {
    const accelab: WorkersResult[] = [];
    const accelabWasm: WorkersResult[] | null = paths.length > 1 ? [] : null;
    const r: TrainStepCaseResult = {
      case: c.key,
      model: c.model,
      inputShape: c.inputShape,
      batch: o.batch,
      path,
      accelab,
      accelabWasm,
      torch: null,
      ratioVsTorch: null,
      ratioVsTorchCpu: null,
      ratioVsTorchWasm: null,
      ratioVsTorchCpuWasm: null,
      profile: o.profile ? { native: null, wasm: null } : null,
      workerScaling: null,
      workerCpuEfficiency: null,
    };
    for (const w of workerCounts) {
      for (const p of paths) {
        const m = await measure(c, w, o, ctx, p);
        if (r.profile && m.profile) r.profile[p] = m.profile;
        if (p === path) {
          backend = m.backend;
          accelab.push(m.r);
        } else accelabWasm?.push(m.r);
      }
      if (w === 1 && o.vsTorch && torchSkipped === null) {
        const t = runTorch([c], o, ctx);
        if ('skipped' in t) {
          torchSkipped = t.skipped;
          ctx.log(`  PyTorch comparison skipped: ${t.skipped}`);
        } else {
          torch = { version: t.out.torch, threads: t.out.threads, python: t.python };
          const tr = t.out.results.find((x) => x.case === c.key);
          if (tr) {
            r.torch = { imagesPerSec: tr.imagesPerSec, msPerStep: tr.msPerStep, imagesPerCpuSec: tr.imagesPerCpuSec };
            ctx.log(`  ${c.key}: PyTorch 1 thread: ${tr.imagesPerSec.toFixed(1)} images/s, ${tr.imagesPerCpuSec.toFixed(1)} images/CPU-s (ms/step ${tr.msPerStep.toFixed(1)})`);
          }
        }
      }
    }
    results.push(r);
  }
  for (const r of results) {
    const one = r.accelab.find((a) => a.workers === 1);
    const two = r.accelab.find((a) => a.workers === 2);
    r.ratioVsTorch = one && r.torch ? one.imagesPerSec / r.torch.imagesPerSec : null;
    r.ratioVsTorchCpu = one && r.torch ? one.imagesPerCpuSec / r.torch.imagesPerCpuSec : null;
    const oneWasm = r.path === 'wasm' ? one : r.accelabWasm?.find((a) => a.workers === 1);
    r.ratioVsTorchWasm = oneWasm && r.torch ? oneWasm.imagesPerSec / r.torch.imagesPerSec : null;
    r.ratioVsTorchCpuWasm = oneWasm && r.torch ? oneWasm.imagesPerCpuSec / r.torch.imagesPerCpuSec : null;
    r.workerScaling = one && two ? two.imagesPerSec / one.imagesPerSec : null;
    r.workerCpuEfficiency = one && two ? two.imagesPerCpuSec / one.imagesPerCpuSec : null;
  }
  return { backend, native, torch, torchSkipped, cases: results };
}

function format(r: TrainStepResult): string {
  const f = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '–' : v.toFixed(d));
  const x = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${f(v, 2)}×`);
  const path = r.cases[0]?.path ?? 'wasm';
  const rows = [
    [
      'case',
      `${path} 1w`,
      '2w',
      'scaling',
      'wasm 1w',
      '2w',
      'PyTorch',
      `ratio ${path}`,
      'ratio wasm',
      `| per CPU-s: ${path} 1w`,
      'wasm 1w',
      'PyTorch',
      `ratio ${path}`,
      'ratio wasm',
    ],
  ];
  for (const c of r.cases) {
    const one = c.accelab.find((a) => a.workers === 1);
    const two = c.accelab.find((a) => a.workers === 2);
    const wasm = c.path === 'wasm' ? c.accelab : c.accelabWasm;
    const w1 = wasm?.find((a) => a.workers === 1);
    const w2 = wasm?.find((a) => a.workers === 2);
    rows.push([
      c.case,
      f(one?.imagesPerSec),
      f(two?.imagesPerSec),
      x(c.workerScaling),
      f(w1?.imagesPerSec),
      f(w2?.imagesPerSec),
      f(c.torch?.imagesPerSec),
      x(c.ratioVsTorch),
      x(c.ratioVsTorchWasm),
      `| ${f(one?.imagesPerCpuSec)}`,
      f(w1?.imagesPerCpuSec),
      f(c.torch?.imagesPerCpuSec),
      x(c.ratioVsTorchCpu),
      x(c.ratioVsTorchCpuWasm),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const n = r.native;
  const nativeText = n?.enabled
    ? `native BLAS: OpenBLAS ${n.blas?.coreType ?? '?'}, ${n.blas?.threads ?? '?'} thread per worker (${n.blas?.library ?? '?'})`
    : `native BLAS off: ${n?.reason ?? 'unknown'}`;
  const lines = [
    `train-step: training images/s (wall clock; and per CPU-second), batch ${r.cases[0]?.batch ?? '?'}, backend ${r.backend ?? '?'}; ${nativeText}`,
    line(rows[0]),
    ...rows.slice(1).map(line),
  ];
  for (const c of r.cases) if (c.profile) lines.push('', ...formatProfile(c));
  lines.push(r.torch ? `PyTorch ${r.torch.version}, ${r.torch.threads} thread (${r.torch.python})` : `PyTorch: ${r.torchSkipped}`);
  lines.push(
    'targets (native path, per worker): ratio ≥ 1.0× for cnn-small-28x28x1 and ≥ 0.6× for resnet20-32x32x3; 2 workers ≥ 1.8× one worker (wall clock needs two idle cores; per CPU-s columns are robust to other load)',
  );
  return lines.join('\n');
}

/** Profile table of one case: CPU ms per step by kernel (and phase), one column per path. */
export function formatProfile(c: TrainStepCaseResult, top = 14): string[] {
  const paths = (['native', 'wasm'] as const).filter((p) => c.profile?.[p]);
  const profs = paths.map((p) => c.profile?.[p] as StepProfile);
  if (!profs.length) return [];
  const key = (k: { phase: string; kernel: string }) => `${k.phase} ${k.kernel}`;
  const first = profs[0];
  const keys = first.kernels.slice(0, top).map(key);
  for (const pr of profs.slice(1)) for (const k of pr.kernels.slice(0, top)) if (!keys.includes(key(k))) keys.push(key(k));
  const cell = (pr: StepProfile, k: string) => {
    const e = pr.kernels.find((x) => key(x) === k);
    return e ? `${e.cpuMs.toFixed(2)} (${e.calls % 1 ? e.calls.toFixed(1) : e.calls})` : '–';
  };
  const rest = (pr: StepProfile) => pr.kernels.filter((k) => !keys.includes(key(k))).reduce((s, k) => s + k.cpuMs, 0);
  const rows: string[][] = [['kernel (phase), CPU ms per step (calls)', ...paths]];
  for (const k of keys) rows.push([k, ...profs.map((pr) => cell(pr, k))]);
  rows.push(['other kernels', ...profs.map((pr) => rest(pr).toFixed(2))]);
  for (const ph of PROFILE_PHASES) rows.push([`${ph}: outside kernels (dispatch, tape, allocation)`, ...profs.map((pr) => pr.overheadCpuMs[ph].toFixed(2))]);
  for (const ph of PROFILE_PHASES) rows.push([`${ph}: total`, ...profs.map((pr) => pr.phaseCpuMs[ph].toFixed(2))]);
  rows.push(['step (profiled; wall ms in brackets)', ...profs.map((pr) => `${pr.cpuMsPerStep.toFixed(2)} (${pr.msPerStep.toFixed(1)})`)]);
  rows.push(['kernel calls per step', ...profs.map((pr) => pr.kernelCalls.toFixed(0))]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return [
    `profile ${c.case}, 1 worker, ${profs[0].steps} steps (process CPU time, all threads):`,
    ...rows.map((row) => row.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ')),
  ];
}

registerBenchmark<TrainStepOptions, TrainStepResult>({
  name: 'train-step',
  description: 'training images/s of cnn-small (28×28×1, 32×32×3) and resnet20, 1 and 2 workers, optionally vs PyTorch',
  options(cmd: Command) {
    cmd
      .option('--reps <n>', 'timed repetitions (median reported)', posInt('--reps'), 5)
      .option('--warmup <n>', 'warm-up steps', posInt('--warmup'), 2)
      .option('--steps <n>', 'training steps per repetition', posInt('--steps'), 2)
      .option('--batch <n>', 'batch size', posInt('--batch'), 64)
      .option('--cases <list>', `comma-separated cases: all or ${TRAIN_STEP_CASES.map((c) => c.key).join(', ')}`, 'all')
      .option('--workers <list>', 'worker counts to measure', '1,2')
      .option('--seed <n>', 'random seed of models and data', posInt('--seed'), 1)
      .option('--vs-torch', 'also run the PyTorch reference (bench/reference/train_step.py) and print ratios')
      .option('--profile', 'per-kernel profile of the 1-worker runs (extra steps after the timed ones)')
      .option('--profile-steps <n>', 'steps profiled with --profile', posInt('--profile-steps'), 10)
      .option('--no-wasm-path', 'do not also measure the wasm kernels when the native BLAS kernels are in use');
  },
  run,
  format,
});
