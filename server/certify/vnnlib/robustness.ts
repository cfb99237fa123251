// Generates the standard L∞ classification-robustness property in the VNN-COMP layout.
import { formatReal } from './numbers';

export interface RobustnessOptions {
  /** Centre x0, flattened in C order. */
  center: ArrayLike<number>;
  /** L∞ radius. */
  eps: number;
  /** The true class t: unsafe if some other output Y_j ≥ Y_t. */
  label: number;
  nOutputs: number;
  /** Valid input range, e.g. [0, 1] for images; the box is clipped to it. */
  clip?: [number, number];
  /** First comment line; defaults to one naming the label and ε. */
  comment?: string;
}

/** The property text: declare-const per variable, two box asserts per input, the or/and output block. */
export function robustnessProperty(options: RobustnessOptions): string {
  const { center, eps, label, nOutputs, clip } = options;
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`eps must be a finite number ≥ 0, got ${eps}`);
  if (!Number.isInteger(nOutputs) || nOutputs < 2) throw new RangeError(`a robustness property needs at least 2 outputs, got ${nOutputs}`);
  if (!Number.isInteger(label) || label < 0 || label >= nOutputs) throw new RangeError(`label ${label} is not an output index in 0..${nOutputs - 1}`);
  if (clip && !(clip[0] <= clip[1])) throw new RangeError(`clip range [${clip}] is empty`);
  const lines: string[] = [];
  const comment = options.comment ?? `Robustness property with label: ${label}, L-inf radius ${eps}.`;
  for (const line of comment.split('\n')) lines.push(`; ${line}`);
  lines.push('');
  for (let i = 0; i < center.length; i++) lines.push(`(declare-const X_${i} Real)`);
  lines.push('');
  for (let j = 0; j < nOutputs; j++) lines.push(`(declare-const Y_${j} Real)`);
  lines.push('', '; Input constraints:');
  for (let i = 0; i < center.length; i++) {
    let lo = center[i] - eps;
    let hi = center[i] + eps;
    if (clip) {
      lo = Math.min(Math.max(lo, clip[0]), clip[1]);
      hi = Math.max(Math.min(hi, clip[1]), clip[0]);
    }
    lines.push(`(assert (<= X_${i} ${formatReal(hi)}))`, `(assert (>= X_${i} ${formatReal(lo)}))`, '');
  }
  lines.push('; Output constraints:', '(assert (or');
  for (let j = 0; j < nOutputs; j++) if (j !== label) lines.push(`    (and (>= Y_${j} Y_${label}))`);
  lines.push('))', '');
  return lines.join('\n');
}
