// The trainable tfjs network: same logits as the IR's float64 forward pass, grafted activations, training, FGSM-RS.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Graph, IRNode, IRValue, Tensor } from '../../server/ir/graph';
import { evaluate } from '../../server/ir/forward';
import { TrainableNetwork, mlpGraph } from '../../server/graft/network';
import { fgsmRandomStart, pgd } from '../../server/graft/adversarial';
import { initBackend } from '../../server/tensor/backend';
import { crossEntropy, seededRandom } from '../../server/tensor/tfjs';

/** A hand-built Graph: values by name with shapes, constants with values. */
function graphOf(
  input: IRValue,
  output: IRValue,
  nodes: (Omit<IRNode, 'domain' | 'attrs' | 'name'> & Partial<Pick<IRNode, 'attrs' | 'name'>>)[],
  constants: Record<string, { dims: number[]; data: number[] | Float64Array }>,
  shapes: Record<string, number[]>,
): Graph {
  const values = new Map<string, IRValue>([[input.name, input], [output.name, output]]);
  for (const [name, shape] of Object.entries(shapes)) values.set(name, { name, dtype: 'float32', shape });
  const consts = new Map<string, Tensor>();
  for (const [name, c] of Object.entries(constants)) consts.set(name, { dtype: 'float32', dims: c.dims, data: Float64Array.from(c.data) });
  return {
    name: 'test', opset: 13, inputs: [input], outputs: [output], constants: consts, values,
    nodes: nodes.map((n, i) => ({ name: n.name ?? `${n.opType}_${i}`, domain: '', attrs: n.attrs ?? {}, ...n })),
  };
}

function randomArray(n: number, rng: () => number, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => Math.fround((rng() * 2 - 1) * scale));
}

