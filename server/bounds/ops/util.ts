// Shape helpers shared by the bound-op builders: strides, broadcasting, constants.
import type { IRNode, Tensor } from '../../ir/graph';
import { sizeOf } from '../../tensor/types';
import type { BuildContext } from './types';
import { UnsupportedOp } from './types';

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** For every element of `outShape`, the flat index of the element of `inShape` numpy-broadcasting maps to it. */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array | null {
  if (inShape.length === outShape.length && inShape.every((d, i) => d === outShape[i])) return null;
  const n = sizeOf(outShape);
  const rank = outShape.length;
  const padded = new Array<number>(rank - inShape.length).fill(1).concat(inShape);
  const inStrides = stridesOf(padded);
  const idx = new Int32Array(n);
  const counter = new Array<number>(rank).fill(0);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let d = 0; d < rank; d++) if (padded[d] !== 1) s += counter[d] * inStrides[d];
    idx[j] = s;
    for (let d = rank - 1; d >= 0; d--) {
      if (++counter[d] < outShape[d]) break;
      counter[d] = 0;
    }
  }
  return idx;
}

/** A constant broadcast to `outShape`, as a fresh Float64Array. */
export function expandConstant(t: Tensor, outShape: readonly number[]): Float64Array {
  const idx = broadcastIndex(t.dims, outShape);
  if (idx === null) return Float64Array.from(t.data);
  const out = new Float64Array(idx.length);
  for (let j = 0; j < idx.length; j++) out[j] = t.data[idx[j]];
  return out;
}

/** Iterate the multi-indices of a shape in C order. */
export function forEachIndex(shape: readonly number[], fn: (index: readonly number[], flat: number) => void): void {
  const n = sizeOf(shape);
  const counter = new Array<number>(shape.length).fill(0);
  for (let j = 0; j < n; j++) {
    fn(counter, j);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++counter[d] < shape[d]) break;
      counter[d] = 0;
    }
  }
}

export function normaliseAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** The non-constant inputs of a node (names), and the constants by position. */
export function splitInputs(node: IRNode, ctx: BuildContext): { variable: number[]; constants: (Tensor | undefined)[] } {
  const variable: number[] = [];
  const constants = node.inputs.map((name, i) => {
    if (name === '') return undefined;
    const c = ctx.constant(name);
    if (c === undefined) variable.push(i);
    return c;
  });
  return { variable, constants };
}

export function requireConstant(node: IRNode, ctx: BuildContext, position: number, what: string): Tensor {
  const name = node.inputs[position];
  const c = name ? ctx.constant(name) : undefined;
  if (c === undefined) throw new UnsupportedOp(`${node.opType} with a non-constant ${what}`);
  return c;
}
