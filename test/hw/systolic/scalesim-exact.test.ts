import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { simulateLayerAnalytical } from '../../../src/hw/systolic/analytical.js';
import { parseReport, parseScalesimConfig, parseTopology, scalesimReports } from '../../../src/hw/systolic/scalesim-io.js';
import { fixtures } from './fixture-data.js';

for (const fx of fixtures()) {
  test(`analytical mode reproduces SCALE-Sim v2 on fixture ${fx.name}`, () => {
    const cfg = parseScalesimConfig(readFileSync(fx.cfgFile, 'utf8'), fx.cfgFile);
    const layers = parseTopology(readFileSync(fx.topologyFile, 'utf8'), fx.topologyFile, fx.gemm);
    const results = layers.map((l) => simulateLayerAnalytical(l, cfg, { scalesimCompat: true }));
    const ours = scalesimReports(results);
    for (const [file, text] of Object.entries(fx.reports)) {
      const want = parseReport(text);
      const got = parseReport(ours[file as keyof typeof ours]);
      assert.deepEqual(got.columns, want.columns, `${fx.name}/${file}: columns`);
      assert.equal(got.rows.length, want.rows.length, `${fx.name}/${file}: layer count`);
      want.rows.forEach((w, i) => {
        w.forEach((v, j) => {
          const g = got.rows[i][j];
          const ok = Number.isInteger(v) ? g === v : Math.abs(g - v) <= 1e-12 * Math.max(1, Math.abs(v));
          assert.ok(ok, `${fx.name}/${file} layer ${i} '${want.columns[j]}': ours ${g}, SCALE-Sim ${v}`);
        });
      });
    }
  });
}
