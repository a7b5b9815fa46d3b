import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MISSING, pct, points, round, sig, signed, signedPercent, times } from '../../src/report/format.js';

test('percentages, signed values and points', () => {
  assert.equal(pct(0.8512), '85.1 %');
  assert.equal(pct(0.8512, 2), '85.12 %');
  for (const v of [null, undefined, Number.NaN]) assert.equal(pct(v), MISSING);
  assert.equal(signed(2.13), '+2.1');
  assert.equal(signed(-1.5), '−1.5');
  assert.equal(signed(-0.0004), '0.0');
  assert.equal(signed(Number.POSITIVE_INFINITY), MISSING);
  assert.equal(signedPercent(2.13), '+2.1 %');
  assert.equal(signedPercent(null), MISSING);
  assert.equal(points(0.012), '+1.2 pp');
  assert.equal(points(-0.0251, 2), '−2.51 pp');
  assert.equal(points(Number.NaN), MISSING);
});

test('table cells stay numbers', () => {
  assert.equal(round(1.23456, 2), 1.23);
  assert.equal(round(null, 2), null);
  assert.equal(sig(0.000123456), 0.000123);
  assert.equal(sig(Number.POSITIVE_INFINITY), null);
  assert.equal(times(1.4367), '1.44×');
  assert.equal(times(undefined), MISSING);
});
