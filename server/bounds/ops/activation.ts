// Elementwise activations: Relu, grafted ReLU, Sigmoid, Tanh — interval images and linear relaxations.
import type { IRNode, Tensor } from '../../ir/graph';
import { sizeOf } from '../../tensor/types';
import { expandConstant } from './util';
import {
  UnsupportedOp,
  type BoundOp,
  type BuildContext,
  type ElementwiseRelaxation,
  type NonlinearBoundOp,
  type Relaxation,
} from './types';

/** Outward margin on the intercepts of curved relaxations, so rounding in the sampled forward pass stays inside. */
const CURVE_MARGIN = 1e-12;

abstract class ElementwiseBound implements NonlinearBoundOp {
  readonly kind = 'nonlinear' as const;
  abstract readonly family: 'relu' | 'sigmoid' | 'tanh';
  readonly input: string;
  readonly output: string;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly graft: NonlinearBoundOp['graft'] = null;
  constructor(readonly node: IRNode, ctx: BuildContext) {
    this.input = node.inputs[0];
    this.output = node.outputs[0];
    this.inputSize = sizeOf(ctx.shape(this.input));
    this.outputSize = this.inputSize;
  }
  abstract scalar(x: number): number;
  interval(lower: Float64Array, upper: Float64Array): { lower: Float64Array; upper: Float64Array } {
    return { lower: lower.map((v) => this.scalar(v)), upper: upper.map((v) => this.scalar(v)) };
  }
  abstract relax(lower: Float64Array, upper: Float64Array): Relaxation;
  evaluate(x: Float64Array): Float64Array {
    return x.map((v) => this.scalar(v));
  }
}

/** ReLU, and the grafted ReLU y = (1 − m)·relu(x) + m·(a·x + b) when `graft` is set. */
export class ReluBound extends ElementwiseBound {
  readonly family = 'relu' as const;
  override readonly graft: NonlinearBoundOp['graft'];
  constructor(node: IRNode, ctx: BuildContext, graft: NonlinearBoundOp['graft'] = null) {
    super(node, ctx);
    this.graft = graft;
  }
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    return [new ReluBound(node, ctx)];
  }
  scalar(x: number): number {
    return x > 0 ? x : 0;
  }
  override interval(lower: Float64Array, upper: Float64Array): { lower: Float64Array; upper: Float64Array } {
    const n = lower.length;
    const lo = new Float64Array(n);
    const hi = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      lo[i] = lower[i] > 0 ? lower[i] : 0;
      hi[i] = upper[i] > 0 ? upper[i] : 0;
    }
    const g = this.graft;
    if (g !== null)
      for (let i = 0; i < lo.length; i++) {
        if (!g.mask[i]) continue;
        const p = g.slope[i] * lower[i] + g.intercept[i];
        const q = g.slope[i] * upper[i] + g.intercept[i];
        lo[i] = Math.min(p, q);
        hi[i] = Math.max(p, q);
      }
    return { lower: lo, upper: hi };
  }
  relax(lower: Float64Array, upper: Float64Array): ElementwiseRelaxation {
    const n = lower.length;
    const lowSlope = new Float64Array(n);
    const lowBias = new Float64Array(n);
    const upSlope = new Float64Array(n);
    const upBias = new Float64Array(n);
    const optimisable: number[] = [];
    const g = this.graft;
    for (let i = 0; i < n; i++) {
      if (g !== null && g.mask[i]) {
        lowSlope[i] = upSlope[i] = g.slope[i];
        lowBias[i] = upBias[i] = g.intercept[i];
        continue;
      }
      const l = lower[i];
      const u = upper[i];
      if (l >= 0) {
        lowSlope[i] = upSlope[i] = 1;
      } else if (u <= 0) {
        // inactive: y = 0
      } else {
        const d = u / (u - l);
        upSlope[i] = d;
        upBias[i] = -l * d;
        lowSlope[i] = u > -l ? 1 : 0;
        optimisable.push(i);
      }
    }
    return { kind: 'elementwise', lowSlope, lowBias, upSlope, upBias, optimisable: Int32Array.from(optimisable) };
  }
  override evaluate(x: Float64Array): Float64Array {
    const y = x.map((v) => (v > 0 ? v : 0));
    const g = this.graft;
    if (g !== null) for (let i = 0; i < y.length; i++) if (g.mask[i]) y[i] = g.slope[i] * x[i] + g.intercept[i];
    return y;
  }
}

