// Batched forward evaluation of the IR in float32 or float64: the reference the bounds are checked against.
import type { Graph, IRNode, Tensor } from './graph';
import { getOp } from './ops/index';
import { OpError, type OpDef, type Operand } from './ops/types';
import { sizeOf, type FloatArray, type Precision } from '../tensor/types';

export interface EvaluateOptions {
  /** 'outputs' (default): only graph outputs are returned; 'all': every input, node output and graph output. */
  keep?: 'outputs' | 'all';
}

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/** Constants converted once per precision (float weights rounded to float32 in float32 mode; integers stay float64). */
const constantCache: Record<Precision, WeakMap<Tensor, FloatArray>> = { float32: new WeakMap(), float64: new WeakMap() };

function constantData(t: Tensor, precision: Precision): FloatArray {
  if (precision === 'float64' || !FLOAT_TYPES.has(t.dtype)) return t.data;
  let d = constantCache.float32.get(t);
  if (!d) {
    d = Float32Array.from(t.data);
    constantCache.float32.set(t, d);
  }
  return d;
}

function toPrecision(data: FloatArray, precision: Precision): FloatArray {
  if (precision === 'float32') return data instanceof Float32Array ? data : Float32Array.from(data);
  return data instanceof Float64Array ? data : Float64Array.from(data);
}

/**
 * Evaluate `batch` samples. `input` holds the samples of the single graph input contiguously (C order, each of the
 * input's IR shape, batch dimension 1 included); a Map gives one such array per graph input by name.
 * Returns the graph outputs (or every value with `keep: 'all'`) as `batch * size(shape)` arrays of `precision`'s type.
 */
export function evaluate(
  graph: Graph,
  input: Float64Array | Float32Array | ReadonlyMap<string, FloatArray>,
  batch: number,
  precision: Precision,
  options: EvaluateOptions = {},
): Map<string, FloatArray> {
  if (!Number.isInteger(batch) || batch < 1) throw new OpError(`evaluate needs a batch of at least 1 sample, got ${batch}`);
  const keepAll = options.keep === 'all';
  const values = new Map<string, FloatArray>();

  if (input instanceof Float32Array || input instanceof Float64Array) {
    if (graph.inputs.length !== 1) {
      throw new OpError(`the model has ${graph.inputs.length} inputs (${graph.inputs.map((v) => v.name).join(', ')}); pass a Map of arrays by input name`);
    }
    values.set(graph.inputs[0].name, checkedInput(graph.inputs[0].name, graph.inputs[0].shape, input, batch, precision));
  } else {
    for (const v of graph.inputs) {
      const data = input.get(v.name);
      if (!data) throw new OpError(`no data given for model input '${v.name}'`);
      values.set(v.name, checkedInput(v.name, v.shape, data, batch, precision));
    }
  }

  // Last reader of each value, so intermediate arrays can be dropped early when only outputs are kept.
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.inputs.forEach((name) => name !== '' && lastUse.set(name, i)));
  const outputNames = new Set(graph.outputs.map((o) => o.name));

  graph.nodes.forEach((node, index) => {
    const op = requireOp(node);
    const operands: (Operand | undefined)[] = node.inputs.map((name) => {
      if (name === '') return undefined;
      const c = graph.constants.get(name);
      if (c) return { shape: c.dims, data: constantData(c, precision), constant: true, dtype: c.dtype };
      const data = values.get(name);
      const info = graph.values.get(name);
      if (!data || !info) throw new OpError(`node '${node.name}' (${node.opType}) reads '${name}', which has not been computed`);
      return { shape: info.shape, data, constant: false, dtype: info.dtype };
    });
    const outputShapes = node.outputs.map((name) => graph.values.get(name)?.shape ?? []);
    const results = op.forward(node, operands, outputShapes, batch, precision, graph.opset);
    node.outputs.forEach((name, i) => {
      if (name === '' || !results[i]) return;
      const expected = batch * sizeOf(outputShapes[i]);
      if (results[i].length !== expected) {
        throw new OpError(`node '${node.name}' (${node.opType}) produced ${results[i].length} values for '${name}', expected ${expected}`);
      }
      values.set(name, results[i]);
    });
    if (!keepAll) {
      for (const name of node.inputs) {
        if (name !== '' && lastUse.get(name) === index && !outputNames.has(name)) values.delete(name);
      }
    }
  });

  const result = keepAll ? values : new Map<string, FloatArray>();
  for (const out of graph.outputs) {
    if (values.has(out.name)) {
      result.set(out.name, values.get(out.name)!);
      continue;
    }
    const c = graph.constants.get(out.name);
    if (!c) throw new OpError(`graph output '${out.name}' was not computed`);
    // A constant output is the same for every sample.
    const one = toPrecision(c.data, precision);
    const all = precision === 'float32' ? new Float32Array(one.length * batch) : new Float64Array(one.length * batch);
    for (let b = 0; b < batch; b++) all.set(one, b * one.length);
    result.set(out.name, all);
  }
  return result;
}

function checkedInput(name: string, shape: readonly number[], data: FloatArray, batch: number, precision: Precision): FloatArray {
  const expected = batch * sizeOf(shape);
  if (data.length !== expected) {
    throw new OpError(`input '${name}' needs ${batch} × ${sizeOf(shape)} = ${expected} values (shape [${shape.join(', ')}]), got ${data.length}`);
  }
  return toPrecision(data, precision);
}

const opCache = new WeakMap<IRNode, OpDef>();

function requireOp(node: IRNode): OpDef {
  let op = opCache.get(node);
  if (!op) {
    op = getOp(node.opType, node.domain);
    if (!op) throw new OpError(`op ${node.opType} (node '${node.name}') is not supported`);
    opCache.set(node, op);
  }
  return op;
}
