import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataSet } from '../../server/data';
import { dataErrorOf, scratch, writeFile } from '../fixtures/data/write';

const tmp = scratch();
after(tmp.cleanup);

test('a JSON file of flat samples loads with its labels and observed range', () => {
  const file = writeFile(tmp.file('flat.json'), JSON.stringify({ inputs: [[0.5, -1, 2], [0, 0.25, 1]], labels: [2, 0] }));
  const data = loadDataSet(file);
  assert.equal(data.name, 'flat.json');
  assert.equal(data.source, file);
  assert.equal(data.count, 2);
  assert.equal(data.total, 2);
  assert.deepEqual(data.inputShape, [3]);
  assert.deepEqual(Array.from(data.inputs), [0.5, -1, 2, 0, 0.25, 1]);
  assert.deepEqual(Array.from(data.labels), [2, 0]);
  assert.deepEqual(data.range, [-1, 2]);
});

test('nested samples keep their shape; a window picks samples and labels together', () => {
  const inputs = [0, 1, 2].map((s) => [[[s, s + 0.5], [s + 0.25, s + 0.75]]]);
  const file = writeFile(tmp.file('nested.json'), JSON.stringify({ inputs, labels: [4, 5, 6] }));
  const data = loadDataSet(file, { offset: 1, count: 1 });
  assert.deepEqual(data.inputShape, [1, 2, 2]);
  assert.deepEqual(Array.from(data.inputs), [1, 1.5, 1.25, 1.75]);
  assert.deepEqual(Array.from(data.labels), [5]);
  assert.equal(data.offset, 1);
  assert.equal(data.total, 3);
});

test('a JSON file is recognised by content, whatever its name', () => {
  const file = writeFile(tmp.file('samples.txt'), '\n  ' + JSON.stringify({ inputs: [[1]], labels: [0] }));
  assert.equal(loadDataSet(file).count, 1);
});

test('malformed JSON data files are DataErrors naming the file', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['syntax.json', '{ "inputs": [[1]], ', /not valid JSON/],
    ['no-inputs.json', '{ "labels": [1] }', /no "inputs" array/],
    ['no-labels.json', '{ "inputs": [[1]] }', /no "labels" array/],
    ['counts.json', '{ "inputs": [[1], [2]], "labels": [1] }', /2 inputs but 1 labels/],
    ['ragged.json', '{ "inputs": [[1, 2], [3]], "labels": [0, 1] }', /input 1 is not a 2 array like the first sample/],
    ['string-value.json', '{ "inputs": [[1, "a"]], "labels": [0] }', /input 0 holds "a" where a number belongs/],
    ['scalar-sample.json', '{ "inputs": [1, 2], "labels": [0, 1] }', /input 0 is 1, not a non-empty array/],
    ['fraction-label.json', '{ "inputs": [[1], [2]], "labels": [0, 1.5] }', /label 1 is 1\.5, not a class index/],
    ['negative-label.json', '{ "inputs": [[1]], "labels": [-1] }', /label 0 is -1/],
    ['string-label.json', '{ "inputs": [[1]], "labels": ["cat"] }', /label 0 is "cat"/],
    ['infinite.json', '{ "inputs": [[1], [1e999]], "labels": [0, 1] }', /sample 1 holds Infinity/],
  ];
  for (const [name, text, pattern] of cases) {
    const file = writeFile(tmp.file(name), text);
    assert.match(dataErrorOf(() => loadDataSet(file), file).message, pattern, name);
  }
});
