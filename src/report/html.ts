/**
 * The HTML renderer: a ReportDocument in, one self-contained page out. Inline CSS and inline SVG
 * only: no scripts, no fonts or images from the network, so the file opens anywhere, offline.
 */
import { escapeXml, renderSvg } from './charts.js';
import type { Cell, ReportDocument, ReportFigure, ReportSection, ReportTable } from './types.js';

const esc = escapeXml;

/** Inline text: HTML-escaped, then `code` and **bold** are the only markup recognised. */
export function inline(text: string): string {
  return esc(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

export function formatCell(v: Cell): string {
  if (v === null) return '<span class="muted">–</span>';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
    return String(Number(v.toFixed(4)));
  }
  return inline(v);
}

function renderTable(t: ReportTable, id: string): string {
  const numeric = t.columns.map((_, j) => t.rows.length > 0 && t.rows.every((r) => r[j] === null || typeof r[j] === 'number'));
  const head = t.columns.map((c, j) => `<th${numeric[j] ? ' class="num"' : ''}>${inline(c)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((c, j) => `<td${numeric[j] ? ' class="num"' : ''}>${formatCell(c)}</td>`).join('')}</tr>`).join('\n');
  return `<figure class="table" id="${id}"><figcaption>${inline(t.title)}</figcaption>
<div class="table-scroll"><table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div>${t.note ? `<p class="note">${inline(t.note)}</p>` : ''}</figure>`;
}

async function renderFigure(f: ReportFigure, id: string): Promise<string> {
  let svg: string;
  try {
    svg = await renderSvg(f.spec, f.title);
  } catch (e) {
    svg = `<p class="chart-error">This chart could not be rendered: ${esc((e as Error).message.split('\n')[0])}</p>`;
  }
  return `<figure class="chart${f.wide ? ' wide' : ''}" id="${id}"><figcaption>${inline(f.title)}</figcaption><div class="chart-body">${svg}</div>${
    f.caption ? `<p class="note">${inline(f.caption)}</p>` : ''
  }</figure>`;
}

export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'section'
  );
}

async function renderSection(s: ReportSection, depth: number, ids: Set<string>): Promise<string> {
  const id = uniqueId(s.id || slug(s.title), ids);
  const h = `h${Math.min(depth + 2, 6)}`;
  const parts: string[] = [`<${h} id="${id}">${inline(s.title)}</${h}>`];
  if (s.highlights?.length) {
    parts.push(
      `<div class="tiles">${s.highlights
        .map(
          (t) =>
            `<div class="tile"><div class="tile-label">${inline(t.label)}</div><div class="tile-value${t.value.length > 12 ? ' long' : ''}">${inline(t.value)}</div>${t.hint ? `<div class="tile-hint">${inline(t.hint)}</div>` : ''}</div>`,
        )
        .join('')}</div>`,
    );
  }
  for (const p of s.paragraphs ?? []) parts.push(`<p>${inline(p)}</p>`);
  if (s.figures?.length) {
    const figs = await Promise.all(s.figures.map((f, i) => renderFigure(f, uniqueId(`${id}-fig-${i + 1}`, ids))));
    parts.push(`<div class="figures">${figs.join('\n')}</div>`);
  }
  for (const [i, t] of (s.tables ?? []).entries()) parts.push(renderTable(t, uniqueId(`${id}-table-${i + 1}`, ids)));
  for (const sub of s.subsections ?? []) parts.push(await renderSection(sub, depth + 1, ids));
  return depth === 0 ? `<section class="card">${parts.join('\n')}</section>` : `<section class="sub">${parts.join('\n')}</section>`;
}

function uniqueId(base: string, ids: Set<string>): string {
  let id = slug(base);
  for (let k = 2; ids.has(id); k++) id = `${slug(base)}-${k}`;
  ids.add(id);
  return id;
}

function toc(sections: ReportSection[]): string {
  // Mirrors uniqueId's choices so links match the rendered ids.
  const ids = new Set<string>();
  const walk = (ss: ReportSection[], depth: number): string =>
    `<ol>${ss
      .map((s) => {
        const id = uniqueId(s.id || slug(s.title), ids);
        const inner = reserveInner(s, id, ids);
        const kids =
          depth < 1 && s.subsections?.length
            ? walk(s.subsections, depth + 1)
            : depth === 0 && inner.length
              ? `<ol>${inner.map(([iid, t]) => `<li><a href="#${iid}">${inline(t)}</a></li>`).join('')}</ol>${skipSubs(s.subsections ?? [], ids)}`
              : skipSubs(s.subsections ?? [], ids);
        return `<li><a href="#${id}">${inline(s.title)}</a>${kids}</li>`;
      })
      .join('')}</ol>`;
  return walk(sections, 0);
}

/** Reserves the ids of a section's figures and tables; returns [id, title] pairs. */
function reserveInner(s: ReportSection, id: string, ids: Set<string>): [string, string][] {
  const out: [string, string][] = [];
  for (const [i, f] of (s.figures ?? []).entries()) out.push([uniqueId(`${id}-fig-${i + 1}`, ids), f.title]);
  for (const [i, t] of (s.tables ?? []).entries()) out.push([uniqueId(`${id}-table-${i + 1}`, ids), t.title]);
  return out;
}

