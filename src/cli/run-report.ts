/**
 * The report-failure policy, the same for every command that writes a report:
 *
 * results first, report second. A command writes result.json (and its CSV tables) before it
 * renders report.html. When rendering fails, or a figure cannot be drawn (the page then shows a note
 * in its place), the results stay on disk, the command prints ONE warning line on stderr saying what
 * failed and how to retry (`accelab report <dir>`), finishes its normal output, and exits with code 1
 * so that scripts notice.
 */
import { buildDocument } from '../report/sections/index.js';
import type { ReportDocument } from '../report/types.js';
import { type WrittenReport, writeReport } from '../report/write.js';

export interface RunReportOptions {
  title?: string;
  subtitle?: string;
}

/** One line for a failure (the message's first line). */
const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0];

/**
 * Renders `result`'s report into `dir` (sections chosen by `result.kind`) under the policy above.
 * Returns what was written, or null when report.html could not be written.
 */
export async function writeRunReport(dir: string, result: unknown, opts: RunReportOptions = {}, retryFrom: string = dir): Promise<WrittenReport | null> {
  // Imported here, not at the top: the registry imports the commands, which import this module.
  const { SECTIONS } = await import('./studies/index.js');
  let doc: ReportDocument;
  let written: WrittenReport;
  try {
    doc = buildDocument(result, SECTIONS, opts);
    written = await writeReport(dir, doc);
  } catch (e) {
    process.stderr.write(`warning: report.html not written (${firstLine(e)}); the results are in ${retryFrom}: retry with \`accelab report ${retryFrom}\`\n`);
    process.exitCode = 1;
    return null;
  }
  if (written.failedFigures.length > 0) {
    const n = written.failedFigures.length;
    process.stderr.write(
      `warning: ${n} figure${n > 1 ? 's' : ''} of ${written.html} could not be rendered (${written.failedFigures[0]}${n > 1 ? '; …' : ''}); the page shows a note in place${n > 1 ? ' of each' : ''}: retry with \`accelab report ${retryFrom}\`\n`,
    );
    process.exitCode = 1;
  }
  return written;
}
