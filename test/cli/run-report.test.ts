/** The report-failure policy (src/cli/run-report.ts) and the tour's per-step summaries, end to end. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const main = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'accelab-run-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, ACCELAB_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runFolder(name: string, result: unknown): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'result.json'), JSON.stringify(result));
  return d;
}

test('a report that fails to render: results kept, one warning line naming the retry, exit code 1', () => {
  const d = runFolder('broken', { kind: 'winograd' });
  const r = cli('report', d);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^warning: report\.html not written \(.+\); the results are in .+: retry with `accelab report .+`$/);
  assert.ok(existsSync(join(d, 'result.json')));
  assert.ok(!existsSync(join(d, 'report.html')));
});

test('a result of an unknown kind is bad input for `accelab report`: one error line, exit code 2', () => {
  const r = cli('report', runFolder('unknown', { kind: 'nope' }));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: no report section for result kind 'nope': known kinds are .*winograd/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('the tour prints each step’s one-line summary after its title', () => {
  const r = cli('tour', '--only', 'engine,winograd', '--out', join(dir, 'tour'));
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const i = lines.findIndex((l) => l.includes('Fast convolution'));
  assert.ok(i >= 0, r.stdout);
  assert.match(lines[i + 1], /^ {2}OLA\/nested multiplications 1\.44× at 5×5 \(paper 1\.41×\)/);
  assert.match(lines[1], /^ {2}backend wasm/);
});
