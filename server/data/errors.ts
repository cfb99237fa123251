// The one error type the data-set layer throws: a sentence a user can act on.

/**
 * A data set could not be loaded or does not fit the model. `message` is one sentence naming the
 * file, what is wrong and a way out; `file` is the path (or spec) it concerns.
 */
export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

/** Builds the standard sentence: "<file>: <problem>; <way out>." */
export function dataError(file: string, problem: string, wayOut: string): DataError {
  const sentence = `${file}: ${problem}; ${wayOut}`;
  return new DataError(file, /[.!?]$/.test(sentence) ? sentence : sentence + '.');
}
