// The in-memory data set every loader produces, the sample window, and the model-fit check.
import { dataError } from './errors';

export interface DataSet {
  /** Short display name, e.g. `mnist (test)` or the inputs file's base name. */
  readonly name: string;
  /** The file (or files, joined by ` + `) the samples came from; used in messages. */
  readonly source: string;
  /** `count × sizeOf(inputShape)` values, samples contiguous, C order. */
  readonly inputs: Float32Array;
  /** One class index per sample. */
  readonly labels: Int32Array;
  /** Samples loaded (after `offset` / `count`). */
  readonly count: number;
  /** Samples in the source before the window was applied (MNIST test: 10 000, train: 60 000). */
  readonly total: number;
  /** Index in the source of the first loaded sample. */
  readonly offset: number;
  /** Shape of one sample, without batch dimension (MNIST: [1, 28, 28]). */
  readonly inputShape: number[];
  /**
   * Value domain of the inputs: [0, 1] for images stored as uint8 (scaled by 1/255), otherwise the
   * observed [min, max] of the loaded values. Certification clips perturbed inputs to it.
   */
  readonly range: [number, number];
}

export interface LoadOptions {
  /** Samples to load; default: all from `offset` on. More than available loads what is there. */
  count?: number;
  /** Index of the first sample to load; default 0. */
  offset?: number;
}

export interface SampleWindow {
  readonly offset: number;
  readonly count: number;
}

/** The `[offset, offset + count)` window of a source of `total` samples, validated. */
export function sampleWindow(file: string, total: number, options: LoadOptions = {}): SampleWindow {
  const offset = options.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) {
    throw dataError(file, `offset ${offset} is not a non-negative integer`, 'pass an offset of 0 or more');
  }
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 1)) {
    throw dataError(file, `count ${options.count} is not a positive integer`, 'pass a count of 1 or more');
  }
  if (total === 0) throw dataError(file, 'holds no samples', 'pass a data set with at least one sample');
  if (offset >= total) {
    throw dataError(file, `offset ${offset} is past the last sample (the file has ${total})`, `pass an offset below ${total}`);
  }
  const count = Math.min(options.count ?? total - offset, total - offset);
  return { offset, count };
}

export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('×');
}

/** Observed [min, max]; throws on NaN or ±Infinity, naming the first bad sample. */
export function finiteRange(file: string, inputs: Float32Array, sampleSize: number, offset: number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < inputs.length; i++) {
    const v = inputs[i];
    if (!Number.isFinite(v)) {
      const sample = offset + Math.floor(i / sampleSize);
      throw dataError(file, `sample ${sample} holds ${v} at position ${i % sampleSize}`, 'replace non-finite values before certifying');
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** Converts label values to class indices; each must be a non-negative integer. */
export function toLabels(file: string, values: ArrayLike<number>, offset: number): Int32Array {
  const labels = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw dataError(file, `label ${offset + i} is ${v}, not a class index (a non-negative integer)`, 'store one integer class per sample');
    }
    labels[i] = v;
  }
  return labels;
}

/** Element count of a model input with dynamic dimensions (≤ 0, non-integer) counted as 1. */
function staticSize(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= Number.isInteger(d) && d > 0 ? d : 1;
  return n;
}

/**
 * Throws a DataError unless one sample of `dataSet` has as many values as the model input
 * (given with or without its batch dimension), and, when `classCount` is given, every label is
 * a valid output index.
 */
export function checkFits(dataSet: DataSet, modelInputShape: readonly number[], classCount?: number): void {
  const sampleSize = sizeOfShape(dataSet.inputShape);
  const withBatch = staticSize(modelInputShape);
  const withoutBatch = staticSize(modelInputShape.slice(1));
  if (sampleSize !== withBatch && sampleSize !== withoutBatch) {
    const expected = modelInputShape.length > 1 ? withoutBatch : withBatch;
    const shown = modelInputShape.map((d) => (Number.isInteger(d) && d > 0 ? String(d) : '?')).join('×');
    throw dataError(
      dataSet.source,
      `has ${sampleSize} values per sample (${formatShape(dataSet.inputShape)}), the model expects ${expected} (${shown})`,
      'pass a data set whose samples match the model input',
    );
  }
  if (classCount !== undefined) {
    for (let i = 0; i < dataSet.count; i++) {
      if (dataSet.labels[i] >= classCount) {
        throw dataError(
          dataSet.source,
          `label ${dataSet.offset + i} is ${dataSet.labels[i]}, the model has only ${classCount} outputs`,
          'pass labels that index the model outputs',
        );
      }
    }
  }
}
