// Conv and ConvTranspose (1-D and 2-D) with constant weights: convolution maps.
import type { IRNode } from '../../ir/graph';
import { attrInt, attrInts, attrString } from '../../ir/ops/types';
import { ConvMap, type ConvGeometry } from './maps';
import { splitInputs } from './util';
import { UnsupportedOp, type BoundOp, type BuildContext } from './types';

/** Geometry of the convolution from a tensor of shape convIn to one of shape convOut. */
function geometry(
  node: IRNode,
  convIn: readonly number[],
  convOut: readonly number[],
  wDims: readonly number[],
  groups: number,
): ConvGeometry {
  const spatial = convIn.length - 2;
  if (spatial !== 1 && spatial !== 2) throw new UnsupportedOp(`${node.opType} with ${spatial} spatial dimensions`);
  if (convIn[0] !== 1) throw new UnsupportedOp(`${node.opType} on a batch larger than 1`);
  const kernel = attrInts(node, 'kernel_shape') ?? wDims.slice(2);
  const strides = attrInts(node, 'strides') ?? new Array(spatial).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array(spatial).fill(1);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let pads = attrInts(node, 'pads') ?? new Array(2 * spatial).fill(0);
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array(2 * spatial).fill(0);
    for (let d = 0; d < spatial; d++) {
      const total = Math.max(0, (convOut[2 + d] - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - convIn[2 + d]);
      const begin = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      (pads as number[])[d] = begin;
      (pads as number[])[d + spatial] = total - begin;
    }
  } else if (autoPad === 'VALID') pads = new Array(2 * spatial).fill(0);
  const two = spatial === 2;
  return {
    cin: convIn[1],
    hin: two ? convIn[2] : 1,
    win: two ? convIn[3] : convIn[2],
    cout: convOut[1],
    hout: two ? convOut[2] : 1,
    wout: two ? convOut[3] : convOut[2],
    kh: two ? kernel[0] : 1,
    kw: two ? kernel[1] : kernel[0],
    strideH: two ? strides[0] : 1,
    strideW: two ? strides[1] : strides[0],
    padTop: two ? pads[0] : 0,
    padLeft: two ? pads[1] : pads[0],
    dilationH: two ? dilations[0] : 1,
    dilationW: two ? dilations[1] : dilations[0],
    groups,
  };
}

export class ConvBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const { variable, constants } = splitInputs(node, ctx);
    if (variable.length !== 1 || variable[0] !== 0) throw new UnsupportedOp('Conv with non-constant weights');
    const w = constants[1]!;
    const xShape = ctx.shape(node.inputs[0]);
    const yShape = ctx.shape(node.outputs[0]);
    const g = geometry(node, xShape, yShape, w.dims, attrInt(node, 'group', 1));
    const b = constants[2];
    let bias: Float64Array | null = null;
    if (b !== undefined) {
      const plane = g.hout * g.wout;
      bias = new Float64Array(g.cout * plane);
      for (let c = 0; c < g.cout; c++) bias.fill(b.data[c], c * plane, (c + 1) * plane);
    }
    return [new ConvMap(node, node.inputs[0], node.outputs[0], g, Float64Array.from(w.data), bias, false)];
  }
}

export class ConvTransposeBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const { variable, constants } = splitInputs(node, ctx);
    if (variable.length !== 1 || variable[0] !== 0) throw new UnsupportedOp('ConvTranspose with non-constant weights');
    const autoPad = attrString(node, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new UnsupportedOp(`ConvTranspose with auto_pad ${autoPad}`);
    const w = constants[1]!;
    const xShape = ctx.shape(node.inputs[0]);
    const yShape = ctx.shape(node.outputs[0]);
    const groups = attrInt(node, 'group', 1);
    // ConvTranspose(x) is the adjoint of the convolution from y-shaped tensors to x-shaped ones, whose
    // weight [C_x, C_y/groups, k...] is ConvTranspose's weight as stored.
    const g = geometry(node, yShape, xShape, w.dims, groups);
    // output_padding rows of y are never read by that convolution: they receive only the bias.
    const b = constants[2];
    let bias: Float64Array | null = null;
    if (b !== undefined) {
      const plane = g.hin * g.win;
      bias = new Float64Array(g.cin * plane);
      for (let c = 0; c < g.cin; c++) bias.fill(b.data[c], c * plane, (c + 1) * plane);
    }
    return [new ConvMap(node, node.inputs[0], node.outputs[0], g, Float64Array.from(w.data), bias, true)];
  }
}
