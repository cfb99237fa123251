// Turns a loader's ModelError into the CLI's one-line bad-input error (exit 2); anything else is a bug.
import { ModelError } from '../onnx/errors';
import { InputError } from './args';

const defaultRemedy = 'check that it is an ONNX model file (a protobuf ModelProto)';

/** Rethrows non-model errors unchanged, so real bugs still crash loudly with their stack. */
export function modelInputError(file: string, error: unknown): unknown {
  if (!(error instanceof ModelError)) return error;
  // The loader's reason usually carries its own way out after an em dash.
  const hasRemedy = error.reason.includes(' — ');
  return new InputError(file, error.reason, hasRemedy ? undefined : defaultRemedy);
}
