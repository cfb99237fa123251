// Conv, ConvTranspose, pools and BatchNormalization on hand-computed examples, shape inference and its errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, infer, c, x, int, float, ints, str } from './ops-harness';
import { OpError } from '../../server/ir/ops/types';

const nine = x([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);

test('Conv with asymmetric pads and stride', () => {
  // pads top=1, left=0, bottom=0, right=1; stride 2; 2×2 kernel of ones
  const r = run('Conv', { pads: ints([1, 0, 0, 1]), strides: ints([2, 2]) }, [nine, c([1, 1, 2, 2], [1, 1, 1, 1])]);
  assert.deepEqual(r.shapes[0], [1, 1, 2, 2]);
  assert.deepEqual(r.values[0], [3, 3, 24, 15]);
});

test('Conv with dilation 2', () => {
  const img = x([1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => i));
  const r = run('Conv', { dilations: ints([2, 2]) }, [img, c([1, 1, 2, 2], [1, 1, 1, 1])]);
  assert.deepEqual(r.shapes[0], [1, 1, 2, 2]);
  assert.deepEqual(r.values[0], [20, 24, 36, 40]);
});

test('Conv with groups and bias, batch of two samples stacked', () => {
  const img = x([1, 2, 1, 2], [1, 2, 3, 4, 10, 20, 30, 40]);
  const r = run('Conv', { group: int(2) }, [img, c([2, 1, 1, 1], [2, 3]), c([2], [1, -1])], { batch: 2 });
  assert.deepEqual(r.values[0], [3, 5, 8, 11, 21, 41, 89, 119]);
});

test('1-D Conv with SAME_UPPER and SAME_LOWER puts the odd pad at the end or the start', () => {
  const seq = x([1, 1, 4], [1, 2, 3, 4]);
  const w = c([1, 1, 2], [1, 1]);
  assert.deepEqual(run('Conv', { auto_pad: str('SAME_UPPER') }, [seq, w]).values[0], [3, 5, 7, 4]);
  assert.deepEqual(run('Conv', { auto_pad: str('SAME_LOWER') }, [seq, w]).values[0], [1, 3, 5, 7]);
  assert.deepEqual(run('Conv', { auto_pad: str('VALID') }, [seq, w]).values[0], [3, 5, 7]);
});

test('Conv shape errors: rank, channels, kernel_shape, bias', () => {
  assert.throws(() => infer('Conv', {}, [x([1, 784], []), c([4, 1, 3, 3], [])]), (e: unknown) => e instanceof OpError && /\[1, 784\]/.test(e.message));
  assert.throws(() => infer('Conv', {}, [x([1, 3, 4, 4], []), c([2, 2, 1, 1], [])]), /expects 2 input channels, the input \[1, 3, 4, 4\] has 3/);
  assert.throws(() => infer('Conv', { kernel_shape: ints([3, 3]) }, [x([1, 1, 4, 4], []), c([2, 1, 2, 2], [])]), /kernel_shape/);
  assert.throws(() => infer('Conv', {}, [x([1, 1, 4, 4], []), c([2, 1, 2, 2], []), c([3], [])]), /bias \[3\]/);
  assert.throws(() => infer('Conv', {}, [x([1, 1, 2, 2], []), c([1, 1, 3, 3], [])]), /larger than the padded input/);
});

test('ConvTranspose: stride, output_padding, pads, output_shape, bias', () => {
  const seq = x([1, 1, 2], [1, 2]);
  const w = c([1, 1, 3], [1, 1, 1]);
  assert.deepEqual(run('ConvTranspose', { strides: ints([2]) }, [seq, w]).values[0], [1, 1, 3, 2, 2]);
  assert.deepEqual(run('ConvTranspose', { strides: ints([2]), output_padding: ints([1]) }, [seq, w]).values[0], [1, 1, 3, 2, 2, 0]);
  assert.deepEqual(run('ConvTranspose', { strides: ints([2]), output_padding: ints([1]), pads: ints([1, 1]) }, [seq, w]).values[0], [1, 3, 2, 2]);
  // output_shape 4: total padding 1, the odd one at the start (NOTSET)
  assert.deepEqual(run('ConvTranspose', { strides: ints([2]), output_shape: ints([4]) }, [seq, w, c([1], [10])]).values[0], [11, 13, 12, 12]);
  const img = x([1, 1, 2, 2], [1, 2, 3, 4]);
  const r = run('ConvTranspose', { strides: ints([2, 2]), output_padding: ints([1, 1]) }, [img, c([1, 1, 2, 2], [1, 1, 1, 1])]);
  assert.deepEqual(r.shapes[0], [1, 1, 5, 5]);
  assert.deepEqual(r.values[0], [1, 1, 2, 2, 0, 1, 1, 2, 2, 0, 3, 3, 4, 4, 0, 3, 3, 4, 4, 0, 0, 0, 0, 0, 0]);
});

test('ConvTranspose groups: output channels are W[1]·group; channel mismatch is an error', () => {
  assert.deepEqual(infer('ConvTranspose', { group: int(2) }, [x([1, 4, 3, 3], []), c([4, 3, 2, 2], [])]).outputs[0].shape, [1, 6, 4, 4]);
  assert.throws(() => infer('ConvTranspose', {}, [x([1, 3, 3, 3], []), c([4, 3, 2, 2], [])]), /expects 4 input channels/);
});

test('AveragePool count_include_pad both ways', () => {
  const attrs = { kernel_shape: ints([2, 2]), pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) };
  assert.deepEqual(run('AveragePool', attrs, [nine]).values[0], [1, 2.5, 5.5, 7]);
  assert.deepEqual(run('AveragePool', { ...attrs, count_include_pad: int(1) }, [nine]).values[0], [0.25, 1.25, 2.75, 7]);
});

