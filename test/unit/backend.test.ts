// Backend selection: the auto order, fallbacks with reasons for missing or broken backends, the wasm gradient fix.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { backendPreferenceFromEnv, initBackend, wasmBinaryDirectory } from '../../server/tensor/backend';

/** A module loader where the optional accelerators are absent, whatever this machine has installed. */
function loaderWithout(missing: readonly string[], replacements: Record<string, unknown> = {}): (m: string) => unknown {
  return (m) => {
    if (m in replacements) return replacements[m];
    if (missing.includes(m)) throw new Error(`Cannot find module '${m}'\nRequire stack: ...`);
    return require(m);
  };
}

const ACCELERATORS = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', 'webgpu'];

describe('initBackend', () => {
  after(async () => {
    await initBackend('wasm', { log: () => {} });
  });

  test('auto skips the absent accelerators, picks wasm, logs the choice and says why', async () => {
    const messages: string[] = [];
    const choice = await initBackend('auto', { log: (m) => messages.push(m), load: loaderWithout(ACCELERATORS) });
    assert.equal(choice.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.match(choice.fallbackReason ?? '', /gpu: @tensorflow\/tfjs-node-gpu is not installed/);
    assert.match(choice.fallbackReason ?? '', /native: @tensorflow\/tfjs-node is not installed/);
    assert.match(choice.fallbackReason ?? '', /webgpu: the 'webgpu' package is not installed/);
    assert.ok(!/Require stack/.test(choice.fallbackReason ?? ''), 'one line per backend');
    assert.ok(messages.some((m) => /compute backend 'wasm'/.test(m)), messages.join('\n'));
  });

  test('auto with the real module loader picks a native backend where installed, else wasm', async () => {
    const hasNative = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((m) => {
      try {
        require.resolve(m);
        return true;
      } catch {
        return false;
      }
    });
    const choice = await initBackend('auto', { log: () => {} });
    assert.equal(choice.name, hasNative ? 'tensorflow' : 'wasm');
    // The chosen backend computes.
    assert.deepEqual(Array.from(tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync())), [11]);
  });

  test('a forced backend that is not installed falls back down the order with a reason', async () => {
    const messages: string[] = [];
    const choice = await initBackend('native', { log: (m) => messages.push(m), load: loaderWithout(ACCELERATORS) });
    assert.equal(choice.name, 'wasm');
    assert.match(choice.fallbackReason ?? '', /^native: @tensorflow\/tfjs-node is not installed or failed to load \(Cannot find module/);
    assert.ok(!/tfjs-node-gpu/.test(choice.fallbackReason ?? ''), 'gpu is above native in the order, so it is not tried');
    assert.ok(messages.some((m) => /backend 'native' unavailable, fell back to 'wasm'/.test(m)), messages.join('\n'));
  });

  test('a package that loads but registers no backend falls back too', async () => {
    const choice = await initBackend('gpu', { log: () => {}, load: loaderWithout(['webgpu'], { '@tensorflow/tfjs-node-gpu': {}, '@tensorflow/tfjs-node': {} }) });
    assert.equal(choice.name, 'wasm');
    assert.match(choice.fallbackReason ?? '', /gpu: @tensorflow\/tfjs-node-gpu loaded but registered no 'tensorflow' backend/);
  });

  test('a failing wasm backend falls back to cpu', async () => {
    const choice = await initBackend('wasm', {
      log: () => {},
      load: (m) => {
        if (m === '@tensorflow/tfjs-backend-wasm') throw new Error('simulated: wasm binary is corrupt');
        return require(m);
      },
    });
    assert.equal(choice.name, 'cpu');
    assert.equal(choice.fallbackReason, 'wasm: @tensorflow/tfjs-backend-wasm failed to load (simulated: wasm binary is corrupt)');
  });

  test('cpu can be forced, an unknown name means auto', async () => {
    assert.deepEqual(await initBackend('cpu', { log: () => {} }), { name: 'cpu' });
    const messages: string[] = [];
    const choice = await initBackend('tpu' as never, { log: (m) => messages.push(m), load: loaderWithout(ACCELERATORS) });
    assert.equal(choice.name, 'wasm');
    assert.match(messages[0], /unknown backend 'tpu'/);
  });

  test('backendPreferenceFromEnv reads GRAFTCERT_BACKEND', () => {
    assert.equal(backendPreferenceFromEnv({ GRAFTCERT_BACKEND: 'CPU' }), 'cpu');
    assert.equal(backendPreferenceFromEnv({ GRAFTCERT_BACKEND: 'bogus' }), 'auto');
    assert.equal(backendPreferenceFromEnv({}), 'auto');
  });

  test('the wasm binaries are found', () => {
    const dir = wasmBinaryDirectory();
    assert.ok(dir !== undefined);
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) assert.ok(existsSync(join(dir, f)), f);
  });

  test('matMul gradients on wasm (transpose-free rewrite) equal the stock gradients on cpu, for every transpose flag', async () => {
    const a = [[1, -2, 0.5], [3, 0.25, -1]];
    const b = [[2, 1], [-1, 0.5], [4, -3]];
    const gradients = (): number[][] => {
      const out: number[][] = [];
      for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]]) {
        const A = tf.tensor2d(a);
        const B = tf.tensor2d(b);
        const Aop = tA ? A.transpose() : A;
        const Bop = tB ? B.transpose() : B;
        const weights = tf.tensor2d([[1, -2], [0.5, 3]]);
        const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, tA, tB).mul(weights).sum())([Aop, Bop]);
        out.push([...ga.dataSync(), ...gb.dataSync()]);
        tf.dispose([A, B, Aop, Bop, weights, ga, gb]);
      }
      return out;
    };
    await initBackend('cpu', { log: () => {} });
    const stock = gradients();
    const stockConfig = tf.getGradient('BatchMatMul');
    await initBackend('wasm', { log: () => {} });
    assert.notEqual(tf.getGradient('BatchMatMul'), stockConfig, 'wasm installs its own matMul gradient');
    const rewritten = gradients();
    for (let i = 0; i < stock.length; i++) {
      stock[i].forEach((v, j) => assert.ok(Math.abs(v - rewritten[i][j]) < 1e-5, `case ${i}, entry ${j}: ${v} vs ${rewritten[i][j]}`));
    }
    await initBackend('cpu', { log: () => {} });
    assert.equal(tf.getGradient('BatchMatMul'), stockConfig, 'other backends get the stock gradient back');
  });
});
