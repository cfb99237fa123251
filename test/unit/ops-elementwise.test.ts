// Elementwise ops: broadcasting arithmetic, activations, Clip across opsets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, infer, c, x, float, closeTo } from './ops-harness';
import { OpError } from '../../server/ir/ops/types';
import { getOp, supportedOps } from '../../server/ir/ops';

test('registry knows the default domain only and lists every op', () => {
  assert.ok(getOp('Conv', '') !== undefined);
  assert.ok(getOp('Conv', 'ai.onnx') !== undefined);
  assert.equal(getOp('Conv', 'com.microsoft'), undefined);
  assert.equal(getOp('LSTM', ''), undefined);
  const ops = supportedOps();
  assert.equal(ops.length, 43);
  for (const name of ops) assert.equal(getOp(name, '')?.opType, name);
});

test('Add/Sub/Mul/Div broadcast numpy-style, per sample', () => {
  // [2,3] with [3] constant, batch 2
  const a = x([2, 3], [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]);
  const b = c([3], [1, 2, 4]);
  assert.deepEqual(run('Add', {}, [a, b], { batch: 2 }).values[0], [2, 4, 7, 5, 7, 10, 11, 22, 34, 41, 52, 64]);
  assert.deepEqual(run('Sub', {}, [a, b], { batch: 2 }).values[0], [0, 0, -1, 3, 3, 2, 9, 18, 26, 39, 48, 56]);
  assert.deepEqual(run('Mul', {}, [b, a], { batch: 2 }).values[0], [1, 4, 12, 4, 10, 24, 10, 40, 120, 40, 100, 240]);
  assert.deepEqual(run('Div', {}, [a, b]).values[0], [1, 1, 0.75, 4, 2.5, 1.5]);
  // [2,1] against [1,3] → [2,3]
  const r = run('Mul', {}, [x([2, 1], [2, 3]), c([1, 3], [1, 10, 100])]);
  assert.deepEqual(r.shapes[0], [2, 3]);
  assert.deepEqual(r.values[0], [2, 20, 200, 3, 30, 300]);
});

test('Div of integer tensors truncates toward zero', () => {
  const r = run('Div', {}, [c([3], [7, -7, 9], 'int64'), c([], [2], 'int64')]);
  assert.deepEqual(r.values[0], [3, -3, 4]);
  assert.equal(r.dtypes[0], 'int64');
});

test('Pow broadcasts the exponent', () => {
  assert.deepEqual(run('Pow', {}, [x([3], [2, 3, 4]), c([], [2])]).values[0], [4, 9, 16]);
});

test('non-broadcastable shapes are an OpError naming both shapes', () => {
  assert.throws(() => infer('Add', {}, [x([2, 3], []), x([4], [])]), (e: unknown) => e instanceof OpError && /\[2, 3\] and \[4\]/.test(e.message));
});

test('unary activations', () => {
  const v = [-2, -0.5, 0, 0.5, 2];
  const i = x([5], v);
  assert.deepEqual(run('Neg', {}, [i]).values[0], [2, 0.5, -0, -0.5, -2]);
  assert.deepEqual(run('Relu', {}, [i]).values[0], [0, 0, 0, 0.5, 2]);
  assert.deepEqual(run('LeakyRelu', {}, [i]).values[0], [-0.02, -0.005, 0, 0.5, 2]);
  assert.deepEqual(run('LeakyRelu', { alpha: float(0.1) }, [i]).values[0], [-0.2, -0.05, 0, 0.5, 2]);
  assert.ok(closeTo(run('Sigmoid', {}, [i]).values[0], v.map((t) => 1 / (1 + Math.exp(-t)))));
  assert.equal(run('Sigmoid', {}, [x([1], [-1000])]).values[0][0], 0);
  assert.ok(closeTo(run('Tanh', {}, [i]).values[0], v.map(Math.tanh)));
  assert.ok(closeTo(run('Exp', {}, [i]).values[0], v.map(Math.exp)));
  assert.deepEqual(run('Abs', {}, [i]).values[0], [2, 0.5, 0, 0.5, 2]);
  assert.deepEqual(run('Sqrt', {}, [x([3], [0, 4, 2.25])]).values[0], [0, 2, 1.5]);
  assert.deepEqual(run('Sign', {}, [i]).values[0], [-1, -1, 0, 1, 1]);
});

test('float32 precision rounds outputs to float32', () => {
  const r = run('Mul', {}, [x([1], [0.1]), c([1], [3])], { precision: 'float32' });
  assert.ok(r.raw[0] instanceof Float32Array);
  assert.equal(r.values[0][0], Math.fround(Math.fround(0.1) * 3));
});

test('Clip: attributes before opset 11, optional inputs from 11, min > max gives max', () => {
  const i = x([4], [-3, -1, 1, 3]);
  assert.deepEqual(run('Clip', { min: float(-2), max: float(2) }, [i], { opset: 6 }).values[0], [-2, -1, 1, 2]);
  assert.deepEqual(run('Clip', { min: float(0) }, [i], { opset: 6 }).values[0], [0, 0, 1, 3]);
  assert.deepEqual(run('Clip', {}, [i, c([], [-2]), c([], [2])], { opset: 13 }).values[0], [-2, -1, 1, 2]);
  assert.deepEqual(run('Clip', {}, [i, undefined, c([], [0])], { opset: 13 }).values[0], [-3, -1, 0, 0]);
  assert.deepEqual(run('Clip', {}, [i, c([], [2]), c([], [1])], { opset: 13 }).values[0], [1, 1, 1, 1]);
  assert.throws(() => infer('Clip', {}, [i, c([2], [0, 1])], { opset: 13 }), OpError);
});
