// The one error type a model load raises: a user sentence naming the file, what is wrong and a way out.
import { basename } from 'node:path';

export class ModelError extends Error {
  /** The model file as the user named it (a path, or a label for in-memory bytes). */
  readonly file: string;
  /** Distinct op types the engine cannot run, all of them; empty when the problem is something else. */
  readonly unsupportedOps: string[];
  /** The sentence without the file prefix, for callers that show the file elsewhere. */
  readonly reason: string;

  constructor(file: string, reason: string, unsupportedOps: string[] = []) {
    // Names read from a corrupt file may hold control characters: keep the sentence on one line.
    reason = reason.replace(/[\x00-\x1f\x7f]+/g, ' ');
    super(`${basename(file) || file}: ${reason}`);
    this.name = 'ModelError';
    this.file = file;
    this.reason = reason;
    this.unsupportedOps = unsupportedOps;
  }
}
