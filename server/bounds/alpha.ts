// α-CROWN: optimised lower slopes of unstable ReLUs (Adam on hand-written float64 gradients), layer by layer.
import { alphaGradient, backwardBound, type AlphaMap } from './backward';
import { rowBlock, type CrownState } from './crown';
import { allowance } from './float';
import type { BoundGraph } from './graph';
import type { Interval } from './ibp';
import type { ElementwiseRelaxation, Relaxation } from './ops/types';
import type { Region } from './region';
import { checkBoundMemory } from './memory';

export interface AlphaOptions {
  iterations: number;
  learningRate: number;
  /** Learning-rate factor per iteration. */
  decay: number;
  /** Stop a row block after this many iterations without improving its summed bound. */
  patience: number;
  /** Also optimise the bounds of unstable intermediate pre-activations, and use them for later layers. */
  intermediate: boolean;
}

export const defaultAlphaOptions: AlphaOptions = { iterations: 100, learningRate: 0.1, decay: 0.98, patience: 10, intermediate: true };

/**
 * α-CROWN on top of a finished CROWN pass: first each ReLU layer's unstable pre-activations (in graph order, each
 * with its own α for the earlier layers), then the output rows. Every α gives a sound bound; the best seen is kept,
 * and never anything looser than CROWN's.
 */
export function alphaCrown(
  bg: BoundGraph,
  region: Region,
  state: CrownState,
  rows: Float64Array,
  count: number,
  options: Partial<AlphaOptions>,
  refine?: (value: string, b: Interval) => Interval,
): { output: Interval; preActivations: Map<string, Interval> } {
  checkBoundMemory(bg, 'alpha-crown');
  const opts = { ...defaultAlphaOptions, ...options };
  const relaxations = new Map<number, Relaxation>(state.relaxations);
  const pre = new Map<string, Interval>(state.preActivations);
  if (opts.intermediate) {
    for (const i of bg.nonlinear) {
      const op = bg.ops[i];
      if (op.kind !== 'nonlinear') continue;
      const v = op.input;
      const old = pre.get(v)!;
      const p = bg.producer.get(v);
      let b: Interval = old;
      if (p !== undefined && bg.ops[p].kind === 'nonlinear') {
        const producer = bg.ops[p];
        if (producer.kind === 'nonlinear') {
          const inner = pre.get(producer.input)!;
          b = tighter(old, producer.interval(inner.lower, inner.upper));
        }
      } else if (p !== undefined && hasOptimisableBefore(relaxations, p)) {
        const unstable: number[] = [];
        for (let j = 0; j < op.inputSize; j++) if (old.lower[j] < 0 && old.upper[j] > 0 && !(op.graft?.mask[j])) unstable.push(j);
        if (unstable.length > 0) {
          const best = optimiseRows(bg, relaxations, region, v, op.inputSize, 2 * unstable.length, (r, out, o) => {
            out[o + unstable[r >> 1]] = r & 1 ? -1 : 1;
          }, opts);
          const lower = Float64Array.from(old.lower);
          const upper = Float64Array.from(old.upper);
          unstable.forEach((j, k) => {
            lower[j] = Math.max(lower[j], best[2 * k]);
            upper[j] = Math.min(upper[j], -best[2 * k + 1]);
          });
          b = { lower, upper };
        }
      }
      if (refine) b = refine(v, b);
      pre.set(v, b);
      relaxations.set(i, op.relax(b.lower, b.upper));
    }
  }
  const n = bg.outputSize;
  const best = optimiseRows(bg, relaxations, region, bg.output, n, 2 * count, (r, out, o) => {
    const s = r & 1 ? -1 : 1;
    const src = (r >> 1) * n;
    for (let j = 0; j < n; j++) out[o + j] = s * rows[src + j];
  }, opts);
  const lower = new Float64Array(count);
  const upper = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    lower[k] = best[2 * k];
    upper[k] = -best[2 * k + 1];
  }
  return { output: { lower, upper }, preActivations: pre };
}