/**
 * Grafted ReLU as a node: opType 'GraftedRelu' (any domain) with inputs [x, mask, slope, intercept] (constants,
 * broadcast to x) or tensor attributes `mask`, `slope`, `intercept`.
 */
export class GraftedReluBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const shape = ctx.shape(node.inputs[0]);
    const param = (position: number, name: string): Float64Array => {
      const input = node.inputs[position];
      let t: Tensor | undefined = input ? ctx.constant(input) : undefined;
      const a = node.attrs[name];
      if (t === undefined && a !== undefined && a.kind === 'tensor') t = a.value;
      if (t === undefined) throw new UnsupportedOp(`GraftedRelu without a constant ${name}`);
      return expandConstant(t, shape);
    };
    const mask = param(1, 'mask');
    return [
      new ReluBound(node, ctx, {
        mask: Uint8Array.from(mask, (v) => (v !== 0 ? 1 : 0)),
        slope: param(2, 'slope'),
        intercept: param(3, 'intercept'),
      }),
    ];
  }
}

/**
 * An S-shaped activation, convex for x < 0 and concave for x > 0: CROWN's tangent/chord relaxation.
 * The lower line comes from the upper line of h(x) = −f(−x), which has the same shape.
 */
abstract class SShapedBound extends ElementwiseBound {
  abstract derivative(x: number): number;
  /** h(x) = −f(−x). */
  abstract mirrored(x: number): number;
  relax(lower: Float64Array, upper: Float64Array): ElementwiseRelaxation {
    const n = lower.length;
    const lowSlope = new Float64Array(n);
    const lowBias = new Float64Array(n);
    const upSlope = new Float64Array(n);
    const upBias = new Float64Array(n);
    const f = (x: number): number => this.scalar(x);
    const h = (x: number): number => this.mirrored(x);
    const df = (x: number): number => this.derivative(x);
    for (let i = 0; i < n; i++) {
      const l = lower[i];
      const u = upper[i];
      const [su, tu] = upperLine(f, df, l, u);
      upSlope[i] = su;
      upBias[i] = tu + CURVE_MARGIN * (1 + Math.abs(tu));
      // h' (x) = f'(−x)
      const [sl, tl] = upperLine(h, (x) => df(-x), -u, -l);
      lowSlope[i] = sl;
      lowBias[i] = -tl - CURVE_MARGIN * (1 + Math.abs(tl));
    }
    return { kind: 'elementwise', lowSlope, lowBias, upSlope, upBias, optimisable: new Int32Array(0) };
  }
}

/** A line s·x + t ≥ f(x) on [l, u] for f convex on x < 0 and concave on x > 0. */
function upperLine(f: (x: number) => number, df: (x: number) => number, l: number, u: number): [number, number] {
  if (u - l < 1e-8) return [0, f(u)]; // f is increasing: f(u) bounds the tiny interval
  if (u <= 0) {
    const s = (f(u) - f(l)) / (u - l);
    return [s, Math.max(f(l) - s * l, f(u) - s * u)];
  }
  const tangent = (d: number): [number, number] => [df(d), f(d) - df(d) * d];
  if (l >= 0) return tangent((l + u) / 2);
  // Smallest tangent point d ≥ 0 whose tangent passes above (l, f(l)); beyond u the chord is the bound.
  const above = (d: number): boolean => f(d) + df(d) * (l - d) >= f(l);
  if (!above(u)) {
    const s = (f(u) - f(l)) / (u - l);
    return [s, Math.max(f(l) - s * l, f(u) - s * u)];
  }
  let lo = 0;
  let hi = u;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (above(mid)) hi = mid;
    else lo = mid;
  }
  return tangent(hi);
}

export class SigmoidBound extends SShapedBound {
  readonly family = 'sigmoid' as const;
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    return [new SigmoidBound(node, ctx)];
  }
  scalar(x: number): number {
    return 1 / (1 + Math.exp(-x));
  }
  derivative(x: number): number {
    const s = this.scalar(x);
    return s * (1 - s);
  }
  mirrored(x: number): number {
    return -1 / (1 + Math.exp(x));
  }
}

export class TanhBound extends SShapedBound {
  readonly family = 'tanh' as const;
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    return [new TanhBound(node, ctx)];
  }
  scalar(x: number): number {
    return Math.tanh(x);
  }
  derivative(x: number): number {
    const t = Math.tanh(x);
    return 1 - t * t;
  }
  mirrored(x: number): number {
    return Math.tanh(x);
  }
}
