// Branch and bound on worker threads (bab.ts, bab-pool.ts, bab-worker.ts): the same answers and the same search
// tree as the in-thread loop, a worker's counterexample that holds in float64, and no worker left after a cancel.
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { buildBoundGraph, computeBounds } from '../../server/bounds/index';
import { babWorkersAlive } from '../../server/certify/verify/bab-pool';
import { verifyProperty, type VerifyOptions, type VerifyOutcome } from '../../server/certify/verify/index';
import { forwardBatch } from '../../server/certify/verify/network';
import { readVnnlibFile, type VnnlibProperty } from '../../server/certify/vnnlib/index';
import { evaluate } from '../../server/ir/forward';
import type { Graph, IRNode, Tensor } from '../../server/ir/graph';
import { loadModelFile } from '../../server/onnx/load';
import { repoRoot, rng } from '../helpers/onnx-models';
import { assertValidCounterexample, mlp, property, vnncompTestInstances, vnnlib } from '../helpers/verify-cases';

/** Random weights of the given widths, scaled by 1/√fan-in. */
function randomLayers(widths: number[], seed: number): { w: number[][]; b: number[] }[] {
  const next = rng(seed);
  return widths.slice(1).map((out, i) => ({
    w: Array.from({ length: out }, () => Array.from({ length: widths[i] }, () => ((next() * 2 - 1) * 2) / Math.sqrt(widths[i]))),
    b: Array.from({ length: out }, () => (next() * 2 - 1) * 0.3),
  }));
}

/** max of output 0 − output 1 over a grid of the box (2 inputs), for properties just above the true maximum. */
function gridMax(g: Graph, lo: number, hi: number, steps = 300): number {
  const bg = buildBoundGraph(g);
  const n = (steps + 1) ** 2;
  const x = new Float64Array(2 * n);
  for (let i = 0, k = 0; i <= steps; i++)
    for (let j = 0; j <= steps; j++, k++) {
      x[2 * k] = lo + ((hi - lo) * i) / steps;
      x[2 * k + 1] = lo + ((hi - lo) * j) / steps;
    }
  const { y } = forwardBatch(bg, x, n);
  let best = -Infinity;
  for (let k = 0; k < n; k++) best = Math.max(best, y[2 * k] - y[2 * k + 1]);
  return best;
}

/** The serial run (1 thread) and the pooled one (2 workers from the start of branch and bound). */
async function bothWays(g: Graph, p: VnnlibProperty, options: Omit<VerifyOptions, 'workers'>): Promise<{ serial: VerifyOutcome; pooled: VerifyOutcome }> {
  const serial = await verifyProperty(g, p, { ...options, workers: 1 });
  const pooled = await verifyProperty(g, p, { ...options, workers: 2, workerStartAfter_s: 0 });
  assert.equal(serial.pool, null, 'workers: 1 never starts a pool');
  assert.equal(babWorkersAlive(), 0, 'no branch-and-bound worker outlives its verification');
  return { serial, pooled };
}


test('input splitting on a deep chain: the pool explores the same tree as the serial loop and proves the same property', async () => {
  // 2 → 20 → 20 → 20 → 2: a layer chain of 4 (the ACAS Xu search); y0 − y1 stays below a bound just over its maximum
  // (a few hundred domains).
  const g = mlp(randomLayers([2, 20, 20, 20, 2], 3));
  const b = gridMax(g, -1, 1, 1000) + 0.003;
  const p = property(g, vnnlib([[-1, 1], [-1, 1]], `(assert (>= Y_0 (+ Y_1 ${b})))`, 2));
  const { serial, pooled } = await bothWays(g, p, { timeout_s: 120 });
  assert.equal(serial.result, 'unsat', serial.reason ?? '');
  assert.equal(serial.method, 'input-split');
  assert.equal(pooled.result, 'unsat', pooled.reason ?? '');
  assert.equal(pooled.method, 'input-split');
  assert.ok(pooled.pool !== null && pooled.pool.workers === 2 && pooled.pool.domains > 0, `the workers bounded domains: ${JSON.stringify(pooled.pool)}`);
  // Every domain of an unsat proof is bounded whatever the order: the same tree, domain for domain.
  assert.equal(pooled.domains, serial.domains);
});

