// The input-splitting bounds of symbolic.ts: layer chains extracted exactly, every bound below (above) every sampled
// value on random deep networks (ReLU, sigmoid, tanh), never looser than interval arithmetic, and verify on deep
// random networks never contradicting a sampled counterexample.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildBoundGraph, computeBounds } from '../../server/bounds/index';
import { checkCounterexample, verifyProperty } from '../../server/certify/verify/index';
import { forwardBatch } from '../../server/certify/verify/network';
import { backwardRow, chainBounds, chainSpec, layerChain } from '../../server/certify/verify/symbolic';
import { parseVnnlib } from '../../server/certify/vnnlib/index';
import type { Graph } from '../../server/ir/graph';
import { encodeModel, type ModelSpec } from '../../server/onnx/encode';
import { loadModelBytes } from '../../server/onnx/load';
import { rng, testSeed } from '../helpers/onnx-models';

/** x → (Gemm → activation)* → Gemm → y with random weights of the given widths. */
function deepNet(widths: number[], activation: string, next: () => number, scale = 1): Graph {
  const nodes = [];
  const initializers = [];
  let x = 'x';
  for (let i = 0; i + 1 < widths.length; i++) {
    const inp = widths[i];
    const out = widths[i + 1];
    const w = Float32Array.from({ length: out * inp }, () => ((next() * 2 - 1) * scale * 2) / Math.sqrt(inp));
    const b = Float32Array.from({ length: out }, () => (next() * 2 - 1) * 0.3);
    initializers.push({ name: `W${i}`, dims: [out, inp], data: w }, { name: `b${i}`, dims: [out], data: b });
    const last = i + 2 === widths.length;
    const h = last ? 'y' : `h${i}`;
    nodes.push({ opType: 'Gemm', inputs: [x, `W${i}`, `b${i}`], outputs: [h], attrs: { transB: { kind: 'int' as const, value: 1 } } });
    if (!last) {
      nodes.push({ opType: activation, inputs: [h], outputs: [`a${i}`], name: `act${i}` });
      x = `a${i}`;
    }
  }
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, widths[0]] }],
    outputs: [{ name: 'y', shape: [1, widths[widths.length - 1]] }],
    nodes,
    initializers,
  };
  return loadModelBytes(encodeModel(spec), 'deep.onnx').graph;
}

function randomBox(n: number, next: () => number): { lower: Float64Array; upper: Float64Array } {
  const lower = new Float64Array(n);
  const upper = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = next() * 2 - 1;
    const r = next() < 0.2 ? 0 : 0.01 + next() * 0.6;
    lower[i] = c - r;
    upper[i] = c + r;
  }
  return { lower, upper };
}

test('the layer chain of an MLP is its weights, and its forward pass is the network', () => {
  const next = rng(7);
  const g = deepNet([3, 6, 5, 2], 'Relu', next);
  const bg = buildBoundGraph(g);
  const chain = layerChain(bg);
  assert.ok(chain !== null);
  assert.deepEqual(chain.sizes, [3, 6, 5, 2]);
  assert.equal(chain.layers, 3);
  const w0 = g.constants.get('W0')!.data as unknown as ArrayLike<number>;
  assert.deepEqual(Array.from(chain.W[1]), Array.from(w0, Number));
});

