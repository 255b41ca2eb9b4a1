/**
 * The command line of every project command (report, simulate, the benchmarks, dlq): `--help` prints
 * the usage and the options and exits 0; a bad option or value is one line on stderr and exit 2, never
 * a stack trace. A thin layer over node:util parseArgs, which does the parsing.
 */
import { parseArgs } from 'node:util';

/** One option, as parseArgs takes it, with what --help says of it. */
export interface CliOption {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  /** One line for --help. */
  description: string;
  /** What the value looks like in --help (`YYYY-MM-DD`); string options only. */
  placeholder?: string;
}

export interface CliSpec<O extends Record<string, CliOption>> {
  /** The command's short name, which starts its error lines (`report: …`). */
  name: string;
  /** How the command is run, as the help shows it (`npm run report --`). */
  command: string;
  /** Usage lines after the command (`[options]`, `--summary YYYY-MM`). */
  usage: string[];
  /** What the command does, a line or two. */
  description: string;
  options: O;
  allowPositionals?: boolean;
  /** Default: process.argv after the script. */
  args?: string[];
}

type Parsed<O extends Record<string, CliOption>> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: boolean; strict: true }>
>;

/** Prints `message` as one line naming the command, and exits 2 (a usage error). */
export function usageError(name: string, message: string): never {
  process.stderr.write(`${name}: ${message} (see --help)\n`);
  process.exit(2);
}

export function helpText<O extends Record<string, CliOption>>(spec: CliSpec<O>): string {
  const rows = Object.entries(spec.options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${
      option.type === 'string' ? ` ${option.placeholder ?? 'VALUE'}` : ''
    }`;
    const fallback =
      option.default === undefined || option.default === false || option.default === ''
        ? ''
        : ` (default: ${String(option.default)})`;
    return [flag, `${option.description}${fallback}`] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    ...spec.usage.map(
      (line, i) => `${i === 0 ? 'Usage: ' : '       '}${spec.command}${line ? ` ${line}` : ''}`,
    ),
    '',
    spec.description,
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
    '',
  ].join('\n');
}

/** Parses the command line; answers --help and refuses what it does not know (exits either way). */
export function parseCli<const O extends Record<string, CliOption>>(spec: CliSpec<O>): Parsed<O> {
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([name, { description: _d, placeholder: _p, ...option }]) => [
      name,
      option,
    ]),
  );
  const args = spec.args ?? process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(helpText(spec));
    process.exit(0);
  }
  try {
    return parseArgs({
      args,
      options,
      allowPositionals: spec.allowPositionals ?? false,
      strict: true,
    }) as Parsed<O>;
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw error;
    const message = (error as Error).message;
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    return usageError(
      spec.name,
      unknown ? `unknown option ${unknown[1]}` : (message.split('\n')[0] ?? message),
    );
  }
}
