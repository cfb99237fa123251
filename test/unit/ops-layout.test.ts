// Shape and layout ops: Reshape, Flatten, Squeeze/Unsqueeze, Transpose, Concat, Slice, Split, Pad, Gather, Expand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, infer, c, x, int, float, ints, str } from './ops-harness';

const i64 = (shape: number[], values: number[]) => c(shape, values, 'int64');
const seq = (n: number) => Array.from({ length: n }, (_, i) => i);

test('Reshape: 0 copies a dimension, -1 infers one, allowzero keeps a literal 0', () => {
  const r = run('Reshape', {}, [x([2, 3, 4], seq(24)), i64([3], [0, -1, 2])]);
  assert.deepEqual(r.shapes[0], [2, 6, 2]);
  assert.deepEqual(r.values[0], seq(24));
  assert.deepEqual(run('Reshape', {}, [x([2, 3], seq(6)), i64([1], [-1])], { batch: 2 }).values[0].length, 12);
  assert.deepEqual(infer('Reshape', { allowzero: int(1) }, [x([0, 3], []), i64([2], [3, 0])], { opset: 14 }).outputs[0].shape, [3, 0]);
  assert.deepEqual(infer('Reshape', { shape: ints([3, 2]) }, [x([2, 3], [])], { opset: 4 }).outputs[0].shape, [3, 2]);
});

