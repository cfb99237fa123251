// Soundness on random small networks of every supported op: sampled activations lie inside IBP, CROWN and α-CROWN bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Graph, IRNode, Tensor } from '../../server/ir/graph';
import { evaluate } from '../../server/ir/forward';
import { attr, encodeModel, type ModelSpec, type NodeSpec } from '../../server/onnx/encode';
import { loadModelBytes } from '../../server/onnx/load';
import { buildBoundGraph, computeBounds, linfBall, marginSpec, type BoundGraph } from '../../server/bounds/index';
import { randomTensor, rng, testSeed } from '../helpers/onnx-models';

const seed = testSeed('bounds-soundness');
const next = rng(seed);
const SAMPLES = 300;

function t(name: string, dims: number[], scale = 0.6) {
  return randomTensor(name, dims, next, scale);
}
function positive(name: string, dims: number[]) {
  const r = randomTensor(name, dims, next, 1);
  (r.data as Float32Array).forEach((v, i, a) => (a[i] = 0.5 + Math.abs(v)));
  return r;
}
function n(opType: string, inputs: string[], outputs: string[], attrs: NodeSpec['attrs'] = {}): NodeSpec {
  return { opType, inputs, outputs, attrs, name: `${opType}_${outputs[0]}` };
}

/** Conv (stride, pad, groups), BN, residual Add, MaxPool, Pad, AveragePool, Flatten, Gemm, Sigmoid, Tanh. */
function convNet(): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1, 2, 6, 6] }],
    outputs: [{ name: 'y', shape: [1, 3] }],
    initializers: [
      t('w1', [4, 2, 3, 3]), t('b1', [4]),
      positive('bn_s', [4]), t('bn_b', [4]), t('bn_m', [4]), positive('bn_v', [4]),
      t('w2', [4, 2, 3, 3]), t('b2', [4]),
      t('g1', [8, 16]), t('gb1', [8]), t('g2', [6, 8]), t('gb2', [6]), t('g3', [3, 6]), t('gb3', [3]),
      { name: 'pads', dims: [8], dtype: 'int64', data: [0, 0, 1, 0, 0, 0, 0, 1] },
    ],
    nodes: [
      n('Conv', ['x', 'w1', 'b1'], ['c1'], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
      n('BatchNormalization', ['c1', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], ['bn1']),
      n('Relu', ['bn1'], ['r1']),
      n('Conv', ['r1', 'w2', 'b2'], ['c2'], { pads: attr.ints([1, 1, 1, 1]), group: attr.int(2) }),
      n('Add', ['c2', 'r1'], ['res']),
      n('Relu', ['res'], ['r2']),
      n('MaxPool', ['r2'], ['mp'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([1, 1]) }),
      n('Pad', ['mp', 'pads'], ['pd']),
      n('AveragePool', ['pd'], ['ap'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([1, 1]) }),
      n('Flatten', ['ap'], ['fl']),
      n('Gemm', ['fl', 'g1', 'gb1'], ['h1'], { transB: attr.int(1) }),
      n('Sigmoid', ['h1'], ['s1']),
      n('Gemm', ['s1', 'g2', 'gb2'], ['h2'], { transB: attr.int(1) }),
      n('Tanh', ['h2'], ['t2']),
      n('Gemm', ['t2', 'g3', 'gb3'], ['y'], { transB: attr.int(1) }),
    ],
  };
}

/** ConvTranspose, Sub/Mul/Div by constants, Neg, Transpose, Reshape, Concat, Slice, GlobalAveragePool, MatMul. */
function shapeNet(): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1, 2, 3, 3] }],
    outputs: [{ name: 'y', shape: [1, 4] }],
    initializers: [
      t('wt', [2, 3, 3, 3]), t('bt', [3]),
      t('sub', [1, 3, 1, 1]), positive('mul', [3, 1, 1]), positive('div', [1]),
      { name: 'shape', dims: [2], dtype: 'int64', data: [1, -1] },
      { name: 'starts', dims: [1], dtype: 'int64', data: [1] },
      { name: 'ends', dims: [1], dtype: 'int64', data: [40] },
      { name: 'axes', dims: [1], dtype: 'int64', data: [1] },
      t('m1', [42, 10]), t('mb', [10]), t('m2', [10, 4]),
    ],
    nodes: [
      n('ConvTranspose', ['x', 'wt', 'bt'], ['ct'], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), output_padding: attr.ints([1, 1]) }),
      n('Relu', ['ct'], ['r1']),
      n('Sub', ['r1', 'sub'], ['s']),
      n('Mul', ['s', 'mul'], ['m']),
      n('Div', ['m', 'div'], ['d']),
      n('Neg', ['d'], ['ng']),
      n('Transpose', ['ng'], ['tr'], { perm: attr.ints([0, 2, 3, 1]) }),
      n('Reshape', ['tr', 'shape'], ['rs']),
      n('Slice', ['rs', 'starts', 'ends', 'axes'], ['sl']),
      n('GlobalAveragePool', ['ct'], ['gap']),
      n('Flatten', ['gap'], ['gf']),
      n('Concat', ['sl', 'gf'], ['cat'], { axis: attr.int(1) }),
      n('MatMul', ['cat', 'm1'], ['mm']),
      n('Add', ['mm', 'mb'], ['a1']),
      n('Relu', ['a1'], ['r2']),
      n('Sub', ['r2', 'r2'], ['zero']),
      n('Add', ['zero', 'r2'], ['r3']),
      n('MatMul', ['r3', 'm2'], ['y']),
    ],
  };
}

