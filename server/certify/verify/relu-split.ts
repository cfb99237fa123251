// Branch and bound by ReLU splitting: fix an unstable neuron active (z ≥ 0) or inactive (z ≤ 0), BaBSR-style choice.
import type { BoundGraph, Interval } from '../../bounds/index';
import { attack } from './falsify';
import { boundRows, boundRowsFixed, infeasible, recomputeAfter } from './bounding';
import { branchAndBound } from './bab';
import { disjunctMargins, stackDisjuncts, type StackedRows } from './property';
import { searchSetup, type BranchingSearch, type Expansion, type SearchContext, type SearchOutcome, type SearchSetup } from './search';

interface ReluDomain {
  /** Bounds of every nonlinear op's input, valid on this domain (split neurons clamped at 0). */
  pre: Map<string, Interval>;
  open: number[];
  /** Row lower bounds of the open disjuncts' rows (stacked in `open` order), for the branching row. */
  worstRow: Float64Array;
  depth: number;
}

export interface ReluSplitOptions {
  /** Recompute every intermediate layer per domain (full CROWN) when the fixed-bounds pass does not refute it. */
  fullRecompute: boolean;
  /** Otherwise, recompute the still-unstable neurons of the layers after the split (recomputeAfter). */
  partialRecompute?: boolean;
}

/** Share of the search's time given to attacks from fresh random points (ReLU BaB cannot find counterexamples itself). */
const ATTACK_SHARE = 0.15;

export async function reluSplit(
  ctx: SearchContext,
  open: number[],
  rootPre: Map<string, Interval>,
  rootLower: Float64Array,
  rootWorst: number,
  options: ReluSplitOptions,
): Promise<SearchOutcome> {
  const rootRows = stackDisjuncts(ctx.disjuncts, open, ctx.bg.outputSize);
  const root: ReluDomain = { pre: rootPre, open, worstRow: worstRowOf(rootRows, rootLower), depth: 0 };
  return branchAndBound(ctx, new ReluSearch(ctx, options), { children: [{ key: rootWorst, domain: root }], counterexample: null, unresolved: 0 });
}

/** ReLU splitting: a domain is the pre-activation bounds under its split constraints (split neurons clamped at 0). */
export class ReluSearch implements BranchingSearch<ReluDomain> {
  readonly attackShare = ATTACK_SHARE;
  readonly setup: SearchSetup;

  constructor(
    private readonly ctx: SearchContext,
    private readonly options: ReluSplitOptions,
  ) {
    this.setup = searchSetup(ctx, { kind: 'relu', options });
  }

  /** From fresh random points in the whole box: splitting neurons never points at an input. */
  attack(): Float64Array | null {
    const { ctx } = this;
    return attack(ctx.graph, ctx.bg, ctx.box, ctx.disjuncts, { restarts: 16, steps: 100, deadline: ctx.deadline, random: ctx.random })?.x ?? null;
  }

  expand(d: ReluDomain): Expansion<ReluDomain> {
    const { ctx, options } = this;
    const { bg, box } = ctx;
    const out: Expansion<ReluDomain> = { children: [], counterexample: null, unresolved: 0 };
    const choice = chooseNeuron(bg, d.pre, d.worstRow);
    if (choice === null) {
      // No unstable neuron left, yet not refuted: the relaxation ignores the split constraints, so no verdict here.
      out.unresolved = 1;
      return out;
    }
    for (const active of [true, false]) {
      ctx.stats.domains++;
      const pre = new Map(d.pre);
      const old = d.pre.get(choice.value)!;
      const b = { lower: Float64Array.from(old.lower), upper: Float64Array.from(old.upper) };
      if (active) b.lower[choice.neuron] = 0;
      else b.upper[choice.neuron] = 0;
      pre.set(choice.value, b);
      let rows = stackDisjuncts(ctx.disjuncts, d.open, bg.outputSize);
      let lower = boundRowsFixed(bg, box, rows, pre);
      let margins = disjunctMargins(rows, lower);
      let stillOpen = d.open.filter((k) => !margins.get(k)!.refuted);
      let childPre = pre;
      if (stillOpen.length > 0 && !options.fullRecompute && options.partialRecompute) {
        // The layers after the split: only their neurons still unstable.
        rows = stackDisjuncts(ctx.disjuncts, stillOpen, bg.outputSize);
        const part = recomputeAfter(bg, box, rows, pre, choice.value, ctx.deadline);
        if (infeasible(part.pre)) continue;
        childPre = part.pre;
        lower = part.lower;
        margins = disjunctMargins(rows, lower);
        stillOpen = stillOpen.filter((k) => !margins.get(k)!.refuted);
      }
      if (stillOpen.length > 0 && options.fullRecompute) {
        rows = stackDisjuncts(ctx.disjuncts, stillOpen, bg.outputSize);
        const full = boundRows(bg, box, rows, 'crown', pre);
        if (infeasible(full.preActivations)) continue;
        childPre = full.preActivations;
        lower = full.lower;
        margins = disjunctMargins(rows, lower);
        stillOpen = stillOpen.filter((k) => !margins.get(k)!.refuted);
      }
      if (stillOpen.length === 0) continue;
      const childRows = stackDisjuncts(ctx.disjuncts, stillOpen, bg.outputSize);
      const childLower = restack(rows, lower, childRows);
      const worst = Math.min(...stillOpen.map((k) => margins.get(k)!.margin));
      out.children.push({ key: worst, domain: { pre: childPre, open: stillOpen, worstRow: worstRowOf(childRows, childLower), depth: d.depth + 1 } });
    }
    return out;
  }

