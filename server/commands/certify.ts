// `graftcert certify <model.onnx> --data DATA --eps E ...`: clean and certified accuracy over a data set.
import { UnsupportedModelError } from '../bounds/index';
import { CertifySettingError, certifyDataSet } from '../certify/dataset';
import { DataError, loadDataSet, type DataSet } from '../data/index';
import { loadModelFile, type LoadedModel } from '../onnx/load';
import type { CertifyReport } from '../protocol/requests';
import { applyLimitFlags, type Command, type CommandSpec, type FlagSpecs, InputError, inputErrorOfSentence, jsonFlag, limitFlags, parseArgs, requireFile, writeResult } from './args';
import { modelInputError } from './model-errors';

const spec = {
  name: 'certify',
  usage: 'certify <model.onnx> --data DATA --eps E [--count N] [--offset K] [--method ibp|crown|alpha-crown] [--clip LO,HI] [--workers N] [--json]',
  description:
    'Certified (verified) accuracy at ε: for each sample, the float64 prediction and bounds on the margins\n' +
    'y[label] − y[j] over the L∞ ball of radius ε, clipped to the data set\'s range. A sample counts as\n' +
    'certified when it is classified correctly and every margin lower bound is > 0. Exit 0 when the run\n' +
    'completes (whatever the accuracy), 2 for bad input.',
  positionals: [{ name: 'model.onnx', help: 'the ONNX model file' }],
  flags: {
    data: { kind: 'string', value: 'DATA', required: true, help: 'mnist, mnist:train, IDX files, a .npy pair or a JSON file' },
    eps: { kind: 'number', value: 'E', required: true, help: 'L∞ radius, > 0' },
    count: { kind: 'number', value: 'N', integer: true, min: 1, help: 'samples to certify (default 100)' },
    offset: { kind: 'number', value: 'K', integer: true, min: 0, help: 'index of the first sample (default 0)' },
    method: { kind: 'string', value: 'METHOD', choices: ['ibp', 'crown', 'alpha-crown'], help: 'bound method (default crown)' },
    clip: { kind: 'string', value: 'LO,HI', help: 'clip each ball to [LO, HI] (default: the data set\'s range, [0, 1] for MNIST)' },
    workers: { kind: 'number', value: 'N', integer: true, min: 1, help: 'worker threads (default min(2, cores); 1 = this thread)' },
    json: jsonFlag,
    ...limitFlags,
  },
} as const satisfies CommandSpec<FlagSpecs>;

export const certifyCommand: Command = {
  name: spec.name,
  summary: 'clean and certified accuracy of a model over a data set at ε',
  usage: spec.usage,
  async run(argv, io) {
    const args = parseArgs(spec, argv, io);
    if (!args) return 0;
    applyLimitFlags(args.flags);
    const [file] = args.positionals;
    const { flags } = args;
    if (!(flags.eps > 0)) throw new InputError('--eps', `${flags.eps} is not positive`, 'give a radius such as --eps 0.01');
    const clip = flags.clip === undefined ? undefined : parseClip(flags.clip);
    const model = loadModel(file);
    const dataSet = loadData(flags.data, flags.count ?? 100, flags.offset ?? 0);
    let report: CertifyReport;
    try {
      report = await certifyDataSet(model, dataSet, {
        eps: flags.eps,
        method: (flags.method ?? 'crown') as 'ibp' | 'crown' | 'alpha-crown',
        clip,
        workers: flags.workers,
        dataLabel: flags.data,
      });
    } catch (error) {
      throw certifyInputError(file, error);
    }
    writeResult(io, flags.json, report, () => formatCertify(report));
    return 0;
  },
};

/** `LO,HI` → [LO, HI] with LO ≤ HI, both finite. */
export function parseClip(text: string): [number, number] {
  const parts = text.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || parts[0] > parts[1]) {
    throw new InputError('--clip', `'${text}' is not LO,HI with LO ≤ HI`, 'write e.g. --clip 0,1');
  }
  return [parts[0], parts[1]];
}

export function loadModel(file: string): LoadedModel {
  requireFile(file, 'model');
  try {
    return loadModelFile(file);
  } catch (error) {
    throw modelInputError(file, error);
  }
}

export function loadData(data: string, count: number | undefined, offset: number | undefined): DataSet {
  try {
    return loadDataSet(data, { count, offset });
  } catch (error) {
    throw certifyInputError(data, error);
  }
}

/** The bad-input errors of a certify run as the contract's one-line InputError; anything else (a bug) unchanged. */
export function certifyInputError(file: string, error: unknown): unknown {
  if (error instanceof DataError) return inputErrorOfSentence(error.file, error.message);
  if (error instanceof UnsupportedModelError) return new InputError(file, error.message);
  if (error instanceof CertifySettingError) return new InputError(error.setting === 'eps' ? '--eps' : `--${error.setting}`, error.problem, error.remedy);
  return modelInputError(file, error);
}

function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(1)} %`;
}

export function formatCertify(r: CertifyReport): string {
  const correct = r.samples.filter((s) => s.prediction === s.label).length;
  const certified = r.samples.filter((s) => s.certified).length;
  const lines = [
    `${r.model} on ${r.data}, samples ${r.offset}–${r.offset + r.count - 1}: eps ${r.eps}, ${r.method}, clip [${r.clip.join(', ')}]` +
      (r.cancelled ? ' (cancelled: partial)' : ''),
    '',
    `  clean accuracy      ${percent(r.clean_accuracy).padStart(7)}  (${correct}/${r.count})`,
    `  certified accuracy  ${percent(r.certified_accuracy).padStart(7)}  (${certified}/${r.count})`,
    '',
  ];
  const rows = [['ReLU layer', 'size', 'unstable', 'active', 'inactive', 'grafted']];
  for (const l of r.layers) {
    rows.push([l.name, String(l.size), l.unstable.toFixed(1), l.active.toFixed(1), l.inactive.toFixed(1), l.grafted.toFixed(1)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) lines.push('  ' + row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  lines.push('  (per-layer figures are averages over the samples)', '');
  lines.push(`  time ${r.time_s.toFixed(2)} s, ${r.samples_per_s.toFixed(1)} samples/s on ${r.workers} thread${r.workers === 1 ? '' : 's'}`);
  return lines.join('\n');
}
