// Transpose: permutes a sample's axes (default: reversed) through a precomputed index map.
import type { IRNode } from '../graph';
import { attrInts, OpError, type OpDef } from './types';
import { allocateOutput, fillIndexMap, fmtShape, gatherByMap, operandType, requireInput, sizeOf, stridesOf } from './util';

function permutation(node: IRNode, rank: number): number[] {
  const perm = attrInts(node, 'perm');
  if (perm === undefined) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) {
    throw new OpError(`Transpose perm ${fmtShape(perm)} is not a permutation of ${rank} axes (node '${node.name}')`);
  }
  return [...perm];
}

export const Transpose: OpDef = {
  opType: 'Transpose',
  inferShapes(node, inputs) {
    const x = requireInput(node, inputs, 0, 'data');
    const perm = permutation(node, x.shape.length);
    return [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'data');
    const perm = permutation(node, x.shape.length);
    const inStrides = stridesOf(x.shape);
    const outShape = outputShapes[0];
    const map = new Int32Array(sizeOf(outShape));
    fillIndexMap(map, outShape, perm.map((p) => inStrides[p]), 0);
    const out = allocateOutput(operandType(x), precision, batch * map.length);
    gatherByMap(x, map, batch, out);
    return [out];
  },
};
