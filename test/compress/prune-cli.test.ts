/** `accelab compress prune` end to end on tiny synthetic data: train → prune → eval / pack / subword prune of the pruned run; bad input. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

const main = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'accelab-prune-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const source = join(dir, 'train');
/** Packing flags small enough for the tiny synthetic runs. */
const tinyPacking = ['--array', '8x8', '--search', 'greedy', '--epochs', '1', '--batch-size', '20'];

before(() => {
  const r = cli('train', '--dataset', 'synthetic-gray', '--model', 'lenet5', '--epochs', '1', '--train-limit', '120', '--test-limit', '40', '--out', source, '--json');
  assert.equal(r.code, 0, r.stderr);
});

test('compress prune (magnitude) writes a run folder whose checkpoint eval, compress pack and a further prune read', () => {
  const out = join(dir, 'magnitude');
  const r = cli('compress', 'prune', '--checkpoint', source, '--sparsity', '0.75', '--epochs', '1', '--batch-size', '20', '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.method, 'magnitude');
  assert.equal(j.testCount, 40, "the source run's test limit is inherited");
  assert.equal(j.trainCount, 120);
  assert.ok(Math.abs(j.sparsity - 0.75) < 1e-3, `sparsity ${j.sparsity}`);
  for (const l of j.layers) assert.equal(l.zeros, Math.round(0.75 * l.weights), l.layer);
  assert.ok(j.accuracyBefore >= 0 && j.accuracyAfter >= 0);
  for (const f of ['config.json', 'result.json', 'layers.csv', 'report.html', 'checkpoint/model.json', 'checkpoint/weights.bin']) assert.ok(existsSync(join(out, f)), f);
  const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(res.kind, 'compress-prune');
  assert.equal(res.pruneSteps[res.pruneSteps.length - 1].target, 0.75);

  const ev = cli('eval', out, '--json');
  assert.equal(ev.code, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  assert.equal(e.metrics.numExamples, 40);
  assert.equal(e.testAccuracy, j.accuracyAfter);

  const pk = cli('compress', 'pack', '--checkpoint', join(out, 'checkpoint'), '--sparsity', '0', '--array', '8x8', '--search', 'greedy', '--json');
  assert.equal(pk.code, 0, pk.stderr);
  const p = JSON.parse(pk.stdout);
  assert.equal(p.exact, true);
  // The packed layers hold the pruned zeros (8-bit codes add a few more).
  const fc1 = p.layers.find((l: { name: string }) => l.name === 'fc1');
  assert.ok(fc1.sparsity >= 0.75, `fc1 sparsity ${fc1.sparsity}`);

  const sw = join(dir, 'subword');
  const s = cli('compress', 'prune', '--checkpoint', out, '--method', 'subword', '--subword-fraction', '0.4', '--epochs', '1', '--batch-size', '20', '--out', sw, '--json');
  assert.equal(s.code, 0, s.stderr);
  const sj = JSON.parse(s.stdout);
  assert.equal(sj.subwordViolations, 0);
  // The zeros of the pruned source stay zero.
  for (const l of sj.layers) assert.ok(l.zeros >= Math.round(0.75 * l.weights), l.layer);
  const before = sj.subwords.reduce((a: number, l: { subwordsBefore: number }) => a + l.subwordsBefore, 0);
  const afterFt = sj.subwords.reduce((a: number, l: { subwordsAfterFineTune: number }) => a + l.subwordsAfterFineTune, 0);
  assert.ok(afterFt <= 0.62 * before, `${afterFt} of ${before} subwords`);
});

test('compress prune --method packing: the packing mask is held, the rate is reported; subword packing keeps its constraint', () => {
  const src = join(dir, 'magnitude');
  const layers: { layer: string }[] = JSON.parse(readFileSync(join(src, 'result.json'), 'utf8')).layers;
  const classifier = layers[layers.length - 1].layer;
  for (const extra of [[], ['--packing-subwords'], ['--max-pruned-l1', '0.1', '--lossless-layers', classifier]]) {
    const out = join(dir, `packing${extra.length}`);
    const perLayer = extra[0] === '--max-pruned-l1';
    const r = cli(
      'compress',
      'prune',
      '--checkpoint',
      src,
      '--method',
      'packing',
      '--packing',
      'budgeted',
      '--slots-per-group',
      '1',
      '--group-size',
      '8',
      ...tinyPacking,
      '--no-eval-every-epoch',
      '--out',
      out,
      '--json',
      ...extra,
    );
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.packing.subwords, extra[0] === '--packing-subwords');
    assert.ok(j.packing.rate > 1, JSON.stringify(j.packing).slice(0, 200));
    for (const l of j.layers) assert.ok(l.sparsity >= 0.75 - 1e-9, `${l.layer}: ${l.sparsity}`);
    // The fine-tuned packed network on the array, against dense, per layer and in total.
    assert.ok(j.packing.array.throughput > 1 && j.packing.array.energyEfficiency > 0, JSON.stringify(j.packing.array).slice(0, 200));
    assert.equal(j.packing.array.layers.length, j.packing.layers.length);
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /Packed vs dense on the 8×8 array/);
    if (perLayer) {
      assert.equal(j.packing.maxPrunedL1, 0.1);
      for (const l of j.packing.layers) {
        assert.match(l.setting, /^(budgeted g=\d+ k=\d|tight g=\d+|dense \(unpacked\))$/);
        assert.ok(l.prunedL1Share <= 0.1 + 1e-12, `${l.layer}: ${l.prunedL1Share}`);
        if (l.layer === classifier) assert.equal(l.pruned, 0, `${classifier} is lossless`);
      }
      assert.ok(j.packing.pruned > 0, 'the other layers prune within their allowance');
    } else assert.ok(j.packing.pruned > 0);
    if (extra[0] === '--packing-subwords') assert.equal(j.subwordViolations, 0);
    else assert.ok(j.sparsity > 0.75 + 1e-3 || perLayer, 'packing pruned more weights');
  }
  const bad = cli('compress', 'prune', '--checkpoint', src, '--method', 'packing', '--packing', 'columnCombining', '--packing-subwords', '--out', join(dir, 'bad-packing'));
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /packing\.subwords/);
});

