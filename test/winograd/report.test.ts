import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelRange, runWinograd } from '../../src/experiments/winograd.js';
import { winogradSection } from '../../src/report/sections/winograd.js';

test('report section: ratio chart with the paper points, count and error tables', () => {
  const r = runWinograd({ kernels: kernelRange('3..9,27'), error: { kernels: [5], formats: ['float32', 'float16'], filters: ['smooth'], size: 8, channels: 1, outChannels: 1 } });
  assert.equal(r.kind, 'winograd');
  const s = winogradSection(r);
  assert.equal(s.id, 'winograd');
  assert.equal(s.tables?.[0].rows.length, 8);
  const spec = JSON.stringify(s.figures?.[0].spec);
  assert.ok(spec.includes('"ratio":3.29') && spec.includes('"ratio":10.5') && spec.includes('"ratio":1.41'));
  assert.equal(s.tables?.[1].rows.length, 4 * 2); // 4 methods × 2 formats
  assert.ok(JSON.parse(JSON.stringify(r)).counts.rows.length === 8, 'result is JSON-serializable');
});

test('kernel ranges parse and reject bad input', () => {
  assert.deepEqual(kernelRange('3..5,9'), [3, 4, 5, 9]);
  assert.throws(() => kernelRange('3-5'), /kernel size or range/);
});