/** Input normalisation and per-channel affine ops around convolutions and dense layers: what fuse.ts composes. */
function normNet(): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1, 2, 5, 5] }],
    outputs: [{ name: 'y', shape: [1, 3] }],
    initializers: [
      t('mean', [1, 2, 1, 1]), positive('std', [1, 2, 1, 1]),
      t('w1', [3, 2, 3, 3]), t('b1', [3]),
      positive('s1', [1, 3, 1, 1]), t('a1', [1, 3, 1, 1]),
      t('w2', [4, 3, 2, 2]),
      t('g1', [36, 6]), t('gb1', [6]), t('m2', [6, 3]), t('mb2', [3]),
    ],
    nodes: [
      n('Sub', ['x', 'mean'], ['xs']),
      n('Div', ['xs', 'std'], ['xn']),
      n('Conv', ['xn', 'w1', 'b1'], ['c1'], { pads: attr.ints([1, 1, 1, 1]) }),
      n('Mul', ['c1', 's1'], ['m1']),
      n('Add', ['m1', 'a1'], ['p1']),
      n('Relu', ['p1'], ['r1']),
      n('Conv', ['r1', 'w2'], ['c2'], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 0, 0]) }),
      n('Relu', ['c2'], ['r2']),
      n('Flatten', ['r2'], ['f']),
      n('Gemm', ['f', 'g1', 'gb1'], ['h']),
      n('Relu', ['h'], ['r3']),
      n('MatMul', ['r3', 'm2'], ['mm']),
      n('Add', ['mm', 'mb2'], ['y']),
    ],
  };
}

/** Samples: the box's two extreme corners, random vertices and random interior points. */
function samples(lower: Float64Array, upper: Float64Array, count: number): Float64Array {
  const d = lower.length;
  const x = new Float64Array(count * d);
  for (let s = 0; s < count; s++)
    for (let i = 0; i < d; i++) {
      const u = s === 0 ? 0 : s === 1 ? 1 : s < count / 2 ? (next() < 0.5 ? 0 : 1) : next();
      x[s * d + i] = lower[i] + u * (upper[i] - lower[i]);
    }
  return x;
}

/** Forward pass through the bound ops themselves (for ops only graftcert knows, such as GraftedRelu). */
function forwardSelf(bg: BoundGraph, x: Float64Array): Map<string, Float64Array> {
  const v = new Map<string, Float64Array>([[bg.input, x]]);
  for (const op of bg.ops) {
    if (op.kind === 'nonlinear') v.set(op.output, op.evaluate(v.get(op.input)!));
    else {
      const y = Float64Array.from(op.applyLinear(op.inputs.map((i) => v.get(i)!), 1));
      if (op.bias) y.forEach((_, j) => (y[j] += op.bias![j]));
      v.set(op.output, y);
    }
  }
  return v;
}

