import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { checkFits, DataError, loadDataSet, type DataSet } from '../../server/data';
import { dataErrorOf, encodeIdx, encodeNpy, scratch, writeFile } from '../fixtures/data/write';

const tmp = scratch();
after(tmp.cleanup);

/** Three 2×2 ubyte images with labels 3 1 4, in a fresh folder. */
function idxPair(folder: string, prefix: string, gzip = false, dotted = false): { images: string; labels: string } {
  const dir = tmp.file(folder);
  mkdirSync(dir, { recursive: true });
  const sep = dotted ? '.' : '-';
  const gz = gzip ? '.gz' : '';
  const images = join(dir, `${prefix}-images${sep}idx3-ubyte${gz}`);
  const labels = join(dir, `${prefix}-labels${sep}idx1-ubyte${gz}`);
  writeFileSync(images, encodeIdx('ubyte', [3, 2, 2], [0, 255, 51, 0, 255, 255, 0, 0, 102, 0, 0, 0], gzip));
  writeFileSync(labels, encodeIdx('ubyte', [3], [3, 1, 4], gzip));
  return { images, labels };
}

function assertIdxPair(data: DataSet): void {
  assert.equal(data.count, 3);
  assert.deepEqual(data.inputShape, [1, 2, 2]);
  assert.deepEqual(Array.from(data.labels), [3, 1, 4]);
  assert.deepEqual(data.range, [0, 1]);
  assert.deepEqual(Array.from(data.inputs.subarray(0, 4)), [0, 1, 0.2, 0].map(Math.fround));
}

test('an IDX images file finds its labels by the standard name, gzipped or not', () => {
  const plain = idxPair('idx-plain', 'train');
  assertIdxPair(loadDataSet(plain.images));
  const gz = idxPair('idx-gz', 't10k', true);
  assertIdxPair(loadDataSet(gz.images));
  const dotted = idxPair('idx-dotted', 't10k', false, true);
  assertIdxPair(loadDataSet(dotted.images));
});

test('an IDX labels file finds its images', () => {
  const pair = idxPair('idx-from-labels', 'train');
  const data = loadDataSet(pair.labels);
  assert.equal(data.source, pair.images);
  assertIdxPair(data);
});

test('a folder with one IDX pair loads; with two images files it asks which', () => {
  const pair = idxPair('idx-folder', 'digits');
  assertIdxPair(loadDataSet(join(pair.images, '..')));
  idxPair('idx-two', 'train');
  const two = idxPair('idx-two', 't10k');
  const dir = join(two.images, '..');
  assert.match(dataErrorOf(() => loadDataSet(dir), dir).message, /holds 2 IDX images files/);
});

test('explicit "images,labels" pairs load IDX and .npy', () => {
  const pair = idxPair('idx-explicit', 'odd');
  const renamed = writeFile(tmp.file('idx-explicit/answers'), encodeIdx('ubyte', [3], [9, 8, 7]));
  assert.deepEqual(Array.from(loadDataSet(`${pair.images},${renamed}`).labels), [9, 8, 7]);
  const x = writeFile(tmp.file('pair-a.npy'), encodeNpy({ descr: '<f4', shape: [2, 2], values: [1, 2, 3, 4] }));
  const y = writeFile(tmp.file('pair-b.npy'), encodeNpy({ descr: '<i8', shape: [2], values: [1, 0] }));
  assert.deepEqual(Array.from(loadDataSet(`${x},${y}`).labels), [1, 0]);
  const mixed = `${x},${renamed}`;
  assert.match(dataErrorOf(() => loadDataSet(mixed), mixed).message, /pairs a npy file with a idx file/);
});

function npyFolder(folder: string, inputsName: string, labelsName: string): { inputs: string; labels: string } {
  const dir = tmp.file(folder);
  mkdirSync(dir, { recursive: true });
  const inputs = writeFile(join(dir, inputsName), encodeNpy({ descr: '<f4', shape: [3, 1, 2], values: [0.5, -0.5, 1, 2, 0, 0] }));
  const labels = writeFile(join(dir, labelsName), encodeNpy({ descr: '<i8', shape: [3], values: [2, 0, 1] }));
  return { inputs, labels };
}

