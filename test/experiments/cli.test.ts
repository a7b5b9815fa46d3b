/** The train / eval / report / tour commands end to end (small synthetic runs). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const main = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'accelab-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, ACCELAB_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('train --json prints testAccuracy and writes the run folder; eval and report reuse it', () => {
  const out = join(dir, 'run');
  const r = cli(
    'train',
    '--dataset',
    'synthetic-gray',
    '--model',
    'mlp-300-100',
    '--epochs',
    '1',
    '--train-limit',
    '300',
    '--test-limit',
    '100',
    '--batch',
    '32',
    '--seed',
    '3',
    '--out',
    out,
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(typeof j.testAccuracy, 'number');
  assert.equal(Object.keys(j.perClassAccuracy).length, 10);
  assert.equal(j.config.seed, 3);
  for (const f of ['config.json', 'result.json', 'report.html', 'checkpoint/model.json']) assert.ok(existsSync(join(out, f)), f);

  const e = cli('eval', out, '--json');
  assert.equal(e.code, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).testAccuracy, j.testAccuracy);

  const before = readFileSync(join(out, 'report.html'), 'utf8');
  const rep = cli('report', out, '--out', join(dir, 'again'));
  assert.equal(rep.code, 0, rep.stderr);
  const again = readFileSync(join(dir, 'again', 'report.html'), 'utf8');
  const strip = (s: string) =>
    s
      .replace(/Generated [^<]+/, '')
      .replace(/<p class="subtitle">[^<]*<\/p>/, '')
      .replace(/<h1>[^<]*<\/h1>/, '')
      .replace(/<title>[^<]*<\/title>/, '');
  assert.equal(strip(again), strip(before), 'report re-rendered from result.json matches');
});

test('bad input: one line, exit code 2', () => {
  const a = cli('train', '--epochs', 'zero');
  assert.equal(a.code, 2);
  const b = cli('train', '--model', 'resnet99', '--dataset', 'synthetic-gray', '--train-limit', '10');
  assert.equal(b.code, 2);
  assert.match(b.stderr, /^error: .*model/);
  assert.equal(b.stderr.trim().split('\n').length, 1);
  const c = cli('report', join(dir, 'missing'));
  assert.equal(c.code, 2);
  assert.match(c.stderr, /result\.json does not exist/);
  const d = cli('eval', join(dir, 'missing'));
  assert.equal(d.code, 2);
});

test('tour --only engine writes a report and prints its path', () => {
  const out = join(dir, 'tour');
  const r = cli('tour', '--only', 'engine', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /backend wasm/);
  assert.match(r.stdout, new RegExp(`report: ${join(out, 'report.html').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.ok(existsSync(join(out, 'report.html')));
});

test('tour train step: one short epoch of cnn-small, report with the training section', () => {
  const out = join(dir, 'tour-train');
  const r = cli('tour', '--only', 'train', '--train-limit', '256', '--test-limit', '200', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /cnn-small on (fashion-mnist|synthetic-gray): test accuracy/);
  const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(res.kind, 'tour');
  assert.equal(res.steps[0].result.kind, 'train');
  assert.equal(res.steps[0].result.dataset.testCount, 200);
  // Synthetic data is announced in the report's overview.
  if (res.steps[0].result.dataset.name === 'synthetic-gray') assert.equal(res.notices.length, 1);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /Training: cnn-small on/);
  assert.match(html, /Confusion matrix/);
  assert.ok(existsSync(join(out, 'train', 'checkpoint', 'model.json')));
});
