// Certified lower bounds of stacked specification rows over a box (optionally under ReLU split constraints).
import { computeBounds, type AlphaOptions, type BoundGraph, type Interval, type Region } from '../../bounds/index';
import { crownPreActivations, crownSpec, neuronBounds, type CrownState } from '../../bounds/crown';
import { chainApplies, chainPlan, chainRows } from '../../bounds/chain';
import { alphaCrown } from '../../bounds/alpha';
import { ibpAll } from '../../bounds/ibp';
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
  alpha: Partial<AlphaOptions> = { iterations: 40 },
): RowBounds {
  const r = computeBounds(bg, box, {
    method,
    spec: { count: rows.count, size: rows.nOutputs, rows: rows.A, offset: null },
    intersectIbp: true,
    preActivationBounds: split,
    alpha,
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

/** A CROWN pass kept for reuse: its state (relaxations, pre-activation bounds) and the IBP refinement it used. */
export interface CrownPass {
  readonly state: CrownState;
  readonly refine: (value: string, b: Interval) => Interval;
}

/** CROWN's intermediate bounds over the box, each intersected with IBP's. */
export function crownPass(bg: BoundGraph, box: Region): CrownPass {
  const ibp = ibpAll(bg, box);
  const refine = (value: string, b: Interval): Interval => {
    const c = ibp.get(value);
    if (c === undefined) return b;
    return { lower: b.lower.map((v, j) => Math.max(v, c.lower[j])), upper: b.upper.map((v, j) => Math.min(v, c.upper[j])) };
  };
  return { state: crownPreActivations(bg, box, refine), refine };
}

/** Lower bounds of the rows from a CROWN pass. */
export function crownRows(bg: BoundGraph, pass: CrownPass, box: Region, rows: StackedRows): Float64Array {
  return crownSpec(bg, pass.state.relaxations, box, rows.A, rows.count).lower;
}

/** α-CROWN on top of a CROWN pass (no CROWN recomputed): only the rows' α, or (intermediate) every layer's too. */
export function alphaRows(
  bg: BoundGraph,
  pass: CrownPass,
  box: Region,
  rows: StackedRows,
  iterations: number,
  intermediate: boolean,
): RowBounds {
  const r = alphaCrown(bg, box, pass.state, rows.A, rows.count, { iterations, intermediate }, pass.refine);
  return { lower: r.output.lower, preActivations: r.preActivations };
}

/**
 * A ReLU-split child's bounds after the split at `value`: every ReLU layer after it recomputes (CROWN, through the
 * child's relaxations) only its neurons still unstable in the parent — bounds on a sub-domain only tighten, so stable
 * neurons stay stable. Returns the tightened map and the rows' lower bounds from the new relaxations.
 */
export function recomputeAfter(
  bg: BoundGraph,
  box: Region,
  rows: StackedRows,
  pre: ReadonlyMap<string, Interval>,
  value: string,
  deadline: number,
): { pre: Map<string, Interval>; lower: Float64Array } {
  const out = new Map(pre);
  const relaxations = new Map<number, Relaxation>();
  let after = false;
  const plan = chainPlan(bg);
  for (const i of bg.nonlinear) {
    const op = bg.ops[i];
    if (op.kind !== 'nonlinear') continue;
    let b = out.get(op.input)!;
    if (after && op.family === 'relu' && performance.now() < deadline && bg.producer.get(op.input) !== undefined && bg.ops[bg.producer.get(op.input)!].kind === 'linear') {
      const unstable: number[] = [];
      for (let j = 0; j < op.inputSize; j++) if (b.lower[j] < 0 && b.upper[j] > 0 && !(op.graft?.mask[j])) unstable.push(j);
      if (unstable.length > 0) {
        const neurons = Int32Array.from(unstable);
        const k = plan?.level.get(op.input);
        let nb: Interval;
        if (plan != null && k !== undefined && chainApplies(plan, relaxations, k)) {
          const raw = chainRows(plan, relaxations, box, k, { kind: 'neurons', neurons });
          nb = { lower: new Float64Array(neurons.length), upper: new Float64Array(neurons.length) };
          for (let u = 0; u < neurons.length; u++) {
            nb.lower[u] = raw[2 * u];
            nb.upper[u] = -raw[2 * u + 1];
          }
        } else nb = neuronBounds(bg, relaxations, box, op.input, op.inputSize, neurons);
        const lower = Float64Array.from(b.lower);
        const upper = Float64Array.from(b.upper);
        for (let u = 0; u < neurons.length; u++) {
          const j = neurons[u];
          if (nb.lower[u] > lower[j]) lower[j] = nb.lower[u];
          if (nb.upper[u] < upper[j]) upper[j] = nb.upper[u];
        }
        b = { lower, upper };
        out.set(op.input, b);
      }
    }
    if (op.input === value) after = true;
    relaxations.set(i, op.relax(b.lower, b.upper));
  }
  return { pre: out, lower: crownSpec(bg, relaxations, box, rows.A, rows.count).lower };
}
