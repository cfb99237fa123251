// Concat and Split along one axis: block copies of each sample's outer×axis×inner layout.
import type { IRNode } from '../graph';
import { attrInt, attrInts, OpError, type InputInfo, type OpDef, type Operand } from './types';
import {
  allocateOutput,
  fmtShape,
  intsFromAttrOrInput,
  normalizeAxis,
  operandType,
  requireInput,
  sampleStride,
  sizeOf,
} from './util';

export const Concat: OpDef = {
  opType: 'Concat',
  inferShapes(node, inputs) {
    const present = inputs.filter((x): x is InputInfo => x !== undefined);
    if (present.length === 0) throw new OpError(`Concat node '${node.name}' has no inputs`);
    const first = present[0].shape;
    if (node.attrs.axis === undefined) throw new OpError(`Concat node '${node.name}' has no axis attribute`);
    const axis = normalizeAxis(node, attrInt(node, 'axis', 0), first.length);
    let total = 0;
    for (const x of present) {
      const ok = x.shape.length === first.length && x.shape.every((d, i) => i === axis || d === first[i]);
      if (!ok) {
        throw new OpError(
          `Concat inputs ${present.map((p) => fmtShape(p.shape)).join(', ')} differ outside axis ${axis} (node '${node.name}')`,
        );
      }
      total += x.shape[axis];
    }
    const shape = [...first];
    shape[axis] = total;
    return [{ shape, dtype: present[0].dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const present = inputs.filter((x): x is Operand => x !== undefined);
    const outShape = outputShapes[0];
    const axis = normalizeAxis(node, attrInt(node, 'axis', 0), outShape.length);
    const outer = sizeOf(outShape.slice(0, axis));
    const outChunk = sizeOf(outShape.slice(axis));
    const n = outer * outChunk;
    const out = allocateOutput(operandType(present[0]), precision, batch * n);
    for (let s = 0; s < batch; s++) {
      let offset = 0;
      for (const x of present) {
        const chunk = sizeOf(x.shape.slice(axis));
        const base = s * sampleStride(x);
        for (let o = 0; o < outer; o++) {
          out.set(x.data.subarray(base + o * chunk, base + (o + 1) * chunk), s * n + o * outChunk + offset);
        }
        offset += chunk;
      }
    }
    return [out];
  },
};

function splitSizes(node: IRNode, dim: number, outputs: number, given: number[] | undefined, opset: number): number[] {
  if (given !== undefined) {
    if (given.length !== outputs || given.reduce((p, q) => p + q, 0) !== dim || given.some((g) => g < 0)) {
      throw new OpError(`Split sizes ${fmtShape(given)} do not split an axis of ${dim} into ${outputs} outputs (node '${node.name}')`);
    }
    return given;
  }
  const numOutputs = opset >= 18 ? attrInt(node, 'num_outputs', outputs) : outputs;
  if (numOutputs !== outputs) {
    throw new OpError(`Split num_outputs ${numOutputs} differs from the node's ${outputs} outputs (node '${node.name}')`);
  }
  if (opset >= 18 && node.attrs.num_outputs !== undefined) {
    // From opset 18 the last chunk may be smaller.
    const chunk = Math.ceil(dim / outputs);
    return Array.from({ length: outputs }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  }
  if (dim % outputs !== 0) {
    throw new OpError(`Split cannot divide an axis of ${dim} evenly into ${outputs} outputs (node '${node.name}')`);
  }
  return new Array<number>(outputs).fill(dim / outputs);
}

function splitPlan(node: IRNode, shape: readonly number[], splitInput: InputInfo | undefined, opset: number) {
  const axis = normalizeAxis(node, attrInt(node, 'axis', 0), shape.length);
  const given = opset >= 13 ? intsFromAttrOrInput(node, undefined, splitInput, 'split') : intsFromAttrOrInput(node, attrInts(node, 'split'), undefined, 'split');
  return { axis, sizes: splitSizes(node, shape[axis], node.outputs.length, given, opset) };
}

export const Split: OpDef = {
  opType: 'Split',
  inferShapes(node, inputs, opset) {
    const x = requireInput(node, inputs, 0, 'input');
    const { axis, sizes } = splitPlan(node, x.shape, inputs[1], opset);
    return sizes.map((size) => {
      const shape = [...x.shape];
      shape[axis] = size;
      return { shape, dtype: x.dtype };
    });
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'input');
    const rank = x.shape.length;
    const axis = normalizeAxis(node, attrInt(node, 'axis', 0), rank);
    const outer = sizeOf(x.shape.slice(0, axis));
    const inChunk = sizeOf(x.shape.slice(axis));
    const stride = sampleStride(x);
    const outs = [];
    let offset = 0;
    for (const shape of outputShapes) {
      const chunk = sizeOf(shape.slice(axis));
      const n = outer * chunk;
      const out = allocateOutput(operandType(x), precision, batch * n);
      for (let s = 0; s < batch; s++) {
        for (let o = 0; o < outer; o++) {
          const src = s * stride + o * inChunk + offset;
          out.set(x.data.subarray(src, src + chunk), s * n + o * chunk);
        }
      }
      outs.push(out);
      offset += chunk;
    }
    return outs;
  },
};