test('.npy pairs follow the naming convention, from either member or the folder', () => {
  for (const [folder, inputsName, labelsName] of [
    ['npy-xy', 'X.npy', 'y.npy'],
    ['npy-lower', 'x.npy', 'y.npy'],
    ['npy-named', 'inputs.npy', 'labels.npy'],
    ['npy-underscore', 'digits.npy', 'digits_labels.npy'],
    ['npy-dot', 'digits.npy', 'digits.labels.npy'],
  ]) {
    const pair = npyFolder(folder, inputsName, labelsName);
    for (const spec of [pair.inputs, pair.labels]) {
      const data = loadDataSet(spec);
      assert.equal(data.source, pair.inputs, spec);
      assert.equal(data.name, inputsName);
      assert.deepEqual(data.inputShape, [1, 2]);
      assert.deepEqual(Array.from(data.labels), [2, 0, 1]);
      assert.deepEqual(data.range, [-0.5, 2]);
    }
  }
  assert.deepEqual(Array.from(loadDataSet(tmp.file('npy-named'), { offset: 1 }).labels), [0, 1]);
  assert.equal(loadDataSet(tmp.file('npy-xy')).count, 3);
});

test('.npy uint8 inputs are scaled like IDX pixels; float labels that are integers are accepted', () => {
  const dir = tmp.file('npy-u8');
  mkdirSync(dir);
  writeFile(join(dir, 'X.npy'), encodeNpy({ descr: '|u1', shape: [2, 2], values: [0, 255, 51, 102] }));
  writeFile(join(dir, 'y.npy'), encodeNpy({ descr: '<f8', shape: [2, 1], values: [1, 0] }));
  const data = loadDataSet(dir);
  assert.deepEqual(Array.from(data.inputs), [0, 1, 0.2, 0.4].map(Math.fround));
  assert.deepEqual(data.range, [0, 1]);
  assert.deepEqual(Array.from(data.labels), [1, 0]);
});

test('.npy problems are DataErrors naming the file', () => {
  const lonely = writeFile(tmp.file('lonely.npy'), encodeNpy({ descr: '<f4', shape: [1, 1], values: [1] }));
  assert.match(dataErrorOf(() => loadDataSet(lonely), lonely).message, /no partner \.npy file.*X\.npy \+ y\.npy/);

  const counts = npyFolder('npy-counts', 'X.npy', 'y.npy');
  writeFile(counts.labels, encodeNpy({ descr: '<i8', shape: [2], values: [0, 1] }));
  assert.match(dataErrorOf(() => loadDataSet(counts.inputs), counts.labels).message, /has 2 labels but .*X\.npy has 3 samples/);

  const fraction = npyFolder('npy-fraction', 'X.npy', 'y.npy');
  writeFile(fraction.labels, encodeNpy({ descr: '<f4', shape: [3], values: [0, 1.5, 2] }));
  assert.match(dataErrorOf(() => loadDataSet(fraction.inputs), fraction.labels).message, /label 1 is 1\.5, not a class index/);

  const oneHot = npyFolder('npy-onehot', 'X.npy', 'y.npy');
  writeFile(oneHot.labels, encodeNpy({ descr: '<f4', shape: [3, 2], values: [1, 0, 0, 1, 1, 0] }));
  assert.match(dataErrorOf(() => loadDataSet(oneHot.inputs), oneHot.labels).message, /shape \(3, 2\), labels need one integer/);

  const nan = npyFolder('npy-nan', 'X.npy', 'y.npy');
  writeFile(nan.inputs, encodeNpy({ descr: '<f8', shape: [3, 2], values: [0, 0, 0, NaN, 0, 0] }));
  assert.match(dataErrorOf(() => loadDataSet(nan.inputs), nan.inputs).message, /sample 1 holds NaN at position 1/);

  const flat = npyFolder('npy-flat', 'X.npy', 'y.npy');
  writeFile(flat.inputs, encodeNpy({ descr: '<f4', shape: [3], values: [1, 2, 3] }));
  assert.match(dataErrorOf(() => loadDataSet(flat.inputs), flat.inputs).message, /shape \(3\), not one row per sample/);

  const gz = writeFile(tmp.file('packed.npy.gz'), gzipSync(encodeNpy({ descr: '<f4', shape: [1], values: [1] })));
  assert.match(dataErrorOf(() => loadDataSet(gz), gz).message, /gzipped \.npy file/);
});

