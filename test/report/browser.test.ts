/**
 * Opens a generated report in headless Chromium (Debian `chromium`, driven by playwright-core):
 * the charts rendered (SVGs with marks, non-zero size), no console errors, and a screenshot is
 * saved to $ACCELAB_TEST_OUTPUT (default: <tmp>/accelab-test-output/report.png).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { SECTIONS } from '../../src/cli/studies/index.js';
import { buildDocument } from '../../src/report/sections/index.js';
import { writeReport } from '../../src/report/write.js';
import { fakeTrainResult } from './fixtures.js';

const CHROMIUM = process.env.ACCELAB_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set ACCELAB_CHROMIUM`;

test('the report renders in headless Chromium: charts drawn, no console errors, screenshot saved', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'accelab-browser-'));
  const outDir = process.env.ACCELAB_TEST_OUTPUT ?? join(tmpdir(), 'accelab-test-output');
  mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const r = fakeTrainResult(3);
    const { html } = await writeReport(dir, buildDocument(r, SECTIONS));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (req) => {
      if (!req.url().startsWith('file:')) requests.push(req.url());
    });
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          title: f.querySelector('figcaption')?.textContent ?? '',
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: svg ? svg.querySelectorAll('path, rect, line, text').length : 0,
          dataMarks: svg ? svg.querySelectorAll('.mark-line path, .mark-rect path, .mark-symbol path, .mark-rect rect, [aria-roledescription="bar"]').length : 0,
        };
      }),
    );
    assert.ok(charts.length >= 5, `expected ≥ 5 charts, found ${charts.length}`);
    for (const c of charts) {
      assert.ok(c.width > 100 && c.height > 50, `chart '${c.title}' has size ${c.width}×${c.height}`);
      assert.ok(c.dataMarks > 0, `chart '${c.title}' has data marks`);
    }
    const heat = charts.find((c) => c.title.startsWith('Confusion matrix'));
    assert.ok(heat && heat.dataMarks >= 100, 'the confusion heatmap draws one cell per class pair');
    const tocTargets = await page.$$eval('nav.toc a', (as) => as.map((a) => a.ownerDocument.getElementById((a.getAttribute('href') ?? '').slice(1)) !== null));
    assert.ok(tocTargets.length > 0 && tocTargets.every(Boolean), 'every TOC link has a target');
    assert.equal((await page.$$('.chart-error')).length, 0);
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [], 'the page makes no network requests');
    const shot = join(outDir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000);
    t.diagnostic(`screenshot: ${shot}`);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
