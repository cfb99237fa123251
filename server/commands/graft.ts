// `graftcert graft <model.onnx> --data DATA --eps E --ratio R[,R2,...] --out OUT.onnx`: graft, fine-tune, export, compare.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { UnsupportedModelError } from '../bounds/index';
import { CertifySettingError } from '../certify/dataset';
import { checkFits, DataError, loadDataSet, type DataSet } from '../data/index';
import { SUPPORTED_OPS, TrainableNetwork } from '../graft/network';
import {
  evaluateModel, exportStandardOnnx, graftAndFinetune, scoreNeurons, trainValidationSplit,
  type GraftMode, type NeuronScores, type StageProgress,
} from '../graft/pipeline';
import { GraftCancelledError } from '../graft/score';
import { GRAFT_CRITERIA, type GraftCriterion } from '../graft/select';
import type { OptimizerKind } from '../graft/finetune';
import type { LoadedModel } from '../onnx/load';
import type { GraftEvaluation, GraftReport } from '../protocol/requests';
import type { BackendPreference } from '../tensor/preference';
import {
  applyLimitFlags, backendFlag, backendPreference, type BackendReport, type Command, type CommandSpec, type FlagSpecs, InputError, inputErrorOfSentence, jsonFlag, note, parseArgs,
  limitFlags, startComputeBackend, writeResult,
} from './args';
import { loadModel } from './certify';

const spec = {
  name: 'graft',
  usage: 'graft <model.onnx> --data DATA --eps E --ratio R[,R2,...] [--epochs K] [--mode graft|prune|both] [--criterion mixed|magnitude|instability] [--count N] [--backend B] --out OUT.onnx [--json]',
  description:
    'Linearity grafting (Chen, Zhang et al., ICML 2022): replaces the ratio·N least significant / most unstable\n' +
    'ReLU neurons (ranked over all layers together) by a learnable a·x + b, fine-tunes with FGSM-RS adversarial\n' +
    'training at ε, exports a standard ONNX model and prints before/after: clean, PGD and CROWN-certified accuracy\n' +
    '(α-CROWN on a subset), unstable neurons per layer, time. A comma-separated ratio list writes one model per\n' +
    'ratio (OUT_r0.5.onnx, ...). --mode prune (a = b = 0, untrained) is the baseline; both runs the two.',
  positionals: [{ name: 'model.onnx', help: 'the ONNX model to graft' }],
  flags: {
    data: { kind: 'string', value: 'DATA', required: true, help: 'evaluation data: mnist (test split), or IDX files, a .npy pair or a JSON file' },
    eps: { kind: 'number', value: 'E', required: true, help: 'L∞ radius of training, scoring and certification, > 0' },
    ratio: { kind: 'string', value: 'R', required: true, help: 'fraction of ReLU neurons to graft, in [0, 1]; a comma-separated list sweeps' },
    out: { kind: 'string', value: 'OUT.onnx', required: true, help: 'the exported (standard ONNX) model' },
    epochs: { kind: 'number', value: 'K', integer: true, min: 0, help: 'fine-tuning epochs (default 1)' },
    mode: { kind: 'string', value: 'MODE', choices: ['graft', 'prune', 'both'], help: 'graft (default), prune (a = b = 0) or both' },
    criterion: { kind: 'string', value: 'C', choices: GRAFT_CRITERIA, help: 'neuron ranking (default mixed: rank(instability) − rank(|z|))' },
    count: { kind: 'number', value: 'N', integer: true, min: 1, help: 'evaluation samples from the start of DATA (default 100)' },
    'alpha-count': { kind: 'number', value: 'N', integer: true, min: 0, help: 'α-CROWN on the first N of them (default 20; 0 skips)' },
    train: { kind: 'string', value: 'DATA', help: 'training data for scoring and fine-tuning (default mnist:train for mnist, else DATA)' },
    'samples-per-epoch': { kind: 'number', value: 'N', integer: true, min: 1, help: 'training samples per epoch (default 20000)' },
    'instability-method': { kind: 'string', value: 'M', choices: ['crown', 'ibp'], help: 'bounds behind the instability counts (default crown)' },
    'instability-count': { kind: 'number', value: 'N', integer: true, min: 1, help: 'samples for the instability counts (default 200 with crown, 1000 with ibp)' },
    stability: { kind: 'number', value: 'W', min: 0, help: 'weight of the ReLU-stability regulariser (default 0: off)' },
    optimizer: { kind: 'string', value: 'O', choices: ['adam', 'sgd'], help: 'adam (default) or sgd with momentum 0.9' },
    workers: { kind: 'number', value: 'N', integer: true, min: 1, help: 'certification threads (default min(2, cores))' },
    backend: backendFlag,
    json: jsonFlag,
    ...limitFlags,
  },
} as const satisfies CommandSpec<FlagSpecs>;

