// Shared helpers of the op implementations: broadcasting, axis normalisation, constant inputs, batched copies.
import type { DataType, IRNode, Tensor } from '../graph';
import { allocate, sizeOf, type FloatArray, type Precision } from '../../tensor/types';
import { OpError, type InputInfo, type Operand } from './types';

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function isFloatType(dtype: DataType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

export function isIntegerType(dtype: DataType): boolean {
  return !isFloatType(dtype) && dtype !== 'string';
}

/** Output storage: float values in the evaluation precision, integer and boolean values always exact in float64. */
export function allocateOutput(dtype: DataType, precision: Precision, length: number): FloatArray {
  return isFloatType(dtype) ? allocate(precision, length) : new Float64Array(length);
}

/** The input at `index`, or an OpError naming the missing input. */
export function requireInput<T>(node: IRNode, inputs: readonly (T | undefined)[], index: number, what: string): T {
  const x = inputs[index];
  if (x === undefined) throw new OpError(`${node.opType} node '${node.name}' is missing its ${what} input`);
  return x;
}

/** The constant value of an input whose value the output shape depends on. */
export function requireConstant(node: IRNode, info: InputInfo | undefined, what: string): Tensor {
  if (info === undefined) throw new OpError(`${node.opType} node '${node.name}' is missing its ${what} input`);
  if (info.constant === undefined) throw new OpError(`${node.opType}'s ${what} input must be constant (node '${node.name}')`);
  return info.constant;
}

export function requireRank(node: IRNode, shape: readonly number[], ranks: readonly number[], what = 'input'): void {
  if (!ranks.includes(shape.length)) {
    const expected = ranks.map((r) => `${r}-D`).join(' or ');
    throw new OpError(`${node.opType} expects a ${expected} ${what}, got ${fmtShape(shape)} (node '${node.name}')`);
  }
}

/** Resolves a possibly negative axis against `rank`; throws when out of range. */
export function normalizeAxis(node: IRNode, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new OpError(`${node.opType} axis ${axis} is out of range for a rank-${rank} tensor (node '${node.name}')`);
  }
  return a;
}

/** Numpy (multidirectional) broadcasting of several shapes. */
export function broadcastShapes(node: IRNode, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else {
        throw new OpError(
          `${node.opType} cannot broadcast shapes ${shapes.map(fmtShape).join(' and ')} (node '${node.name}')`,
        );
      }
    }
  }
  return out;
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * For every element of `outShape` (C order), the flat index of the element of `inShape` it reads under
 * broadcasting (`inShape` right-aligned, size-1 dims repeated).
 */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = sizeOf(outShape);
  const map = new Int32Array(n);
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  const strides = new Array<number>(rank).fill(0);
  for (let i = 0; i < inShape.length; i++) {
    const o = rank - inShape.length + i;
    strides[o] = inShape[i] === 1 ? 0 : inStrides[i];
  }
  fillIndexMap(map, outShape, strides, 0);
  return map;
}

/** map[flat out index] = base + Σ coord[d] * strides[d], iterated in C order over `shape`. */
export function fillIndexMap(map: Int32Array, shape: readonly number[], strides: readonly number[], base: number): void {
  const rank = shape.length;
  const n = sizeOf(shape);
  if (n === 0) return;
  if (rank === 0) {
    map[0] = base;
    return;
  }
  const coord = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastDim = shape[last];
  const lastStride = strides[last];
  let off = base;
  for (let i = 0; i < n; i += lastDim) {
    for (let j = 0; j < lastDim; j++) map[i + j] = off + j * lastStride;
    // advance the odometer over the outer dims
    for (let d = last - 1; d >= 0; d--) {
      coord[d]++;
      off += strides[d];
      if (coord[d] < shape[d]) break;
      off -= coord[d] * strides[d];
      coord[d] = 0;
    }
  }
}

/** Offset of sample `s` of an operand: constants are shared by every sample. */
export function sampleStride(op: Operand): number {
  return op.constant ? 0 : sizeOf(op.shape);
}

/**
 * out[s][i] = src[s][map[i]] for every sample; map entries < 0 read `fill`. The workhorse of the layout ops
 * (Transpose, Slice, Pad, Gather, Expand...): the index map is built once per call, not per sample.
 */
export function gatherByMap(src: Operand, map: Int32Array, batch: number, out: FloatArray, fill = 0): void {
  const n = map.length;
  const stride = sampleStride(src);
  const data = src.data;
  for (let s = 0; s < batch; s++) {
    const inBase = s * stride;
    const outBase = s * n;
    for (let i = 0; i < n; i++) {
      const m = map[i];
      out[outBase + i] = m >= 0 ? data[inBase + m] : fill;
    }
  }
}

/** A copy of every sample of `src` (repeating a constant), in a new array of the output type. */
export function copySamples(src: Operand, dtype: DataType, precision: Precision, batch: number): FloatArray {
  const n = sizeOf(src.shape);
  const out = allocateOutput(dtype, precision, batch * n);
  if (src.constant) {
    const one = src.data.subarray(0, n);
    for (let s = 0; s < batch; s++) out.set(one, s * n);
  } else {
    out.set(src.data.subarray(0, batch * n));
  }
  return out;
}

/** Integer list from a constant tensor (shapes, axes, pads, indices). */
export function tensorInts(t: Tensor): number[] {
  return Array.from(t.data, (v) => Math.trunc(v));
}

/** The first value of a per-sample scalar operand. */
export function scalarOf(op: Operand | undefined, sample: number, fallback: number): number {
  if (op === undefined) return fallback;
  return op.data[sample * sampleStride(op)];
}

/** Reads an int list either from an attribute (older opsets) or from a constant input (newer opsets). */
export function intsFromAttrOrInput(
  node: IRNode,
  attrValue: readonly number[] | undefined,
  input: InputInfo | undefined,
  what: string,
): number[] | undefined {
  if (input !== undefined) return tensorInts(requireConstant(node, input, what));
  return attrValue === undefined ? undefined : [...attrValue];
}

export { sizeOf };

/** Integer list held by a constant operand in forward (the same values shape inference read). */
export function operandInts(op: Operand): number[] {
  return Array.from(op.data.subarray(0, sizeOf(op.shape)), (v) => Math.trunc(v));
}

/** Element type of an operand in forward; operands without one are float data. */
export function operandType(op: Operand | undefined): DataType {
  return op?.dtype ?? 'float32';
}

/**
 * Index map of an output whose axis d reads input index axisIndex[d][k] (−1: padding) of `inShape`:
 * the general form of Slice, Pad and Gather.
 */
export function mapFromAxes(inShape: readonly number[], axisIndex: readonly Int32Array[]): Int32Array {
  const rank = axisIndex.length;
  const n = axisIndex.reduce((p, a) => p * a.length, 1);
  const map = new Int32Array(n);
  if (rank === 0) return map.fill(0);
  const inStrides = stridesOf(inShape);
  let pos = 0;
  const last = rank - 1;
  const visit = (d: number, base: number): void => {
    const idx = axisIndex[d];
    const st = inStrides[d];
    if (d === last) {
      for (let k = 0; k < idx.length; k++) map[pos++] = base < 0 || idx[k] < 0 ? -1 : base + idx[k] * st;
      return;
    }
    for (let k = 0; k < idx.length; k++) visit(d + 1, base < 0 || idx[k] < 0 ? -1 : base + idx[k] * st);
  };
  visit(0, 0);
  return map;
}
