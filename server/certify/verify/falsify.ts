// Falsification: random samples and projected gradient descent on a disjunct's violation, every hit re-checked.
import type { Graph } from '../../ir/graph';
import { evaluate } from '../../ir/forward';
import type { BoundGraph } from '../../bounds/index';
import type { InputBox, OutputDisjunct } from '../vnnlib/index';
import { forwardBatch, inputGradient } from './network';
import { meets, violation } from './property';
import { seededRandom } from '../../tensor/random';

export interface Counterexample {
  x: Float64Array;
  y: Float64Array;
  /** Index of the disjunct y meets. */
  disjunct: number;
}

export interface AttackOptions {
  restarts: number;
  steps: number;
  /** Stop at this time (performance.now()). */
  deadline: number;
  random: () => number;
}


/**
 * The decisive check: x clamped into the box, run through the IR's own float64 forward pass, and some disjunct met
 * by every row. Returns the checked counterexample, or null.
 */
export function checkCounterexample(
  graph: Graph,
  box: InputBox,
  disjuncts: readonly OutputDisjunct[],
  candidate: ArrayLike<number>,
): Counterexample | null {
  const n = box.lower.length;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = candidate[i];
    if (!Number.isFinite(v)) return null;
    x[i] = Math.min(Math.max(v, box.lower[i]), box.upper[i]);
    if (!(x[i] >= box.lower[i] && x[i] <= box.upper[i])) return null;
  }
  const out = evaluate(graph, x, 1, 'float64').get(graph.outputs[0].name)!;
  const y = Float64Array.from(out);
  if (!y.every(Number.isFinite)) return null;
  const nOut = y.length;
  for (let k = 0; k < disjuncts.length; k++) if (meets(disjuncts[k], y, nOut)) return { x, y, disjunct: k };
  return null;
}

/** Points on rows: uniform in the box, plus its centre and a few corners. */
export function samplePoints(box: InputBox, count: number, random: () => number, special = true): Float64Array {
  const n = box.lower.length;
  const x = new Float64Array(count * n);
  for (let s = 0; s < count; s++)
    for (let i = 0; i < n; i++) {
      const l = box.lower[i];
      const u = box.upper[i];
      const t = !special ? random() : s === 0 ? 0.5 : s < 3 ? s - 1 : random();
      x[s * n + i] = l + t * (u - l);
    }
  return x;
}

/** Rows (points) of `x` whose outputs meet some disjunct in the bound graph's forward pass: candidates to check. */
function candidates(y: Float64Array, rows: number, nOut: number, disjuncts: readonly OutputDisjunct[]): number[] {
  const hits: number[] = [];
  for (let r = 0; r < rows; r++)
    for (const d of disjuncts)
      if (violation(d, y, r * nOut, nOut).value <= 0) {
        hits.push(r);
        break;
      }
  return hits;
}

/**
 * Random sampling, then PGD with restarts: each restart minimises the violation of one disjunct (restarts cycle over
 * them) or of the easiest one, by signed-gradient steps projected to the box with a decaying step.
 */
export function attack(
  graph: Graph,
  bg: BoundGraph,
  box: InputBox,
  disjuncts: readonly OutputDisjunct[],
  options: AttackOptions,
): Counterexample | null {
  const n = box.lower.length;
  const nOut = bg.outputSize;
  if (disjuncts.length === 0) return null;
  const check = (x: Float64Array, rows: number, y: Float64Array): Counterexample | null => {
    for (const r of candidates(y, rows, nOut, disjuncts)) {
      const ce = checkCounterexample(graph, box, disjuncts, x.subarray(r * n, (r + 1) * n));
      if (ce !== null) return ce;
    }
    return null;
  };
  // Batches stay small enough that a forward pass on a big model is not a long pause.
  const batch = Math.max(1, Math.min(options.restarts, Math.floor(4e6 / Math.max(1, bg.maxValueSize * bg.ops.length)), 64));
  let done = 0;
  while (done < options.restarts && performance.now() < options.deadline) {
    const rows = Math.min(batch, options.restarts - done);
    const x = samplePoints(box, rows, options.random, done === 0);
    const targets = Array.from({ length: rows }, (_, r) => (done + r) % (disjuncts.length + 1));
    const ce = descend(graph, bg, box, disjuncts, x, rows, targets, options, check);
    if (ce !== null) return ce;
    done += rows;
  }
  return null;
}

