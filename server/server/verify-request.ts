// The graftcert/verify request: parameter checks, work-done progress, cancellation, optional result file.
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CancellationToken, Connection, WorkDoneProgressReporter } from 'vscode-languageserver/node';
import { verifyProperty } from '../certify/verify/index';
import { writeResultFile } from '../certify/vnnlib/index';
import { InputError } from '../commands/args';
import { loadProperty } from '../commands/verify';
import { loadModelBytes } from '../onnx/load';
import type { VerifyParams, VerifyReport } from '../protocol/requests';
import type { JobRegistry } from './certify-requests';
import { resolveInside } from './contained-path';
import { InvalidParamsError, modelPath } from './model-target';
import { assertUnchanged, snapshotModel } from './model-snapshot';

function propertyPath(property: unknown): string {
  if (typeof property !== 'string' || property === '') throw new InvalidParamsError('"property" must be a non-empty path or file: URI');
  if (!property.startsWith('file:')) return property;
  try {
    return fileURLToPath(property);
  } catch {
    throw new InputError(property, 'is not a valid file: URI', 'open the property from a local folder');
  }
}

export async function answerVerify(
  connection: Connection,
  jobs: JobRegistry,
  params: VerifyParams,
  token: CancellationToken,
  /** The workspace folders: a result file is only written inside one of them (when any is open). */
  workspaceRoots: readonly string[] = [],
): Promise<VerifyReport> {
  const file = modelPath(params);
  const propertyFile = propertyPath(params.property);
  const timeout = params.timeout_s ?? 60;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) throw new InvalidParamsError('"timeout_s" must be a positive number');
  if (params.results !== undefined && (typeof params.results !== 'string' || params.results === '')) throw new InvalidParamsError('"results" must be a non-empty path');
  if (params.workers !== undefined && (!Number.isInteger(params.workers) || params.workers < 1)) throw new InvalidParamsError('"workers" must be an integer ≥ 1');
  const results = params.results === undefined ? undefined : resultsPath(params.results, workspaceRoots);
  const snapshot = snapshotModel(file);
  const model = loadModelBytes(snapshot.bytes, file);
  const property = loadProperty(propertyFile, model.graph);

  const controller = new AbortController();
  const cancelOnRequest = token.onCancellationRequested(() => controller.abort());
  const progress = await startProgress(connection, params, controller);
  progress.begin(`Verifying ${basename(propertyFile)} on ${basename(file)}`, undefined, 'falsification', true);
  let last = 0;
  try {
    const o = await jobs.run(params.jobId, controller, () =>
      verifyProperty(model.graph, property, {
        timeout_s: timeout,
        workers: params.workers,
        modelFile: file,
        signal: controller.signal,
        onProgress: (message) => {
          const now = Date.now();
          if (now - last < 200) return;
          last = now;
          progress.report(message);
        },
      }),
    );
    // A result of the old model is never written or shown as the new one's.
    assertUnchanged(snapshot, 'verified');
    if (results !== undefined)
      writeResultFile(results, o.counterexample !== null ? { status: 'sat', counterexample: o.counterexample } : { status: o.result });
    const decidedBy = o.method === null ? null : o.method === 'pgd' ? 'pgd' : o.method === 'bounds' ? 'bounds' : 'branch-and-bound';
    return {
      result: o.result,
      counterexample: o.counterexample === null ? null : { x: Array.from(o.counterexample.x), y: Array.from(o.counterexample.y) },
      decidedBy,
      branches: o.domains,
      reason: o.reason,
      time_s: o.time_s,
    };
  } finally {
    progress.done();
    cancelOnRequest.dispose();
  }
}

/** The result file, refused (one sentence) when it would land outside every open workspace folder. */
function resultsPath(results: string, roots: readonly string[]): string {
  if (roots.length === 0) return results;
  const refusals: string[] = [];
  for (const root of roots) {
    const checked = resolveInside(root, root, results, `the result file ${results}`);
    if (checked.ok) return checked.path;
    refusals.push(checked.reason);
  }
  throw new InputError(undefined, refusals[0]);
}

async function startProgress(connection: Connection, params: VerifyParams, controller: AbortController): Promise<WorkDoneProgressReporter> {
  if (params.workDoneToken !== undefined) return connection.window.attachWorkDoneProgress(params.workDoneToken);
  const reporter = await connection.window.createWorkDoneProgress();
  reporter.token.onCancellationRequested(() => controller.abort());
  return reporter;
}
