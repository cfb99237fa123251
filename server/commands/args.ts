// The conventions every `graftcert` command shares: flag parsing, exit codes, --json output, one-line errors.
//
// Contract (ARCHITECTURE.md): `--json` prints ONE JSON document on stdout and nothing else there
// (human text goes to stderr); exit 0 success, 1 failed check, 2 bad input with a one-line reason.
// The reason about a file is printed the compiler way, `graftcert: <file>:<line>:<col>: error: <what is
// wrong> — <what to do>` (1:1 when no position is known), so the `$graftcert` problem matcher of VS Code
// tasks turns it into a Problems entry; about a flag or a word it stays `graftcert: <subject>: <why> — <remedy>`.
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { BACKEND_PREFERENCES, backendPreferenceFromEnv, type BackendPreference } from '../tensor/preference';
import { setLimits } from '../limits';

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
    /** Where in `subject` (a file) the problem is, 1-based; e.g. a VNN-LIB parse error. */
    readonly position?: SourcePosition,
  ) {
    const sentence = describeInputError(position && subject ? `${subject}:${position.line}:${position.column}` : subject, problem, remedy);
    super(`graftcert: ${sentence}`);
    this.name = 'InputError';
    this.sentence = sentence;
  }
}

/**
 * An InputError from a sentence that already starts with `<file>: ` (a data loader's DataError, say), so that the
 * CLI can print it in the compiler form with the file in front.
 */
export function inputErrorOfSentence(file: string, sentence: string): InputError {
  const prefix = `${file}: `;
  return sentence.startsWith(prefix) ? new InputError(file, sentence.slice(prefix.length)) : new InputError(undefined, sentence);
}

/** A 1-based line and column in a file. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** True when an error's subject names a file (a path or a name with an extension), not a flag or a word like `mnist`. */
export function subjectIsFile(subject: string | undefined): subject is string {
  if (!subject || subject.startsWith('-')) return false;
  return /[\\/]/.test(subject) || /\.[A-Za-z][\w-]*$/.test(subject);
}

/**
 * The line the CLI prints on stderr for bad input. About a file: `graftcert: <file>:<line>:<col>: error: <problem> — <remedy>`
 * (the `$graftcert` problem matcher's form; 1:1 when the position is unknown). Otherwise the plain sentence.
 */
export function cliErrorLine(error: InputError): string {
  if (!subjectIsFile(error.subject)) return error.message;
  const { line, column } = error.position ?? { line: 1, column: 1 };
  return `graftcert: ${describeInputError(`${error.subject}:${line}:${column}: error`, error.problem, error.remedy)}`;
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
// Compute backend (the commands that train or attack in tfjs: graft, demo)

/** `--backend`: the tfjs backend; the bounds that decide a certificate are float64 TypeScript whatever it is. */
export const backendFlag = {
  kind: 'string',
  value: 'B',
  choices: BACKEND_PREFERENCES,
  help: 'tfjs backend for fine-tuning and attacks (default GRAFTCERT_BACKEND, else auto); an unavailable one falls back with the reason on stderr',
} as const satisfies StringFlag;

/** The `--backend` value, else GRAFTCERT_BACKEND (what the graftcert.compute.backend setting sets), else auto. */
export function backendPreference(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): BackendPreference {
  return flag !== undefined && (BACKEND_PREFERENCES as readonly string[]).includes(flag) ? (flag as BackendPreference) : backendPreferenceFromEnv(env);
}

/** `backend` in a command's --json document: the tfjs backend that ran, and why not the one asked for. */
export interface BackendReport {
  name: string;
  fallbackReason?: string;
  /** For webgpu: the adapter it runs on. */
  adapter?: string;
}

/**
 * Starts the tfjs backend (logging the choice and any fallback through `log`, i.e. stderr) and returns what the
 * --json document reports. Loaded on demand so commands without tfjs work never load it.
 */
export async function startComputeBackend(preference: BackendPreference, log: (line: string) => void): Promise<BackendReport> {
  const { initBackend } = await import('../tensor/backend');
  const choice = await initBackend(preference, { log });
  return {
    name: choice.name,
    ...(choice.fallbackReason !== undefined ? { fallbackReason: choice.fallbackReason } : {}),
    ...(choice.adapter !== undefined ? { adapter: `${choice.adapter.description} (${choice.adapter.dawnBackend})` } : {}),
  };
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

// ---------------------------------------------------------------------------------------------
// Resource limits (server/limits.ts): the same four flags on every command that loads a model or property

export const limitFlags = {
  'max-model-mb': { kind: 'number', value: 'MB', min: 1, help: 'largest model file read, MB (default 1024; GRAFTCERT_MAX_MODEL_MB)' },
  'max-tensor-elements': {
    kind: 'number',
    value: 'N',
    integer: true,
    min: 1,
    help: 'largest tensor (weights, constants, activations, property inputs), elements (default 268435456; GRAFTCERT_MAX_TENSOR_ELEMENTS)',
  },
  'max-domains': {
    kind: 'number',
    value: 'N',
    integer: true,
    min: 1,
    help: 'open branch-and-bound domains before verify answers unknown (default 100000; GRAFTCERT_MAX_DOMAINS)',
  },
  'max-memory-mb': { kind: 'number', value: 'MB', min: 1, help: 'largest estimated memory of a bound computation, MB (default 4096; GRAFTCERT_MAX_MEMORY_MB)' },
} as const satisfies FlagSpecs;

/** Puts the --max-* flags given into force for this process and the worker threads it starts. */
export function applyLimitFlags(flags: {
  'max-model-mb'?: number;
  'max-tensor-elements'?: number;
  'max-domains'?: number;
  'max-memory-mb'?: number;
}): void {
  setLimits({
    modelMb: flags['max-model-mb'],
    tensorElements: flags['max-tensor-elements'],
    domains: flags['max-domains'],
    memoryMb: flags['max-memory-mb'],
  });
}
