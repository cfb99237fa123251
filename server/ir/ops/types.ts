// The fixed interface of one op in the forward pass: shape inference and batched evaluation.
import type { AttrValue, DataType, IRNode, Tensor } from '../graph';
import type { Precision, FloatArray } from '../../tensor/types';

/** What shape inference knows of one input: its static shape and type, and its value if constant. */
export interface InputInfo {
  readonly shape: readonly number[];
  readonly dtype: DataType;
  /** Present when the input is a constant (initialiser or folded): shape inference may read it (Reshape, Slice...). */
  readonly constant?: Tensor;
}

export interface OutputInfo {
  readonly shape: readonly number[];
  readonly dtype: DataType;
}

/**
 * One input of a batched forward call. A constant input is passed once (batch 1, `constant: true`)
 * and applies to every sample; a non-constant input holds `batch` samples.
 */
export interface Operand {
  readonly shape: readonly number[];
  readonly data: FloatArray;
  readonly constant: boolean;
  /**
   * ONNX element type, when the caller knows it (absent means a float type). Integer types make Div truncate
   * and keep the output in exact float64 storage whatever the precision.
   */
  readonly dtype?: DataType;
}

export interface OpDef {
  readonly opType: string;
  /**
   * Output shapes and types, or throws OpError with a sentence naming the problem
   * (e.g. "Conv expects a 4-D input, got [1, 784]"). `inputs[i]` is undefined for an omitted optional input.
   */
  inferShapes(node: IRNode, inputs: readonly (InputInfo | undefined)[], opset: number): OutputInfo[];
  /**
   * Evaluate `batch` independent samples. Each sample has the ONNX shapes of the IR (batch dimension of the
   * model included, usually 1). Returns one array per output, `batch * size(outputShape)` long, same element
   * type as `precision`. Integer-typed outputs (shape arithmetic) are computed in float64 regardless.
   */
  forward(
    node: IRNode,
    inputs: readonly (Operand | undefined)[],
    outputShapes: readonly (readonly number[])[],
    batch: number,
    precision: Precision,
    /** Opset of the default domain; only Softmax reads it (its axis semantics change at 13). Absent: the newest. */
    opset?: number,
  ): FloatArray[];
}

/** A problem with one node, raised by inferShapes/forward; the loader turns it into a user sentence. */
export class OpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpError';
  }
}

// Attribute readers with defaults; they throw OpError on a wrong attribute type.
export function attrInt(node: IRNode, name: string, fallback: number): number {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.kind !== 'int') throw new OpError(`${node.opType} attribute '${name}' must be an int, got ${a.kind}`);
  return a.value;
}

export function attrFloat(node: IRNode, name: string, fallback: number): number {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.kind === 'float' || a.kind === 'int') return a.value;
  throw new OpError(`${node.opType} attribute '${name}' must be a float, got ${a.kind}`);
}

export function attrInts(node: IRNode, name: string, fallback?: readonly number[]): readonly number[] | undefined {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.kind !== 'ints') throw new OpError(`${node.opType} attribute '${name}' must be a list of ints, got ${a.kind}`);
  return a.value;
}

export function attrString(node: IRNode, name: string, fallback: string): string {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.kind !== 'string') throw new OpError(`${node.opType} attribute '${name}' must be a string, got ${a.kind}`);
  return a.value;
}

export type { AttrValue };
