/**
 * The runner: picks the command, parses its options with `node:util` `parseArgs`, loads the service, runs the
 * command and prints its result — plain lines, or JSON with `--json` — and turns the outcome into an exit code:
 * 0 done, 1 something failed, 2 usage error (with a one-line hint), 130 stopped by Ctrl-C.
 *
 * Ctrl-C: the first one aborts the command's signal, so an abortable command (one that has work it can stop
 * between items) finishes what it holds and reports; a second one exits at once. A command that is not abortable
 * exits on the first.
 */
import { parseArgs } from 'node:util';
import type { ProfilePictures } from '../index.js';
import { UsageError, type Command, type CommandOutcome } from './command.js';
import { COMMANDS } from './commands/index.js';
import { loadService } from './config.js';
import { BIN, GLOBAL_OPTIONS, commandHelp, globalHelp, helpHint } from './help.js';
import { createCounter, createProgress, type ProgressStream } from './progress.js';

/** Where the CLI reads and writes; the real process's streams in `main.ts`. */
export interface CliIo {
  stdout: ProgressStream;
  stderr: ProgressStream;
  cwd: string;
  /** Registers the Ctrl-C handler; returns its removal. */
  onInterrupt(handler: () => void): () => void;
  /** Ends the process at once (second Ctrl-C). */
  exit(code: number): never;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Runs the CLI on `argv` (without `node` and the script) and resolves its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // Read before parsing, so that a usage error the parser raises is still reported as JSON to a script that asked.
  const json = wantsJson(argv);
  let pictures: ProfilePictures | undefined;
  try {
    const { command, values, positionals } = parse(argv);
    if (values.help === true || !command) {
      if (!command && values.help !== true) throw new UsageError(`missing command: ${COMMANDS.map((c) => c.name).join(', ')}`);
      io.stdout.write(command ? commandHelp(command) : globalHelp(COMMANDS));
      return EXIT.ok;
    }
    pictures = await loadService(values.config as string | undefined, io.cwd);
    const missing = command.needs.filter((method) => typeof pictures![method] !== 'function');
    if (missing.length > 0) {
      throw new UsageError(`the service has no ${missing.map((m) => `${m}()`).join(', ')}: is its profile-picture older than this CLI?`);
    }
    const outcome = await runInterruptible(command, io, (signal) =>
      command.run({
        pictures: pictures!,
        values,
        positionals,
        signal,
        progress: (label) => createProgress(label, io.stderr),
        counter: (label, unit) => createCounter(label, unit, io.stderr),
        note: (text) => void io.stderr.write(`${text}\n`),
      }),
    );
    io.stdout.write(json ? `${JSON.stringify(outcome.json, null, 2)}\n` : outcome.lines.map((line) => `${line}\n`).join(''));
    return outcome.aborted ? EXIT.interrupted : outcome.failed ? EXIT.failed : EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${BIN}: ${error.message} (${helpHint(error.command)})\n`);
      if (json) writeJsonError(io, { code: 'USAGE', message: error.message });
      return EXIT.usage;
    }
    reportFailure(error, json, io);
    return error instanceof Interrupted ? EXIT.interrupted : EXIT.failed;
  } finally {
    // Background clean-ups a command started (old objects after a regenerate) finish before the process exits.
    await pictures?.flush?.();
  }
}

// --- internal ---

/** The command named in `argv` and every option, checked against the global options and the command's own. */
function parse(argv: readonly string[]) {
  const at = commandIndex(argv);
  const name = at === -1 ? undefined : argv[at]!;
  const command = name === undefined ? undefined : COMMANDS.find((candidate) => candidate.name === name);
  if (name !== undefined && !command) throw new UsageError(`unknown command ${JSON.stringify(name)} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
  const args = argv.filter((_, index) => index !== at);
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...command?.options }, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages go on with advice about `--`; the first sentence is what went wrong.
    throw new UsageError(String((error as Error).message).split('. ')[0]!, command?.name);
  }
  const { values, positionals } = parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  const expected = command?.positionals ?? [];
  if (command && values.help !== true && positionals.length !== expected.length) {
    throw new UsageError(
      positionals.length < expected.length
        ? `missing <${expected[positionals.length]}>`
        : `unexpected argument ${JSON.stringify(positionals[expected.length])}`,
      command.name,
    );
  }
  return { command, values, positionals };
}

/**
 * Whether `argv` asks for `--json`: an argument of its own before `--`, and not the value of `--config`/`-c` (the
 * same reading as {@link commandIndex}; `parseArgs` agrees wherever the arguments parse at all).
 */
function wantsJson(argv: readonly string[]): boolean {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') return false;
    if (arg === '--config' || arg === '-c') index++;
    else if (arg === '--json') return true;
  }
  return false;
}

/** Index of the first argument that is neither an option nor the value of `--config`/`-c`; -1 when none. */
function commandIndex(argv: readonly string[]): number {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') return index + 1 < argv.length ? index + 1 : -1;
    if (arg === '--config' || arg === '-c') index++;
    else if (!arg.startsWith('-')) return index;
  }
  return -1;
}

/** Runs `run` with a signal the first Ctrl-C aborts (abortable commands) or exits on it (the others). */
async function runInterruptible(
  command: Command,
  io: CliIo,
  run: (signal: AbortSignal) => Promise<CommandOutcome>,
): Promise<CommandOutcome> {
  const controller = new AbortController();
  const removeHandler = io.onInterrupt(() => {
    if (!command.abortable || controller.signal.aborted) io.exit(EXIT.interrupted);
    io.stderr.write(`\n${BIN}: stopping after the work in progress… (Ctrl-C again to quit at once)\n`);
    controller.abort();
  });
  try {
    return await run(controller.signal);
  } catch (error) {
    // A command that stops by rejecting (ABORTED) rather than resolving a partial result: still an interruption.
    throw controller.signal.aborted ? new Interrupted(error) : error;
  } finally {
    removeHandler();
  }
}

/** A command's failure after Ctrl-C: reported like any failure, with exit code 130. */
class Interrupted extends Error {
  constructor(readonly reason: unknown) {
    super(reason instanceof Error ? reason.message : String(reason));
    this.name = 'Interrupted';
  }
}

function reportFailure(failure: unknown, json: boolean, io: CliIo): void {
  const error = failure instanceof Interrupted ? failure.reason : failure;
  const { code, message, cause } = (error ?? {}) as { code?: unknown; message?: unknown; cause?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  const causeText = cause instanceof Error ? cause.message : undefined;
  io.stderr.write(`${BIN}: ${typeof code === 'string' ? `${code}: ` : ''}${text}${causeText ? ` (cause: ${causeText})` : ''}\n`);
  if (json) writeJsonError(io, { ...(typeof code === 'string' ? { code } : {}), message: text, ...(causeText ? { cause: causeText } : {}) });
}

/** With `--json`, every failure also goes to stdout as `{ "error": { code?, message, cause? } }`, so a script reads it. */
function writeJsonError(io: CliIo, error: { code?: string; message: string; cause?: string }): void {
  io.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
}
