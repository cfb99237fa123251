// ReduceSum and ReduceMean: axes as an attribute or (ReduceSum from 13, ReduceMean from 18) a constant input.
import type { IRNode } from '../graph';
import { attrInt, attrInts, OpError, type InputInfo, type OpDef, type Operand } from './types';
import {
  allocateOutput,
  fillIndexMap,
  normalizeAxis,
  operandInts,
  operandType,
  requireInput,
  sampleStride,
  sizeOf,
  stridesOf,
  tensorInts,
} from './util';

type ReduceKind = 'ReduceSum' | 'ReduceMean';

const AXES_INPUT_SINCE: Record<ReduceKind, number> = { ReduceSum: 13, ReduceMean: 18 };

/** The reduced axes, or null when the op is a no-op (empty axes with noop_with_empty_axes). */
function reducedAxes(node: IRNode, rank: number, given: number[] | undefined): number[] | null {
  if (given === undefined || given.length === 0) {
    if (attrInt(node, 'noop_with_empty_axes', 0) !== 0) return null;
    return Array.from({ length: rank }, (_, i) => i);
  }
  const axes = given.map((a) => normalizeAxis(node, a, rank));
  if (new Set(axes).size !== axes.length) throw new OpError(`${node.opType} axes repeat an axis (node '${node.name}')`);
  return axes;
}

function outShape(node: IRNode, shape: readonly number[], axes: number[] | null): number[] {
  if (axes === null) return [...shape];
  const keep = attrInt(node, 'keepdims', 1) !== 0;
  return shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
}

function makeReduce(kind: ReduceKind): OpDef {
  return {
    opType: kind,
    inferShapes(node, inputs: readonly (InputInfo | undefined)[], opset) {
      const x = requireInput(node, inputs, 0, 'data');
      let given: number[] | undefined;
      if (opset >= AXES_INPUT_SINCE[kind]) {
        const a = inputs[1];
        if (a !== undefined && a.constant === undefined) throw new OpError(`${kind}'s axes input must be constant (node '${node.name}')`);
        given = a?.constant && tensorInts(a.constant);
      } else {
        const a = attrInts(node, 'axes');
        given = a && [...a];
      }
      return [{ shape: outShape(node, x.shape, reducedAxes(node, x.shape.length, given)), dtype: x.dtype }];
    },
    forward(node, inputs: readonly (Operand | undefined)[], outputShapes, batch, precision) {
      const x = requireInput(node, inputs, 0, 'data');
      const rank = x.shape.length;
      const attr = attrInts(node, 'axes');
      const given = inputs[1] !== undefined ? operandInts(inputs[1]) : attr && [...attr];
      const axes = reducedAxes(node, rank, given) ?? [];
      const m = sizeOf(outputShapes[0]);
      const n = sizeOf(x.shape);
      // Each input element's output slot: kept axes use the output's strides, reduced axes none.
      const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const keptStrides = stridesOf(keptShape);
      const map = new Int32Array(n);
      fillIndexMap(map, x.shape, x.shape.map((_, i) => (axes.includes(i) ? 0 : keptStrides[i])), 0);
      const count = n / Math.max(1, m);
      const out = allocateOutput(operandType(x), precision, batch * m);
      const acc = new Float64Array(m);
      const stride = sampleStride(x);
      for (let s = 0; s < batch; s++) {
        acc.fill(0);
        for (let i = 0; i < n; i++) acc[map[i]] += x.data[s * stride + i];
        for (let j = 0; j < m; j++) out[s * m + j] = kind === 'ReduceMean' ? acc[j] / count : acc[j];
      }
      return [out];
    },
  };
}

export const ReduceSum = makeReduce('ReduceSum');
export const ReduceMean = makeReduce('ReduceMean');
