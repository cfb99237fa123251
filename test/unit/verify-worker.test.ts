// Root bounds in the verification worker: the same verdicts as in-process, and a timeout honoured while a long bound
// pass runs (the worker is stopped at the deadline).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyProperty } from '../../server/certify/verify/index';
import { parseVnnlib } from '../../server/certify/vnnlib/index';
import type { ModelSpec } from '../../server/onnx/encode';
import { loadModelFile } from '../../server/onnx/load';
import { rng, tempDir, writeModel } from '../helpers/onnx-models';

/** x[1, n] → (Gemm → Relu)* → Gemm → y, random weights scaled by 1/√fan-in. */
function mlpSpec(widths: number[], seed: number): ModelSpec {
  const next = rng(seed);
  const nodes = [];
  const initializers = [];
  let x = 'x';
  for (let i = 0; i + 1 < widths.length; i++) {
    const [inp, out] = [widths[i], widths[i + 1]];
    initializers.push(
      { name: `W${i}`, dims: [out, inp], data: Float32Array.from({ length: out * inp }, () => ((next() * 2 - 1) * 1.5) / Math.sqrt(inp)) },
      { name: `b${i}`, dims: [out], data: Float32Array.from({ length: out }, () => (next() * 2 - 1) * 0.1) },
    );
    const last = i + 2 === widths.length;
    nodes.push({ opType: 'Gemm', inputs: [x, `W${i}`, `b${i}`], outputs: [last ? 'y' : `h${i}`], attrs: { transB: { kind: 'int' as const, value: 1 } } });
    if (!last) {
      nodes.push({ opType: 'Relu', inputs: [`h${i}`], outputs: [`a${i}`], name: `relu${i}` });
      x = `a${i}`;
    }
  }
  return { inputs: [{ name: 'x', shape: [1, widths[0]] }], outputs: [{ name: 'y', shape: [1, widths[widths.length - 1]] }], nodes, initializers };
}

function box(n: number, nOut: number, eps: number, output: string): string {
  const lines = [...Array.from({ length: n }, (_, i) => `(declare-const X_${i} Real)`), ...Array.from({ length: nOut }, (_, j) => `(declare-const Y_${j} Real)`)];
  for (let i = 0; i < n; i++) lines.push(`(assert (>= X_${i} ${0.5 - eps}))`, `(assert (<= X_${i} ${0.5 + eps}))`);
  lines.push(output);
  return lines.join('\n') + '\n';
}

test('the worker decides as the main thread does: unsat by bounds on a tiny box, sat when the box is large', async () => {
  const dir = tempDir('graftcert-verify-worker-');
  const file = writeModel(dir, 'mlp.onnx', mlpSpec([20, 16, 16, 2], 3));
  const g = loadModelFile(file).graph;
  // Tiny box: the two outputs barely move, so "Y_0 − Y_1 far from its centre value" is refuted by bounds.
  const inProcess = await verifyProperty(g, parseVnnlib(box(20, 2, 1e-4, '(assert (>= Y_0 (+ Y_1 1000)))'), { nInputs: 20, nOutputs: 2 }), { timeout_s: 20 });
  const viaWorker = await verifyProperty(g, parseVnnlib(box(20, 2, 1e-4, '(assert (>= Y_0 (+ Y_1 1000)))'), { nInputs: 20, nOutputs: 2 }), { timeout_s: 20, modelFile: file });
  assert.equal(inProcess.result, 'unsat');
  assert.equal(viaWorker.result, 'unsat');
  assert.equal(viaWorker.method, 'bounds');
  // Any point is a counterexample of "Y_0 ≤ 1e9".
  const sat = await verifyProperty(g, parseVnnlib(box(20, 2, 0.4, '(assert (<= Y_0 1000000000))'), { nInputs: 20, nOutputs: 2 }), { timeout_s: 20, modelFile: file });
  assert.equal(sat.result, 'sat');
});

test('a timeout is honoured while the worker is still bounding a big model', async () => {
  const dir = tempDir('graftcert-verify-worker-');
  const file = writeModel(dir, 'big.onnx', mlpSpec([32, 700, 700, 700, 10], 5));
  const g = loadModelFile(file).graph;
  const p = parseVnnlib(box(32, 10, 0.3, '(assert (>= Y_0 (+ Y_1 1000)))'), { nInputs: 32, nOutputs: 10 });
  const t = performance.now();
  const o = await verifyProperty(g, p, { timeout_s: 1, modelFile: file });
  const wall = (performance.now() - t) / 1000;
  assert.ok(o.result === 'timeout' || o.result === 'unsat', o.result);
  assert.ok(wall < 3, `answered after ${wall.toFixed(2)} s with a 1 s timeout`);
});
