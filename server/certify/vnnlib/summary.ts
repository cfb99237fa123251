// Small facts about a parsed property for the UI outline: sizes, counts, L∞-ball and robustness label.
import { VnnlibProperty } from './types';

export interface PropertySummary {
  version: '1.0' | '2.0';
  inputs: number;
  outputs: number;
  /** Number of distinct input boxes. */
  boxes: number;
  /** Output disjuncts over all boxes. */
  disjuncts: number;
  /** Set when there is one box that is an L∞ ball (possibly clipped to the inputs' range). */
  isLinfBall?: { eps: number; center: Float64Array; clip?: [number, number] };
  /** Set when the output part is the standard "some other logit ≥ Y_t" of class t. */
  robustnessLabel?: number;
}

export function summarizeProperty(property: VnnlibProperty): PropertySummary {
  const summary: PropertySummary = {
    version: property.version,
    inputs: property.nInputs,
    outputs: property.nOutputs,
    boxes: property.specs.length,
    disjuncts: property.specs.reduce((n, s) => n + s.disjuncts.length, 0),
  };
  if (property.specs.length === 1) {
    const ball = linfBall(property.specs[0].box.lower, property.specs[0].box.upper);
    if (ball) summary.isLinfBall = ball;
    const label = robustnessLabel(property);
    if (label !== undefined) summary.robustnessLabel = label;
  }
  return summary;
}

/**
 * Every input has width 2ε around its centre, except inputs cut by a common clip range (width < 2ε,
 * touching the range's end). Widths are compared loosely: generators often compute x0 ± ε in float32.
 */
function linfBall(lower: Float64Array, upper: Float64Array): PropertySummary['isLinfBall'] {
  const n = lower.length;
  if (n === 0) return undefined;
  let maxWidth = 0;
  let minLo = Infinity;
  let maxHi = -Infinity;
  for (let i = 0; i < n; i++) {
    maxWidth = Math.max(maxWidth, upper[i] - lower[i]);
    minLo = Math.min(minLo, lower[i]);
    maxHi = Math.max(maxHi, upper[i]);
  }
  if (!(maxWidth > 0) || !Number.isFinite(maxWidth)) return undefined;
  const tol = 1e-5 * maxWidth + 1e-6 * Math.max(1, Math.abs(minLo), Math.abs(maxHi));
  const full: number[] = [];
  for (let i = 0; i < n; i++) if (maxWidth - (upper[i] - lower[i]) <= tol) full.push(upper[i] - lower[i]);
  full.sort((a, b) => a - b);
  const eps = full[full.length >> 1] / 2;
  const center = new Float64Array(n);
  let clipped = false;
  for (let i = 0; i < n; i++) {
    if (maxWidth - (upper[i] - lower[i]) <= tol) center[i] = (lower[i] + upper[i]) / 2;
    else if (lower[i] === minLo) {
      center[i] = upper[i] - eps;
      clipped = true;
    } else if (upper[i] === maxHi) {
      center[i] = lower[i] + eps;
      clipped = true;
    } else return undefined;
  }
  return clipped ? { eps, center, clip: [minLo, maxHi] } : { eps, center };
}

/** Each disjunct is one row `Y_t − Y_j ≤ 0`, for the same t and every j ≠ t. */
function robustnessLabel(property: VnnlibProperty): number | undefined {
  const nY = property.nOutputs;
  const { disjuncts } = property.specs[0];
  if (nY < 2 || disjuncts.length !== nY - 1) return undefined;
  let label: number | undefined;
  const others = new Set<number>();
  for (const d of disjuncts) {
    if (d.rows !== 1 || d.b[0] !== 0) return undefined;
    let plus = -1;
    let minus = -1;
    for (let j = 0; j < nY; j++) {
      const a = d.A[j];
      if (a === 1 && plus < 0) plus = j;
      else if (a === -1 && minus < 0) minus = j;
      else if (a !== 0) return undefined;
    }
    if (plus < 0 || minus < 0 || (label !== undefined && plus !== label)) return undefined;
    label = plus;
    others.add(minus);
  }
  return others.size === nY - 1 && label !== undefined && !others.has(label) ? label : undefined;
}
