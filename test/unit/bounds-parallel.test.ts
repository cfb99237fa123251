// CROWN's backward rows on both cores (server/bounds/parallel.ts) give exactly the one-thread bounds, and the
// helper thread is really used: a conv network made here and the shipped MNIST model, fresh input per run.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModelBytes, loadModelFile } from '../../server/onnx/load';
import { encodeModel } from '../../server/onnx/encode';
import { type BoundGraph, buildBoundGraph, computeBounds, linfBall, marginSpec } from '../../server/bounds/index';
import { boundsHelperStats, stopBoundsHelper } from '../../server/bounds/parallel';
import { randomTensor, rng, testSeed } from '../helpers/onnx-models';

after(() => stopBoundsHelper());

/** Conv(1→8, 3×3, stride 2) → ReLU → Conv(8→16, 3×3, stride 2) → ReLU → Flatten → Gemm(100) → ReLU → Gemm(10) on 1×28×28. */
function convNetwork(seed: number): BoundGraph {
  const next = rng(seed);
  const conv = (name: string, input: string, output: string, strides: number) => ({
    opType: 'Conv', inputs: [input, `${name}W`, `${name}B`], outputs: [output], name,
    attrs: { strides: { kind: 'ints' as const, value: [strides, strides] }, pads: { kind: 'ints' as const, value: [1, 1, 1, 1] } },
  });
  const bytes = encodeModel({
    inputs: [{ name: 'x', shape: [1, 1, 28, 28] }],
    outputs: [{ name: 'y', shape: [1, 10] }],
    nodes: [
      conv('c1', 'x', 'h1', 2), { opType: 'Relu', inputs: ['h1'], outputs: ['a1'], name: 'r1' },
      conv('c2', 'a1', 'h2', 2), { opType: 'Relu', inputs: ['h2'], outputs: ['a2'], name: 'r2' },
      { opType: 'Flatten', inputs: ['a2'], outputs: ['f'], name: 'flat' },
      { opType: 'Gemm', inputs: ['f', 'g1W', 'g1B'], outputs: ['h3'], name: 'g1', attrs: { transB: { kind: 'int' as const, value: 1 } } },
      { opType: 'Relu', inputs: ['h3'], outputs: ['a3'], name: 'r3' },
      { opType: 'Gemm', inputs: ['a3', 'g2W', 'g2B'], outputs: ['y'], name: 'g2', attrs: { transB: { kind: 'int' as const, value: 1 } } },
    ],
    initializers: [
      randomTensor('c1W', [8, 1, 3, 3], next, 0.6), randomTensor('c1B', [8], next, 0.1),
      randomTensor('c2W', [16, 8, 3, 3], next, 0.25), randomTensor('c2B', [16], next, 0.1),
      randomTensor('g1W', [100, 784], next, 0.06), randomTensor('g1B', [100], next, 0.1),
      randomTensor('g2W', [10, 100], next, 0.2), randomTensor('g2B', [10], next, 0.1),
    ],
  });
  return buildBoundGraph(loadModelBytes(bytes, 'conv.onnx').graph);
}

function flat(result: ReturnType<typeof computeBounds>): number[] {
  return [
    ...result.output.lower, ...result.output.upper,
    ...(result.spec ? [...result.spec.lower, ...result.spec.upper] : []),
    ...result.layers.flatMap((l) => [...l.lower, ...l.upper]),
  ];
}

function compare(label: string, bg: BoundGraph, eps: number, seed: number): void {
  const next = rng(seed);
  const region = linfBall(Float64Array.from({ length: bg.inputSize }, () => next()), eps, [0, 1]);
  const spec = marginSpec(bg.outputSize, seed % bg.outputSize);
  const run = () => [flat(computeBounds(bg, region, { method: 'crown' })), flat(computeBounds(bg, region, { method: 'crown', spec }))];
  process.env.GRAFTCERT_BOUND_THREADS = '1';
  let serial: number[][];
  try {
    serial = run();
  } finally {
    delete process.env.GRAFTCERT_BOUND_THREADS;
  }
  // The helper is used once a plan has served a few passes.
  for (let i = 0; i < 6; i++) run();
  const before = boundsHelperStats();
  const parallel = run();
  const afterStats = boundsHelperStats();
  assert.ok(afterStats.handoffs > before.handoffs, `${label}: the helper thread took part (${JSON.stringify(afterStats)})`);
  assert.equal(afterStats.fallbacks, 0, `${label}: the helper never failed`);
  for (let r = 0; r < 2; r++) {
    assert.equal(parallel[r].length, serial[r].length);
    for (let i = 0; i < serial[r].length; i++) {
      assert.ok(Object.is(parallel[r][i], serial[r][i]), `${label}: bound ${i} differs: ${parallel[r][i]} (two threads) vs ${serial[r][i]} (one)`);
    }
  }
}

test('two threads give exactly the one-thread CROWN bounds on a conv network (outputs, margins, every layer)', () => {
  const seed = testSeed('bounds-parallel conv');
  compare('conv', convNetwork(seed), 0.05, seed);
});

test('two threads give exactly the one-thread CROWN bounds on the shipped MNIST MLP', () => {
  const seed = testSeed('bounds-parallel mlp');
  const bg = buildBoundGraph(loadModelFile(join(__dirname, '..', '..', 'server', 'data', 'models', 'mnist_mlp_adv.onnx')).graph);
  compare('mnist_mlp_adv', bg, 0.05, seed);
});
