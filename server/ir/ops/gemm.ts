// Gemm: Y = alpha·op(A)·op(B) + beta·C, samples stacked into one matrix product when B is shared.
import { gemm } from '../../tensor/kernels';
import { attrFloat, attrInt, OpError, type OpDef } from './types';
import {
  allocateOutput,
  broadcastIndex,
  fmtShape,
  operandType,
  requireInput,
  requireRank,
  sampleStride,
} from './util';

export const Gemm: OpDef = {
  opType: 'Gemm',
  inferShapes(node, inputs) {
    const a = requireInput(node, inputs, 0, 'A');
    const b = requireInput(node, inputs, 1, 'B');
    requireRank(node, a.shape, [2], 'A input');
    requireRank(node, b.shape, [2], 'B input');
    const transA = attrInt(node, 'transA', 0) !== 0;
    const transB = attrInt(node, 'transB', 0) !== 0;
    const M = transA ? a.shape[1] : a.shape[0];
    const K = transA ? a.shape[0] : a.shape[1];
    const Kb = transB ? b.shape[1] : b.shape[0];
    const N = transB ? b.shape[0] : b.shape[1];
    if (K !== Kb) {
      throw new OpError(
        `Gemm's inner dimensions differ: A ${fmtShape(a.shape)}${transA ? ' (transposed)' : ''} and B ${fmtShape(b.shape)}${transB ? ' (transposed)' : ''} (node '${node.name}')`,
      );
    }
    const c = inputs[2];
    if (c !== undefined) {
      // C broadcasts one way only: to [M, N].
      const ok =
        c.shape.length <= 2 &&
        c.shape.every((d, i) => d === 1 || d === [M, N][2 - c.shape.length + i]);
      if (!ok) throw new OpError(`Gemm's C input ${fmtShape(c.shape)} does not broadcast to [${M}, ${N}] (node '${node.name}')`);
    }
    return [{ shape: [M, N], dtype: a.dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const a = requireInput(node, inputs, 0, 'A');
    const b = requireInput(node, inputs, 1, 'B');
    const c = inputs[2];
    const [M, N] = outputShapes[0];
    const transA = attrInt(node, 'transA', 0) !== 0;
    const transB = attrInt(node, 'transB', 0) !== 0;
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const K = transA ? a.shape[0] : a.shape[1];
    const mn = M * N;
    const out = allocateOutput(operandType(a), precision, batch * mn);
    if (b.constant && !a.constant && !transA) {
      // Rows of all samples form one (batch·M)×K matrix against the shared B.
      gemm(a.data, b.data, out, batch * M, N, K, false, transB, false);
    } else {
      const sa = sampleStride(a);
      const sb = sampleStride(b);
      for (let s = 0; s < batch; s++) {
        gemm(
          a.data.subarray(s * sa, s * sa + M * K),
          b.data.subarray(s * sb, s * sb + K * N),
          out.subarray(s * mn, (s + 1) * mn),
          M, N, K, transA, transB, false,
        );
      }
    }
    if (alpha !== 1) for (let i = 0; i < out.length; i++) out[i] *= alpha;
    if (c !== undefined && beta !== 0) {
      const map = broadcastIndex(c.shape, [M, N]);
      const sc = sampleStride(c);
      for (let s = 0; s < batch; s++) {
        const co = s * sc;
        const oo = s * mn;
        for (let i = 0; i < mn; i++) out[oo + i] += beta * c.data[co + map[i]];
      }
    }
    return [out];
  },
};
