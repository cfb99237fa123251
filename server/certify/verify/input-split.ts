// Branch and bound by input splitting (low-dimensional inputs): halve a box along its most influential dimension.
import { attack, checkCounterexample } from './falsify';
import { boundRows, boundRowsFixed } from './bounding';
import type { Interval } from '../../bounds/index';
import { branchAndBound } from './bab';
import { forwardBatch, inputGradient } from './network';
import { disjunctMargins, stackDisjuncts, violation, type StackedRows } from './property';
import { searchSetup, type BranchingSearch, type Expansion, type SearchContext, type SearchOutcome, type SearchSetup } from './search';
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
  if (chain !== null && chain.layers >= 4) {
    const search = new ChainInputSearch(ctx, chain);
    return branchAndBound(ctx, search, search.root(open));
  }
  const root: BoxDomain = { lower: ctx.box.lower, upper: ctx.box.upper, open, depth: 0, pre: null };
  return branchAndBound(ctx, new BoxInputSearch(ctx), { children: [{ key: rootWorst, domain: root }], counterexample: null, unresolved: 0 });
}

const unresolvedBoxes = (count: number): string => `${count} input boxes reached the minimum width without a verdict`;

/** Input splitting with the engine's CROWN per box (shallow networks). */
export class BoxInputSearch implements BranchingSearch<BoxDomain> {
  readonly attackShare = ATTACK_SHARE;
  readonly setup: SearchSetup;

  constructor(private readonly ctx: SearchContext) {
    this.setup = searchSetup(ctx, { kind: 'box-input' });
  }

  /** Attacks on the whole box and on the head domain's box, in turn. */
  attack(round: number, d: BoxDomain | null): Float64Array | null {
    const { ctx } = this;
    const target = round % 2 === 0 || d === null ? ctx.box : { lower: d.lower, upper: d.upper };
    return attack(ctx.graph, ctx.bg, target, ctx.disjuncts, { restarts: 32, steps: 100, deadline: ctx.deadline, random: ctx.random })?.x ?? null;
  }

  expand(d: BoxDomain): Expansion<BoxDomain> {
    const { ctx } = this;
    const { bg } = ctx;
    const out: Expansion<BoxDomain> = { children: [], counterexample: null, unresolved: 0 };
    const dim = splitDimension(ctx, d);
    if (dim < 0) {
      out.unresolved = 1;
      return out;
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
      if (ce !== null) {
        out.counterexample = ce;
        return out;
      }
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
      out.children.push({ key: worst, domain: { ...child, open: stillOpen, pre: preActivations } });
    }
    return out;
  }

  encode(d: BoxDomain): unknown {
    return d;
  }

  decode(wire: unknown): BoxDomain {
    return wire as BoxDomain;
  }

  unresolvedReason(count: number): string {
    return unresolvedBoxes(count);
  }
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
 * Among the dimensions still wider than MIN_WIDTH of the box's: the one where width × |weight| is largest (`dim`;
 * the widest one when every weight vanishes), and the widest one (`widest`); −1 for both when none is left.
 */
function smearDimension(lower: Float64Array, upper: Float64Array, box: { lower: Float64Array; upper: Float64Array }, weight: ArrayLike<number>): { dim: number; widest: number } {
  let dim = -1;
  let top = 0;
  let widestShare = -1;
  let widest = -1;
  for (let i = 0; i < lower.length; i++) {
    const w = upper[i] - lower[i];
    const full = box.upper[i] - box.lower[i];
    if (!(w > MIN_WIDTH * Math.max(full, 1e-300))) continue;
    const s = Math.abs(weight[i]) * w;
    if (s > top) {
      top = s;
      dim = i;
    }
    if (w / full > widestShare) {
      widestShare = w / full;
      widest = i;
    }
  }
  return { dim: dim >= 0 ? dim : widest, widest };
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
  const { dim: smeared, widest: widestDim } = smearDimension(d.lower, d.upper, ctx.box, g);
  if (d.pre === null || widestDim < 0) return smeared;
  // With the parent's relaxations at hand, try every dimension cheaply: keep the split whose worse half is best.
  const rows = stackDisjuncts(ctx.disjuncts, d.open, nOut);
  let bestDim = smeared;
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
  /** The disjuncts whose rows `rowCoef` holds (those open when the box was bounded), and their stacking. */
  which: number[];
  rows: StackedRows;
}

/** A chain domain between threads: the stacking is rebuilt from `which` (the receiver's own cache, so shared). */
type ChainWire = Omit<ChainDomain, 'rows'>;