test('input splitting with CROWN per box (shallow net) and ReLU splitting: the pool gives the serial answers', async () => {
  // The verify-engine case only branch and bound decides: y ≤ b just above the true maximum of a 2-input net.
  const g = mlp([
    { w: [[1, 1], [1, -1], [-1, 1], [-1, -1], [0.5, 1]], b: [0, 0, 0, 0, -0.2] },
    { w: [[1, 1, 1, 1, -1], [1, -1, 1, -1, 1]], b: [0, 0.1] },
    { w: [[1, -1]], b: [0] },
  ]);
  const bg = buildBoundGraph(g);
  const crownUpper = computeBounds(bg, { lower: Float64Array.of(-1, -1), upper: Float64Array.of(1, 1) }, { method: 'alpha-crown' }).output.upper[0];
  const steps = 400;
  const n = (steps + 1) ** 2;
  const x = new Float64Array(2 * n);
  for (let i = 0, k = 0; i <= steps; i++)
    for (let j = 0; j <= steps; j++, k++) {
      x[2 * k] = -1 + (2 * i) / steps;
      x[2 * k + 1] = -1 + (2 * j) / steps;
    }
  let max = -Infinity;
  for (const v of forwardBatch(bg, x, n).y) max = Math.max(max, v);
  const b = max + 70 / steps + 1e-3;
  assert.ok(crownUpper > b, 'precondition: α-CROWN alone does not prove it');
  const p = property(g, vnnlib([[-1, 1], [-1, 1]], `(assert (>= Y_0 ${b}))`, 1));

  const box = await bothWays(g, p, { timeout_s: 60 });
  assert.equal(box.serial.result, 'unsat', box.serial.reason ?? '');
  assert.equal(box.pooled.result, 'unsat', box.pooled.reason ?? '');
  assert.ok(box.pooled.pool !== null && box.pooled.pool.domains > 0);
  assert.equal(box.pooled.domains, box.serial.domains);

  const relu = await bothWays(g, p, { timeout_s: 60, inputSplitMaxDims: 0 });
  assert.equal(relu.pooled.method, relu.serial.method);
  assert.equal(relu.pooled.result, relu.serial.result, `${relu.serial.reason} / ${relu.pooled.reason}`);
  assert.equal(relu.pooled.reason, relu.serial.reason);
  assert.ok(relu.pooled.pool !== null && relu.pooled.pool.domains > 0);
  assert.equal(relu.pooled.domains, relu.serial.domains);
});

test('ReLU splitting on a partly grafted network: grafted neurons stay unsplit in the workers too, same answers', async () => {
  // 3 → 10 → 10 → 2 with the first layer's even neurons grafted (y = 0.3·x there): the pool and the serial loop agree.
  const base = mlp(randomLayers([3, 10, 10, 2], 5));
  const relu = base.nodes.find((node) => node.opType === 'Relu')!;
  const tensor = (data: number[]): Tensor => ({ dtype: 'float32', dims: [data.length], data: Float64Array.from(data) });
  const constants = new Map(base.constants);
  constants.set('graft_mask', tensor(Array.from({ length: 10 }, (_, j) => (j % 2 === 0 ? 1 : 0))));
  constants.set('graft_slope', tensor(Array.from({ length: 10 }, () => 0.3)));
  constants.set('graft_intercept', tensor(Array.from({ length: 10 }, () => 0)));
  const nodes: IRNode[] = base.nodes.map((node) =>
    node === relu ? { ...node, opType: 'GraftedRelu', domain: 'graftcert', inputs: [node.inputs[0], 'graft_mask', 'graft_slope', 'graft_intercept'] } : node,
  );
  const g: Graph = { ...base, nodes, constants };
  assert.ok(buildBoundGraph(g).ops.some((op) => op.kind === 'nonlinear' && op.graft !== null), 'precondition: the bound graph sees the graft');
  const bg = buildBoundGraph(g);
  const box = { lower: Float64Array.of(-1, -1, -1), upper: Float64Array.of(1, 1, 1) };
  // A threshold between the sampled maximum and CROWN's bound of y0 − y1: only branch and bound can answer.
  const next = rng(9);
  let sampled = -Infinity;
  for (let s = 0; s < 20000; s++) {
    const xs = Float64Array.from({ length: 3 }, () => next() * 2 - 1);
    const y = evaluate(g, xs, 1, 'float64').get(g.outputs[0].name)!;
    sampled = Math.max(sampled, y[0] - y[1]);
  }
  const crown = -computeBounds(bg, box, { method: 'crown', spec: { count: 1, size: 2, rows: Float64Array.of(-1, 1), offset: null } }).spec!.lower[0];
  assert.ok(crown > sampled);
  const t = sampled + 0.25 * (crown - sampled);
  const p = property(g, vnnlib([[-1, 1], [-1, 1], [-1, 1]], `(assert (>= Y_0 (+ Y_1 ${t})))`, 2));
  const { serial, pooled } = await bothWays(g, p, { timeout_s: 60, inputSplitMaxDims: 0 });
  assert.equal(pooled.result, serial.result, `${serial.reason} / ${pooled.reason}`);
  assert.notEqual(serial.result, 'sat', 'sampling found nothing above the threshold… unless a counterexample exists, which must then be checked');
  // Unsat, or unknown with leaves no split can refute (no β-CROWN yet): the same either way, domain for domain.
  assert.ok(serial.domains > 0 && (serial.method === 'relu-split' || serial.result === 'unknown'), `${serial.result}: ${serial.reason}`);
  assert.equal(pooled.reason, serial.reason);
  assert.ok(pooled.pool !== null && pooled.pool.domains > 0);
  assert.equal(pooled.domains, serial.domains);
});