function checkSound(graph: Graph, label: string, evaluateWith: 'onnx' | 'self', fuse = true): void {
  const bg = buildBoundGraph(graph, undefined, { fuse });
  const x0 = Float64Array.from({ length: bg.inputSize }, () => next() * 2 - 1);
  const eps = 0.05 + 0.3 * next();
  const region = linfBall(x0, eps);
  const spec = marginSpec(bg.outputSize, 0);
  const xs = samples(region.lower, region.upper, SAMPLES);
  const values: Map<string, Float64Array>[] = [];
  if (evaluateWith === 'onnx') {
    const all = evaluate(graph, xs, SAMPLES, 'float64', { keep: 'all' });
    for (let s = 0; s < SAMPLES; s++) {
      const m = new Map<string, Float64Array>();
      for (const [name, data] of all) {
        const size = data.length / SAMPLES;
        m.set(name, Float64Array.from(data.subarray(s * size, (s + 1) * size)));
      }
      values.push(m);
      // The bound ops compute what the forward engine computes.
      const self = forwardSelf(bg, xs.slice(s * bg.inputSize, (s + 1) * bg.inputSize));
      for (const [name, data] of self) {
        const ref = m.get(name)!;
        for (let j = 0; j < data.length; j++) assert.ok(Math.abs(data[j] - ref[j]) <= 1e-9 * (1 + Math.abs(ref[j])), `${label}: bound op for ${name} disagrees with the forward pass`);
      }
    }
  } else for (let s = 0; s < SAMPLES; s++) values.push(forwardSelf(bg, xs.slice(s * bg.inputSize, (s + 1) * bg.inputSize)));
  for (const method of ['ibp', 'crown', 'alpha-crown'] as const) {
    const r = computeBounds(bg, region, { method, spec, alpha: { iterations: 20 } });
    let checked = 0;
    for (const m of values) {
      const check = (name: string, lo: Float64Array, hi: Float64Array): void => {
        const v = m.get(name)!;
        for (let j = 0; j < v.length; j++) {
          const tol = 1e-9 * (1 + Math.abs(v[j]));
          assert.ok(v[j] >= lo[j] - tol && v[j] <= hi[j] + tol, `${label} ${method}: ${name}[${j}] = ${v[j]} outside [${lo[j]}, ${hi[j]}] (seed ${seed})`);
          checked++;
        }
      };
      for (const [name, b] of r.preActivations) check(name, b.lower, b.upper);
      check(bg.output, r.output.lower, r.output.upper);
      const y = m.get(bg.output)!;
      spec.others.forEach((j, k) => {
        const margin = y[spec.label] - y[j];
        assert.ok(margin >= r.spec!.lower[k] - 1e-9 * (1 + Math.abs(margin)) && margin <= r.spec!.upper[k] + 1e-9 * (1 + Math.abs(margin)), `${label} ${method}: margin ${k} outside its bounds`);
      });
    }
    assert.ok(checked > 0);
  }
}

test('random conv network (Conv stride/pad/groups, BN, residual Add, MaxPool, Pad, AveragePool, Sigmoid, Tanh) is bounded soundly', () => {
  for (let rep = 0; rep < 3; rep++)
    for (const fuse of [true, false]) checkSound(loadModelBytes(encodeModel(convNet()), 'conv.onnx').graph, `convNet#${rep}${fuse ? '' : ' unfused'}`, 'onnx', fuse);
});

test('random network of ConvTranspose, constant arithmetic, two-branch Sub/Add and shape ops is bounded soundly', () => {
  for (let rep = 0; rep < 3; rep++)
    for (const fuse of [true, false]) checkSound(loadModelBytes(encodeModel(shapeNet()), 'shape.onnx').graph, `shapeNet#${rep}${fuse ? '' : ' unfused'}`, 'onnx', fuse);
});

test('random normalised network (per-channel Sub/Div before a padded Conv, Conv → Mul → Add, MatMul → Add) is bounded soundly, fused or not', () => {
  for (let rep = 0; rep < 3; rep++)
    for (const fuse of [true, false]) checkSound(loadModelBytes(encodeModel(normNet()), 'norm.onnx').graph, `normNet#${rep}${fuse ? '' : ' unfused'}`, 'onnx', fuse);
});

test('fusion composes each layer into one op and leaves every bound as it was (to rounding allowances)', () => {
  for (const [label, spec] of [['normNet', normNet()], ['convNet', convNet()], ['shapeNet', shapeNet()]] as const) {
    const graph = loadModelBytes(encodeModel(spec), `${label}.onnx`).graph;
    const fused = buildBoundGraph(graph);
    const plain = buildBoundGraph(graph, undefined, { fuse: false });
    if (label === 'normNet') {
      // Sub → Div → Conv → Mul → Add, Relu, Conv, Relu, Flatten → Gemm, Relu, MatMul → Add.
      assert.deepEqual(fused.ops.map((o) => `${o.node.opType}:${o.constructor.name}`), [
        'Add:ConvMap', 'Relu:ReluBound', 'Conv:ConvMap', 'Relu:ReluBound', 'Gemm:DenseMap', 'Relu:ReluBound', 'Add:DenseMap',
      ]);
    }
    assert.ok(fused.ops.length < plain.ops.length, `${label}: nothing was fused`);
    for (const op of fused.ops)
      if (op.kind === 'linear' && op.biasMagnitude !== null)
        op.biasMagnitude.forEach((m, j) => assert.ok(m >= Math.abs(op.bias![j]), `${label}: bias magnitude below |bias| at ${op.output}[${j}]`));
    const region = linfBall(Float64Array.from({ length: fused.inputSize }, () => next() * 2 - 1), 0.1);
    const margin = marginSpec(fused.outputSize, 1);
    for (const method of ['ibp', 'crown'] as const) {
      const a = computeBounds(fused, region, { method, spec: margin });
      const b = computeBounds(plain, region, { method, spec: margin });
      const close = (x: Float64Array, y: Float64Array, what: string): void =>
        x.forEach((v, j) => assert.ok(Math.abs(v - y[j]) <= 1e-7 * (1 + Math.abs(y[j])), `${label} ${method} ${what}[${j}]: fused ${v}, unfused ${y[j]}`));
      close(a.output.lower, b.output.lower, 'output lower');
      close(a.output.upper, b.output.upper, 'output upper');
      close(a.spec!.lower, b.spec!.lower, 'margin lower');
      a.layers.forEach((l, i) => {
        assert.equal(l.unstable, b.layers[i].unstable);
        close(l.lower, b.layers[i].lower, `layer ${i} lower`);
      });
    }
  }
});

