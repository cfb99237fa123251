// Test harness for op definitions: builds an IRNode, runs shape inference then a batched forward pass.
import type { AttrValue, DataType, IRNode } from '../../server/ir/graph';
import type { InputInfo, Operand } from '../../server/ir/ops/types';
import { getOp } from '../../server/ir/ops';
import type { Precision } from '../../server/tensor/types';

export const int = (value: number): AttrValue => ({ kind: 'int', value });
export const float = (value: number): AttrValue => ({ kind: 'float', value });
export const ints = (value: number[]): AttrValue => ({ kind: 'ints', value });
export const floats = (value: number[]): AttrValue => ({ kind: 'floats', value });
export const str = (value: string): AttrValue => ({ kind: 'string', value });
export const tensorAttr = (dtype: DataType, dims: number[], data: number[]): AttrValue => ({
  kind: 'tensor',
  value: { dtype, dims, data: Float64Array.from(data) },
});

/** One test input: `data` holds one sample, or `batch` samples for a non-constant input. */
export interface TestInput {
  shape: number[];
  data: number[];
  constant?: boolean;
  dtype?: DataType;
}
export const c = (shape: number[], data: number[], dtype: DataType = 'float32'): TestInput => ({ shape, data, constant: true, dtype });
export const x = (shape: number[], data: number[], dtype: DataType = 'float32'): TestInput => ({ shape, data, dtype });

export function makeNode(opType: string, attrs: Record<string, AttrValue> = {}, inputCount = 1, outputCount = 1): IRNode {
  return {
    name: `${opType}_test`,
    opType,
    domain: '',
    inputs: Array.from({ length: inputCount }, (_, i) => `in${i}`),
    outputs: Array.from({ length: outputCount }, (_, i) => `out${i}`),
    attrs,
  };
}

export interface RunOptions {
  opset?: number;
  batch?: number;
  precision?: Precision;
  outputs?: number;
}

export function infer(opType: string, attrs: Record<string, AttrValue>, inputs: (TestInput | undefined)[], opts: RunOptions = {}) {
  const op = getOp(opType, '');
  if (op === undefined) throw new Error(`no op ${opType}`);
  const node = makeNode(opType, attrs, inputs.length, opts.outputs ?? 1);
  const infos: (InputInfo | undefined)[] = inputs.map((i) =>
    i === undefined
      ? undefined
      : {
          shape: i.shape,
          dtype: i.dtype ?? 'float32',
          constant: i.constant ? { dtype: i.dtype ?? 'float32', dims: i.shape, data: Float64Array.from(i.data) } : undefined,
        },
  );
  return { op, node, outputs: op.inferShapes(node, infos, opts.opset ?? 13) };
}

/** Shapes and per-output values (all samples concatenated) of one node. */
export function run(opType: string, attrs: Record<string, AttrValue>, inputs: (TestInput | undefined)[], opts: RunOptions = {}) {
  const { op, node, outputs } = infer(opType, attrs, inputs, opts);
  const precision = opts.precision ?? 'float64';
  const operands: (Operand | undefined)[] = inputs.map((i) =>
    i === undefined
      ? undefined
      : {
          shape: i.shape,
          data: i.constant || precision === 'float64' ? Float64Array.from(i.data) : Float32Array.from(i.data),
          constant: i.constant ?? false,
          dtype: i.dtype,
        },
  );
  const values = op.forward(node, operands, outputs.map((o) => o.shape), opts.batch ?? 1, precision, opts.opset ?? 13);
  return { shapes: outputs.map((o) => o.shape), dtypes: outputs.map((o) => o.dtype), values: values.map((v) => Array.from(v)), raw: values };
}

export function closeTo(actual: number[], expected: number[], tol = 1e-9): boolean {
  return actual.length === expected.length && actual.every((a, i) => Math.abs(a - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])));
}
