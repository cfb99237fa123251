// The graftcert/graft request: the `graft` command's job with work-done progress and cancellation.
import { basename } from 'node:path';
import type { CancellationToken, Connection, WorkDoneProgressReporter } from 'vscode-languageserver/node';
import { InputError } from '../commands/args';
import { prepareGraft, runGraft } from '../commands/graft';
import { GraftCancelledError } from '../graft/score';
import type { GraftParams, GraftReport } from '../protocol/requests';
import type { JobRegistry } from './certify-requests';
import { InvalidParamsError, modelPath } from './model-target';
import { assertUnchanged, snapshotModel } from './model-snapshot';

/** graftcert/graft: one ratio, one mode; the report of the exported model against the original. */
export async function answerGraft(connection: Connection, jobs: JobRegistry, params: GraftParams, token: CancellationToken): Promise<GraftReport> {
  const file = modelPath(params);
  if (typeof params.eps !== 'number') throw new InvalidParamsError('"eps" must be a number');
  if (typeof params.ratio !== 'number') throw new InvalidParamsError('"ratio" must be a number');
  if (typeof params.data !== 'string' || params.data.trim() === '') throw new InvalidParamsError('"data" must be a non-empty string');
  if (typeof params.out !== 'string' || params.out.trim() === '') throw new InvalidParamsError('"out" must be a non-empty path');
  for (const key of ['epochs', 'count'] as const) {
    const v = params[key];
    if (v !== undefined && (!Number.isInteger(v) || v < (key === 'epochs' ? 0 : 1))) throw new InvalidParamsError(`"${key}" must be an integer ≥ ${key === 'epochs' ? 0 : 1}`);
  }
  const controller = new AbortController();
  const job = {
    model: file, data: params.data, eps: params.eps, ratios: [params.ratio], modes: [params.mode ?? 'graft'] as const,
    criterion: params.criterion, epochs: params.epochs, count: params.count, out: params.out, signal: controller.signal,
  };
  // Taken before the graft reads the model: any later change to the file shows at the end.
  const snapshot = snapshotModel(file);
  const prepared = prepareGraft(job);
  const cancelOnRequest = token.onCancellationRequested(() => controller.abort());
  const progress = await startProgress(connection, params, controller);
  progress.begin(`Grafting ${basename(file)}`, 0, 'certifying the original model', true);
  let last = 0;
  try {
    const run = await jobs.run(params.jobId, controller, () =>
      runGraft({
        ...job,
        onProgress: (p) => {
          const now = Date.now();
          if (now - last < 200) return;
          last = now;
          progress.report(`${p.stage}: ${p.message}`);
        },
      }, prepared),
    );
    // The grafted model was trained from the old bytes: its report must not stand for the new file.
    assertUnchanged(snapshot, 'grafted');
    return run.runs[0];
  } catch (error) {
    if (error instanceof GraftCancelledError || controller.signal.aborted) throw new InputError(basename(file), 'grafting was cancelled', 'start it again to get a model');
    throw error;
  } finally {
    progress.done();
    cancelOnRequest.dispose();
  }
}

async function startProgress(connection: Connection, params: GraftParams, controller: AbortController): Promise<WorkDoneProgressReporter> {
  if (params.workDoneToken !== undefined) return connection.window.attachWorkDoneProgress(params.workDoneToken);
  const reporter = await connection.window.createWorkDoneProgress();
  reporter.token.onCancellationRequested(() => controller.abort());
  return reporter;
}