  encode(d: ReluDomain): unknown {
    return d;
  }

  decode(wire: unknown): ReluDomain {
    return wire as ReluDomain;
  }

  unresolvedReason(count: number): string {
    return `${count} branch-and-bound domains had no unstable neuron left to split and were not refuted`;
  }
}

/** The lower bounds of `to`'s rows, taken from `from` (every row of `to` is in `from`, same owners, same order). */
function restack(from: StackedRows, lower: Float64Array, to: StackedRows): Float64Array {
  const out = new Float64Array(to.count);
  let i = 0;
  for (let r = 0; r < from.count && i < to.count; r++) if (from.owner[r] === to.owner[i]) out[i++] = lower[r];
  return out;
}

/** The specification row (A_r) to branch on: of the worst open disjunct, its best (most nearly refuted) row. */
function worstRowOf(rows: StackedRows, lower: Float64Array): Float64Array {
  const n = rows.nOutputs;
  const best = new Map<number, { m: number; r: number }>();
  for (let r = 0; r < rows.count; r++) {
    const m = lower[r] - rows.b[r];
    const k = rows.owner[r];
    const prev = best.get(k);
    if (prev === undefined || m > prev.m) best.set(k, { m, r });
  }
  let pick = { m: Infinity, r: 0 };
  for (const v of best.values()) if (v.m < pick.m) pick = v;
  return rows.A.slice(pick.r * n, (pick.r + 1) * n);
}

/**
 * BaBSR-style score of every unstable, non-grafted ReLU neuron: the row's backward coefficient λ at the neuron's output
 * (through CROWN's relaxations), score = max(0, −λ)·(−l·u/(u−l)) (the upper relaxation's intercept it pays), with a
 * small |λ|·min(u, −l) tie-breaker. Returns the best, or null when no neuron is unstable.
 */
export function chooseNeuron(bg: BoundGraph, pre: ReadonlyMap<string, Interval>, row: Float64Array): { value: string; neuron: number } | null {
  const coef = new Map<string, Float64Array>();
  const add = (name: string, a: Float64Array): void => {
    const prev = coef.get(name);
    if (prev === undefined) coef.set(name, a);
    else {
      const s = new Float64Array(a.length);
      for (let j = 0; j < a.length; j++) s[j] = prev[j] + a[j];
      coef.set(name, s);
    }
  };
  coef.set(bg.output, row);
  let best: { value: string; neuron: number } | null = null;
  let bestScore = -1;
  let fallback: { value: string; neuron: number } | null = null;
  for (let i = bg.ops.length - 1; i >= 0; i--) {
    const op = bg.ops[i];
    const a = coef.get(op.output);
    if (a === undefined) continue;
    coef.delete(op.output);
    if (op.kind === 'linear') {
      const back = op.backward(a, 1);
      op.inputs.forEach((name, k) => add(name, back[k]));
      continue;
    }
    const b = pre.get(op.input)!;
    const relax = op.relax(b.lower, b.upper);
    const az = new Float64Array(op.inputSize);
    if (relax.kind === 'select') {
      for (let j = 0; j < op.outputSize; j++) if (a[j] >= 0 || relax.exact[j]) az[relax.pick[j]] += a[j];
    } else {
      for (let j = 0; j < op.outputSize; j++) {
        const c = a[j];
        az[j] = c >= 0 ? c * relax.lowSlope[j] : c * relax.upSlope[j];
        if (op.family !== 'relu' || (op.graft !== null && op.graft.mask[j])) continue;
        const l = b.lower[j];
        const u = b.upper[j];
        if (!(l < 0 && u > 0)) continue;
        if (fallback === null) fallback = { value: op.input, neuron: j };
        const score = Math.max(0, -c) * ((-l * u) / (u - l)) + 1e-3 * Math.abs(c) * Math.min(u, -l);
        if (score > bestScore) {
          bestScore = score;
          best = { value: op.input, neuron: j };
        }
      }
    }
    add(op.input, az);
  }
  return bestScore > 0 ? best : fallback;
}
