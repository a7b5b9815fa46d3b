#!/usr/bin/env node
/**
 * The `accelab` command. Each subcommand lives in ./commands and registers itself here.
 *
 * Error boundary: every failure ends as one line `error: …` on stderr. Bad input (typed errors with
 * exit code 2, usage errors, missing or unwritable files) exits 2; anything else is an internal fault
 * and exits 1. A stack trace is printed only with ACCELAB_DEBUG=1.
 */
import { Command, CommanderError } from 'commander';
import { isAccelabError } from '../core/errors.js';
import { registerCommands } from './commands/index.js';

/** Node system errors that mean "this path or resource is wrong", i.e. bad input. */
const INPUT_ERRNO = new Set(['ENOENT', 'EACCES', 'EPERM', 'EEXIST', 'EISDIR', 'ENOTDIR', 'EROFS', 'ENOTEMPTY', 'ENAMETOOLONG', 'ELOOP', 'ECONNREFUSED', 'ENOTFOUND']);

const debug = (): boolean => Boolean(process.env.ACCELAB_DEBUG) && process.env.ACCELAB_DEBUG !== '0';
const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

/** Prints one error line (plus the trace with ACCELAB_DEBUG=1) and returns the exit code. */
function report(e: unknown): number {
  if (isAccelabError(e)) {
    process.stderr.write(`error: ${oneLine(e.message)}\n`);
    if (debug()) process.stderr.write(`${e.stack ?? ''}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException & { address?: string };
  if (err?.code && INPUT_ERRNO.has(err.code)) {
    const what = err.path ?? err.address ?? '';
    process.stderr.write(`error: ${what ? `${what}: ` : ''}${oneLine(err.message.replace(/^[A-Z]+: /, ''))}: check the path or service and try again\n`);
    if (debug()) process.stderr.write(`${err.stack ?? ''}\n`);
    return 2;
  }
  const msg = err instanceof Error ? err.message : String(e);
  process.stderr.write(`error: internal fault: ${oneLine(msg)} (rerun with ACCELAB_DEBUG=1 for the trace, and please report it)\n`);
  if (debug()) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
  return 1;
}

let failed = false;
function fail(e: unknown): void {
  if (failed) return;
  failed = true;
  process.exitCode = report(e);
  setImmediate(() => process.exit(process.exitCode ?? 1));
}
process.on('unhandledRejection', fail);
process.on('uncaughtException', fail);

const program = new Command();
program
  .name('accelab')
  .description('Efficient deep learning across the stack: training, FL, fast convolution, compression and accelerator simulators.')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({
    writeErr: (s) => process.stderr.write(s),
    // Commander's messages may carry a second line ("(Did you mean …?)"): keep them to one.
    outputError: (s, write) => write(`${oneLine(s)}\n`),
  });

registerCommands(program);
const applyAll = (c: Command): void => {
  c.exitOverride();
  for (const sub of c.commands) applyAll(sub);
};
applyAll(program);

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" with exit code 0; usage errors were already printed.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    fail(e);
  }
}

await main();
// Worker pools or sockets left open must not keep a finished command alive.
if (!failed) setImmediate(() => process.exit(process.exitCode ?? 0));
