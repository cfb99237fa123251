import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readNpy } from '../../server/data/npy';
import { dataErrorOf, encodeNpy, scratch, writeFile } from '../fixtures/data/write';

const tmp = scratch();
after(tmp.cleanup);

const VALUES: Record<string, number[]> = {
  f4: [-1.5, 0, 0.1, 3.25, 1e-3, 100],
  f8: [-1e100, -0.1, 0, 0.1, Math.PI, 1e100],
  u1: [0, 1, 127, 128, 254, 255],
  i1: [-128, -1, 0, 1, 64, 127],
  i2: [-32768, -300, 0, 1, 300, 32767],
  i4: [-2147483648, -70000, 0, 1, 70000, 2147483647],
  u4: [0, 1, 2, 70000, 2 ** 31, 2 ** 32 - 1],
  i8: [-(2 ** 53), -5, 0, 1, 7, 2 ** 53],
  u8: [0, 1, 2, 3, 2 ** 40, 2 ** 53],
};

const DESCRS = ['<f4', '>f4', '<f8', '>f8', '|u1', '|i1', '<i2', '>i2', '<i4', '>i4', '<u4', '<i8', '>i8', '<u8'];

for (const descr of DESCRS) {
  for (const version of [1, 2, 3] as const) {
    test(`NPY ${descr}, format version ${version}`, () => {
      const values = VALUES[descr.slice(1)];
      const file = writeFile(tmp.file(`a-${descr.replace(/[<>|]/, (c) => ({ '<': 'le', '>': 'be', '|': 'na' })[c]!)}-v${version}.npy`), encodeNpy({ descr, shape: [3, 2], values, version }));
      const array = readNpy(file);
      assert.deepEqual(array.shape, [3, 2]);
      assert.equal(array.dtype.descr, descr);
      assert.equal(array.count, 3);
      const expected = descr.endsWith('f4') ? values.map(Math.fround) : values;
      assert.deepEqual(Array.from(array.values), expected);
      assert.deepEqual(Array.from(readNpy(file, { offset: 2 }).values), expected.slice(4));
    });
  }
}

test('a 1-D array and a 4-D array keep their shapes', () => {
  const flat = writeFile(tmp.file('flat.npy'), encodeNpy({ descr: '<i8', shape: [4], values: [3, 1, 4, 1] }));
  assert.deepEqual(readNpy(flat).shape, [4]);
  assert.deepEqual(Array.from(readNpy(flat, { offset: 1, count: 2 }).values), [1, 4]);
  const image = writeFile(tmp.file('image.npy'), encodeNpy({ descr: '<f4', shape: [2, 1, 2, 2], values: [1, 2, 3, 4, 5, 6, 7, 8] }));
  const second = readNpy(image, { offset: 1 });
  assert.deepEqual(second.shape, [2, 1, 2, 2]);
  assert.deepEqual(Array.from(second.values), [5, 6, 7, 8]);
});

test('Fortran-order arrays are transposed to C order', () => {
  // C-order content [[0, 1, 2], [3, 4, 5]] stored column-major.
  const file = writeFile(tmp.file('fortran.npy'), encodeNpy({ descr: '<f8', shape: [2, 3], values: [0, 3, 1, 4, 2, 5], fortran: true }));
  assert.deepEqual(Array.from(readNpy(file).values), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(readNpy(file, { offset: 1 }).values), [3, 4, 5]);
  // Rank 3: element (i, j, k) of a 2×2×2 array equals 4i + 2j + k; column-major storage walks i fastest.
  const fortranOrder: number[] = [];
  for (let k = 0; k < 2; k++) for (let j = 0; j < 2; j++) for (let i = 0; i < 2; i++) fortranOrder.push(4 * i + 2 * j + k);
  const cube = writeFile(tmp.file('fortran3.npy'), encodeNpy({ descr: '<i4', shape: [2, 2, 2], values: fortranOrder, fortran: true }));
  assert.deepEqual(Array.from(readNpy(cube).values), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('bad magic, unknown version, structured and unsupported dtypes, truncation are DataErrors naming the file', () => {
  const notNpy = writeFile(tmp.file('not.npy'), 'hello world, not numpy');
  assert.match(dataErrorOf(() => readNpy(notNpy), notNpy).message, /not a \.npy file/);

  const v4 = encodeNpy({ descr: '<f4', shape: [1], values: [1] });
  v4[6] = 4;
  const v4File = writeFile(tmp.file('v4.npy'), v4);
  assert.match(dataErrorOf(() => readNpy(v4File), v4File).message, /format version 4\.0/);

  const complex = writeFile(tmp.file('complex.npy'), encodeNpy({ descr: '<c8', shape: [0], values: [] }));
  assert.match(dataErrorOf(() => readNpy(complex), complex).message, /dtype <c8, which is not a supported/);

  const structuredHeader = encodeNpy({ descr: '<f4', shape: [0], values: [] }).toString('latin1').replace("'descr': '<f4'", "'descr': [('a', '<f4')]");
  const structured = writeFile(tmp.file('structured.npy'), Buffer.from(structuredHeader, 'latin1'));
  assert.match(dataErrorOf(() => readNpy(structured), structured).message, /structured \(record\) array/);

  const full = encodeNpy({ descr: '<f4', shape: [3, 2], values: [1, 2, 3, 4, 5, 6] });
  const truncated = writeFile(tmp.file('truncated.npy'), full.subarray(0, full.length - 4));
  assert.match(dataErrorOf(() => readNpy(truncated), truncated).message, /truncated: \d+ bytes, its header \(3×2 <f4\) needs \d+/);

  const scalar = writeFile(tmp.file('scalar.npy'), encodeNpy({ descr: '<f8', shape: [], values: [1] }));
  assert.match(dataErrorOf(() => readNpy(scalar), scalar).message, /single scalar/);

  const missing = tmp.file('missing.npy');
  assert.match(dataErrorOf(() => readNpy(missing), missing).message, /cannot be read \(ENOENT\)/);
});

test('float16 values decode, subnormals and infinities included', () => {
  const bits = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00];
  const header = encodeNpy({ descr: '<u2', shape: [6], values: bits }).toString('latin1').replace("'<u2'", "'<f2'");
  const file = writeFile(tmp.file('half.npy'), Buffer.from(header, 'latin1'));
  assert.deepEqual(Array.from(readNpy(file).values), [1, -2, 0.5, 65504, 2 ** -24, Infinity]);
});
