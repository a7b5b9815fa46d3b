/**
 * `npm run bench -- winograd`: large-kernel convolution speed on 56×56 maps with 64 → 64 channels,
 * batch 1 and 16, kernels 5, 7, 9, 11, 13 ('same', stride 1): our direct TS loop, the engine's
 * tf.conv2d, OLA-Winograd (3×3 sub-filters, F(3×3,3×3), one GEMM per Winograd point) and nested
 * Winograd (fast path, algorithm chosen per layer). Medians of --reps runs after one warm-up, both
 * wall-clock and process CPU time (the engine is single-threaded, so CPU time is robust to other
 * jobs sharing the machine). Filter transforms are done once before timing (as for inference).
 */
import { tf } from '../src/core/engine.js';
import { Rng } from '../src/core/rng.js';
import { conv2d } from '../src/winograd/conv.js';
import { cpuMs, disposeFast, prepareFast, runFast } from '../src/winograd/fast.js';
import { randomTensor, relativeError } from '../src/winograd/tensor.js';
import { intArg, intListArg } from '../src/cli/options.js';
import { checked, median, registerBenchmark } from './registry.js';

interface WinoBenchOptions {
  quick?: boolean;
  kernels?: string;
  batch?: string;
  reps?: string;
  directBatch?: string;
}

interface Timing {
  wallMs: number;
  cpuMs: number;
  runs: number;
}

interface WinoBenchRow {
  batch: number;
  kernel: number;
  nestedAlgorithm: string;
  direct: (Timing & { extrapolatedFromBatch?: number }) | null;
  conv2d: Timing;
  ola: Timing;
  nested: Timing;
  nestedStagesCpuMs: { input: number; gather: number; gemm: number; output: number };
  /** ratios of CPU-time medians */
  conv2dOverNested: number;
  olaOverNested: number;
  directOverNested: number | null;
  /** max |y − conv2d| / max |conv2d| */
  nestedRelErr: number;
  olaRelErr: number;
}

interface WinoBenchResult {
  size: number;
  channels: number;
  reps: number;
  rows: WinoBenchRow[];
  note: string;
}

function measure(reps: number, fn: () => void): Timing {
  fn(); // warm-up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    cpu.push(cpuMs() - c0);
  }
  return { wallMs: median(wall), cpuMs: median(cpu), runs: reps };
}

