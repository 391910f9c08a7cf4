/** The `--help` texts, built from the command modules so they cannot drift from what is parsed. */
import type { Command, CommandOption } from './command.js';
import { DEFAULT_CONFIG_FILES } from './config.js';

export const BIN = 'profile-picture';

/** Options every command takes, as `parseArgs` options plus help text. */
export const GLOBAL_OPTIONS: Readonly<Record<string, CommandOption>> = {
  config: {
    type: 'string',
    short: 'c',
    valueName: 'file',
    description: `Module exporting the service (default: ${DEFAULT_CONFIG_FILES[0]}/.mjs/.cjs)`,
  },
  json: { type: 'boolean', description: 'Print the result, or the error, as JSON on stdout (progress stays on stderr)' },
  help: { type: 'boolean', short: 'h', description: 'Show help' },
};

const EXIT_CODES = 'Exit codes: 0 done, 1 something failed, 2 usage error, 130 stopped by Ctrl-C.';

export function globalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    `Usage: ${BIN} <command> [options]`,
    '',
    "Admin tasks on the profile pictures of the app whose service the config module exports.",
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    `Run \`${BIN} <command> --help\` for a command's options.`,
    EXIT_CODES,
    '',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  const positionals = (command.positionals ?? []).map((name) => ` <${name}>`).join('');
  const options = Object.entries(command.options ?? {})
    .map(([name, option]) => ` [--${name}${option.type === 'string' ? ` <${option.valueName ?? 'value'}>` : ''}]`)
    .join('');
  return [
    `Usage: ${BIN} ${command.name}${positionals}${options} [--config <file>] [--json]`,
    '',
    ...wrap(command.description),
    '',
    ...(command.options ? ['Options:', ...optionLines(command.options), ''] : []),
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    EXIT_CODES,
    '',
  ].join('\n');
}

/** The hint a usage error ends with. */
export function helpHint(command?: string): string {
  return `see \`${BIN}${command ? ` ${command}` : ''} --help\``;
}

// --- internal ---

/** Help text width: fits an 80-column terminal's habits loosely, and every wider one. */
const WIDTH = 100;

/** `text` broken into lines of at most {@link WIDTH} characters, at spaces. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

function optionLines(options: Readonly<Record<string, CommandOption>>): string[] {
  const flags = Object.entries(options).map(([name, option]) => {
    const short = option.short ? `-${option.short}, ` : '    ';
    return [`${short}--${name}${option.type === 'string' ? ` <${option.valueName ?? 'value'}>` : ''}`, option.description] as const;
  });
  const width = Math.max(...flags.map(([flag]) => flag.length));
  return flags.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}
