// The conventions every `graftcert` command shares: flag parsing, exit codes, --json output, one-line errors.
//
// Contract (ARCHITECTURE.md): `--json` prints ONE JSON document on stdout and nothing else there
// (human text goes to stderr); exit 0 success, 1 failed check, 2 bad input with a one-line reason
// `graftcert: <file>: <what is wrong> — <what to do>`.
import { accessSync, constants, statSync, type Stats } from 'node:fs';

export const ExitCode = {
  ok: 0,
  /** The command ran and the check it performs failed (not certified, property violated, ...). */
  checkFailed: 1,
  /** Bad flags, missing or unreadable files, a model that cannot be loaded. */
  badInput: 2,
  /** A bug in graftcert: the command crashed. Not part of the contract's 0/1/2. */
  internalError: 3,
} as const;

/** Where a command writes; the CLI passes the process streams, tests can pass buffers. */
export interface CommandIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIO: CommandIO = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

export interface Command {
  name: string;
  /** One line for `graftcert --help`. */
  summary: string;
  /** Synopsis after `graftcert `, e.g. `inspect <model.onnx> [--json]`. */
  usage: string;
  /** Returns the exit code; throws InputError (exit 2) for bad input. */
  run(argv: readonly string[], io: CommandIO): Promise<number>;
}

/**
 * Bad input: becomes `graftcert: <subject>: <problem> — <remedy>` on stderr and exit 2 in the CLI,
 * and an error response with `sentence` in the server. `subject` is the file (or flag) concerned.
 */
export class InputError extends Error {
  /** The reason without the `graftcert: ` prefix: what a notification in the editor shows. */
  readonly sentence: string;

  constructor(
    readonly subject: string | undefined,
    readonly problem: string,
    readonly remedy?: string,
  ) {
    const sentence = describeInputError(subject, problem, remedy);
    super(`graftcert: ${sentence}`);
    this.name = 'InputError';
    this.sentence = sentence;
  }
}

/** `<subject>: <problem> — <remedy>` on one line. */
export function describeInputError(subject: string | undefined, problem: string, remedy?: string): string {
  // Multi-line causes (a decoder's stack, a protobuf dump) would break the one-line contract.
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  let line = '';
  if (subject) line += `${oneLine(subject)}: `;
  line += oneLine(problem).replace(/\.$/, '');
  if (remedy) line += ` — ${oneLine(remedy).replace(/\.$/, '')}`;
  return line;
}

// ---------------------------------------------------------------------------------------------
// Flags

interface FlagBase {
  help: string;
}
export interface BooleanFlag extends FlagBase {
  kind: 'boolean';
}
export interface StringFlag extends FlagBase {
  kind: 'string';
  /** Placeholder in the help text, e.g. FILE. */
  value: string;
  required?: boolean;
  choices?: readonly string[];
}
export interface NumberFlag extends FlagBase {
  kind: 'number';
  value: string;
  required?: boolean;
  /** Accept only integers. */
  integer?: boolean;
  min?: number;
  max?: number;
}
export type FlagSpec = BooleanFlag | StringFlag | NumberFlag;
export type FlagSpecs = Record<string, FlagSpec>;

type FlagValue<F extends FlagSpec> = F extends BooleanFlag
  ? boolean
  : F extends { required: true }
    ? F extends NumberFlag ? number : string
    : F extends NumberFlag ? number | undefined : string | undefined;

export type FlagValues<S extends FlagSpecs> = { [K in keyof S]: FlagValue<S[K]> };

export interface PositionalSpec {
  /** Shown in usage and errors, e.g. `model.onnx`. */
  name: string;
  help: string;
}

export interface CommandSpec<S extends FlagSpecs> {
  name: string;
  usage: string;
  description: string;
  positionals: readonly PositionalSpec[];
  flags: S;
}

export interface ParsedArgs<S extends FlagSpecs> {
  positionals: string[];
  flags: FlagValues<S>;
}

/** The flag every command has. */
export const jsonFlag = {
  kind: 'boolean',
  help: 'print one JSON document on stdout (human text goes to stderr)',
} as const satisfies BooleanFlag;

/**
 * Parses `argv` (the words after the command name). Prints the help and returns null for
 * `--help`/`-h`; throws InputError for an unknown flag, a bad value or a wrong number of positionals.
 */
