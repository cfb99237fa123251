// The bound engine's entry point: IBP, CROWN and α-CROWN bounds of a graph over an input box, and the CLI report.
import type { Graph } from '../ir/graph';
import type { BoundMethod, BoundsReport, LayerBoundsSummary } from '../protocol/reports';
import { alphaCrown, type AlphaOptions } from './alpha';
import { crownPreActivations, crownSpec } from './crown';
import { buildBoundGraph, type BoundGraph } from './graph';
import { ibpAll, ibpSpec, type Interval } from './ibp';
import { identitySpec, type Region, type Specification } from './region';
import { checkBoundMemory } from './memory';

export { linfBall, identitySpec, marginSpec, type Region, type Specification } from './region';
export { buildBoundGraph, UnsupportedModelError, type BoundGraph } from './graph';
export type { Interval } from './ibp';
export type { AlphaOptions } from './alpha';
export { boundMemoryEstimate, checkBoundMemory } from './memory';

export interface ComputeOptions {
  method: BoundMethod;
  /** Extra rows to bound (e.g. a margin specification), besides the raw outputs. */
  spec?: Specification;
  alpha?: Partial<AlphaOptions>;
  /** CROWN/α-CROWN: intersect every intermediate bound with IBP's (not auto_LiRPA's pure CROWN). */
  intersectIbp?: boolean;
  /**
   * CROWN/α-CROWN: bounds to intersect each nonlinear op's input with, by value name (branch-and-bound split
   * constraints: an active ReLU has lower ≥ 0, an inactive one upper ≤ 0). Sound only for the sub-domain they define.
   */
  preActivationBounds?: ReadonlyMap<string, Interval>;
}

/** One ReLU (or grafted ReLU) layer: its pre-activation bounds and neuron counts. */
export interface LayerBounds {
  /** Node name of the Relu (or GraftedRelu). */
  name: string;
  /** Value name of the pre-activation. */
  preActivation: string;
  size: number;
  lower: Float64Array;
  upper: Float64Array;
  /** l < 0 < u, grafted neurons excluded. */
  unstable: number;
  /** l ≥ 0. */
  active: number;
  /** u ≤ 0 (and not active). */
  inactive: number;
  grafted: number;
}

export interface BoundsResult {
  method: BoundMethod;
  intersectIbp: boolean;
  /** Bounds of the raw outputs. */
  output: Interval;
  /** Bounds of the specification rows (null without a spec). */
  spec: Interval | null;
  /** ReLU layers in graph order. */
  layers: LayerBounds[];
  /** Bounds of every nonlinear op's input (IBP: of every value). */
  preActivations: Map<string, Interval>;
  time_s: number;
}

export function summariseLayers(bg: BoundGraph, preActivations: ReadonlyMap<string, Interval>): LayerBounds[] {
  const layers: LayerBounds[] = [];
  for (const i of bg.nonlinear) {
    const op = bg.ops[i];
    if (op.kind !== 'nonlinear' || op.family !== 'relu') continue;
    const b = preActivations.get(op.input)!;
    let unstable = 0, active = 0, inactive = 0, grafted = 0;
    for (let j = 0; j < op.inputSize; j++) {
      if (op.graft !== null && op.graft.mask[j]) grafted++;
      else if (b.lower[j] >= 0) active++;
      else if (b.upper[j] <= 0) inactive++;
      else unstable++;
    }
    layers.push({ name: op.node.name, preActivation: op.input, size: op.inputSize, lower: b.lower, upper: b.upper, unstable, active, inactive, grafted });
  }
  return layers;
}

