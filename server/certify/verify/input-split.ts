// Branch and bound by input splitting (low-dimensional inputs): halve a box along its most influential dimension.
import { attack, checkCounterexample } from './falsify';
import { boundRows, boundRowsFixed } from './bounding';
import type { Interval } from '../../bounds/index';
import { MinHeap } from './heap';
import { forwardBatch, inputGradient } from './network';
import { disjunctMargins, stackDisjuncts, violation } from './property';
import { AttackPacer, breathe, stopReason, type SearchContext, type SearchOutcome } from './search';

interface BoxDomain {
  lower: Float64Array;
  upper: Float64Array;
  /** Disjuncts not yet refuted on this box. */
  open: number[];
  depth: number;
  /** Pre-activation bounds on this box (null at the root): still valid on its sub-boxes. */
  pre: Map<string, Interval> | null;
}

/** Below this relative width a box is not split further. */
const MIN_WIDTH = 1e-9;
/** Share of the search's time given to attacks (on the whole box and on the worst sub-box, in turn). */
const ATTACK_SHARE = 0.25;

export async function inputSplit(ctx: SearchContext, open: number[], rootWorst: number): Promise<SearchOutcome> {
  const { bg, box } = ctx;
  const heap = new MinHeap<BoxDomain>();
  heap.push(rootWorst, { lower: box.lower, upper: box.upper, open, depth: 0, pre: null });
  let unresolved = 0;
  let lastBreath = performance.now();
  const pacer = new AttackPacer(ATTACK_SHARE);
  const t0 = performance.now();
  try {
    while (heap.size > 0) {
      const why = stopReason(ctx);
      if (why !== null) return { kind: 'stopped', why };
      if (performance.now() - lastBreath > 50) {
        ctx.onDomains?.(ctx.stats.domains, heap.size);
        await breathe();
        lastBreath = performance.now();
      }
      const d = heap.pop()!;
      if (pacer.due()) {
        const target = pacer.rounds % 2 === 0 ? box : { lower: d.lower, upper: d.upper };
        const ce = pacer.run(() =>
          attack(ctx.graph, bg, target, ctx.disjuncts, { restarts: 32, steps: 100, deadline: ctx.deadline, random: ctx.random }),
        );
        if (ce !== null) return found(ctx, ce.x);
      }
      const dim = splitDimension(ctx, d);
      if (dim < 0) {
        unresolved++;
        continue;
      }
      const mid = 0.5 * (d.lower[dim] + d.upper[dim]);
      const children: BoxDomain[] = [0, 1].map((side): BoxDomain => {
        const lower = Float64Array.from(d.lower);
        const upper = Float64Array.from(d.upper);
        if (side === 0) upper[dim] = mid;
        else lower[dim] = mid;
        return { lower, upper, open: d.open, depth: d.depth + 1, pre: null };
      });
      for (const child of children) {
        ctx.stats.domains++;
        const ce = centreCheck(ctx, child);
        if (ce !== null) return found(ctx, ce);
        const rows = stackDisjuncts(ctx.disjuncts, child.open, bg.outputSize);
        // Cheap first: the parent's relaxations (valid on the smaller box), only the specification rows.
        if (d.pre !== null) {
          const quick = disjunctMargins(rows, boundRowsFixed(bg, child, rows, d.pre));
          if (child.open.every((k) => quick.get(k)!.refuted)) continue;
        }
        const { lower, preActivations } = boundRows(bg, child, rows, 'crown');
        const margins = disjunctMargins(rows, lower);
        const stillOpen = child.open.filter((k) => !margins.get(k)!.refuted);
        if (stillOpen.length === 0) continue;
        const worst = Math.min(...stillOpen.map((k) => margins.get(k)!.margin));
        heap.push(worst, { ...child, open: stillOpen, pre: preActivations });
      }
    }
  } finally {
    ctx.stats.bab_s += (performance.now() - t0) / 1000 - pacer.spent_s;
    ctx.stats.falsify_s += pacer.spent_s;
  }
  if (unresolved > 0) return { kind: 'unresolved', reason: `${unresolved} input boxes reached the minimum width without a verdict` };
  return { kind: 'refuted' };
}

