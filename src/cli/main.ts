#!/usr/bin/env node
/** The `accelab` command. Each subcommand lives in ./commands and registers itself here. */
import { Command, CommanderError } from 'commander';
import { isAccelabError } from '../core/errors.js';
import { registerCommands } from './commands/index.js';

const program = new Command();
program
  .name('accelab')
  .description('Efficient deep learning across the stack: training, FL, fast convolution, compression and accelerator simulators.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerCommands(program);
for (const c of program.commands) c.exitOverride();

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" with exit code 0; usage errors were already printed.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isAccelabError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    const err = e as Error;
    process.stderr.write(`error: ${err?.message ?? String(e)}\n`);
    if (process.env.ACCELAB_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    process.exitCode = 1;
  }
}

await main();
// Worker pools or sockets left open must not keep a finished command alive.
setImmediate(() => process.exit(process.exitCode ?? 0));
