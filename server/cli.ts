// The `graftcert` command line: dispatches to one module per command (server/commands/), same core as the server.
import { type Command, ExitCode, InputError, cliErrorLine, describeInputError, processIO } from './commands/args';
import { certifyCommand } from './commands/certify';
import { demoCommand } from './commands/demo';
import { graftCommand } from './commands/graft';
import { inspectCommand } from './commands/inspect';
import { boundsCommand } from './commands/bounds';
import { verifyCommand } from './commands/verify';
import { LimitError } from './limits';

/** Adding a command is one line here (and its module under server/commands/). */
const commands: readonly Command[] = [
  inspectCommand,
  boundsCommand,
  certifyCommand,
  graftCommand,
  demoCommand,
  verifyCommand,
];

/** Contract commands (ARCHITECTURE.md) whose modules are not built yet: named honestly, exit 2. */
const notBuiltYet: readonly string[] = [];

const version = '0.1.0';

function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = [
    'usage: graftcert <command> [arguments] [--json]',
    '',
    'Certify and graft ONNX neural networks.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ];
  const planned = notBuiltYet.filter((name) => !commands.some((c) => c.name === name));
  if (planned.length > 0) lines.push('', `not built yet: ${planned.join(', ')}`);
  lines.push(
    '',
    '`graftcert <command> --help` shows a command\'s options.',
    'Exit codes: 0 success, 1 failed check, 2 bad input (one-line reason on stderr), 3 internal error.',
  );
  return lines.join('\n') + '\n';
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    processIO.stderr(topLevelHelp());
    return ExitCode.badInput;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    processIO.stdout(topLevelHelp());
    return ExitCode.ok;
  }
  if (name === '--version' || name === '-V') {
    processIO.stdout(version + '\n');
    return ExitCode.ok;
  }
  const command = commands.find((c) => c.name === name);
  try {
    if (!command) {
      if (notBuiltYet.includes(name)) {
        throw new InputError(name, 'this command is not built yet', 'see README.md for what works today');
      }
      throw new InputError(name, 'unknown command', 'run `graftcert --help` for the list');
    }
    return await command.run(rest, processIO);
  } catch (error) {
    if (error instanceof InputError) {
      processIO.stderr(cliErrorLine(error) + '\n');
      return ExitCode.badInput;
    }
    if (error instanceof LimitError) {
      // A configured limit is bad input, not a bug: the model or property is too big for the limits in force.
      const subject = error.subject ?? rest.find((word) => /\.onnx$/i.test(word));
      processIO.stderr(cliErrorLine(new InputError(subject, error.problem, error.remedy)) + '\n');
      return ExitCode.badInput;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    processIO.stderr(
      'graftcert: ' + describeInputError(name, 'internal error (a bug in graftcert)', 'please report it with the details below') + '\n' + detail + '\n',
    );
    return ExitCode.internalError;
  }
}

/** Runs `main` and exits with its code: explicitly (a backend library may keep handles open), once stdout has drained. */
export function runCli(argv: readonly string[]): void {
  void main(argv).then((code) => {
    process.stdout.write('', () => process.exit(code));
  });
}

if (require.main === module) runCli(process.argv.slice(2));
