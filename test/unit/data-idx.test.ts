import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readIdx, readIdxImages, readIdxLabels } from '../../server/data/idx';
import { dataErrorOf, encodeIdx, scratch, writeFile, type IdxTypeName } from '../fixtures/data/write';

const tmp = scratch();
after(tmp.cleanup);

const SAMPLES: Record<IdxTypeName, number[]> = {
  ubyte: [0, 1, 127, 128, 254, 255],
  byte: [-128, -1, 0, 1, 64, 127],
  short: [-32768, -300, 0, 1, 300, 32767],
  int: [-2147483648, -70000, 0, 1, 70000, 2147483647],
  float: [-1.5, 0, 0.25, 3.5, 1e-3, 65504],
  double: [-1e100, -0.1, 0, 0.1, Math.PI, 1e100],
};

for (const type of Object.keys(SAMPLES) as IdxTypeName[]) {
  for (const gzip of [false, true]) {
    test(`IDX round trip: ${type}${gzip ? ', gzipped' : ''}`, () => {
      const values = SAMPLES[type];
      const file = writeFile(tmp.file(`rt-${type}${gzip ? '.gz' : ''}`), encodeIdx(type, [3, 2], values, gzip));
      const tensor = readIdx(file);
      assert.equal(tensor.type, type);
      assert.deepEqual(tensor.dims, [3, 2]);
      assert.equal(tensor.count, 3);
      const expected = type === 'float' ? values.map(Math.fround) : values;
      assert.deepEqual(Array.from(tensor.values), expected);
      const window = readIdx(file, { offset: 1, count: 1 });
      assert.deepEqual(Array.from(window.values), expected.slice(2, 4));
    });
  }
}

test('ubyte images are scaled to [0, 1] and rank-2 samples get a channel axis', () => {
  for (const gzip of [false, true]) {
    const file = writeFile(tmp.file(`img${gzip ? '.gz' : ''}`), encodeIdx('ubyte', [2, 2, 3], [0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 0, 1], gzip));
    const images = readIdxImages(file, { offset: 1 });
    assert.deepEqual(images.inputShape, [1, 2, 3]);
    assert.deepEqual(images.range, [0, 1]);
    assert.equal(images.total, 2);
    assert.equal(images.count, 1);
    assert.deepEqual(Array.from(images.inputs), [1, 0, 0, 0, 0, 1 / 255].map(Math.fround));
  }
});

test('float images keep their values and report the observed range; rank-3 samples keep their shape', () => {
  const file = writeFile(tmp.file('float-img'), encodeIdx('float', [2, 1, 2, 1], [-0.5, 0.25, 2, 1.5]));
  const images = readIdxImages(file);
  assert.deepEqual(images.inputShape, [1, 2, 1]);
  assert.deepEqual(images.range, [-0.5, 2]);
  assert.deepEqual(Array.from(images.inputs), [-0.5, 0.25, 2, 1.5]);
});

test('NaN in float images is refused', () => {
  const file = writeFile(tmp.file('nan-img'), encodeIdx('float', [2, 2], [0, 1, NaN, 0]));
  const err = dataErrorOf(() => readIdxImages(file), file);
  assert.match(err.message, /sample 1 holds NaN/);
});

test('a labels file read as images is refused', () => {
  const file = writeFile(tmp.file('lab-as-img'), encodeIdx('ubyte', [3], [1, 2, 3]));
  assert.match(dataErrorOf(() => readIdxImages(file), file).message, /labels, not images/);
});

test('an images file read as labels is refused', () => {
  const file = writeFile(tmp.file('img-as-lab'), encodeIdx('ubyte', [1, 2, 2], [1, 2, 3, 4]));
  assert.match(dataErrorOf(() => readIdxLabels(file), file).message, /one value per sample/);
});

test('bad magic, unknown type, truncation and corrupt gzip are DataErrors naming the file', () => {
  const badMagic = writeFile(tmp.file('bad-magic'), Buffer.from([1, 2, 8, 1, 0, 0, 0, 1, 5]));
  assert.match(dataErrorOf(() => readIdx(badMagic), badMagic).message, /not an IDX file \(magic bytes 01 02 08 01/);

  const badType = writeFile(tmp.file('bad-type'), Buffer.from([0, 0, 0x0a, 1, 0, 0, 0, 1, 5]));
  assert.match(dataErrorOf(() => readIdx(badType), badType).message, /unknown IDX element type 0x0a/);

  const full = encodeIdx('ubyte', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  const truncated = writeFile(tmp.file('truncated'), full.subarray(0, full.length - 1));
  assert.match(dataErrorOf(() => readIdx(truncated, { count: 1 }), truncated).message, /truncated: 19 bytes.*needs 20/);

  const truncatedHeader = writeFile(tmp.file('truncated-header'), full.subarray(0, 10));
  assert.match(dataErrorOf(() => readIdx(truncatedHeader), truncatedHeader).message, /truncated inside its header/);

  const gz = encodeIdx('ubyte', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8], true);
  const truncatedGz = writeFile(tmp.file('truncated.gz'), gz.subarray(0, gz.length - 6));
  assert.match(dataErrorOf(() => readIdx(truncatedGz), truncatedGz).message, /truncated or corrupt gzip/);

  const missing = tmp.file('missing-idx3-ubyte');
  assert.match(dataErrorOf(() => readIdx(missing), missing).message, /cannot be opened \(ENOENT\)/);
});

test('offsets past the end and bad counts are refused', () => {
  const file = writeFile(tmp.file('small'), encodeIdx('ubyte', [2, 1], [1, 2]));
  assert.match(dataErrorOf(() => readIdx(file, { offset: 2 }), file).message, /offset 2 is past the last sample/);
  assert.match(dataErrorOf(() => readIdx(file, { count: 0 }), file).message, /count 0 is not a positive integer/);
  assert.match(dataErrorOf(() => readIdx(file, { offset: -1 }), file).message, /offset -1/);
});
