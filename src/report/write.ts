/**
 * Writes a run folder's presentation files: report.html, one SVG per figure (figures/) and one
 * CSV per table (tables/). Every file is written atomically. A figure that cannot be rendered gets
 * a note in its place in the page and no SVG file, and is named in `failedFigures`; any other
 * failure rejects. What a command does then is the CLI's one policy (src/cli/run-report.ts).
 */
import { join } from 'node:path';
import { toCsv, writeFileAtomic } from '../core/fsx.js';
import { renderSvg } from './charts.js';
import { renderHtml, slug } from './html.js';
import type { ReportDocument, ReportSection } from './types.js';

export interface WrittenReport {
  html: string;
  figures: string[];
  tables: string[];
  /** Figures that could not be rendered: `<title>: <first line of the error>`. */
  failedFigures: string[];
}

function walk(sections: ReportSection[], f: (s: ReportSection) => void): void {
  for (const s of sections) {
    f(s);
    walk(s.subsections ?? [], f);
  }
}

/** Writes report.html plus figures/*.svg and tables/*.csv under `dir`. */
export async function writeReport(dir: string, doc: ReportDocument): Promise<WrittenReport> {
  const slots: (string | null)[] = [];
  const tables: string[] = [];
  const failedFigures: string[] = [];
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
      const slot = slots.push(null) - 1;
      jobs.push(
        renderSvg(f.spec, f.title).then(
          (svg) => {
            writeFileAtomic(file, `<?xml version="1.0" encoding="UTF-8"?>\n${svg.replace('<svg', '<svg width="100%"')}\n`);
            slots[slot] = file;
          },
          (e: unknown) => {
            failedFigures.push(`${f.title}: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
          },
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
  return { html, figures: slots.filter((f): f is string => f !== null), tables, failedFigures };
}
