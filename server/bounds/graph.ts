// The bound graph: the model's nodes as bound ops (topological order), with every unsupported op collected.
import type { Graph, Tensor } from '../ir/graph';
import { sizeOf } from '../tensor/types';
import { fuseAffine } from './fuse';
import { boundOpBuilder } from './ops/registry';
import { UnsupportedOp, type BoundOp, type BuildContext, type NonlinearBoundOp } from './ops/types';

export interface BoundGraph {
  readonly graph: Graph;
  readonly input: string;
  readonly inputSize: number;
  readonly output: string;
  readonly outputSize: number;
  readonly ops: readonly BoundOp[];
  /** Value name → index in `ops` of the op producing it. */
  readonly producer: ReadonlyMap<string, number>;
  /** Indices of the nonlinear ops, in graph order. */
  readonly nonlinear: readonly number[];
  /** Largest number of elements of any value (sizes row blocks). */
  readonly maxValueSize: number;
}

export interface UnsupportedNode {
  readonly node: string;
  readonly opType: string;
  readonly detail: string;
}

/** A model the engine cannot bound: every offending node, named together. */
export class UnsupportedModelError extends Error {
  constructor(readonly method: string, readonly nodes: readonly UnsupportedNode[]) {
    super(
      `${method} cannot bound ${nodes.length === 1 ? 'this op' : `these ${nodes.length} ops`}: ` +
        nodes.map((n) => `${n.detail} (node '${n.node}')`).join('; ') +
        '. Remove or replace them, or export the model without them.',
    );
    this.name = 'UnsupportedModelError';
  }
}

export interface BuildOptions {
  /** Compose chains of affine ops into one op each (fuse.ts; default true). */
  fuse?: boolean;
}

export function buildBoundGraph(graph: Graph, method = 'bound propagation', options: BuildOptions = {}): BoundGraph {
  const unsupported: UnsupportedNode[] = [];
  if (graph.inputs.length !== 1) {
    unsupported.push({
      node: graph.name,
      opType: 'graph',
      detail: `a model with ${graph.inputs.length} non-constant inputs (exactly one is supported)`,
    });
    throw new UnsupportedModelError(method, unsupported);
  }
  const input = graph.inputs[0].name;
  const output = graph.outputs[0].name;
  const shape = (name: string): readonly number[] => {
    const v = graph.values.get(name);
    if (v === undefined) throw new UnsupportedOp(`a value '${name}' without a static shape`);
    return v.shape;
  };
  const ctx: BuildContext = {
    graph,
    constant: (name: string): Tensor | undefined => graph.constants.get(name),
    shape,
  };
  // Only the nodes the output depends on matter.
  const needed = new Set<string>([output]);
  const relevant: boolean[] = new Array(graph.nodes.length).fill(false);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (!node.outputs.some((o) => needed.has(o))) continue;
    relevant[i] = true;
    for (const name of node.inputs) if (name !== '' && !graph.constants.has(name)) needed.add(name);
  }
  let ops: BoundOp[] = [];
  graph.nodes.forEach((node, i) => {
    if (!relevant[i]) return;
    const builder = boundOpBuilder(node);
    if (builder === undefined) {
      unsupported.push({ node: node.name, opType: node.opType, detail: node.opType });
      return;
    }
    if (!node.inputs.some((name) => name !== '' && !graph.constants.has(name))) {
      unsupported.push({ node: node.name, opType: node.opType, detail: `${node.opType} on constants only (not folded)` });
      return;
    }
    try {
      ops.push(...builder(node, ctx));
    } catch (e) {
      if (!(e instanceof UnsupportedOp)) throw e;
      unsupported.push({ node: node.name, opType: node.opType, detail: e.detail });
    }
  });
  if (!needed.has(input) && unsupported.length === 0 && output !== input)
    unsupported.push({ node: graph.name, opType: 'graph', detail: 'an output that does not depend on the input' });
  if (unsupported.length > 0) throw new UnsupportedModelError(method, unsupported);
  if (options.fuse !== false) ops = fuseAffine(ops, output);
  const producer = new Map<string, number>();
  ops.forEach((op, i) => producer.set(op.output, i));
  const nonlinear = ops.flatMap((op, i) => (op.kind === 'nonlinear' ? [i] : []));
  let maxValueSize = sizeOf(shape(input));
  for (const op of ops) maxValueSize = Math.max(maxValueSize, op.outputSize);
  return {
    graph,
    input,
    inputSize: sizeOf(shape(input)),
    output,
    outputSize: sizeOf(shape(output)),
    ops,
    producer,
    nonlinear,
    maxValueSize,
  };
}

export function nonlinearOp(bg: BoundGraph, index: number): NonlinearBoundOp {
  const op = bg.ops[index];
  if (op.kind !== 'nonlinear') throw new Error(`op ${index} is not nonlinear`);
  return op;
}
