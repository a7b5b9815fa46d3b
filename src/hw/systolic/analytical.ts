/**
 * Analytical mode: SRAM traffic, utilisation and fold counts in closed form; the demand addresses
 * are generated straight from the fold schedule (no array state) and streamed through the
 * scratchpad models, which is all DRAM traffic and stalls depend on. Same numbers as SCALE-Sim v2.
 */
import { LayerMemory } from './layer-memory.js';
import { OperandAddresses, validateLayer } from './operands.js';
import { type FoldPlan, foldPlan, foldUtilisation, ofmapWordsAt, sramTraffic } from './schedule.js';
import type { LayerResult, SimOptions, SystolicConfig, SystolicLayer } from './types.js';

/** Builds a layer result from the run's memory side and the closed-form quantities. */
export function assembleResult(layer: SystolicLayer, cfg: SystolicConfig, a: OperandAddresses, p: FoldPlan, mem: LayerMemory, compat: boolean): LayerResult {
  const d = a.dims;
  const totalCycles = mem.lastOut;
  const ifd = mem.ifmap.finish();
  const fd = mem.filter.finish();
  const od = mem.ofmap.finish(mem.lastOut);
  const sram = sramTraffic(p, d, compat);
  const u = foldUtilisation(p);
  const macs = d.m * d.n * d.k;
  const pe = cfg.arrayHeight * cfg.arrayWidth;
  const kvWords = d.k * d.n;
  const metaPerWord = layer.packed ? layer.packed.metadataWords / kvWords : 0;
  return {
    name: layer.name,
    gemm: d,
    dataflow: cfg.dataflow,
    folds: p.rowFolds * p.colFolds,
    totalCycles,
    stallCycles: mem.stalls,
    overallUtilPct: (macs * 100) / (totalCycles * pe),
    mappingEfficiencyPct: u.mappingEfficiency * 100,
    computeUtilPct: u.computeUtil * 100,
    macs,
    sram: {
      ifmapReads: sram.ifmapReads,
      filterReads: sram.filterReads,
      ofmapWrites: sram.ofmapWrites,
      ifmapStartCycle: mem.ifmapFirst,
      ifmapStopCycle: mem.ifmapLast,
      filterStartCycle: mem.filterFirst,
      filterStopCycle: mem.filterLast,
      ofmapStartCycle: mem.ofmapFirst,
      ofmapStopCycle: mem.ofmapLast,
    },
    dram: {
      ifmapReads: ifd.reads,
      filterReads: fd.reads,
      ofmapWrites: od.writes,
      ifmapStartCycle: ifd.startCycle,
      ifmapStopCycle: ifd.stopCycle,
      filterStartCycle: fd.startCycle,
      filterStopCycle: fd.stopCycle,
      ofmapStartCycle: od.startCycle,
      ofmapStopCycle: od.stopCycle,
    },
    bandwidth: {
      ifmapSramWordsPerCycle: sram.ifmapReads / totalCycles,
      filterSramWordsPerCycle: sram.filterReads / totalCycles,
      ofmapSramWordsPerCycle: sram.ofmapWrites / totalCycles,
      ifmapDramWordsPerCycle: ifd.reads / (ifd.stopCycle - ifd.startCycle + 1),
      filterDramWordsPerCycle: fd.reads / (fd.stopCycle - fd.startCycle + 1),
      ofmapDramWordsPerCycle: od.writes / (od.stopCycle - od.startCycle + 1),
    },
    metadata: { sramReads: Math.round(sram.filterReads * metaPerWord), dramReads: Math.round(fd.reads * metaPerWord) },
    mux: layer.packed?.select
      ? { selects: macs, fanIn: layer.packed.muxFanIn ?? 1, busReads: (layer.packed.busWordsPerVector ?? 0) * d.m * p.colFolds, slotBits: layer.packed.slotBits ?? 8 }
      : null,
  };
}

/** What both modes set up for a layer: addresses, fold plan and the memory side. */
export interface LayerSetup {
  a: OperandAddresses;
  p: FoldPlan;
  mem: LayerMemory;
  compat: boolean;
}

