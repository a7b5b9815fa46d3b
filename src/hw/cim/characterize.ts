/**
 * Characterization of the macro: transfer curve (ideal vs simulated code), code-density INL/DNL,
 * RMS error in LSB and in MAC units, signal margin per LSB, error histogram, Monte-Carlo over chips
 * (mismatch draws), for each combination of MAC-folding and boosted-clipping on/off.
 *
 * Stimulus: for every ADC code bin, `levelsPerCode` MAC values evenly spread inside the bin, each
 * realised `trials` times as a full N-row column (a few rows carry the value, the rest are random
 * cancelling pairs, so the bit lines see a realistic common mode), rows shuffled.
 */
import { Rng } from '../../core/rng.js';
import { type Progress, silentProgress } from '../../core/progress.js';
import { type BoostedClippingMode, type MacFoldingMode, type MacroConfig, scaleNoise } from './config.js';
import { codeToMac, designMacro, idealCode, MacroChip, type MacroDesign } from './macro.js';

export interface CharacterizeOptions {
  config: MacroConfig;
  /** Monte-Carlo chips (independent mismatch draws). */
  chips: number;
  /** Realisations per MAC level. */
  trials: number;
  /** MAC levels per code bin (at most the bin width). */
  levelsPerCode: number;
  seed: number;
  /** Also run the technique grid (folding × boosted-clipping on/off). */
  techniques: boolean;
  /** Noise multiplier applied to the random non-idealities. */
  noiseScale: number;
}

export interface VariantResult {
  name: string;
  macFolding: MacFoldingMode;
  boostedClipping: BoostedClippingMode;
  design: MacroDesign;
  /** RMS(simulated − ideal code) over the unclipped range, LSB (mean over chips). */
  rmsErrorLsb: number;
  /** Same in MAC units (comparable across boost factors). */
  rmsErrorMac: number;
  /** Max |INL| (end-point fit: gain and offset removed) and |DNL| over the unclipped codes, LSB (mean over chips of the per-chip max). */
  inlMaxLsb: number;
  dnlMaxLsb: number;
  /** Worst chip. */
  inlWorstLsb: number;
  dnlWorstLsb: number;
  /** Bit-line differential per LSB at V_PRE (mV): the signal margin. */
  marginMvPerLsb: number;
  /** Error of the reconstructed MAC against the exact MAC (clipping included) on DNN-like random columns. */
  typicalRmsErrorMac: number;
  /** Fraction of DNN-like columns whose code saturates. */
  typicalClipRate: number;
  monteCarlo: { chip: number; rmsErrorLsb: number; inlMaxLsb: number; dnlMaxLsb: number }[];
  /** Sampled transfer curve: MAC input, ideal code, mean simulated code, min/max over chips. */
  transfer: { mac: number; ideal: number; simulated: number; min: number; max: number }[];
  /** INL/DNL of chip 0 per code (sampled). */
  linearity: { code: number; inl: number; dnl: number }[];
  /** Histogram of simulated − ideal code (all chips), clamped to ±10. */
  errorHistogram: { error: number; count: number }[];
}

export interface CharacterizeResult {
  /** The configured variant's key numbers (also in variants[0]). */
  rmsErrorLsb: number;
  inlMaxLsb: number;
  dnlMaxLsb: number;
  marginMvPerLsb: number;
  ideal: boolean;
  rows: number;
  chips: number;
  noiseScale: number;
  variants: VariantResult[];
}

/** Rows of a column whose exact MAC is `target` (|target| ≤ 105·(n−2)), rest random cancelling pairs. */
export function columnForMac(target: number, n: number, rng: Rng, wMaxBg = 4): { x: Int32Array; w: Int32Array } {
  const x = new Int32Array(n);
  const w = new Int32Array(n);
  const sg = target < 0 ? -1 : 1;
  let a = Math.abs(target);
  let r = 0;
  while (a >= 105 && r < n) {
    x[r] = 15;
    w[r] = 7 * sg;
    a -= 105;
    r++;
  }
  if (a > 0) {
    const q = Math.floor(a / 15);
    if (q > 0) {
      x[r] = 15;
      w[r] = q * sg;
      r++;
    }
    const m = a - 15 * q;
    if (m > 0) {
      x[r] = m;
      w[r] = sg;
      r++;
    }
  }
  while (r + 1 < n) {
    const xv = rng.int(16);
    const wv = 1 + rng.int(wMaxBg);
    x[r] = xv;
    w[r] = wv;
    x[r + 1] = xv;
    w[r + 1] = -wv;
    r += 2;
  }
  if (r < n) {
    x[r] = 0;
    w[r] = rng.int(3) - 1;
  }
  const p = rng.permutation(n);
  return { x: Int32Array.from(p, (i) => x[i]), w: Int32Array.from(p, (i) => w[i]) };
}

function variantName(mf: MacFoldingMode, bc: BoostedClippingMode): string {
  return `folding ${mf === 'off' ? 'off' : mf}, boosted-clipping ${bc === 'off' ? 'off' : bc}`;
}

