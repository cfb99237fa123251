// evaluate(): batching, precisions, keeping intermediate values, several inputs, constant outputs, wrong sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../server/ir/forward';
import { encodeModel, attr, specFromGraph, type ModelSpec } from '../../server/onnx/encode';
import { loadModelBytes } from '../../server/onnx/load';
import { OpError } from '../../server/ir/ops/types';
import { tinyMlpSpec } from '../helpers/onnx-models';

const load = (spec: ModelSpec) => loadModelBytes(encodeModel(spec), 'model.onnx');

/** Plain reference for tinyMlpSpec: y = W2·relu(W1·x + b1) + b2. */
function mlpReference(spec: ModelSpec, x: number[]): { h: number[]; y: number[] } {
  const [W1, b1, W2, b2] = spec.initializers!.map((t) => Array.from(t.data));
  const h = [0, 1, 2].map((i) => b1[i] + [0, 1, 2, 3].reduce((s, j) => s + W1[i * 4 + j] * x[j], 0));
  const a = h.map((v) => Math.max(0, v));
  const y = [0, 1].map((i) => b2[i] + [0, 1, 2].reduce((s, j) => s + W2[i * 3 + j] * a[j], 0));
  return { h, y };
}

test('a batch of samples gives each sample its own result, in both precisions', () => {
  const spec = tinyMlpSpec();
  const m = load(spec);
  const samples = [[1, 0, 0, 0], [0.5, -1, 2, 0.25], [-3, 1, 1, -1]];
  const x = Float64Array.from(samples.flat());
  const y64 = evaluate(m.graph, x, 3, 'float64').get('y')!;
  const y32 = evaluate(m.graph, Float32Array.from(x), 3, 'float32').get('y')!;
  assert.ok(y64 instanceof Float64Array);
  assert.ok(y32 instanceof Float32Array);
  samples.forEach((s, b) => {
    const ref = mlpReference(spec, s).y;
    for (let i = 0; i < 2; i++) {
      assert.ok(Math.abs(y64[b * 2 + i] - ref[i]) < 1e-12, `float64 sample ${b}`);
      assert.ok(Math.abs(y32[b * 2 + i] - ref[i]) < 1e-5, `float32 sample ${b}`);
    }
  });
});

test("keep: 'all' returns intermediate activations (pre-activations for soundness sampling)", () => {
  const spec = tinyMlpSpec();
  const m = load(spec);
  const x = [0.5, -1, 2, 0.25];
  const all = evaluate(m.graph, Float64Array.from(x), 1, 'float64', { keep: 'all' });
  assert.deepEqual([...all.keys()].sort(), ['a', 'h', 'x', 'y']);
  const ref = mlpReference(spec, x);
  ref.h.forEach((v, i) => assert.ok(Math.abs(all.get('h')![i] - v) < 1e-12));
  assert.deepEqual([...all.get('a')!], [...all.get('h')!].map((v) => Math.max(0, v)));
  assert.deepEqual([...evaluate(m.graph, Float64Array.from(x), 1, 'float64').keys()], ['y']);
});

test('several graph inputs are given as a Map by name', () => {
  const m = load({
    inputs: [{ name: 'a', shape: [1, 3] }, { name: 'b', shape: [1, 3] }],
    outputs: [{ name: 'y' }],
    nodes: [{ opType: 'Sub', inputs: ['a', 'b'], outputs: ['y'] }],
  });
  const y = evaluate(m.graph, new Map([['a', Float64Array.of(1, 2, 3, 4, 5, 6)], ['b', Float64Array.of(1, 1, 1, 2, 2, 2)]]), 2, 'float64').get('y')!;
  assert.deepEqual([...y], [0, 1, 2, 2, 3, 4]);
  assert.throws(() => evaluate(m.graph, Float64Array.of(1, 2, 3), 1, 'float64'), /2 inputs \(a, b\); pass a Map/);
});

test('an output that folds to a constant is repeated for every sample', () => {
  const m = load({
    inputs: [{ name: 'x', shape: [1, 2] }],
    outputs: [{ name: 'y' }, { name: 'k' }],
    nodes: [
      { opType: 'Relu', inputs: ['x'], outputs: ['y'] },
      { opType: 'Constant', inputs: [], outputs: ['k'], attrs: { value_floats: attr.floats([7, 8]) } },
    ],
  });
  const out = evaluate(m.graph, Float32Array.of(-1, 1, 2, -2), 2, 'float32');
  assert.deepEqual([...out.get('k')!], [7, 8, 7, 8]);
  assert.deepEqual([...out.get('y')!], [0, 1, 2, 0]);
});

test('a wrongly sized input is an error naming the input and the sizes', () => {
  const m = load(tinyMlpSpec());
  assert.throws(() => evaluate(m.graph, new Float64Array(7), 2, 'float64'), (err: unknown) => err instanceof OpError && /input 'x' needs 2 × 4 = 8 values/.test(err.message));
});

test('specFromGraph re-encodes a loaded graph that loads and evaluates the same', () => {
  const m = load(tinyMlpSpec());
  const again = loadModelBytes(encodeModel(specFromGraph(m.graph)), 'again.onnx');
  const x = Float64Array.of(0.5, -1, 2, 0.25);
  assert.deepEqual([...evaluate(again.graph, x, 1, 'float64').get('y')!], [...evaluate(m.graph, x, 1, 'float64').get('y')!]);
});
