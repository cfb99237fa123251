// The graftcert/bounds, graftcert/certify and graftcert/cancel requests: parameter checks, progress, cancellation.
import { basename } from 'node:path';
import type { CancellationToken, Connection, WorkDoneProgressReporter } from 'vscode-languageserver/node';
import {
  buildBoundGraph,
  computeBounds,
  linfBall,
  marginSpec,
  toBoundsReport,
  UnsupportedModelError,
} from '../bounds/index';
import { certifyDataSet } from '../certify/dataset';
import { InputError } from '../commands/args';
import { certifyInputError, loadData } from '../commands/certify';
import type { DataSet } from '../data/index';
import type { Graph } from '../ir/graph';
import { loadModelBytes } from '../onnx/load';
import type {
  BoundMethod,
  BoundsParams,
  BoundsReport,
  CancelParams,
  CancelResult,
  CertifyParams,
  CertifyReport,
} from '../protocol/requests';
import { InvalidParamsError, modelPath } from './model-target';
import { assertUnchanged, type ModelSnapshot, snapshotModel } from './model-snapshot';

/** A finished run with the model version it ran on, so the editor shows it only on that version. */
export interface RunOutcome<R> {
  report: R;
  snapshot: ModelSnapshot;
  graph: Graph;
}

const methods: readonly BoundMethod[] = ['ibp', 'crown', 'alpha-crown'];

/** Running jobs by their client-chosen id, so graftcert/cancel can stop them. */
export class JobRegistry {
  private readonly running = new Map<string, AbortController>();

  /** Registers `jobId` (when given) for the lifetime of `work`. */
  async run<T>(jobId: string | undefined, controller: AbortController, work: () => Promise<T>): Promise<T> {
    if (jobId === undefined) return work();
    if (typeof jobId !== 'string' || jobId === '') throw new InvalidParamsError('"jobId" must be a non-empty string');
    if (this.running.has(jobId)) throw new InvalidParamsError(`a job with id "${jobId}" is already running`);
    this.running.set(jobId, controller);
    try {
      return await work();
    } finally {
      this.running.delete(jobId);
    }
  }

  cancel(params: CancelParams): CancelResult {
    if (typeof params?.jobId !== 'string') throw new InvalidParamsError('"jobId" must be a string');
    const controller = this.running.get(params.jobId);
    if (controller === undefined || controller.signal.aborted) return { cancelled: false };
    controller.abort();
    return { cancelled: true };
  }
}

function checkEps(eps: unknown): number {
  if (typeof eps !== 'number') throw new InvalidParamsError('"eps" must be a number');
  if (!Number.isFinite(eps) || eps <= 0) throw new InputError('eps', `${eps} is not a positive number`, 'give a radius such as 0.01');
  return eps;
}

function checkMethod(method: unknown): BoundMethod {
  if (method === undefined) return 'crown';
  if (!methods.includes(method as BoundMethod)) throw new InvalidParamsError(`"method" must be one of ${methods.join(', ')}`);
  return method as BoundMethod;
}

function checkClip(clip: unknown): [number, number] | undefined {
  if (clip === undefined || clip === null) return undefined;
  if (!Array.isArray(clip) || clip.length !== 2 || !clip.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new InvalidParamsError('"clip" must be [lo, hi], two finite numbers');
  }
  if (clip[0] > clip[1]) throw new InputError('clip', `[${clip.join(', ')}] has lo > hi`, 'give [lo, hi] with lo ≤ hi');
  return [clip[0], clip[1]];
}

/** graftcert/bounds: the same document as `graftcert bounds --json`. */
export function answerBounds(params: BoundsParams): BoundsReport {
  return runBounds(params).report;
}

