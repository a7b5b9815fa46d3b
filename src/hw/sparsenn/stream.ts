/**
 * Cycle timing of a broadcast stream: a sequence of input words injected in order onto the on-chip
 * network (at most `width` per cycle), each arriving `latency` cycles later at the PEs that work on it,
 * each PE taking its words from a FIFO of `depth` entries in order and spending `work` cycles per word.
 * A word can only be injected when every PE that works on it has a free FIFO entry (back-pressure: a
 * slow PE stalls the broadcast for everyone). Two kinds of stream occur:
 *  - 'all': every PE works on every word, PE p for `work[p]` cycles (a feed-forward layer, input by input);
 *  - 'owner': only PE `owner[t]` works on word t, for `work[0]` cycles (the predictor's V rows, split over PEs).
 *
 * `streamCycles` is the fast path (an event recurrence; for 'all' only the slowest PE is tracked, since
 * equal arrivals make it the binding one); `streamCyclesReference` steps cycle by cycle with explicit
 * FIFOs for every PE. They agree exactly (test/hw/sparsenn).
 */

export interface StreamSpec {
  /** Words in the stream. */
  words: number;
  pes: number;
  kind: 'all' | 'owner';
  /** 'all': cycles PE p spends per word (length pes); 'owner': [cycles per word]. */
  work: ArrayLike<number>;
  /** 'owner': the PE of each word (length words). */
  owner?: ArrayLike<number>;
  /** Words injected per cycle, FIFO entries per PE, injection-to-arrival cycles (≥ 1). */
  width: number;
  depth: number;
  latency: number;
}

export interface StreamTiming {
  /** Cycle after the last work finishes (0 for an empty stream). */
  cycles: number;
  /** Cycles the injector waited on a full FIFO beyond the width limit (network back-pressure). */
  stallCycles: number;
}

/** Fast path: event recurrence over words. */
export function streamCycles(s: StreamSpec): StreamTiming {
  if (s.words === 0) return { cycles: 0, stallCycles: 0 };
  if (s.latency < 1) throw new RangeError('stream: latency must be ≥ 1');
  // Per tracked PE: finish time of its last word and a ring of the start times of its last `depth` words.
  const tracked = s.kind === 'all' ? 1 : s.pes;
  const finish = new Float64Array(tracked);
  const count = new Int32Array(tracked);
  const ring = new Float64Array(tracked * s.depth);
  const inj = new Float64Array(s.words);
  let wAll = 0;
  if (s.kind === 'all') for (let p = 0; p < s.pes; p++) wAll = Math.max(wAll, s.work[p]);
  let stalls = 0;
  let end = 0;
  for (let t = 0; t < s.words; t++) {
    const pe = s.kind === 'all' ? 0 : (s.owner as ArrayLike<number>)[t];
    const w = s.kind === 'all' ? wAll : s.work[0];
    let a = t > 0 ? inj[t - 1] : 0;
    if (t >= s.width) a = Math.max(a, inj[t - s.width] + 1);
    const free = w > 0 && count[pe] >= s.depth ? ring[pe * s.depth + (count[pe] % s.depth)] : 0;
    if (free > a) {
      stalls += free - a;
      a = free;
    }
    inj[t] = a;
    if (w > 0) {
      const start = Math.max(a + s.latency, finish[pe]);
      ring[pe * s.depth + (count[pe] % s.depth)] = start;
      count[pe]++;
      finish[pe] = start + w;
      if (finish[pe] > end) end = finish[pe];
    } else if (a + s.latency > end) end = a + s.latency;
  }
  return { cycles: end, stallCycles: stalls };
}

/** Reference twin: cycle-by-cycle simulation with an explicit FIFO and busy counter per PE. */
export function streamCyclesReference(s: StreamSpec): StreamTiming {
  if (s.words === 0) return { cycles: 0, stallCycles: 0 };
  const fifo: { t: number; arrival: number }[][] = Array.from({ length: s.pes }, () => []);
  const busyUntil = new Array<number>(s.pes).fill(0);
  const workOf = (t: number, p: number): number => (s.kind === 'all' ? s.work[p] : (s.owner as ArrayLike<number>)[t] === p ? s.work[0] : 0);
  let next = 0;
  let stalls = 0;
  let end = 0;
  for (let c = 0; ; c++) {
    // 1. PEs: a free PE takes the head of its FIFO once it has arrived.
    for (let p = 0; p < s.pes; p++) {
      if (busyUntil[p] > c) continue;
      const head = fifo[p][0];
      if (head && head.arrival <= c) {
        fifo[p].shift();
        busyUntil[p] = c + workOf(head.t, p);
        end = Math.max(end, busyUntil[p]);
      }
    }
    // 2. The injector: up to `width` words, in order, while every working PE has room.
    let sent = 0;
    let blocked = false;
    while (next < s.words && sent < s.width) {
      let room = true;
      for (let p = 0; p < s.pes; p++) if (workOf(next, p) > 0 && fifo[p].length >= s.depth) room = false;
      if (!room) {
        blocked = true;
        break;
      }
      let any = false;
      for (let p = 0; p < s.pes; p++) {
        if (workOf(next, p) > 0) {
          fifo[p].push({ t: next, arrival: c + s.latency });
          any = true;
        }
      }
      if (!any) end = Math.max(end, c + s.latency);
      next++;
      sent++;
    }
    if (blocked) stalls++;
    if (next === s.words && fifo.every((f) => f.length === 0)) return { cycles: Math.max(end, ...busyUntil), stallCycles: stalls };
  }
}
