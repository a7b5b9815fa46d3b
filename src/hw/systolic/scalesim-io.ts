/**
 * SCALE-Sim v2 file formats: the INI-style `.cfg`, the topology CSV (conv rows or `-i gemm` M,N,K
 * rows) and the three report CSVs with SCALE-Sim's own column names and number formatting, so
 * reports can be compared line by line. Parsing is strict: a bad line names file, line and field.
 * Text in, text out: reading and writing files is the caller's job.
 */
import { ConfigError } from '../../core/errors.js';
import { gemmLayer, validateLayer } from './operands.js';
import { type Dataflow, DATAFLOWS, DEFAULT_CONFIG, type LayerResult, type SystolicConfig, type SystolicLayer } from './types.js';

interface IniValue {
  value: string;
  line: number;
}

function parseIni(text: string, file: string): Map<string, { line: number; keys: Map<string, IniValue> }> {
  const sections = new Map<string, { line: number; keys: Map<string, IniValue> }>();
  let cur: Map<string, IniValue> | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const s = raw.trim();
    if (s === '' || s.startsWith('#') || s.startsWith(';')) continue;
    const sec = /^\[([^\]]+)\]$/.exec(s);
    if (sec) {
      const name = sec[1].trim().toLowerCase();
      const entry = sections.get(name) ?? { line: i + 1, keys: new Map<string, IniValue>() };
      sections.set(name, entry);
      cur = entry.keys;
      continue;
    }
    const eq = s.search(/[:=]/);
    if (eq <= 0) throw new ConfigError(`${file}:${i + 1}: '${s}' is neither a [section] nor a 'key: value' line`);
    if (!cur) throw new ConfigError(`${file}:${i + 1}: key '${s.slice(0, eq).trim()}' comes before any [section]`);
    cur.set(s.slice(0, eq).trim().toLowerCase(), { value: s.slice(eq + 1).trim(), line: i + 1 });
  }
  return sections;
}

/** Parses a SCALE-Sim `.cfg`. Keys are case-insensitive, as in Python's configparser. */
export function parseScalesimConfig(text: string, file: string): SystolicConfig {
  const ini = parseIni(text, file);
  const get = (section: string, key: string, required = true): IniValue | undefined => {
    const sec = ini.get(section);
    if (!sec) {
      if (required) throw new ConfigError(`${file}: section [${section}] is missing (it needs ${key})`);
      return undefined;
    }
    const v = sec.keys.get(key.toLowerCase());
    if (!v && required) throw new ConfigError(`${file}:${sec.line}: [${section}] has no ${key}: add '${key}: <value>'`);
    return v;
  };
  const int = (section: string, key: string, min: number): number => {
    const v = get(section, key) as IniValue;
    const n = Number(v.value);
    if (!/^[+-]?\d+$/.test(v.value) || n < min) throw new ConfigError(`${file}:${v.line}: field ${key} = '${v.value}' must be an integer ≥ ${min}`);
    return n;
  };
  const runName = (get('general', 'run_name') as IniValue).value;
  const bwMode = get('run_presets', 'InterfaceBandwidth') as IniValue;
  if (bwMode.value !== 'CALC' && bwMode.value !== 'USER') throw new ConfigError(`${file}:${bwMode.line}: field InterfaceBandwidth = '${bwMode.value}' must be CALC or USER`);
  const df = get('architecture_presets', 'Dataflow') as IniValue;
  if (!(DATAFLOWS as readonly string[]).includes(df.value)) throw new ConfigError(`${file}:${df.line}: field Dataflow = '${df.value}' must be one of ${DATAFLOWS.join(', ')}`);
  let bandwidth = DEFAULT_CONFIG.bandwidthWordsPerCycle;
  const bw = get('architecture_presets', 'Bandwidth', bwMode.value === 'USER');
  if (bw) {
    const parts = bw.value.split(',').map((x) => x.trim());
    if (parts.some((x) => !/^\d+$/.test(x) || Number(x) < 1))
      throw new ConfigError(`${file}:${bw.line}: field Bandwidth = '${bw.value}' must be positive integers (words per cycle), comma-separated`);
    bandwidth = parts.map(Number);
  }
  const banks = get('architecture_presets', 'MemoryBanks', false);
  let memoryBanks = 1;
  if (banks) {
    if (!/^\d+$/.test(banks.value) || Number(banks.value) < 1) throw new ConfigError(`${file}:${banks.line}: field MemoryBanks = '${banks.value}' must be a positive integer`);
    memoryBanks = Number(banks.value);
  }
  return {
    runName,
    arrayHeight: int('architecture_presets', 'ArrayHeight', 1),
    arrayWidth: int('architecture_presets', 'ArrayWidth', 1),
    ifmapSramKb: int('architecture_presets', 'IfmapSramSzkB', 1),
    filterSramKb: int('architecture_presets', 'FilterSramSzkB', 1),
    ofmapSramKb: int('architecture_presets', 'OfmapSramSzkB', 1),
    ifmapOffset: int('architecture_presets', 'IfmapOffset', 0),
    filterOffset: int('architecture_presets', 'FilterOffset', 0),
    ofmapOffset: int('architecture_presets', 'OfmapOffset', 0),
    dataflow: df.value as Dataflow,
    interfaceBandwidth: bwMode.value,
    bandwidthWordsPerCycle: bandwidth,
    memoryBanks,
  };
}

