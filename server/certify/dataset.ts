// Data-set certification: clean and certified accuracy at ε over a data set, on one thread or a worker pool.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { buildBoundGraph, checkBoundMemory } from '../bounds/index';
import { checkFits, type DataSet } from '../data/index';
import type { LoadedModel } from '../onnx/load';
import type { BoundMethod, CertifyReport, LayerBoundsSummary } from '../protocol/requests';
import { runPool } from './pool';
import { type CertifySettings, reluLayers, type ReluLayerInfo, SampleCertifier, type SampleOutcome } from './sample';

export { argmax, type SampleOutcome } from './sample';

export interface CertifyProgress {
  done: number;
  total: number;
  correct: number;
  certified: number;
}

export interface CertifyOptions {
  eps: number;
  /** Default 'crown'. */
  method?: BoundMethod;
  /** Certify only the first `count` samples of the data set; default all of them. */
  count?: number;
  /** The box each ball is clipped to; default the data set's range. */
  clip?: readonly [number, number];
  /** Threads; default min(2, available cores). 1 runs in this thread. */
  workers?: number;
  /**
   * The model's ONNX bytes, for workers to decode when `model` is not (or no longer) the file at `model.file`
   * (e.g. a grafted model held in memory). Without them workers load `model.file`, and a missing file means one thread.
   */
  modelBytes?: Uint8Array;
  /** Shown as `data` in the report; default the data set's name. */
  dataLabel?: string;
  onProgress?(progress: CertifyProgress): void;
  /** Aborting stops the run: workers are terminated and the report covers the samples done, marked cancelled. */
  signal?: AbortSignal;
}

/** A setting that makes no sense (ε ≤ 0, an empty clip box, ...): a one-sentence reason naming the setting. */
export class CertifySettingError extends Error {
  constructor(
    readonly setting: string,
    readonly problem: string,
    readonly remedy: string,
  ) {
    super(`${setting}: ${problem} — ${remedy}`);
    this.name = 'CertifySettingError';
  }
}

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

/**
 * Certifies each sample of `dataSet` at L∞ radius `eps` with margin bounds on its true label (a misclassified sample
 * is never certified). Throws CertifySettingError, DataError (data not fitting the model) or UnsupportedModelError
 * before any work starts. The figures do not depend on the number of workers.
 */
export async function certifyDataSet(model: LoadedModel, dataSet: DataSet, options: CertifyOptions): Promise<CertifyReport> {
  const started = performance.now();
  const settings = validateSettings(dataSet, options);
  const boundGraph = buildBoundGraph(model.graph, settings.method);
  // Here rather than in each worker, so that a model over the memory limit is refused with one clear error.
  checkBoundMemory(boundGraph, settings.method);
  checkFits(dataSet, model.graph.inputs[0].shape, boundGraph.outputSize);
  const layers = reluLayers(boundGraph);
  const total = Math.min(options.count ?? dataSet.count, dataSet.count);
  const size = dataSet.inputs.length / dataSet.count;
  const workers = options.workers ?? defaultWorkerCount();
  if (!Number.isInteger(workers) || workers < 1) throw new CertifySettingError('workers', `${workers} is not a positive integer`, 'pass 1 or more');

  const outcomes: (SampleOutcome | undefined)[] = new Array(total);
  const progress: CertifyProgress = { done: 0, total, correct: 0, certified: 0 };
  const record = (outcome: SampleOutcome) => {
    outcomes[outcome.index - dataSet.offset] = outcome;
    progress.done++;
    if (outcome.prediction === outcome.label) progress.correct++;
    if (outcome.certified) progress.certified++;
    options.onProgress?.({ ...progress });
  };

  let cancelled = false;
  const workersCanLoad = options.modelBytes !== undefined || existsSync(model.file);
  const threads = workersCanLoad ? Math.min(workers, total) : 1;
  if (threads === 1) {
    const certifier = new SampleCertifier(model.graph, settings, boundGraph);
    for (let k = 0; k < total; k++) {
      // Yield between samples so an abort (or an LSP cancel message) gets through.
      await yieldToEventLoop();
      if (options.signal?.aborted) {
        cancelled = true;
        break;
      }
      record(certifier.certify(dataSet.offset + k, dataSet.inputs.subarray(k * size, (k + 1) * size), dataSet.labels[k]));
    }
  } else {
    const indices = Array.from({ length: total }, (_, k) => dataSet.offset + k);
    ({ cancelled } = await runPool({
      modelFile: model.file,
      modelBytes: options.modelBytes,
      settings,
      workers: threads,
      samples: { indices, labels: dataSet.labels.subarray(0, total), inputs: dataSet.inputs.subarray(0, total * size) },
      onOutcome: record,
      signal: options.signal,
    }));
  }
  const done = outcomes.filter((o): o is SampleOutcome => o !== undefined);
  const time_s = (performance.now() - started) / 1000;
  return buildReport(model.file, options.dataLabel ?? dataSet.name, dataSet.offset, settings, layers, done, time_s, threads, cancelled);
}

function validateSettings(dataSet: DataSet, options: CertifyOptions): CertifySettings {
  const { eps } = options;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) {
    throw new CertifySettingError('eps', `${eps} is not a positive number`, 'give a radius such as 0.01');
  }
  const method = options.method ?? 'crown';
  if (!['ibp', 'crown', 'alpha-crown'].includes(method)) {
    throw new CertifySettingError('method', `'${method}' is not one of ibp, crown, alpha-crown`, 'pick one of those');
  }
  const clip = options.clip ?? dataSet.range;
  if (clip.length !== 2 || !clip.every(Number.isFinite) || clip[0] > clip[1]) {
    throw new CertifySettingError('clip', `[${clip.join(', ')}] is not a range LO ≤ HI of finite numbers`, 'write e.g. 0,1');
  }
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 1)) {
    throw new CertifySettingError('count', `${options.count} is not a positive integer`, 'pass 1 or more');
  }
  return { eps, method, clip: [clip[0], clip[1]] };
}

/** Totals over the samples in index order (so sums are bit-identical whatever the worker count). */
function buildReport(
  model: string,
  data: string,
  offset: number,
  settings: CertifySettings,
  layerInfo: readonly ReluLayerInfo[],
  outcomes: readonly SampleOutcome[],
  time_s: number,
  workers: number,
  cancelled: boolean,
): CertifyReport {
  const n = outcomes.length;
  const mean = (pick: (o: SampleOutcome) => number) => (n === 0 ? 0 : outcomes.reduce((s, o) => s + pick(o), 0) / n);
  const layers: LayerBoundsSummary[] = layerInfo.map((l, i) => ({
    name: l.name,
    size: l.size,
    unstable: mean((o) => o.unstable[i]),
    active: mean((o) => o.active[i]),
    inactive: mean((o) => o.inactive[i]),
    grafted: mean((o) => o.grafted[i]),
  }));
  return {
    model,
    data,
    eps: settings.eps,
    method: settings.method,
    count: n,
    offset,
    clip: settings.clip,
    clean_accuracy: mean((o) => (o.prediction === o.label ? 1 : 0)),
    certified_accuracy: mean((o) => (o.certified ? 1 : 0)),
    layers,
    samples: outcomes.map((o) => ({
      index: o.index,
      label: o.label,
      prediction: o.prediction,
      certified: o.certified,
      margin_lower_min: o.marginLowerMin,
      unstable: o.unstable,
    })),
    time_s,
    samples_per_s: time_s > 0 ? n / time_s : 0,
    workers,
    cancelled,
  };
}
