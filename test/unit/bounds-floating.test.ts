// Certified verdicts survive floating point: exact cancellations never produce a positive lower bound, and every
// margin the bounds certify holds at sampled points evaluated in float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attr, encodeModel, type ModelSpec } from '../../server/onnx/encode';
import { loadModelBytes, loadModelFile } from '../../server/onnx/load';
import { evaluate } from '../../server/ir/forward';
import { computeBounds, linfBall, marginSpec } from '../../server/bounds/index';
import { allowance } from '../../server/bounds/float';
import path from 'node:path';
import { lirpaDir } from './bounds-lirpa-helpers';
import { rng, testSeed } from '../helpers/onnx-models';

/** y = W2·relu(W1·x + b) with two identical hidden rows and W2 = [s, −s]: y ≡ 0 whatever x is. */
function cancellingNet(scale: number, w: number[]): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1, 3], dtype: 'float64' }],
    outputs: [{ name: 'y', shape: [1, 1], dtype: 'float64' }],
    initializers: [
      { name: 'w1', dims: [2, 3], dtype: 'float64', data: [...w, ...w] },
      { name: 'b1', dims: [2], dtype: 'float64', data: [0.1, 0.1] },
      { name: 'w2', dims: [1, 2], dtype: 'float64', data: [scale, -scale] },
      { name: 'b2', dims: [1], dtype: 'float64', data: [1e-9] },
      { name: 'nb2', dims: [1], dtype: 'float64', data: [-1e-9] },
    ],
    nodes: [
      { opType: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'], attrs: { transB: attr.int(1) } },
      { opType: 'Relu', inputs: ['h'], outputs: ['r'] },
      { opType: 'Gemm', inputs: ['r', 'w2', 'b2'], outputs: ['g'], attrs: { transB: attr.int(1) } },
      { opType: 'Add', inputs: ['g', 'nb2'], outputs: ['y'] },
    ],
  };
}

test('an output that is exactly 0 is never bounded away from 0, however large the cancelling weights', () => {
  for (const scale of [1, 1e6, 1e12]) {
    const g = loadModelBytes(encodeModel(cancellingNet(scale, [0.1, 1 / 3, -0.7])), 'cancel.onnx').graph;
    for (const eps of [1e-9, 0.3]) {
      for (const method of ['ibp', 'crown', 'alpha-crown'] as const) {
        const r = computeBounds(g, linfBall([0.3, 1 / 7, 0.9], eps), { method });
        assert.ok(r.output.lower[0] <= 0 && r.output.upper[0] >= 0, `${method} scale ${scale} eps ${eps}: [${r.output.lower[0]}, ${r.output.upper[0]}] excludes 0`);
      }
    }
  }
});

test('the rounding allowance is tiny relative to the bound but grows with the summed magnitudes', () => {
  assert.ok(allowance(5, 0) > 0 && allowance(5, 0) < 1e-10);
  assert.ok(allowance(0, 1e6) > allowance(0, 1));
  assert.ok(allowance(1, 100) < 1e-8);
});

test('every margin certified on a reference model holds at float64 samples of the box', () => {
  const seed = testSeed('bounds-floating');
  const next = rng(seed);
  const graph = loadModelFile(path.join(lirpaDir, 'models', 'fc_small.onnx')).graph;
  let certified = 0;
  for (let k = 0; k < 6; k++) {
    const x0 = Float64Array.from({ length: 784 }, () => next());
    const y0 = evaluate(graph, x0, 1, 'float64').values().next().value as Float64Array;
    const label = y0.indexOf(Math.max(...y0));
    const spec = marginSpec(10, label);
    const region = linfBall(x0, 0.002 + 0.02 * next(), [0, 1]);
    const r = computeBounds(graph, region, { method: 'crown', spec });
    const count = 200;
    const xs = new Float64Array(count * 784);
    for (let s = 0; s < count; s++)
      for (let i = 0; i < 784; i++) xs[s * 784 + i] = next() < 0.5 ? region.lower[i] : region.upper[i];
    const ys = evaluate(graph, xs, count, 'float64').values().next().value as Float64Array;
    spec.others.forEach((j, m) => {
      if (r.spec!.lower[m] <= 0) return;
      certified++;
      for (let s = 0; s < count; s++) assert.ok(ys[s * 10 + label] - ys[s * 10 + j] >= r.spec!.lower[m], `margin ${label}-${j} violated at sample ${s}`);
    });
  }
  console.log(`# ${certified} certified margins checked`);
});
