/**
 * Writes a run folder's presentation files: report.html, one SVG per figure (figures/) and one
 * CSV per table (tables/). Every file is written atomically.
 */
import { join } from 'node:path';
import { toCsv, writeFileAtomic } from '../core/fsx.js';
import { renderSvg } from './charts.js';
import { renderHtml, slug } from './html.js';
import { buildDocument } from './sections/index.js';
import type { ReportDocument, ReportSection } from './types.js';

export interface WrittenReport {
  html: string;
  figures: string[];
  tables: string[];
}

function walk(sections: ReportSection[], f: (s: ReportSection) => void): void {
  for (const s of sections) {
    f(s);
    walk(s.subsections ?? [], f);
  }
}

/** Writes report.html plus figures/*.svg and tables/*.csv under `dir`. */
export async function writeReport(dir: string, doc: ReportDocument): Promise<WrittenReport> {
  const figures: string[] = [];
  const tables: string[] = [];
  const used = new Set<string>();
  const name = (base: string, ext: string): string => {
    let n = slug(base);
    for (let k = 2; used.has(`${n}.${ext}`); k++) n = `${slug(base)}-${k}`;
    used.add(`${n}.${ext}`);
    return `${n}.${ext}`;
  };
  const jobs: Promise<void>[] = [];
  walk(doc.sections, (s) => {
    for (const f of s.figures ?? []) {
      const file = join(dir, 'figures', name(`${s.id}-${f.title}`, 'svg'));
      figures.push(file);
      jobs.push(
        renderSvg(f.spec, f.title).then(
          (svg) => writeFileAtomic(file, `<?xml version="1.0" encoding="UTF-8"?>\n${svg.replace('<svg', '<svg width="100%"')}\n`),
          () => undefined,
        ),
      );
    }
    for (const t of s.tables ?? []) {
      const file = join(dir, 'tables', name(`${s.id}-${t.title}`, 'csv'));
      tables.push(file);
      writeFileAtomic(file, toCsv(t.columns, t.rows));
    }
  });
  await Promise.all(jobs);
  const html = join(dir, 'report.html');
  writeFileAtomic(html, await renderHtml(doc));
  return { html, figures, tables };
}

/** Renders the report of a run folder from its result object (sections chosen by `result.kind`). */
export async function writeRunReport(dir: string, result: unknown, opts: { title?: string; subtitle?: string } = {}): Promise<WrittenReport> {
  return writeReport(dir, buildDocument(result, opts));
}