export interface GraftJob {
  model: string;
  data: string;
  train?: string;
  eps: number;
  ratios: readonly number[];
  modes: readonly GraftMode[];
  criterion?: GraftCriterion;
  epochs?: number;
  count?: number;
  alphaCount?: number;
  samplesPerEpoch?: number;
  instabilityMethod?: 'crown' | 'ibp';
  instabilityCount?: number;
  stabilityWeight?: number;
  optimizer?: OptimizerKind;
  workers?: number;
  /** tfjs backend; default GRAFTCERT_BACKEND, else auto. */
  backend?: BackendPreference;
  out: string;
  signal?: AbortSignal;
  onProgress?(p: StageProgress): void;
  log?(line: string): void;
}

/** The `graft --json` document: the original model once, one report per ratio × mode. */
export interface GraftRunReport {
  model: string;
  data: string;
  train: string;
  eps: number;
  criterion: GraftCriterion;
  epochs: number;
  scores: { significanceCount: number; instabilityCount: number; instabilityMethod: 'ibp' | 'crown'; seconds: number };
  before: GraftEvaluation;
  runs: GraftReport[];
  /** The tfjs backend that fine-tuned and attacked. */
  backend: BackendReport;
  time_s: number;
}

/** Ratio list `R[,R2,...]`, each in [0, 1]. */
export function parseRatios(text: string): number[] {
  const ratios = text.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
  for (const r of ratios) {
    if (!(r >= 0 && r <= 1)) throw new InputError('--ratio', `${text} is not a ratio (or list of ratios) in [0, 1]`, 'write e.g. --ratio 0.5 or --ratio 0.1,0.3,0.5');
  }
  return ratios;
}

/** Where one run's model goes: OUT itself for a single run, else OUT_r0.5.onnx (OUT_r0.5_prune.onnx for pruning). */
export function outputPath(out: string, ratio: number, mode: GraftMode, single: boolean): string {
  if (single) return out;
  const ext = extname(out) || '.onnx';
  const stem = out.slice(0, out.length - extname(out).length);
  return `${stem}_r${ratio}${mode === 'prune' ? '_prune' : ''}${ext}`;
}

/** The training data a DATA spec implies: mnist's training split for mnist's test split, otherwise DATA itself. */
export function defaultTrainData(data: string): string {
  return /^mnist(:test)?$/i.test(data.trim()) ? 'mnist:train' : data;
}

/** Checks everything a graft run needs before any work: exit 2 with one sentence for bad input. */
export function prepareGraft(job: GraftJob): { model: LoadedModel; test: DataSet; train: DataSet; reluLayers: number } {
  if (!(job.eps > 0)) throw new InputError('--eps', `${job.eps} is not positive`, 'give a radius such as --eps 0.05');
  for (const r of job.ratios) if (!(r >= 0 && r <= 1)) throw new InputError('--ratio', `${r} is outside [0, 1]`, 'give a fraction such as --ratio 0.5');
  const model = loadModel(job.model);
  // Checked on the graph (no tensors yet: the compute backend starts with the run).
  const reluLayers = model.graph.nodes.filter((n) => n.opType === 'Relu' || n.opType === 'GraftedRelu').length;
  const untrainable = [...new Set(model.graph.nodes.filter((n) => !SUPPORTED_OPS.includes(n.opType)).map((n) => n.opType))];
  if (untrainable.length > 0) {
    throw new InputError(job.model, `uses ops the fine-tuning cannot train through: ${untrainable.join(', ')}`, `graft supports ${SUPPORTED_OPS.join(', ')}`);
  }
  if (reluLayers === 0) {
    throw new InputError(job.model, 'has no ReLU layers, so there is nothing to graft', 'pass a ReLU network (grafting replaces ReLU neurons by a·x + b)');
  }
  const test = loadChecked(job.data, model, job.count ?? 100);
  const train = loadChecked(job.train ?? defaultTrainData(job.data), model, undefined);
  return { model, test, train, reluLayers };
}

function loadChecked(spec: string, model: LoadedModel, count: number | undefined): DataSet {
  try {
    const data = loadDataSet(spec, count === undefined ? {} : { count });
    const out = model.graph.outputs[0].shape.reduce((a, b) => a * b, 1);
    checkFits(data, model.graph.inputs[0].shape, out);
    return data;
  } catch (error) {
    if (error instanceof DataError) throw inputErrorOfSentence(error.file, error.message);
    throw error;
  }
}

