// The graph IR: what the ONNX loader builds and what forward evaluation and bound propagation walk.
import type { FloatArray } from '../tensor/types';

/** ONNX element types the IR knows by name (TensorProto.DataType). */
export type DataType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool' | 'string';

/**
 * A constant tensor (initialiser, Constant node output, folded value).
 * Every numeric type is stored as float64 values: integers (shapes, indices, int64 "max" sentinels)
 * are exact up to 2^53, which covers every shape and index a model can have.
 */
export interface Tensor {
  readonly dtype: DataType;
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

/** A value flowing along an edge: its static ONNX shape (batch dimension included, e.g. [1, 784]). */
export interface IRValue {
  readonly name: string;
  readonly dtype: DataType;
  readonly shape: readonly number[];
}

export type AttrValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: Tensor }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'graph' } // sub-graphs (If/Loop) are recognised, never executed
  | { readonly kind: 'unsupported'; readonly type: string };

export interface IRNode {
  /** ONNX node name, or `<opType>_<index>` when the file gives none. */
  readonly name: string;
  readonly opType: string;
  /** '' for the default ONNX domain. */
  readonly domain: string;
  /** Input value names; '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

export interface Graph {
  readonly name: string;
  /** Opset version of the default domain. */
  readonly opset: number;
  /** Graph inputs that are not initialisers, in declaration order (usually one). */
  readonly inputs: readonly IRValue[];
  readonly outputs: readonly IRValue[];
  /** Nodes in topological order; constant sub-graphs already folded away into `constants`. */
  readonly nodes: readonly IRNode[];
  /** Initialisers, Constant outputs and folded values, by value name. */
  readonly constants: ReadonlyMap<string, Tensor>;
  /** Every non-constant value (graph inputs and node outputs) with its static shape. */
  readonly values: ReadonlyMap<string, IRValue>;
}

/** A batch of B samples of one value: `data.length === B * sizeOf(shape)`, samples contiguous, C order. */
export interface Batch {
  readonly shape: readonly number[];
  readonly batch: number;
  readonly data: FloatArray;
}
