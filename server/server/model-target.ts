// Resolves a request's ModelTarget ({ uri } or { path }) to a readable file path, or a one-sentence InputError.
import { fileURLToPath } from 'node:url';
import { InputError, requireFile } from '../commands/args';
import type { ModelTarget } from '../protocol/requests';

export function modelPath(target: ModelTarget | null | undefined): string {
  const uri = target?.uri;
  const path = target?.path;
  if ((uri === undefined) === (path === undefined)) {
    throw new InvalidParamsError('the request must name the model by exactly one of "uri" or "path"');
  }
  let file: string;
  if (path !== undefined) {
    if (typeof path !== 'string' || path === '') throw new InvalidParamsError('"path" must be a non-empty string');
    file = path;
  } else {
    if (typeof uri !== 'string' || !uri.startsWith('file:')) {
      throw new InputError(String(uri), 'is not a file: URI', 'open the model from a local folder');
    }
    try {
      file = fileURLToPath(uri);
    } catch {
      throw new InputError(uri, 'is not a valid file: URI', 'open the model from a local folder');
    }
  }
  requireFile(file, 'model');
  return file;
}

/** Malformed request parameters (a client bug, not a user's mistake): answered with InvalidParams. */
export class InvalidParamsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidParamsError';
  }
}
