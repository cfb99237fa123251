// Export of grafted networks to standard ONNX: onnxruntime = graftcert's grafted forward; the loader recognises the
// pattern (inspect, bounds and certify count grafted neurons, never unstable); grafted bounds are exact.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { buildBoundGraph, computeBounds, linfBall } from '../../server/bounds/index';
import { certifyDataSet } from '../../server/certify/dataset';
import type { DataSet } from '../../server/data/index';
import { TrainableNetwork } from '../../server/graft/network';
import { exportStandardOnnx } from '../../server/graft/pipeline';
import { inspectModelBytes } from '../../server/inspect';
import { evaluate } from '../../server/ir/forward';
import { initBackend } from '../../server/tensor/backend';
import { seededRandom } from '../../server/tensor/tfjs';

const SIZES = [12, 10, 8, 3];
let net: TrainableNetwork;
let bytes: Uint8Array;
const masks = [Uint8Array.from([1, 0, 1, 1, 0, 0, 1, 0, 0, 1]), Uint8Array.from([0, 1, 1, 0, 0, 0, 0, 1])];

before(async () => {
  await initBackend('cpu', { log: () => undefined });
  net = TrainableNetwork.mlp(SIZES, { seed: 3, inputShape: [1, 12] });
  const rng = seededRandom(11);
  masks.forEach((mask, layer) => {
    const n = mask.length;
    // Negative slopes too: the interval of a·x + b swaps its ends.
    net.setGraft(layer, mask, Float32Array.from({ length: n }, () => rng() * 2 - 1), Float32Array.from({ length: n }, () => rng() - 0.5));
  });
  bytes = (await exportStandardOnnx(net, 'grafted.onnx')).bytes;
});

function inputs(count: number, seed: number): Float32Array {
  const rng = seededRandom(seed);
  return Float32Array.from({ length: count * SIZES[0] }, () => rng());
}

test('the exported model uses standard ops only and runs in onnxruntime with graftcert\'s grafted outputs', async () => {
  const session = await ort.InferenceSession.create(bytes);
  const count = 16;
  const x = inputs(count, 5);
  const tfjsLogits = tf.tidy(() => net.logits(tf.tensor2d(x, [count, SIZES[0]])).dataSync());
  const graftedIr = evaluate((await net.toGraph('grafted-relu')), x, count, 'float32').get('logits')!;
  let maxOrt = 0, maxIr = 0;
  for (let i = 0; i < count; i++) {
    const feeds = { input: new ort.Tensor('float32', x.subarray(i * 12, (i + 1) * 12), [1, 12]) };
    const y = (await session.run(feeds)).logits.data as Float32Array;
    for (let k = 0; k < 3; k++) {
      maxOrt = Math.max(maxOrt, Math.abs(y[k] - graftedIr[i * 3 + k]));
      maxIr = Math.max(maxIr, Math.abs(tfjsLogits[i * 3 + k] - graftedIr[i * 3 + k]));
    }
  }
  assert.ok(maxOrt < 1e-5, `onnxruntime differs from the GraftedRelu forward by ${maxOrt}`);
  assert.ok(maxIr < 1e-5, `tfjs differs from the GraftedRelu forward by ${maxIr}`);
});

test('the loader recognises the exported pattern as GraftedRelu nodes; inspect reports the grafted counts', async () => {
  const { model } = await exportStandardOnnx(net, 'grafted.onnx');
  const grafted = model.graph.nodes.filter((n) => n.opType === 'GraftedRelu');
  assert.deepEqual(grafted.map((n) => n.name), ['relu1', 'relu2']);
  assert.ok(!model.graph.nodes.some((n) => n.opType === 'Relu' || n.opType === 'Mul'), 'no pattern node is left');
  assert.match(model.notes.join(' '), /2 grafted ReLU layers/);
  // The recognised graph computes what the file computes.
  const x = inputs(4, 9);
  const recognised = evaluate(model.graph, x, 4, 'float64').get('logits')!;
  const direct = evaluate((await net.toGraph('grafted-relu')), x, 4, 'float64').get('logits')!;
  recognised.forEach((v, i) => assert.ok(Math.abs(v - direct[i]) < 1e-6));
  // And the trainable network reads it back with the same grafts.
  const again = new TrainableNetwork(model.graph);
  assert.deepEqual(Array.from((await again.graft(0))!.mask), Array.from(masks[0]));
  again.dispose();
  const report = inspectModelBytes(bytes, 'grafted.onnx');
  assert.deepEqual(report.reluLayers.map((l) => [l.name, l.size, l.grafted]), [['relu1', 10, 5], ['relu2', 8, 3]]);
});

test('bounds count grafted neurons as grafted, never unstable, and their intervals are exact: width = |a|·input width', async () => {
  const { model } = await exportStandardOnnx(net, 'grafted.onnx');
  const bg = buildBoundGraph(model.graph, 'ibp');
  const region = linfBall(inputs(1, 2), 0.3);
  for (const method of ['ibp', 'crown'] as const) {
    const r = computeBounds(model.graph, region, { method });
    assert.deepEqual(r.layers.map((l) => l.grafted), [5, 3]);
    r.layers.forEach((l) => assert.equal(l.unstable + l.active + l.inactive + l.grafted, l.size));
  }
  const ibp = computeBounds(bg, region, { method: 'ibp' });
  masks.forEach((mask, layer) => {
    const node = model.graph.nodes.filter((n) => n.opType === 'GraftedRelu')[layer];
    const pre = ibp.preActivations.get(node.inputs[0])!;
    const post = ibp.preActivations.get(node.outputs[0])!;
    const slope = model.graph.constants.get(node.inputs[2])!.data;
    mask.forEach((m, j) => {
      if (!m) return;
      const expected = Math.abs(slope[j]) * (pre.upper[j] - pre.lower[j]);
      assert.ok(Math.abs(post.upper[j] - post.lower[j] - expected) < 1e-9, `layer ${layer} neuron ${j}`);
    });
  });
});

test('certify reports the grafted counts of an in-memory exported model', async () => {
  const { model } = await exportStandardOnnx(net, 'grafted.onnx');
  const x = inputs(6, 4);
  const data: DataSet = { name: 'tiny', source: 'tiny', inputs: x, labels: Int32Array.from([0, 1, 2, 0, 1, 2]), count: 6, total: 6, offset: 0, inputShape: [12], range: [0, 1] };
  const report = await certifyDataSet(model, data, { eps: 0.01, workers: 1 });
  assert.deepEqual(report.layers.map((l) => l.grafted), [5, 3]);
});
