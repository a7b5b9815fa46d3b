import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { ENERGY_TABLE } from '../../../src/hw/energy.js';
import {
  type AcceleratorLayer,
  ARCHITECTURES,
  profiledRowMap,
  SPARSENN_ACTIONS,
  SparseNNSimulator,
  sparseNNConfig,
  streamCycles,
  streamCyclesReference,
  summarizeArchitecture,
} from '../../../src/hw/sparsenn/index.js';

describe('broadcast stream timing', () => {
  it('fast recurrence agrees with the cycle-by-cycle reference on random streams', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 300; trial++) {
      const pes = 1 + rng.int(6);
      const words = rng.int(30);
      const kind = rng.next() < 0.5 ? 'all' : 'owner';
      const work: number[] = kind === 'all' ? Array.from({ length: pes }, () => rng.int(4)) : [1 + rng.int(4)];
      if (kind === 'all' && Math.max(...work) === 0) work[0] = 1;
      const owner = Array.from({ length: words }, () => rng.int(pes));
      const spec = { words, pes, kind, work, owner, width: 1 + rng.int(3), depth: 1 + rng.int(4), latency: 1 + rng.int(3) } as const;
      assert.deepEqual(streamCycles(spec), streamCyclesReference(spec), JSON.stringify(spec));
    }
  });

  it('hand-computed cases', () => {
    // One PE, 2 cycles per word, latency 1, ample FIFO: injections 0,1,2 → starts 1,3,5 → done at 7.
    assert.deepEqual(streamCycles({ words: 3, pes: 1, kind: 'all', work: [2], width: 1, depth: 8, latency: 1 }), { cycles: 7, stallCycles: 0 });
    // FIFO of 1: word 1 waits until word 0 starts (cycle 1), word 2 until word 1 starts (3).
    assert.deepEqual(streamCycles({ words: 3, pes: 1, kind: 'all', work: [2], width: 1, depth: 1, latency: 1 }), { cycles: 7, stallCycles: 1 });
    assert.deepEqual(streamCycles({ words: 0, pes: 4, kind: 'all', work: [1, 1, 1, 1], width: 1, depth: 1, latency: 1 }), { cycles: 0, stallCycles: 0 });
  });
});

function layers(): AcceleratorLayer[] {
  return [
    { name: 'fc1', k: 20, n: 13, rank: 2 },
    { name: 'fc2', k: 13, n: 5, rank: 0 },
  ];
}

function feed(sim: SparseNNSimulator, seed: number, maskValue?: 0 | 1): void {
  const rng = new Rng(seed);
  const L = sim.layers;
  const m = 6;
  const x1 = Float32Array.from({ length: m * L[0].k }, () => (rng.next() < 0.5 ? 0 : rng.next()));
  const mask = Uint8Array.from({ length: m * L[0].n }, () => maskValue ?? (rng.next() < 0.4 ? 1 : 0));
  const x2 = Float32Array.from({ length: m * L[1].k }, () => (rng.next() < 0.6 ? 0 : rng.next()));
  sim.addRows(0, x1, m, sim.arch === 'sparsenn' ? mask : null);
  sim.addRows(1, x2, m, null);
}

