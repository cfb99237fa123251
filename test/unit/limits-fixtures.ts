// A small ReLU network and a property that only branch and bound decides (unsat), for the domain-limit test.
import { encodeModel, type ModelSpec } from '../../server/onnx/encode';
import { loadModelBytes } from '../../server/onnx/load';
import type { Graph } from '../../server/ir/graph';

export function mlpGraph(): { g: Graph; text: string } {
  const gemm = (x: string, w: string, b: string, y: string) => ({ opType: 'Gemm', inputs: [x, w, b], outputs: [y], attrs: { transB: { kind: 'int' as const, value: 1 } } });
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 2] }],
    outputs: [{ name: 'y', shape: [1, 1] }],
    nodes: [gemm('x', 'W0', 'b0', 'h0'), { opType: 'Relu', inputs: ['h0'], outputs: ['a0'] }, gemm('a0', 'W1', 'b1', 'y')],
    initializers: [
      { name: 'W0', dims: [2, 2], data: Float32Array.from([1, -1, 1, 1]) },
      { name: 'b0', dims: [2], data: Float32Array.from([0, 0]) },
      { name: 'W1', dims: [1, 2], data: Float32Array.from([1, 1]) },
      { name: 'b1', dims: [1], data: Float32Array.from([0]) },
    ],
  };
  // y = relu(x0 − x1) + relu(x0 + x1) ≤ 2 on [-1, 1]²; CROWN's bound is looser, so "y ≥ 2.1" needs splitting.
  const text = [
    '(declare-const X_0 Real)', '(declare-const X_1 Real)', '(declare-const Y_0 Real)',
    '(assert (>= X_0 -1))', '(assert (<= X_0 1))', '(assert (>= X_1 -1))', '(assert (<= X_1 1))',
    '(assert (>= Y_0 2.1))',
  ].join('\n');
  return { g: loadModelBytes(encodeModel(spec), 'vee.onnx').graph, text };
}
