// The model text printer (ONNX textual syntax) and where it puts each node and initialiser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeModel } from '../../server/onnx/encode';
import { analyseModelBytes } from '../../server/onnx/load';
import { formatAttribute, printModelText, valueType } from '../../server/server/model-text';
import { tinyMlpSpec } from '../helpers/onnx-models';

test('the tiny MLP prints as onnx.printer prints it, weights declared by shape', () => {
  const printed = printModelText(analyseModelBytes(encodeModel(tinyMlpSpec()), 'tiny.onnx'));
  assert.equal(
    printed.text,
    '<\n   ir_version: 8,\n   opset_import: ["" : 13],\n   producer_name: "graftcert"\n>\n' +
      'graph (float[1,4] x) => (float[1,2] y)\n   <float[3,4] W1, float[3] b1, float[2,3] W2, float[2] b2>\n{\n' +
      '   h = Gemm <transB: int = 1> (x, W1, b1)\n   a = Relu (h)\n   y = Gemm <transB: int = 1> (a, W2, b2)\n}\n',
  );
  const lines = printed.text.split('\n');
  assert.equal(printed.signatureLine, 5);
  assert.deepEqual(printed.nodes.map((n) => [n.name, n.line]), [['Gemm_0', 8], ['relu1', 9], ['Gemm_2', 10]]);
  for (const n of printed.nodes) assert.equal(lines[n.line].slice(n.opStart, n.opEnd), n.opType);
  for (const i of printed.initializers) assert.equal(lines[i.line].slice(i.start, i.end), i.name);
});

test('many initialisers go one per line, still with exact columns', () => {
  const spec = tinyMlpSpec();
  const renamed = { ...spec, initializers: spec.initializers!.map((t) => ({ ...t, name: `a_rather_long_initialiser_name_${t.name}` })) };
  renamed.nodes = spec.nodes.map((n) => ({ ...n, inputs: n.inputs.map((v) => (/^[Wb]\d$/.test(v) ? `a_rather_long_initialiser_name_${v}` : v)) }));
  const printed = printModelText(analyseModelBytes(encodeModel(renamed), 'long.onnx'));
  const lines = printed.text.split('\n');
  assert.equal(new Set(printed.initializers.map((i) => i.line)).size, 4);
  for (const i of printed.initializers) assert.equal(lines[i.line].slice(i.start, i.end), i.name);
  assert.match(lines[printed.initializers[0].line], /^ {6}float\[3,4\] a_rather_long_initialiser_name_W1,$/);
});

test('types, unknown dimensions and every attribute kind in text syntax', () => {
  assert.equal(valueType({ dtype: 'float32', dims: [null, 'N', 3] }), 'float[?,N,3]');
  assert.equal(valueType({ dtype: 'float64', dims: [] }), 'double');
  assert.equal(valueType({ dtype: 'int64', dims: null }), 'int64[]');
  assert.equal(formatAttribute('alpha', { kind: 'float', value: 0.1 }), 'alpha: float = 0.1');
  assert.equal(formatAttribute('pads', { kind: 'ints', value: [1, 1] }), 'pads: ints = [1, 1]');
  assert.equal(formatAttribute('mode', { kind: 'string', value: 'a"b' }), 'mode: string = "a\\"b"');
  assert.equal(formatAttribute('value', { kind: 'tensor', value: { dtype: 'float32', dims: [2], data: new Float64Array([1, 2.5]) } }), 'value: tensor = float[2] {1,2.5}');
  assert.equal(formatAttribute('value', { kind: 'tensor', value: { dtype: 'float32', dims: [100], data: new Float64Array(100) } }), 'value: tensor = float[100] {...}');
});