test('symbolic bounds hold at every sampled point of random deep networks (ReLU, sigmoid, tanh)', () => {
  const seed = testSeed('symbolic bounds soundness');
  const next = rng(seed);
  for (let trial = 0; trial < 30; trial++) {
    const activation = ['Relu', 'Relu', 'Sigmoid', 'Tanh'][trial % 4];
    const nIn = 1 + Math.floor(next() * 5);
    const depth = 2 + Math.floor(next() * 4);
    const widths = [nIn, ...Array.from({ length: depth }, () => 3 + Math.floor(next() * 8)), 1 + Math.floor(next() * 3)];
    const g = deepNet(widths, activation, next, 0.5 + next() * 2);
    const bg = buildBoundGraph(g);
    const chain = layerChain(bg)!;
    const box = randomBox(nIn, next);
    const nOut = widths[widths.length - 1];
    const count = 3;
    const rows = Float64Array.from({ length: count * nOut }, () => next() * 2 - 1);
    for (const refine of [false, true]) {
      const cb = chainBounds(chain, box.lower, box.upper, undefined, refine);
      const spec = chainSpec(chain, cb, box.lower, box.upper, rows, count);
      const crown = computeBounds(bg, box, { method: 'crown', intersectIbp: true, spec: { count, size: nOut, rows, offset: null } });
      const ibp = computeBounds(bg, box, { method: 'ibp', spec: { count, size: nOut, rows, offset: null } });
      const samples = 1500;
      const x = new Float64Array(samples * nIn);
      for (let s = 0; s < samples; s++)
        for (let i = 0; i < nIn; i++) {
          const t = s < 2 ? s : s < 2 + 2 ** Math.min(nIn, 6) ? ((s - 2) >> i) & 1 : next();
          x[s * nIn + i] = box.lower[i] + t * (box.upper[i] - box.lower[i]);
        }
      const { y, tape } = forwardBatch(bg, x, samples);
      for (let s = 0; s < samples; s++) {
        for (let r = 0; r < count; r++) {
          let v = 0;
          for (let j = 0; j < nOut; j++) v += rows[r * nOut + j] * y[s * nOut + j];
          assert.ok(spec.lower[r] <= v, `trial ${trial} (seed ${seed}): row ${r} bound ${spec.lower[r]} above sampled ${v}`);
        }
        for (let k = 1; k < chain.layers; k++) {
          const z = tape.get(chain.preName[k])!;
          const m = chain.sizes[k];
          for (let i = 0; i < m; i++) {
            const v = z[s * m + i];
            assert.ok(cb.lower[k][i] <= v && v <= cb.upper[k][i], `trial ${trial} (seed ${seed}): layer ${k} neuron ${i}: ${v} outside [${cb.lower[k][i]}, ${cb.upper[k][i]}]`);
          }
        }
      }
      // Never looser than interval arithmetic, and (refined) compared with CROWN for information only.
      for (let r = 0; r < count; r++) assert.ok(spec.lower[r] >= ibp.spec!.lower[r] - 1e-9 * (1 + Math.abs(ibp.spec!.lower[r])), `trial ${trial}: ${spec.lower[r]} looser than IBP ${ibp.spec!.lower[r]}`);
      assert.ok(crown.spec !== null);
    }
  }
});

test('a backward row from the output equals the specification bound of chainSpec without forward terms', () => {
  const next = rng(11);
  const g = deepNet([4, 8, 8, 8, 3], 'Relu', next);
  const chain = layerChain(buildBoundGraph(g))!;
  const box = randomBox(4, next);
  const cb = chainBounds(chain, box.lower, box.upper);
  const row = Float64Array.from([1, -1, 0.5]);
  const b = backwardRow(chain, cb.relax, chain.layers, row, box.lower, box.upper);
  const spec = chainSpec(chain, cb, box.lower, box.upper, row, 1);
  assert.ok(spec.lower[0] >= b, 'chainSpec takes the better of forward and backward');
});

test('soundness on deep random networks: a sampled counterexample is never answered unsat', async () => {
  const seed = testSeed('verify deep soundness');
  const next = rng(seed);
  let sat = 0;
  let unsat = 0;
  for (let trial = 0; trial < 16; trial++) {
    const nIn = 2 + Math.floor(next() * 3);
    const widths = [nIn, ...Array.from({ length: 3 + Math.floor(next() * 2) }, () => 4 + Math.floor(next() * 6)), 2];
    const g = deepNet(widths, 'Relu', next);
    const bg = buildBoundGraph(g);
    const box = randomBox(nIn, next);
    const n = 3000;
    const x = new Float64Array(n * nIn);
    for (let s = 0; s < n; s++) for (let i = 0; i < nIn; i++) x[s * nIn + i] = box.lower[i] + next() * (box.upper[i] - box.lower[i]);
    const { y } = forwardBatch(bg, x, n);
    let lo = Infinity;
    let hi = -Infinity;
    for (let s = 0; s < n; s++) {
      const d = y[s * 2] - y[s * 2 + 1];
      lo = Math.min(lo, d);
      hi = Math.max(hi, d);
    }
    const threshold = lo + (0.8 + 0.4 * next()) * (hi - lo);
    const lines = [...Array.from({ length: nIn }, (_, i) => `(declare-const X_${i} Real)`), '(declare-const Y_0 Real)', '(declare-const Y_1 Real)'];
    for (let i = 0; i < nIn; i++) lines.push(`(assert (>= X_${i} ${box.lower[i]}))`, `(assert (<= X_${i} ${box.upper[i]}))`);
    lines.push(`(assert (>= Y_0 (+ Y_1 ${threshold})))`);
    const p = parseVnnlib(lines.join('\n') + '\n', { nInputs: nIn, nOutputs: 2 });
    let sampled = false;
    for (let s = 0; s < n && !sampled; s++)
      if (checkCounterexample(g, p.specs[0].box, p.specs[0].disjuncts, x.subarray(s * nIn, (s + 1) * nIn)) !== null) sampled = true;
    const o = await verifyProperty(g, p, { timeout_s: 3, seed: trial });
    if (sampled) assert.notEqual(o.result, 'unsat', `trial ${trial} (seed ${seed}): sampling found a counterexample but verify said unsat`);
    if (o.result === 'sat') sat++;
    if (o.result === 'unsat') unsat++;
  }
  assert.ok(sat > 0 && unsat > 0, `sat ${sat}, unsat ${unsat}`);
});