function skipSubs(ss: ReportSection[], ids: Set<string>): string {
  for (const s of ss) {
    const id = uniqueId(s.id || slug(s.title), ids);
    reserveInner(s, id, ids);
    skipSubs(s.subsections ?? [], ids);
  }
  return '';
}

export const reportCss = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#101828;--ink2:#344054;--muted:#667085;--line:#eaecf0;--accent:#2563eb;--accent-soft:#eff4ff}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.6 Inter,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header.top{background:linear-gradient(135deg,#1e3a8a,#2563eb);color:#fff;padding:36px 24px 28px}
header.top .inner,main,footer{max-width:1320px;margin:0 auto}
header.top h1{margin:0 0 4px;font-size:28px;line-height:1.25;letter-spacing:-.01em}
header.top .subtitle{margin:0;color:#dbe6ff;font-size:16px;max-width:none}
header.top .meta{margin-top:10px;font-size:13px;opacity:.75}
main{padding:24px;display:grid;grid-template-columns:220px minmax(0,1fr);gap:24px;align-items:start}
nav.toc{position:sticky;top:16px;max-height:calc(100vh - 32px);overflow-y:auto;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px;font-size:14px}
nav.toc h2{font-size:12px;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);margin:0 0 8px}
nav.toc ol{list-style:none;margin:0;padding:0}
nav.toc ol ol{padding-left:12px;font-size:13px;border-left:2px solid var(--line);margin:2px 0 6px}
nav.toc li>a{font-weight:500}
nav.toc ol ol a{font-weight:400;color:var(--muted)}
nav.toc a{display:block;padding:3px 0;color:var(--ink2);text-decoration:none}
nav.toc a:hover{color:var(--accent)}
.content{min-width:0}
section.card{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:22px 26px;margin-bottom:24px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
section.sub{margin-top:22px;padding-top:14px;border-top:1px dashed var(--line)}
h2{font-size:21px;line-height:1.3;margin:0 0 12px;letter-spacing:-.01em}
h3{font-size:17px;margin:0 0 10px}
h4,h5,h6{font-size:15px;margin:0 0 8px}
p{margin:0 0 12px;color:var(--ink2);max-width:78ch}
code{font:13px/1.4 "JetBrains Mono",Menlo,Consolas,monospace;background:#f2f4f7;border-radius:4px;padding:1px 5px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px;margin:4px 0 18px}
.tile{background:var(--accent-soft);border:1px solid #d1e0ff;border-radius:10px;padding:12px 14px}
.tile-label{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:#3538cd}
.tile-value{font-size:24px;font-weight:650;color:#1e3a8a;line-height:1.3;margin-top:2px;font-variant-numeric:tabular-nums}
.tile-value.long{font-size:18px}
.tile-hint{font-size:12px;color:var(--muted)}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:18px;margin:8px 0 18px}
figure{margin:0}
figure.chart.wide{grid-column:1/-1}
figure.chart{border:1px solid var(--line);border-radius:10px;padding:12px 14px;background:#fff}
figcaption{font-weight:600;font-size:14px;margin-bottom:8px;color:var(--ink)}
.chart-body svg{display:block;width:100%;height:auto;margin:0 auto}
.chart-error{color:#b42318;background:#fef3f2;border-radius:6px;padding:8px}
.note{font-size:13px;color:var(--muted);margin:8px 0 0}
figure.table{margin:14px 0 18px}
.table-scroll{overflow-x:auto;border:1px solid var(--line);border-radius:10px}
table{border-collapse:collapse;width:100%;font-size:13.5px;font-variant-numeric:tabular-nums}
th,td{padding:7px 12px;text-align:left;border-bottom:1px solid var(--line);white-space:nowrap}
th{background:#f9fafb;color:var(--ink2);font-weight:600;font-size:12.5px}
tbody tr:last-child td{border-bottom:none}
tbody tr:hover td{background:#fafbff}
td.num,th.num{text-align:right}
.muted{color:var(--muted)}
footer{padding:8px 24px 32px;color:var(--muted);font-size:12.5px}
@media (max-width:860px){main{grid-template-columns:1fr;padding:14px}nav.toc{position:static}section.card{padding:16px}}
@media print{body{background:#fff}nav.toc{display:none}main{display:block}section.card{box-shadow:none;break-inside:avoid}}
`;

/** Renders the whole page. Async because charts are rendered to SVG. */
export async function renderHtml(doc: ReportDocument): Promise<string> {
  const ids = new Set<string>();
  const sections: string[] = [];
  for (const s of doc.sections) sections.push(await renderSection(s, 0, ids));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="accelab">
<title>${esc(doc.title)}</title>
<style>${reportCss}</style>
</head>
<body>
<header class="top"><div class="inner">
<h1>${inline(doc.title)}</h1>
${doc.subtitle ? `<p class="subtitle">${inline(doc.subtitle)}</p>` : ''}
<div class="meta">Generated ${esc(doc.generatedAt)} by accelab</div>
</div></header>
<main>
<nav class="toc" aria-label="Contents"><h2>Contents</h2>${toc(doc.sections)}</nav>
<div class="content">
${sections.join('\n')}
</div>
</main>
<footer>Self-contained report: every chart is inline SVG, no scripts and no network access.</footer>
</body>
</html>
`;
}
