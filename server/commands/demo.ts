// `graftcert demo`: the main job on the embedded model and MNIST — certify, graft 50 %, fine-tune, re-certify, report.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { robustnessReportOfGraft } from '../graft/report';
import { ReportBundleMissingError, writeReport } from '../report/html';
import { applyLimitFlags, backendFlag, backendPreference, type Command, type CommandSpec, type FlagSpecs, InputError, jsonFlag, note, parseArgs, writeResult, limitFlags } from './args';
import { formatGraft, type GraftJob, progressPrinter, runGraft } from './graft';

/** The embedded model is adversarially trained at this ε, and the demo certifies at its training ε. */
export const DEMO_EPS = 0.05;

const spec = {
  name: 'demo',
  usage: 'demo [--out DIR] [--count N] [--epochs K] [--with-prune] [--backend B] [--json]',
  description:
    'The main job on the embedded model (an adversarially trained MNIST MLP 784-200-200-200-10, FGSM-RS at\n' +
    `ε = ${DEMO_EPS}): certify the first N test images with CROWN at ε = ${DEMO_EPS} (α-CROWN on 20, PGD-20), graft 50 % of\n` +
    'the ReLU neurons (rank(instability) − rank(|z|), all layers together), fine-tune briefly with FGSM-RS, export\n' +
    'a standard ONNX model, re-certify, print the before/after table and write the model, a JSON and a\n' +
    'self-contained HTML report into DIR. A few minutes on 2 cores with the defaults.',
  positionals: [],
  flags: {
    out: { kind: 'string', value: 'DIR', help: 'output folder (default ./graftcert-demo)' },
    count: { kind: 'number', value: 'N', integer: true, min: 1, help: 'test images to certify (default 100)' },
    epochs: { kind: 'number', value: 'K', integer: true, min: 0, help: 'fine-tuning epochs of 20 000 images (default 1)' },
    'with-prune': { kind: 'boolean', help: 'also run the pruning baseline (a = b = 0) at the same ratio' },
    backend: backendFlag,
    json: jsonFlag,
    ...limitFlags,
  },
} as const satisfies CommandSpec<FlagSpecs>;

export const demoCommand: Command = {
  name: spec.name,
  summary: 'the main job on the embedded MNIST model: certify → graft 50 % → fine-tune → re-certify → report',
  usage: spec.usage,
  async run(argv, io) {
    const args = parseArgs(spec, argv, io);
    if (!args) return 0;
    applyLimitFlags(args.flags);
    const outDir = resolve(args.flags.out ?? 'graftcert-demo');
    const model = embeddedModelPath();
    const count = args.flags.count ?? 100;
    const epochs = args.flags.epochs ?? 1;
    const job: GraftJob = {
      model, data: 'mnist', train: 'mnist:train', eps: DEMO_EPS, ratios: [0.5],
      modes: args.flags['with-prune'] ? ['graft', 'prune'] : ['graft'],
      criterion: 'mixed', epochs, count, alphaCount: Math.min(20, count), samplesPerEpoch: 20000,
      instabilityMethod: 'crown', instabilityCount: 100, backend: backendPreference(args.flags.backend),
      out: join(outDir, 'mnist_mlp_adv_grafted.onnx'),
      log: (line) => note(io, line),
      onProgress: progressPrinter(io),
    };
    note(io, `graftcert demo: ${model}`);
    note(io, `  ε = ${DEMO_EPS} (the model's training ε); ${count} MNIST test images certified with CROWN, α-CROWN on ${Math.min(20, count)}, PGD-20;`);
    note(io, `  neuron scores on 1000 training images (CROWN instability on 100); graft 50 %; ${epochs} fine-tuning epoch${epochs === 1 ? '' : 's'} of 20 000 images (FGSM-RS, Adam)`);
    const started = performance.now();
    const run = await runGraft({ ...job, out: args.flags['with-prune'] ? join(outDir, 'mnist_mlp_adv.onnx') : job.out });
    const seconds = (performance.now() - started) / 1000;
    mkdirSync(outDir, { recursive: true });
    const notes = [`Demo run in ${seconds.toFixed(0)} s: ${count} test images, ${epochs} fine-tuning epoch(s) of 20 000 images; the README's Grafting section has the measured figures.`];
    const report = robustnessReportOfGraft(run, undefined, notes);
    const runJson = join(outDir, 'graft-run.json');
    writeFileSync(runJson, JSON.stringify(run, null, 2) + '\n');
    let written: string[];
    try {
      const paths = writeReport(report, join(outDir, 'report'));
      written = [paths.json, paths.html];
    } catch (error) {
      if (!(error instanceof ReportBundleMissingError)) throw error;
      const json = join(outDir, 'report.json');
      writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
      written = [json];
      note(io, `no HTML report: ${error.message}`);
    }
    writeResult(io, args.flags.json, { ...run, report: written, runJson, wall_s: seconds }, () =>
      [formatGraft(run), '', `wrote ${[...run.runs.map((r) => r.out), runJson, ...written].join(', ')}`, `demo wall time ${seconds.toFixed(0)} s`].join('\n'));
    return 0;
  },
};

/** The embedded model: next to the bundle (dist/models) or in the source tree (server/data/models). */
export function embeddedModelPath(): string {
  const candidates = [join(__dirname, 'models', 'mnist_mlp_adv.onnx'), join(repoRoot(), 'server', 'data', 'models', 'mnist_mlp_adv.onnx')];
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined) throw new InputError(candidates[candidates.length - 1], 'the embedded demo model is missing', 'reinstall graftcert or run from a checkout');
  return found;
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
