// Backend selection: the auto order, fallbacks with reasons for missing or broken backends, the wasm gradient fix,
// and the CLI's --backend reaching the --json document.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { backendPreferenceFromEnv, initBackend, wasmBinaryDirectory } from '../../server/tensor/backend';
import { isSoftwareAdapter, webGpuAdapterKindFromEnv } from '../../server/tensor/webgpu';
import { backendPreference } from '../../server/commands/args';
import type { GraftRunReport } from '../../server/commands/graft';
import { repoRoot, tempDir, tinyMlpSpec, writeModel } from '../helpers/onnx-models';

/** A module loader where the optional accelerators are absent, whatever this machine has installed. */
function loaderWithout(missing: readonly string[], replacements: Record<string, unknown> = {}): (m: string) => unknown {
  return (m) => {
    if (m in replacements) return replacements[m];
    if (missing.includes(m)) throw new Error(`Cannot find module '${m}'\nRequire stack: ...`);
    return require(m);
  };
}

const ACCELERATORS = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', 'webgpu'];

/** A stand-in for the `webgpu` package (Dawn) whose requestAdapter answers with `adapter` (or never, for 'hang'). */
function fakeDawn(adapter: 'hang' | null | { info: Record<string, string> }): { create(flags: string[]): unknown; globals: Record<string, unknown>; created: string[][] } {
  const created: string[][] = [];
  return {
    created,
    globals: {},
    create: (flags: string[]) => {
      created.push(flags);
      return {
        requestAdapter: () => (adapter === 'hang' ? new Promise(() => {}) : Promise.resolve(adapter === null ? null : { ...adapter, features: new Set(), limits: {} })),
      };
    },
  };
}

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

  test('a forced gpu that is not installed falls back with a reason per backend tried', async () => {
    const messages: string[] = [];
    const choice = await initBackend('gpu', { log: (m) => messages.push(m), load: loaderWithout(ACCELERATORS) });
    assert.equal(choice.name, 'wasm');
    const reasons = (choice.fallbackReason ?? '').split('; ').map((r) => r.split(':')[0]);
    assert.deepEqual(reasons, ['gpu', 'native', 'webgpu']);
    assert.match(choice.fallbackReason ?? '', /^gpu: @tensorflow\/tfjs-node-gpu is not installed or failed to load \(Cannot find module/);
    assert.ok(messages.some((m) => /backend 'gpu' unavailable, fell back to 'wasm'/.test(m)), messages.join('\n'));
  });

  test('a forced webgpu without the webgpu package falls back with that reason', async () => {
    const choice = await initBackend('webgpu', { log: () => {}, load: loaderWithout(ACCELERATORS) });
    assert.equal(choice.name, 'wasm');
    assert.match(choice.fallbackReason ?? '', /^webgpu: the 'webgpu' package is not installed or failed to load \(Cannot find module 'webgpu'/);
  });

  test('a forced webgpu without an adapter falls back to wasm, saying no adapter was found', async () => {
    const dawn = fakeDawn(null);
    const choice = await initBackend('webgpu', { log: () => {}, webgpu: { adapter: 'hardware', gpuDevicePresent: () => true }, load: loaderWithout(ACCELERATORS, { webgpu: dawn }) });
    assert.equal(choice.name, 'wasm');
    assert.equal(choice.fallbackReason, 'webgpu: WebGPU found no GPU adapter (default: no adapter)');
    assert.deepEqual(dawn.created, [[]], 'hardware only: Dawn\'s default backend, no software attempts');
    assert.equal(tf.findBackendFactory('webgpu'), null, 'nothing registered');
  });

  test('without a GPU device node a hardware adapter is not even asked for (Dawn stays quiet)', async () => {
    const dawn = fakeDawn(null);
    const choice = await initBackend('webgpu', { log: () => {}, webgpu: { adapter: 'hardware', gpuDevicePresent: () => false }, load: loaderWithout(ACCELERATORS, { webgpu: dawn }) });
    assert.equal(choice.name, 'wasm');
    assert.equal(choice.fallbackReason, 'webgpu: WebGPU found no GPU adapter (default: no GPU device (/dev/dri/renderD*, /dev/nvidia*))');
    assert.deepEqual(dawn.created, [], 'no Dawn instance created');
  });

  test('a webgpu adapter request that hangs times out and falls back', async () => {
    const choice = await initBackend('webgpu', {
      log: () => {}, webgpu: { adapter: 'hardware', timeoutMs: 50, gpuDevicePresent: () => true }, load: loaderWithout(ACCELERATORS, { webgpu: fakeDawn('hang') }),
    });
    assert.equal(choice.name, 'wasm');
    assert.match(choice.fallbackReason ?? '', /^webgpu: WebGPU found no GPU adapter \(default: requestAdapter did not answer within 50 ms\)/);
  });

  test('a software adapter is not taken for a GPU: webgpu falls back unless software adapters are asked for', async () => {
    const llvmpipe = { info: { vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: 'OpenGL 4.5 Mesa 22.3.6' } };
    const choice = await initBackend('webgpu', {
      log: () => {}, webgpu: { adapter: 'hardware', gpuDevicePresent: () => true }, load: loaderWithout(ACCELERATORS, { webgpu: fakeDawn(llvmpipe) }),
    });
    assert.equal(choice.name, 'wasm');
    assert.match(choice.fallbackReason ?? '', /only a software adapter \(mesa llvmpipe .*GRAFTCERT_WEBGPU_ADAPTER=software uses it\)/);
    assert.ok(isSoftwareAdapter({ type: 'CPU' }) && isSoftwareAdapter({ description: 'lavapipe' }) && !isSoftwareAdapter({ vendor: 'nvidia', device: 'H200' }));
    assert.equal(webGpuAdapterKindFromEnv({ GRAFTCERT_WEBGPU_ADAPTER: 'Software' }), 'software');
    assert.equal(webGpuAdapterKindFromEnv({}), 'hardware');
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

  test('backendPreferenceFromEnv reads GRAFTCERT_BACKEND; --backend wins over it', () => {
    assert.equal(backendPreferenceFromEnv({ GRAFTCERT_BACKEND: 'CPU' }), 'cpu');
    assert.equal(backendPreferenceFromEnv({ GRAFTCERT_BACKEND: 'bogus' }), 'auto');
    assert.equal(backendPreferenceFromEnv({}), 'auto');
    assert.equal(backendPreference('wasm', { GRAFTCERT_BACKEND: 'cpu' }), 'wasm');
    assert.equal(backendPreference(undefined, { GRAFTCERT_BACKEND: 'cpu' }), 'cpu');
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

describe('graftcert graft --backend', () => {
  const scratch = tempDir('graftcert-backend-cli-');
  const tiny = writeModel(scratch, 'tiny.onnx', tinyMlpSpec());
  const data = join(scratch, 'data.json');
  const inputs = Array.from({ length: 40 }, (_, i) => [0.1 * (i % 7), 0.5, (i % 3) / 3, 0.2]);
  writeFileSync(data, JSON.stringify({ inputs, labels: inputs.map((_, i) => i % 2) }));

  function graft(env: NodeJS.ProcessEnv, ...extra: string[]) {
    const args = ['--import', 'tsx', join(repoRoot, 'server', 'cli.ts'), 'graft', tiny, '--data', data, '--eps', '0.02', '--ratio', '0.34', '--epochs', '1',
      '--count', '4', '--alpha-count', '0', '--samples-per-epoch', '16', '--workers', '1', '--out', join(scratch, 'out.onnx'), '--json', ...extra];
    return spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  }

  test('--backend wasm shows in --json and on stderr, and wins over GRAFTCERT_BACKEND', () => {
    const run = graft({ GRAFTCERT_BACKEND: 'cpu' }, '--backend', 'wasm');
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as GraftRunReport;
    assert.deepEqual(report.backend, { name: 'wasm' });
    assert.match(run.stderr, /compute backend 'wasm'/);
  });

  test('GRAFTCERT_BACKEND (the editor setting) applies without the flag; a forced webgpu without a GPU falls back with the reason in --json', () => {
    const cpu = graft({ GRAFTCERT_BACKEND: 'cpu' });
    assert.equal(cpu.status, 0, cpu.stderr);
    assert.deepEqual((JSON.parse(cpu.stdout) as GraftRunReport).backend, { name: 'cpu' });
    const webgpu = graft({}, '--backend', 'webgpu');
    assert.equal(webgpu.status, 0, webgpu.stderr);
    const report = JSON.parse(webgpu.stdout) as GraftRunReport;
    if (report.backend.name === 'webgpu') {
      // A machine with a GPU: grafting trains on it (every tensor read is asynchronous).
      assert.ok(report.backend.adapter !== undefined, 'the adapter is described');
    } else {
      assert.equal(report.backend.name, 'wasm');
      assert.match(report.backend.fallbackReason ?? '', /^webgpu: /);
      assert.match(webgpu.stderr, /backend 'webgpu' unavailable, fell back to 'wasm'/);
    }
  });

  test('an unknown --backend is bad input', () => {
    const run = graft({}, '--backend', 'tpu');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /^graftcert: --backend: 'tpu' is not one of auto, gpu, native, webgpu, wasm, cpu/);
  });
});