/** Writes a config in SCALE-Sim's `.cfg` form. */
export function formatScalesimConfig(c: SystolicConfig): string {
  return [
    '[general]',
    `run_name = ${c.runName}`,
    '',
    '[architecture_presets]',
    `ArrayHeight:    ${c.arrayHeight}`,
    `ArrayWidth:     ${c.arrayWidth}`,
    `IfmapSramSzkB:    ${c.ifmapSramKb}`,
    `FilterSramSzkB:   ${c.filterSramKb}`,
    `OfmapSramSzkB:    ${c.ofmapSramKb}`,
    `IfmapOffset:    ${c.ifmapOffset}`,
    `FilterOffset:   ${c.filterOffset}`,
    `OfmapOffset:    ${c.ofmapOffset}`,
    `Bandwidth : ${c.bandwidthWordsPerCycle.join(',')}`,
    `Dataflow : ${c.dataflow}`,
    `MemoryBanks:   ${c.memoryBanks}`,
    '',
    '[run_presets]',
    `InterfaceBandwidth: ${c.interfaceBandwidth}`,
    '',
  ].join('\n');
}

const CONV_FIELDS = ['IFMAP Height', 'IFMAP Width', 'Filter Height', 'Filter Width', 'Channels', 'Num Filter', 'Stride Height', 'Stride Width'];
const GEMM_FIELDS = ['M', 'N', 'K'];

/**
 * Parses a topology CSV (first line is the header). Conv rows: name, ifmap H, W, filter H, W,
 * channels, filters, stride [, stride W]; a name containing 'DP' is a depthwise layer, expanded into
 * one single-channel layer per channel as SCALE-Sim does. GEMM rows (`gemm`): name, M, N, K.
 * SCALE-Sim drops the last field of every row (its rows end with a comma); rows without the
 * trailing comma are accepted here too.
 */
export function parseTopology(text: string, file: string, gemm: boolean): SystolicLayer[] {
  const lines = text.split(/\r?\n/);
  const layers: SystolicLayer[] = [];
  const fields = gemm ? GEMM_FIELDS : CONV_FIELDS;
  for (let i = 1; i < lines.length; i++) {
    const row = lines[i].trim();
    if (row === '') continue;
    const cells = row.split(',').map((x) => x.trim());
    if (cells[cells.length - 1] === '') cells.pop();
    const where = `${file}:${i + 1}`;
    const name = cells[0];
    if (!name) throw new ConfigError(`${where}: field 'Layer name' is empty`);
    const need = gemm ? 4 : 8;
    if (cells.length < need)
      throw new ConfigError(
        `${where}: field '${fields[cells.length - 1] ?? fields[0]}' is missing: a ${gemm ? 'GEMM row is name, M, N, K' : 'conv row is name, ifmap H, W, filter H, W, channels, filters, stride'}`,
      );
    const nums: number[] = [];
    const max = gemm ? 4 : 9;
    for (let f = 1; f < Math.min(cells.length, max); f++) {
      const v = cells[f];
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new ConfigError(`${where}: field '${fields[f - 1]}' = '${v}' must be a positive integer`);
      nums.push(Number(v));
    }
    if (gemm) {
      const l = gemmLayer(name, nums[0], nums[1], nums[2]);
      validateLayer(l, where);
      layers.push(l);
      continue;
    }
    const base: SystolicLayer = {
      name,
      ifmapHeight: nums[0],
      ifmapWidth: nums[1],
      filterHeight: nums[2],
      filterWidth: nums[3],
      channels: nums[4],
      numFilters: nums[5],
      strideHeight: nums[6],
      strideWidth: nums[7] ?? nums[6],
    };
    if (base.filterHeight > base.ifmapHeight) throw new ConfigError(`${where}: field 'Filter Height' = ${base.filterHeight} is larger than the IFMAP Height ${base.ifmapHeight}`);
    if (base.filterWidth > base.ifmapWidth) throw new ConfigError(`${where}: field 'Filter Width' = ${base.filterWidth} is larger than the IFMAP Width ${base.ifmapWidth}`);
    validateLayer(base, where);
    if (name.includes('DP')) {
      for (let ch = 0; ch < base.channels; ch++) layers.push({ ...base, name: `${name}Channel_${ch}`, channels: 1 });
    } else layers.push(base);
  }
  if (layers.length === 0) throw new ConfigError(`${file}: no layers (the first line is the header; add one row per layer)`);
  return layers;
}

