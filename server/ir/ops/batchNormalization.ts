// BatchNormalization in inference mode: y = scale·(x − mean)/√(var + ε) + B, per channel.
import type { IRNode } from '../graph';
import { attrFloat, attrInt, OpError, type OpDef } from './types';
import { allocateOutput, fmtShape, operandType, requireInput, sampleStride, sizeOf } from './util';

const PARAMS = ['scale', 'B', 'mean', 'var'] as const;

/** Parameters are per channel, or (spatial = 0 before opset 9) per element of a sample's C×H×W. */
function paramLength(node: IRNode, xShape: readonly number[], paramShapes: readonly (readonly number[])[]): number {
  if (xShape.length < 2) {
    throw new OpError(`BatchNormalization expects an input with a channel axis, got ${fmtShape(xShape)} (node '${node.name}')`);
  }
  const c = xShape[1];
  const perElement = sizeOf(xShape.slice(1));
  const len = sizeOf(paramShapes[0]);
  for (let i = 0; i < paramShapes.length; i++) {
    const n = sizeOf(paramShapes[i]);
    if (n !== len || (n !== c && n !== perElement)) {
      throw new OpError(
        `BatchNormalization ${PARAMS[i]} ${fmtShape(paramShapes[i])} does not match the ${c} channels of input ${fmtShape(xShape)} (node '${node.name}')`,
      );
    }
  }
  return len;
}

export const BatchNormalization: OpDef = {
  opType: 'BatchNormalization',
  inferShapes(node, inputs, opset) {
    const x = requireInput(node, inputs, 0, 'X');
    const params = PARAMS.map((what, i) => requireInput(node, inputs, i + 1, what).shape);
    paramLength(node, x.shape, params);
    if (opset >= 14 && attrInt(node, 'training_mode', 0) !== 0) {
      throw new OpError(`BatchNormalization in training mode is not supported; export the model in eval mode (node '${node.name}')`);
    }
    if (node.outputs.slice(1).some((o) => o !== '')) {
      throw new OpError(`BatchNormalization's running-statistics outputs (training mode) are not supported (node '${node.name}')`);
    }
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'X');
    const [scale, bias, mean, variance] = PARAMS.map((what, i) => requireInput(node, inputs, i + 1, what));
    const len = paramLength(node, x.shape, [scale.shape, bias.shape, mean.shape, variance.shape]);
    const epsilon = attrFloat(node, 'epsilon', 1e-5);
    const n = sizeOf(outputShapes[0]);
    const out = allocateOutput(operandType(x), precision, batch * n);
    const images = x.shape[0];
    const perImage = n / images;
    // Per channel: each channel's plane repeats one parameter; per element: the whole C×H×W.
    const repeat = perImage / len;
    const a = new Float64Array(len);
    const b = new Float64Array(len);
    const sx = sampleStride(x);
    for (let s = 0; s < batch; s++) {
      if (s === 0 || !(scale.constant && bias.constant && mean.constant && variance.constant)) {
        for (let c = 0; c < len; c++) {
          const at = (op: typeof scale) => op.data[s * sampleStride(op) + c];
          a[c] = at(scale) / Math.sqrt(at(variance) + epsilon);
          b[c] = at(bias) - at(mean) * a[c];
        }
      }
      for (let img = 0; img < images; img++) {
        for (let c = 0; c < len; c++) {
          const base = img * perImage + c * repeat;
          const ac = a[c];
          const bc = b[c];
          for (let i = 0; i < repeat; i++) out[s * n + base + i] = x.data[s * sx + base + i] * ac + bc;
        }
      }
    }
    return [out];
  },
};
