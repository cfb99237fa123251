// Ops that only relabel a sample's shape, leaving C-order data as is: Reshape, Flatten, Squeeze, Unsqueeze.
import type { IRNode } from '../graph';
import { attrInt, attrInts, OpError, type InputInfo, type OpDef } from './types';
import {
  copySamples,
  fmtShape,
  intsFromAttrOrInput,
  normalizeAxis,
  operandType,
  requireInput,
  sizeOf,
} from './util';

/** A data copy: the output's C-order elements are the input's, only the shape differs. */
function relabel(opType: string, infer: OpDef['inferShapes']): OpDef {
  return {
    opType,
    inferShapes: infer,
    forward(node, inputs, _outputShapes, batch, precision) {
      const x = requireInput(node, inputs, 0, 'data');
      return [copySamples(x, operandType(x), precision, batch)];
    },
  };
}

export function reshapeTarget(node: IRNode, inShape: readonly number[], requested: readonly number[], allowZero: boolean): number[] {
  const out = requested.map((d, i) => {
    if (d !== 0 || allowZero) return d;
    if (i >= inShape.length) {
      throw new OpError(`Reshape's shape ${fmtShape(requested)} copies dimension ${i} (0) that input ${fmtShape(inShape)} lacks (node '${node.name}')`);
    }
    return inShape[i];
  });
  const unknown = out.filter((d) => d === -1).length;
  if (unknown > 1 || out.some((d) => d < -1)) {
    throw new OpError(`Reshape's shape ${fmtShape(requested)} is invalid: at most one -1 and no other negative sizes (node '${node.name}')`);
  }
  const total = sizeOf(inShape);
  const known = out.reduce((p, d) => (d === -1 ? p : p * d), 1);
  if (unknown === 1) {
    if (known === 0 || total % known !== 0) {
      throw new OpError(`Reshape cannot reshape ${fmtShape(inShape)} (${total} values) into ${fmtShape(requested)} (node '${node.name}')`);
    }
    out[out.indexOf(-1)] = total / known;
  } else if (known !== total) {
    throw new OpError(`Reshape cannot reshape ${fmtShape(inShape)} (${total} values) into ${fmtShape(requested)} (node '${node.name}')`);
  }
  return out;
}

export const Reshape = relabel('Reshape', (node, inputs, opset) => {
  const x = requireInput(node, inputs, 0, 'data');
  let requested: number[] | undefined;
  if (opset < 5) requested = intsFromAttrOrInput(node, attrInts(node, 'shape'), undefined, 'shape');
  else {
    const s = inputs[1];
    if (s === undefined) throw new OpError(`Reshape node '${node.name}' is missing its shape input`);
    if (s.constant === undefined) throw new OpError(`Reshape's shape input must be constant (node '${node.name}')`);
    requested = intsFromAttrOrInput(node, undefined, s, 'shape');
  }
  if (requested === undefined) throw new OpError(`Reshape node '${node.name}' has no target shape`);
  const allowZero = opset >= 14 && attrInt(node, 'allowzero', 0) !== 0;
  return [{ shape: reshapeTarget(node, x.shape, requested, allowZero), dtype: x.dtype }];
});

export const Flatten = relabel('Flatten', (node, inputs) => {
  const x = requireInput(node, inputs, 0, 'input');
  const rank = x.shape.length;
  const raw = attrInt(node, 'axis', 1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis < 0 || axis > rank) {
    throw new OpError(`Flatten axis ${raw} is out of range for input ${fmtShape(x.shape)} (node '${node.name}')`);
  }
  return [{ shape: [sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))], dtype: x.dtype }];
});

/** Axes from the attribute (before opset 13) or the optional constant input (from 13). */
function squeezeAxes(node: IRNode, inputs: readonly (InputInfo | undefined)[], opset: number): number[] | undefined {
  if (opset >= 13) return intsFromAttrOrInput(node, undefined, inputs[1], 'axes');
  return intsFromAttrOrInput(node, attrInts(node, 'axes'), undefined, 'axes');
}

export const Squeeze = relabel('Squeeze', (node, inputs, opset) => {
  const x = requireInput(node, inputs, 0, 'data');
  const given = squeezeAxes(node, inputs, opset);
  const rank = x.shape.length;
  const axes = given === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : given.map((a) => normalizeAxis(node, a, rank));
  for (const a of axes) {
    if (x.shape[a] !== 1) {
      throw new OpError(`Squeeze cannot remove axis ${a} of size ${x.shape[a]} from ${fmtShape(x.shape)} (node '${node.name}')`);
    }
  }
  return [{ shape: x.shape.filter((_, i) => !axes.includes(i)), dtype: x.dtype }];
});

export const Unsqueeze = relabel('Unsqueeze', (node, inputs, opset) => {
  const x = requireInput(node, inputs, 0, 'data');
  const given = squeezeAxes(node, inputs, opset);
  if (given === undefined) throw new OpError(`Unsqueeze node '${node.name}' has no axes`);
  const rank = x.shape.length + given.length;
  const axes = given.map((a) => normalizeAxis(node, a, rank));
  if (new Set(axes).size !== axes.length) {
    throw new OpError(`Unsqueeze axes ${fmtShape(given)} repeat an axis (node '${node.name}')`);
  }
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : x.shape[next++]);
  return [{ shape: out, dtype: x.dtype }];
});