/** graftcert/bounds with the model version it bounded. */
export function runBounds(params: BoundsParams): RunOutcome<BoundsReport> {
  const file = modelPath(params);
  const eps = checkEps(params.eps);
  const method = checkMethod(params.method);
  const clip = checkClip(params.clip);
  const snapshot = snapshotModel(file);
  const model = loadModelBytes(snapshot.bytes, file);
  const name = basename(file);
  let boundGraph;
  try {
    boundGraph = buildBoundGraph(model.graph, method);
  } catch (error) {
    if (error instanceof UnsupportedModelError) throw new InputError(name, error.message);
    throw error;
  }
  let center: ArrayLike<number>;
  if (params.center === undefined || params.center === null) center = new Float64Array(boundGraph.inputSize).fill(0.5);
  else {
    if (!Array.isArray(params.center) || !params.center.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new InvalidParamsError('"center" must be an array of finite numbers');
    }
    if (params.center.length !== boundGraph.inputSize) {
      throw new InputError('center', `has ${params.center.length} values, ${name} has ${boundGraph.inputSize} inputs`, 'pass one value per model input, C order');
    }
    center = params.center;
  }
  let margin: ReturnType<typeof marginSpec> | null = null;
  if (params.margin !== undefined && params.margin !== null) {
    const label = params.margin;
    if (!Number.isInteger(label) || label < 0 || label >= boundGraph.outputSize) {
      throw new InputError('margin', `label ${label} is not an output of ${name} (0 to ${boundGraph.outputSize - 1})`, 'pass a class index');
    }
    margin = marginSpec(boundGraph.outputSize, label);
  }
  const result = computeBounds(boundGraph, linfBall(center, eps, clip), { method, spec: margin ?? undefined });
  const report = toBoundsReport(result, eps, margin === null ? null : { label: margin.label, others: margin.others });
  assertUnchanged(snapshot, 'bounded');
  return { report, snapshot, graph: model.graph };
}

/**
 * graftcert/certify: the `certify --json` document, with work-done progress and cancellation. The model is read once
 * (workers decode those bytes); a file that changed on disk meanwhile makes the run answer ModelChangedError.
 */
export async function answerCertify(
  connection: Connection,
  jobs: JobRegistry,
  params: CertifyParams,
  token: CancellationToken,
): Promise<RunOutcome<CertifyReport> & { dataSet: DataSet }> {
  const file = modelPath(params);
  const eps = checkEps(params.eps);
  const method = checkMethod(params.method);
  const clip = checkClip(params.clip);
  if (typeof params.data !== 'string' || params.data.trim() === '') throw new InvalidParamsError('"data" must be a non-empty string');
  for (const key of ['count', 'offset', 'workers'] as const) {
    const v = params[key];
    if (v !== undefined && (!Number.isInteger(v) || v < (key === 'offset' ? 0 : 1))) {
      throw new InvalidParamsError(`"${key}" must be an integer ≥ ${key === 'offset' ? 0 : 1}`);
    }
  }
  const snapshot = snapshotModel(file);
  const model = loadModelBytes(snapshot.bytes, file);
  const dataSet = loadData(params.data, params.count ?? 100, params.offset ?? 0);

  const controller = new AbortController();
  const cancelOnRequest = token.onCancellationRequested(() => controller.abort());
  const progress = await startProgress(connection, params, controller);
  progress.begin(`Certifying ${basename(file)}`, 0, `0/${dataSet.count} samples`, true);
  let lastReport = 0;
  let report: CertifyReport;
  try {
    report = await jobs.run(params.jobId, controller, () =>
      certifyDataSet(model, dataSet, {
        eps,
        method,
        clip,
        workers: params.workers,
        modelBytes: snapshot.bytes,
        dataLabel: params.data,
        signal: controller.signal,
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastReport < 100 && p.done < p.total) return;
          lastReport = now;
          progress.report(Math.floor((100 * p.done) / p.total), `${p.done}/${p.total} samples, ${p.certified} certified`);
        },
      }),
    );
  } catch (error) {
    throw certifyInputError(basename(file), error);
  } finally {
    progress.done();
    cancelOnRequest.dispose();
  }
  assertUnchanged(snapshot, 'certified');
  return { report, snapshot, graph: model.graph, dataSet };
}

/** The client's token when it sent one, else a server-initiated progress (a no-op when the client has none). */
async function startProgress(connection: Connection, params: CertifyParams, controller: AbortController): Promise<WorkDoneProgressReporter> {
  if (params.workDoneToken !== undefined) return connection.window.attachWorkDoneProgress(params.workDoneToken);
  const reporter = await connection.window.createWorkDoneProgress();
  reporter.token.onCancellationRequested(() => controller.abort());
  return reporter;
}
