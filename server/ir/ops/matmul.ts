// MatMul with numpy semantics: 1-D promotion and broadcast batch dimensions; a shared 2-D right operand is one product.
import { gemm } from '../../tensor/kernels';
import { OpError, type OpDef } from './types';
import {
  allocateOutput,
  broadcastIndex,
  broadcastShapes,
  fmtShape,
  operandType,
  requireInput,
  sampleStride,
  sizeOf,
} from './util';
import type { IRNode } from '../graph';

interface MatMulPlan {
  M: number;
  N: number;
  K: number;
  batchA: number[];
  batchB: number[];
  batchOut: number[];
  out: number[];
}

function plan(node: IRNode, aShape: readonly number[], bShape: readonly number[]): MatMulPlan {
  if (aShape.length === 0 || bShape.length === 0) {
    throw new OpError(`MatMul does not accept scalars, got ${fmtShape(aShape)} and ${fmtShape(bShape)} (node '${node.name}')`);
  }
  const a = aShape.length === 1 ? [1, aShape[0]] : [...aShape];
  const b = bShape.length === 1 ? [bShape[0], 1] : [...bShape];
  const M = a[a.length - 2];
  const K = a[a.length - 1];
  const Kb = b[b.length - 2];
  const N = b[b.length - 1];
  if (K !== Kb) {
    throw new OpError(`MatMul's inner dimensions differ: ${fmtShape(aShape)} times ${fmtShape(bShape)} (node '${node.name}')`);
  }
  const batchA = a.slice(0, -2);
  const batchB = b.slice(0, -2);
  const batchOut = broadcastShapes(node, [batchA, batchB]);
  const out = [...batchOut];
  if (aShape.length > 1) out.push(M);
  if (bShape.length > 1) out.push(N);
  return { M, N, K, batchA, batchB, batchOut, out };
}

export const MatMul: OpDef = {
  opType: 'MatMul',
  inferShapes(node, inputs) {
    const a = requireInput(node, inputs, 0, 'A');
    const b = requireInput(node, inputs, 1, 'B');
    return [{ shape: plan(node, a.shape, b.shape).out, dtype: a.dtype }];
  },
  forward(node, inputs, _outputShapes, batch, precision) {
    const a = requireInput(node, inputs, 0, 'A');
    const b = requireInput(node, inputs, 1, 'B');
    const { M, N, K, batchA, batchB, batchOut } = plan(node, a.shape, b.shape);
    const P = sizeOf(batchOut);
    const mn = M * N;
    const out = allocateOutput(operandType(a), precision, batch * P * mn);
    if (b.constant && !a.constant && sizeOf(batchB) === 1 && sizeOf(batchA) === P) {
      // Every row of every sample meets the same K×N matrix: one product.
      gemm(a.data, b.data, out, batch * P * M, N, K, false, false, false);
      return [out];
    }
    const aMap = broadcastIndex(batchA, batchOut);
    const bMap = broadcastIndex(batchB, batchOut);
    const sa = sampleStride(a);
    const sb = sampleStride(b);
    for (let s = 0; s < batch; s++) {
      for (let p = 0; p < P; p++) {
        const ao = s * sa + aMap[p] * M * K;
        const bo = s * sb + bMap[p] * K * N;
        const oo = (s * P + p) * mn;
        gemm(a.data.subarray(ao, ao + M * K), b.data.subarray(bo, bo + K * N), out.subarray(oo, oo + mn), M, N, K, false, false, false);
      }
    }
    return [out];
  },
};
