// Small networks and properties for the verification tests: dense ReLU networks from explicit weights, VNN-LIB text
// for a box and an output constraint, and the check that a sat answer's counterexample really holds.
import assert from 'node:assert/strict';
import { parseVnnlib, type VnnlibProperty } from '../../server/certify/vnnlib/index';
import type { VerifyOutcome } from '../../server/certify/verify/index';
import { evaluate } from '../../server/ir/forward';
import type { Graph } from '../../server/ir/graph';
import { encodeModel, type ModelSpec } from '../../server/onnx/encode';
import { loadModelBytes, loadModelFile } from '../../server/onnx/load';
import { readVnnlibFile } from '../../server/certify/vnnlib/index';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './onnx-models';

export const gemm = (x: string, w: string, b: string, y: string) => ({ opType: 'Gemm', inputs: [x, w, b], outputs: [y], attrs: { transB: { kind: 'int' as const, value: 1 } } });

/** x[1,n] → Gemm → Relu → Gemm → ... → y[1,m], with the given weights (row-major out × in). */
export function mlp(layers: { w: number[][]; b: number[] }[]): Graph {
  const nodes = [];
  const initializers = [];
  let x = 'x';
  for (const [i, l] of layers.entries()) {
    const out = l.w.length;
    const inp = l.w[0].length;
    initializers.push({ name: `W${i}`, dims: [out, inp], data: Float32Array.from(l.w.flat()) });
    initializers.push({ name: `b${i}`, dims: [out], data: Float32Array.from(l.b) });
    const last = i === layers.length - 1;
    nodes.push(gemm(x, `W${i}`, `b${i}`, last ? 'y' : `h${i}`));
    if (!last) {
      nodes.push({ opType: 'Relu', inputs: [`h${i}`], outputs: [`a${i}`], name: `relu${i}` });
      x = `a${i}`;
    }
  }
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, layers[0].w[0].length] }],
    outputs: [{ name: 'y', shape: [1, layers[layers.length - 1].w.length] }],
    nodes,
    initializers,
  };
  return loadModelBytes(encodeModel(spec), 'test.onnx').graph;
}

export function property(graph: Graph, text: string): VnnlibProperty {
  const nIn = graph.inputs[0].shape.reduce((a, b) => a * b, 1);
  const nOut = graph.outputs[0].shape.reduce((a, b) => a * b, 1);
  return parseVnnlib(text, { nInputs: nIn, nOutputs: nOut });
}

export function vnnlib(box: [number, number][], outputs: string, nOut: number): string {
  const lines = [...box.map((_, i) => `(declare-const X_${i} Real)`), ...Array.from({ length: nOut }, (_, j) => `(declare-const Y_${j} Real)`)];
  box.forEach(([l, u], i) => lines.push(`(assert (>= X_${i} ${l}))`, `(assert (<= X_${i} ${u}))`));
  lines.push(outputs);
  return lines.join('\n') + '\n';
}

/** A sat answer's counterexample lies in a box of the property and meets a disjunct in the float64 forward pass. */
export function assertValidCounterexample(graph: Graph, p: VnnlibProperty, o: VerifyOutcome): void {
  assert.equal(o.result, 'sat');
  const ce = o.counterexample!;
  const y = evaluate(graph, Float64Array.from(ce.x), 1, 'float64').get(graph.outputs[0].name)!;
  assert.deepEqual(Array.from(y), Array.from(ce.y), 'y is the float64 forward pass of x');
  const ok = p.specs.some((s) => {
    if (!Array.from(ce.x).every((v, i) => v >= s.box.lower[i] && v <= s.box.upper[i])) return false;
    return s.disjuncts.some((d) => {
      for (let r = 0; r < d.rows; r++) {
        let a = 0;
        for (let j = 0; j < y.length; j++) a += d.A[r * y.length + j] * y[j];
        if (!(a <= d.b[r])) return false;
      }
      return true;
    });
  });
  assert.ok(ok, 'the counterexample is in the box and meets every row of a disjunct');
}

/** The 2021_test instances of the shared VNN-COMP set, loaded, with the competition's agreed answer. */
export function vnncompTestInstances(): { name: string; graph: Graph; property: VnnlibProperty; expected: 'sat' | 'unsat' }[] {
  const dir = resolve(repoRoot, '..', 'shared', 'benchmarks', 'vnncomp', '2021_test');
  assert.ok(existsSync(dir), `the shared benchmarks folder ${dir} is missing — check out shared/ beside the repository`);
  return ([
    ['test_sat', 'test_prop', 'sat'],
    ['test_unsat', 'test_prop', 'unsat'],
    ['test_nano', 'test_nano', 'unsat'],
  ] as const).map(([model, prop, expected]) => ({
    name: model,
    graph: loadModelFile(join(dir, 'onnx', `${model}.onnx`)).graph,
    property: readVnnlibFile(join(dir, 'vnnlib', `${prop}.vnnlib`)),
    expected,
  }));
}
