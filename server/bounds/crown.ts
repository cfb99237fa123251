// CROWN: every pre-activation bounded by a full backward pass to the input, layer by layer, then the output rows.
import { backwardBound, type RelaxationMap } from './backward';
import { chainApplies, chainPlan } from './chain';
import { chainRowsParallel } from './parallel';
import { allowance } from './float';
import type { BoundGraph } from './graph';
import type { Interval } from './ibp';
import type { Relaxation } from './ops/types';
import type { Region } from './region';
import { checkBoundMemory } from './memory';

/** Row blocks hold at most this many coefficients per value (rows × size), to bound memory. */
const BLOCK_ELEMENTS = 1 << 22;

export function rowBlock(bg: BoundGraph): number {
  return Math.max(2, 2 * Math.floor(BLOCK_ELEMENTS / (2 * bg.maxValueSize)));
}

/** Lower bounds (widened outward) of `count` rows over `start`, in blocks; `rowAt(r, out)` writes row r. */
export function boundRows(
  bg: BoundGraph,
  relaxations: RelaxationMap,
  region: Region,
  start: string,
  startSize: number,
  count: number,
  rowAt: (r: number, out: Float64Array, offset: number) => void,
): Float64Array {
  const result = new Float64Array(count);
  const block = rowBlock(bg);
  for (let r0 = 0; r0 < count; r0 += block) {
    const rows = Math.min(block, count - r0);
    const c = new Float64Array(rows * startSize);
    for (let r = 0; r < rows; r++) rowAt(r0 + r, c, r * startSize);
    const { lower, magnitude } = backwardBound(bg, relaxations, region, start, c, rows);
    for (let r = 0; r < rows; r++) result[r0 + r] = lower[r] - allowance(lower[r], magnitude[r]);
  }
  return result;
}

/** Bounds of the given neurons of a value: lower from rows e_i, upper from rows −e_i. */
export function neuronBounds(
  bg: BoundGraph,
  relaxations: RelaxationMap,
  region: Region,
  value: string,
  size: number,
  neurons: Int32Array,
): Interval {
  const k = neurons.length;
  const raw = boundRows(bg, relaxations, region, value, size, 2 * k, (r, out, o) => {
    out[o + neurons[r >> 1]] = r & 1 ? -1 : 1;
  });
  return splitPairs(raw, k);
}

export interface CrownState {
  /** Bounds of every nonlinear op's input (and the model input). */
  readonly preActivations: Map<string, Interval>;
  readonly relaxations: Map<number, Relaxation>;
}

/**
 * Pre-activation bounds of every nonlinear op in graph order, each by CROWN with the relaxations of the
 * earlier ones; `refine` may tighten each value's bounds before its relaxation is fixed (IBP intersection).
 */
export function crownPreActivations(
  bg: BoundGraph,
  region: Region,
  refine?: (value: string, b: Interval) => Interval,
): CrownState {
  checkBoundMemory(bg, 'crown');
  const preActivations = new Map<string, Interval>();
  const relaxations = new Map<number, Relaxation>();
  preActivations.set(bg.input, { lower: region.lower, upper: region.upper });
  for (const i of bg.nonlinear) {
    const op = bg.ops[i];
    if (op.kind !== 'nonlinear') continue;
    let b = preActivations.get(op.input);
    if (b === undefined) {
      b = valueBounds(bg, relaxations, preActivations, region, op.input, op.inputSize);
      if (refine) b = refine(op.input, b);
      preActivations.set(op.input, b);
    }
    relaxations.set(i, op.relax(b.lower, b.upper));
  }
  return { preActivations, relaxations };
}

/** Bounds of a value: the exact image when it is a nonlinear op's output, else a backward pass per neuron. */
function valueBounds(
  bg: BoundGraph,
  relaxations: RelaxationMap,
  known: ReadonlyMap<string, Interval>,
  region: Region,
  value: string,
  size: number,
): Interval {
  const p = bg.producer.get(value);
  const producer = p !== undefined ? bg.ops[p] : undefined;
  if (producer !== undefined && producer.kind === 'nonlinear') {
    const inner = known.get(producer.input);
    if (inner !== undefined) return producer.interval(inner.lower, inner.upper);
  }
  const neurons = Int32Array.from({ length: size }, (_, j) => j);
  const plan = chainPlan(bg);
  const k = plan?.level.get(value);
  if (plan != null && k !== undefined && chainApplies(plan, relaxations, k)) {
    const raw = chainRowsParallel(plan, relaxations, region, k, { kind: 'neurons', neurons });
    return splitPairs(raw, size);
  }
  return neuronBounds(bg, relaxations, region, value, size, neurons);
}

/** Rows 2i (lower bound) and 2i + 1 (−upper bound) as an interval. */
function splitPairs(raw: Float64Array, count: number): Interval {
  const lower = new Float64Array(count);
  const upper = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    lower[i] = raw[2 * i];
    upper[i] = -raw[2 * i + 1];
  }
  return { lower, upper };
}

/** CROWN bounds of spec rows over the output: lower from rows C, upper from −C. */
export function crownSpec(
  bg: BoundGraph,
  relaxations: RelaxationMap,
  region: Region,
  rows: Float64Array,
  count: number,
): Interval {
  const n = bg.outputSize;
  const plan = chainPlan(bg);
  if (plan !== null && chainApplies(plan, relaxations, plan.segments))
    return splitPairs(chainRowsParallel(plan, relaxations, region, plan.segments, { kind: 'matrix', rows, count }), count);
  const raw = boundRows(bg, relaxations, region, bg.output, n, 2 * count, (r, out, o) => {
    const s = r & 1 ? -1 : 1;
    const src = (r >> 1) * n;
    for (let j = 0; j < n; j++) out[o + j] = s * rows[src + j];
  });
  return splitPairs(raw, count);
}
