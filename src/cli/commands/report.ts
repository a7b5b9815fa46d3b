/** `accelab report <run>`: (re)renders a run folder's report.html from its result.json. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NotFoundError } from '../../core/errors.js';
import { readJson } from '../../core/fsx.js';
import { sectionBuilder } from '../../report/sections/index.js';
import { writeRunReport } from '../run-report.js';
import { SECTIONS } from '../studies/index.js';
import { emit } from '../common.js';
import { type CommonOptions, checkOut, checkOutputFolder, jsonOption, overwriteOption } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('report')
    .description('render a self-contained report.html (inline SVG charts, no scripts) from a run folder')
    .argument('<run>', 'run folder holding result.json (its `kind` picks the sections)')
    .option('--title <text>', 'page title')
    .option('--out <dir>', 'folder to write report.html, figures/ and tables/ into (default: the run folder)')
    .addOption(overwriteOption())
    .addOption(jsonOption());
  cmd.action(async (run: string, o: CommonOptions & { title?: string }) => {
    const dir = resolve(run);
    const resPath = join(dir, 'result.json');
    if (!existsSync(resPath)) throw new NotFoundError(`${resPath} does not exist: pass a run folder written by an accelab command`);
    const result: unknown = readJson(resPath);
    if (typeof result !== 'object' || result === null || typeof (result as { kind?: unknown }).kind !== 'string') {
      throw new NotFoundError(`${resPath} holds no accelab result (no "kind" field): pass a run folder written by an accelab command`);
    }
    sectionBuilder(result, SECTIONS); // a result of no or an unknown kind is bad input (exit 2), not a rendering failure
    const out = resolve(o.out ?? dir);
    if (o.out && out !== dir) checkOut(o);
    else checkOutputFolder(out, 'run folder');
    const written = await writeRunReport(out, result, { title: o.title }, dir);
    if (written) emit(o, written, () => `report ${written.html}\n${written.figures.length} figures (SVG), ${written.tables.length} tables (CSV)`);
  });
}
