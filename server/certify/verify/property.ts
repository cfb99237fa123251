// A VNN-LIB spec's output disjuncts as stacked rows A·y − b: how bounds refute them and how points violate them.
import type { OutputDisjunct } from '../vnnlib/index';

/** The disjuncts of one input box, rows stacked (row r belongs to disjunct `owner[r]`). */
export interface StackedRows {
  readonly nOutputs: number;
  readonly disjuncts: readonly OutputDisjunct[];
  /** All rows A, row-major (count × nOutputs). */
  readonly A: Float64Array;
  readonly b: Float64Array;
  readonly owner: Int32Array;
  readonly count: number;
}

/** Rows of the given disjuncts (by index into `all`), stacked. */
export function stackDisjuncts(all: readonly OutputDisjunct[], which: readonly number[], nOutputs: number): StackedRows {
  const count = which.reduce((s, k) => s + all[k].rows, 0);
  const A = new Float64Array(count * nOutputs);
  const b = new Float64Array(count);
  const owner = new Int32Array(count);
  let r = 0;
  for (const k of which) {
    const d = all[k];
    A.set(d.A.subarray(0, d.rows * nOutputs), r * nOutputs);
    b.set(d.b.subarray(0, d.rows), r);
    owner.fill(k, r, r + d.rows);
    r += d.rows;
  }
  return { nOutputs, disjuncts: all, A, b, owner, count };
}

/**
 * Per disjunct (by index into `all`), its margin from certified row lower bounds: max_r (lb_r − b_r). The disjunct is
 * refuted (cannot hold) iff its margin is > 0. Compared as `lb > b` directly, which is exact in floating point.
 */
export function disjunctMargins(rows: StackedRows, lower: Float64Array): Map<number, { margin: number; refuted: boolean }> {
  const out = new Map<number, { margin: number; refuted: boolean }>();
  for (let r = 0; r < rows.count; r++) {
    const k = rows.owner[r];
    const m = lower[r] - rows.b[r];
    const refuted = lower[r] > rows.b[r];
    const prev = out.get(k);
    if (prev === undefined) out.set(k, { margin: m, refuted });
    else out.set(k, { margin: Math.max(prev.margin, m), refuted: prev.refuted || refuted });
  }
  return out;
}

/** How far y is from meeting disjunct d (max_r A_r·y − b_r); ≤ 0 means y meets every row, i.e. is unsafe. */
export function violation(d: OutputDisjunct, y: ArrayLike<number>, yOffset: number, nOutputs: number): { value: number; row: number } {
  let best = -Infinity;
  let row = 0;
  for (let r = 0; r < d.rows; r++) {
    let s = -d.b[r];
    for (let j = 0; j < nOutputs; j++) s += d.A[r * nOutputs + j] * y[yOffset + j];
    if (s > best) {
      best = s;
      row = r;
    }
  }
  return { value: best, row };
}

/** True iff y meets every row of d exactly (A·y ≤ b in float64). */
export function meets(d: OutputDisjunct, y: ArrayLike<number>, nOutputs: number): boolean {
  for (let r = 0; r < d.rows; r++) {
    let s = 0;
    for (let j = 0; j < nOutputs; j++) s += d.A[r * nOutputs + j] * y[j];
    if (!(s <= d.b[r])) return false;
  }
  return true;
}
