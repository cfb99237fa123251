// Gemm and MatMul: transposes, alpha/beta, bias broadcasting, 1-D and batched MatMul, stacked samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, infer, c, x, int, float, closeTo } from './ops-harness';
import { OpError } from '../../server/ir/ops/types';

test('Gemm with transA, transB, alpha, beta and a [N] bias (per-sample path)', () => {
  // A stored K×M = [[1,2],[3,4]], B stored N×K = [[1,0],[0,1],[1,1]]: op(A)·op(B) = [[1,3,4],[2,4,6]]
  const r = run(
    'Gemm',
    { transA: int(1), transB: int(1), alpha: float(2), beta: float(0.5) },
    [x([2, 2], [1, 2, 3, 4]), c([3, 2], [1, 0, 0, 1, 1, 1]), c([3], [1, 2, 3])],
  );
  assert.deepEqual(r.shapes[0], [2, 3]);
  assert.deepEqual(r.values[0], [2.5, 7, 9.5, 4.5, 9, 13.5]);
});

test('Gemm stacks samples against a constant B, with scalar, [M,N] and absent C', () => {
  const b = c([2, 2], [1, 2, 3, 4]);
  const a = x([1, 2], [1, 0, 0, 1, 2, 3]); // batch 3
  assert.deepEqual(run('Gemm', {}, [a, b, c([], [10])], { batch: 3 }).values[0], [11, 12, 13, 14, 21, 26]);
  assert.deepEqual(run('Gemm', {}, [a, b], { batch: 3, opset: 11 }).values[0], [1, 2, 3, 4, 11, 16]);
  assert.deepEqual(run('Gemm', { beta: float(2) }, [a, b, c([1, 2], [1, -1])], { batch: 3 }).values[0], [3, 0, 5, 2, 13, 14]);
  // transB on the stacked path: B stored N×K
  assert.deepEqual(run('Gemm', { transB: int(1) }, [a, b], { batch: 3 }).values[0], [1, 3, 2, 4, 8, 18]);
});

test('Gemm shape errors: rank, inner dimension, C not broadcastable', () => {
  assert.throws(() => infer('Gemm', {}, [x([1, 2, 3], []), c([3, 2], [])]), (e: unknown) => e instanceof OpError && /2-D A input/.test(e.message));
  assert.throws(() => infer('Gemm', {}, [x([1, 3], []), c([2, 2], [])]), /inner dimensions differ/);
  assert.throws(() => infer('Gemm', {}, [x([1, 2], []), c([2, 2], []), c([3], [])]), /does not broadcast to \[1, 2\]/);
});

function naiveBatchedMatMul(a: number[], aShape: number[], b: number[], bShape: number[]): number[] {
  // Only for shapes of equal rank ≥ 2 with broadcasting batch dims (test helper).
  const rank = aShape.length;
  const M = aShape[rank - 2], K = aShape[rank - 1], N = bShape[rank - 1];
  const batchOut = aShape.slice(0, -2).map((d, i) => Math.max(d, bShape[i]));
  const out: number[] = [];
  const count = batchOut.reduce((p, q) => p * q, 1);
  for (let p = 0; p < count; p++) {
    let rem = p, ai = 0, bi = 0, aStride = 1, bStride = 1;
    for (let d = batchOut.length - 1; d >= 0; d--) {
      const coord = rem % batchOut[d];
      rem = Math.floor(rem / batchOut[d]);
      ai += (aShape[d] === 1 ? 0 : coord) * aStride;
      bi += (bShape[d] === 1 ? 0 : coord) * bStride;
      aStride *= aShape[d];
      bStride *= bShape[d];
    }
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ai * M * K + i * K + k] * b[bi * K * N + k * N + j];
        out.push(s);
      }
  }
  return out;
}

test('MatMul: 1-D operands are promoted and their axis removed', () => {
  const m = c([2, 3], [1, 2, 3, 4, 5, 6]);
  const r1 = run('MatMul', {}, [x([2], [1, 1]), m]);
  assert.deepEqual(r1.shapes[0], [3]);
  assert.deepEqual(r1.values[0], [5, 7, 9]);
  const r2 = run('MatMul', {}, [m, x([3], [1, 0, -1])]);
  assert.deepEqual(r2.shapes[0], [2]);
  assert.deepEqual(r2.values[0], [-2, -2]);
  const r3 = run('MatMul', {}, [x([3], [1, 2, 3]), c([3], [1, 1, 1])]);
  assert.deepEqual(r3.shapes[0], []);
  assert.deepEqual(r3.values[0], [6]);
});

test('MatMul: batched with broadcasting, stacked and general paths, several samples', () => {
  const aShape = [2, 1, 2, 3], bShape = [1, 3, 3, 2];
  const a = Array.from({ length: 12 }, (_, i) => i - 5);
  const b = Array.from({ length: 18 }, (_, i) => (i % 7) - 3);
  const r = run('MatMul', {}, [x(aShape, a), c(bShape, b)]);
  assert.deepEqual(r.shapes[0], [2, 3, 2, 2]);
  assert.deepEqual(r.values[0], naiveBatchedMatMul(a, aShape, b, bShape));
  // [2,2,3] × constant [3,2]: one stacked product over 2 samples
  const a2 = Array.from({ length: 24 }, (_, i) => i * 0.5);
  const b2 = [1, 2, 3, 4, 5, 6];
  const r2 = run('MatMul', {}, [x([2, 2, 3], a2), c([3, 2], b2)], { batch: 2 });
  const expected = [
    ...naiveBatchedMatMul(a2.slice(0, 12), [2, 2, 3], [...b2, ...b2], [2, 3, 2]),
    ...naiveBatchedMatMul(a2.slice(12), [2, 2, 3], [...b2, ...b2], [2, 3, 2]),
  ];
  assert.ok(closeTo(r2.values[0], expected));
  // constant left operand, non-constant right
  const r3 = run('MatMul', {}, [c([1, 2], [1, -1]), x([2, 2], [1, 2, 3, 4, 5, 6, 7, 9])], { batch: 2 });
  assert.deepEqual(r3.values[0], [-2, -2, -2, -3]);
});

test('MatMul shape errors', () => {
  assert.throws(() => infer('MatMul', {}, [x([2, 3], []), c([2, 3], [])]), /inner dimensions differ: \[2, 3\] times \[2, 3\]/);
  assert.throws(() => infer('MatMul', {}, [x([2, 2, 3], []), c([3, 3, 2], [])]), /cannot broadcast/);
});