/**
 * A needle: y = relu(1 − K·(|x0 − c0| + |x1 − c1|)) (through `depth` ReLU layers), ≥ 0.5 only within 0.5/K of c.
 * Sampling and PGD never find it (zero gradient outside, K = 10⁶); input splitting does, by the points it checks
 * (box centres and corners; c is dyadic, a split point). So when the pool takes every domain, only a worker can.
 */
function needle(depth: 3 | 4, K = 1e6): Graph {
  // 5/16 and 11/16: split points of [0, 1] (exact in float32).
  const [c0, c1] = [0.3125, 0.6875];
  const layers = [
    { w: [[1, 0], [-1, 0], [0, 1], [0, -1]], b: [-c0, c0, -c1, c1] },
    { w: [[-K, -K, -K, -K]], b: [1] },
  ];
  if (depth === 4) layers.push({ w: [[1]], b: [0] });
  layers.push({ w: [[1]], b: [0] });
  return mlp(layers);
}

test('a counterexample found in a worker holds in the float64 forward pass (chain and CROWN-per-box searches)', async () => {
  for (const depth of [4, 3] as const) {
    const g = needle(depth);
    const p = property(g, vnnlib([[0, 1], [0, 1]], '(assert (>= Y_0 0.5))', 1));
    const { serial, pooled } = await bothWays(g, p, { timeout_s: 60 });
    assert.equal(serial.method, 'input-split', `depth ${depth}: ${serial.method} ${serial.reason}`);
    assertValidCounterexample(g, p, serial);
    assertValidCounterexample(g, p, pooled);
    assert.equal(pooled.method, 'input-split');
    assert.ok(pooled.pool !== null && pooled.pool.counterexample, `depth ${depth}: the counterexample came from a worker (${JSON.stringify(pooled.pool)})`);
  }
});

test('cancelling while the workers search answers unknown and leaves no worker running', async () => {
  // ACAS Xu 4_8, property 1: thousands of domains, far more than the time to the first progress report.
  const dir = resolve(repoRoot, '..', 'shared', 'benchmarks', 'vnncomp', '2021_acasxu');
  const g = loadModelFile(join(dir, 'onnx', 'ACASXU_run2a_4_8_batch_2000.onnx')).graph;
  const p = readVnnlibFile(join(dir, 'vnnlib', 'prop_1.vnnlib'));
  const controller = new AbortController();
  let aliveAtCancel = -1;
  const o = await verifyProperty(g, p, {
    timeout_s: 600,
    workers: 2,
    workerStartAfter_s: 0,
    signal: controller.signal,
    onProgress: (message) => {
      // The first report from branch and bound with both workers up: cancel there.
      if (aliveAtCancel < 0 && message.startsWith('branch and bound') && babWorkersAlive() === 2) {
        aliveAtCancel = babWorkersAlive();
        controller.abort();
      }
    },
  });
  assert.equal(aliveAtCancel, 2, 'both workers were running when the cancel came');
  assert.equal(o.result, 'unknown');
  assert.match(o.reason ?? '', /cancelled/);
  assert.ok(o.pool !== null && o.pool.workers === 2);
  assert.equal(babWorkersAlive(), 0, 'every worker has exited when verifyProperty returns');
});

test('a timeout while the workers search answers timeout and leaves no worker running', async () => {
  // A chain whose y0 − y1 comes within 0.03 of the bound: hundreds of thousands of domains (over a minute in one
  // thread), so a 2 s timeout always falls inside the search.
  const g = mlp(randomLayers([2, 12, 12, 12, 2], 11));
  const p = property(g, vnnlib([[-1, 1], [-1, 1]], `(assert (>= Y_0 (+ Y_1 ${gridMax(g, -1, 1, 1000) + 0.03})))`, 2));
  const o = await verifyProperty(g, p, { timeout_s: 2, workers: 2, workerStartAfter_s: 0 });
  assert.equal(o.result, 'timeout', o.reason ?? '');
  assert.ok(o.pool !== null && o.pool.workers === 2, 'the pool was started');
  assert.equal(babWorkersAlive(), 0, 'every worker has exited when verifyProperty returns');
});

test('the 2021_test instances get their agreed answers with the pool too', async () => {
  for (const { name, graph, property: prop, expected } of vnncompTestInstances()) {
    const o = await verifyProperty(graph, prop, { timeout_s: 30, workers: 2, workerStartAfter_s: 0 });
    assert.equal(o.result, expected, `${name}: ${o.reason ?? ''}`);
    if (expected === 'sat') assertValidCounterexample(graph, prop, o);
  }
  assert.equal(babWorkersAlive(), 0);
});

test('workers must be a positive integer', async () => {
  const g = needle(3);
  const p = property(g, vnnlib([[0, 1], [0, 1]], '(assert (>= Y_0 0.5))', 1));
  await assert.rejects(verifyProperty(g, p, { timeout_s: 5, workers: 0 }), /workers/);
  await assert.rejects(verifyProperty(g, p, { timeout_s: 5, workers: 1.5 }), /workers/);
});