function found(ctx: SearchContext, x: Float64Array): SearchOutcome {
  const ce = checkCounterexample(ctx.graph, ctx.box, ctx.disjuncts, x);
  if (ce === null) throw new Error('a counterexample failed its re-check on the whole box');
  return { kind: 'counterexample', counterexample: ce };
}

/** The box centre, checked when the bound graph's forward pass says it meets an open disjunct. */
function centreCheck(ctx: SearchContext, d: BoxDomain): Float64Array | null {
  const n = d.lower.length;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 * (d.lower[i] + d.upper[i]);
  const { y } = forwardBatch(ctx.bg, x, 1);
  for (const k of d.open)
    if (violation(ctx.disjuncts[k], y, 0, ctx.bg.outputSize).value <= 0) {
      const ce = checkCounterexample(ctx.graph, { lower: d.lower, upper: d.upper }, ctx.disjuncts, x);
      if (ce !== null) return ce.x;
    }
  return null;
}

/**
 * The dimension with the largest width × |gradient| of the worst open row at the centre (a smear score);
 * the widest when the gradient vanishes; −1 when every dimension is below the minimum width.
 */
function splitDimension(ctx: SearchContext, d: BoxDomain): number {
  const n = d.lower.length;
  const nOut = ctx.bg.outputSize;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 * (d.lower[i] + d.upper[i]);
  const { y, tape } = forwardBatch(ctx.bg, x, 1);
  // The open disjunct closest to being met, and its row furthest from being met.
  let best = Infinity;
  let gy: Float64Array | null = null;
  for (const k of d.open) {
    const dj = ctx.disjuncts[k];
    const v = violation(dj, y, 0, nOut);
    if (v.value < best) {
      best = v.value;
      gy = dj.A.slice(v.row * nOut, (v.row + 1) * nOut);
    }
  }
  const g = gy === null ? new Float64Array(n) : inputGradient(ctx.bg, tape, gy, 1);
  let dim = -1;
  let top = -1;
  let widest = -1;
  let widestDim = -1;
  for (let i = 0; i < n; i++) {
    const w = d.upper[i] - d.lower[i];
    const full = ctx.box.upper[i] - ctx.box.lower[i];
    if (!(w > MIN_WIDTH * Math.max(full, 1e-300)) || w <= 0) continue;
    const s = Math.abs(g[i]) * w;
    if (s > top) {
      top = s;
      dim = i;
    }
    if (w / full > widest) {
      widest = w / full;
      widestDim = i;
    }
  }
  if (d.pre === null || widestDim < 0) return top > 0 ? dim : widestDim;
  // With the parent's relaxations at hand, try every dimension cheaply: keep the split whose worse half is best.
  const rows = stackDisjuncts(ctx.disjuncts, d.open, nOut);
  let bestDim = top > 0 ? dim : widestDim;
  let bestScore = -Infinity;
  for (let i = 0; i < n; i++) {
    const w = d.upper[i] - d.lower[i];
    const full = ctx.box.upper[i] - ctx.box.lower[i];
    if (!(w > MIN_WIDTH * Math.max(full, 1e-300)) || w <= 0) continue;
    const mid = 0.5 * (d.lower[i] + d.upper[i]);
    let score = Infinity;
    for (const side of [0, 1]) {
      const lower = Float64Array.from(d.lower);
      const upper = Float64Array.from(d.upper);
      if (side === 0) upper[i] = mid;
      else lower[i] = mid;
      const m = disjunctMargins(rows, boundRowsFixed(ctx.bg, { lower, upper }, rows, d.pre));
      let worst = Infinity;
      for (const k of d.open) worst = Math.min(worst, m.get(k)!.margin);
      score = Math.min(score, worst);
    }
    if (score > bestScore + 1e-12 * Math.abs(bestScore)) {
      bestScore = score;
      bestDim = i;
    }
  }
  return bestDim;
}
