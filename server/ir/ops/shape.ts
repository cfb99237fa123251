// Shape (with start/end from opset 15), Cast, ConstantOfShape and Constant: ops about types and static values.
import type { DataType, IRNode, Tensor } from '../graph';
import { attrInt, OpError, type OpDef } from './types';
import { allocateOutput, fmtShape, isFloatType, requireConstant, requireInput, sizeOf, tensorInts } from './util';

function shapeRange(node: IRNode, rank: number, opset: number): [number, number] {
  if (opset < 15) return [0, rank];
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  return [clamp(attrInt(node, 'start', 0)), clamp(attrInt(node, 'end', rank))];
}

export const Shape: OpDef = {
  opType: 'Shape',
  inferShapes(node, inputs, opset) {
    const x = requireInput(node, inputs, 0, 'data');
    const [start, end] = shapeRange(node, x.shape.length, opset);
    return [{ shape: [Math.max(0, end - start)], dtype: 'int64' }];
  },
  forward(node, inputs, outputShapes, batch) {
    const x = requireInput(node, inputs, 0, 'data');
    const n = outputShapes[0][0];
    // start/end exist only from opset 15; an older node never carries them.
    const [start] = shapeRange(node, x.shape.length, 15);
    const out = new Float64Array(batch * n);
    for (let s = 0; s < batch; s++) for (let i = 0; i < n; i++) out[s * n + i] = x.shape[start + i];
    return [out];
  },
};

/** TensorProto.DataType codes. */
const DATA_TYPES: Record<number, DataType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

const INT_RANGES: Partial<Record<DataType, number>> = { uint8: 2 ** 8, int8: 2 ** 8, uint16: 2 ** 16, int16: 2 ** 16, uint32: 2 ** 32, int32: 2 ** 32 };

function castTarget(node: IRNode): DataType {
  const code = attrInt(node, 'to', 0);
  const dtype = DATA_TYPES[code];
  if (dtype === undefined || dtype === 'string') {
    throw new OpError(`Cast to ${dtype ?? `type ${code}`} is not supported (node '${node.name}')`);
  }
  return dtype;
}

/** One value converted to `to`: integers truncate toward zero and wrap like C, bool is value ≠ 0. */
function castValue(v: number, to: DataType): number {
  if (to === 'bool') return v !== 0 ? 1 : 0;
  if (to === 'float32') return Math.fround(v);
  if (isFloatType(to)) return v;
  const t = Math.trunc(v);
  const range = INT_RANGES[to];
  if (range === undefined || !Number.isFinite(t)) return t;
  let r = ((t % range) + range) % range;
  if (to.startsWith('int') && r >= range / 2) r -= range;
  return r;
}

export const Cast: OpDef = {
  opType: 'Cast',
  inferShapes(node, inputs) {
    const x = requireInput(node, inputs, 0, 'input');
    return [{ shape: [...x.shape], dtype: castTarget(node) }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'input');
    const to = castTarget(node);
    const n = sizeOf(outputShapes[0]);
    const out = allocateOutput(to, precision, batch * n);
    const stride = x.constant ? 0 : n;
    for (let s = 0; s < batch; s++) for (let i = 0; i < n; i++) out[s * n + i] = castValue(x.data[s * stride + i], to);
    return [out];
  },
};

function fillValue(node: IRNode): Tensor {
  const a = node.attrs.value;
  if (a === undefined) return { dtype: 'float32', dims: [1], data: new Float64Array(1) };
  if (a.kind !== 'tensor' || a.value.data.length !== 1) {
    throw new OpError(`ConstantOfShape's value must be a one-element tensor (node '${node.name}')`);
  }
  return a.value;
}

export const ConstantOfShape: OpDef = {
  opType: 'ConstantOfShape',
  inferShapes(node, inputs) {
    const shape = tensorInts(requireConstant(node, inputs[0], 'shape'));
    if (shape.some((d) => d < 0)) throw new OpError(`ConstantOfShape shape ${fmtShape(shape)} has a negative size (node '${node.name}')`);
    return [{ shape, dtype: fillValue(node).dtype }];
  },
  forward(node, _inputs, outputShapes, batch, precision) {
    const value = fillValue(node);
    return [allocateOutput(value.dtype, precision, batch * sizeOf(outputShapes[0])).fill(value.data[0])];
  },
};

function constantValue(node: IRNode): Tensor {
  for (const [name, a] of Object.entries(node.attrs)) {
    if (a.kind === 'tensor' && name === 'value') return a.value;
    if (name === 'value_float' && a.kind === 'float') return { dtype: 'float32', dims: [], data: Float64Array.of(a.value) };
    if (name === 'value_int' && a.kind === 'int') return { dtype: 'int64', dims: [], data: Float64Array.of(a.value) };
    if (name === 'value_floats' && a.kind === 'floats') return { dtype: 'float32', dims: [a.value.length], data: Float64Array.from(a.value) };
    if (name === 'value_ints' && a.kind === 'ints') return { dtype: 'int64', dims: [a.value.length], data: Float64Array.from(a.value) };
  }
  const names = Object.keys(node.attrs);
  throw new OpError(
    `Constant node '${node.name}' has no numeric value attribute${names.length > 0 ? ` (it has ${names.join(', ')})` : ''}`,
  );
}

export const Constant: OpDef = {
  opType: 'Constant',
  inferShapes(node) {
    const t = constantValue(node);
    return [{ shape: [...t.dims], dtype: t.dtype }];
  },
  forward(node, _inputs, _outputShapes, batch, precision) {
    const t = constantValue(node);
    const n = t.data.length;
    const out = allocateOutput(t.dtype, precision, batch * n);
    for (let s = 0; s < batch; s++) out.set(t.data, s * n);
    return [out];
  },
};

