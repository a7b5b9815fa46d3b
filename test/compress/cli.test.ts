/** `accelab compress pack|run` end to end on small synthetic matrices; the network recipe on worker threads. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { runCompress } from '../../src/experiments/compress.js';

const main = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'accelab-compress-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('compress pack --synthetic --json prints the three rates and exact', () => {
  const r = cli('compress', 'pack', '--synthetic', '48x96', '--sparsity', '0.85', '--array', '16x16', '--group-size', '8', '--seed', '3', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of ['columnCombining', 'permutation', 'permutationSubword']) assert.ok(j.rates[k] > 0 && Number.isFinite(j.rates[k]), k);
  assert.equal(j.exact, true);
  assert.equal(j.config.array.cols, 16);
  const again = JSON.parse(cli('compress', 'pack', '--synthetic', '48x96', '--sparsity', '0.85', '--array', '16x16', '--group-size', '8', '--seed', '3', '--json').stdout);
  assert.deepEqual(again.rates, j.rates);
  // The budgeted search keeps its greedy start by default; --budget-search anneal anneals from it (never worse).
  assert.equal(j.config.budgetSearch.method, 'greedy');
  assert.equal(j.layers[0].budgeted.search.moves, 0);
  const annealed = JSON.parse(
    cli('compress', 'pack', '--synthetic', '48x96', '--sparsity', '0.85', '--array', '16x16', '--group-size', '8', '--seed', '3', '--budget-search', 'anneal', '--json').stdout,
  );
  const [g, a] = [j.layers[0].budgeted.search, annealed.layers[0].budgeted.search];
  assert.ok(a.moves > 0 && a.greedyCost === g.greedyCost && a.bestCost <= g.bestCost, JSON.stringify({ g, a }));
  assert.equal(annealed.layers[0].permutation.search.moves, j.layers[0].permutation.search.moves, 'the tight search is unchanged');
});

test('compress pack: bad input is one line and exit code 2', () => {
  for (const args of [
    ['--synthetic', '12by4'],
    ['--array', '0x4'],
    ['--network', 'lenet'],
    ['--synthetic', '8x8', '--network', 'vgg16'],
  ]) {
    const r = cli('compress', 'pack', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('compress run writes a run folder with report; network layers on worker threads match in-process', async () => {
  const out = join(dir, 'run');
  const r = cli('compress', 'run', '--network', 'alexnet', '--layers', 'conv1,conv5', '--array', '32x32', '--search', 'greedy', '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['config.json', 'result.json', 'layers.csv', 'report.html']) assert.ok(existsSync(join(out, f)), f);
  const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(res.kind, 'compress');
  assert.deepEqual(
    res.layers.map((l: { name: string }) => l.name),
    ['conv1', 'conv5'],
  );
  const local = await runCompress(res.config, { inProcess: true });
  assert.deepEqual(local.total, res.total);
  assert.ok(readFileSync(join(out, 'report.html'), 'utf8').includes('Compression'));
});