export function parseArgs<S extends FlagSpecs>(
  spec: CommandSpec<S>,
  argv: readonly string[],
  io: CommandIO,
): ParsedArgs<S> | null {
  const positionals: string[] = [];
  const values: Record<string, boolean | number | string | undefined> = {};
  for (const [name, flag] of Object.entries(spec.flags)) values[name] = flag.kind === 'boolean' ? false : undefined;

  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (onlyPositionals || !word.startsWith('-') || word === '-') {
      positionals.push(word);
      continue;
    }
    if (word === '--') {
      onlyPositionals = true;
      continue;
    }
    if (word === '--help' || word === '-h') {
      io.stdout(helpText(spec));
      return null;
    }
    const eq = word.indexOf('=');
    const name = (eq >= 0 ? word.slice(0, eq) : word).replace(/^--?/, '');
    const flag = Object.prototype.hasOwnProperty.call(spec.flags, name) ? spec.flags[name] : undefined;
    const shown = eq >= 0 ? word.slice(0, eq) : word;
    if (!flag || !word.startsWith('--')) {
      throw new InputError(shown, `unknown option for \`graftcert ${spec.name}\``, `run \`graftcert ${spec.name} --help\` for its options`);
    }
    if (flag.kind === 'boolean') {
      if (eq >= 0) throw new InputError(shown, 'takes no value', `write just ${shown}`);
      values[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = word.slice(eq + 1);
    else if (i + 1 < argv.length) raw = argv[++i];
    else throw new InputError(shown, `needs a value`, `write ${shown} ${flag.value}`);
    values[name] = flag.kind === 'number' ? parseNumberFlag(shown, flag, raw) : parseStringFlag(shown, flag, raw);
  }

  for (const [name, flag] of Object.entries(spec.flags)) {
    if (flag.kind !== 'boolean' && flag.required && values[name] === undefined) {
      throw new InputError(`--${name}`, 'is required', `write --${name} ${flag.value} (see \`graftcert ${spec.name} --help\`)`);
    }
  }
  if (positionals.length < spec.positionals.length) {
    const missing = spec.positionals[positionals.length];
    throw new InputError(spec.name, `missing <${missing.name}>`, `usage: graftcert ${spec.usage}`);
  }
  if (positionals.length > spec.positionals.length) {
    const extra = positionals[spec.positionals.length];
    throw new InputError(extra, `unexpected argument to \`graftcert ${spec.name}\``, `usage: graftcert ${spec.usage}`);
  }
  return { positionals, flags: values as FlagValues<S> };
}

function parseNumberFlag(shown: string, flag: NumberFlag, raw: string): number {
  const value = raw.trim() === '' ? NaN : Number(raw);
  const example = flag.integer ? '10' : '0.01';
  if (!Number.isFinite(value)) throw new InputError(shown, `'${raw}' is not a number`, `write e.g. ${shown} ${example}`);
  if (flag.integer && !Number.isInteger(value)) throw new InputError(shown, `'${raw}' is not an integer`, `write e.g. ${shown} ${example}`);
  if (flag.min !== undefined && value < flag.min) throw new InputError(shown, `${raw} is below ${flag.min}`, `give a value ≥ ${flag.min}`);
  if (flag.max !== undefined && value > flag.max) throw new InputError(shown, `${raw} is above ${flag.max}`, `give a value ≤ ${flag.max}`);
  return value;
}

function parseStringFlag(shown: string, flag: StringFlag, raw: string): string {
  if (flag.choices && !flag.choices.includes(raw)) {
    throw new InputError(shown, `'${raw}' is not one of ${flag.choices.join(', ')}`, `write e.g. ${shown} ${flag.choices[0]}`);
  }
  return raw;
}

export function helpText<S extends FlagSpecs>(spec: CommandSpec<S>): string {
  const lines = [`usage: graftcert ${spec.usage}`, '', spec.description];
  const rows: [string, string][] = [
    ...spec.positionals.map((p): [string, string] => [`<${p.name}>`, p.help]),
    ...Object.entries(spec.flags).map(([name, flag]): [string, string] => [
      flag.kind === 'boolean' ? `--${name}` : `--${name} ${flag.value}`,
      flag.kind === 'string' && flag.choices ? `${flag.help} (${flag.choices.join(' | ')})` : flag.help,
    ]),
    ['--help', 'show this help'],
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  lines.push('');
  for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)}  ${right}`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Output

/** Writes the result the contract's way: JSON alone on stdout, or human text on stdout. */
export function writeResult(io: CommandIO, json: boolean, document: unknown, human: () => string): void {
  if (json) io.stdout(JSON.stringify(document, null, 2) + '\n');
  else io.stdout(ensureNewline(human()));
}

/** Notes and progress: stderr in both modes so stdout stays one JSON document under --json. */
export function note(io: CommandIO, text: string): void {
  io.stderr(ensureNewline(text));
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : text + '\n';
}

// ---------------------------------------------------------------------------------------------
// Input files

/** Checks that `file` names a readable regular file; throws the contract's one-line InputError otherwise. */
export function requireFile(file: string, what: string): void {
  let stat: Stats;
  try {
    stat = statSync(file);
  } catch {
    throw new InputError(file, `no such ${what} file`, 'check the path');
  }
  if (stat.isDirectory()) throw new InputError(file, `is a directory, not a ${what} file`, `give the path of the ${what} file`);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new InputError(file, `cannot be read (permission denied)`, 'check its permissions');
  }
}