describe('SparseNN accelerator simulator', () => {
  for (const schedule of ['static', 'balanced'] as const) {
    for (const vMapping of ['split', 'replicated'] as const) {
      it(`fast path equals the reference twin (${schedule}, ${vMapping})`, () => {
        for (const rowGroup of [1, 4])
          for (const arch of ARCHITECTURES) {
            const cfg = sparseNNConfig({ pes: 4, fifoDepth: 2, schedule, vMapping, nocWordsPerCycle: 2, rowGroup });
            const fast = new SparseNNSimulator(cfg, arch, layers());
            const ref = new SparseNNSimulator(cfg, arch, layers(), { reference: true });
            feed(fast, 3);
            feed(ref, 3);
            assert.deepEqual(fast.layerTotals(), ref.layerTotals(), arch);
          }
      });
    }
  }

  it('skipping orders the architectures: dense ≥ input-sparse; all-zero masks beat input-sparse, all-one masks pay the prediction', () => {
    const cfg = sparseNNConfig({ pes: 4 });
    const run = (arch: (typeof ARCHITECTURES)[number], mask?: 0 | 1) => {
      const s = new SparseNNSimulator(cfg, arch, layers());
      feed(s, 5, mask);
      return s.layerTotals()[0];
    };
    const dense = run('dense');
    const inSparse = run('input-sparse');
    assert.ok(dense.cycles > inSparse.cycles);
    assert.equal(dense.macs, 6 * 20 * 13);
    assert.equal(inSparse.macs, inSparse.nonZeroInputs * 13);
    const none = run('sparsenn', 0);
    const all = run('sparsenn', 1);
    assert.ok(none.cycles < inSparse.cycles);
    assert.equal(none.macs, 0);
    assert.ok(all.cycles > inSparse.cycles);
    assert.equal(all.macs, inSparse.macs);
    assert.equal(all.predictorMacs, all.nonZeroInputs * 2 + 6 * 13 * 2);
    assert.equal(all.activeOutputs, 6 * 13);
  });

  it('static schedule: the PE with most active rows sets the feed-forward time; balanced evens it out', () => {
    // 8 outputs on 4 PEs, active rows 0 and 4 (both on PE 0): static needs 2 cycles per input, balanced 1.
    const L: AcceleratorLayer[] = [{ name: 'fc', k: 4, n: 8, rank: 1 }];
    const x = Float32Array.from([1, 1, 1, 1]);
    const mask = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0]);
    const s = new SparseNNSimulator(sparseNNConfig({ pes: 4, schedule: 'static' }), 'sparsenn', L);
    s.addRows(0, x, 1, mask);
    const b = new SparseNNSimulator(sparseNNConfig({ pes: 4, schedule: 'balanced', nocWordsPerCycle: 8 }), 'sparsenn', L);
    b.addRows(0, x, 1, mask);
    const st = s.layerTotals()[0];
    const bt = b.layerTotals()[0];
    assert.equal(st.cycles - st.predictionCycles, 4 * 2);
    assert.equal(bt.cycles - bt.predictionCycles, 4 * 1);
    assert.equal(st.loadImbalance, 2 / 0.5);
    assert.ok(bt.nocWords > st.nocWords, 'moved rows send weights over the network');
  });

  it('grouping rows evens out the feed-forward load and never costs cycles in that phase', () => {
    const one = new SparseNNSimulator(sparseNNConfig({ pes: 4 }), 'sparsenn', layers());
    const grouped = new SparseNNSimulator(sparseNNConfig({ pes: 4, rowGroup: 6 }), 'sparsenn', layers());
    feed(one, 13);
    feed(grouped, 13);
    const [a, b] = [one.layerTotals()[0], grouped.layerTotals()[0]];
    assert.equal(a.macs, b.macs);
    assert.ok(b.cycles - b.predictionCycles <= a.cycles - a.predictionCycles);
    assert.ok(b.loadImbalance <= a.loadImbalance);
  });

  it('profiled row placement keeps ⌈N/P⌉ rows per PE and balances the expected active rows', () => {
    const freq = [1, 0, 1, 0, 1, 0, 1, 0];
    const map = profiledRowMap(freq, 2);
    const load = [0, 0];
    const rows = [0, 0];
    map.forEach((p, i) => {
      load[p] += freq[i];
      rows[p]++;
    });
    assert.deepEqual(rows, [4, 4]);
    assert.deepEqual(load, [2, 2]); // interleaving (i mod 2) would give [4, 0]
    assert.deepEqual(Array.from(profiledRowMap(freq, 2)), Array.from(map));
    const L: AcceleratorLayer[] = [{ name: 'fc', k: 3, n: 8, rank: 1, rowToPe: map }];
    const s = new SparseNNSimulator(sparseNNConfig({ pes: 2, rowGroup: 1 }), 'sparsenn', L);
    s.addRows(0, Float32Array.from([1, 1, 1]), 1, Uint8Array.from(freq));
    assert.equal(s.layerTotals()[0].loadImbalance, 1);
    assert.throws(() => new SparseNNSimulator(sparseNNConfig({ pes: 2 }), 'sparsenn', [{ ...L[0], rowToPe: Int32Array.from([0, 5, 0, 0, 0, 0, 0, 0]) }]), /PE 5/);
  });

  it('prices every action with a sourced row and reports power', () => {
    for (const a of SPARSENN_ACTIONS) {
      const row = ENERGY_TABLE.find((r) => r.component === 'sparsenn' && r.action === a);
      assert.ok(row && row.source.length > 10, a);
    }
    const s = new SparseNNSimulator(sparseNNConfig({ pes: 4 }), 'sparsenn', layers());
    feed(s, 9);
    const sum = summarizeArchitecture(s, 6);
    assert.ok(sum.energyPj > 0 && sum.powerW > 0);
    assert.ok(Math.abs(sum.byComponent.reduce((t, c) => t + c.energyPj, 0) - sum.energyPj) < 1e-6 * sum.energyPj);
    assert.ok(Math.abs(sum.powerW - (sum.energyPj * 1e-12) / (sum.cycles / 800e6)) < 1e-12);
  });

  it('rejects rows of the wrong size and a missing mask', () => {
    const s = new SparseNNSimulator(sparseNNConfig({ pes: 4 }), 'sparsenn', layers());
    assert.throws(() => s.addRows(0, new Float32Array(5), 1, new Uint8Array(13)), /expects 1×20/);
    assert.throws(() => s.addRows(0, new Float32Array(20), 1, null), /mask/);
  });
});
