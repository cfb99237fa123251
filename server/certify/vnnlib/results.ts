// Writes and reads the VNN-COMP result file: one word, and after `sat` the counterexample.
import { readFileSync, writeFileSync } from 'node:fs';
import { formatReal } from './numbers';

export type VerificationStatus = 'sat' | 'unsat' | 'timeout' | 'unknown' | 'error';

export interface Counterexample {
  /** Input values, flattened in C order. */
  x: ArrayLike<number>;
  /** Output values the model gives on `x`. */
  y: ArrayLike<number>;
}

export interface VerificationResult {
  status: VerificationStatus;
  /** Present exactly when status is `sat`. */
  counterexample?: Counterexample;
}

export interface ReadResult {
  status: VerificationStatus;
  counterexample?: { x: Float64Array; y: Float64Array };
}

const STATUS_WORDS: Record<string, VerificationStatus> = {
  sat: 'sat',
  unsat: 'unsat',
  timeout: 'timeout',
  unknown: 'unknown',
  error: 'error',
  // VNN-COMP 2021 words.
  violated: 'sat',
  holds: 'unsat',
};

/** The text of a result file. A `sat` result must carry its (already re-checked) counterexample. */
export function formatResultFile(result: VerificationResult): string {
  if (!(result.status in STATUS_WORDS) || STATUS_WORDS[result.status] !== result.status) {
    throw new Error(`unknown verification status '${result.status}'; use sat, unsat, timeout, unknown or error`);
  }
  if (result.status !== 'sat') return result.status + '\n';
  const ce = result.counterexample;
  if (!ce) throw new Error('a sat result needs its counterexample');
  const lines = ['sat', '('];
  for (let i = 0; i < ce.x.length; i++) lines.push(`(X_${i} ${formatReal(ce.x[i])})`);
  for (let j = 0; j < ce.y.length; j++) lines.push(`(Y_${j} ${formatReal(ce.y[j])})`);
  lines.push(')');
  return lines.join('\n') + '\n';
}

export function writeResultFile(path: string, result: VerificationResult): void {
  writeFileSync(path, formatResultFile(result));
}

/** Reads a result file's text (ours or another tool's; the 2021 words holds/violated are mapped). */
export function parseResultFile(text: string, file = 'result file'): ReadResult {
  const trimmed = text.replace(/^\s+/, '');
  const firstLine = trimmed.split(/\r?\n/, 1)[0].trim();
  const status = STATUS_WORDS[firstLine.toLowerCase()];
  if (!status) {
    throw new Error(`${file}: first line '${firstLine.slice(0, 40)}' is not a result word; expected sat, unsat, timeout, unknown or error`);
  }
  if (status !== 'sat') return { status };
  const body = trimmed.slice(trimmed.indexOf(firstLine) + firstLine.length).replace(/\s+/g, ' ').trim();
  if (body === '') return { status };
  if (!body.startsWith('(') || !body.endsWith(')')) throw new Error(`${file}: the counterexample must be written as ( (X_0 v) ... (Y_0 v) ... )`);
  const x: number[] = [];
  const y: number[] = [];
  const entry = /\(\s*([XY])_(\d+)\s+([^\s()]+)\s*\)/g;
  const inner = body.slice(1, -1);
  let consumed = 0;
  for (let m = entry.exec(inner); m; m = entry.exec(inner)) {
    if (inner.slice(consumed, m.index).trim() !== '') throw new Error(`${file}: unexpected text '${inner.slice(consumed, m.index).trim().slice(0, 40)}' in the counterexample`);
    consumed = m.index + m[0].length;
    const target = m[1] === 'X' ? x : y;
    const index = Number(m[2]);
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'nan' && m[3] !== 'NaN') throw new Error(`${file}: value '${m[3]}' of ${m[1]}_${index} is not a number`);
    if (index !== target.length) throw new Error(`${file}: ${m[1]}_${index} is out of order; expected ${m[1]}_${target.length}`);
    if (m[1] === 'X' && y.length > 0) throw new Error(`${file}: X_${index} comes after the outputs; list all X entries first`);
    target.push(value);
  }
  if (inner.slice(consumed).trim() !== '') throw new Error(`${file}: unexpected text '${inner.slice(consumed).trim().slice(0, 40)}' in the counterexample`);
  return { status, counterexample: { x: Float64Array.from(x), y: Float64Array.from(y) } };
}

export function readResultFile(path: string): ReadResult {
  return parseResultFile(readFileSync(path, 'utf8'), path);
}
