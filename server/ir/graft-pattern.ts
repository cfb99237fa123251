// Recognises exported grafted ReLUs — Relu(x ⊙ k) + s ⊙ x + c in standard ops — and rewrites each into one GraftedRelu node.
//
// graftcert exports grafted models in standard ONNX (GRAFTING.md §5) so that onnxruntime and other verifiers run
// them. Reading such a file back, the pattern would bound as a Relu whose grafted neurons look "inactive" (their
// input is multiplied by 0) plus a parallel linear path: right numbers, wrong story. Rewriting it into GraftedRelu
// makes inspect, bounds and certify count those neurons as grafted, and the relaxation exact.
import type { Graph, IRNode, Tensor } from './graph';
import { sizeOf } from '../tensor/types';
import { broadcastIndex } from './ops/util';

export interface RecognisedGraft {
  /** Name of the GraftedRelu node that replaced the pattern. */
  readonly node: string;
  readonly size: number;
  readonly grafted: number;
}

/**
 * The graph with every grafted-ReLU pattern replaced by a `GraftedRelu` node (domain `graftcert`), or the same
 * graph object when there is none. A pattern matches only when its intermediate values feed nothing else, the
 * keep factor k is 0/1 per neuron, and the neurons kept as ReLU (k = 1) have s = 0 and c = 0 — so the rewrite
 * never changes what the graph computes.
 */
export function recogniseGraftedRelus(graph: Graph): { graph: Graph; grafts: RecognisedGraft[] } {
  const nodes = graph.nodes;
  const producer = new Map<string, number>();
  const readers = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) producer.set(o, i);
    for (const x of n.inputs) readers.set(x, (readers.get(x) ?? 0) + 1);
  });
  for (const o of graph.outputs) readers.set(o.name, (readers.get(o.name) ?? 0) + 1);
  const usedOnce = (value: string): boolean => readers.get(value) === 1;
  const constant = (name: string): Tensor | undefined => graph.constants.get(name);
  /** For a binary node with one constant input: [data input, constant name]. */
  const withConstant = (n: IRNode | undefined, opType: string): [string, string] | undefined => {
    if (n === undefined || n.opType !== opType || (n.domain !== '' && n.domain !== 'ai.onnx') || n.inputs.length !== 2) return undefined;
    const [a, b] = n.inputs;
    if (constant(b) !== undefined && constant(a) === undefined) return [a, b];
    if (constant(a) !== undefined && constant(b) === undefined) return [b, a];
    return undefined;
  };

  const replaced = new Set<number>();
  const insertAt = new Map<number, IRNode>();
  const constants = new Map<string, Tensor>(graph.constants);
  const dropValues: string[] = [];
  const grafts: RecognisedGraft[] = [];

  nodes.forEach((relu, r) => {
    if (relu.opType !== 'Relu' || (relu.domain !== '' && relu.domain !== 'ai.onnx')) return;
    const masked = relu.inputs[0];
    const keepMul = withConstant(nodes[producer.get(masked) ?? -1], 'Mul');
    if (keepMul === undefined || !usedOnce(masked) || !usedOnce(relu.outputs[0])) return;
    const [x, keepName] = keepMul;
    // The Add that joins the ReLU path and the linear path.
    const sumIndex = nodes.findIndex((n) => n.opType === 'Add' && n.inputs.includes(relu.outputs[0]));
    if (sumIndex < 0) return;
    const sum = nodes[sumIndex];
    const linear = sum.inputs[0] === relu.outputs[0] ? sum.inputs[1] : sum.inputs[0];
    const slopeMul = withConstant(nodes[producer.get(linear) ?? -1], 'Mul');
    if (slopeMul === undefined || slopeMul[0] !== x || !usedOnce(linear)) return;
    // An optional Add of a constant: the intercept.
    let last = sumIndex;
    let interceptName: string | undefined;
    if (usedOnce(sum.outputs[0])) {
      const nextIndex = nodes.findIndex((n) => n.inputs.includes(sum.outputs[0]));
      const bias = withConstant(nodes[nextIndex], 'Add');
      if (bias !== undefined) {
        last = nextIndex;
        interceptName = bias[1];
      }
    }
    const shape = graph.values.get(x)?.shape;
    if (shape === undefined) return;
    const expand = (t: Tensor): Float64Array | undefined => {
      if (t.dims.length > shape.length && sizeOf(t.dims) !== 1) return undefined;
      const dims = t.dims.length > shape.length ? [] : t.dims;
      if (!dims.every((d, i) => d === 1 || d === shape[shape.length - dims.length + i])) return undefined;
      const map = broadcastIndex(dims, shape);
      return Float64Array.from(map, (m) => t.data[m]);
    };
    const keep = expand(constant(keepName)!);
    const slope = expand(constant(slopeMul[1])!);
    const intercept = interceptName === undefined ? new Float64Array(sizeOf(shape)) : expand(constant(interceptName)!);
    if (keep === undefined || slope === undefined || intercept === undefined) return;
    let grafted = 0;
    for (let i = 0; i < keep.length; i++) {
      if (keep[i] === 0) grafted++;
      else if (keep[i] !== 1 || slope[i] !== 0 || intercept[i] !== 0) return;
    }
    const base = relu.name.replace(/_graft_relu$/, '');
    const name = (suffix: string): string => {
      let candidate = `${base}_graft_${suffix}`;
      while (constants.has(candidate) || graph.values.has(candidate)) candidate += '_';
      return candidate;
    };
    const maskName = name('mask'), aName = name('a'), bName = name('b');
    const dims = [...shape];
    constants.set(maskName, { dtype: 'float32', dims, data: keep.map((k) => 1 - k) });
    constants.set(aName, { dtype: 'float32', dims, data: slope });
    constants.set(bName, { dtype: 'float32', dims, data: intercept });
    const indices = [producer.get(masked)!, r, producer.get(linear)!, sumIndex, last];
    for (const i of indices) replaced.add(i);
    insertAt.set(last, { name: base, opType: 'GraftedRelu', domain: 'graftcert', inputs: [x, maskName, aName, bName], outputs: [nodes[last].outputs[0]], attrs: {} });
    dropValues.push(masked, relu.outputs[0], linear, ...(last !== sumIndex ? [sum.outputs[0]] : []));
    grafts.push({ node: base, size: sizeOf(shape.slice(1)), grafted });
  });
  if (grafts.length === 0) return { graph, grafts };

  const rewritten: IRNode[] = [];
  nodes.forEach((n, i) => {
    const g = insertAt.get(i);
    if (g !== undefined) rewritten.push(g);
    else if (!replaced.has(i)) rewritten.push(n);
  });
  const values = new Map(graph.values);
  for (const v of dropValues) values.delete(v);
  // Constants only the pattern read (the exported keep/slope/intercept tensors) go with it.
  const wasRead = new Set(nodes.flatMap((n) => n.inputs));
  const stillRead = new Set(rewritten.flatMap((n) => n.inputs));
  const outputs = new Set(graph.outputs.map((o) => o.name));
  for (const name of [...constants.keys()]) if (wasRead.has(name) && !stillRead.has(name) && !outputs.has(name)) constants.delete(name);
  return { graph: { ...graph, nodes: rewritten, constants, values }, grafts };
}
