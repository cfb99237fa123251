// Softmax: before opset 13 over the 2-D coercion at `axis` (default 1), from 13 over the single `axis` (default −1).
import { attrInt, type OpDef } from './types';
import { allocateOutput, normalizeAxis, operandType, requireInput, sampleStride, sizeOf } from './util';

export const Softmax: OpDef = {
  opType: 'Softmax',
  inferShapes(node, inputs, opset) {
    const x = requireInput(node, inputs, 0, 'input');
    const rank = x.shape.length;
    const axis = attrInt(node, 'axis', opset >= 13 ? -1 : 1);
    if (rank > 0) normalizeAxis(node, axis, rank);
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision, opset = 13) {
    const x = requireInput(node, inputs, 0, 'input');
    const shape = x.shape;
    const axis = shape.length === 0 ? 0 : normalizeAxis(node, attrInt(node, 'axis', opset >= 13 ? -1 : 1), shape.length);
    const outer = sizeOf(shape.slice(0, axis));
    // Opset 13: the softmax runs along one axis; before, along everything from `axis` on (inner = 1).
    const dim = opset >= 13 ? (shape[axis] ?? 1) : sizeOf(shape.slice(axis));
    const inner = opset >= 13 ? sizeOf(shape.slice(axis + 1)) : 1;
    const n = sizeOf(outputShapes[0]);
    const out = allocateOutput(operandType(x), precision, batch * n);
    const stride = sampleStride(x);
    for (let s = 0; s < batch; s++) {
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = o * dim * inner + i;
          let max = -Infinity;
          for (let k = 0; k < dim; k++) max = Math.max(max, x.data[s * stride + base + k * inner]);
          let sum = 0;
          for (let k = 0; k < dim; k++) sum += Math.exp(x.data[s * stride + base + k * inner] - max);
          for (let k = 0; k < dim; k++) out[s * n + base + k * inner] = Math.exp(x.data[s * stride + base + k * inner] - max) / sum;
        }
      }
    }
    return [out];
  },
};
