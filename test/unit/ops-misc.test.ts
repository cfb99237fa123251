// Softmax, Shape, Cast, ConstantOfShape, Constant, Reduce*, Identity and Dropout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, infer, c, x, int, ints, floats, tensorAttr, closeTo } from './ops-harness';

const i64 = (shape: number[], values: number[]) => c(shape, values, 'int64');

function softmax(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((t) => Math.exp(t - m));
  const s = e.reduce((p, q) => p + q, 0);
  return e.map((t) => t / s);
}

test('Softmax: opset 11 flattens from axis, opset 13 uses the single axis', () => {
  const v = x([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 9]);
  const old = run('Softmax', { axis: int(1) }, [v], { opset: 11 }).values[0];
  assert.ok(closeTo(old, [...softmax([1, 2, 3, 4]), ...softmax([5, 6, 7, 9])]));
  const now = run('Softmax', { axis: int(1) }, [v], { opset: 13 }).values[0];
  const [a, b] = [softmax([1, 3]), softmax([2, 4])];
  const [d, e] = [softmax([5, 7]), softmax([6, 9])];
  assert.ok(closeTo(now, [a[0], b[0], a[1], b[1], d[0], e[0], d[1], e[1]]));
  // default axis: 1 before 13, -1 from 13
  assert.ok(closeTo(run('Softmax', {}, [v], { opset: 11 }).values[0], old));
  assert.ok(closeTo(run('Softmax', {}, [v], { opset: 13 }).values[0], [...softmax([1, 2]), ...softmax([3, 4]), ...softmax([5, 6]), ...softmax([7, 9])]));
  assert.ok(run('Softmax', {}, [x([2], [1000, 0])]).values[0].every(Number.isFinite));
});

test('Shape, with start and end from opset 15', () => {
  const v = x([1, 3, 5, 7], []);
  const r = run('Shape', {}, [v], { batch: 2 });
  assert.deepEqual(r.shapes[0], [4]);
  assert.equal(r.dtypes[0], 'int64');
  assert.ok(r.raw[0] instanceof Float64Array);
  assert.deepEqual(r.values[0], [1, 3, 5, 7, 1, 3, 5, 7]);
  assert.deepEqual(run('Shape', { start: int(1), end: int(-1) }, [v], { opset: 15 }).values[0], [3, 5]);
  assert.deepEqual(run('Shape', { start: int(-2) }, [v], { opset: 15 }).values[0], [5, 7]);
  assert.deepEqual(infer('Shape', { start: int(1) }, [v], { opset: 13 }).outputs[0].shape, [4]);
});

test('Cast truncates to integers, wraps narrow types, rounds to float32, maps bool', () => {
  const v = x([5], [-2.7, 2.7, 300, 0, 0.1]);
  const i = run('Cast', { to: int(7) }, [v], { precision: 'float32' });
  assert.equal(i.dtypes[0], 'int64');
  assert.ok(i.raw[0] instanceof Float64Array);
  assert.deepEqual(i.values[0], [-2, 2, 300, 0, 0]);
  assert.deepEqual(run('Cast', { to: int(3) }, [v]).values[0], [-2, 2, 44, 0, 0]);
  assert.deepEqual(run('Cast', { to: int(9) }, [v]).values[0], [1, 1, 1, 0, 1]);
  assert.equal(run('Cast', { to: int(1) }, [v]).values[0][4], Math.fround(0.1));
  assert.throws(() => infer('Cast', { to: int(8) }, [v]), /string/);
});

test('ConstantOfShape and Constant', () => {
  const r = run('ConstantOfShape', { value: tensorAttr('int64', [1], [3]) }, [i64([2], [2, 2])], { batch: 2 });
  assert.deepEqual(r.shapes[0], [2, 2]);
  assert.equal(r.dtypes[0], 'int64');
  assert.deepEqual(r.values[0], [3, 3, 3, 3, 3, 3, 3, 3]);
  assert.deepEqual(run('ConstantOfShape', {}, [i64([1], [3])]).values[0], [0, 0, 0]);
  assert.throws(() => infer('ConstantOfShape', {}, [x([1], [3])]), /shape input must be constant/);
  const k = run('Constant', { value: tensorAttr('float32', [2], [1.5, -2]) }, [], { batch: 2 });
  assert.deepEqual(k.shapes[0], [2]);
  assert.deepEqual(k.values[0], [1.5, -2, 1.5, -2]);
  assert.deepEqual(run('Constant', { value_ints: ints([4, 5]) }, []).values[0], [4, 5]);
  assert.deepEqual(infer('Constant', { value_floats: floats([1]) }, []).outputs[0], { shape: [1], dtype: 'float32' });
  assert.throws(() => infer('Constant', {}, []), /no numeric value/);
});

test('ReduceSum and ReduceMean: axes attribute vs input by opset, keepdims, empty axes', () => {
  const v = x([2, 3], [1, 2, 3, 4, 5, 6]);
  const sum = run('ReduceSum', {}, [v, i64([1], [1])], { opset: 13 });
  assert.deepEqual(sum.shapes[0], [2, 1]);
  assert.deepEqual(sum.values[0], [6, 15]);
  const sumOld = run('ReduceSum', { axes: ints([0]), keepdims: int(0) }, [v], { opset: 11 });
  assert.deepEqual(sumOld.shapes[0], [3]);
  assert.deepEqual(sumOld.values[0], [5, 7, 9]);
  const all = run('ReduceMean', { keepdims: int(0) }, [v], { opset: 13 });
  assert.deepEqual(all.shapes[0], []);
  assert.deepEqual(all.values[0], [3.5]);
  const mean = run('ReduceMean', { axes: ints([-1]) }, [v], { opset: 13, batch: 1 });
  assert.deepEqual(mean.values[0], [2, 5]);
  assert.deepEqual(run('ReduceMean', {}, [v, i64([1], [0])], { opset: 18 }).values[0], [2.5, 3.5, 4.5]);
  const noop = run('ReduceSum', { noop_with_empty_axes: int(1) }, [v], { opset: 13 });
  assert.deepEqual(noop.shapes[0], [2, 3]);
  assert.deepEqual(noop.values[0], [1, 2, 3, 4, 5, 6]);
  assert.throws(() => infer('ReduceSum', {}, [v, x([1], [0])], { opset: 13 }), /axes input must be constant/);
});

test('Identity copies; Dropout is identity with an all-true mask, training mode rejected', () => {
  const v = x([3], [1, 2, 3]);
  assert.deepEqual(run('Identity', {}, [v]).values[0], [1, 2, 3]);
  const d = run('Dropout', {}, [v, c([], [0.5])], { opset: 13, outputs: 2 });
  assert.deepEqual(d.values, [[1, 2, 3], [1, 1, 1]]);
  assert.equal(d.dtypes[1], 'bool');
  assert.throws(() => infer('Dropout', {}, [v, c([], [0.5]), c([], [1], 'bool')], { opset: 13 }), /training mode/);
  assert.deepEqual(run('Dropout', {}, [v], { opset: 7 }).values[0], [1, 2, 3]);
});