/** A small CNN over every op the network supports: normalisation, Conv with asymmetric pads, BN, Gemm, MatMul + Add. */
function cnnGraph(): Graph {
  const rng = seededRandom(7);
  return graphOf(
    { name: 'x', dtype: 'float32', shape: [1, 2, 5, 5] },
    { name: 'y', dtype: 'float32', shape: [1, 4] },
    [
      { opType: 'Sub', inputs: ['x', 'mean'], outputs: ['centred'] },
      { opType: 'Div', inputs: ['centred', 'std'], outputs: ['normed'] },
      {
        opType: 'Conv', inputs: ['normed', 'convW', 'convB'], outputs: ['conv'],
        attrs: { strides: { kind: 'ints', value: [2, 1] }, pads: { kind: 'ints', value: [1, 0, 0, 1] } },
      },
      { opType: 'BatchNormalization', inputs: ['conv', 'bnScale', 'bnBias', 'bnMean', 'bnVar'], outputs: ['bn'] },
      { opType: 'Relu', inputs: ['bn'], outputs: ['r1'] },
      { opType: 'Flatten', inputs: ['r1'], outputs: ['flat'] },
      { opType: 'Gemm', inputs: ['flat', 'fcW', 'fcB'], outputs: ['fc'], attrs: { alpha: { kind: 'float', value: 0.5 } } },
      { opType: 'Relu', inputs: ['fc'], outputs: ['r2'] },
      { opType: 'MatMul', inputs: ['r2', 'mmW'], outputs: ['mm'] },
      { opType: 'Add', inputs: ['mm', 'mmB'], outputs: ['y'] },
    ],
    {
      mean: { dims: [1, 2, 1, 1], data: [0.1, 0.2] },
      std: { dims: [1, 2, 1, 1], data: [0.5, 0.25] },
      convW: { dims: [3, 2, 3, 3], data: randomArray(54, rng) },
      convB: { dims: [3], data: randomArray(3, rng) },
      bnScale: { dims: [3], data: [1.5, 0.5, -1] },
      bnBias: { dims: [3], data: [0.1, -0.2, 0.3] },
      bnMean: { dims: [3], data: [0.2, -0.1, 0.05] },
      bnVar: { dims: [3], data: [2, 0.5, 1] },
      fcW: { dims: [24, 6], data: randomArray(144, rng) },
      fcB: { dims: [6], data: randomArray(6, rng) },
      mmW: { dims: [6, 4], data: randomArray(24, rng) },
      mmB: { dims: [4], data: randomArray(4, rng) },
    },
    { centred: [1, 2, 5, 5], normed: [1, 2, 5, 5], conv: [1, 3, 2, 4], bn: [1, 3, 2, 4], r1: [1, 3, 2, 4], flat: [1, 24], fc: [1, 6], r2: [1, 6], mm: [1, 4] },
  );
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * scale, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('TrainableNetwork', () => {
  before(async () => {
    await initBackend('auto', { log: () => {} });
  });

  test('a 2-2-2 MLP gives the hand-computed logits', () => {
    const graph = graphOf(
      { name: 'x', dtype: 'float32', shape: [1, 2] },
      { name: 'y', dtype: 'float32', shape: [1, 2] },
      [
        { opType: 'Gemm', inputs: ['x', 'W1', 'b1'], outputs: ['h'], attrs: { transB: { kind: 'int', value: 1 } } },
        { opType: 'Relu', inputs: ['h'], outputs: ['r'] },
        { opType: 'Gemm', inputs: ['r', 'W2', 'b2'], outputs: ['y'] },
      ],
      { W1: { dims: [2, 2], data: [1, -2, 3, 0.5] }, b1: { dims: [2], data: [0.5, -1] }, W2: { dims: [2, 2], data: [2, -1, 1, 4] }, b2: { dims: [2], data: [0, 1] } },
      { h: [1, 2], r: [1, 2] },
    );
    const net = new TrainableNetwork(graph);
    // x = (1, 1): h = (1 − 2 + 0.5, 3 + 0.5 − 1) = (−0.5, 2.5), r = (0, 2.5), y = r·W2 + b2 = (2.5, 11).
    // x = (2, −1): h = (2 + 2 + 0.5, 6 − 0.5 − 1) = (4.5, 4.5), y = (9 + 4.5, −4.5 + 18 + 1) = (13.5, 14.5).
    const y = tf.tidy(() => net.logits(tf.tensor2d([[1, 1], [2, -1]])).arraySync());
    assert.deepEqual(y, [[2.5, 11], [13.5, 14.5]]);
    assert.equal(net.reluLayers.length, 1);
    assert.equal(net.weights().length, 4);
    net.dispose();
  });

  test('a CNN with normalisation, Conv, BatchNormalization, Gemm and MatMul+Add matches the float64 forward pass', () => {
    const graph = cnnGraph();
    const net = new TrainableNetwork(graph);
    const batch = 3;
    const x = randomArray(batch * 50, seededRandom(3));
    const expected = evaluate(graph, x, batch, 'float64').get('y')!;
    const actual = tf.tidy(() => net.logits(tf.tensor(Float32Array.from(x), [batch, 2, 5, 5])).dataSync());
    assertClose(actual, expected, 1e-4, 'logits');
    assert.deepEqual(net.reluLayers.map((l) => [l.node, l.size]), [['Relu_4', 24], ['Relu_7', 6]]);
    // Trainable: Conv W and B, BN scale and shift, Gemm W and C, the MatMul weight and the bias added after it;
    // the normalisation constants and BN statistics stay fixed.
    assert.equal(net.weights().length, 8);
    net.dispose();
  });

  test('a depthwise Conv (group = channels, multiplier 2, dilation 2) matches the float64 forward pass', async () => {
    const rng = seededRandom(9);
    const graph = graphOf(
      { name: 'x', dtype: 'float32', shape: [1, 2, 6, 6] },
      { name: 'y', dtype: 'float32', shape: [1, 4, 6, 5] },
      [{
        opType: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['y'],
        attrs: { group: { kind: 'int', value: 2 }, dilations: { kind: 'ints', value: [2, 2] }, pads: { kind: 'ints', value: [1, 1, 1, 0] } },
      }],
      { W: { dims: [4, 1, 2, 2], data: randomArray(16, rng) }, B: { dims: [4], data: [0.1, 0.2, 0.3, 0.4] } },
      {},
    );
    const net = new TrainableNetwork(graph);
    const x = randomArray(2 * 72, seededRandom(10));
    const expected = evaluate(graph, x, 2, 'float64').get('y')!;
    const actual = tf.tidy(() => net.logits(tf.tensor(Float32Array.from(x), [2, 2, 6, 6])).dataSync());
    assertClose(actual, expected, 1e-5, 'depthwise');
    net.dispose();
  });

  test('convolution weight gradients on wasm (im2col path) equal the native ones of the cpu backend', async () => {
    const depthwise = graphOf(
      { name: 'x', dtype: 'float32', shape: [1, 2, 5, 5] },
      { name: 'y', dtype: 'float32', shape: [1, 4, 3, 3] },
      [{ opType: 'Conv', inputs: ['x', 'W'], outputs: ['y'], attrs: { group: { kind: 'int', value: 2 }, strides: { kind: 'ints', value: [2, 2] }, pads: { kind: 'ints', value: [1, 1, 1, 1] } } }],
      { W: { dims: [4, 1, 3, 3], data: randomArray(36, seededRandom(12)) } },
      {},
    );
    const gradientsOn = async (backend: 'cpu' | 'wasm', graph: Graph): Promise<Float32Array[]> => {
      await initBackend(backend, { log: () => {} });
      const net = new TrainableNetwork(graph);
      const perSample = graph.inputs[0].shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(Float32Array.from(randomArray(3 * perSample, seededRandom(13))), [3, ...graph.inputs[0].shape.slice(1)]);
      const { grads } = tf.variableGrads(() => net.logits(x).square().sum() as tf.Scalar, net.weights());
      const out = net.weights().map((w) => Float32Array.from(grads[w.name].dataSync()));
      tf.dispose([x, ...Object.values(grads)]);
      net.dispose();
      return out;
    };
    try {
      for (const graph of [cnnGraph(), depthwise]) {
        const reference = await gradientsOn('cpu', graph);
        const im2col = await gradientsOn('wasm', graph);
        assert.equal(im2col.length, reference.length);
        reference.forEach((g, i) => assertClose(im2col[i], g, 1e-3, `weight ${i} of ${graph.nodes.length}-node graph`));
      }
    } finally {
      await initBackend('wasm', { log: () => {} });
    }
  });

  test('toGraph exports trained weights that the float64 forward pass reproduces', async () => {
    const graph = cnnGraph();
    const net = new TrainableNetwork(graph);
    for (const w of net.weights()) w.assign(tf.tidy(() => w.mul(1.1)));
    const x = randomArray(2 * 50, seededRandom(5));
    const exported = (await net.toGraph());
    const expected = evaluate(exported, x, 2, 'float64').get('y')!;
    const before = evaluate(graph, x, 2, 'float64').get('y')!;
    const actual = tf.tidy(() => net.logits(tf.tensor(Float32Array.from(x), [2, 2, 5, 5])).dataSync());
    assertClose(actual, expected, 1e-4, 'exported logits');
    assert.ok(Math.abs(expected[0] - before[0]) > 1e-3, 'the export carries the changed weights');
    net.dispose();
  });

  test('a grafted layer is a·x+b where the mask is 1 and relu where it is 0', async () => {
    // Identity weights make the ReLU input equal the network input.
    const graph = graphOf(
      { name: 'x', dtype: 'float32', shape: [1, 4] },
      { name: 'y', dtype: 'float32', shape: [1, 4] },
      [
        { opType: 'Gemm', inputs: ['x', 'I', 'z'], outputs: ['h'] },
        { opType: 'Relu', inputs: ['h'], outputs: ['y'] },
      ],
      { I: { dims: [4, 4], data: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] }, z: { dims: [4], data: [0, 0, 0, 0] } },
      { h: [1, 4] },
    );
    const net = new TrainableNetwork(graph);
    const xs = [[-2, -0.5, 0.5, 3], [1, -1, -3, 0]];
    const run = (): number[][] => tf.tidy(() => net.logits(tf.tensor2d(xs)).arraySync() as number[][]);
    const close = (a: number[][], b: number[][]): void => a.forEach((row, i) => assertClose(row, b[i], 1e-6, `row ${i}`));

    net.setGraft(0, new Uint8Array([1, 1, 1, 1]));
    close(run(), xs.map((r) => r.map((v) => 0.4 * v)));
    net.setGraft(0, new Uint8Array([1, 1, 1, 1]), [0.5, -1, 2, 0], [0.1, 0.2, -0.3, 1]);
    close(run(), xs.map((r) => r.map((v, j) => [0.5, -1, 2, 0][j] * v + [0.1, 0.2, -0.3, 1][j])));
    net.setGraft(0, new Uint8Array(4), 0.7, 0.2);
    close(run(), xs.map((r) => r.map((v) => Math.max(0, v))));
    net.setGraft(0, new Uint8Array([1, 0, 1, 0]), 0.5, 0.25);
    close(run(), xs.map((r) => r.map((v, j) => (j % 2 === 0 ? 0.5 * v + 0.25 : Math.max(0, v)))));
    assert.equal(net.graftParams().length, 2);
    assert.deepEqual(Array.from((await net.graft(0))!.mask), [1, 0, 1, 0]);

    // The standard-ONNX export of the graft computes the same function in the IR's forward pass.
    const exported = evaluate((await net.toGraph()), Float64Array.from(xs.flat()), 2, 'float64').get('y')!;
    assertClose(exported, run().flat(), 1e-6, 'exported graft');

    // The GraftedRelu form (what the bounds engine reads) rebuilds the same grafted network.
    const nodeForm = (await net.toGraph('grafted-relu'));
    assert.deepEqual(nodeForm.nodes.map((n) => n.opType), ['Gemm', 'GraftedRelu']);
    const rebuilt = new TrainableNetwork(nodeForm);
    assert.deepEqual((await rebuilt.graft(0)), (await net.graft(0)));
    close(tf.tidy(() => rebuilt.logits(tf.tensor2d(xs)).arraySync() as number[][]), run());
    assert.deepEqual((await rebuilt.toGraph()).nodes.map((n) => n.opType), ['Gemm', 'Mul', 'Relu', 'Mul', 'Add', 'Add']);
    rebuilt.clearGraft(0);
    assert.deepEqual((await rebuilt.toGraph()).nodes.map((n) => n.opType), ['Gemm', 'Relu'], 'an ungrafted GraftedRelu exports as Relu');
    rebuilt.dispose();

    net.clearGraft(0);
    close(run(), xs.map((r) => r.map((v) => Math.max(0, v))));
    assert.equal(net.graftParams().length, 0);
    assert.throws(() => net.setGraft(0, new Uint8Array(3)), /has 3 entries, the layer has 4/);
    assert.throws(() => net.setGraft(1, new Uint8Array(4)), /ReLU layer 1 does not exist/);
    net.dispose();
  });

  test('unsupported ops are reported together', () => {
    const graph = graphOf(
      { name: 'x', dtype: 'float32', shape: [1, 4] },
      { name: 'y', dtype: 'float32', shape: [1, 4] },
      [
        { opType: 'Sigmoid', inputs: ['x'], outputs: ['s'] },
        { opType: 'Softmax', inputs: ['s'], outputs: ['y'] },
      ],
      {},
      { s: [1, 4] },
    );
    assert.throws(() => new TrainableNetwork(graph), /does not support: Sigmoid, Softmax/);
  });

  test('a few Adam steps on a tiny set reduce the loss, for weights and graft parameters alike', async () => {
    const net = TrainableNetwork.mlp([8, 16, 16, 3], { seed: 1 });
    const rng = seededRandom(11);
    const x = tf.tensor2d(Array.from({ length: 32 }, () => Array.from({ length: 8 }, () => rng())));
    const y = tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 3), 'int32');
    net.setGraft(1, Uint8Array.from({ length: 16 }, (_, i) => i % 2));
    const loss = (): number => tf.tidy(() => crossEntropy(net.logits(x), y).dataSync()[0]);
    const start = loss();
    const slopesBefore = (await net.graft(1))!.slope;
    const weightOpt = tf.train.adam(1e-2);
    const graftOpt = tf.train.adam(1e-2);
    for (let i = 0; i < 30; i++) {
      weightOpt.minimize(() => crossEntropy(net.logits(x), y), false, net.weights());
      graftOpt.minimize(() => crossEntropy(net.logits(x), y), false, net.graftParams());
    }
    const end = loss();
    assert.ok(end < 0.8 * start, `loss ${start} → ${end}`);
    const slopesAfter = (await net.graft(1))!.slope;
    assert.ok(slopesAfter.some((a, i) => i % 2 === 1 && Math.abs(a - slopesBefore[i]) > 1e-3), 'grafted slopes train');
    assert.ok(slopesAfter.every((a, i) => i % 2 === 1 || a === slopesBefore[i]), 'ungrafted slopes get no gradient');
    tf.dispose([x, y]);
    weightOpt.dispose();
    graftOpt.dispose();
    net.dispose();
  });

  test('mlpGraph builds Flatten → Gemm(transB=1) → Relu … → Gemm with the requested names and shapes', () => {
    const g = mlpGraph([784, 20, 10], { inputShape: [1, 1, 28, 28], seed: 0 });
    assert.deepEqual(g.nodes.map((n) => n.opType), ['Flatten', 'Gemm', 'Relu', 'Gemm']);
    assert.equal(g.inputs[0].name, 'input');
    assert.deepEqual(g.outputs[0], { name: 'logits', dtype: 'float32', shape: [1, 10] });
    assert.deepEqual(g.constants.get('fc1.weight')!.dims, [20, 784]);
    const again = mlpGraph([784, 20, 10], { inputShape: [1, 1, 28, 28], seed: 0 });
    assert.deepEqual(again.constants.get('fc1.weight')!.data, g.constants.get('fc1.weight')!.data, 'seeded');
  });

  test('no tensors leak from forward passes and disposal', async () => {
    const before = tf.memory().numTensors;
    const net = new TrainableNetwork(cnnGraph());
    net.setGraft(0, new Uint8Array(24).fill(1));
    tf.tidy(() => {
      net.logits(tf.ones([2, 50]));
    });
    net.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('attacks', () => {
  before(async () => {
    await initBackend('auto', { log: () => {} });
  });

  test('FGSM-RS and PGD examples stay inside the ε-ball and the data range', () => {
    const net = TrainableNetwork.mlp([16, 8, 3], { seed: 2 });
    const rng = seededRandom(4);
    // Pixels at 0 and 1 exercise the range clip.
    const x = tf.tensor2d(Array.from({ length: 20 }, (_, i) => Array.from({ length: 16 }, (_, j) => ((i + j) % 5 === 0 ? 0 : (i + j) % 5 === 1 ? 1 : rng()))));
    const y = tf.tensor1d(Array.from({ length: 20 }, (_, i) => i % 3), 'int32');
    const eps = 0.1;
    const fgsm = fgsmRandomStart((t) => net.logits(t), x, y, { eps, seed: 3 });
    const attacked = pgd((t) => net.logits(t), x, y, { eps, steps: 5, seed: 4 });
    const xs = x.dataSync();
    for (const [what, adv] of [['fgsm', fgsm], ['pgd', attacked]] as const) {
      const a = adv.dataSync();
      let moved = 0;
      for (let i = 0; i < a.length; i++) {
        assert.ok(Math.abs(a[i] - xs[i]) <= eps + 1e-6, `${what}: outside the ball at ${i}`);
        assert.ok(a[i] >= 0 && a[i] <= 1, `${what}: outside [0, 1] at ${i}`);
        if (Math.abs(a[i] - xs[i]) > 0.05) moved++;
      }
      assert.ok(moved > a.length / 4, `${what}: the attack moves the inputs (${moved} of ${a.length})`);
    }
    // The attacks raise the loss over the clean inputs.
    const lossAt = (t: tf.Tensor): number => tf.tidy(() => crossEntropy(net.logits(t), y).dataSync()[0]);
    assert.ok(lossAt(fgsm) > lossAt(x), 'FGSM-RS raises the loss');
    assert.ok(lossAt(attacked) > lossAt(x), 'PGD raises the loss');
    tf.dispose([x, y, fgsm, attacked]);
    net.dispose();
  });
});
