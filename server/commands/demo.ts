// `graftcert demo`: the main job on the default model. Today only its first step (inspect) is built.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatInspect, inspectModelFile } from '../inspect';
import { type Command, type CommandSpec, InputError, note, parseArgs, writeResult } from './args';
import { modelInputError } from './model-errors';

const spec = {
  name: 'demo',
  usage: 'demo [--json]',
  description:
    'The main job on the default model: inspect → bounds (IBP, CROWN, α-CROWN) → graft → certify.\n' +
    'Only the inspect step is built so far; the demo says so and runs that step on a sample model\n' +
    '(fc_small.onnx from ../shared/benchmarks/lirpa/models).',
  positionals: [],
  flags: { json: { kind: 'boolean', help: 'print the inspect report as one JSON document on stdout' } },
} as const satisfies CommandSpec<Record<'json', { kind: 'boolean'; help: string }>>;

const plannedSteps = [
  ['inspect', 'built', 'load the model, list its ReLU layers and parameters'],
  ['bounds', 'not built yet', 'IBP, CROWN and α-CROWN bounds at ε; unstable neurons per ReLU layer'],
  ['graft', 'not built yet', 'replace the least significant unstable ReLUs by a·x+b, fine-tune, export ONNX'],
  ['certify', 'not built yet', 'certified accuracy before and after grafting on MNIST'],
] as const;

export const demoCommand: Command = {
  name: spec.name,
  summary: 'the main job on the default model (today: the inspect step only)',
  usage: spec.usage,
  async run(argv, io) {
    const args = parseArgs(spec, argv, io);
    if (!args) return 0;
    const model = sampleModelPath();
    note(io, 'graftcert demo — what the full demo will do, and what runs today:');
    for (const [step, state, what] of plannedSteps) note(io, `  ${step.padEnd(8)} [${state}] ${what}`);
    note(io, `Running the built step: graftcert inspect ${model}\n`);
    let report;
    try {
      report = inspectModelFile(model);
    } catch (error) {
      throw modelInputError(model, error);
    }
    writeResult(io, args.flags.json, report, () => formatInspect(report));
    return 0;
  },
};

/** The sample model shipped next to the checkout (ARCHITECTURE.md, "Data that ships"). */
function sampleModelPath(): string {
  const root = repoRoot();
  const model = resolve(root, '..', 'shared', 'benchmarks', 'lirpa', 'models', 'fc_small.onnx');
  if (!existsSync(model)) {
    throw new InputError(model, 'the demo\'s sample model is missing', 'put the shared benchmarks next to the checkout (../shared)');
  }
  return model;
}

/** The checkout root: the nearest folder upwards with package.json (works from dist/ and from server/ via tsx). */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}