test('packing orders: a packing run stores them, later prune runs carry them, a repacking starts from them', () => {
  const packed = join(dir, 'packing0');
  const stored = JSON.parse(readFileSync(join(packed, 'packing-orders.json'), 'utf8'));
  const packedJson = JSON.parse(readFileSync(join(packed, 'result.json'), 'utf8'));
  assert.equal(stored.kind, 'packing-orders');
  assert.deepEqual(
    stored.layers.map((l: { layer: string; columns: string }) => `${l.layer}:${l.columns}`),
    packedJson.packing.layers.map((l: { layer: string }) => `${l.layer}:words`),
  );
  // Subword pruning zeroes more weights: the orders stay valid and are carried.
  const sub = join(dir, 'packing0-sw');
  const s = cli('compress', 'prune', '--checkpoint', packed, '--method', 'subword', '--subword-fraction', '0.3', '--epochs', '1', '--batch-size', '20', '--out', sub, '--json');
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(sub, 'packing-orders.json'), 'utf8')), stored);
  // A lossless repacking finds the held structure from the carried orders: at least the first packing's rate.
  const repack = (extra: string[], out: string) => {
    const r = cli('compress', 'prune', '--checkpoint', sub, '--method', 'packing', '--max-pruned-l1', '0', ...tinyPacking, '--out', join(dir, out), '--json', ...extra);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).packing;
  };
  const warm = repack([], 'repack-warm');
  const cold = repack(['--no-warm-start'], 'repack-cold');
  assert.equal(warm.warmStartLayers, stored.layers.length);
  assert.equal(cold.warmStartLayers, 0);
  assert.equal(warm.pruned, 0);
  assert.ok(warm.rate >= packedJson.packing.rate - 1e-9, `warm ${warm.rate} vs first packing ${packedJson.packing.rate} (cold ${cold.rate})`);
  // Orders for another shape are refused with the file named and the fix.
  const broken = join(dir, 'packing0-broken');
  cpSync(sub, broken, { recursive: true });
  writeFileSync(
    join(broken, 'packing-orders.json'),
    JSON.stringify({ ...stored, layers: stored.layers.map((l: { colOrder: number[] }) => ({ ...l, colOrder: l.colOrder.slice(1) })) }),
  );
  const bad = cli('compress', 'prune', '--checkpoint', broken, '--method', 'packing', '--max-pruned-l1', '0', '--array', '8x8', '--epochs', '1', '--out', join(dir, 'repack-bad'));
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /packing-orders\.json: layer .* --no-warm-start/);
});

