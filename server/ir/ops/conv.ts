// Conv (1-D and 2-D, groups, dilations, auto_pad) over the im2col kernel; samples stacked into one kernel call.
import type { IRNode } from '../graph';
import { conv2d, type Conv2dGeometry } from '../../tensor/kernels';
import { attrInt, attrInts, OpError, type OpDef } from './types';
import { windowGeometry } from './spatial';
import { allocateOutput, fmtShape, operandType, requireInput, requireRank, sampleStride, sizeOf } from './util';

interface ConvPlan {
  geometry: Conv2dGeometry; // batch is the model batch N of one sample
  outShape: number[];
}

function planConv(node: IRNode, xShape: readonly number[], wShape: readonly number[], bShape: readonly number[] | undefined): ConvPlan {
  requireRank(node, xShape, [3, 4], 'input (1-D or 2-D convolution)');
  if (wShape.length !== xShape.length) {
    throw new OpError(`Conv weight ${fmtShape(wShape)} and input ${fmtShape(xShape)} have different ranks (node '${node.name}')`);
  }
  const group = attrInt(node, 'group', 1);
  const [n, c] = xShape;
  const [m, cPerGroup] = wShape;
  if (group < 1 || c % group !== 0 || m % group !== 0) {
    throw new OpError(`Conv group ${group} does not divide ${c} input and ${m} output channels (node '${node.name}')`);
  }
  if (cPerGroup * group !== c) {
    throw new OpError(
      `Conv weight ${fmtShape(wShape)} expects ${cPerGroup * group} input channels, the input ${fmtShape(xShape)} has ${c} (node '${node.name}')`,
    );
  }
  const kernel = wShape.slice(2);
  const kernelAttr = attrInts(node, 'kernel_shape');
  if (kernelAttr !== undefined && (kernelAttr.length !== kernel.length || kernelAttr.some((k, i) => k !== kernel[i]))) {
    throw new OpError(`Conv kernel_shape ${fmtShape(kernelAttr)} does not match the weight ${fmtShape(wShape)} (node '${node.name}')`);
  }
  if (bShape !== undefined && (bShape.length !== 1 || bShape[0] !== m)) {
    throw new OpError(`Conv bias ${fmtShape(bShape)} must have ${m} values, one per output channel (node '${node.name}')`);
  }
  const inSpatial = xShape.slice(2);
  const w = windowGeometry(node, inSpatial, kernel, false);
  // 1-D convolutions run as 2-D with a height of one.
  const two = inSpatial.length === 2;
  const geometry: Conv2dGeometry = {
    batch: n,
    cin: c,
    hin: two ? inSpatial[0] : 1,
    win: two ? inSpatial[1] : inSpatial[0],
    cout: m,
    kh: two ? kernel[0] : 1,
    kw: two ? kernel[1] : kernel[0],
    hout: two ? w.out[0] : 1,
    wout: two ? w.out[1] : w.out[0],
    strideH: two ? w.strides[0] : 1,
    strideW: two ? w.strides[1] : w.strides[0],
    padTop: two ? w.padsBegin[0] : 0,
    padLeft: two ? w.padsBegin[1] : w.padsBegin[0],
    dilationH: two ? w.dilations[0] : 1,
    dilationW: two ? w.dilations[1] : w.dilations[0],
    groups: group,
  };
  return { geometry, outShape: [n, m, ...w.out] };
}

export const Conv: OpDef = {
  opType: 'Conv',
  inferShapes(node, inputs) {
    const x = requireInput(node, inputs, 0, 'X');
    const w = requireInput(node, inputs, 1, 'W');
    return [{ shape: planConv(node, x.shape, w.shape, inputs[2]?.shape).outShape, dtype: x.dtype }];
  },
  forward(node, inputs, _outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'X');
    const w = requireInput(node, inputs, 1, 'W');
    const b = inputs[2];
    const { geometry, outShape } = planConv(node, x.shape, w.shape, b?.shape);
    const outSize = sizeOf(outShape);
    const out = allocateOutput(operandType(x), precision, batch * outSize);
    if (w.constant && (b === undefined || b.constant) && !x.constant) {
      conv2d(x.data, w.data, b?.data ?? null, out, { ...geometry, batch: batch * geometry.batch });
      return [out];
    }
    const sx = sampleStride(x);
    const sw = sampleStride(w);
    const inSize = sizeOf(x.shape);
    for (let s = 0; s < batch; s++) {
      const bias = b === undefined ? null : b.data.subarray(s * sampleStride(b), s * sampleStride(b) + geometry.cout);
      conv2d(
        x.data.subarray(s * sx, s * sx + inSize),
        w.data.subarray(s * sw, s * sw + sizeOf(w.shape)),
        bias,
        out.subarray(s * outSize, (s + 1) * outSize),
        geometry,
      );
    }
    return [out];
  },
};