function descend(
  graph: Graph,
  bg: BoundGraph,
  box: InputBox,
  disjuncts: readonly OutputDisjunct[],
  x: Float64Array,
  rows: number,
  targets: number[],
  options: AttackOptions,
  check: (x: Float64Array, rows: number, y: Float64Array) => Counterexample | null,
): Counterexample | null {
  const n = box.lower.length;
  const nOut = bg.outputSize;
  const gy = new Float64Array(rows * nOut);
  for (let t = 0; t < options.steps; t++) {
    if (performance.now() > options.deadline) return null;
    const { y, tape } = forwardBatch(bg, x, rows);
    const ce = check(x, rows, y);
    if (ce !== null) return ce;
    gy.fill(0);
    for (let r = 0; r < rows; r++) {
      // Target: a fixed disjunct, or (target = count) the one closest to being met at this point.
      let k = targets[r];
      if (k === disjuncts.length) {
        let best = Infinity;
        for (let q = 0; q < disjuncts.length; q++) {
          const v = violation(disjuncts[q], y, r * nOut, nOut).value;
          if (v < best) {
            best = v;
            k = q;
          }
        }
      }
      // Descend on Σ_r max(0, A_r·y − b_r): every unmet row pulls at once (the max alone zigzags between rows).
      const d = disjuncts[k];
      for (let q = 0; q < d.rows; q++) {
        let v = -d.b[q];
        for (let j = 0; j < nOut; j++) v += d.A[q * nOut + j] * y[r * nOut + j];
        if (v > 0) for (let j = 0; j < nOut; j++) gy[r * nOut + j] += d.A[q * nOut + j];
      }
    }
    const g = inputGradient(bg, tape, gy, rows);
    // Even rows: signed steps (L∞ PGD, best in high dimension); odd rows: the gradient in box-scaled coordinates,
    // normalised to its largest entry (finds narrow regions in low dimension). Steps decay geometrically.
    const progress = t / Math.max(1, options.steps - 1);
    for (let r = 0; r < rows; r++) {
      const signed = r % 2 === 0;
      const frac = signed ? 0.25 * Math.pow(0.04, progress) : 0.1 * Math.pow(0.01, progress);
      let scale = 0;
      if (!signed) for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(g[r * n + i] * (box.upper[i] - box.lower[i])));
      for (let i = 0; i < n; i++) {
        const l = box.lower[i];
        const u = box.upper[i];
        const gi = g[r * n + i];
        if (gi === 0 || u === l) continue;
        const w = u - l;
        const v = x[r * n + i] - (signed ? Math.sign(gi) * frac * w : (frac * w * gi * w) / scale);
        x[r * n + i] = v < l ? l : v > u ? u : v;
      }
    }
  }
  const { y } = forwardBatch(bg, x, rows);
  return check(x, rows, y);
}

/** Forward passes of `count` points of the box (centre and corners first): the cheapest falsifier. */
export function sampleSearch(
  graph: Graph,
  bg: BoundGraph,
  box: InputBox,
  disjuncts: readonly OutputDisjunct[],
  count: number,
  random: () => number,
  deadline: number,
): Counterexample | null {
  const n = box.lower.length;
  const nOut = bg.outputSize;
  const batch = Math.max(1, Math.min(count, Math.floor(4e6 / Math.max(1, bg.maxValueSize * bg.ops.length)), 256));
  for (let done = 0; done < count && performance.now() < deadline; done += batch) {
    const rows = Math.min(batch, count - done);
    const x = samplePoints(box, rows, random, done === 0);
    const { y } = forwardBatch(bg, x, rows);
    for (const r of candidates(y, rows, nOut, disjuncts)) {
      const ce = checkCounterexample(graph, box, disjuncts, x.subarray(r * n, (r + 1) * n));
      if (ce !== null) return ce;
    }
  }
  return null;
}
