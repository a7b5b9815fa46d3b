/** FL configs: every file in configs/fl loads; older run folders' spellings load or fail with one clear line. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readConfigFile } from '../../src/core/config-file.js';
import { ConfigError } from '../../src/core/errors.js';
import { parseFlConfig } from '../../src/fl/config.js';

test('every configs/fl file is a valid config (sweep keys aside)', () => {
  const dir = 'configs/fl';
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const { seeds: _s, variants: _v, models: _m, partitions: _p, executor: _e, ...cfg } = readConfigFile(join(dir, f));
    assert.doesNotThrow(() => parseFlConfig(cfg), f);
  }
});

test("an older config.json with optimizer 'momentum' reads as 'sgd' with its momentum; 'batch' names its new key", () => {
  const c = parseFlConfig({ optimizer: 'momentum', momentum: 0.8 });
  assert.equal(c.optimizer, 'sgd');
  assert.equal(c.momentum, 0.8);
  assert.equal(parseFlConfig({}).optimizer, 'sgd');
  assert.throws(
    () => parseFlConfig({ batch: 16 }),
    (e: unknown) => e instanceof ConfigError && e.message === "fl config: field 'batch' is called 'batchSize': rename it",
  );
  assert.throws(() => parseFlConfig({ optimizer: 'rmsprop' }), /field 'optimizer'/);
});
