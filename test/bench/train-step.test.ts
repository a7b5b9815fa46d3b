/** The benchmark plumbing (not its speed): registry, the timed job, the result table. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import '../../bench/benchmarks.js';
import { benchmarks, median } from '../../bench/registry.js';
import { trainStepJob } from '../../bench/train-step-job.js';
import { formatProfile, type TrainStepCaseResult, type TrainStepResult } from '../../bench/train-step.js';
import { engineInfo, initEngine, tf } from '../../src/core/engine.js';

describe('bench', () => {
  before(async () => {
    await initEngine('wasm');
  });

  it('registers train-step with a formatter', () => {
    const b = benchmarks().find((x) => x.name === 'train-step');
    assert.ok(b?.format);
    const r: TrainStepResult = {
      backend: 'wasm',
      native: {
        choice: 'auto',
        enabled: true,
        reason: null,
        blas: { library: '/lib/libopenblas.so.0', coreType: 'Haswell', config: 'OpenBLAS', threads: 1, avx2Fma: true },
        env: { OPENBLAS_CORETYPE: null, OPENBLAS_L2_SIZE: null },
        kernels: ['Conv2D'],
      },
      torch: { version: 't', threads: 1, python: 'p' },
      torchSkipped: null,
      cases: [
        {
          case: 'cnn-small-28x28x1',
          model: 'cnn-small',
          inputShape: [28, 28, 1],
          batch: 64,
          path: 'native',
          accelab: [
            { workers: 1, imagesPerSec: 100, msPerStep: [640], imagesPerCpuSec: 110 },
            { workers: 2, imagesPerSec: 190, msPerStep: [670, 680], imagesPerCpuSec: 105 },
          ],
          accelabWasm: [
            { workers: 1, imagesPerSec: 50, msPerStep: [1280], imagesPerCpuSec: 55 },
            { workers: 2, imagesPerSec: 95, msPerStep: [1340, 1360], imagesPerCpuSec: 52 },
          ],
          torch: { imagesPerSec: 250, msPerStep: 256, imagesPerCpuSec: 260 },
          ratioVsTorch: 0.4,
          ratioVsTorchCpu: 110 / 260,
          ratioVsTorchWasm: 0.2,
          ratioVsTorchCpuWasm: 55 / 260,
          profile: null,
          workerScaling: 1.9,
          workerCpuEfficiency: 105 / 110,
        },
      ],
    };
    const text = b.format(r);
    assert.match(text, /cnn-small-28x28x1\s+100\.0\s+190\.0\s+1\.90×\s+50\.0\s+95\.0\s+250\.0\s+0\.40×\s+0\.20×/);
    assert.match(text, /native BLAS: OpenBLAS Haswell, 1 thread per worker/);
  });

  it('median of even and odd counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
  });

  it('the timed job trains and reports one time per repetition', () => {
    const t = trainStepJob({ model: 'cnn-small', inputShape: [28, 28, 1], batch: 2, warmup: 1, reps: 2, stepsPerRep: 1, seed: 1 });
    assert.equal(t.backend, 'wasm');
    assert.equal(t.msPerStep.length, 2);
    assert.equal(t.cpuMsPerStep.length, 2);
    assert.ok(t.msPerStep.every((v) => v > 0) && Number.isFinite(t.finalLoss));
    assert.equal(t.profile, null);
  });

  it('profiles a step per kernel and phase, then restores the kernels', () => {
    const before = tf.getKernel('FusedConv2D', 'wasm')?.kernelFunc;
    const t = trainStepJob({ model: 'cnn-small', inputShape: [12, 12, 1], batch: 2, warmup: 1, reps: 1, stepsPerRep: 1, seed: 1, profileSteps: 2 });
    assert.equal(tf.getKernel('FusedConv2D', 'wasm')?.kernelFunc, before, 'original kernels back');
    const p = t.profile;
    assert.ok(p);
    assert.equal(p.steps, 2);
    const names = new Set(p.kernels.map((k) => `${k.phase} ${k.kernel}`));
    const update = engineInfo()?.native.enabled ? 'optimizer AccelabSgdUpdate' : 'optimizer Add';
    for (const k of ['forward FusedConv2D', 'forward MaxPool', 'backward Conv2DBackpropFilter', update]) assert.ok(names.has(k), [...names].join(', '));
    // Two FusedConv2D calls per step (conv1, conv2), each kernel's self time ≥ 0, phases add up.
    assert.equal(p.kernels.find((k) => k.phase === 'forward' && k.kernel === 'FusedConv2D')?.calls, 2);
    assert.ok(p.kernels.every((k) => k.ms >= 0 && k.cpuMs >= 0));
    const phases = p.phaseMs.forward + p.phaseMs.backward + p.phaseMs.optimizer;
    assert.ok(Math.abs(phases - p.msPerStep) < 1e-6 * Math.max(1, p.msPerStep) + 1e-9, `${phases} vs ${p.msPerStep}`);
    const kernelMs = p.kernels.reduce((s, k) => s + k.ms, 0);
    const overhead = p.overheadMs.forward + p.overheadMs.backward + p.overheadMs.optimizer;
    assert.ok(Math.abs(kernelMs + overhead - p.msPerStep) < 1e-6 * p.msPerStep + 1e-9);
    const text = formatProfile({ case: 'x', profile: { native: p, wasm: null } } as TrainStepCaseResult).join('\n');
    assert.match(text, /forward FusedConv2D\s+[0-9.]+ \(2\)/);
    assert.match(text, /backward: outside kernels/);
  });
});
