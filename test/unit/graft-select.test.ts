// Neuron scoring and selection on hand-made networks: magnitude, instability (IBP and CROWN), mixed; global across layers.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Graph, IRNode, IRValue, Tensor } from '../../server/ir/graph';
import { TrainableNetwork } from '../../server/graft/network';
import { instability, significance, type Samples } from '../../server/graft/score';
import { rank01, selectNeurons } from '../../server/graft/select';
import { initBackend } from '../../server/tensor/backend';

before(async () => {
  await initBackend('cpu', { log: () => undefined });
});

/**
 * 2 inputs → ReLU layer 1 (4 neurons) → ReLU layer 2 (2 neurons) → 2 outputs, with
 * layer 1: z = [x0, 2·x1, 5, −1], layer 2: z = [relu(x0) − 0.3, 0.1·relu(5) = 0.5].
 */
function handMadeGraph(): Graph {
  const values = new Map<string, IRValue>();
  const v = (name: string, n: number): string => {
    values.set(name, { name, dtype: 'float32', shape: [1, n] });
    return name;
  };
  const constants = new Map<string, Tensor>();
  const c = (name: string, dims: number[], data: number[]): string => {
    constants.set(name, { dtype: 'float32', dims, data: Float64Array.from(data) });
    return name;
  };
  const gemm = (name: string, x: string, w: string, b: string, out: string): IRNode =>
    ({ name, opType: 'Gemm', domain: '', inputs: [x, w, b], outputs: [out], attrs: { transB: { kind: 'int', value: 1 } } });
  const relu = (name: string, x: string, out: string): IRNode => ({ name, opType: 'Relu', domain: '', inputs: [x], outputs: [out], attrs: {} });
  v('x', 2); v('z1', 4); v('h1', 4); v('z2', 2); v('h2', 2); v('y', 2);
  c('w1', [4, 2], [1, 0, 0, 2, 0, 0, 0, 0]);
  c('b1', [4], [0, 0, 5, -1]);
  c('w2', [2, 4], [1, 0, 0, 0, 0, 0, 0.1, 0]);
  c('b2', [2], [-0.3, 0]);
  c('w3', [2, 2], [1, -1, -1, 1]);
  c('b3', [2], [0, 0]);
  return {
    name: 'hand', opset: 13, inputs: [values.get('x')!], outputs: [values.get('y')!], constants, values,
    nodes: [gemm('fc1', 'x', 'w1', 'b1', 'z1'), relu('relu1', 'z1', 'h1'), gemm('fc2', 'h1', 'w2', 'b2', 'z2'), relu('relu2', 'z2', 'h2'), gemm('fc3', 'h2', 'w3', 'b3', 'y')],
  };
}

const samples: Samples = { inputs: Float32Array.from([0.5, 0.01, 0.3, 0.02, 0.02, 0.5]), labels: Int32Array.from([0, 0, 1]), count: 3 };

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) < tol, `[${i}] ${actual[i]} ≠ ${e}`));
}

test('significance is the mean |pre-activation| per neuron; the gradient variant is 0 for a dead neuron', async () => {
  const net = new TrainableNetwork(handMadeGraph());
  try {
    const s = await significance(net, samples, 'magnitude');
    close(s[0], [(0.5 + 0.3 + 0.02) / 3, (0.02 + 0.04 + 1) / 3, 5, 1]);
    close(s[1], [(0.2 + 0 + 0.28) / 3, 0.5]);
    const g = await significance(net, samples, 'gradient');
    assert.equal(g[0][3], 0, 'the always-inactive neuron has no gradient');
    assert.ok(g[0][0] > 0 && g[1][0] >= 0);
  } finally {
    net.dispose();
  }
});

test('instability counts l < 0 < u per neuron over the samples, with IBP and with CROWN', async () => {
  const net = new TrainableNetwork(handMadeGraph());
  try {
    for (const method of ['ibp', 'crown'] as const) {
      const u = await instability(net, samples, { eps: 0.05, method });
      close(u[0], [1, 2, 0, 0]);
      close(u[1], [1, 0]);
    }
    // A grafted neuron is never unstable.
    net.setGraft(0, Uint8Array.from([0, 1, 0, 0]));
    close((await instability(net, samples, { eps: 0.05, method: 'crown' }))[0], [1, 0, 0, 0]);
  } finally {
    net.dispose();
  }
});

test('each criterion picks the expected neurons of the hand-made network', async () => {
  const net = new TrainableNetwork(handMadeGraph());
  try {
    const s = await significance(net, samples);
    const u = await instability(net, samples, { eps: 0.05, method: 'ibp' });
    const pick = (criterion: 'magnitude' | 'instability' | 'mixed', ratio: number) =>
      selectNeurons(s, u, { ratio, criterion }).masks.map((m) => Array.from(m));
    // 6 neurons; ratio 1/3 → 2 chosen.
    assert.deepEqual(pick('magnitude', 1 / 3), [[1, 0, 0, 0], [1, 0]]);
    // Most unstable first (layer 1 neuron 1: 2 samples); the tie at 1 sample goes to the less significant neuron.
    assert.deepEqual(pick('instability', 1 / 3), [[0, 1, 0, 0], [1, 0]]);
    assert.deepEqual(pick('mixed', 1 / 3), [[0, 1, 0, 0], [1, 0]]);
    assert.deepEqual(pick('mixed', 0), [[0, 0, 0, 0], [0, 0]]);
    assert.deepEqual(pick('magnitude', 1), [[1, 1, 1, 1], [1, 1]]);
  } finally {
    net.dispose();
  }
});

test('mixed = rank01(u) − rank01(s) differs from both pure criteria', () => {
  const s = [Float64Array.from([1, 2, 3, 4])];
  const u = [Float64Array.from([0, 2, 1, 3])];
  const one = (criterion: 'magnitude' | 'instability' | 'mixed') => Array.from(selectNeurons(s, u, { ratio: 0.25, criterion }).masks[0]);
  assert.deepEqual(one('magnitude'), [1, 0, 0, 0]);
  assert.deepEqual(one('instability'), [0, 0, 0, 1]);
  assert.deepEqual(one('mixed'), [0, 1, 0, 0]);
  close(rank01([5, 1, 5, 3]), [5 / 6, 0, 5 / 6, 1 / 3]);
});

test('selection is global across layers, not per layer', () => {
  const s = [Float64Array.from([0.1, 0.2, 0.3]), Float64Array.from([5, 6, 7])];
  const sel = selectNeurons(s, undefined, { ratio: 0.5, criterion: 'magnitude' });
  assert.equal(sel.total, 3);
  assert.deepEqual(sel.perLayer.map((l) => l.grafted), [3, 0]);
  assert.throws(() => selectNeurons(s, undefined, { ratio: 1.5 }), /outside \[0, 1\]/);
});
