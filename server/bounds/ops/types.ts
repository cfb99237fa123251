// The fixed interface every op implements for bound propagation (IBP, CROWN, α-CROWN).
import type { Graph, IRNode, Tensor } from '../../ir/graph';

/**
 * An op that is affine in its non-constant inputs: y = Σ_i L_i·x_i + f(0).
 * All batched methods work on `rows` stacked row vectors, row-major (rows × size).
 */
export interface LinearBoundOp {
  readonly kind: 'linear';
  readonly node: IRNode;
  /** Non-constant input value names, in the order the methods take them (duplicates allowed). */
  readonly inputs: readonly string[];
  readonly inputSizes: readonly number[];
  readonly output: string;
  readonly outputSize: number;
  /** The constant part f(0) (outputSize), or null when it is zero. */
  readonly bias: Float64Array | null;
  /**
   * A bound on the magnitude of the terms summed into the bias, for rounding allowances: |bias| for a model constant
   * as stored, the sum of the terms' magnitudes when it was folded from several (fuse.ts); null without a bias.
   */
  readonly biasMagnitude: Float64Array | null;
  /** Σ_i L_i·x_i for each row (no bias). May return one of `xs` itself for a pure relabelling. */
  applyLinear(xs: readonly Float64Array[], rows: number): Float64Array;
  /** Σ_i |L_i|·x_i for each row (IBP radius). */
  applyAbs(xs: readonly Float64Array[], rows: number): Float64Array;
  /** A·L_i for each input i: the backward (transpose) map of rows of coefficients. May alias `a`. */
  backward(a: Float64Array, rows: number): Float64Array[];
}

/** A relaxation of an elementwise activation y = σ(z) on [l, u]: lowSlope·z + lowBias ≤ y ≤ upSlope·z + upBias. */
export interface ElementwiseRelaxation {
  readonly kind: 'elementwise';
  readonly lowSlope: Float64Array;
  readonly lowBias: Float64Array;
  readonly upSlope: Float64Array;
  readonly upBias: Float64Array;
  /** Neurons whose lower slope α-CROWN may optimise in [0, 1] (unstable ReLUs), in increasing order. */
  readonly optimisable: Int32Array;
}

/**
 * A relaxation of y_j = max_{k ∈ window(j)} x_k: lower y_j ≥ x_{pick[j]};
 * upper y_j ≤ x_{pick[j]} where `exact[j]`, else y_j ≤ upConst[j].
 */
export interface SelectRelaxation {
  readonly kind: 'select';
  readonly pick: Int32Array;
  readonly exact: Uint8Array;
  readonly upConst: Float64Array;
}

export type Relaxation = ElementwiseRelaxation | SelectRelaxation;

/** An op with one non-constant input that needs bounds on that input and is relaxed linearly. */
export interface NonlinearBoundOp {
  readonly kind: 'nonlinear';
  readonly node: IRNode;
  readonly input: string;
  readonly inputSize: number;
  readonly output: string;
  readonly outputSize: number;
  /** 'relu' for (possibly grafted) ReLU layers, the ones reports count. */
  readonly family: 'relu' | 'sigmoid' | 'tanh' | 'maxpool';
  /** Grafted neurons (mask m = 1), when this is a grafted ReLU. */
  readonly graft: { mask: Uint8Array; slope: Float64Array; intercept: Float64Array } | null;
  /** Interval of the output given the interval of the input (exact for monotone elementwise ops). */
  interval(lower: Float64Array, upper: Float64Array): { lower: Float64Array; upper: Float64Array };
  relax(lower: Float64Array, upper: Float64Array): Relaxation;
  /** The op itself on one sample, for tests that sample the network. */
  evaluate(x: Float64Array): Float64Array;
}

export type BoundOp = LinearBoundOp | NonlinearBoundOp;

/** What a builder sees of a node: constants by value name, static shapes, the opset. */
export interface BuildContext {
  readonly graph: Graph;
  constant(name: string): Tensor | undefined;
  shape(name: string): readonly number[];
}

/** Builds the bound ops of one IR node (one per output the bound engine tracks), or throws UnsupportedOp. */
export type BoundOpBuilder = (node: IRNode, ctx: BuildContext) => BoundOp[];

/** Raised by a builder for a node (or a form of a node) it cannot bound; the registry collects these. */
export class UnsupportedOp extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = 'UnsupportedOp';
  }
}