/** fc net with its middle Relu replaced by a GraftedRelu (mask on half the neurons). */
function graftedGraph(): { graph: Graph; mask: Float64Array; slope: Float64Array } {
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 6] }],
    outputs: [{ name: 'y', shape: [1, 3] }],
    initializers: [t('w1', [8, 6]), t('b1', [8]), t('w2', [3, 8]), t('b2', [3])],
    nodes: [
      n('Gemm', ['x', 'w1', 'b1'], ['h'], { transB: attr.int(1) }),
      n('Relu', ['h'], ['r']),
      n('Gemm', ['r', 'w2', 'b2'], ['y'], { transB: attr.int(1) }),
    ],
  };
  const g = loadModelBytes(encodeModel(spec), 'graft.onnx').graph;
  const mask = Float64Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const slope = Float64Array.from({ length: 8 }, () => next() * 2 - 1);
  const intercept = Float64Array.from({ length: 8 }, () => next() - 0.5);
  const tensor = (data: Float64Array): Tensor => ({ dtype: 'float32', dims: [1, 8], data });
  const constants = new Map(g.constants);
  constants.set('graft_mask', tensor(mask));
  constants.set('graft_slope', tensor(slope));
  constants.set('graft_intercept', tensor(intercept));
  const nodes: IRNode[] = g.nodes.map((node) =>
    node.opType === 'Relu' ? { ...node, opType: 'GraftedRelu', domain: 'graftcert', inputs: [node.inputs[0], 'graft_mask', 'graft_slope', 'graft_intercept'] } : node,
  );
  return { graph: { ...g, nodes, constants }, mask, slope };
}

test('grafted ReLU: sound, exact (width |a|·input width), never unstable, counted as grafted', () => {
  for (let rep = 0; rep < 3; rep++) {
    const { graph, mask, slope } = graftedGraph();
    checkSound(graph, `grafted#${rep}`, 'self');
    const bg = buildBoundGraph(graph);
    const region = linfBall(Float64Array.from({ length: 6 }, () => next() - 0.5), 1.5);
    for (const method of ['ibp', 'crown', 'alpha-crown'] as const) {
      const r = computeBounds(bg, region, { method, alpha: { iterations: 10 } });
      const layer = r.layers[0];
      assert.equal(layer.grafted, 4);
      assert.equal(layer.unstable + layer.active + layer.inactive + layer.grafted, 8);
      // The grafted neurons' output interval (IBP image of the pre-activation interval) is exact.
      const relu = bg.ops.find((o) => o.kind === 'nonlinear')!;
      assert.ok(relu.kind === 'nonlinear');
      const out = relu.interval(layer.lower, layer.upper);
      for (let j = 0; j < 8; j++) {
        if (!mask[j]) continue;
        const w = out.upper[j] - out.lower[j];
        const expected = Math.abs(slope[j]) * (layer.upper[j] - layer.lower[j]);
        assert.ok(Math.abs(w - expected) <= 1e-12 * (1 + expected), `grafted neuron ${j}: width ${w}, expected ${expected}`);
      }
      // CROWN through a fully grafted (hence affine) layer is exact: a sample attains each output bound closely.
    }
  }
});

test('unsupported ops are reported together, each with its node and the method', () => {
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y', shape: [1, 4] }],
    nodes: [n('Softmax', ['x'], ['s']), n('Mul', ['s', 's'], ['m']), n('Exp', ['m'], ['y'])],
  };
  const g = loadModelBytes(encodeModel(spec), 'bad.onnx').graph;
  assert.throws(() => computeBounds(g, linfBall([0, 0, 0, 0], 0.1), { method: 'crown' }), (e: Error) => {
    assert.match(e.message, /^crown cannot bound these 3 ops/);
    assert.match(e.message, /Softmax \(node 'Softmax_s'\)/);
    assert.match(e.message, /Mul of two non-constant operands \(node 'Mul_m'\)/);
    assert.match(e.message, /Exp \(node 'Exp_y'\)/);
    return true;
  });
});
