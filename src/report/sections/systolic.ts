/**
 * Report sections for the systolic-array simulator: a run (`kind: 'systolic'`: per-layer cycles and
 * utilisation, energy breakdown, SCALE-Sim's per-layer quantities) and a sweep
 * (`kind: 'systolic-sweep'`: cycles vs energy vs area, Pareto front).
 */
import type { SystolicRunResult, SystolicSweepResult } from '../../experiments/systolic.js';
import { barSpec } from '../charts.js';
import type { ReportSection } from '../types.js';

const r2 = (v: number) => Number(v.toFixed(2));
const r3 = (v: number) => Number(v.toPrecision(4));

export function systolicSection(r: SystolicRunResult): ReportSection {
  const c = r.config;
  const energyRows = r.layers.flatMap((l) => [
    { layer: l.name, part: 'compute (PEs)', energyUj: l.computeEnergyPj / 1e6 },
    { layer: l.name, part: 'SRAM', energyUj: l.sramEnergyPj / 1e6 },
    { layer: l.name, part: 'DRAM', energyUj: l.dramEnergyPj / 1e6 },
  ]);
  const verified = r.layers.filter((l) => l.outputsMatchReference !== undefined);
  return {
    id: 'systolic',
    title: `Systolic array: ${r.network}`,
    highlights: [
      {
        label: 'Array',
        value: `${c.arrayHeight}×${c.arrayWidth} ${c.dataflow.toUpperCase()}`,
        hint: `SRAM ${c.ifmapSramKb}/${c.filterSramKb}/${c.ofmapSramKb} kB (ifmap/filter/ofmap)`,
      },
      { label: 'Total cycles', value: r.totalCycles.toLocaleString('en'), hint: `${r.stallCycles} stall cycles` },
      { label: 'Energy', value: `${(r.energyPj / 1e6).toFixed(2)} µJ`, hint: `estimate at ${r.tech.nodeNm} nm, ${r.tech.vdd} V` },
      { label: 'Area', value: `${r.areaMm2.toFixed(2)} mm²`, hint: 'PEs + SRAMs (estimate)' },
    ],
    paragraphs: [
      `${r.mode === 'analytical' ? 'Analytical mode: the same cycle and access counts as SCALE-Sim v2 (checked against its own reports in the tests)' : 'Cycle-level mode: the array is stepped with integer operands; counts equal the analytical mode'}${r.scalesimCompat ? ", with SCALE-Sim's counting quirks reproduced (--scalesim-compat)" : ''}. ${r.layers.length} layers, ${r.macs.toLocaleString('en')} MACs, simulated in ${r.seconds.toFixed(2)} s.`,
      ...(verified.length
        ? [`Integer outputs checked against a plain GEMM on ${verified.length} layer(s): ${verified.every((l) => l.outputsMatchReference) ? 'all equal' : 'MISMATCH'}.`]
        : []),
      'Energy is an estimate from action counts (MACs, PE registers, SRAM and DRAM words) priced with published 45 nm figures (Horowitz, ISSCC 2014) scaled to the technology point; see the energy table rows and their sources in energy-actions.csv.',
    ],
    figures: [
      {
        title: 'Cycles per layer',
        spec: barSpec(
          r.layers.map((l) => ({ layer: l.name, cycles: l.totalCycles })),
          { category: 'layer', value: 'cycles', valueTitle: 'cycles', valueFormat: ',d' },
        ),
      },
      {
        title: 'Overall utilisation per layer',
        spec: barSpec(
          r.layers.map((l) => ({ layer: l.name, util: r2(l.overallUtilPct) })),
          { category: 'layer', value: 'util', valueTitle: 'overall utilisation (%)', valueDomain: [0, 100], valueFormat: '.1f' },
        ),
      },
      {
        title: 'Energy breakdown per layer',
        wide: true,
        spec: {
          width: 520,
          height: { step: 22 },
          data: { values: energyRows },
          mark: { type: 'bar' },
          encoding: {
            y: { field: 'layer', type: 'nominal', sort: r.layers.map((l) => l.name), title: null },
            x: { field: 'energyUj', type: 'quantitative', title: 'energy (µJ)', stack: 'zero' },
            color: {
              field: 'part',
              type: 'nominal',
              title: null,
              scale: { domain: ['compute (PEs)', 'SRAM', 'DRAM'], range: ['#2563eb', '#16a34a', '#f97316'] },
              legend: { orient: 'bottom' },
            },
          },
        },
        caption: 'Compute: MACs and PE registers; SRAM: array reads/writes, DRAM fills and ofmap drains; DRAM: words moved off chip.',
      },
    ],
    tables: [
      {
        title: 'Per layer (SCALE-Sim quantities)',
        columns: [
          'layer',
          'M',
          'N',
          'K',
          'folds',
          'Total Cycles',
          'Stall Cycles',
          'Overall Util %',
          'Mapping Efficiency %',
          'Compute Util %',
          'SRAM reads',
          'SRAM OFMAP Writes',
          'DRAM reads',
          'DRAM OFMAP Writes',
          'energy µJ',
        ],
        rows: r.layers.map((l) => [
          l.name,
          l.gemm.m,
          l.gemm.n,
          l.gemm.k,
          l.folds,
          l.totalCycles,
          l.stallCycles,
          r2(l.overallUtilPct),
          r2(l.mappingEfficiencyPct),
          r2(l.computeUtilPct),
          l.sram.ifmapReads + l.sram.filterReads,
          l.sram.ofmapWrites,
          l.dram.ifmapReads + l.dram.filterReads,
          l.dram.ofmapWrites,
          r3(l.energyPj / 1e6),
        ]),
      },
      {
        title: 'Energy by component',
        columns: ['component', 'energy µJ', 'share %'],
        rows: r.energyByComponent.map((e) => [e.component, r3(e.energyPj / 1e6), r2((100 * e.energyPj) / r.energyPj)]),
      },
    ],
  };
}