test('Reshape errors: non-constant shape, wrong size, two -1', () => {
  assert.throws(() => infer('Reshape', {}, [x([2, 3], []), x([2], [3, 2])]), /Reshape's shape input must be constant/);
  assert.throws(() => infer('Reshape', {}, [x([2, 3], []), i64([2], [4, 2])]), /cannot reshape \[2, 3\] \(6 values\) into \[4, 2\]/);
  assert.throws(() => infer('Reshape', {}, [x([2, 3], []), i64([2], [-1, -1])]), /at most one -1/);
  assert.throws(() => infer('Reshape', {}, [x([2, 3], []), i64([2], [4, -1])]), /cannot reshape/);
});

test('Flatten: axis 0, default, negative', () => {
  const shape = (axis?: number) => infer('Flatten', axis === undefined ? {} : { axis: int(axis) }, [x([2, 3, 4], [])]).outputs[0].shape;
  assert.deepEqual(shape(0), [1, 24]);
  assert.deepEqual(shape(), [2, 12]);
  assert.deepEqual(shape(-1), [6, 4]);
  assert.deepEqual(shape(3), [24, 1]);
  assert.throws(() => shape(4), /out of range/);
});

test('Squeeze and Unsqueeze: axes attribute before opset 13, input from 13', () => {
  const v = x([1, 3, 1, 2], []);
  assert.deepEqual(infer('Squeeze', {}, [v]).outputs[0].shape, [3, 2]);
  assert.deepEqual(infer('Squeeze', { axes: ints([-2]) }, [v], { opset: 11 }).outputs[0].shape, [1, 3, 2]);
  assert.deepEqual(infer('Squeeze', {}, [v, i64([1], [0])], { opset: 13 }).outputs[0].shape, [3, 1, 2]);
  assert.throws(() => infer('Squeeze', {}, [v, i64([1], [1])]), /cannot remove axis 1 of size 3/);
  assert.deepEqual(infer('Unsqueeze', { axes: ints([0, 3]) }, [x([3, 2], [])], { opset: 11 }).outputs[0].shape, [1, 3, 2, 1]);
  assert.deepEqual(infer('Unsqueeze', {}, [x([3, 2], []), i64([1], [-1])], { opset: 13 }).outputs[0].shape, [3, 2, 1]);
  assert.throws(() => infer('Unsqueeze', {}, [x([3], []), x([1], [0])], { opset: 13 }), /axes input must be constant/);
  const r = run('Unsqueeze', {}, [x([2], [5, 6]), i64([1], [0])], { batch: 1 });
  assert.deepEqual(r.values[0], [5, 6]);
});

test('Transpose: default reverses the axes, perm permutes them', () => {
  const v = x([2, 3], [1, 2, 3, 4, 5, 6]);
  const r = run('Transpose', {}, [v]);
  assert.deepEqual(r.shapes[0], [3, 2]);
  assert.deepEqual(r.values[0], [1, 4, 2, 5, 3, 6]);
  const r3 = run('Transpose', { perm: ints([1, 2, 0]) }, [x([2, 2, 3], seq(12))], { batch: 1 });
  assert.deepEqual(r3.shapes[0], [2, 3, 2]);
  assert.deepEqual(r3.values[0], [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]);
  assert.throws(() => infer('Transpose', { perm: ints([0, 0]) }, [v]), /not a permutation/);
});

test('Concat: negative axis, constant and per-sample inputs mixed', () => {
  const r = run('Concat', { axis: int(-1) }, [x([2, 1], [1, 2, 3, 4]), c([2, 2], [9, 9, 8, 8])], { batch: 2 });
  assert.deepEqual(r.shapes[0], [2, 3]);
  assert.deepEqual(r.values[0], [1, 9, 9, 2, 8, 8, 3, 9, 9, 4, 8, 8]);
  assert.throws(() => infer('Concat', { axis: int(0) }, [x([2, 1], []), x([2, 2], [])]), /differ outside axis 0/);
});

test('Slice: negative starts and steps, INT64_MAX ends, clamping, attributes before opset 10', () => {
  const v = x([6], seq(6));
  const slice = (starts: number[], ends: number[], axes?: number[], steps?: number[]) =>
    run('Slice', {}, [v, i64([starts.length], starts), i64([ends.length], ends), axes && i64([axes.length], axes), steps && i64([steps.length], steps)]).values[0];
  assert.deepEqual(slice([1], [9223372036854775807]), [1, 2, 3, 4, 5]);
  assert.deepEqual(slice([-2], [100]), [4, 5]);
  assert.deepEqual(slice([-1], [-9223372036854775807], [0], [-1]), [5, 4, 3, 2, 1, 0]);
  assert.deepEqual(slice([4], [0], [0], [-2]), [4, 2]);
  assert.deepEqual(slice([10], [0], [-1], [-3]), [5, 2]);
  assert.deepEqual(slice([3], [1]), []);
  assert.deepEqual(run('Slice', { starts: ints([1]), ends: ints([-1]) }, [v], { opset: 9 }).values[0], [1, 2, 3, 4]);
  const m = run('Slice', {}, [x([2, 3], seq(6)), i64([1], [1]), i64([1], [3]), i64([1], [1])]);
  assert.deepEqual(m.shapes[0], [2, 2]);
  assert.deepEqual(m.values[0], [1, 2, 4, 5]);
  assert.throws(() => infer('Slice', {}, [v, x([1], [0]), i64([1], [1])]), /starts input must be constant/);
  assert.throws(() => slice([0], [1], [0], [0]), /step must not be 0/);
});

test('Split: sizes as attribute (opset 11), as input (13), even split, num_outputs (18)', () => {
  const v = x([5], seq(5));
  const r = run('Split', { split: ints([2, 3]) }, [v], { opset: 11, outputs: 2 });
  assert.deepEqual(r.values, [[0, 1], [2, 3, 4]]);
  assert.deepEqual(run('Split', {}, [v, i64([2], [4, 1])], { opset: 13, outputs: 2 }).values, [[0, 1, 2, 3], [4]]);
  assert.deepEqual(run('Split', { num_outputs: int(2) }, [v], { opset: 18, outputs: 2 }).values, [[0, 1, 2], [3, 4]]);
  assert.throws(() => infer('Split', {}, [v], { opset: 13, outputs: 2 }), /evenly/);
  const m = run('Split', { axis: int(1) }, [x([2, 4], seq(8))], { outputs: 2, batch: 1 });
  assert.deepEqual(m.values, [[0, 1, 4, 5], [2, 3, 6, 7]]);
});

test('Pad: constant value as attribute (opset 2) and input (11), negative pads crop, reflect and edge', () => {
  const v = x([3], [1, 2, 3]);
  assert.deepEqual(run('Pad', { pads: ints([1, 2]), value: float(9) }, [v], { opset: 2 }).values[0], [9, 1, 2, 3, 9, 9]);
  assert.deepEqual(run('Pad', {}, [v, i64([2], [2, -1]), c([], [7])], { opset: 13 }).values[0], [7, 7, 1, 2]);
  assert.deepEqual(run('Pad', { mode: str('reflect') }, [v, i64([2], [2, 2])]).values[0], [3, 2, 1, 2, 3, 2, 1]);
  assert.deepEqual(run('Pad', { mode: str('edge') }, [v, i64([2], [2, 1])]).values[0], [1, 1, 1, 2, 3, 3]);
  const m = run('Pad', {}, [x([2, 2], [1, 2, 3, 4]), i64([2], [1, 0]), undefined, i64([1], [1])], { opset: 18 });
  assert.deepEqual(m.shapes[0], [2, 3]);
  assert.deepEqual(m.values[0], [0, 1, 2, 0, 3, 4]);
  assert.throws(() => infer('Pad', {}, [v, x([2], [1, 1])]), /pads input must be constant/);
  assert.throws(() => infer('Pad', {}, [v, i64([2], [-2, -2])]), /crop more/);
});

test('Gather: any axis, negative indices, scalar index, range errors', () => {
  const v = x([2, 3], [1, 2, 3, 4, 5, 6]);
  const r = run('Gather', { axis: int(1) }, [v, i64([2], [-1, 0])]);
  assert.deepEqual(r.shapes[0], [2, 2]);
  assert.deepEqual(r.values[0], [3, 1, 6, 4]);
  const s = run('Gather', {}, [v, i64([], [1])]);
  assert.deepEqual(s.shapes[0], [3]);
  assert.deepEqual(s.values[0], [4, 5, 6]);
  assert.throws(() => infer('Gather', {}, [v, i64([1], [2])]), /index 2 is out of range for axis 0 of size 2/);
});

test('Expand broadcasts both ways to a constant shape', () => {
  const r = run('Expand', {}, [x([2, 1], [1, 2]), i64([3], [2, 1, 3])]);
  assert.deepEqual(r.shapes[0], [2, 2, 3]);
  assert.deepEqual(r.values[0], [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]);
  assert.throws(() => infer('Expand', {}, [x([2], []), x([1], [2])]), /shape input must be constant/);
});