/** Share of a chain search's time given to attacks: each domain already checks two points of its own. */
const CHAIN_ATTACK_SHARE = 0.1;
/** Split dimensions tried per domain, best scores first (each costs two bounds): trying all pays many times over on ACAS Xu. */
const LOOKAHEAD = 16;

/**
 * Input splitting on a layer chain: each box bounded by forward linear bounds and a backward pass of the open rows
 * (symbolic.ts, well under a millisecond on ACAS Xu), split along the dimension whose width weighs most in the
 * bound of its worst row; each box's centre and the corner minimising its worst row's bound are checked points.
 */
export class ChainInputSearch implements BranchingSearch<ChainDomain> {
  readonly attackShare = CHAIN_ATTACK_SHARE;
  readonly setup: SearchSetup;
  private readonly n: number;
  private readonly nOut: number;
  private readonly x: Float64Array;
  private readonly rowsCache = new Map<string, StackedRows>();

  constructor(
    private readonly ctx: SearchContext,
    private readonly chain: LayerChain,
  ) {
    this.setup = searchSetup(ctx, { kind: 'chain-input' });
    this.n = chain.inputSize;
    this.nOut = chain.sizes[chain.layers];
    this.x = new Float64Array(this.n);
  }

  private rowsOf(which: number[]): StackedRows {
    const key = which.join(',');
    let r = this.rowsCache.get(key);
    if (r === undefined) {
      r = stackDisjuncts(this.ctx.disjuncts, which, this.nOut);
      this.rowsCache.set(key, r);
    }
    return r;
  }

  /** The whole box, bounded: the root domain, or refuted, or a counterexample. */
  root(open: number[]): Expansion<ChainDomain> {
    const r = this.bound(this.ctx.box.lower, this.ctx.box.upper, open, true, null);
    if (r === null) return { children: [], counterexample: null, unresolved: 0 };
    if ('ce' in r) return { children: [], counterexample: r.ce, unresolved: 0 };
    return { children: [{ key: r.worst, domain: r.d }], counterexample: null, unresolved: 0 };
  }

  /** Attacks on the whole box and on the head domain's box, in turn. */
  attack(round: number, d: ChainDomain | null): Float64Array | null {
    const { ctx } = this;
    const target = round % 2 === 0 || d === null ? ctx.box : { lower: d.lower, upper: d.upper };
    return attack(ctx.graph, ctx.bg, target, ctx.disjuncts, { restarts: 16, steps: 50, deadline: ctx.deadline, random: ctx.random })?.x ?? null;
  }

  encode(d: ChainDomain): unknown {
    const { rows: _rows, ...wire } = d;
    return wire;
  }

  decode(wire: unknown): ChainDomain {
    const w = wire as ChainWire;
    return { ...w, rows: this.rowsOf(w.which) };
  }

  unresolvedReason(count: number): string {
    return unresolvedBoxes(count);
  }

  expand(d: ChainDomain): Expansion<ChainDomain> {
    const { ctx, n } = this;
    const { box } = ctx;
    const bound = this.bound.bind(this);
    const out: Expansion<ChainDomain> = { children: [], counterexample: null, unresolved: 0 };
    // Split where width × |coefficient| of the worst row is largest (the widest dimension when all vanish).
    let { dim } = smearDimension(d.lower, d.upper, box, d.coef);
    if (dim < 0) return { children: [], counterexample: null, unresolved: 1 };
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
        if ('ce' in child) return { children: [], counterexample: child.ce, unresolved: 0 };
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
      if ('ce' in child) return { children: out.children, counterexample: child.ce, unresolved: 0 };
      out.children.push({ key: child.worst, domain: child.d });
    }
    return out;
  }

  // Bounds one box: null when refuted, else its domain and worst margin; a checked counterexample ends the search.
  // `full`: when the forward bounds alone (a fraction of the cost, often enough deep in the tree) leave a disjunct
  // open, CROWN's backward pass refines the unstable neurons and the bound is recomputed.
  // The parent's linear bounds hold on the child's box too: CROWN's fresh relaxations are not always better.
  private bound(
    lower: Float64Array,
    upper: Float64Array,
    which: number[],
    full: boolean,
    parent: ChainDomain | null,
  ): { d: ChainDomain; worst: number; score: number } | { ce: Float64Array } | null {
    const { ctx, chain, n, x } = this;
    ctx.stats.domains++;
    const rows = this.rowsOf(which);
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
    return { d: { lower, upper, open: stillOpen, coef, rowCoef: spec.inputCoef, rowConst, which, rows }, worst, score };
  }
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
