// Pooling over 1-D and 2-D windows: AveragePool, MaxPool (first output only) and GlobalAveragePool.
import type { IRNode } from '../graph';
import { attrInt, attrInts, OpError, type InputInfo, type OpDef, type Operand } from './types';
import { windowGeometry, type WindowGeometry } from './spatial';
import { allocateOutput, fmtShape, operandType, requireInput, requireRank, sampleStride, sizeOf } from './util';

type PoolKind = 'AveragePool' | 'MaxPool';

function planPool(node: IRNode, xShape: readonly number[], opset: number): WindowGeometry {
  requireRank(node, xShape, [3, 4], 'input (1-D or 2-D pooling)');
  const kernel = attrInts(node, 'kernel_shape');
  const nsp = xShape.length - 2;
  if (kernel === undefined || kernel.length !== nsp) {
    throw new OpError(`${node.opType} needs a kernel_shape of ${nsp} values (node '${node.name}')`);
  }
  // ceil_mode exists from opset 10; older files never set it.
  const ceilMode = opset >= 10 && attrInt(node, 'ceil_mode', 0) !== 0;
  return windowGeometry(node, xShape.slice(2), kernel, ceilMode);
}

/** Per axis: for each output position, the first input index of its window (may be negative). */
interface AxisWindows {
  start: number[];
  stride: number;
  dilation: number;
  kernel: number;
  size: number;
  padEnd: number;
}

function axis(g: WindowGeometry, i: number, inSize: number): AxisWindows {
  const start: number[] = [];
  for (let o = 0; o < g.out[i]; o++) start.push(o * g.strides[i] - g.padsBegin[i]);
  return { start, stride: g.strides[i], dilation: g.dilations[i], kernel: g.kernel[i], size: inSize, padEnd: g.padsEnd[i] };
}

function poolForward(kind: PoolKind, node: IRNode, x: Operand, g: WindowGeometry, out: Float32Array | Float64Array, batch: number): void {
  const two = x.shape.length === 4;
  const planes = x.shape[0] * x.shape[1];
  const hin = two ? x.shape[2] : 1;
  const win = two ? x.shape[3] : x.shape[2];
  const H: AxisWindows = two
    ? axis(g, 0, hin)
    : { start: [0], stride: 1, dilation: 1, kernel: 1, size: 1, padEnd: 0 };
  const W = axis(g, two ? 1 : 0, win);
  const hout = H.start.length;
  const wout = W.start.length;
  const countIncludePad = kind === 'AveragePool' && attrInt(node, 'count_include_pad', 0) !== 0;
  const stride = sampleStride(x);
  const d = x.data;
  for (let s = 0; s < batch; s++) {
    for (let p = 0; p < planes; p++) {
      const inBase = s * stride + p * hin * win;
      const outBase = (s * planes + p) * hout * wout;
      for (let oh = 0; oh < hout; oh++) {
        for (let ow = 0; ow < wout; ow++) {
          let acc = kind === 'MaxPool' ? -Infinity : 0;
          let inside = 0;
          let padded = 0;
          for (let kh = 0; kh < H.kernel; kh++) {
            const ih = H.start[oh] + kh * H.dilation;
            if (ih >= H.size + H.padEnd) break;
            const rowInside = ih >= 0 && ih < H.size;
            for (let kw = 0; kw < W.kernel; kw++) {
              const iw = W.start[ow] + kw * W.dilation;
              if (iw >= W.size + W.padEnd) break;
              // Positions in the explicit padding count for count_include_pad; those past it (ceil_mode) never do.
              padded++;
              if (!rowInside || iw < 0 || iw >= W.size) continue;
              const v = d[inBase + ih * win + iw];
              inside++;
              if (kind === 'MaxPool') {
                if (v > acc || Number.isNaN(v)) acc = v;
              } else acc += v;
            }
          }
          out[outBase + oh * wout + ow] = kind === 'MaxPool' ? acc : acc / (countIncludePad ? padded : inside);
        }
      }
    }
  }
}

function makePool(kind: PoolKind): OpDef {
  return {
    opType: kind,
    inferShapes(node, inputs, opset) {
      const x = requireInput(node, inputs, 0, 'X');
      if (kind === 'MaxPool' && node.outputs.length > 1 && node.outputs[1] !== '') {
        throw new OpError(`MaxPool's second output (Indices) is not supported (node '${node.name}')`);
      }
      const g = planPool(node, x.shape, opset);
      return [{ shape: [x.shape[0], x.shape[1], ...g.out], dtype: x.dtype }];
    },
    forward(node, inputs, outputShapes, batch, precision) {
      const x = requireInput(node, inputs, 0, 'X');
      // The opset only changes ceil_mode's availability; a node that sets it was written for an opset that has it.
      const g = planPool(node, x.shape, 19);
      const out = allocateOutput(operandType(x), precision, batch * sizeOf(outputShapes[0]));
      poolForward(kind, node, x, g, out, batch);
      return [out];
    },
  };
}

export const AveragePool = makePool('AveragePool');
export const MaxPool = makePool('MaxPool');

function globalShape(node: IRNode, x: InputInfo | Operand): number[] {
  if (x.shape.length < 3) {
    throw new OpError(`${node.opType} expects an input with channels and at least one spatial axis, got ${fmtShape(x.shape)} (node '${node.name}')`);
  }
  return [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)];
}

export const GlobalAveragePool: OpDef = {
  opType: 'GlobalAveragePool',
  inferShapes(node, inputs) {
    const x = requireInput(node, inputs, 0, 'X');
    return [{ shape: globalShape(node, x), dtype: x.dtype }];
  },
  forward(node, inputs, _outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'X');
    const planes = x.shape[0] * x.shape[1];
    const area = sizeOf(x.shape.slice(2));
    const out = allocateOutput(operandType(x), precision, batch * planes);
    const stride = sampleStride(x);
    for (let s = 0; s < batch; s++) {
      for (let p = 0; p < planes; p++) {
        const base = s * stride + p * area;
        let acc = 0;
        for (let i = 0; i < area; i++) acc += x.data[base + i];
        out[s * planes + p] = acc / area;
      }
    }
    return [out];
  },
};
