// Elementwise affine ops: Add, Sub (also of two branches), Mul/Div by constants, Neg, BatchNormalization, Identity.
import type { IRNode } from '../../ir/graph';
import { attrFloat } from '../../ir/ops/types';
import { sizeOf } from '../../tensor/types';
import { GatherAffineMap, type GatherTerm } from './maps';
import { broadcastIndex, expandConstant, splitInputs } from './util';
import { UnsupportedOp, type BoundOp, type BuildContext } from './types';

function addOrSub(node: IRNode, ctx: BuildContext, sign: 1 | -1): BoundOp[] {
  const { variable, constants } = splitInputs(node, ctx);
  const out = node.outputs[0];
  const outShape = ctx.shape(out);
  const n = sizeOf(outShape);
  const terms: GatherTerm[] = [];
  const inputs: string[] = [];
  const sizes: number[] = [];
  let bias: Float64Array | null = null;
  for (let i = 0; i < 2; i++) {
    const coef = i === 0 ? 1 : sign;
    if (variable.includes(i)) {
      const shape = ctx.shape(node.inputs[i]);
      terms.push({ index: broadcastIndex(shape, outShape), coef });
      inputs.push(node.inputs[i]);
      sizes.push(sizeOf(shape));
    } else {
      const c = expandConstant(constants[i]!, outShape);
      if (coef === -1) for (let j = 0; j < n; j++) c[j] = -c[j];
      bias = c;
    }
  }
  return [new GatherAffineMap(node, inputs, sizes, out, n, terms, bias)];
}

export class AddBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    return addOrSub(node, ctx, 1);
  }
}

export class SubBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    return addOrSub(node, ctx, -1);
  }
}

function scaleBy(node: IRNode, ctx: BuildContext, factor: (c: number) => number): BoundOp[] {
  const out = node.outputs[0];
  const outShape = ctx.shape(out);
  const { variable, constants } = splitInputs(node, ctx);
  const x = node.inputs[variable[0]];
  const coef = expandConstant(constants[1 - variable[0]]!, outShape).map(factor);
  const shape = ctx.shape(x);
  return [new GatherAffineMap(node, [x], [sizeOf(shape)], out, sizeOf(outShape), [{ index: broadcastIndex(shape, outShape), coef }], null)];
}

export class MulBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    if (splitInputs(node, ctx).variable.length !== 1) throw new UnsupportedOp('Mul of two non-constant operands');
    return scaleBy(node, ctx, (c) => c);
  }
}

export class DivBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const { variable } = splitInputs(node, ctx);
    if (variable.length !== 1 || variable[0] !== 0) throw new UnsupportedOp('Div by a non-constant operand');
    return scaleBy(node, ctx, (c) => 1 / c);
  }
}

export class NegBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const n = sizeOf(ctx.shape(node.outputs[0]));
    return [new GatherAffineMap(node, [node.inputs[0]], [n], node.outputs[0], n, [{ index: null, coef: -1 }], null)];
  }
}

/** Identity, Dropout (inference), Flatten, Reshape, Squeeze, Unsqueeze: the same numbers under another shape. */
export class RelabelBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const n = sizeOf(ctx.shape(node.outputs[0]));
    if (sizeOf(ctx.shape(node.inputs[0])) !== n) throw new UnsupportedOp(`${node.opType} that changes the number of elements`);
    return [new GatherAffineMap(node, [node.inputs[0]], [n], node.outputs[0], n, [{ index: null, coef: 1 }], null)];
  }
}

export class BatchNormalizationBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const { variable, constants } = splitInputs(node, ctx);
    if (variable.length !== 1 || variable[0] !== 0) throw new UnsupportedOp('BatchNormalization with non-constant statistics');
    if (node.outputs.filter((o) => o !== '').length > 1) throw new UnsupportedOp('BatchNormalization in training mode');
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const shape = ctx.shape(node.inputs[0]);
    const [scale, shift, mean, variance] = [1, 2, 3, 4].map((i) => constants[i]!);
    const channels = shape.length > 1 ? shape[1] : 1;
    const plane = sizeOf(shape.slice(2));
    const n = sizeOf(shape);
    const coef = new Float64Array(n);
    const bias = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const c = Math.floor(j / plane) % channels;
      const s = scale.data[c] / Math.sqrt(variance.data[c] + eps);
      coef[j] = s;
      bias[j] = shift.data[c] - mean.data[c] * s;
    }
    return [new GatherAffineMap(node, [node.inputs[0]], [n], node.outputs[0], n, [{ index: null, coef }], bias)];
  }
}
