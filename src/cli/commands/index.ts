/** The subcommands: the application's own, and each study's (src/cli/studies). */
import type { Command } from 'commander';
import { registerStudies } from '../studies/index.js';
import * as data from './data.js';
import * as doctor from './doctor.js';
import * as report from './report.js';
import * as tour from './tour.js';

export function registerCommands(program: Command): void {
  doctor.register(program);
  data.register(program);
  registerStudies(program);
  report.register(program);
  tour.register(program);
}
