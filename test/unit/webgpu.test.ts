// The webgpu backend on a software adapter (Mesa llvmpipe through Dawn) computes what the wasm backend computes:
// matMul, conv2d, the gradients of a small grafted CNN, an FGSM-RS example and graftcert's whole fine-tuning loop
// (two epochs with validation and export reads), within float32 tolerance.
// scripts/setup-webgpu.sh installs the adapter; without it this test fails and says so (it is never skipped).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Graph, IRNode, IRValue, Tensor } from '../../server/ir/graph';
import { TrainableNetwork, mlpGraph } from '../../server/graft/network';
import { fgsmRandomStart } from '../../server/graft/adversarial';
import { empiricalAccuracy } from '../../server/graft/evaluate';
import { finetune } from '../../server/graft/finetune';
import { initBackend, type BackendChoice } from '../../server/tensor/backend';
import { WebGpuSyncReadError } from '../../server/tensor/webgpu';
import { crossEntropy, seededRandom } from '../../server/tensor/tfjs';

const quiet = { log: () => {} };

function randomData(n: number, seed: number, scale = 1): Float32Array {
  const rng = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

/** Conv(1→4, 3×3, stride 2, pad 1) → ReLU → Flatten → Gemm(64→16) → ReLU → Gemm(16→10) on 1×8×8 inputs. */
function cnnGraph(): Graph {
  const value = (name: string, shape: number[]): IRValue => ({ name, dtype: 'float32', shape });
  const constant = (dims: number[], seed: number, scale: number): Tensor => ({
    dtype: 'float32', dims, data: Float64Array.from(randomData(dims.reduce((a, b) => a * b, 1), seed, scale)),
  });
  const nodes: IRNode[] = [
    { name: 'conv', opType: 'Conv', domain: '', inputs: ['x', 'convW', 'convB'], outputs: ['c'],
      attrs: { strides: { kind: 'ints', value: [2, 2] }, pads: { kind: 'ints', value: [1, 1, 1, 1] } } },
    { name: 'relu1', opType: 'Relu', domain: '', inputs: ['c'], outputs: ['r1'], attrs: {} },
    { name: 'flatten', opType: 'Flatten', domain: '', inputs: ['r1'], outputs: ['f'], attrs: {} },
    { name: 'fc1', opType: 'Gemm', domain: '', inputs: ['f', 'fc1W', 'fc1B'], outputs: ['h'], attrs: { transB: { kind: 'int', value: 1 } } },
    { name: 'relu2', opType: 'Relu', domain: '', inputs: ['h'], outputs: ['r2'], attrs: {} },
    { name: 'fc2', opType: 'Gemm', domain: '', inputs: ['r2', 'fc2W', 'fc2B'], outputs: ['y'], attrs: { transB: { kind: 'int', value: 1 } } },
  ];
  const values = new Map<string, IRValue>([
    ['x', value('x', [1, 1, 8, 8])], ['c', value('c', [1, 4, 4, 4])], ['r1', value('r1', [1, 4, 4, 4])], ['f', value('f', [1, 64])],
    ['h', value('h', [1, 16])], ['r2', value('r2', [1, 16])], ['y', value('y', [1, 10])],
  ]);
  const constants = new Map<string, Tensor>([
    ['convW', constant([4, 1, 3, 3], 11, 0.6)], ['convB', constant([4], 12, 0.1)],
    ['fc1W', constant([16, 64], 13, 0.25)], ['fc1B', constant([16], 14, 0.1)],
    ['fc2W', constant([10, 16], 15, 0.4)], ['fc2B', constant([10], 16, 0.1)],
  ]);
  return { name: 'cnn', opset: 13, inputs: [values.get('x')!], outputs: [values.get('y')!], nodes, values, constants };
}

/**
 * Everything compared, computed on the current backend and read back asynchronously (webgpu cannot read
 * synchronously in Node). Keys name the quantity.
 */
async function computeAll(): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  const read = async (key: string, t: tf.Tensor): Promise<void> => {
    out.set(key, Float32Array.from(await t.data()));
    t.dispose();
  };

  // matMul, every transpose flag, sizes that are not multiples of the workgroup tiles.
  const a = tf.tensor2d(randomData(37 * 53, 1), [37, 53]);
  const b = tf.tensor2d(randomData(53 * 29, 2), [53, 29]);
  await read('matMul', tf.matMul(a, b));
  await read('matMul Aᵀ', tf.matMul(a, tf.tensor2d(randomData(37 * 29, 3), [37, 29]), true, false));
  await read('matMul Bᵀ', tf.matMul(a, b.transpose(), false, true));
  const big = tf.tensor2d(randomData(256 * 784, 4, 0.1), [256, 784]);
  await read('matMul 256×784×256', tf.matMul(big, tf.tensor2d(randomData(784 * 256, 5, 0.1), [784, 256])));

  // conv2d (NHWC), strided and padded, and its input and filter gradients.
  const x = tf.tensor4d(randomData(3 * 12 * 12 * 2, 6), [3, 12, 12, 2]);
  const w = tf.tensor4d(randomData(3 * 3 * 2 * 5, 7, 0.5), [3, 3, 2, 5]);
  await read('conv2d same', tf.conv2d(x, w, 1, 'same'));
  await read('conv2d stride 2 valid', tf.conv2d(x, w, 2, 'valid'));
  const dy = tf.tensor4d(randomData(3 * 12 * 12 * 5, 8), [3, 12, 12, 5]);
  await read('conv2d input gradient', tf.grad((t: tf.Tensor) => tf.conv2d(t as tf.Tensor4D, w, 1, 'same').mul(dy).sum())(x));

  // A small CNN through graftcert's trainable network: forward, gradients of the loss by every weight, with one
  // ReLU layer half grafted (a·x + b); and an FGSM-RS example on it.
  const net = new TrainableNetwork(cnnGraph());
  try {
    net.setGraft(1, Uint8Array.from({ length: 16 }, (_, i) => i % 2), 0.3, -0.05);
    const input = tf.tensor4d(Float32Array.from(randomData(4 * 64, 9), (v) => (v + 1) / 2), [4, 1, 8, 8]);
    const labels = tf.tensor1d([3, 1, 4, 1], 'int32');
    await read('cnn logits', net.logits(input));
    const trainable = [...net.weights(), ...net.graftParams()];
    const { value, grads } = tf.variableGrads(() => crossEntropy(net.logits(input), labels) as tf.Scalar, trainable);
    await read('cnn loss', value);
    // Variable names carry a process-wide counter; their order in the network is what matches across backends.
    for (const [k, v] of trainable.entries()) await read(`cnn ∂loss/∂parameter ${k} [${v.shape.join('×')}]`, grads[v.name]);
    await read('cnn FGSM-RS example', fgsmRandomStart((t) => net.logits(t), input, labels, { eps: 0.1, seed: 5 }));
  } finally {
    net.dispose();
  }

  // graftcert's fine-tuning as the graft command runs it: FGSM-RS steps with the stability term, validation PGD,
  // best-epoch checkpoint, then the trained weights and grafts read back for export (all reads asynchronous).
  const tuned = new TrainableNetwork(mlpGraph([64, 32, 16, 10], { seed: 4 }));
  try {
    tuned.setGraft(1, Uint8Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? 1 : 0)));
    // Learnable labels (the brightest of the first ten pixels), so validation improves and the last epoch is kept.
    const inputs = Float32Array.from(randomData(64 * 64, 21), (v) => (v + 1) / 2);
    const labels = Int32Array.from({ length: 64 }, (_, i) => {
      const row = inputs.subarray(i * 64, i * 64 + 10);
      return row.indexOf(Math.max(...row));
    });
    const samples = { inputs, labels, count: 64 };
    const result = await finetune(tuned, samples, samples, {
      eps: 0.02, epochs: 2, batchSize: 16, seed: 3, lrWeights: 0.02, validationPgdSteps: 2, stabilityWeight: 0.1,
    });
    assert.ok(result.bestEpoch > 0, `fine-tuning improved on the starting point (best epoch ${result.bestEpoch})`);
    out.set('finetune losses and validation', Float32Array.from(result.epochs.slice(1).flatMap((e) => [e.loss, e.validation.clean, e.validation.pgd ?? -1])));
    for (const [name, values] of await tuned.trainedConstants()) out.set(`finetune weight ${name}`, values);
    const graft = (await tuned.graft(1))!;
    out.set('finetune graft slope', graft.slope);
    out.set('finetune graft intercept', graft.intercept);
    const accuracy = await empiricalAccuracy(tuned, samples, { eps: 0.05, pgdSteps: 3, seed: 8 });
    out.set('finetune empirical accuracy', Float32Array.of(accuracy.clean, accuracy.pgd ?? -1));
  } finally {
    tuned.dispose();
  }
  tf.dispose([a, b, big, x, w, dy]);
  return out;
}