test('IDX pairing problems are DataErrors naming the file', () => {
  const counts = idxPair('idx-counts', 'train');
  writeFileSync(counts.labels, encodeIdx('ubyte', [2], [1, 2]));
  assert.match(dataErrorOf(() => loadDataSet(counts.images), counts.labels).message, /has 2 labels but .* has 3 images/);

  const dir = tmp.file('idx-alone');
  mkdirSync(dir);
  const alone = writeFile(join(dir, 'train-images-idx3-ubyte'), encodeIdx('ubyte', [1, 1, 1], [0]));
  assert.match(dataErrorOf(() => loadDataSet(alone), alone).message, /no labels file next to it \(looked for train-labels-idx1-ubyte\[\.gz\]\)/);

  const odd = writeFile(tmp.file('oddly-named.bin'), encodeIdx('ubyte', [1, 1, 1], [0]));
  assert.match(dataErrorOf(() => loadDataSet(odd), odd).message, /no labels file next to it/);

  const signed = idxPair('idx-signed', 'train');
  writeFileSync(signed.labels, encodeIdx('byte', [3], [1, -2, 3]));
  assert.match(dataErrorOf(() => loadDataSet(signed.images), signed.labels).message, /label 1 is -2/);
});

test('unknown specs, missing paths and unreadable content are DataErrors naming the spec or file', () => {
  assert.match(dataErrorOf(() => loadDataSet('mnist:validation'), 'mnist:validation').message, /unknown MNIST split "validation"/);
  const missing = tmp.file('nowhere.npy');
  assert.match(dataErrorOf(() => loadDataSet(missing), missing).message, /does not exist.*pass mnist, mnist:train/);
  const empty = writeFile(tmp.file('empty.bin'), '');
  assert.match(dataErrorOf(() => loadDataSet(empty), empty).message, /is empty/);
  const garbage = writeFile(tmp.file('garbage.dat'), 'PK\u0003\u0004 zip file');
  assert.match(dataErrorOf(() => loadDataSet(garbage), garbage).message, /neither an IDX file, a \.npy file nor a JSON object/);
  const emptyDir = tmp.file('empty-dir');
  mkdirSync(emptyDir);
  assert.match(dataErrorOf(() => loadDataSet(emptyDir), emptyDir).message, /holds no IDX images file/);
  const badPair = `${tmp.file('a.npy')},${tmp.file('b.npy')}`;
  assert.match(dataErrorOf(() => loadDataSet(badPair), tmp.file('a.npy')).message, /does not exist/);
  assert.ok(dataErrorOf(() => loadDataSet('  '), 'DATA') instanceof DataError);
});

test('checkFits accepts the model input with or without its batch dimension', () => {
  const data = loadDataSet('mnist', { count: 2 });
  checkFits(data, [1, 1, 28, 28]);
  checkFits(data, [1, 28, 28]);
  checkFits(data, [1, 784]);
  checkFits(data, [784]);
  checkFits(data, [-1, 784]);
  checkFits(data, [0, 1, 28, 28], 10);
});

test('checkFits refuses a wrong sample size and out-of-range labels in one sentence naming the file', () => {
  const data = loadDataSet('mnist', { count: 5 });
  const err = dataErrorOf(() => checkFits(data, [1, 3, 32, 32]), data.source);
  assert.match(err.message, /has 784 values per sample \(1×28×28\), the model expects 3072 \(1×3×32×32\); pass a data set whose samples match the model input\.$/);
  assert.match(dataErrorOf(() => checkFits(data, [1, 10]), data.source).message, /the model expects 10 \(1×10\)/);
  // Labels 7 2 1 0 4: a 5-class model cannot index label 7.
  assert.match(dataErrorOf(() => checkFits(data, [1, 784], 5), data.source).message, /label 0 is 7, the model has only 5 outputs/);
});