/** Bounds of the model's output (and of `spec` rows) over the region, by the chosen method. */
export function computeBounds(graph: Graph | BoundGraph, region: Region, options: ComputeOptions): BoundsResult {
  const t0 = performance.now();
  const bg = 'ops' in graph ? graph : buildBoundGraph(graph, options.method);
  checkBoundMemory(bg, options.method);
  if (region.lower.length !== bg.inputSize || region.upper.length !== bg.inputSize)
    throw new RangeError(`the input region has ${region.lower.length} elements but the model input has ${bg.inputSize}`);
  const spec = options.spec ?? null;
  if (spec !== null && spec.size !== bg.outputSize)
    throw new RangeError(`the specification has ${spec.size} columns but the model output has ${bg.outputSize} elements`);
  const intersectIbp = options.intersectIbp === true && options.method !== 'ibp';
  let output: Interval;
  let specBounds: Interval | null = null;
  let preActivations: Map<string, Interval>;
  if (options.method === 'ibp') {
    const values = ibpAll(bg, region);
    output = ibpSpec(bg, values, identitySpec(bg.outputSize));
    if (spec !== null) specBounds = ibpSpec(bg, values, spec);
    preActivations = values;
  } else {
    const ibp = intersectIbp ? ibpAll(bg, region) : null;
    const given = options.preActivationBounds;
    const refine =
      ibp === null && given === undefined
        ? undefined
        : (value: string, b: Interval): Interval => {
            let r = ibp === null ? b : intersect(b, ibp.get(value)!);
            const g = given?.get(value);
            if (g !== undefined) r = intersect(r, g);
            return r;
          };
    const state = crownPreActivations(bg, region, refine);
    const stacked = stackRows(bg.outputSize, spec);
    let all = crownSpec(bg, state.relaxations, region, stacked.rows, stacked.count);
    if (options.method === 'alpha-crown') {
      const improved = alphaCrown(bg, region, state, stacked.rows, stacked.count, options.alpha ?? {}, refine);
      all = { lower: max(all.lower, improved.output.lower), upper: min(all.upper, improved.output.upper) };
      preActivations = improved.preActivations;
    } else preActivations = state.preActivations;
    const n = bg.outputSize;
    output = { lower: all.lower.slice(0, n), upper: all.upper.slice(0, n) };
    if (spec !== null) {
      specBounds = { lower: all.lower.slice(n), upper: all.upper.slice(n) };
      if (spec.offset !== null)
        for (let r = 0; r < spec.count; r++) {
          specBounds.lower[r] += spec.offset[r];
          specBounds.upper[r] += spec.offset[r];
        }
    }
  }
  return {
    method: options.method,
    intersectIbp,
    output,
    spec: specBounds,
    layers: summariseLayers(bg, preActivations),
    preActivations,
    time_s: (performance.now() - t0) / 1000,
  };
}

function stackRows(n: number, spec: Specification | null): { rows: Float64Array; count: number } {
  const count = n + (spec?.count ?? 0);
  const rows = new Float64Array(count * n);
  for (let i = 0; i < n; i++) rows[i * n + i] = 1;
  if (spec !== null) rows.set(spec.rows, n * n);
  return { rows, count };
}

function intersect(a: Interval, b: Interval): Interval {
  return { lower: max(a.lower, b.lower), upper: min(a.upper, b.upper) };
}

function max(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => Math.max(v, b[i]));
}

function min(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => Math.min(v, b[i]));
}

/** The CLI/JSON document of ARCHITECTURE.md (`bounds --json`). */
export function toBoundsReport(
  result: BoundsResult,
  eps: number,
  margin: { label: number; others: number[] } | null,
): BoundsReport {
  const layers: LayerBoundsSummary[] = result.layers.map((l) => ({
    name: l.name,
    size: l.size,
    unstable: l.unstable,
    active: l.active,
    inactive: l.inactive,
    grafted: l.grafted,
  }));
  return {
    method: result.method,
    eps,
    output: { lower: Array.from(result.output.lower), upper: Array.from(result.output.upper) },
    margin:
      margin === null || result.spec === null
        ? null
        : { label: margin.label, others: [...margin.others], lower: Array.from(result.spec.lower) },
    layers,
    time_s: result.time_s,
  };
}