export function systolicSweepSection(r: SystolicSweepResult): ReportSection {
  const values = r.points.map((p) => ({
    design: `${p.arrayHeight}×${p.arrayWidth} ${p.dataflow.toUpperCase()} ${p.sramKb} kB`,
    cycles: p.totalCycles,
    energyUj: p.energyPj / 1e6,
    areaMm2: p.areaMm2,
    dataflow: p.dataflow.toUpperCase(),
    front: p.pareto ? 'Pareto front' : 'dominated',
  }));
  return {
    id: 'systolic-sweep',
    title: `Systolic design-space sweep: ${r.network}`,
    highlights: [
      {
        label: 'Design points',
        value: String(r.points.length),
        hint: `${r.config.arrays.length} arrays × ${r.config.dataflows.length} dataflows × ${r.config.sramKb.length} SRAM sizes`,
      },
      { label: 'Pareto front', value: String(r.front.length), hint: 'not beaten on cycles, energy and area at once' },
      { label: 'Sweep time', value: `${r.seconds.toFixed(1)} s`, hint: `${r.workers} worker thread(s)` },
    ],
    paragraphs: [`${r.layers} layers, ${r.macs.toLocaleString('en')} MACs per inference, analytical mode. Energy and area are estimates (45 nm figures scaled).`],
    figures: [
      {
        title: 'Cycles vs energy (size: area)',
        wide: true,
        spec: {
          width: 520,
          height: 300,
          data: { values },
          mark: { type: 'point', filled: true, opacity: 0.8 },
          encoding: {
            x: { field: 'cycles', type: 'quantitative', scale: { type: 'log' }, title: 'total cycles (log)' },
            y: { field: 'energyUj', type: 'quantitative', scale: { type: 'log' }, title: 'energy (µJ, log)' },
            size: { field: 'areaMm2', type: 'quantitative', title: 'area (mm²)' },
            color: { field: 'front', type: 'nominal', title: null, scale: { domain: ['Pareto front', 'dominated'], range: ['#f97316', '#94a3b8'] } },
            shape: { field: 'dataflow', type: 'nominal', title: 'dataflow' },
            tooltip: [{ field: 'design' }, { field: 'cycles' }, { field: 'energyUj' }, { field: 'areaMm2' }],
          },
        },
        caption: 'Orange: the Pareto front in three objectives (a point off the 2-D frontier can be on it thanks to a smaller area).',
      },
    ],
    tables: [
      {
        title: 'Pareto front (sorted by cycles)',
        columns: ['array', 'dataflow', 'SRAM kB (each)', 'total cycles', 'energy µJ', 'area mm²', 'overall util %'],
        rows: r.front.map((p) => [`${p.arrayHeight}×${p.arrayWidth}`, p.dataflow, p.sramKb, p.totalCycles, r3(p.energyPj / 1e6), r3(p.areaMm2), r2(p.overallUtilPct)]),
      },
    ],
  };
}
