import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { idealize, MAC_FOLDING_MODES, macroConfig, type MacroConfigInput } from '../../../src/hw/cim/config.js';
import { LineModel } from '../../../src/hw/cim/analog.js';
import { cellLines, exactMac, idealCode, MacroChip, SLOT_SCALE, weightRange } from '../../../src/hw/cim/macro.js';

function chip(over: MacroConfigInput, seed = 1, ideal = false): MacroChip {
  const c = macroConfig(over);
  return new MacroChip(ideal ? idealize(c) : c, seed);
}

test('cell encodings reproduce the signed weight (differential cell-time per unit input)', () => {
  for (const mode of MAC_FOLDING_MODES) {
    const [lo, hi] = weightRange(mode);
    const dpm = mode === 'off' || mode === 'range' ? 2 : 1;
    for (let w = lo; w <= hi; w++) {
      const l = cellLines(w, mode);
      let diff = 0;
      for (let s = 0; s < 5; s++) diff += l[s] === 2 ? SLOT_SCALE[s] : l[s] === 1 ? -SLOT_SCALE[s] : 0;
      assert.equal(diff, dpm * w, `mode ${mode}, w ${w}`);
    }
  }
});

test('ideal macro is exact for every input and weight of a 2-row column (all modes, both ADCs)', () => {
  for (const mode of MAC_FOLDING_MODES) {
    for (const adc of ['binary-search', 'ramp'] as const) {
      const m = chip({ rows: 2, columns: 1, macFolding: mode, adc, foldGroups: 2 }, 1, true);
      const [lo, hi] = weightRange(mode);
      const nw = hi - lo + 1;
      const B = 256;
      const x = new Float32Array(B * 2);
      for (let b = 0; b < B; b++) {
        x[b * 2] = b & 15;
        x[b * 2 + 1] = b >> 4;
      }
      let checked = 0;
      for (let w0 = lo; w0 <= hi; w0++) {
        for (let w1 = lo; w1 <= hi; w1++) {
          const codes = m.macTile(x, B, 2, [w0, w1], 1);
          for (let b = 0; b < B; b++) {
            const mac = x[b * 2] * w0 + x[b * 2 + 1] * w1;
            assert.equal(m.design.step, 1);
            if (codes[b] !== mac) assert.fail(`mode ${mode} adc ${adc}: x=(${x[b * 2]},${x[b * 2 + 1]}) w=(${w0},${w1}) gave ${codes[b]}, want ${mac}`);
            checked++;
          }
        }
      }
      assert.equal(checked, 256 * nw * nw);
    }
  }
});

test('ideal cell-level reference is exact too: every input and weight of a 2-row column (all modes, both ADCs)', () => {
  for (const mode of MAC_FOLDING_MODES) {
    for (const adc of ['binary-search', 'ramp'] as const) {
      const m = chip({ rows: 2, columns: 1, macFolding: mode, adc, foldGroups: 2 }, 1, true);
      const [lo, hi] = weightRange(mode);
      let wrong = 0;
      let checked = 0;
      for (let w0 = lo; w0 <= hi; w0++)
        for (let w1 = lo; w1 <= hi; w1++)
          for (let x0 = 0; x0 < 16; x0++)
            for (let x1 = 0; x1 < 16; x1++) {
              const code = m.referenceColumn([x0, x1], [w0, w1], 0).code;
              if (code !== x0 * w0 + x1 * w1) wrong++;
              checked++;
            }
      assert.equal(wrong, 0, `mode ${mode} adc ${adc}: ${wrong} of ${checked} reference codes differ from the exact MAC`);
    }
  }
});

