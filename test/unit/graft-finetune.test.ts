// Fine-tuning after grafting: a few steps reduce the loss on a tiny set; pruning keeps a = b = 0; cancellation stops it.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { finetune } from '../../server/graft/finetune';
import { TrainableNetwork } from '../../server/graft/network';
import type { Samples } from '../../server/graft/score';
import { GraftCancelledError } from '../../server/graft/score';
import { stabilityLoss } from '../../server/graft/stability';
import { initBackend } from '../../server/tensor/backend';
import { crossEntropy, seededRandom } from '../../server/tensor/tfjs';

before(async () => {
  await initBackend('cpu', { log: () => undefined });
});

/** Two Gaussian-ish blobs in [0, 1]^8, labels 0/1. */
function blobs(count: number, seed: number): Samples {
  const rng = seededRandom(seed);
  const inputs = new Float32Array(count * 8);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 2;
    for (let k = 0; k < 8; k++) inputs[i * 8 + k] = Math.min(1, Math.max(0, (labels[i] === 1 ? 0.7 : 0.3) + (rng() - 0.5) * 0.4 + (k % 2 ? 0.1 : 0)));
  }
  return { inputs, labels, count };
}

function loss(net: TrainableNetwork, s: Samples): number {
  return tf.tidy(() => crossEntropy(net.logits(tf.tensor2d(s.inputs, [s.count, 8])), tf.tensor1d(s.labels, 'int32')).dataSync()[0]);
}

test('fine-tuning a grafted network a few steps reduces its loss, trains a and b, keeps the best epoch', async () => {
  const net = TrainableNetwork.mlp([8, 16, 16, 2], { seed: 5 });
  const train = blobs(128, 1), validation = blobs(64, 2);
  net.setGraft(0, Uint8Array.from({ length: 16 }, (_, j) => j % 2));
  net.setGraft(1, Uint8Array.from({ length: 16 }, (_, j) => (j < 8 ? 1 : 0)));
  const slopeBefore = (await net.graft(0))!.slope;
  const before = loss(net, train);
  const progress: number[] = [];
  const result = await finetune(net, train, validation, { eps: 0.02, epochs: 4, batchSize: 32, lrWeights: 1e-2, onProgress: (p) => progress.push(p.epoch) });
  const after = loss(net, train);
  assert.ok(after < before * 0.8, `loss ${before} → ${after}`);
  assert.equal(result.epochs.length, 5, 'epoch 0 (the start) and 4 epochs');
  assert.ok(result.bestEpoch >= 1);
  assert.ok(progress.includes(4));
  const g = (await net.graft(0))!;
  assert.ok(g.slope.some((a, j) => g.mask[j] === 1 && Math.abs(a - slopeBefore[j]) > 1e-4), 'grafted slopes were trained');
  net.dispose();
});

test('pruning mode keeps a = b = 0 while the weights train', async () => {
  const net = TrainableNetwork.mlp([8, 16, 2], { seed: 6 });
  const mask = Uint8Array.from({ length: 16 }, (_, j) => (j < 6 ? 1 : 0));
  net.setGraft(0, mask, 0, 0);
  const w0 = Float32Array.from(net.weights()[0].dataSync());
  let trained: Float32Array | undefined;
  // Read the weights at the end of the last epoch (the best-epoch checkpoint may then restore an earlier one).
  await finetune(net, blobs(64, 3), blobs(32, 4), {
    eps: 0.02, epochs: 2, batchSize: 16, trainGraft: false,
    onProgress: (p) => { if (p.epoch === 2 && p.validation !== undefined) trained = Float32Array.from(net.weights()[0].dataSync()); },
  });
  const g = (await net.graft(0))!;
  assert.ok(g.slope.every((a) => a === 0) && g.intercept.every((b) => b === 0));
  assert.ok(trained !== undefined && trained.some((w, i) => w !== w0[i]), 'the weights trained');
  net.dispose();
});

test('an aborted fine-tuning stops with GraftCancelledError', async () => {
  const net = TrainableNetwork.mlp([8, 16, 2], { seed: 7 });
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(finetune(net, blobs(64, 3), blobs(32, 4), { eps: 0.02, epochs: 2, batchSize: 16, signal: controller.signal }), GraftCancelledError);
  net.dispose();
});

test('the stability loss uses sound IBP bounds and ignores grafted neurons', () => {
  const net = TrainableNetwork.mlp([8, 16, 16, 2], { seed: 8 });
  const s = blobs(8, 9);
  const x = tf.tensor2d(s.inputs, [8, 8]);
  const bounds = tf.tidy(() => net.intervalPreActivations(x.sub(0.05).clipByValue(0, 1), x.add(0.05).clipByValue(0, 1)).map((b) => [b.lower.arraySync(), b.upper.arraySync()]));
  const z = tf.tidy(() => net.logitsAndPreActivations(x).preActivations.map((t) => t.arraySync()));
  z.forEach((layer, k) => layer.forEach((row, i) => row.forEach((v, j) => {
    assert.ok(bounds[k][0][i][j] <= v + 1e-5 && v <= bounds[k][1][i][j] + 1e-5);
  })));
  const full = tf.tidy(() => stabilityLoss(net, x, 0.05).dataSync()[0]);
  net.setGraft(0, new Uint8Array(16).fill(1));
  const grafted = tf.tidy(() => stabilityLoss(net, x, 0.05).dataSync()[0]);
  assert.ok(grafted > full, 'grafting layer 1 drops its (negative) terms');
  x.dispose();
  net.dispose();
});
