/**
 * Every command that writes a run folder writes config.json, and rerunning the command from that
 * config.json (`--config <run>/config.json`) reproduces result.json (timings and machine details
 * aside). Small inputs: synthetic data, tiny models, few rounds.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const MAIN = resolve('dist/src/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'accelab-rerun-'));
after(() => rmSync(root, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res) => {
    const env: Record<string, string | undefined> = { ...process.env, ACCELAB_BACKEND: 'wasm' };
    delete env.ACCELAB_DEBUG;
    const child = spawn(process.execPath, [MAIN, ...args, '--json'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('close', (code) => res({ code, stderr }));
  });
}

/** Fields that measure time or describe the machine, not the result. */
const VOLATILE = /(Ms|ms|Seconds|seconds|PerMinute|PerSecond|At)$|^(date|engine|machine|durationS)$/;

function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !VOLATILE.test(k))
        .map(([k, x]) => [k, stable(x)]),
    );
  return v;
}

const readJson = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));

async function rerunReproduces(name: string, command: string[], args: string[], rerunExtra: string[] = []): Promise<void> {
  const a = join(root, `${name}-a`);
  const b = join(root, `${name}-b`);
  const first = await cli([...command, ...args, '--out', a]);
  assert.equal(first.code, 0, `${name}: first run failed: ${first.stderr}`);
  for (const f of ['config.json', 'result.json']) assert.ok(existsSync(join(a, f)), `${name}: ${f} written`);
  const again = await cli([...command, '--config', join(a, 'config.json'), ...rerunExtra, '--out', b]);
  assert.equal(again.code, 0, `${name}: rerun from config.json failed: ${again.stderr}`);
  assert.deepEqual(readJson(join(b, 'config.json')), readJson(join(a, 'config.json')), `${name}: the rerun's config.json is the same`);
  assert.deepEqual(stable(readJson(join(b, 'result.json'))), stable(readJson(join(a, 'result.json'))), `${name}: the rerun reproduces result.json`);
}

test('train and eval: rerun from config.json reproduces result.json', { timeout: 300_000 }, async () => {
  await rerunReproduces(
    'train',
    ['train'],
    ['--dataset', 'synthetic-gray', '--model', 'mlp-300-100', '--epochs', '1', '--train-limit', '200', '--test-limit', '50', '--seed', '4'],
  );
  await rerunReproduces('eval', ['eval'], [join(root, 'train-a'), '--test-limit', '30', '--batch-size', '16']);
});

test('tour: rerun from config.json reproduces result.json', { timeout: 300_000 }, () =>
  rerunReproduces('tour', ['tour'], ['--only', 'systolic,compress', '--sequential', '--seed', '3']),
);

test('winograd run and train-filters: rerun from config.json reproduces result.json', { timeout: 300_000 }, async () => {
  await rerunReproduces('winograd-run', ['winograd', 'run'], ['--kernels', '3..7', '--seed', '2']);
  await rerunReproduces('winograd-error', ['winograd', 'error'], ['--kernels', '5', '--formats', 'float32,int8', '--size', '8', '--channels', '1']);
  await rerunReproduces(
    'winograd-filters',
    ['winograd', 'train-filters'],
    ['--dataset', 'synthetic-gray', '--kernel', '5', '--train-limit', '100', '--test-limit', '20', '--seed', '3'],
  );
});

test('cim characterize, cost and infer: rerun from config.json reproduces result.json', { timeout: 300_000 }, async () => {
  await rerunReproduces('cim-characterize', ['cim', 'characterize'], ['--rows', '16', '--chips', '1', '--trials', '1', '--no-techniques', '--seed', '5']);
  await rerunReproduces('cim-cost', ['cim', 'cost'], ['--node', '22']);
  const ckpt = join(root, 'cim-model');
  const t = await cli(['train', '--dataset', 'synthetic-gray', '--model', 'mlp-300-100', '--epochs', '1', '--train-limit', '300', '--test-limit', '40', '--out', ckpt]);
  assert.equal(t.code, 0, t.stderr);
  await rerunReproduces(
    'cim-infer',
    ['cim', 'infer'],
    ['--checkpoint', ckpt, '--test-limit', '20', '--sweep-limit', '10', '--noise-levels', '1', '--train-limit', '200', '--boost', '4'],
  );
});

test('fl run, compare and consistency: rerun from config.json reproduces result.json', { timeout: 300_000 }, async () => {
  const small = ['--dataset', 'fl-blobs', '--model', 'fl-mlp', '--clients', '3', '--train-limit', '600', '--test-limit', '100', '--executor', 'inprocess'];
  const ex = ['--executor', 'inprocess'];
  await rerunReproduces('fl-run', ['fl', 'run'], [...small, '--rounds', '2', '--seed', '2'], ex);
  await rerunReproduces('fl-compare', ['fl', 'compare'], [...small, '--rounds', '3', '--warmup-rounds', '2', '--expert-rounds', '1', '--seeds', '1'], ex);
  const cons = small.filter((_, i) => small[i] !== '--model' && small[i - 1] !== '--model');
  await rerunReproduces('fl-consistency', ['fl', 'consistency'], [...cons, '--models', 'fl-mlp', '--rounds', '2', '--seeds', '1,2'], ex);
});

test('systolic run and sweep, compress pack and run: rerun from config.json reproduces result.json', { timeout: 300_000 }, async () => {
  const net = ['--model', 'lenet5', '--input-shape', '28x28x1'];
  await rerunReproduces('systolic-run', ['systolic', 'run'], [...net, '--mode', 'cycle', '--verify', '--seed', '3']);
  await rerunReproduces('systolic-sweep', ['systolic', 'sweep'], [...net, '--arrays', '8x8,16x16', '--dataflows', 'os,ws', '--sram-kb', '16', '--workers', '1']);
  await rerunReproduces('compress-pack', ['compress', 'pack'], ['--synthetic', '64x96', '--sparsity', '0.8', '--search', 'greedy', '--workers', '1', '--seed', '2']);
  await rerunReproduces('compress-run', ['compress', 'run'], ['--network', 'alexnet', '--layers', 'conv3', '--keep-density', '--search', 'identity', '--workers', '1']);
});

test('sparsenn train and simulate, rram run and sweep: rerun from config.json reproduces result.json', { timeout: 600_000 }, async () => {
  await rerunReproduces(
    'sparsenn-train',
    ['sparsenn', 'train'],
    ['--dataset', 'synthetic-gray', '--pretrain-epochs', '1', '--epochs', '1', '--train-limit', '200', '--test-limit', '20', '--seed', '2'],
  );
  await rerunReproduces('sparsenn-simulate', ['sparsenn', 'simulate'], ['--checkpoint', join(root, 'sparsenn-train-a'), '--test-limit', '10', '--pes', '8', '--pe-sweep', '4']);
  const ckpt = join(root, 'rram-model');
  const t = await cli(['train', '--dataset', 'synthetic-gray', '--model', 'mlp-300-100', '--epochs', '1', '--train-limit', '200', '--test-limit', '40', '--out', ckpt]);
  assert.equal(t.code, 0, t.stderr);
  const small = ['--checkpoint', ckpt, '--test-limit', '20', '--held-out', '20', '--workers', '1'];
  await rerunReproduces('rram-run', ['rram', 'run'], [...small, '--termination', 'adaptive', '--budget', '1']);
  await rerunReproduces('rram-sweep', ['rram', 'sweep'], [...small, '--budgets', '0.5', '--spreads', '0.05']);
});
