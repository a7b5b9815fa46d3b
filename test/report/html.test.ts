import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { barSpec, heatmapSpec, lineSpec, renderSvg } from '../../src/report/charts.js';
import { formatCell, inline, renderHtml } from '../../src/report/html.js';
import { SECTIONS } from '../../src/cli/studies/index.js';
import { buildDocument, buildSections } from '../../src/report/sections/index.js';
import type { ReportDocument } from '../../src/report/types.js';
import { writeReport } from '../../src/report/write.js';
import { fakeTrainResult } from './fixtures.js';

test('renderSvg gives a scalable SVG with marks and a title', async () => {
  const svg = await renderSvg(
    lineSpec(
      [
        { x: 1, y: 2 },
        { x: 2, y: 3 },
        { x: 3, y: 1 },
      ],
      { x: 'x', y: 'y' },
    ),
    'A <line> & more',
  );
  assert.match(svg, /^<svg[^>]*viewBox="0 0 [\d.]+ [\d.]+"/);
  assert.doesNotMatch(svg.slice(0, svg.indexOf('>')), /\swidth="/);
  assert.match(svg, /<title>A &lt;line&gt; &amp; more<\/title>/);
  assert.match(svg, /class="mark-line/);
  const bars = await renderSvg(
    barSpec(
      [
        { c: 'a', v: 0.5 },
        { c: 'b', v: 0.9 },
      ],
      { category: 'c', value: 'v' },
    ),
  );
  assert.equal((bars.match(/<path[^>]*aria-roledescription="bar"/g) ?? []).length, 2);
  const heat = await renderSvg(
    heatmapSpec(
      [
        { r: 'a', c: 'a', v: 1 },
        { r: 'a', c: 'b', v: 0 },
      ],
      { row: 'r', column: 'c', value: 'v' },
    ),
  );
  assert.match(heat, /class="mark-rect/);
});

test('inline markup is escaped except code and bold', () => {
  assert.equal(inline('<b>x</b> `a<b` **y**'), '&lt;b&gt;x&lt;/b&gt; <code>a&lt;b</code> <strong>y</strong>');
  assert.equal(formatCell(1234567), '1,234,567');
  assert.equal(formatCell(0.123456), '0.1235');
  assert.equal(formatCell(null), '<span class="muted">–</span>');
  assert.equal(formatCell(true), 'yes');
});

test('the page is self-contained and its table of contents points at real ids', async () => {
  const doc: ReportDocument = {
    title: 'T <1>',
    generatedAt: '2026-01-01T00:00:00Z',
    sections: [
      {
        id: 'a',
        title: 'Alpha',
        paragraphs: ['p1'],
        tables: [
          {
            title: 'Tab',
            columns: ['x', 'y'],
            rows: [
              ['a', 1],
              ['b', null],
            ],
          },
        ],
      },
      { id: 'a', title: 'Alpha again', subsections: [{ id: 'sub', title: 'Sub', highlights: [{ label: 'L', value: '42 %' }] }] },
      {
        id: 'c',
        title: 'Chart',
        figures: [
          { title: 'F', spec: lineSpec([{ x: 1, y: 1 }], { x: 'x', y: 'y' }) },
          { title: 'Broken', spec: { mark: 'nope' } },
        ],
      },
    ],
  };
  const html = await renderHtml(doc);
  assert.match(html, /<title>T &lt;1&gt;<\/title>/);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<link\b/i);
  // The only URLs are SVG namespaces.
  for (const url of html.match(/https?:\/\/[^\s"')]+/g) ?? []) assert.match(url, /^http:\/\/www\.w3\.org\//);
  const hrefs = [...html.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]);
  const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
  assert.ok(hrefs.length >= 5);
  for (const h of hrefs) assert.ok(ids.has(h), `TOC link #${h} has a target`);
  assert.ok(ids.has('a') && ids.has('a-2'), 'duplicate section ids are made unique');
  assert.match(html, /class="chart-error"/, 'a broken spec shows a notice instead of failing the page');
  assert.match(html, /<td class="num">1<\/td>/);
});

test('train section: highlights, four charts, per-class and confusion tables', () => {
  const r = fakeTrainResult(3);
  const [s] = buildSections(r, SECTIONS);
  assert.equal(s.highlights?.[0].value, `${(100 * r.testAccuracy).toFixed(2)} %`);
  const titles = s.figures?.map((f) => f.title) ?? [];
  for (const t of ['Loss per epoch', 'Accuracy per epoch', 'Per-class test accuracy', 'Confusion matrix (test set)']) assert.ok(titles.includes(t), t);
  const perClass = s.tables?.find((t) => t.title === 'Per-class test accuracy');
  assert.equal(perClass?.rows.length, 10);
  assert.equal(s.highlights?.[2].value, 'Shirt', 'the weak class of the fixture is the weakest');
  const conf = s.tables?.find((t) => t.title === 'Most frequent confusions');
  assert.deepEqual(conf?.rows[0].slice(0, 2), ['Shirt', 'Sneaker']);
  // One epoch: the curves come from the within-epoch training curve instead.
  const [one] = buildSections(fakeTrainResult(1), SECTIONS);
  assert.ok(one.figures?.some((f) => f.title === 'Training loss during training'));
});

test('registry: unknown kinds and kind-less results are named errors', () => {
  assert.ok('train' in SECTIONS && 'tour' in SECTIONS && 'eval' in SECTIONS);
  assert.throws(() => buildSections({ kind: 'nope' }, SECTIONS), /no report section for result kind 'nope'/);
  assert.throws(() => buildSections({}, SECTIONS), /no 'kind' field/);
});

test('writeReport writes report.html, one SVG per figure and one CSV per table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'accelab-report-'));
  try {
    const r = fakeTrainResult(2);
    writeFileSync(join(dir, 'result.json'), JSON.stringify(r));
    const w = await writeReport(dir, buildDocument(r, SECTIONS));
    assert.ok(existsSync(w.html));
    const svgs = readdirSync(join(dir, 'figures'));
    const csvs = readdirSync(join(dir, 'tables'));
    assert.equal(svgs.length, w.figures.length);
    assert.equal(csvs.length, w.tables.length);
    assert.ok(svgs.length >= 4 && csvs.length >= 3);
    for (const f of svgs) assert.match(readFileSync(join(dir, 'figures', f), 'utf8'), /^<\?xml[^>]*>\n<svg/);
    const perClass = readFileSync(join(dir, 'tables', csvs.find((c) => c.includes('per-class')) as string), 'utf8').split('\n');
    assert.equal(perClass[0], 'class,name,correct,support,accuracy,weakest');
    assert.equal(perClass.length, 12);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run evaluated only after its last epoch still renders every chart', async () => {
  const r = fakeTrainResult(3);
  for (const e of r.epochs.slice(0, 2)) Object.assign(e, { testLoss: null, testAccuracy: null, perClassAccuracy: null, interClassDiscrepancy: null, confusion: null });
  const html = await renderHtml(buildDocument(r, SECTIONS));
  assert.doesNotMatch(html, /class="chart-error"/);
  assert.match(html, /Confusion matrix/);
  assert.doesNotMatch(html, /Per-class test accuracy per epoch/);
});

test('a figure that cannot be rendered: a note in the page, no SVG file, named in failedFigures', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'accelab-figfail-'));
  try {
    const doc: ReportDocument = {
      title: 't',
      generatedAt: '2026-01-01T00:00:00Z',
      sections: [
        {
          id: 's',
          title: 'S',
          figures: [
            { title: 'bad', spec: { mark: 'nonsense', data: { values: [] } } },
            {
              title: 'good',
              spec: { mark: 'point', data: { values: [{ a: 1, b: 2 }] }, encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } } },
            },
          ],
        },
      ],
    };
    const w = await writeReport(dir, doc);
    assert.deepEqual(w.figures, [join(dir, 'figures', 's-good.svg')]);
    assert.equal(w.failedFigures.length, 1);
    assert.match(w.failedFigures[0], /^bad: /);
    assert.deepEqual(readdirSync(join(dir, 'figures')), ['s-good.svg']);
    assert.match(readFileSync(w.html, 'utf8'), /class="chart-error">This chart could not be rendered/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
