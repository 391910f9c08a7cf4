/**
 * The shape of one CLI command. Adding a command is one module in `commands/` exporting a {@link Command}, listed in
 * `commands/index.ts`; the runner (`run.ts`) parses its options, loads the service and prints what it returns.
 */
import type { ProfilePictures } from '../index.js';
import type { Counter, Progress } from './progress.js';

/** One option of a command, as `node:util` `parseArgs` takes it, plus its help text. */
export interface CommandOption {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in help as `--name <valueName>` for string options. */
  valueName?: string;
  description: string;
}

/** What a command gets to run. */
export interface CommandContext {
  /** The app's configured service, from the config module. */
  pictures: ProfilePictures;
  /** Parsed option values by long name. */
  values: Record<string, string | boolean | undefined>;
  /** The command's positional arguments, checked against {@link Command.positionals}. */
  positionals: string[];
  /** Aborted by the first Ctrl-C (only for commands marked {@link Command.abortable}). */
  signal: AbortSignal;
  /** A progress display: a bar with ETA on a TTY, plain lines otherwise. */
  progress(label: string): Progress;
  /** A count of `unit` whose total is not known yet (a listing): redrawn in place on a TTY, plain lines otherwise. */
  counter(label: string, unit: string): Counter;
  /** One line of progress (a step with nothing to count), on stderr like the displays. */
  note(text: string): void;
}

/** What a command returns: the runner prints `json` with `--json`, else `lines`. */
export interface CommandOutcome {
  /** The machine-readable result (`--json`). */
  json: unknown;
  /** The human-readable result, one string per line. */
  lines: string[];
  /** Some part failed: exit code 1. */
  failed?: boolean;
  /** Stopped by Ctrl-C before the end: exit code 130. */
  aborted?: boolean;
}

/** One CLI command. */
export interface Command {
  name: string;
  /** One line for the command list in `--help`. */
  summary: string;
  /** What it does, for `profile-picture <name> --help`. */
  description: string;
  /** Names of the required positional arguments, in order (`<userId>`). */
  positionals?: readonly string[];
  options?: Readonly<Record<string, CommandOption>>;
  /** The service methods it calls: a service without them is refused before anything runs. */
  needs: readonly (keyof ProfilePictures)[];
  /**
   * The first Ctrl-C aborts `signal` and the command finishes cleanly; without this, the first Ctrl-C exits at once
   * (the command has nothing to finish).
   */
  abortable?: boolean;
  /** @throws UsageError for arguments the option parser cannot judge (a malformed duration), any error for failures. */
  run(context: CommandContext): Promise<CommandOutcome>;
}

/** Wrong arguments or configuration: exit code 2 with a one-line hint. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help the hint points at, if any. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
