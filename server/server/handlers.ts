// Registers the custom graftcert/* requests on a connection; every handler answers errors, never crashes.
import {
  type CancellationToken,
  type Connection,
  ErrorCodes,
  LSPErrorCodes,
  type RequestType,
  ResponseError,
} from 'vscode-languageserver/node';
import { InputError } from '../commands/args';
import { inspectModelFile } from '../inspect';
import { LimitError } from '../limits';
import { ModelError } from '../onnx/errors';
import { boundsRequest, cancelRequest, certifyRequest, graftRequest, inspectRequest, modelTextRequest, verifyRequest } from '../protocol/requests';
import { answerCertify, JobRegistry, runBounds } from './certify-requests';
import { answerGraft } from './graft-request';
import type { EditorFeatures } from './editor-features';
import { InvalidParamsError, modelPath } from './model-target';
import { answerVerify } from './verify-request';

/** The methods this server answers; advertised in `initialize` so clients can tell built from planned. */
export const implementedMethods: readonly string[] = [inspectRequest.method, boundsRequest.method, certifyRequest.method, graftRequest.method, cancelRequest.method, modelTextRequest.method, verifyRequest.method];

/** `features` (the editor features of server/server/editor-features.ts) shows each bounds/certify/graft run in the model views. */
export function registerHandlers(connection: Connection, features?: EditorFeatures): void {
  handle(connection, inspectRequest, (params) => {
    // A ModelError's message names the file by its base name: right for a notification.
    return inspectModelFile(modelPath(params));
  });
  const jobs = new JobRegistry();
  handle(connection, boundsRequest, (params) => {
    const run = runBounds(params);
    features?.recordBounds(params, run);
    return run.report;
  });
  handle(connection, certifyRequest, async (params, token) => {
    const run = await answerCertify(connection, jobs, params, token);
    features?.recordCertify(run);
    return run.report;
  });
  if (features) handle(connection, modelTextRequest, (params) => features.modelText(params));
  handle(connection, verifyRequest, (params, token) => answerVerify(connection, jobs, params, token, features?.roots ?? []));
  handle(connection, graftRequest, async (params, token) => {
    const report = await answerGraft(connection, jobs, params, token);
    features?.recordGraft(params, report);
    return report;
  });
  handle(connection, cancelRequest, (params) => jobs.cancel(params));
}

/** Error `data` of a bad-input response, so clients can tell it from a server bug. */
export interface BadInputErrorData {
  kind: 'bad-input';
}

function handle<P, R>(
  connection: Connection,
  type: RequestType<P, R, void>,
  handler: (params: P, token: CancellationToken) => R | Promise<R>,
): void {
  connection.onRequest(type, async (params, token) => {
    const started = Date.now();
    try {
      const result = await handler(params, token);
      connection.console.log(`${type.method}: done in ${Date.now() - started} ms`);
      return result;
    } catch (error) {
      return toResponseError(connection, type.method, error);
    }
  });
}

function toResponseError(connection: Connection, method: string, error: unknown): ResponseError<BadInputErrorData | undefined> {
  if (error instanceof InputError) {
    connection.console.warn(`${method}: ${error.sentence}`);
    return new ResponseError(LSPErrorCodes.RequestFailed, error.sentence, { kind: 'bad-input' });
  }
  if (error instanceof ModelError || error instanceof LimitError) {
    connection.console.warn(`${method}: ${error.message}`);
    return new ResponseError(LSPErrorCodes.RequestFailed, error.message, { kind: 'bad-input' });
  }
  if (error instanceof InvalidParamsError) {
    connection.console.warn(`${method}: invalid params: ${error.message}`);
    return new ResponseError(ErrorCodes.InvalidParams, `Invalid ${method} request: ${error.message}.`, undefined);
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  connection.console.error(`${method}: internal error: ${detail}`);
  const message = error instanceof Error ? error.message : String(error);
  return new ResponseError(ErrorCodes.InternalError, `graftcert backend bug in ${method}: ${message}`, undefined);
}
