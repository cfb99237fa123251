// Branch and bound by input splitting (low-dimensional inputs): halve a box along its most influential dimension.
import { attack, checkCounterexample } from './falsify';
import { boundRows, boundRowsFixed } from './bounding';
import type { Interval } from '../../bounds/index';
import { MinHeap } from './heap';
import { forwardBatch, inputGradient } from './network';
import { disjunctMargins, stackDisjuncts, violation, type StackedRows } from './property';
import { AttackPacer, SearchCheckpoint, type SearchContext, type SearchOutcome } from './search';
import { chainBounds, chainSpec, layerChain, type LayerChain } from './symbolic';
import { SUM_ALLOWANCE, VALUE_ALLOWANCE } from '../../bounds/float';

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
  const chain = layerChain(ctx.bg);
  // Deep chains (three hidden layers or more, e.g. ACAS Xu): forward bounds with refinement, far cheaper per box than
  // the engine's CROWN. Shallow ones keep the engine's CROWN per box, which decides them in fewer boxes (vdp).
  if (chain !== null && chain.layers >= 4) return chainInputSplit(ctx, chain, open);
  const { bg, box } = ctx;
  const heap = new MinHeap<BoxDomain>();
  heap.push(rootWorst, { lower: box.lower, upper: box.upper, open, depth: 0, pre: null });
  let unresolved = 0;
  const checkpoint = new SearchCheckpoint(ctx);
  const pacer = new AttackPacer(ATTACK_SHARE);
  const t0 = performance.now();
  try {
    while (heap.size > 0) {
      const why = await checkpoint.check(heap.size);
      if (why !== null) return { kind: 'stopped', why };
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

interface ChainDomain {
  lower: Float64Array;
  upper: Float64Array;
  open: number[];
  /** Backward-bound input coefficients of the row to improve (the best row of the worst open disjunct). */
  coef: Float64Array;
  /** Every open row's backward bound as a linear function of x: coefficients (count × n) and constant. */
  rowCoef: Float64Array;
  rowConst: Float64Array;
  rows: StackedRows;
}

/** Share of a chain search's time given to attacks: each domain already checks two points of its own. */
const CHAIN_ATTACK_SHARE = 0.1;
/** Split dimensions tried per domain, best scores first (each costs two bounds): trying all pays many times over on ACAS Xu. */
const LOOKAHEAD = 16;

/**
 * Input splitting on a layer chain: each box bounded by forward linear bounds and a backward pass of the open rows
 * (symbolic.ts, well under a millisecond on ACAS Xu), split along the dimension whose width weighs most in the
 * bound of its worst row; each box's centre and the corner minimising its worst row's bound are checked points.
 */
async function chainInputSplit(ctx: SearchContext, chain: LayerChain, open: number[]): Promise<SearchOutcome> {
  const { box } = ctx;
  const n = chain.inputSize;
  const nOut = chain.sizes[chain.layers];
  const heap = new MinHeap<ChainDomain>();
  let unresolved = 0;
  const checkpoint = new SearchCheckpoint(ctx);
  const pacer = new AttackPacer(CHAIN_ATTACK_SHARE);
  const t0 = performance.now();
  const x = new Float64Array(n);
  const rowsCache = new Map<string, ReturnType<typeof stackDisjuncts>>();
  const rowsOf = (which: number[]) => {
    const key = which.join(',');
    let r = rowsCache.get(key);
    if (r === undefined) {
      r = stackDisjuncts(ctx.disjuncts, which, nOut);
      rowsCache.set(key, r);
    }
    return r;
  };
  // Bounds one box: null when refuted, else its domain and worst margin; a checked counterexample ends the search.
  // `full`: when the forward bounds alone (a fraction of the cost, often enough deep in the tree) leave a disjunct
  // open, CROWN's backward pass refines the unstable neurons and the bound is recomputed.
  // The parent's linear bounds hold on the child's box too: CROWN's fresh relaxations are not always better.
  const bound = (
    lower: Float64Array,
    upper: Float64Array,
    which: number[],
    full: boolean,
    parent: ChainDomain | null,
  ): { d: ChainDomain; worst: number; score: number } | { ce: Float64Array } | null => {
    ctx.stats.domains++;
    const rows = rowsOf(which);
    const inherit = (l: Float64Array): void => {
      if (parent === null || parent.rows !== rows) return;
      for (let r = 0; r < rows.count; r++) {
        let v = parent.rowConst[r];
        let m = Math.abs(v);
        for (let i = 0; i < n; i++) {
          const a = parent.rowCoef[r * n + i];
          const t = a >= 0 ? a * lower[i] : a * upper[i];
          v += t;
          m += Math.abs(t);
        }
        v -= VALUE_ALLOWANCE * (1 + Math.abs(v)) + SUM_ALLOWANCE * m;
        if (v > l[r]) l[r] = v;
      }
    };
    let spec = chainSpec(chain, chainBounds(chain, lower, upper, undefined, false), lower, upper, rows.A, rows.count);
    // The box's own bound (before inheriting) scores splits: the inherited one hides what a split gains.
    let own = spec.lower.slice();
    inherit(spec.lower);
    let margins = disjunctMargins(rows, spec.lower);
    if (full && !which.every((k) => margins.get(k)!.refuted)) {
      spec = chainSpec(chain, chainBounds(chain, lower, upper), lower, upper, rows.A, rows.count);
      own = spec.lower.slice();
      inherit(spec.lower);
      margins = disjunctMargins(rows, spec.lower);
    }
    const stillOpen = which.filter((k) => !margins.get(k)!.refuted);
    if (stillOpen.length === 0) return null;
    // The worst open disjunct, and its row closest to refuting it.
    let worst = Infinity;
    let worstK = stillOpen[0];
    for (const k of stillOpen) {
      const m = margins.get(k)!.margin;
      if (m < worst) {
        worst = m;
        worstK = k;
      }
    }
    const ownMargins = disjunctMargins(rows, own);
    let score = Infinity;
    for (const k of stillOpen) score = Math.min(score, ownMargins.get(k)!.margin);
    let row = -1;
    let best = -Infinity;
    for (let r = 0; r < rows.count; r++)
      if (rows.owner[r] === worstK && spec.lower[r] - rows.b[r] > best) {
        best = spec.lower[r] - rows.b[r];
        row = r;
      }
    const coef = spec.inputCoef.slice(row * n, (row + 1) * n);
    // Points: the corner minimising that row's bound, and the centre.
    for (let i = 0; i < n; i++) x[i] = coef[i] >= 0 ? lower[i] : upper[i];
    let hit = pointCheck(ctx, chain, lower, upper, stillOpen, x);
    if (hit !== null) return { ce: hit };
    for (let i = 0; i < n; i++) x[i] = 0.5 * (lower[i] + upper[i]);
    hit = pointCheck(ctx, chain, lower, upper, stillOpen, x);
    if (hit !== null) return { ce: hit };
    const rowConst = new Float64Array(rows.count);
    for (let r = 0; r < rows.count; r++) {
      let m = 0;
      for (let i = 0; i < n; i++) {
        const a = spec.inputCoef[r * n + i];
        m += a >= 0 ? a * lower[i] : a * upper[i];
      }
      rowConst[r] = spec.backLower[r] - m;
    }
    return { d: { lower, upper, open: stillOpen, coef, rowCoef: spec.inputCoef, rowConst, rows }, worst, score };
  };
  try {
    const root = bound(box.lower, box.upper, open, true, null);
    if (root === null) return { kind: 'refuted' };
    if ('ce' in root) return found(ctx, root.ce);
    heap.push(root.worst, root.d);
    while (heap.size > 0) {
      const why = await checkpoint.check(heap.size);
      if (why !== null) return { kind: 'stopped', why };
      const d = heap.pop()!;
      if (pacer.due()) {
        const target = pacer.rounds % 2 === 0 ? box : { lower: d.lower, upper: d.upper };
        const ce = pacer.run(() =>
          attack(ctx.graph, ctx.bg, target, ctx.disjuncts, { restarts: 16, steps: 50, deadline: ctx.deadline, random: ctx.random }),
        );
        if (ce !== null) return found(ctx, ce.x);
      }
      // Split where width × |coefficient| of the worst row is largest (the widest dimension when all vanish).
      let dim = -1;
      let top = 0;
      let widest = -1;
      let widestDim = -1;
      for (let i = 0; i < n; i++) {
        const w = d.upper[i] - d.lower[i];
        const full = box.upper[i] - box.lower[i];
        if (!(w > MIN_WIDTH * Math.max(full, 1e-300))) continue;
        const s = Math.abs(d.coef[i]) * w;
        if (s > top) {
          top = s;
          dim = i;
        }
        if (w / full > widest) {
          widest = w / full;
          widestDim = i;
        }
      }
      if (dim < 0) dim = widestDim;
      if (dim < 0) {
        unresolved++;
        continue;
      }
      // First, the box's own linear bounds (relaxations fixed): a split that already lifts the worse half's margin
      // (rows of a disjunct pulling different ways) is taken as is.
      const fixedDim = fixedRelaxationSplit(d, n, box, worstOf(d));
      if (fixedDim >= 0) dim = fixedDim;
      // Candidates: the best scores (LOOKAHEAD of them), each split bounded; the split whose worse child is best wins.
      const order = Array.from({ length: n }, (_, i) => i)
        .filter((i) => d.upper[i] - d.lower[i] > MIN_WIDTH * Math.max(box.upper[i] - box.lower[i], 1e-300))
        .sort((a, b) => Math.abs(d.coef[b]) * (d.upper[b] - d.lower[b]) - Math.abs(d.coef[a]) * (d.upper[a] - d.lower[a]));
      const tries = fixedDim >= 0 ? [fixedDim] : order.slice(0, LOOKAHEAD);
      if (!tries.includes(dim)) tries[0] = dim;
      let pick: { d: ChainDomain; worst: number }[] | null = null;
      let pickScore = -Infinity;
      for (const cand of tries) {
        const mid = 0.5 * (d.lower[cand] + d.upper[cand]);
        const kids: { d: ChainDomain; worst: number }[] = [];
        let score = Infinity;
        for (const side of [0, 1]) {
          const lower = Float64Array.from(d.lower);
          const upper = Float64Array.from(d.upper);
          if (side === 0) upper[cand] = mid;
          else lower[cand] = mid;
          const child = bound(lower, upper, d.open, false, d);
          if (child === null) continue;
          if ('ce' in child) return found(ctx, child.ce);
          kids.push(child);
          score = Math.min(score, child.score);
        }
        if (score > pickScore || pick === null) {
          pickScore = score;
          pick = kids;
        }
        if (kids.length === 0) break;
      }
      // The chosen children, bounded fully.
      for (const quick of pick!) {
        const child = bound(quick.d.lower, quick.d.upper, quick.d.open, true, d);
        if (child === null) continue;
        if ('ce' in child) return found(ctx, child.ce);
        heap.push(child.worst, child.d);
      }
    }
  } finally {
    ctx.stats.bab_s += (performance.now() - t0) / 1000 - pacer.spent_s;
    ctx.stats.falsify_s += pacer.spent_s;
  }
  if (unresolved > 0) return { kind: 'unresolved', reason: `${unresolved} input boxes reached the minimum width without a verdict` };
  return { kind: 'refuted' };
}

/** x (in the box) when the chain's forward pass says it meets an open disjunct and the float64 re-check agrees. */
function pointCheck(ctx: SearchContext, chain: LayerChain, lower: Float64Array, upper: Float64Array, open: number[], x: Float64Array): Float64Array | null {
  const y = chainForward(chain, x);
  for (const k of open)
    if (violation(ctx.disjuncts[k], y, 0, y.length).value <= 0) {
      const ce = checkCounterexample(ctx.graph, { lower, upper }, ctx.disjuncts, x);
      if (ce !== null) return ce.x;
    }
  return null;
}

function chainForward(chain: LayerChain, x: Float64Array): Float64Array {
  let h: Float64Array = x;
  for (let k = 1; k <= chain.layers; k++) {
    const size = chain.sizes[k];
    const m = chain.sizes[k - 1];
    const W = chain.W[k];
    const z = Float64Array.from(chain.b[k]);
    for (let i = 0; i < size; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += W[i * m + j] * h[j];
      z[i] += s;
    }
    h = k < chain.layers ? chain.act[k].evaluate(z) : z;
  }
  return h;
}

/** The worst open disjunct's margin of a domain under its own linear bounds. */
function worstOf(d: ChainDomain): number {
  return marginsOnBox(d, d.lower, d.upper);
}

/** Worst (over open disjuncts) of the best row margin, the rows' linear bounds minimised over [lower, upper]. */
function marginsOnBox(d: ChainDomain, lower: Float64Array, upper: Float64Array): number {
  const n = lower.length;
  const rows = d.rows;
  const best = new Map<number, number>();
  for (let r = 0; r < rows.count; r++) {
    let v = d.rowConst[r] - rows.b[r];
    for (let i = 0; i < n; i++) {
      const a = d.rowCoef[r * n + i];
      v += a >= 0 ? a * lower[i] : a * upper[i];
    }
    const k = rows.owner[r];
    const prev = best.get(k);
    if (prev === undefined || v > prev) best.set(k, v);
  }
  let worst = Infinity;
  for (const k of d.open) worst = Math.min(worst, best.get(k) ?? Infinity);
  return worst;
}

/** The dimension whose halves' worse margin (relaxations fixed) beats the box's own the most; −1 when none does. */
function fixedRelaxationSplit(d: ChainDomain, n: number, box: { lower: Float64Array; upper: Float64Array }, current: number): number {
  let bestDim = -1;
  let bestScore = current + 1e-9 * (1 + Math.abs(current));
  for (let i = 0; i < n; i++) {
    const w = d.upper[i] - d.lower[i];
    if (!(w > MIN_WIDTH * Math.max(box.upper[i] - box.lower[i], 1e-300))) continue;
    const mid = 0.5 * (d.lower[i] + d.upper[i]);
    const up = Float64Array.from(d.upper);
    up[i] = mid;
    const lo = Float64Array.from(d.lower);
    lo[i] = mid;
    const score = Math.min(marginsOnBox(d, d.lower, up), marginsOnBox(d, lo, d.upper));
    if (score > bestScore) {
      bestScore = score;
      bestDim = i;
    }
  }
  return bestDim;
}
