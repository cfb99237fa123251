// Elementwise unary functions: Neg, Relu, LeakyRelu, Sigmoid, Tanh, Exp, Abs, Sqrt, Sign, and Clip.
import type { IRNode } from '../graph';
import type { FloatArray, Precision } from '../../tensor/types';
import { attrFloat, OpError, type OpDef, type Operand } from './types';
import { allocateOutput, operandType, requireInput, sampleStride, scalarOf, sizeOf } from './util';

type UnaryKind = 'Neg' | 'Relu' | 'LeakyRelu' | 'Sigmoid' | 'Tanh' | 'Exp' | 'Abs' | 'Sqrt' | 'Sign';

function sigmoid(v: number): number {
  // Split by sign so exp never overflows to Infinity/Infinity.
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

function unaryLoop(kind: UnaryKind, alpha: number, x: Operand, out: FloatArray, batch: number): void {
  const n = sizeOf(x.shape);
  const stride = sampleStride(x);
  const d = x.data;
  for (let s = 0; s < batch; s++) {
    const io = s * stride;
    const oo = s * n;
    switch (kind) {
      case 'Neg':
        for (let i = 0; i < n; i++) out[oo + i] = -d[io + i];
        break;
      case 'Relu':
        for (let i = 0; i < n; i++) {
          const v = d[io + i];
          out[oo + i] = v > 0 ? v : 0;
        }
        break;
      case 'LeakyRelu':
        for (let i = 0; i < n; i++) {
          const v = d[io + i];
          out[oo + i] = v >= 0 ? v : alpha * v;
        }
        break;
      case 'Sigmoid':
        for (let i = 0; i < n; i++) out[oo + i] = sigmoid(d[io + i]);
        break;
      case 'Tanh':
        for (let i = 0; i < n; i++) out[oo + i] = Math.tanh(d[io + i]);
        break;
      case 'Exp':
        for (let i = 0; i < n; i++) out[oo + i] = Math.exp(d[io + i]);
        break;
      case 'Abs':
        for (let i = 0; i < n; i++) out[oo + i] = Math.abs(d[io + i]);
        break;
      case 'Sqrt':
        for (let i = 0; i < n; i++) out[oo + i] = Math.sqrt(d[io + i]);
        break;
      case 'Sign':
        for (let i = 0; i < n; i++) {
          const v = d[io + i];
          out[oo + i] = v > 0 ? 1 : v < 0 ? -1 : 0;
        }
        break;
    }
  }
}

function makeUnary(kind: UnaryKind): OpDef {
  return {
    opType: kind,
    inferShapes(node, inputs) {
      const x = requireInput(node, inputs, 0, 'X');
      return [{ shape: [...x.shape], dtype: x.dtype }];
    },
    forward(node: IRNode, inputs, outputShapes, batch: number, precision: Precision) {
      const x = requireInput(node, inputs, 0, 'X');
      const alpha = kind === 'LeakyRelu' ? attrFloat(node, 'alpha', 0.01) : 0;
      const out = allocateOutput(operandType(x), precision, batch * sizeOf(outputShapes[0]));
      unaryLoop(kind, alpha, x, out, batch);
      return [out];
    },
  };
}

export const Neg = makeUnary('Neg');
export const Relu = makeUnary('Relu');
export const LeakyRelu = makeUnary('LeakyRelu');
export const Sigmoid = makeUnary('Sigmoid');
export const Tanh = makeUnary('Tanh');
export const Exp = makeUnary('Exp');
export const Abs = makeUnary('Abs');
export const Sqrt = makeUnary('Sqrt');
export const Sign = makeUnary('Sign');

/** Clip: min/max are attributes before opset 11 and optional scalar inputs from opset 11. */
export const Clip: OpDef = {
  opType: 'Clip',
  inferShapes(node, inputs, opset) {
    const x = requireInput(node, inputs, 0, 'input');
    if (opset >= 11) {
      for (const [i, what] of [[1, 'min'], [2, 'max']] as const) {
        const b = inputs[i];
        if (b !== undefined && b.shape.reduce((p, q) => p * q, 1) !== 1) {
          throw new OpError(`Clip's ${what} input must be a scalar, got shape [${b.shape.join(', ')}] (node '${node.name}')`);
        }
      }
    }
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'input');
    const n = sizeOf(outputShapes[0]);
    const out = allocateOutput(operandType(x), precision, batch * n);
    // Attributes only exist before opset 11; inputs only from opset 11, so reading both is safe.
    const attrMin = attrFloat(node, 'min', -Infinity);
    const attrMax = attrFloat(node, 'max', Infinity);
    const stride = sampleStride(x);
    for (let s = 0; s < batch; s++) {
      const lo = scalarOf(inputs[1], s, attrMin);
      const hi = scalarOf(inputs[2], s, attrMax);
      const io = s * stride;
      const oo = s * n;
      for (let i = 0; i < n; i++) {
        // max applied last: when min > max ONNX sets every value to max.
        const v = x.data[io + i];
        const clipped = v < lo ? lo : v;
        out[oo + i] = clipped > hi ? hi : clipped;
      }
    }
    return [out];
  },
};
