// Building the IR: shapes, batch resolution, constants and folding, rewiring, and the errors for graphs it cannot take.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeModel, attr, type ModelSpec } from '../../server/onnx/encode';
import { ModelError } from '../../server/onnx/errors';
import { loadModelBytes } from '../../server/onnx/load';
import { evaluate } from '../../server/ir/forward';
import { rng, tinyMlpSpec, randomTensor } from '../helpers/onnx-models';

const load = (spec: ModelSpec, file = 'model.onnx') => loadModelBytes(encodeModel(spec), file);

function loadError(spec: ModelSpec, file = 'model.onnx'): ModelError {
  try {
    load(spec, file);
  } catch (err) {
    assert.ok(err instanceof ModelError, `expected a ModelError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`${file}: `));
    assert.ok(!err.message.includes('\n'), 'one sentence, one line');
    return err;
  }
  assert.fail('the model loaded but should not have');
}

test('a plain MLP loads with static shapes, in topological order', () => {
  const spec = tinyMlpSpec();
  spec.nodes = [spec.nodes[2], spec.nodes[0], spec.nodes[1]]; // file order is not evaluation order
  const m = load({ ...spec, producer: 'unit', opset: 11, irVersion: 6 });
  assert.deepEqual(m.graph.nodes.map((n) => n.opType), ['Gemm', 'Relu', 'Gemm']);
  assert.deepEqual(m.graph.values.get('h')!.shape, [1, 3]);
  assert.deepEqual(m.graph.outputs.map((o) => [o.name, o.shape]), [['y', [1, 2]]]);
  assert.equal(m.graph.opset, 11);
  assert.equal(m.irVersion, 6);
  assert.equal(m.producer, 'unit');
  assert.deepEqual(m.opsetImports, [{ domain: '', version: 11 }]);
  assert.deepEqual(m.graph.inputs.map((v) => v.name), ['x'], 'initialisers are not graph inputs');
  assert.deepEqual(m.notes, []);
});

test('initialisers listed as graph inputs are constants, not inputs', () => {
  const spec = tinyMlpSpec();
  spec.inputs = [...spec.inputs, { name: 'W1', shape: [3, 4] }, { name: 'b1', shape: [3] }];
  const m = load(spec);
  assert.deepEqual(m.graph.inputs.map((v) => v.name), ['x']);
});

test('a symbolic, zero or unknown batch dimension resolves to 1 with a note', () => {
  for (const batchDim of ['N', 0]) {
    const spec = tinyMlpSpec();
    spec.inputs = [{ name: 'x', shape: [batchDim, 4] }];
    const m = load(spec);
    assert.deepEqual(m.graph.inputs[0].shape, [1, 4]);
    assert.equal(m.notes.length, 1);
    assert.match(m.notes[0], /input 'x' has a .* batch dimension; graftcert evaluates it with batch 1/);
  }
});

test('dynamic non-batch dimensions are an error', () => {
  const spec = tinyMlpSpec();
  spec.inputs = [{ name: 'x', shape: ['N', 'features'] }];
  const err = loadError(spec);
  assert.match(err.message, /graph input 'x' has dynamic shapes that cannot be resolved: dimension 1 \(symbolic 'features'\)/);
  const noShape = tinyMlpSpec();
  noShape.inputs = [{ name: 'x' }];
  assert.match(loadError(noShape).message, /declares no shape/);
});

test('all unsupported ops are reported together in one sentence', () => {
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y' }],
    nodes: [
      { opType: 'Foo', inputs: ['x'], outputs: ['a'] },
      { opType: 'Relu', inputs: ['a'], outputs: ['b'] },
      { opType: 'LSTM', inputs: ['b'], outputs: ['c'] },
      { opType: 'Foo', inputs: ['c'], outputs: ['d'] },
      { opType: 'Bar', domain: 'com.acme', inputs: ['d'], outputs: ['y'] },
    ],
    extraOpsets: [{ domain: 'com.acme', version: 1 }],
  };
  const err = loadError(spec, 'rnn.onnx');
  assert.deepEqual(err.unsupportedOps, ['Foo', 'LSTM', 'com.acme.Bar']);
  assert.match(err.message, /^rnn\.onnx: 3 unsupported ops: Foo, LSTM, com\.acme\.Bar — graftcert can bound .*Gemm.*Relu.*; re-export the model without them\.$/);
});

test('a cycle is named by its nodes', () => {
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y' }],
    nodes: [
      { name: 'add', opType: 'Add', inputs: ['x', 'c'], outputs: ['a'] },
      { name: 'relu_a', opType: 'Relu', inputs: ['a'], outputs: ['b'] },
      { name: 'relu_b', opType: 'Relu', inputs: ['b'], outputs: ['c'] },
      { name: 'out', opType: 'Relu', inputs: ['b'], outputs: ['y'] },
    ],
  };
  const err = loadError(spec);
  assert.match(err.message, /the graph has a cycle \('add' → 'relu_a' → 'relu_b' → 'add'\)/);
});

test('a dangling input is named with its node', () => {
  const spec = tinyMlpSpec();
  spec.nodes = spec.nodes.map((n, i) => (i === 1 ? { ...n, inputs: ['ghost'] } : n));
  const err = loadError(spec);
  assert.match(err.message, /node 'relu1' \(Relu\) reads 'ghost', which no node, graph input or initialiser provides/);
});

test('Constant nodes (value, value_float, value_ints) become constants', () => {
  const spec: ModelSpec = {
    opset: 13,
    inputs: [{ name: 'x', shape: [1, 2, 3] }],
    outputs: [{ name: 'y' }],
    nodes: [
      { opType: 'Constant', inputs: [], outputs: ['mean'], attrs: { value: attr.tensor({ dtype: 'float32', dims: [1, 2, 1], data: Float64Array.of(0.5, -0.5) }) } },
      { opType: 'Constant', inputs: [], outputs: ['scale'], attrs: { value_float: attr.float(4) } },
      { opType: 'Constant', inputs: [], outputs: ['shape'], attrs: { value_ints: attr.ints([1, 6]) } },
      { opType: 'Sub', inputs: ['x', 'mean'], outputs: ['centred'] },
      { opType: 'Mul', inputs: ['centred', 'scale'], outputs: ['scaled'] },
      { opType: 'Reshape', inputs: ['scaled', 'shape'], outputs: ['y'] },
    ],
  };
  const m = load(spec);
  assert.deepEqual(m.graph.nodes.map((n) => n.opType), ['Sub', 'Mul', 'Reshape']);
  assert.deepEqual([...m.graph.constants.get('shape')!.data], [1, 6]);
  assert.equal(m.graph.constants.get('shape')!.dtype, 'int64');
  assert.deepEqual(m.graph.constants.get('scale')!.dims, []);
  assert.deepEqual(m.graph.outputs[0].shape, [1, 6]);
  const y = evaluate(m.graph, Float64Array.of(1, 2, 3, 4, 5, 6), 1, 'float64').get('y')!;
  assert.deepEqual([...y], [2, 6, 10, 18, 22, 26]);
});

test('a Shape→Gather→Unsqueeze→Concat→Reshape chain folds into a constant shape', () => {
  const spec: ModelSpec = {
    opset: 13,
    inputs: [{ name: 'x', shape: ['batch', 3, 2, 2] }],
    outputs: [{ name: 'y' }],
    nodes: [
      { opType: 'Shape', inputs: ['x'], outputs: ['s'] },
      { opType: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: attr.int(0) } },
      { opType: 'Unsqueeze', inputs: ['n', 'axes'], outputs: ['n1'] },
      { opType: 'Concat', inputs: ['n1', 'minus1'], outputs: ['target'], attrs: { axis: attr.int(0) } },
      { opType: 'Reshape', inputs: ['x', 'target'], outputs: ['flat'] },
      { opType: 'Relu', inputs: ['flat'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'zero', dims: [], dtype: 'int64', data: [0] },
      { name: 'axes', dims: [1], dtype: 'int64', data: [0] },
      { name: 'minus1', dims: [1], dtype: 'int64', data: [-1] },
    ],
  };
  const m = load(spec);
  assert.deepEqual(m.graph.nodes.map((n) => n.opType), ['Reshape', 'Relu']);
  assert.deepEqual([...m.graph.constants.get('target')!.data], [1, -1]);
  assert.deepEqual(m.graph.values.get('flat')!.shape, [1, 12]);
  assert.match(m.notes[0], /batch dimension/);
  const x = Float64Array.from({ length: 24 }, (_, i) => i - 12);
  const y = evaluate(m.graph, x, 2, 'float64').get('y')!;
  assert.deepEqual([...y], [...x].map((v) => Math.max(0, v)));
});

test('nodes with only constant inputs are folded in float64 (normalisation constants)', () => {
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 2] }],
    outputs: [{ name: 'y' }],
    nodes: [
      { opType: 'Div', inputs: ['one', 'std'], outputs: ['inv_std'] },
      { opType: 'Sub', inputs: ['x', 'mean'], outputs: ['c'] },
      { opType: 'Mul', inputs: ['c', 'inv_std'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'one', dims: [], data: [1] },
      { name: 'std', dims: [2], data: [0.5, 4] },
      { name: 'mean', dims: [2], data: [1, 2] },
    ],
  };
  const m = load(spec);
  assert.deepEqual(m.graph.nodes.map((n) => n.opType), ['Sub', 'Mul']);
  assert.deepEqual([...m.graph.constants.get('inv_std')!.data], [2, 0.25]);
});

test('Identity and Dropout are rewired away; graph output names survive', () => {
  const next = rng(3);
  const spec: ModelSpec = {
    opset: 11,
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y' }],
    nodes: [
      { opType: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['h'], attrs: { transB: attr.int(1) } },
      { opType: 'Dropout', inputs: ['h'], outputs: ['d', 'mask'], attrs: { ratio: attr.float(0.5) } },
      { opType: 'Relu', inputs: ['d'], outputs: ['a'] },
      { opType: 'Identity', inputs: ['a'], outputs: ['y'] },
    ],
    initializers: [randomTensor('W', [3, 4], next), randomTensor('b', [3], next)],
  };
  const m = load(spec);
  assert.deepEqual(m.graph.nodes.map((n) => n.opType), ['Gemm', 'Relu']);
  assert.deepEqual(m.graph.nodes[1].inputs, ['h']);
  assert.deepEqual(m.graph.nodes[1].outputs, ['y']);
  const out = evaluate(m.graph, Float64Array.of(1, 2, 3, 4), 1, 'float64');
  assert.deepEqual([...out.keys()], ['y']);
});

test('a shape error names the node and the problem', () => {
  const spec = tinyMlpSpec();
  spec.initializers = [randomTensor('W1', [3, 5], rng(2)), ...spec.initializers!.slice(1)]; // 5 inputs expected, x has 4
  const err = loadError(spec);
  assert.match(err.message, /node 'Gemm_0' \(Gemm\): /);
});
