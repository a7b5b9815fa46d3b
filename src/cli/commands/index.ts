/** The list of subcommands. Each module exports `register(program)`. */
import type { Command } from 'commander';
import * as doctor from './doctor.js';

export function registerCommands(program: Command): void {
  doctor.register(program);
}
