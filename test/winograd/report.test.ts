import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelRange, runCountStudy, runWinograd } from '../../src/experiments/winograd.js';
import { countParagraph, winogradSection } from '../../src/report/sections/winograd.js';

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

test('the count paragraph is computed from the result, residuals included', () => {
  const c = runCountStudy(kernelRange('3..9,25..27'));
  const text = countParagraph(c);
  for (const p of c.paper) assert.ok(text.includes(`${p.ours.toFixed(2)}×`) && text.includes(`paper ${p.ratio}×`), text);
  assert.match(text, /1\.44× for K = 4–6 \(paper 1\.41× at 5×5, \+2\.1 %\)/);
  assert.match(text, /opposite directions \(above the paper at 5×5 \(\+2\.1 %\), below at 9×9 \(−1\.5 %\)\)/);
  // Different numbers, different paragraph: nothing is typed in.
  const same = { ...c, paper: c.paper.map((p) => ({ ...p, diffPercent: Math.abs(p.diffPercent) + 1 })) };
  assert.match(countParagraph(same), /all go the same way \(ours above the paper at 5×5 \(\+3\.1 %\), 9×9 \(\+2\.5 %\), 27×27 \(\+1\.0 %\)\)/);
  const exact = { ...c, paper: c.paper.map((p) => ({ ...p, diffPercent: 0 })) };
  assert.match(countParagraph(exact), /Every published point is reproduced/);
});
