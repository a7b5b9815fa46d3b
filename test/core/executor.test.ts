import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Executor, runJobs } from '../../src/core/executor.js';
import { JobError } from '../../src/core/errors.js';

const JOBS = new URL('./fixtures/jobs.js', import.meta.url);

describe('worker-thread executor', () => {
  let ex: Executor;
  before(() => {
    ex = new Executor({ workers: 2, backend: 'wasm' });
  });
  after(async () => {
    await ex.close();
  });

  it('returns results of independent jobs, with typed arrays, on the workers’ own engines', async () => {
    const data = new Float32Array([1, 2, 3, 4.5]);
    const [r1, r2] = await Promise.all([
      ex.run<{ sum: number; jobId: string }>({ id: 'a', module: JOBS, fn: 'add', args: { a: 2, b: 3 } }),
      ex.run<{ sum: number; backend: string; doubled: Float32Array }>({ id: 't', module: JOBS, fn: 'tfSum', args: { data }, transfer: [data.buffer] }),
    ]);
    assert.deepEqual(r1, { sum: 5, jobId: 'a' });
    assert.equal(r2.sum, 10.5);
    assert.equal(r2.backend, 'wasm');
    assert.deepEqual(Array.from(r2.doubled), [2, 4, 6, 9]);
    assert.equal(data.byteLength, 0, 'the argument buffer was transferred');
  });

  it('reports a thrown error as a JobError naming the job, and the worker goes on', async () => {
    await assert.rejects(ex.run({ id: 'bad-1', module: JOBS, fn: 'fail', args: { why: 'test' } }), (e: unknown) => {
      assert.ok(e instanceof JobError);
      assert.equal(e.jobId, 'bad-1');
      assert.match(e.message, /job bad-1: failed on purpose: test/);
      return true;
    });
    await assert.rejects(ex.run({ id: 'nofn', module: JOBS, fn: 'missing' }), /job nofn: .*no exported function 'missing'/);
    assert.equal((await ex.run<{ sum: number }>({ id: 'after', module: JOBS, fn: 'add', args: { a: 1, b: 1 } })).sum, 2);
  });

  it('reports a crashed worker (process.exit, uncaught error) with its job and runs the next job', async () => {
    const outcomes = await ex.runAll([
      { id: 'exit', module: JOBS, fn: 'exitNow' },
      { id: 'uncaught', module: JOBS, fn: 'throwLater' },
      { id: 'ok-1', module: JOBS, fn: 'add', args: { a: 1, b: 2 } },
      { id: 'ok-2', module: JOBS, fn: 'add', args: { a: 3, b: 4 } },
    ]);
    const byId = Object.fromEntries(outcomes.map((o) => [o.id, o]));
    assert.equal(byId.exit.ok, false);
    assert.ok(!byId.exit.ok && /job exit: worker exited with code 3/.test(byId.exit.error.message), JSON.stringify(byId.exit));
    assert.ok(!byId.uncaught.ok && /job uncaught: worker crashed: uncaught in a timer/.test(byId.uncaught.error.message));
    assert.deepEqual(
      outcomes.filter((o) => o.ok).map((o) => o.id),
      ['ok-1', 'ok-2'],
    );
  });

  it('reports a worker that runs out of memory', async () => {
    const out = await runJobs(
      [
        { id: 'oom', module: JOBS, fn: 'hog' },
        { id: 'next', module: JOBS, fn: 'add', args: { a: 1, b: 1 } },
      ],
      { workers: 1, backend: 'none', resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 } },
    );
    assert.ok(!out[0].ok && /job oom: worker crashed: .*memory/i.test(out[0].error.message), JSON.stringify(out[0]));
    assert.ok(out[1].ok);
  });

  it('kills a job that exceeds its timeout and rejects unknown modules', async () => {
    const out = await runJobs(
      [
        { id: 'slow', module: JOBS, fn: 'sleep', args: { ms: 10_000 } },
        { id: 'rel', module: './relative.js', fn: 'x' },
      ],
      { workers: 1, backend: 'none', timeoutMs: 300 },
    );
    assert.ok(!out[0].ok && /job slow: timed out after 300 ms/.test(out[0].error.message));
    assert.ok(!out[1].ok && /absolute path/.test(out[1].error.message));
  });
});
