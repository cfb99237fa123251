// Certified lower bounds of stacked specification rows over a box (optionally under ReLU split constraints).
import { computeBounds, type BoundGraph, type Interval, type Region } from '../../bounds/index';
import { crownSpec } from '../../bounds/crown';
import type { Relaxation } from '../../bounds/ops/types';
import type { StackedRows } from './property';

export interface RowBounds {
  /** Certified (widened) lower bound of each row A_r·y (without b). */
  lower: Float64Array;
  /** Bounds of every nonlinear op's input valid on this (sub-)domain. */
  preActivations: Map<string, Interval>;
}

/** Full CROWN / α-CROWN over the box; `split` bounds are intersected with every recomputed pre-activation. */
export function boundRows(
  bg: BoundGraph,
  box: Region,
  rows: StackedRows,
  method: 'crown' | 'alpha-crown',
  split?: ReadonlyMap<string, Interval>,
  alphaIterations = 40,
): RowBounds {
  const r = computeBounds(bg, box, {
    method,
    spec: { count: rows.count, size: rows.nOutputs, rows: rows.A, offset: null },
    intersectIbp: true,
    preActivationBounds: split,
    alpha: { iterations: alphaIterations },
  });
  const pre = r.preActivations;
  if (split !== undefined) for (const [v, b] of split) if (!pre.has(v)) pre.set(v, b);
  return { lower: r.spec!.lower, preActivations: pre };
}

/**
 * Only the specification rows, from fixed pre-activation bounds (a BaB child reuses its parent's, tightened by
 * the split): one backward pass, no intermediate layers recomputed.
 */
export function boundRowsFixed(bg: BoundGraph, box: Region, rows: StackedRows, pre: ReadonlyMap<string, Interval>): Float64Array {
  const relaxations = new Map<number, Relaxation>();
  for (const i of bg.nonlinear) {
    const op = bg.ops[i];
    if (op.kind !== 'nonlinear') continue;
    const b = pre.get(op.input);
    if (b === undefined) throw new Error(`no bounds for the input of ${op.node.opType} '${op.node.name}'`);
    relaxations.set(i, op.relax(b.lower, b.upper));
  }
  return crownSpec(bg, relaxations, box, rows.A, rows.count).lower;
}

/** True when some neuron's bounds cross (lower > upper): the split constraints cannot all hold, the domain is empty. */
export function infeasible(pre: ReadonlyMap<string, Interval>): boolean {
  for (const b of pre.values()) for (let j = 0; j < b.lower.length; j++) if (b.lower[j] > b.upper[j]) return true;
  return false;
}