/** Writes layers as a conv topology CSV (SCALE-Sim's header, trailing commas). */
export function formatTopology(layers: readonly SystolicLayer[]): string {
  const out = ['Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Stride Height, Stride Width,'];
  for (const l of layers)
    out.push(`${l.name}, ${l.ifmapHeight}, ${l.ifmapWidth}, ${l.filterHeight}, ${l.filterWidth}, ${l.channels}, ${l.numFilters}, ${l.strideHeight}, ${l.strideWidth},`);
  return `${out.join('\n')}\n`;
}

/** Python's str() of a float (repr): '1.0', '88.30022075055187', '1e-05'. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const ax = Math.abs(x);
  if (ax >= 1e16 || ax < 1e-4) {
    const [mant, exp] = x.toExponential().split('e');
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

export const COMPUTE_REPORT_HEADER = 'LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,';
export const BANDWIDTH_REPORT_HEADER = 'LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,';
export const DETAILED_ACCESS_REPORT_HEADER =
  'LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,';

const row = (id: number, cells: string[]) => `${id}, ${cells.join(', ')},`;

/** The three SCALE-Sim reports of a run, as file name → CSV text. */
export function scalesimReports(layers: readonly LayerResult[]): Record<'COMPUTE_REPORT.csv' | 'BANDWIDTH_REPORT.csv' | 'DETAILED_ACCESS_REPORT.csv', string> {
  const compute = [COMPUTE_REPORT_HEADER];
  const bw = [BANDWIDTH_REPORT_HEADER];
  const detail = [DETAILED_ACCESS_REPORT_HEADER];
  layers.forEach((l, id) => {
    compute.push(row(id, [String(l.totalCycles), String(l.stallCycles), pyFloat(l.overallUtilPct), pyFloat(l.mappingEfficiencyPct), pyFloat(l.computeUtilPct)]));
    const b = l.bandwidth;
    bw.push(
      row(
        id,
        [b.ifmapSramWordsPerCycle, b.filterSramWordsPerCycle, b.ofmapSramWordsPerCycle, b.ifmapDramWordsPerCycle, b.filterDramWordsPerCycle, b.ofmapDramWordsPerCycle].map(pyFloat),
      ),
    );
    const s = l.sram;
    const d = l.dram;
    detail.push(
      row(id, [
        pyFloat(s.ifmapStartCycle),
        pyFloat(s.ifmapStopCycle),
        String(s.ifmapReads),
        pyFloat(s.filterStartCycle),
        pyFloat(s.filterStopCycle),
        String(s.filterReads),
        pyFloat(s.ofmapStartCycle),
        pyFloat(s.ofmapStopCycle),
        String(s.ofmapWrites),
        pyFloat(d.ifmapStartCycle),
        pyFloat(d.ifmapStopCycle),
        String(d.ifmapReads),
        pyFloat(d.filterStartCycle),
        pyFloat(d.filterStopCycle),
        String(d.filterReads),
        pyFloat(d.ofmapStartCycle),
        pyFloat(d.ofmapStopCycle),
        String(d.ofmapWrites),
      ]),
    );
  });
  const text = (a: string[]) => `${a.join('\n')}\n`;
  return { 'COMPUTE_REPORT.csv': text(compute), 'BANDWIDTH_REPORT.csv': text(bw), 'DETAILED_ACCESS_REPORT.csv': text(detail) };
}

/** Parses one of SCALE-Sim's report CSVs into rows of numbers keyed by its column names. */
export function parseReport(text: string): { columns: string[]; rows: number[][] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const split = (l: string) => {
    const c = l.split(',').map((x) => x.trim());
    if (c[c.length - 1] === '') c.pop();
    return c;
  };
  return { columns: split(lines[0]), rows: lines.slice(1).map((l) => split(l).map(Number)) };
}
