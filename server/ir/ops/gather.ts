// Gather along any axis with negative indices; Expand (bidirectional broadcast to a constant shape).
import type { IRNode } from '../graph';
import { attrInt, OpError, type OpDef } from './types';
import {
  allocateOutput,
  broadcastIndex,
  broadcastShapes,
  fmtShape,
  gatherByMap,
  mapFromAxes,
  normalizeAxis,
  operandType,
  requireConstant,
  requireInput,
  sampleStride,
  sizeOf,
  tensorInts,
} from './util';

function gatherMap(node: IRNode, dataShape: readonly number[], axis: number, indices: ArrayLike<number>): Int32Array {
  const dim = dataShape[axis];
  const idx = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const v = Math.trunc(indices[i]);
    const j = v < 0 ? v + dim : v;
    if (j < 0 || j >= dim) {
      throw new OpError(`Gather index ${v} is out of range for axis ${axis} of size ${dim} (node '${node.name}')`);
    }
    idx[i] = j;
  }
  // View the data as [outer, dim, inner]: the output is [outer, indices, inner] in the same C order.
  const outer = sizeOf(dataShape.slice(0, axis));
  const inner = sizeOf(dataShape.slice(axis + 1));
  const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  return mapFromAxes([outer, dim, inner], [range(outer), idx, range(inner)]);
}

export const Gather: OpDef = {
  opType: 'Gather',
  inferShapes(node, inputs) {
    const data = requireInput(node, inputs, 0, 'data');
    const indices = requireInput(node, inputs, 1, 'indices');
    if (data.shape.length === 0) throw new OpError(`Gather cannot index a scalar (node '${node.name}')`);
    const axis = normalizeAxis(node, attrInt(node, 'axis', 0), data.shape.length);
    if (indices.constant !== undefined) gatherMap(node, data.shape, axis, indices.constant.data);
    return [{ shape: [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)], dtype: data.dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const data = requireInput(node, inputs, 0, 'data');
    const indices = requireInput(node, inputs, 1, 'indices');
    const axis = normalizeAxis(node, attrInt(node, 'axis', 0), data.shape.length);
    const n = sizeOf(outputShapes[0]);
    const out = allocateOutput(operandType(data), precision, batch * n);
    const nIdx = sizeOf(indices.shape);
    if (indices.constant) {
      gatherByMap(data, gatherMap(node, data.shape, axis, indices.data.subarray(0, nIdx)), batch, out);
      return [out];
    }
    const sd = sampleStride(data);
    for (let s = 0; s < batch; s++) {
      const map = gatherMap(node, data.shape, axis, indices.data.subarray(s * nIdx, (s + 1) * nIdx));
      for (let i = 0; i < n; i++) out[s * n + i] = data.data[s * sd + map[i]];
    }
    return [out];
  },
};

export const Expand: OpDef = {
  opType: 'Expand',
  inferShapes(node, inputs) {
    const x = requireInput(node, inputs, 0, 'input');
    const shape = tensorInts(requireConstant(node, inputs[1], 'shape'));
    if (shape.some((d) => d < 0)) throw new OpError(`Expand shape ${fmtShape(shape)} has a negative size (node '${node.name}')`);
    return [{ shape: broadcastShapes(node, [x.shape, shape]), dtype: x.dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'input');
    const map = broadcastIndex(x.shape, outputShapes[0]);
    const out = allocateOutput(operandType(x), precision, batch * map.length);
    gatherByMap(x, map, batch, out);
    return [out];
  },
};
