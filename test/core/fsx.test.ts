/** Run folders built atomically (RunDir), and path checks that fail fast instead of hanging. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, NotFoundError } from '../../src/core/errors.js';
import { checkRunTarget, ensureDir, readJson, RunDir } from '../../src/core/fsx.js';

const root = mkdtempSync(join(tmpdir(), 'accelab-fsx-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a run folder appears only on commit; discard leaves nothing', () => {
  const dir = join(root, 'runs', 'a');
  const run = RunDir.open(dir);
  writeFileSync(join(run.staging, 'result.json'), '{}');
  assert.ok(!existsSync(dir), 'nothing at --out before commit');
  assert.equal(run.commit(), dir);
  assert.deepEqual(readdirSync(dir), ['result.json']);
  assert.deepEqual(readdirSync(join(root, 'runs')), ['a'], 'no staging folder left');

  const failed = RunDir.open(join(root, 'runs', 'b'));
  writeFileSync(join(failed.staging, 'config.json'), '{}');
  failed.discard();
  assert.deepEqual(readdirSync(join(root, 'runs')), ['a']);
});

test('an existing non-empty run folder is refused, and replaced with overwrite only on commit', () => {
  const dir = join(root, 'existing');
  mkdirSync(dir);
  writeFileSync(join(dir, 'result.json'), 'old');
  assert.throws(
    () => RunDir.open(dir),
    (e: unknown) => e instanceof ConfigError && /already holds files.*--overwrite/.test(e.message),
  );
  const run = RunDir.open(dir, { overwrite: true });
  writeFileSync(join(run.staging, 'result.json'), 'new');
  assert.equal(readFileSync(join(dir, 'result.json'), 'utf8'), 'old', 'the old run stays until the new one is complete');
  run.commit();
  assert.equal(readFileSync(join(dir, 'result.json'), 'utf8'), 'new');
  assert.equal(readdirSync(root).filter((n) => n.startsWith('.')).length, 0, 'no staging or old folder left');
  // An empty folder is fine without --overwrite.
  mkdirSync(join(root, 'empty'));
  RunDir.open(join(root, 'empty')).commit();
});

test('paths that cannot become folders fail at once with one ConfigError (no hang on /proc)', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(() => checkRunTarget(file), /is a file/);
  assert.throws(() => checkRunTarget(join(file, 'sub')), /is a file, not a folder/);
  assert.throws(() => checkRunTarget('/proc/accelab-test/x'), /\/proc/);
  assert.throws(() => ensureDir('/proc/accelab-test/x'), ConfigError);
  ensureDir(join(root, 'deep', 'er', 'est'));
  assert.ok(existsSync(join(root, 'deep', 'er', 'est')));
});

test('staging folders of processes that no longer run are removed by the next run', () => {
  const stale = join(root, '.stale-run.partial-999999999-x');
  mkdirSync(stale);
  RunDir.open(join(root, 'stale-run')).discard();
  assert.ok(!existsSync(stale));
});

test('readJson names the file when it is missing, a folder or not JSON', () => {
  assert.throws(
    () => readJson(join(root, 'nope.json')),
    (e: unknown) => e instanceof NotFoundError && /nope\.json does not exist/.test(e.message),
  );
  assert.throws(() => readJson(root), /is a folder/);
  writeFileSync(join(root, 'bad.json'), '{ oops');
  assert.throws(() => readJson(join(root, 'bad.json')), /bad\.json is not valid JSON/);
});
