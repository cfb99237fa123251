// Elementwise binary arithmetic with numpy broadcasting: Add, Sub, Mul, Div, Pow.
import type { IRNode } from '../graph';
import type { Precision, FloatArray } from '../../tensor/types';
import { type OpDef, type Operand, type InputInfo } from './types';
import {
  allocateOutput,
  broadcastIndex,
  broadcastShapes,
  isIntegerType,
  operandType,
  requireInput,
  sampleStride,
  sizeOf,
} from './util';

type BinaryKind = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow';

function inferBinary(node: IRNode, inputs: readonly (InputInfo | undefined)[]) {
  const a = requireInput(node, inputs, 0, 'first');
  const b = requireInput(node, inputs, 1, 'second');
  return [{ shape: broadcastShapes(node, [a.shape, b.shape]), dtype: a.dtype }];
}

/** out[s][i] = f(a[s][aMap[i]], b[s][bMap[i]]); one loop per kind so the inner loop has no call. */
function binaryLoop(
  kind: BinaryKind,
  integer: boolean,
  a: Operand,
  b: Operand,
  aMap: Int32Array,
  bMap: Int32Array,
  out: FloatArray,
  batch: number,
): void {
  const n = aMap.length;
  const sa = sampleStride(a);
  const sb = sampleStride(b);
  const x = a.data;
  const y = b.data;
  for (let s = 0; s < batch; s++) {
    const ao = s * sa;
    const bo = s * sb;
    const oo = s * n;
    switch (kind) {
      case 'Add':
        for (let i = 0; i < n; i++) out[oo + i] = x[ao + aMap[i]] + y[bo + bMap[i]];
        break;
      case 'Sub':
        for (let i = 0; i < n; i++) out[oo + i] = x[ao + aMap[i]] - y[bo + bMap[i]];
        break;
      case 'Mul':
        for (let i = 0; i < n; i++) out[oo + i] = x[ao + aMap[i]] * y[bo + bMap[i]];
        break;
      case 'Div':
        if (integer) for (let i = 0; i < n; i++) out[oo + i] = Math.trunc(x[ao + aMap[i]] / y[bo + bMap[i]]);
        else for (let i = 0; i < n; i++) out[oo + i] = x[ao + aMap[i]] / y[bo + bMap[i]];
        break;
      case 'Pow':
        for (let i = 0; i < n; i++) out[oo + i] = Math.pow(x[ao + aMap[i]], y[bo + bMap[i]]);
        if (integer) for (let i = 0; i < n; i++) out[oo + i] = Math.trunc(out[oo + i]);
        break;
    }
  }
}

function makeBinary(kind: BinaryKind): OpDef {
  return {
    opType: kind,
    inferShapes: (node, inputs) => inferBinary(node, inputs),
    forward(node: IRNode, inputs, outputShapes, batch: number, precision: Precision) {
      const a = requireInput(node, inputs, 0, 'first');
      const b = requireInput(node, inputs, 1, 'second');
      const outShape = outputShapes[0];
      const dtype = operandType(a);
      const out = allocateOutput(dtype, precision, batch * sizeOf(outShape));
      binaryLoop(kind, isIntegerType(dtype), a, b, broadcastIndex(a.shape, outShape), broadcastIndex(b.shape, outShape), out, batch);
      return [out];
    },
  };
}

export const Add = makeBinary('Add');
export const Sub = makeBinary('Sub');
export const Mul = makeBinary('Mul');
export const Div = makeBinary('Div');
export const Pow = makeBinary('Pow');