registerBenchmark<WinoBenchOptions, WinoBenchResult>({
  name: 'winograd',
  description: 'large-kernel conv (56×56, 64→64): direct TS, tf.conv2d, OLA-Winograd, nested Winograd',
  options(cmd) {
    cmd.option('--quick', 'kernels 5,9 and batch 1 only');
    cmd.option('--kernels <list>', 'kernel sizes 3…31 (default 5,7,9,11,13)', checked(intListArg('--kernels', 3, 31)));
    cmd.option('--batch <list>', 'batch sizes (default 1,16)', checked(intListArg('--batch', 1, 256)));
    cmd.option('--reps <n>', 'timed runs per measurement, median reported (default 5)', checked(intArg('--reps', 1, 1000)));
    cmd.option(
      '--direct-batch <n>',
      'largest batch for which the (slow) direct TS loop is timed; larger batches are extrapolated linearly (default 1)',
      checked(intArg('--direct-batch', 0, 256)),
    );
  },
  async run(o, ctx) {
    const kernels = (o.kernels ?? (o.quick ? '5,9' : '5,7,9,11,13')).split(',').map(Number);
    const batches = (o.batch ?? (o.quick ? '1' : '1,16')).split(',').map(Number);
    const reps = Math.max(1, Number(o.reps ?? 5));
    const directBatch = Number(o.directBatch ?? 1);
    const S = 56;
    const C = 64;
    const rng = new Rng(1);
    const rows: WinoBenchRow[] = [];
    const directAtBatch1 = new Map<number, Timing>();
    for (const N of batches)
      for (const K of kernels) {
        const x = randomTensor(Float32Array, [N, S, S, C], rng);
        const w = randomTensor(Float32Array, [K, K, C, C], rng, 1 / Math.sqrt(K * K * C));
        const xt = tf.tensor4d(x.data, x.shape);
        const wt = tf.tensor4d(w.data, w.shape);
        let ref: Float32Array = new Float32Array(0);
        ctx.log(`winograd: batch ${N}, ${K}×${K}: tf.conv2d`);
        const conv = measure(reps, () => {
          const y = tf.conv2d(xt, wt, 1, 'same');
          ref = y.dataSync() as Float32Array;
          y.dispose();
        });
        ctx.log(`winograd: batch ${N}, ${K}×${K}: OLA`);
        const olaPlan = prepareFast(w, 'ola');
        let yo: Float32Array = new Float32Array(0);
        const ola = measure(reps, () => {
          yo = runFast(olaPlan, x, 'same').data;
        });
        disposeFast(olaPlan);
        ctx.log(`winograd: batch ${N}, ${K}×${K}: nested`);
        const nestPlan = prepareFast(w, 'nested', { outSize: S, batchHint: N });
        let yn: Float32Array = new Float32Array(0);
        const nested = measure(reps, () => {
          yn = runFast(nestPlan, x, 'same').data;
        });
        const st = nestPlan.stageMs;
        const runs = reps + 1;
        const nestedStagesCpuMs = { input: st.input / runs, gather: st.gather / runs, gemm: st.gemm / runs, output: st.output / runs };
        disposeFast(nestPlan);
        let direct: WinoBenchRow['direct'] = null;
        if (N <= directBatch) {
          ctx.log(`winograd: batch ${N}, ${K}×${K}: direct TS`);
          direct = measure(Math.min(reps, 5), () => {
            conv2d(x, w, 'direct', { padding: 'same' });
          });
          if (N === 1) directAtBatch1.set(K, direct);
        } else {
          const d1 = directAtBatch1.get(K);
          if (d1) direct = { wallMs: d1.wallMs * N, cpuMs: d1.cpuMs * N, runs: d1.runs, extrapolatedFromBatch: 1 };
        }
        tf.dispose([xt, wt]);
        const row: WinoBenchRow = {
          batch: N,
          kernel: K,
          nestedAlgorithm: nestPlan.alg.name,
          direct,
          conv2d: conv,
          ola,
          nested,
          nestedStagesCpuMs,
          conv2dOverNested: conv.cpuMs / nested.cpuMs,
          olaOverNested: ola.cpuMs / nested.cpuMs,
          directOverNested: direct ? direct.cpuMs / nested.cpuMs : null,
          nestedRelErr: relativeError(yn, ref).maxRel,
          olaRelErr: relativeError(yo, ref).maxRel,
        };
        rows.push(row);
        ctx.log(
          `winograd: batch ${N}, ${K}×${K}: cpu ms conv2d ${conv.cpuMs.toFixed(0)}, OLA ${ola.cpuMs.toFixed(0)}, nested ${nested.cpuMs.toFixed(0)} (${row.nestedAlgorithm}); conv2d/nested ${row.conv2dOverNested.toFixed(2)}, OLA/nested ${row.olaOverNested.toFixed(2)}`,
        );
      }
    return {
      size: S,
      channels: C,
      reps,
      rows,
      note: 'Ratios use CPU-time medians (single-threaded engine; robust to other jobs on a shared machine). Direct TS beyond --direct-batch is extrapolated linearly from batch 1. Filter transforms are precomputed (inference).',
    };
  },
  format(r) {
    const head = ['batch', 'K', 'direct', 'conv2d', 'OLA', 'nested', 'nested alg', 'conv2d/nest', 'OLA/nest', 'direct/nest'];
    const rows = r.rows.map((x) => [
      String(x.batch),
      String(x.kernel),
      x.direct ? `${x.direct.cpuMs.toFixed(0)}${x.direct.extrapolatedFromBatch ? '*' : ''}` : '–',
      x.conv2d.cpuMs.toFixed(0),
      x.ola.cpuMs.toFixed(0),
      x.nested.cpuMs.toFixed(0),
      x.nestedAlgorithm,
      x.conv2dOverNested.toFixed(2),
      x.olaOverNested.toFixed(2),
      x.directOverNested === null ? '–' : x.directOverNested.toFixed(2),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
    return [
      `${r.size}×${r.size}, ${r.channels}→${r.channels} channels, 'same', medians of ${r.reps} runs, CPU ms (* = extrapolated from batch 1)`,
      line(head),
      ...rows.map(line),
      r.note,
    ].join('\n');
  },
});
