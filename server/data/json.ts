// Reads a JSON data file `{ "inputs": [[...], ...], "labels": [...] }`; each sample may be flat or nested.
import { readFileSync } from 'node:fs';
import { dataError } from './errors';
import { formatShape, sampleWindow, sizeOfShape, type LoadOptions } from './dataset';

export interface JsonSamples {
  readonly inputs: Float32Array;
  readonly inputShape: number[];
  readonly labels: number[];
  readonly total: number;
  readonly offset: number;
  readonly count: number;
}

const WAY_OUT = 'write { "inputs": [[...], ...], "labels": [...] } with one numeric array per sample';

/** Shape of a nested numeric array (the first element at each level decides). */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

/** Flattens `value` (which must have exactly `shape`) into `out` at `at`; returns the next position or a problem. */
function flatten(value: unknown, shape: readonly number[], level: number, out: Float32Array, at: number): number | string {
  if (level === shape.length) {
    if (typeof value !== 'number') return `holds ${JSON.stringify(value)} where a number belongs`;
    out[at] = value;
    return at + 1;
  }
  if (!Array.isArray(value) || value.length !== shape[level]) return `is not a ${formatShape(shape)} array like the first sample`;
  for (const item of value) {
    const next = flatten(item, shape, level + 1, out, at);
    if (typeof next === 'string') return next;
    at = next;
  }
  return at;
}

export function readJsonSamples(file: string, options: LoadOptions = {}): JsonSamples {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw dataError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw dataError(file, `is not valid JSON (${(e as Error).message})`, WAY_OUT);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw dataError(file, 'is not a JSON object', WAY_OUT);
  const { inputs, labels } = doc as { inputs?: unknown; labels?: unknown };
  if (!Array.isArray(inputs)) throw dataError(file, 'has no "inputs" array', WAY_OUT);
  if (!Array.isArray(labels)) throw dataError(file, 'has no "labels" array', WAY_OUT);
  if (inputs.length !== labels.length) {
    throw dataError(file, `has ${inputs.length} inputs but ${labels.length} labels`, 'give one label per input');
  }
  const { offset, count } = sampleWindow(file, inputs.length, options);
  const inputShape = shapeOf(inputs[offset]);
  if (inputShape.length === 0 || sizeOfShape(inputShape) === 0) {
    throw dataError(file, `input ${offset} is ${JSON.stringify(inputs[offset])}, not a non-empty array of numbers`, WAY_OUT);
  }
  const sampleSize = sizeOfShape(inputShape);
  const out = new Float32Array(count * sampleSize);
  for (let i = 0; i < count; i++) {
    const result = flatten(inputs[offset + i], inputShape, 0, out, i * sampleSize);
    if (typeof result === 'string') throw dataError(file, `input ${offset + i} ${result}`, WAY_OUT);
  }
  const picked = labels.slice(offset, offset + count);
  for (let i = 0; i < picked.length; i++) {
    if (typeof picked[i] !== 'number') {
      throw dataError(file, `label ${offset + i} is ${JSON.stringify(picked[i])}, not a class index (a non-negative integer)`, 'store one integer class per sample');
    }
  }
  return { inputs: out, inputShape, labels: picked as number[], total: inputs.length, offset, count };
}
