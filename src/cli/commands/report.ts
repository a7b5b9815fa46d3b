/** `accelab report <run>`: (re)renders a run folder's report.html from its result.json. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NotFoundError } from '../../core/errors.js';
import { readJson } from '../../core/fsx.js';
import { sectionBuilder } from '../../report/sections/index.js';
import { writeRunReport } from '../run-report.js';
import { SECTIONS } from '../studies/index.js';
import { type CommonOptions, emit, withCommon } from '../common.js';

export function register(program: Command): void {
  const cmd = program
    .command('report')
    .description('render a self-contained report.html (inline SVG charts, no scripts) from a run folder')
    .argument('<run>', 'run folder holding result.json (its `kind` picks the sections)')
    .option('--title <text>', 'page title');
  withCommon(cmd, { seed: false, backend: false }).action(async (run: string, o: CommonOptions & { title?: string }) => {
    const dir = resolve(run);
    const resPath = join(dir, 'result.json');
    if (!existsSync(resPath)) throw new NotFoundError(`${resPath} does not exist: pass a run folder written by an accelab command`);
    let result: unknown;
    try {
      result = readJson(resPath);
    } catch (e) {
      throw new NotFoundError(`${resPath} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
    }
    sectionBuilder(result, SECTIONS); // a result of no or an unknown kind is bad input (exit 2), not a rendering failure
    const out = resolve(o.out ?? dir);
    const written = await writeRunReport(out, result, { title: o.title }, dir);
    if (written) emit(o, written, () => `report ${written.html}\n${written.figures.length} figures (SVG), ${written.tables.length} tables (CSV)`);
  });
}