export function setupLayer(layer: SystolicLayer, cfg: SystolicConfig, opts: SimOptions): LayerSetup {
  validateLayer(layer, `layer '${layer.name}'`);
  const compat = opts.scalesimCompat ?? false;
  const a = new OperandAddresses(layer);
  return { a, p: foldPlan(cfg.dataflow, a.dims, cfg.arrayHeight, cfg.arrayWidth), mem: new LayerMemory(cfg, a, compat), compat };
}

export function simulateLayerAnalytical(layer: SystolicLayer, cfg: SystolicConfig, opts: SimOptions = {}): LayerResult {
  const { a, p, mem, compat } = setupLayer(layer, cfg, opts);
  const d = a.dims;
  const R = cfg.arrayHeight;
  const C = cfg.arrayWidth;
  const ifb = mem.ifmap;
  const fb = mem.filter;
  const { mBase, mRow, mCol, kOff, kRow, kCol } = a;
  const H = layer.ifmapHeight;
  const W = layer.ifmapWidth;
  const K = d.k;
  const T = p.t;
  const F = p.foldCycles;
  for (let fc = 0; fc < p.colFolds; fc++) {
    const c0 = fc * C;
    const colsUsed = Math.min(C, p.sc - c0);
    for (let fr = 0; fr < p.rowFolds; fr++) {
      const r0 = fr * R;
      const rowsUsed = Math.min(R, p.sr - r0);
      for (let j = 0; j < F; j++) {
        const cycle = mem.cycle;
        if (p.dataflow === 'os') {
          // Row r streams ifmap row m = r0 + r, column c streams filter n = c0 + c; step k = j − r (or j − c).
          const rLo = Math.max(0, j - T + 1);
          const rHi = Math.min(j, rowsUsed - 1);
          let any = false;
          for (let r = rLo; r <= rHi; r++) {
            const m = r0 + r;
            const k = j - r;
            if (kRow[k] + mRow[m] < H && kCol[k] + mCol[m] < W) {
              ifb.access(mBase[m] + kOff[k], cycle);
              any = true;
            }
          }
          if (any) mem.ifmapAny = true;
          const cHi = Math.min(j, colsUsed - 1);
          for (let c = rLo; c <= cHi; c++) fb.access((c0 + c) * K + (j - c), cycle);
          if (cHi >= rLo) mem.filterAny = true;
        } else if (j < R) {
          // Stationary load: line q brings row k = r0 + R − 1 − q of the stationary operand.
          const kr = R - 1 - j;
          if (kr < rowsUsed) {
            const k = r0 + kr;
            for (let c = 0; c < colsUsed; c++) {
              if (p.dataflow === 'ws') {
                fb.access((c0 + c) * K + k, cycle);
                mem.filterAny = true;
              } else {
                const m = c0 + c;
                if (kRow[k] + mRow[m] < H && kCol[k] + mCol[m] < W) {
                  ifb.access(mBase[m] + kOff[k], cycle);
                  mem.ifmapAny = true;
                }
              }
            }
          }
        } else {
          // Streaming: row r receives element t = j − R − r of its reduction row k = r0 + r.
          const rLo = Math.max(0, j - R - T + 1);
          const rHi = Math.min(j - R, rowsUsed - 1);
          for (let r = rLo; r <= rHi; r++) {
            const t = j - R - r;
            const k = r0 + r;
            if (p.dataflow === 'ws') {
              if (kRow[k] + mRow[t] < H && kCol[k] + mCol[t] < W) {
                ifb.access(mBase[t] + kOff[k], cycle);
                mem.ifmapAny = true;
              }
            } else {
              fb.access(t * K + k, cycle);
              mem.filterAny = true;
            }
          }
        }
        mem.endLine(ofmapWordsAt(p, j, rowsUsed, colsUsed));
      }
    }
  }
  return assembleResult(layer, cfg, a, p, mem, compat);
}
