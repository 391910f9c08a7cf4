#!/usr/bin/env node
/**
 * The `profile-picture` bin (dist/cli.js). Its own entry: the library's entries never load it, and it loads the
 * library only through the app's config module.
 */
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  onInterrupt(handler) {
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
  exit: (exitCode) => process.exit(exitCode),
});
// Exit even when the config left handles open (a database pool, an S3 client): the command is done. Writes to pipes
// and files are synchronous on POSIX, so nothing printed is lost.
process.exit(code);
