/** The list of subcommands. Each module exports `register(program)`. */
import type { Command } from 'commander';
import * as doctor from './doctor.js';
import * as data from './data.js';
import * as train from './train.js';
import * as evalCmd from './eval.js';
import * as report from './report.js';
import * as tour from './tour.js';
import * as fl from './fl.js';
import * as winograd from './winograd.js';
import * as cim from './cim.js';

export function registerCommands(program: Command): void {
  doctor.register(program);
  data.register(program);
  train.register(program);
  evalCmd.register(program);
  report.register(program);
  tour.register(program);
  fl.register(program);
  winograd.register(program);
  cim.register(program);
}