test('ideal cell-level reference equals floor(MAC/step) with 64 rows, bin edges included, and agrees with the fast path', () => {
  const rng = new Rng(12);
  for (const boostedClipping of ['off', 'gain'] as const) {
    const m = chip({ rows: 64, columns: 4, macFolding: 'sign-magnitude', boostedClipping, boost: 8 }, 3, true);
    assert.ok(m.design.step > 1, 'this test needs an ADC step above 1 LSB');
    const [lo, hi] = weightRange('sign-magnitude');
    const B = 40;
    const x = new Float32Array(B * 64).map(() => rng.int(16));
    const w = new Float32Array(64 * 4).map(() => lo + rng.int(hi - lo + 1));
    // Half of the rows: MAC nudged onto a bin edge (a multiple of the step) by the last input.
    for (let b = 0; b < B; b += 2) {
      for (let c = 0; c < 1; c++) {
        const col = Array.from({ length: 64 }, (_, i) => w[i * 4 + c]);
        for (let v = 0; v < 16; v++) {
          x[b * 64 + 63] = v;
          if (exactMac(x.subarray(b * 64, b * 64 + 64), col) % m.design.step === 0) break;
        }
      }
    }
    const fast = m.macTile(x, B, 64, w, 4);
    let edges = 0;
    for (let b = 0; b < B; b++)
      for (let c = 0; c < 4; c++) {
        const xs = x.subarray(b * 64, b * 64 + 64);
        const ws = Array.from({ length: 64 }, (_, i) => w[i * 4 + c]);
        const mac = exactMac(xs, ws);
        if (mac % m.design.step === 0) edges++;
        const ref = m.referenceColumn(xs, ws, c).code;
        assert.equal(ref, idealCode(mac, m.design), `boosted-clipping ${boostedClipping}: MAC ${mac}, step ${m.design.step}`);
        assert.equal(ref, fast[b * 4 + c]);
      }
    assert.ok(edges >= B / 4, `only ${edges} MACs on a bin edge`);
  }
});

test('macTile and referenceColumn refuse inputs that are not 4-bit codes, and mis-sized tiles', () => {
  const m = chip({ rows: 4, columns: 2 }, 1, true);
  for (const bad of [-3, 20, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => m.macTile([1, 2, bad, 4], 1, 4, new Float32Array(8), 2), /input .* is not a 4-bit code/, `macTile x=${bad}`);
    assert.throws(() => m.referenceColumn([1, bad], [1, 1], 0), /input .* is not a 4-bit code/, `referenceColumn x=${bad}`);
  }
  assert.throws(() => m.macTile([1, 2, 3], 1, 4, new Float32Array(8), 2), /expected batch × k/);
  assert.throws(() => m.macTile([1, 2, 3, 4], 1, 4, new Float32Array(7), 2), /expected k × cols/);
  assert.throws(() => m.macTile([1, 2, 3, 4], 0, 4, new Float32Array(8), 2), /batch must be a whole number/);
  assert.throws(() => m.referenceColumn([1, 2], [1], 0), /2 inputs but 1 weights/);
  assert.throws(() => m.referenceColumn([1, 2], [1, 1], 5), /column 5/);
  assert.doesNotThrow(() => m.macTile([0, 15, 7, 1], 1, 4, new Float32Array(8), 2));
});

test('ideal macro with 64 rows returns the clipped, quantized MAC (floor(MAC/step))', () => {
  const rng = new Rng(3);
  for (const mode of ['off', 'sign-magnitude'] as const) {
    for (const boostedClipping of ['off', 'gain'] as const) {
      const m = chip({ rows: 64, columns: 8, macFolding: mode, boostedClipping, boost: 8 }, 2, true);
      const [lo, hi] = weightRange(mode);
      const B = 50;
      const x = new Float32Array(B * 64).map(() => rng.int(16));
      const w = new Float32Array(64 * 8).map(() => lo + rng.int(hi - lo + 1));
      const codes = m.macTile(x, B, 64, w, 8);
      let clipped = 0;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < 8; c++) {
          const mac = exactMac(
            x.subarray(b * 64, b * 64 + 64),
            Array.from({ length: 64 }, (_, i) => w[i * 8 + c]),
          );
          const want = idealCode(mac, m.design);
          if (want === m.design.codeMax || want === m.design.codeMin) clipped++;
          assert.equal(codes[b * 8 + c], want);
        }
      }
      assert.ok(clipped < B * 8);
    }
  }
});

test('matched cells: a strongly nonlinear I(V) leaves the ideal codes unchanged (same-principle linearity)', () => {
  const base = idealize(macroConfig({ rows: 16, columns: 4 }));
  const nonlin = new MacroChip({ ...base, nonIdeal: { ...base.nonIdeal, lambda: 1.2, vKnee: 0.5 } }, 1);
  const lin = new MacroChip(base, 1);
  const rng = new Rng(5);
  const x = new Float32Array(40 * 16).map(() => rng.int(16));
  const w = new Float32Array(16 * 4).map(() => -7 + rng.int(15));
  // Integer cell-times may tie exactly; nonlinear table rounding can then flip a tie by one code.
  const a = nonlin.macTile(x, 40, 16, w, 4);
  const b = lin.macTile(x, 40, 16, w, 4);
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  assert.ok(maxDiff <= 1, `max code difference ${maxDiff}`);
});

