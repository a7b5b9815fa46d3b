import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCountStudy, runErrorStudy, kernelRange } from '../../src/experiments/winograd.js';
import { countKernel, inputTransformCost1D, outputTransformCost1D } from '../../src/winograd/counts.js';
import { convEmulated, roundHalf } from '../../src/winograd/numerics.js';
import { Rng } from '../../src/core/rng.js';
import { cookToom, nest } from '../../src/winograd/transforms.js';
import { randomTensor, relativeError } from '../../src/winograd/tensor.js';

test('count table reproduces the paper within 3 % at 5×5, 9×9 and 27×27', () => {
  const r = runCountStudy(kernelRange('3..31'));
  assert.equal(r.rows.length, 29);
  for (const p of r.paper) assert.ok(Math.abs(p.diffPercent) < 3, `K=${p.kernel}: ours ${p.ours} vs paper ${p.ratio}`);
  const k9 = countKernel(9);
  assert.equal(k9.ola.mulPerOutput, 25); // 9 sub-filters × 25/9
  assert.equal(k9.nested.mulPerOutput, 625 / 81);
  assert.equal(k9.direct.mulPerOutput, 81);
  assert.ok(Math.abs(k9.olaOverNested - 81 / 25) < 1e-12);
});

test('transform costs: F(2,3) has the textbook counts and staged nesting is cheaper than flat', () => {
  const f23 = cookToom(2, 3, undefined);
  // Bᵀ of F(2,3) with points 0, 1, −1 has only ±1 entries and 2 nonzeros per row: 4 additions, no multiplications
  const c = inputTransformCost1D(f23);
  assert.equal(c.mults, 0);
  assert.equal(c.adds, 4);
  const n = nest(cookToom(3, 3), cookToom(3, 3));
  const flatAdds = n.BT.reduce((s, row) => s + Math.max(0, row.filter((v) => !v.isZero()).length - 1), 0);
  assert.ok(inputTransformCost1D(n).adds < flatAdds);
  assert.ok(outputTransformCost1D(n).adds > 0);
});

test('float16 rounding: ties to even, subnormals, overflow', () => {
  assert.equal(roundHalf(2049), 2048);
  assert.equal(roundHalf(2051), 2052);
  assert.equal(roundHalf(1 / 3), 0.333251953125);
  assert.equal(roundHalf(65504), 65504);
  assert.equal(roundHalf(70000), Infinity);
  assert.equal(roundHalf(2 ** -25 * 1.5), 2 ** -24);
});

test('emulated arithmetic: float64 is exact, and lower precision gives errors ordered by format', () => {
  const rng = new Rng(2);
  const x = randomTensor(Float64Array, [1, 10, 10, 2], rng);
  const w = randomTensor(Float64Array, [5, 5, 2, 2], rng, 0.2);
  const ref = convEmulated(x, w, 'direct', 'float64');
  for (const method of ['winograd', 'ola', 'nested'] as const) {
    const y = convEmulated(x, w, method, 'float64');
    assert.ok(relativeError(y.data, ref.data).maxRel < 1e-9, method);
    const e32 = relativeError(convEmulated(x, w, method, 'float32').data, ref.data).rmsRel;
    const e16 = relativeError(convEmulated(x, w, method, 'float16').data, ref.data).rmsRel;
    assert.ok(e32 > 0 && e32 < e16, `${method}: f32 ${e32} f16 ${e16}`);
  }
});

test('error study: single large tile is worse than OLA and nested in float32 for 9×9', () => {
  const r = runErrorStudy({ kernels: [9], formats: ['float32'], filters: ['random'], size: 12, channels: 1, outChannels: 1 });
  const get = (m: string) => r.rows.find((x) => x.method === m)?.rmsRel ?? Number.NaN;
  assert.ok(get('winograd') > get('nested'), `single ${get('winograd')} nested ${get('nested')}`);
  assert.ok(get('nested') > 0);
});
