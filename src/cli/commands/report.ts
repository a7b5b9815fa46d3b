/** `accelab report <run>`: (re)renders a run folder's report.html from its result.json. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NotFoundError } from '../../core/errors.js';
import { readJson } from '../../core/fsx.js';
import { buildDocument } from '../../report/sections/index.js';
import { writeReport } from '../../report/write.js';
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
    const out = resolve(o.out ?? dir);
    const written = await writeReport(out, buildDocument(result, { title: o.title }));
    emit(o, written, () => `report ${written.html}\n${written.figures.length} figures (SVG), ${written.tables.length} tables (CSV)`);
  });
}
