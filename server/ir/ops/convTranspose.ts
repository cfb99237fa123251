// ConvTranspose (1-D and 2-D): the adjoint of Conv, with output_padding, output_shape and auto_pad.
import type { IRNode } from '../graph';
import { conv2dTranspose, type Conv2dGeometry } from '../../tensor/kernels';
import { attrInt, attrInts, attrString, OpError, type OpDef } from './types';
import { allocateOutput, fmtShape, operandType, requireInput, requireRank, sampleStride, sizeOf } from './util';

interface ConvTransposePlan {
  /** Geometry of the forward convolution whose adjoint this is: its input is our output. */
  geometry: Conv2dGeometry;
  outShape: number[];
}

function intsOfLength(node: IRNode, name: string, length: number, fallback: number): number[] {
  const v = attrInts(node, name);
  if (v === undefined) return new Array<number>(length).fill(fallback);
  if (v.length !== length) {
    throw new OpError(`ConvTranspose attribute '${name}' has ${v.length} values, expected ${length} (node '${node.name}')`);
  }
  return [...v];
}

function planConvTranspose(node: IRNode, xShape: readonly number[], wShape: readonly number[], bShape: readonly number[] | undefined): ConvTransposePlan {
  requireRank(node, xShape, [3, 4], 'input (1-D or 2-D transposed convolution)');
  if (wShape.length !== xShape.length) {
    throw new OpError(`ConvTranspose weight ${fmtShape(wShape)} and input ${fmtShape(xShape)} have different ranks (node '${node.name}')`);
  }
  const group = attrInt(node, 'group', 1);
  const [n, c] = xShape;
  if (wShape[0] !== c) {
    throw new OpError(
      `ConvTranspose weight ${fmtShape(wShape)} expects ${wShape[0]} input channels, the input ${fmtShape(xShape)} has ${c} (node '${node.name}')`,
    );
  }
  if (group < 1 || c % group !== 0) {
    throw new OpError(`ConvTranspose group ${group} does not divide its ${c} input channels (node '${node.name}')`);
  }
  const m = wShape[1] * group;
  if (bShape !== undefined && (bShape.length !== 1 || bShape[0] !== m)) {
    throw new OpError(`ConvTranspose bias ${fmtShape(bShape)} must have ${m} values, one per output channel (node '${node.name}')`);
  }
  const nsp = xShape.length - 2;
  const inSpatial = xShape.slice(2);
  const kernel = wShape.slice(2);
  const kernelAttr = attrInts(node, 'kernel_shape');
  if (kernelAttr !== undefined && (kernelAttr.length !== nsp || kernelAttr.some((k, i) => k !== kernel[i]))) {
    throw new OpError(`ConvTranspose kernel_shape ${fmtShape(kernelAttr)} does not match the weight ${fmtShape(wShape)} (node '${node.name}')`);
  }
  const strides = intsOfLength(node, 'strides', nsp, 1);
  const dilations = intsOfLength(node, 'dilations', nsp, 1);
  const outputPadding = intsOfLength(node, 'output_padding', nsp, 0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const outputShapeAttr = attrInts(node, 'output_shape');
  const padsBegin = new Array<number>(nsp).fill(0);
  const out = new Array<number>(nsp).fill(0);
  const pads = autoPad === 'NOTSET' ? intsOfLength(node, 'pads', 2 * nsp, 0) : new Array<number>(2 * nsp).fill(0);
  for (let i = 0; i < nsp; i++) {
    const natural = strides[i] * (inSpatial[i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1;
    let target: number | undefined;
    // output_shape may list the spatial sizes only or N and C too; its last entries are the spatial ones.
    if (outputShapeAttr !== undefined) target = outputShapeAttr[outputShapeAttr.length - nsp + i];
    else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') target = inSpatial[i] * strides[i];
    if (target !== undefined) {
      const total = natural - target;
      const half = Math.floor(total / 2);
      padsBegin[i] = autoPad === 'SAME_UPPER' ? half : total - half;
      out[i] = target;
    } else {
      padsBegin[i] = pads[i];
      out[i] = natural - pads[i] - pads[i + nsp];
    }
    if (out[i] < 1) {
      throw new OpError(`ConvTranspose output would be empty along spatial axis ${i} (node '${node.name}')`);
    }
  }
  const two = nsp === 2;
  const geometry: Conv2dGeometry = {
    batch: n,
    cin: m,
    hin: two ? out[0] : 1,
    win: two ? out[1] : out[0],
    cout: c,
    kh: two ? kernel[0] : 1,
    kw: two ? kernel[1] : kernel[0],
    hout: two ? inSpatial[0] : 1,
    wout: two ? inSpatial[1] : inSpatial[0],
    strideH: two ? strides[0] : 1,
    strideW: two ? strides[1] : strides[0],
    padTop: two ? padsBegin[0] : 0,
    padLeft: two ? padsBegin[1] : padsBegin[0],
    dilationH: two ? dilations[0] : 1,
    dilationW: two ? dilations[1] : dilations[0],
    groups: group,
  };
  return { geometry, outShape: [n, m, ...out] };
}

export const ConvTranspose: OpDef = {
  opType: 'ConvTranspose',
  inferShapes(node, inputs) {
    const x = requireInput(node, inputs, 0, 'X');
    const w = requireInput(node, inputs, 1, 'W');
    return [{ shape: planConvTranspose(node, x.shape, w.shape, inputs[2]?.shape).outShape, dtype: x.dtype }];
  },
  forward(node, inputs, _outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'X');
    const w = requireInput(node, inputs, 1, 'W');
    const b = inputs[2];
    const { geometry, outShape } = planConvTranspose(node, x.shape, w.shape, b?.shape);
    const outSize = sizeOf(outShape);
    const inSize = sizeOf(x.shape);
    const out = allocateOutput(operandType(x), precision, batch * outSize);
    if (w.constant && !x.constant) {
      conv2dTranspose(x.data, w.data, out, { ...geometry, batch: batch * geometry.batch });
    } else {
      const sx = sampleStride(x);
      const sw = sampleStride(w);
      for (let s = 0; s < batch; s++) {
        conv2dTranspose(
          x.data.subarray(s * sx, s * sx + inSize),
          w.data.subarray(s * sw, s * sw + sizeOf(w.shape)),
          out.subarray(s * outSize, (s + 1) * outSize),
          geometry,
        );
      }
    }
    if (b !== undefined) {
      const m = geometry.cin;
      const plane = geometry.hin * geometry.win;
      const sb = sampleStride(b);
      for (let s = 0; s < batch; s++) {
        for (let img = 0; img < geometry.batch; img++) {
          for (let ch = 0; ch < m; ch++) {
            const bv = b.data[s * sb + ch];
            const base = s * outSize + (img * m + ch) * plane;
            for (let p = 0; p < plane; p++) out[base + p] += bv;
          }
        }
      }
    }
    return [out];
  },
};
