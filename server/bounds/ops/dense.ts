// Gemm and MatMul with a constant weight operand: dense affine maps.
import type { IRNode } from '../../ir/graph';
import { attrFloat, attrInt } from '../../ir/ops/types';
import { sizeOf } from '../../tensor/types';
import { DenseMap, SparseMap } from './maps';
import { expandConstant, splitInputs } from './util';
import { UnsupportedOp, type BoundOp, type BuildContext } from './types';

export class GemmBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const { variable, constants } = splitInputs(node, ctx);
    if (variable.length !== 1 || variable[0] !== 0) throw new UnsupportedOp('Gemm whose weight operand B is not a constant');
    const aShape = ctx.shape(node.inputs[0]);
    const transA = attrInt(node, 'transA', 0);
    const transB = attrInt(node, 'transB', 0);
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const m = transA ? aShape[1] : aShape[0];
    if (transA && m !== 1) throw new UnsupportedOp('Gemm with transA = 1 on a non-constant operand with more than one row');
    const k = transA ? aShape[0] : aShape[1];
    const b = constants[1]!;
    const n = transB ? b.dims[0] : b.dims[1];
    const w = new Float64Array(n * k);
    for (let j = 0; j < n; j++)
      for (let i = 0; i < k; i++) w[j * k + i] = alpha * (transB ? b.data[j * k + i] : b.data[i * n + j]);
    const c = constants[2];
    let bias: Float64Array | null = null;
    if (c !== undefined && beta !== 0) {
      bias = expandConstant(c, [m, n]);
      if (beta !== 1) for (let j = 0; j < bias.length; j++) bias[j] *= beta;
    }
    return [new DenseMap(node, node.inputs[0], node.outputs[0], m, k, n, w, bias)];
  }
}

export class MatMulBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const { variable, constants } = splitInputs(node, ctx);
    if (variable.length !== 1) throw new UnsupportedOp('MatMul of two non-constant operands');
    const out = node.outputs[0];
    if (variable[0] === 0) {
      const w = constants[1]!;
      if (w.dims.length !== 2 && !(w.dims.length > 2 && sizeOf(w.dims.slice(0, -2)) === 1))
        throw new UnsupportedOp('MatMul with a batched constant right operand');
      const xShape = ctx.shape(node.inputs[0]);
      if (w.dims.length === 1) throw new UnsupportedOp('MatMul with a 1-D constant right operand');
      const k = w.dims[w.dims.length - 2];
      const n = w.dims[w.dims.length - 1];
      const p = sizeOf(xShape) / k;
      const wt = new Float64Array(n * k);
      for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) wt[j * k + i] = w.data[i * n + j];
      return [new DenseMap(node, node.inputs[0], out, p, k, n, wt, null)];
    }
    // Constant left operand W[M, K] times x[..., K, N]: a sparse map (one block per leading index).
    const w = constants[0]!;
    if (w.dims.length !== 2) throw new UnsupportedOp('MatMul with a batched or 1-D constant left operand');
    const xShape = ctx.shape(node.inputs[1]);
    const [m, k] = w.dims;
    const nCols = xShape.length >= 2 ? xShape[xShape.length - 1] : 1;
    const batches = sizeOf(xShape) / (k * nCols);
    const outSize = batches * m * nCols;
    const rowStart = new Int32Array(outSize + 1);
    const col = new Int32Array(outSize * k);
    const value = new Float64Array(outSize * k);
    let e = 0;
    for (let bt = 0; bt < batches; bt++)
      for (let i = 0; i < m; i++)
        for (let c = 0; c < nCols; c++) {
          const j = (bt * m + i) * nCols + c;
          rowStart[j] = e;
          for (let t = 0; t < k; t++) {
            col[e] = (bt * k + t) * nCols + c;
            value[e] = w.data[i * k + t];
            e++;
          }
          rowStart[j + 1] = e;
        }
    return [new SparseMap(node, node.inputs[1], sizeOf(xShape), out, rowStart, col, value, null)];
  }
}
