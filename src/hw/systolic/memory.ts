/**
 * The double-buffered scratchpads in front of DRAM, modelled the way SCALE-Sim v2 does in its
 * bandwidth-estimating (CALC) mode, so that DRAM counts and start/stop cycles match it exactly.
 *
 * Read buffer (ifmap, filter). The buffer holds 100 "sets" of floor(words/100) distinct words; half
 * of them (50 sets) are the active half the array reads from, the other half is being refilled.
 * Words arrive in demand order; a word already held by the current half is a hit, any other word
 * becomes a DRAM read and takes a slot. When the 50 sets of the current half are full, the half is
 * handed over (a new, empty half starts) and the prefetch of the half just filled is scheduled:
 * the first one before the first demand at the default bandwidth (10 words/cycle), every later one
 * over the interval since the previous hand-over. Reads never stall in this mode.
 *
 * Write buffer (ofmap). Words are packed into lines of `bw` words (bw = array width); when the
 * occupancy exceeds the drain half, the buffer drains ceil(half/bw) lines to DRAM, one line per
 * cycle. A write that finds the buffer full while a drain is in flight stalls until it ends.
 */
import { AccelabError } from '../../core/errors.js';

/** The moment SCALE-Sim's own code would fail (division by zero / empty slice). */
export class ScalesimLimitError extends AccelabError {
  constructor(message: string) {
    super(`${message} (SCALE-Sim v2 fails on this configuration too: enlarge the SRAM or shrink the array)`, 2);
  }
}

const SETS = 100;
const ACTIVE_SETS = 50;
const DEFAULT_PREFETCH_BW = 10;

export class ReadBufferModel {
  /** Distinct words one half holds. */
  readonly halfWords: number;
  readonly setWords: number;
  private readonly stamp: Int32Array;
  private half = 1;
  private inHalf = 0;
  /** DRAM words read. */
  reads = 0;
  private firstCycle = -1;
  private handedOver = false;
  private lastStart = -2;
  private lastEnd = -1;
  private startCycle = 0;
  private stopCycle = 0;
  private readonly prefetchBw: number;

  constructor(sizeWords: number, addressSpace: number, prefetchBw = DEFAULT_PREFETCH_BW) {
    this.setWords = Math.floor(sizeWords / SETS);
    if (this.setWords < 1) throw new ScalesimLimitError(`a read SRAM of ${sizeWords} words holds less than ${SETS} words`);
    this.halfWords = ACTIVE_SETS * this.setWords;
    this.stamp = new Int32Array(Math.max(1, addressSpace));
    this.prefetchBw = prefetchBw;
  }

  /** One demanded word (operand-local address ≥ 0) at `cycle`. */
  access(addr: number, cycle: number): void {
    if (this.firstCycle < 0) this.firstCycle = cycle;
    if (this.stamp[addr] === this.half) return;
    this.stamp[addr] = this.half;
    this.reads++;
    if (++this.inHalf === this.halfWords) this.handOver(cycle);
  }

  private handOver(cycle: number): void {
    if (!this.handedOver) {
      const end = this.firstCycle - 2;
      const need = Math.ceil((ACTIVE_SETS * this.setWords) / this.prefetchBw);
      this.startCycle = end - need + 2;
      this.handedOver = true;
      this.lastStart = end + 1;
    } else {
      if (this.lastEnd - this.lastStart + 1 <= 0) throw new ScalesimLimitError('two read-buffer halves filled within one cycle');
      this.lastStart = this.lastEnd + 1;
    }
    this.lastEnd = cycle;
    this.half++;
    this.inHalf = 0;
  }

  /** Ends the layer; returns DRAM reads and the first/last cycle of DRAM traffic. */
  finish(): { reads: number; startCycle: number; stopCycle: number } {
    if (!this.handedOver) {
      if (this.inHalf === 0) throw new ScalesimLimitError('an operand with no words');
      const sets = Math.ceil(this.inHalf / this.setWords);
      const need = Math.ceil((sets * this.setWords) / this.prefetchBw);
      this.startCycle = -need;
      this.stopCycle = -1;
    } else {
      if (this.lastEnd - this.lastStart + 1 <= 0) throw new ScalesimLimitError('the last read-buffer prefetch has no cycles');
      this.stopCycle = this.lastEnd + 1;
    }
    return { reads: this.reads, startCycle: this.startCycle, stopCycle: this.stopCycle };
  }
}

export class WriteBufferModel {
  private readonly drainHalf: number;
  private readonly active: number;
  private readonly bw: number;
  private readonly compat: boolean;
  private free: number;
  private lineFill = new Int32Array(1024);
  private lines = 0;
  private curFill = 0;
  private drainLine = 0;
  private drainEnd = 0;
  /** DRAM words written. */
  writes = 0;
  private startCycle = Number.NaN;
  private stopCycle = Number.NaN;

  constructor(sizeWords: number, lineWords: number, compat: boolean) {
    this.active = Math.ceil(sizeWords * 0.5);
    this.drainHalf = sizeWords - this.active;
    this.bw = lineWords;
    this.compat = compat;
    this.free = sizeWords;
  }

  private pushLine(fill: number): void {
    if (this.lines === this.lineFill.length) {
      const g = new Int32Array(this.lineFill.length * 2);
      g.set(this.lineFill);
      this.lineFill = g;
    }
    this.lineFill[this.lines++] = fill;
    this.curFill = 0;
  }

  private drain(start: number): number {
    const linesPerDrain = Math.ceil(this.drainHalf / this.bw);
    const end = Math.min(this.drainLine + linesPerDrain, this.lines);
    const n = end - this.drainLine;
    if (n <= 0) throw new ScalesimLimitError('an ofmap drain with no lines');
    let data: number;
    if (this.compat) data = n * this.bw - (this.bw - this.lineFill[end - 1]);
    else {
      data = 0;
      for (let l = this.drainLine; l < end; l++) data += this.lineFill[l];
    }
    this.writes += data;
    this.free += data;
    if (Number.isNaN(this.startCycle)) this.startCycle = start;
    this.stopCycle = start + n - 1;
    this.drainLine = end;
    return start + n - 1;
  }

  /** `count` words written in one cycle; returns the cycle the last one was accepted (≥ cycle). */
  write(count: number, cycle: number): number {
    let cur = cycle;
    for (let e = 0; e < count; e++) {
      this.curFill++;
      this.free--;
      if (this.curFill === this.bw) this.pushLine(this.bw);
      if (cur < this.drainEnd) {
        if (this.free <= 0) cur = this.drainEnd;
      } else if (this.free < this.active) {
        if (this.curFill > 0) this.pushLine(this.curFill);
        this.drainEnd = this.drain(cur);
      }
    }
    return cur;
  }

  /** Drains everything left after the last write, starting at `cycle`. */
  finish(cycle: number): { writes: number; startCycle: number; stopCycle: number } {
    if (this.curFill > 0) this.pushLine(this.curFill);
    let c = cycle;
    while (this.drainLine < this.lines) {
      this.drainEnd = this.drain(c);
      c = this.drainEnd + 1;
    }
    if (Number.isNaN(this.startCycle)) throw new ScalesimLimitError('an ofmap with no words');
    return { writes: this.writes, startCycle: this.startCycle, stopCycle: this.stopCycle };
  }
}
