/**
 * The memory side of one layer run: the three scratchpads, the cycle counter with its stalls, and
 * the first/last cycles of SRAM traffic. Both simulation modes drive it one demand line (one
 * array cycle) at a time: the reads of the line, then `endLine(ofmapWords)`.
 */
import { ConfigError } from '../../core/errors.js';
import { ReadBufferModel, WriteBufferModel } from './memory.js';
import type { OperandAddresses } from './operands.js';
import type { SystolicConfig } from './types.js';

export class LayerMemory {
  readonly ifmap: ReadBufferModel;
  readonly filter: ReadBufferModel;
  readonly ofmap: WriteBufferModel;
  /** Cycle of the current line (line index + stalls so far). */
  cycle = 0;
  line = 0;
  stalls = 0;
  lastOut = 0;
  ifmapFirst = Number.NaN;
  ifmapLast = Number.NaN;
  filterFirst = Number.NaN;
  filterLast = Number.NaN;
  ofmapFirst = Number.NaN;
  ofmapLast = Number.NaN;
  /** Set by the reader of a line when it demanded at least one word. */
  ifmapAny = false;
  filterAny = false;

  constructor(cfg: SystolicConfig, a: OperandAddresses, compat: boolean) {
    if (cfg.interfaceBandwidth !== 'CALC') throw new ConfigError('InterfaceBandwidth USER is not modelled: use CALC (SCALE-Sim estimates the DRAM bandwidth each operand needs)');
    this.ifmap = new ReadBufferModel(cfg.ifmapSramKb * 1024, a.ifmapWords);
    this.filter = new ReadBufferModel(cfg.filterSramKb * 1024, a.filterWords);
    this.ofmap = new WriteBufferModel(cfg.ofmapSramKb * 1024, cfg.arrayWidth, compat);
  }

  endLine(ofmapWords: number): void {
    const c = this.cycle;
    if (this.ifmapAny) {
      if (Number.isNaN(this.ifmapFirst)) this.ifmapFirst = c + 1;
      this.ifmapLast = c + 1;
      this.ifmapAny = false;
    }
    if (this.filterAny) {
      if (Number.isNaN(this.filterFirst)) this.filterFirst = c + 1;
      this.filterLast = c + 1;
      this.filterAny = false;
    }
    let out = c;
    if (ofmapWords > 0) {
      out = this.ofmap.write(ofmapWords, c);
      if (Number.isNaN(this.ofmapFirst)) this.ofmapFirst = out;
      this.ofmapLast = out;
    }
    this.lastOut = out;
    this.stalls += out - c;
    this.line++;
    this.cycle = this.line + this.stalls;
  }
}