test('line model: voltage and cell-time are inverse, and match the analytic CLM solution', () => {
  const lm = new LineModel({ vPre: 0.9, vu: 1e-3, lambda: 0.3, vKnee: 0.3 });
  for (const tau of [0, 10, 100, 300, 450]) {
    const v = lm.voltage(tau);
    // Above the knee: V = Vp + (exp(−λ·vu·τ) − 1)/λ.
    const analytic = 0.9 + (Math.exp(-0.3 * 1e-3 * tau) - 1) / 0.3;
    if (analytic > 0.3) assert.ok(Math.abs(v - analytic) < 1e-6, `tau ${tau}: ${v} vs ${analytic}`);
    assert.ok(Math.abs(lm.cellTime(v) - tau) < 1e-3 * Math.max(1, tau));
  }
});

test('fast path equals the cell-level ODE reference with mismatch, offsets, CLM, floor and edges (no IR drop)', () => {
  for (const mode of ['off', 'sign-magnitude', 'range'] as const) {
    for (const adc of ['binary-search', 'ramp'] as const) {
      const base = macroConfig({ rows: 16, columns: 4, macFolding: mode, adc, foldGroups: 2, boost: 8 });
      const cfg = { ...base, nonIdeal: { ...base.nonIdeal, irDrop: 0, comparatorNoise: 0, cellMismatch: 0.15, comparatorOffset: 0.001 } };
      const m = new MacroChip(cfg, 11);
      const rng = new Rng(9);
      const B = 30;
      const [lo, hi] = weightRange(mode);
      const x = new Float32Array(B * 16).map(() => rng.int(16));
      const w = new Float32Array(16 * 4).map(() => lo + rng.int(hi - lo + 1));
      const fast = m.macTile(x, B, 16, w, 4);
      let same = 0;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < 4; c++) {
          const ref = m.referenceColumn(
            x.subarray(b * 16, b * 16 + 16),
            Array.from({ length: 16 }, (_, i) => w[i * 4 + c]),
            c,
          );
          const diff = Math.abs(ref.code - fast[b * 4 + c]);
          assert.ok(diff <= 1, `mode ${mode} adc ${adc}: reference ${ref.code} vs fast ${fast[b * 4 + c]}`);
          if (diff === 0) same++;
        }
      }
      assert.ok(same >= 0.97 * B * 4, `mode ${mode} adc ${adc}: only ${same}/${B * 4} codes identical`);
    }
  }
});

test('fast path with mean-field IR drop stays within one code of the exact-IR reference on average', () => {
  const base = macroConfig({ rows: 32, columns: 4 });
  const cfg = { ...base, nonIdeal: { ...base.nonIdeal, comparatorNoise: 0 } };
  const m = new MacroChip(cfg, 4);
  const rng = new Rng(1);
  const B = 25;
  const x = new Float32Array(B * 32).map(() => rng.int(16));
  const w = new Float32Array(32 * 4).map(() => -7 + rng.int(15));
  const fast = m.macTile(x, B, 32, w, 4);
  let sumAbs = 0;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < 4; c++) {
      const ref = m.referenceColumn(
        x.subarray(b * 32, b * 32 + 32),
        Array.from({ length: 32 }, (_, i) => w[i * 4 + c]),
        c,
      );
      sumAbs += Math.abs(ref.code - fast[b * 4 + c]);
    }
  }
  assert.ok(sumAbs / (B * 4) < 1, `mean |Δcode| ${sumAbs / (B * 4)}`);
});

test('non-idealities move codes away from ideal; the same seed reproduces them', () => {
  const rng = new Rng(2);
  const x = new Float32Array(20 * 64).map(() => rng.int(16));
  const w = new Float32Array(64 * 8).map(() => -7 + rng.int(15));
  const a = chip({ rows: 64, columns: 8 }, 5).macTile(x, 20, 64, w, 8);
  const b = chip({ rows: 64, columns: 8 }, 5).macTile(x, 20, 64, w, 8);
  const ideal = chip({ rows: 64, columns: 8 }, 5, true).macTile(x, 20, 64, w, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, ideal);
});

test('bad weights and bad configs are rejected with the field named', () => {
  const m = chip({ rows: 2, columns: 1, macFolding: 'sign-magnitude' });
  assert.throws(() => m.macTile(new Float32Array(2), 1, 2, [-8, 0], 1), /cannot be stored/);
  assert.throws(() => macroConfig({ boost: 3 }), /boost/);
  assert.throws(() => macroConfig({ rows: 0 }), /rows/);
  assert.throws(() => macroConfig({ vFloor: 1.0 }), /vFloor/);
});