test('AveragePool ceil_mode: partial windows average only what they cover', () => {
  const attrs = { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) };
  const r = run('AveragePool', attrs, [nine]);
  assert.deepEqual(r.shapes[0], [1, 1, 2, 2]);
  assert.deepEqual(r.values[0], [3, 4.5, 7.5, 9]);
  assert.deepEqual(run('AveragePool', { ...attrs, count_include_pad: int(1) }, [nine]).values[0], [3, 4.5, 7.5, 9]);
  assert.deepEqual(infer('AveragePool', { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }, [nine]).outputs[0].shape, [1, 1, 1, 1]);
});

test('MaxPool: stride 1, dilations, Indices output rejected', () => {
  assert.deepEqual(run('MaxPool', { kernel_shape: ints([2, 2]) }, [nine]).values[0], [5, 6, 8, 9]);
  assert.deepEqual(run('MaxPool', { kernel_shape: ints([2, 2]), dilations: ints([2, 2]) }, [nine]).values[0], [9]);
  assert.deepEqual(run('MaxPool', { kernel_shape: ints([2, 2]), pads: ints([1, 1, 0, 0]), strides: ints([2, 2]) }, [nine]).values[0], [1, 3, 7, 9]);
  assert.throws(() => infer('MaxPool', { kernel_shape: ints([2, 2]) }, [nine], { outputs: 2 }), /Indices/);
  assert.throws(() => infer('MaxPool', {}, [nine]), /kernel_shape/);
});

test('GlobalAveragePool averages each channel plane', () => {
  const r = run('GlobalAveragePool', {}, [x([1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])], {});
  assert.deepEqual(r.shapes[0], [1, 2, 1, 1]);
  assert.deepEqual(r.values[0], [2.5, 6.5]);
});

test('BatchNormalization in inference mode', () => {
  const r = run('BatchNormalization', { epsilon: float(0) }, [
    x([1, 2, 1, 2], [1, 2, 3, 4]), c([2], [1, 2]), c([2], [0, 1]), c([2], [1, 3]), c([2], [4, 0.25]),
  ]);
  assert.deepEqual(r.values[0], [0, 0.5, 1, 5]);
  assert.throws(
    () => infer('BatchNormalization', {}, [x([1, 2, 2], []), c([3], []), c([3], []), c([3], []), c([3], [])]),
    /does not match the 2 channels/,
  );
  assert.throws(
    () => infer('BatchNormalization', { training_mode: int(1) }, [x([1, 2], []), c([2], []), c([2], []), c([2], []), c([2], [])], { opset: 15 }),
    /training mode/,
  );
});