/** Characterizes one macro configuration over `chips` Monte-Carlo chips. */
export function characterizeVariant(config: MacroConfig, o: Omit<CharacterizeOptions, 'config' | 'techniques'>, progress: Progress = silentProgress): VariantResult {
  const cfg = { ...config, columns: 1 };
  const d = designMacro(cfg);
  const n = cfg.rows;
  const rng = new Rng(o.seed);
  const maxMac = 105 * Math.max(0, n - 2);
  // Unclipped code range reachable by the stimulus.
  const half = 2 ** (cfg.adcBits - 1);
  const cLo = Math.max(-half, Math.ceil(-maxMac / d.step));
  const cHi = Math.min(half - 1, Math.floor(maxMac / d.step) - 1);
  const per = Math.max(1, Math.min(o.levelsPerCode, d.step));
  // Levels: per code bin, plus a clipping tail of 1/8 of the range on each side (when reachable).
  const macs: number[] = [];
  for (let c = cLo; c <= cHi; c++) for (let t = 0; t < per; t++) macs.push(c * d.step + Math.floor(((t + 0.5) * d.step) / per));
  const tail = Math.floor(((cHi - cLo) / 8) * d.step);
  const tailMacs: number[] = [];
  for (let k = 1; k <= 32; k++) {
    const lo = cLo * d.step - Math.round((k * tail) / 32);
    const hi = (cHi + 1) * d.step + Math.round((k * tail) / 32);
    if (lo >= -maxMac) tailMacs.push(lo);
    if (hi <= maxMac) tailMacs.push(hi);
  }
  const nCodes = cHi - cLo + 1;
  const sumCode = new Float64Array(nCodes);
  const minCode = new Float64Array(nCodes).fill(Infinity);
  const maxCode = new Float64Array(nCodes).fill(-Infinity);
  const hist = new Float64Array(21);
  const mc: VariantResult['monteCarlo'] = [];
  let linearity: VariantResult['linearity'] = [];
  const tailSum = new Map<number, { s: number; n: number; mn: number; mx: number }>();
  let typSq = 0;
  let typN = 0;
  let typClip = 0;
  progress.start(variantName(cfg.macFolding, cfg.boostedClipping).slice(0, 18), o.chips);
  for (let chipIx = 0; chipIx < o.chips; chipIx++) {
    const chip = new MacroChip(cfg, rng.nextU32());
    const all = macs.concat(tailMacs);
    const B = all.length * o.trials;
    const x = new Float32Array(B * n);
    const wcols: Int32Array[] = [];
    const targets = new Int32Array(B);
    for (let i = 0; i < all.length; i++) {
      for (let t = 0; t < o.trials; t++) {
        const b = i * o.trials + t;
        const col = columnForMac(all[i], n, rng);
        x.set(col.x, b * n);
        wcols.push(col.w);
        targets[b] = all[i];
      }
    }
    // Each realisation has its own weights: convert one column per row of the batch (tile of 1 column).
    const codes = new Int32Array(B);
    const blk = 1;
    for (let b = 0; b < B; b += blk) {
      const r = chip.macTile(x.subarray(b * n, (b + 1) * n), 1, n, wcols[b], 1);
      codes[b] = r[0];
    }
    const hits = new Float64Array(nCodes);
    let sq = 0;
    let cnt = 0;
    for (let b = 0; b < macs.length * o.trials; b++) {
      const ideal = idealCode(targets[b], d);
      const e = codes[b] - ideal;
      sq += e * e;
      cnt++;
      hist[Math.max(-10, Math.min(10, e)) + 10]++;
      const ci = ideal - cLo;
      sumCode[ci] += codes[b];
      minCode[ci] = Math.min(minCode[ci], codes[b]);
      maxCode[ci] = Math.max(maxCode[ci], codes[b]);
      const hc = codes[b] - cLo;
      if (hc >= 0 && hc < nCodes) hits[hc]++;
    }
    for (let b = macs.length * o.trials; b < B; b++) {
      const m = targets[b];
      const s = tailSum.get(m) ?? { s: 0, n: 0, mn: Infinity, mx: -Infinity };
      s.s += codes[b];
      s.n++;
      s.mn = Math.min(s.mn, codes[b]);
      s.mx = Math.max(s.mx, codes[b]);
      tailSum.set(m, s);
    }
    // Code density: each code bin received per·trials stimuli; end codes excluded.
    const expected = per * o.trials;
    let inl = 0;
    let inlMax = 0;
    let dnlMax = 0;
    const lin: VariantResult['linearity'] = [];
    for (let c = 1; c < nCodes - 1; c++) {
      const dnl = hits[c] / expected - 1;
      inl += dnl;
      dnlMax = Math.max(dnlMax, Math.abs(dnl));
      lin.push({ code: c + cLo, inl, dnl });
    }
    // End-point INL: remove the straight line through the first and last transition (gain/offset).
    if (lin.length > 1) {
      const a = lin[0].inl;
      const b = lin[lin.length - 1].inl;
      for (let i = 0; i < lin.length; i++) {
        lin[i].inl -= a + ((b - a) * i) / (lin.length - 1);
        inlMax = Math.max(inlMax, Math.abs(lin[i].inl));
      }
    }
    if (chipIx === 0) linearity = lin;
    mc.push({ chip: chipIx, rmsErrorLsb: Math.sqrt(sq / Math.max(1, cnt)), inlMaxLsb: inlMax, dnlMaxLsb: dnlMax });
    // DNN-like columns: x uniform 0..15 with 50 % zeros, w ~ small symmetric.
    const T = 64;
    for (let t = 0; t < T; t++) {
      const xs = new Float32Array(n);
      const ws = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        xs[i] = rng.next() < 0.5 ? 0 : rng.int(16);
        ws[i] = Math.max(d.weightMin, Math.min(d.weightMax, Math.round(rng.normal(0, 2.5))));
      }
      let mac = 0;
      for (let i = 0; i < n; i++) mac += xs[i] * ws[i];
      const code = chip.macTile(xs, 1, n, ws, 1)[0];
      if (code <= d.codeMin || code >= d.codeMax) typClip++;
      const err = codeToMac(code, d) - mac;
      typSq += err * err;
      typN++;
    }
    progress.tick();
  }
  progress.stop();
  const mean = (f: (m: VariantResult['monteCarlo'][number]) => number): number => mc.reduce((s, m) => s + f(m), 0) / mc.length;
  const transfer: VariantResult['transfer'] = [];
  const stride = Math.max(1, Math.floor(nCodes / 128));
  for (const [m, s] of [...tailSum.entries()].filter(([m]) => m < cLo * d.step).sort((a, b) => a[0] - b[0])) {
    transfer.push({ mac: m, ideal: idealCode(m, d), simulated: s.s / s.n, min: s.mn, max: s.mx });
  }
  for (let c = 0; c < nCodes; c += stride) {
    const count = o.chips * o.trials * per;
    transfer.push({ mac: (c + cLo) * d.step, ideal: c + cLo, simulated: sumCode[c] / count, min: minCode[c], max: maxCode[c] });
  }
  for (const [m, s] of [...tailSum.entries()].filter(([m]) => m >= (cHi + 1) * d.step).sort((a, b) => a[0] - b[0])) {
    transfer.push({ mac: m, ideal: idealCode(m, d), simulated: s.s / s.n, min: s.mn, max: s.mx });
  }
  const linStride = Math.max(1, Math.floor(linearity.length / 256));
  const rmsErrorLsb = mean((m) => m.rmsErrorLsb);
  return {
    name: variantName(cfg.macFolding, cfg.boostedClipping),
    macFolding: cfg.macFolding,
    boostedClipping: cfg.boostedClipping,
    design: d,
    rmsErrorLsb,
    rmsErrorMac: rmsErrorLsb * d.step,
    inlMaxLsb: mean((m) => m.inlMaxLsb),
    dnlMaxLsb: mean((m) => m.dnlMaxLsb),
    inlWorstLsb: Math.max(...mc.map((m) => m.inlMaxLsb)),
    dnlWorstLsb: Math.max(...mc.map((m) => m.dnlMaxLsb)),
    marginMvPerLsb: d.lsbVolts * 1e3,
    typicalRmsErrorMac: Math.sqrt(typSq / Math.max(1, typN)),
    typicalClipRate: typClip / Math.max(1, typN),
    monteCarlo: mc,
    transfer,
    linearity: linearity.filter((_, i) => i % linStride === 0),
    errorHistogram: [...hist].map((count, i) => ({ error: i - 10, count })),
  };
}