test('compress prune --method nm holds N:M; same config and seed, same result', () => {
  const a = cli('compress', 'prune', '--checkpoint', source, '--method', 'nm', '--nm', '1:4', '--epochs', '1', '--batch-size', '20', '--out', join(dir, 'nm1'), '--json');
  assert.equal(a.code, 0, a.stderr);
  const j = JSON.parse(a.stdout);
  for (const l of j.layers) assert.ok(l.sparsity >= 0.7, `${l.layer}: ${l.sparsity}`);
  const b = cli('compress', 'prune', '--config', join(dir, 'nm1', 'config.json'), '--out', join(dir, 'nm2'), '--json');
  assert.equal(b.code, 0, b.stderr);
  const k = JSON.parse(b.stdout);
  assert.equal(k.accuracyAfter, j.accuracyAfter);
  assert.deepEqual(
    k.layers.map((l: { zeros: number }) => l.zeros),
    j.layers.map((l: { zeros: number }) => l.zeros),
  );
});

test('compress prune: bad input is one line on stderr, exit code 2, no run folder', () => {
  const out = join(dir, 'bad');
  for (const args of [
    [],
    ['--checkpoint', join(dir, 'missing')],
    ['--checkpoint', source, '--nm', '3:2'],
    ['--checkpoint', source, '--sparsity', '1.5'],
    ['--checkpoint', source, '--method', 'random'],
    ['--checkpoint', source, '--layers', 'conv9'],
    ['--checkpoint', source, '--method', 'packing', '--lossless-layers', 'dense_1'],
    ['--checkpoint', source, '--method', 'packing', '--max-pruned-l1', '0.1', '--lossless-layers', 'conv9'],
    ['--checkpoint', dir],
  ]) {
    const r = cli('compress', 'prune', ...args, '--out', out);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(out), `${args.join(' ')}: no run folder`);
  }
});

test('compress prune and pack on a residual network (resnet20): batch norm folded through the graph, packing mask held', () => {
  const rn = join(dir, 'rn20');
  const t = cli('train', '--dataset', 'synthetic-rgb', '--model', 'resnet20', '--epochs', '1', '--train-limit', '60', '--test-limit', '20', '--out', rn, '--json');
  assert.equal(t.code, 0, t.stderr);
  const mag = join(dir, 'rn20-mag');
  const m = cli('compress', 'prune', '--checkpoint', rn, '--sparsity', '0.7', '--scope', 'global', '--epochs', '1', '--batch-size', '20', '--out', mag, '--json');
  assert.equal(m.code, 0, m.stderr);
  const out = join(dir, 'rn20-sub');
  const packing = '--method packing --packing budgeted --packing-subwords --array 8x8 --search greedy --epochs 1 --batch-size 20 --no-eval-every-epoch';
  const r = cli('compress', 'prune', '--checkpoint', mag, ...packing.split(' '), '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.foldedBatchNorm, true);
  assert.equal(j.subwordViolations, 0);
  // Every convolution (projections included) and the classifier are packed; the adds are not layers of the format.
  const names = j.packing.layers.map((l: { layer: string }) => l.layer);
  assert.equal(names.length, 22, names.join(','));
  assert.ok(names.includes('conv_s2b1_proj') && names.includes('fc'));
  assert.ok(j.packing.rate > 1 && j.packing.array.throughput > 0);
  // The folded, fine-tuned residual checkpoint packs exactly.
  const pk = cli('compress', 'pack', '--checkpoint', join(out, 'checkpoint'), '--sparsity', '0', '--array', '8x8', '--search', 'greedy', '--json');
  assert.equal(pk.code, 0, pk.stderr);
  assert.equal(JSON.parse(pk.stdout).exact, true);
});
