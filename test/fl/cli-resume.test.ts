/**
 * Resume through the CLI: a `fl run` killed with SIGKILL mid-run and restarted with `--resume`
 * ends with the same final model as an uninterrupted run; resuming with another config is a
 * one-line error with exit code 2. Tiny synthetic data ('fl-blobs'), in-process, cpu backend.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const skip = existsSync(cli) ? false : `${cli} not found: build first (npx tsc -p tsconfig.json)`;

const ROUNDS = 10;
/** 3 warm-up rounds, one weak group's expert for 2 rounds, then 7 PKD rounds; ~0.3 s per round on one core. */
const args = (out: string, extra: string[] = []): string[] => [
  cli,
  'fl',
  'run',
  '--dataset',
  'fl-blobs',
  '--model',
  'fl-mlp',
  '--method',
  'pkd',
  '--clients',
  '4',
  '--rounds',
  String(ROUNDS),
  '--warmup-rounds',
  '3',
  '--expert-rounds',
  '2',
  '--train-limit',
  '4000',
  '--test-limit',
  '400',
  '--batch-size',
  '16',
  '--lr',
  '0.05',
  '--seed',
  '3',
  '--executor',
  'inprocess',
  '--backend',
  'cpu',
  '--json',
  '--out',
  out,
  ...extra,
];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(argv: string[]): { child: ChildProcess; done: Promise<Exit> } {
  const env = { ...process.env };
  delete env.ACCELAB_DEBUG;
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const done = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** The global rounds recorded in a run folder's checkpoint (0 while there is none or it is being replaced). */
function roundsDone(out: string): number {
  try {
    const s = JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8')) as { globalRound?: unknown };
    return typeof s.globalRound === 'number' ? s.globalRound : 0;
  } catch {
    return 0;
  }
}

function fingerprintOf(e: Exit, out: string): string {
  const printed = JSON.parse(e.stdout) as { finalFingerprint?: unknown };
  const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { finalFingerprint?: unknown; rounds?: unknown[] };
  assert.equal(typeof printed.finalFingerprint, 'string');
  assert.equal(saved.finalFingerprint, printed.finalFingerprint, 'the --json output and result.json agree');
  assert.equal(saved.rounds?.length, ROUNDS);
  return printed.finalFingerprint as string;
}

test('fl run killed with SIGKILL resumes with --resume to the same final model; another config is refused', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'accelab-fl-cli-resume-'));
  try {
    // (1) Uninterrupted reference run.
    const a = join(dir, 'a');
    const ra = await start(args(a)).done;
    assert.equal(ra.code, 0, `reference run failed: ${ra.stderr}`);
    const reference = fingerprintOf(ra, a);

    // (2) Same command, killed once the checkpoint shows 5 global rounds (warm-up and expert done,
    // 2 PKD rounds in): the resumed run must also restore the expert from the checkpoint.
    const b = join(dir, 'b');
    const killAt = 5;
    const run = start(args(b));
    let exited = false;
    void run.done.then(() => {
      exited = true;
    });
    while (!exited && roundsDone(b) < killAt) await sleep(20);
    if (exited) assert.fail(`the run ended before it could be killed at round ${killAt} (raise --train-limit): ${(await run.done).stderr.slice(-500)}`);
    run.child.kill('SIGKILL');
    const rb = await run.done;
    assert.equal(rb.signal, 'SIGKILL', `exit code ${rb.code} signal ${rb.signal}, checkpoint at round ${roundsDone(b)}; stderr: ${rb.stderr.slice(-500)}`);
    const at = roundsDone(b);
    assert.ok(at >= killAt && at < ROUNDS, `killed mid-run (checkpoint at round ${at} of ${ROUNDS}); if it finished, raise --train-limit`);
    assert.ok(!existsSync(join(b, 'result.json')), 'no result.json from the killed run');

    // (3a) Resuming with a different config is refused: exit code 2, one line on stderr, no stack trace.
    const wrong = await start(args(b, ['--resume', '--lr', '0.06'])).done;
    assert.equal(wrong.code, 2, `exit code ${wrong.code}; stderr: ${wrong.stderr}`);
    const lines = wrong.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line on stderr, got:\n${wrong.stderr}`);
    assert.match(lines[0], /^error: .*different config/);
    assert.doesNotMatch(wrong.stderr, /\n\s+at /);
    assert.equal(wrong.stdout, '');
    assert.equal(roundsDone(b), at, 'the refused resume left the checkpoint alone');
    const lrAfter = (JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')) as { lr?: unknown }).lr;
    await t.test('the refused resume leaves config.json (which its error message points to) alone', () => {
      assert.equal(lrAfter, 0.05);
    });

    // (3b) Resuming with the same config finishes with the reference model.
    const rc = await start(args(b, ['--resume'])).done;
    assert.equal(rc.code, 0, `resume failed: ${rc.stderr}`);
    assert.equal(fingerprintOf(rc, b), reference, 'resumed run ends with the same weights as the uninterrupted one');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
