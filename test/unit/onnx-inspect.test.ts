// inspect: the full node table even for models that cannot load, every unsupported op at once, and the human table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatInspect, inspectModelBytes, inspectModelFile } from '../../server/inspect';
import { encodeModel, attr, type ModelSpec } from '../../server/onnx/encode';
import { ModelError } from '../../server/onnx/errors';
import { randomTensor, rng, tempDir, tinyMlpSpec, writeModel } from '../helpers/onnx-models';

function rnnSpec(): ModelSpec {
  const next = rng(7);
  return {
    inputs: [{ name: 'x', shape: ['batch', 8] }],
    outputs: [{ name: 'y' }],
    nodes: [
      { name: 'fc', opType: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['h'], attrs: { transB: attr.int(1) } },
      { name: 'act', opType: 'Relu', inputs: ['h'], outputs: ['a'] },
      { name: 'rnn', opType: 'LSTM', inputs: ['a', 'R'], outputs: ['s'] },
      { name: 'norm', opType: 'LayerNormalization', inputs: ['s'], outputs: ['n'] },
      { name: 'act2', opType: 'Relu', inputs: ['n'], outputs: ['y'] },
    ],
    initializers: [randomTensor('W', [6, 8], next), randomTensor('b', [6], next), randomTensor('R', [4, 6], next)],
  };
}

test('a model with unsupported ops still gets its node table, with all of them listed', () => {
  const report = inspectModelBytes(encodeModel(rnnSpec()), 'rnn.onnx');
  assert.deepEqual(report.unsupportedOps, ['LSTM', 'LayerNormalization']);
  assert.equal(report.problems.length, 1);
  assert.match(report.problems[0], /^2 unsupported ops: LSTM, LayerNormalization — graftcert can bound .*; re-export the model without them\.$/);
  assert.deepEqual(
    report.nodes.map((n) => [n.name, n.opType, n.outputShape, n.parameters, n.supported]),
    [
      ['fc', 'Gemm', [1, 6], 54, true],
      ['act', 'Relu', [1, 6], 0, true],
      ['rnn', 'LSTM', null, 24, false],
      ['norm', 'LayerNormalization', null, 0, false],
      ['act2', 'Relu', null, 0, true],
    ],
  );
  assert.deepEqual(report.reluLayers, [
    { name: 'act', preActivation: 'h', size: 6, grafted: 0 },
    { name: 'act2', preActivation: 'n', size: 0, grafted: 0 },
  ]);
  assert.equal(report.totalParameters, 54 + 24);
  assert.deepEqual(report.inputs, [{ name: 'x', dtype: 'float32', shape: [1, 8] }]);

  const text = formatInspect(report);
  assert.match(text, /rnn\s+LSTM \(unsupported\)\s+\?\s+24/);
  assert.match(text, /unsupported ops: LSTM, LayerNormalization/);
  assert.match(text, /ReLU layers \(2, 6 neurons\)/);
  assert.match(text, /total parameters: 78/);
});

test('bad weights and broken graphs are problems in the report, not exceptions', () => {
  const nan = tinyMlpSpec();
  (nan.initializers![0].data as Float32Array)[2] = NaN;
  const report = inspectModelBytes(encodeModel(nan), 'nan.onnx');
  assert.equal(report.nodes.length, 3);
  assert.deepEqual(report.nodes.map((n) => n.outputShape), [[1, 3], [1, 3], [1, 2]]);
  assert.equal(report.problems.length, 1);
  assert.match(report.problems[0], /initialiser 'W1' contains NaN/);

  const dangling = tinyMlpSpec();
  dangling.nodes = dangling.nodes.map((n, i) => (i === 2 ? { ...n, inputs: ['a', 'W_missing', 'b2'] } : n));
  const r2 = inspectModelBytes(encodeModel(dangling), 'dangling.onnx');
  assert.match(r2.problems.join(' '), /reads 'W_missing'/);
  assert.deepEqual(r2.unsupportedOps, []);
});

test('a model that loads inspects with no problems; figures are right', () => {
  const dir = tempDir();
  const path = writeModel(dir, 'mlp.onnx', { ...tinyMlpSpec(), producer: 'unit-test', opset: 12, irVersion: 7 });
  const report = inspectModelFile(path);
  assert.equal(report.file, path);
  assert.equal(report.irVersion, 7);
  assert.equal(report.opset, 12);
  assert.equal(report.producer, 'unit-test');
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.unsupportedOps, []);
  assert.equal(report.totalParameters, 12 + 3 + 6 + 2);
  assert.deepEqual(report.reluLayers, [{ name: 'relu1', preActivation: 'h', size: 3, grafted: 0 }]);
  assert.deepEqual(report.outputs, [{ name: 'y', dtype: 'float32', shape: [1, 2] }]);
  const text = formatInspect(report);
  assert.match(text, /^mlp\.onnx: ONNX IR 7, opset 12, produced by unit-test\n/);
  assert.match(text, /unsupported ops: none/);
  assert.doesNotMatch(text, /problems:/);
});

test('a file that is not ONNX at all throws ModelError (the CLI exits 2)', () => {
  assert.throws(() => inspectModelBytes(Buffer.from('hello world, not a model'), 'x.onnx'), ModelError);
  assert.throws(() => inspectModelFile('/nonexistent/model.onnx'), /model\.onnx: does not exist/);
});
