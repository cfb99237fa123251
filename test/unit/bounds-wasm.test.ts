// The wasm kernels (IBP products, CROWN's explicit backward pass) and their TypeScript fallbacks give the same bounds:
// the CLI is run twice on generated conv and MLP chains, once with GRAFTCERT_NO_WASM=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { attr, type ModelSpec, type NodeSpec } from '../../server/onnx/encode';
import type { BoundsReport } from '../../server/protocol/reports';
import { randomTensor, repoRoot, rng, tempDir, testSeed, writeModel } from '../helpers/onnx-models';

const seed = testSeed('bounds-wasm');
const next = rng(seed);
const n = (opType: string, inputs: string[], outputs: string[], attrs: NodeSpec['attrs'] = {}): NodeSpec => ({ opType, inputs, outputs, attrs, name: `${opType}_${outputs[0]}` });

/**
 * Conv → BN-like Mul/Add → Relu → Conv → Relu → Gemm → Relu → Gemm: sparse and dense segments, three ReLU layers.
 * `shift` raises the second conv's bias: with a large one, its layer is all active and CROWN's pass skips it.
 */
function convChain(shift: number): ModelSpec {
  const t = (name: string, dims: number[], scale = 0.5) => randomTensor(name, dims, next, scale);
  const b2 = t('b2', [6]);
  (b2.data as Float32Array).forEach((v, i, a) => (a[i] = v + shift));
  return {
    inputs: [{ name: 'x', shape: [1, 1, 10, 10] }],
    outputs: [{ name: 'y', shape: [1, 5] }],
    initializers: [t('w1', [4, 1, 3, 3]), t('b1', [4]), t('s1', [1, 4, 1, 1]), t('a1', [1, 4, 1, 1]), t('w2', [6, 4, 3, 3]), b2, t('g1', [20, 54]), t('gb1', [20]), t('g2', [5, 20]), t('gb2', [5])],
    nodes: [
      n('Conv', ['x', 'w1', 'b1'], ['c1'], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
      n('Mul', ['c1', 's1'], ['m1']),
      n('Add', ['m1', 'a1'], ['p1']),
      n('Relu', ['p1'], ['r1']),
      n('Conv', ['r1', 'w2', 'b2'], ['c2']),
      n('Relu', ['c2'], ['r2']),
      n('Flatten', ['r2'], ['f']),
      n('Gemm', ['f', 'g1', 'gb1'], ['h'], { transB: attr.int(1) }),
      n('Relu', ['h'], ['r3']),
      n('Gemm', ['r3', 'g2', 'gb2'], ['y'], { transB: attr.int(1) }),
    ],
  };
}

function bounds(model: string, center: string, method: string, eps: number, env: NodeJS.ProcessEnv): BoundsReport {
  const args = ['--import', 'tsx', join(repoRoot, 'server', 'cli.ts'), 'bounds', model, '--eps', String(eps), '--center', center, '--method', method, '--margin', '1', '--json'];
  const run = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as BoundsReport;
}

test('wasm kernels and the TypeScript fallback give the same IBP and CROWN bounds (outputs, margins, unstable counts)', () => {
  const dir = tempDir('graftcert-bounds-wasm-');
  const center = join(dir, 'x0.json');
  writeFileSync(center, JSON.stringify(Array.from({ length: 100 }, () => next())));
  for (const shift of [0, 20]) {
    const model = writeModel(dir, `conv${shift}.onnx`, convChain(shift));
    for (const method of ['ibp', 'crown'])
      for (const eps of shift > 0 ? [0.02] : [0.2]) {
        const a = bounds(model, center, method, eps, {});
        const b = bounds(model, center, method, eps, { GRAFTCERT_NO_WASM: '1' });
        const close = (x: number[], y: number[], what: string): void =>
          x.forEach((v, j) => assert.ok(Math.abs(v - y[j]) <= 1e-7 * (1 + Math.abs(y[j])), `${method} ε=${eps} ${what}[${j}]: wasm ${v}, TypeScript ${y[j]} (seed ${seed})`));
        close(a.output.lower, b.output.lower, 'lower');
        close(a.output.upper, b.output.upper, 'upper');
        close(a.margin!.lower, b.margin!.lower, 'margin');
        assert.deepEqual(a.layers.map((l) => l.unstable), b.layers.map((l) => l.unstable));
        if (shift > 0) assert.equal(a.layers[1].active, a.layers[1].size, 'the shifted layer is all active');
      }
  }
});