/** The technique grid around a config: its own setting first, then folding × boosted-clipping on/off. */
export function techniqueVariants(config: MacroConfig): MacroConfig[] {
  const mfOn: MacFoldingMode = config.macFolding === 'off' ? 'sign-magnitude' : config.macFolding;
  const bcOn: BoostedClippingMode = config.boostedClipping === 'off' ? 'gain' : config.boostedClipping;
  const out: MacroConfig[] = [config];
  for (const mf of ['off', mfOn] as const) {
    for (const bc of ['off', bcOn] as const) {
      if (mf === config.macFolding && bc === config.boostedClipping) continue;
      out.push({ ...config, macFolding: mf, boostedClipping: bc });
    }
  }
  return out;
}

export function characterize(o: CharacterizeOptions, progress: Progress = silentProgress): CharacterizeResult {
  const base = scaleNoise(o.config, o.noiseScale);
  const configs = o.techniques ? techniqueVariants(base) : [base];
  const variants = configs.map((c, i) => characterizeVariant(c, { ...o, seed: o.seed + 1000 * i }, progress));
  const v0 = variants[0];
  const ni = o.config.nonIdeal;
  const ideal = ni.cellMismatch === 0 && ni.comparatorNoise === 0 && ni.comparatorOffset === 0 && !ni.bitLineFloor && ni.irDrop === 0 && ni.lambda === 0;
  return {
    rmsErrorLsb: v0.rmsErrorLsb,
    inlMaxLsb: v0.inlMaxLsb,
    dnlMaxLsb: v0.dnlMaxLsb,
    marginMvPerLsb: v0.marginMvPerLsb,
    ideal,
    rows: o.config.rows,
    chips: o.chips,
    noiseScale: o.noiseScale,
    variants,
  };
}