/** Runs a whole graft job; shared by the CLI, `graftcert demo` and the graftcert/graft request. */
export async function runGraft(job: GraftJob, prepared = prepareGraft(job)): Promise<GraftRunReport> {
  const started = performance.now();
  const log = job.log ?? (() => undefined);
  const backend = await startComputeBackend(job.backend ?? backendPreference(undefined), log);
  const { model, test, train } = prepared;
  const criterion = job.criterion ?? 'mixed';
  const epochs = job.epochs ?? 1;
  const count = Math.min(job.count ?? 100, test.count);
  const alphaCount = job.alphaCount ?? 20;
  const range = test.range;
  const evalOptions = { eps: job.eps, count, alphaCount, workers: job.workers, dataLabel: job.data, signal: job.signal, onProgress: job.onProgress };
  try {
    log(`certifying the original model on ${count} samples (CROWN${alphaCount > 0 ? `, α-CROWN on ${Math.min(alphaCount, count)}` : ''}, PGD-20) ...`);
    const original = new TrainableNetwork(model.graph);
    const before = await evaluateModel(model, original, test, evalOptions).finally(() => original.dispose());
    const { train: trainSet, validation } = trainValidationSplit(train, 1000);
    log(`scoring neurons (${criterion}) ...`);
    const scores: NeuronScores = await scoreNeurons(model.graph, trainSet, {
      eps: job.eps, criterion, instabilityMethod: job.instabilityMethod, instabilityCount: job.instabilityCount, range, signal: job.signal, onProgress: job.onProgress,
    });
    const runs: GraftReport[] = [];
    const single = job.ratios.length * job.modes.length === 1;
    for (const ratio of job.ratios) {
      for (const mode of job.modes) {
        const runStarted = performance.now();
        log(`${mode === 'graft' ? 'grafting' : 'pruning'} ${(100 * ratio).toFixed(0)} % of the ReLU neurons, fine-tuning ${epochs} epoch${epochs === 1 ? '' : 's'} ...`);
        const g = await graftAndFinetune(model.graph, scores, trainSet, validation, {
          ratio, mode, criterion,
          finetune: {
            eps: job.eps, epochs, samplesPerEpoch: job.samplesPerEpoch ?? 20000, optimizer: job.optimizer, stabilityWeight: job.stabilityWeight, range, signal: job.signal,
            onProgress: (p) => job.onProgress?.({
              stage: 'finetune',
              message: p.validation !== undefined
                ? `epoch ${p.epoch}/${p.epochs}: validation clean ${pct(p.validation.clean)}, PGD ${pct(p.validation.pgd ?? 0)}`
                : `epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}, loss ${p.loss.toFixed(3)}`,
              fraction: p.steps > 0 ? p.step / p.steps : 1,
            }),
          },
        });
        try {
          const out = resolve(outputPath(job.out, ratio, mode, single));
          const { bytes, model: exported } = await exportStandardOnnx(g.net, out);
          mkdirSync(dirname(out), { recursive: true });
          writeFileSync(out, bytes);
          log(`wrote ${out}; certifying it ...`);
          const after = await evaluateModel(exported, g.net, test, { ...evalOptions, modelBytes: bytes });
          runs.push({
            out, eps: job.eps, ratio, mode, criterion,
            grafted: g.selection.total,
            layers: after.layers.map((l, k) => ({ ...l, grafted: g.selection.perLayer[k]?.grafted ?? l.grafted })),
            cleanAccuracyBefore: before.cleanAccuracy,
            cleanAccuracyAfter: after.cleanAccuracy,
            unstableBefore: before.unstable,
            unstableAfter: after.unstable,
            before, after,
            finetune: {
              epochs, bestEpoch: g.finetune.bestEpoch, seconds: g.finetune.seconds,
              history: g.finetune.epochs.map((e) => ({ epoch: e.epoch, loss: Number.isFinite(e.loss) ? e.loss : null, cleanAccuracy: e.validation.clean, pgdAccuracy: e.validation.pgd ?? null })),
            },
            time_s: (performance.now() - runStarted) / 1000,
          });
        } finally {
          g.net.dispose();
        }
      }
    }
    return {
      model: job.model, data: job.data, train: job.train ?? defaultTrainData(job.data), eps: job.eps, criterion, epochs,
      scores: { significanceCount: scores.significanceCount, instabilityCount: scores.instabilityCount, instabilityMethod: scores.instabilityMethod, seconds: scores.seconds },
      before, runs, backend, time_s: (performance.now() - started) / 1000,
    };
  } catch (error) {
    if (error instanceof UnsupportedModelError) throw new InputError(job.model, error.message);
    if (error instanceof CertifySettingError) throw new InputError(`--${error.setting}`, error.problem, error.remedy);
    throw error;
  }
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)} %`;
}

/** The before/after table. */
export function formatGraft(r: GraftRunReport): string {
  const alpha = r.before.alphaCount;
  const head = ['model', 'clean', `PGD-${r.before.pgdSteps}`, 'CROWN', ...(alpha > 0 ? [`α-CROWN (${alpha})`] : []), 'unstable per layer', 'Σ unstable', 'grafted', 'time'];
  const row = (label: string, e: GraftEvaluation, grafted: string, seconds: number): string[] => [
    label, pct(e.cleanAccuracy), pct(e.pgdAccuracy), pct(e.certifiedAccuracy), ...(alpha > 0 ? [pct(e.alphaCertifiedAccuracy)] : []),
    e.layers.map((l) => l.unstable.toFixed(1)).join(' · '), e.unstable.toFixed(1), grafted, `${seconds.toFixed(1)} s`,
  ];
  const rows = [head, row('original', r.before, '0', r.before.time_s)];
  for (const run of r.runs) {
    rows.push(row(`${run.mode} ${(100 * run.ratio).toFixed(0)} %`, run.after!, `${run.grafted} (${run.layers.map((l) => l.grafted).join('/')})`, run.time_s));
  }
  const widths = head.map((_, c) => Math.max(...rows.map((x) => x[c].length)));
  const lines = [
    `${basename(r.model)} on ${r.data} (first ${r.before.count} samples), ε = ${r.eps}, criterion ${r.criterion}, ${r.epochs} fine-tuning epoch${r.epochs === 1 ? '' : 's'} on ${r.train}`,
    `neuron scores: |z| on ${r.scores.significanceCount} training samples, ${r.scores.instabilityMethod.toUpperCase()} instability on ${r.scores.instabilityCount} (${r.scores.seconds.toFixed(1)} s)`,
    '',
    ...rows.map((x) => '  ' + x.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')),
    '',
    '  (accuracies over the samples; unstable = CROWN pre-activation l < 0 < u at ε, averaged per sample; time = graft + fine-tune + certify)',
  ];
  for (const run of r.runs) lines.push(`  ${run.mode} ${(100 * run.ratio).toFixed(0)} %: ${run.out} (best epoch ${run.finetune?.bestEpoch ?? '?'} of ${run.finetune?.epochs ?? '?'})`);
  lines.push(`  total ${r.time_s.toFixed(1)} s`);
  return lines.join('\n');
}

export const graftCommand: Command = {
  name: spec.name,
  summary: 'graft linearity into a ReLU network, fine-tune, export ONNX, compare certified accuracy',
  usage: spec.usage,
  async run(argv, io) {
    const args = parseArgs(spec, argv, io);
    if (!args) return 0;
    applyLimitFlags(args.flags);
    const [file] = args.positionals;
    const f = args.flags;
    const mode = f.mode ?? 'graft';
    const job: GraftJob = {
      model: file, data: f.data, train: f.train, eps: f.eps, ratios: parseRatios(f.ratio),
      modes: mode === 'both' ? ['graft', 'prune'] : [mode as GraftMode],
      criterion: f.criterion as GraftCriterion | undefined, epochs: f.epochs, count: f.count, alphaCount: f['alpha-count'],
      samplesPerEpoch: f['samples-per-epoch'], instabilityMethod: f['instability-method'] as 'crown' | 'ibp' | undefined,
      instabilityCount: f['instability-count'], stabilityWeight: f.stability, optimizer: f.optimizer as OptimizerKind | undefined,
      workers: f.workers, backend: backendPreference(f.backend), out: f.out,
      log: (line) => note(io, line),
      onProgress: progressPrinter(io),
    };
    const prepared = prepareGraft(job);
    let report: GraftRunReport;
    try {
      report = await runGraft(job, prepared);
    } catch (error) {
      if (error instanceof GraftCancelledError) throw new InputError(file, 'the run was cancelled');
      throw error;
    }
    writeResult(io, f.json, report, () => formatGraft(report));
    return 0;
  },
};

/** Progress lines on stderr, at most one per stage message every 5 s. */
export function progressPrinter(io: { stderr(text: string): void }): (p: StageProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 5000 && !(p.stage === 'finetune' && p.message.startsWith('epoch') && p.message.includes('validation'))) return;
    last = now;
    io.stderr(`  [${p.stage}] ${p.message}\n`);
  };
}
