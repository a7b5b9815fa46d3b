import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/core/engine.js';
import { AccelabError } from '../../src/core/errors.js';
import { loadModel, readModelMetadata, saveModel } from '../../src/nn/checkpoint.js';
import { countParams, createModel, MODEL_NAMES, ModelNameSchema } from '../../src/nn/models.js';

const shapeFor = (name: string): number[] => (name === 'vgg-small' || name === 'resnet20' ? [32, 32, 3] : [28, 28, 1]);

describe('model zoo', () => {
  before(async () => {
    await initEngine('wasm');
  });

  it('builds every model with the right output shape', () => {
    for (const name of MODEL_NAMES) {
      const m = createModel(name, { inputShape: shapeFor(name), numClasses: 10, seed: 1 });
      assert.deepEqual(m.outputs[0].shape, [null, 10], name);
      const y = tf.tidy(() => (m.predict(tf.zeros([2, ...shapeFor(name)])) as tf.Tensor).shape);
      assert.deepEqual(y, [2, 10]);
      m.dispose();
    }
  });

  it('has the published parameter counts', () => {
    const count = (name: string, shape: number[]) => {
      const m = createModel(name, { inputShape: shape, numClasses: 10, seed: 1 });
      const n = countParams(m);
      m.dispose();
      return n;
    };
    assert.equal(count('mlp-300-100', [28, 28, 1]), 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10);
    // ResNet-20 (option B projections): 0.27 M as in He et al. plus two 1x1 projections with BN.
    const r = count('resnet20', [32, 32, 3]);
    assert.ok(r > 270_000 && r < 280_000, `resnet20 has ${r} trainable parameters`);
    // cnn-small on 28x28x1: 320 + 18496 + 3136*128+128 + 1290
    assert.equal(count('cnn-small', [28, 28, 1]), 320 + 18496 + 3136 * 128 + 128 + 1290);
  });

  it('is seeded: same seed same weights, other seed other weights', () => {
    const w = (seed: number) => {
      const m = createModel('cnn-small', { inputShape: [28, 28, 1], numClasses: 10, seed });
      const v = Array.from(m.getWeights()[0].dataSync());
      m.dispose();
      return v;
    };
    assert.deepEqual(w(3), w(3));
    assert.notDeepEqual(w(3), w(4));
  });

  it('rejects unknown names and bad shapes with a ConfigError', () => {
    assert.throws(
      () => createModel('resnet99', { inputShape: [32, 32, 3], numClasses: 10, seed: 1 }),
      (e: unknown) => e instanceof AccelabError && /resnet99/.test(e.message),
    );
    assert.throws(() => createModel('resnet20', { inputShape: [784], numClasses: 10, seed: 1 }), AccelabError);
    assert.equal(ModelNameSchema.safeParse('cnn-small').success, true);
  });

  it('round-trips through a checkpoint folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'accelab-ckpt-'));
    try {
      for (const name of ['resnet20', 'mlp-300-100'] as const) {
        const m = createModel(name, { inputShape: shapeFor(name), numClasses: 10, seed: 5 });
        const x = tf.randomUniform([3, ...shapeFor(name)], 0, 1, 'float32', 9);
        const before = (m.predict(x) as tf.Tensor).dataSync().slice();
        const sub = join(dir, name);
        await saveModel(m, sub, { modelName: name });
        const m2 = await loadModel(sub);
        const after = (m2.predict(x) as tf.Tensor).dataSync();
        assert.deepEqual(Array.from(after), Array.from(before));
        assert.deepEqual(
          m2.getWeights().map((w) => w.shape),
          m.getWeights().map((w) => w.shape),
        );
        assert.equal(readModelMetadata(sub).modelName, name);
        m.dispose();
        m2.dispose();
        x.dispose();
      }
      await assert.rejects(loadModel(join(dir, 'nothing')), /model\.json is missing/);
      writeFileSync(join(dir, 'mlp-300-100', 'weights.bin'), new Uint8Array(12));
      await assert.rejects(loadModel(join(dir, 'mlp-300-100')), /bytes, the manifest needs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