function tighter(a: Interval, b: Interval): Interval {
  return { lower: a.lower.map((v, i) => Math.max(v, b.lower[i])), upper: a.upper.map((v, i) => Math.min(v, b.upper[i])) };
}

function hasOptimisableBefore(relaxations: ReadonlyMap<number, Relaxation>, index: number): boolean {
  for (const [j, r] of relaxations) if (j < index && r.kind === 'elementwise' && r.optimisable.length > 0) return true;
  return false;
}

/** Best (largest) widened lower bound of each row found by optimising per-row α; rows in blocks. */
export function optimiseRows(
  bg: BoundGraph,
  relaxations: ReadonlyMap<number, Relaxation>,
  region: Region,
  start: string,
  startSize: number,
  count: number,
  rowAt: (r: number, out: Float64Array, offset: number) => void,
  opts: AlphaOptions,
): Float64Array {
  const result = new Float64Array(count).fill(-Infinity);
  const block = rowBlock(bg);
  const startIndex = bg.producer.get(start) ?? -1;
  for (let r0 = 0; r0 < count; r0 += block) {
    const rows = Math.min(block, count - r0);
    const c = new Float64Array(rows * startSize);
    for (let r = 0; r < rows; r++) rowAt(r0 + r, c, r * startSize);
    const alpha: AlphaMap = new Map();
    const adamM = new Map<number, Float64Array>();
    const adamV = new Map<number, Float64Array>();
    for (const [j, relax] of relaxations) {
      if (j >= startIndex || relax.kind !== 'elementwise' || relax.optimisable.length === 0) continue;
      const k = relax.optimisable.length;
      const a = new Float64Array(rows * k);
      for (let r = 0; r < rows; r++) for (let s = 0; s < k; s++) a[r * k + s] = (relax as ElementwiseRelaxation).lowSlope[relax.optimisable[s]];
      alpha.set(j, a);
      adamM.set(j, new Float64Array(a.length));
      adamV.set(j, new Float64Array(a.length));
    }
    const best = result.subarray(r0, r0 + rows);
    let bestSum = -Infinity;
    let stale = 0;
    let lr = opts.learningRate;
    const iterations = alpha.size === 0 ? 1 : Math.max(1, opts.iterations);
    for (let t = 0; t < iterations; t++) {
      const res = backwardBound(bg, relaxations, region, start, c, rows, alpha, alpha.size > 0);
      let sum = 0;
      for (let r = 0; r < rows; r++) {
        const lb = res.lower[r] - allowance(res.lower[r], res.magnitude[r]);
        if (lb > best[r]) best[r] = lb;
        sum += best[r];
      }
      // Patience counts iterations in which no row improved its best bound noticeably.
      if (t === 0 || sum > bestSum + 1e-9 * (1 + Math.abs(bestSum))) {
        bestSum = sum;
        stale = 0;
      } else if (++stale >= opts.patience) break;
      if (t === iterations - 1 || res.tape === null) break;
      const { gradient } = alphaGradient(bg, relaxations, region, res.tape, rows, alpha);
      const step = t + 1;
      const b1 = 0.9, b2 = 0.999;
      const c1 = 1 - Math.pow(b1, step);
      const c2 = 1 - Math.pow(b2, step);
      for (const [j, a] of alpha) {
        const g = gradient.get(j);
        if (g === undefined) continue;
        const m = adamM.get(j)!;
        const v = adamV.get(j)!;
        for (let e = 0; e < a.length; e++) {
          const ge = g[e];
          m[e] = b1 * m[e] + (1 - b1) * ge;
          v[e] = b2 * v[e] + (1 - b2) * ge * ge;
          let x = a[e] + (lr * (m[e] / c1)) / (Math.sqrt(v[e] / c2) + 1e-8);
          if (x < 0) x = 0;
          else if (x > 1) x = 1;
          a[e] = x;
        }
      }
      lr *= opts.decay;
    }
  }
  return result;
}