describe('webgpu backend (software adapter) against wasm', () => {
  let choice: BackendChoice;
  let reference: Map<string, Float32Array>;

  before(async () => {
    await initBackend('wasm', quiet);
    reference = await computeAll();
    choice = await initBackend('webgpu', { ...quiet, webgpu: { adapter: 'software', timeoutMs: 60_000 } });
  });

  after(async () => {
    await initBackend('wasm', quiet);
  });

  test('a software WebGPU adapter is available (scripts/setup-webgpu.sh installs it)', () => {
    assert.equal(choice.name, 'webgpu',
      `no WebGPU software adapter: ${choice.fallbackReason ?? '?'} — run \`bash scripts/setup-webgpu.sh\` as root ` +
      '(it installs Mesa\'s EGL/OpenGL libraries: libegl1 libegl-mesa0 libgl1-mesa-dri; see README "Compute backends")');
    assert.ok(choice.adapter !== undefined, 'the adapter is described');
    assert.equal(tf.getBackend(), 'webgpu');
  });

  test('matMul, conv2d, a grafted CNN\'s gradients and a whole fine-tuning run equal wasm\'s within float32 tolerance', async () => {
    assert.equal(tf.getBackend(), 'webgpu', 'needs the adapter (see the test above)');
    const actual = await computeAll();
    assert.deepEqual([...actual.keys()], [...reference.keys()]);
    assert.ok(actual.size >= 15, `compared ${actual.size} quantities`);
    for (const [key, expected] of reference) {
      const got = actual.get(key)!;
      assert.equal(got.length, expected.length, `${key}: length`);
      let scale = 0;
      for (const v of expected) scale = Math.max(scale, Math.abs(v));
      // float32 sums of up to 784 products in different orders: relative to the quantity's largest entry.
      const tolerance = 1e-4 * Math.max(scale, 1e-3);
      let worst = 0;
      let at = -1;
      for (let i = 0; i < got.length; i++) {
        const d = Math.abs(got[i] - expected[i]);
        if (!(d <= worst)) [worst, at] = [d, i];
      }
      assert.ok(worst <= tolerance, `${key}: |webgpu − wasm| = ${worst} at ${at} (webgpu ${got[at]}, wasm ${expected[at]}) > ${tolerance}`);
      assert.ok(scale > 0, `${key}: all zero (the comparison would prove nothing)`);
    }
  });

  test('a synchronous read says what to do instead of failing on OffscreenCanvas', () => {
    assert.equal(tf.getBackend(), 'webgpu', 'needs the adapter (see the first test)');
    // Large enough that tfjs-backend-webgpu does not hand the op to its CPU fallback (whose result would be on the CPU).
    const t = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]));
    assert.throws(() => t.dataSync(), (err: unknown) => err instanceof WebGpuSyncReadError && /await tensor\.data\(\)/.test(err.message));
    t.dispose();
  });

});
