// Slice: starts/ends/axes/steps as attributes (before opset 10) or constant inputs, with ONNX clamping rules.
import type { IRNode } from '../graph';
import { attrInts, OpError, type InputInfo, type OpDef, type Operand } from './types';
import {
  allocateOutput,
  fmtShape,
  gatherByMap,
  mapFromAxes,
  normalizeAxis,
  operandInts,
  operandType,
  requireInput,
  tensorInts,
} from './util';

interface SliceArgs {
  starts: number[];
  ends: number[];
  axes?: number[];
  steps?: number[];
}

/** Per axis of the input: the input indices the output reads, in order. */
export function sliceIndices(node: IRNode, shape: readonly number[], args: SliceArgs): Int32Array[] {
  const rank = shape.length;
  const { starts, ends } = args;
  const axes = args.axes ?? starts.map((_, i) => i);
  const steps = args.steps ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw new OpError(`Slice starts, ends, axes and steps must have the same length (node '${node.name}')`);
  }
  const perAxis = shape.map((d) => Int32Array.from({ length: d }, (_, i) => i));
  const seen = new Set<number>();
  for (let i = 0; i < starts.length; i++) {
    const axis = normalizeAxis(node, axes[i], rank);
    if (seen.has(axis)) throw new OpError(`Slice axes ${fmtShape(axes)} repeat an axis (node '${node.name}')`);
    seen.add(axis);
    const dim = shape[axis];
    const step = steps[i];
    if (step === 0) throw new OpError(`Slice step must not be 0 (node '${node.name}')`);
    let start = starts[i] < 0 ? starts[i] + dim : starts[i];
    let end = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (step > 0) {
      start = Math.min(Math.max(start, 0), dim);
      end = Math.min(Math.max(end, 0), dim);
    } else {
      start = Math.min(Math.max(start, 0), dim - 1);
      end = Math.min(Math.max(end, -1), dim - 1);
    }
    const count = Math.max(0, Math.ceil((end - start) / step));
    perAxis[axis] = Int32Array.from({ length: count }, (_, k) => start + k * step);
  }
  return perAxis;
}

function constantInts(node: IRNode, info: InputInfo | undefined, what: string): number[] | undefined {
  if (info === undefined) return undefined;
  if (info.constant === undefined) throw new OpError(`Slice's ${what} input must be constant (node '${node.name}')`);
  return tensorInts(info.constant);
}

function argsFromInfo(node: IRNode, inputs: readonly (InputInfo | undefined)[], opset: number): SliceArgs {
  if (opset < 10) {
    const starts = attrInts(node, 'starts');
    const ends = attrInts(node, 'ends');
    if (starts === undefined || ends === undefined) throw new OpError(`Slice node '${node.name}' needs starts and ends attributes`);
    const axes = attrInts(node, 'axes');
    return { starts: [...starts], ends: [...ends], axes: axes && [...axes] };
  }
  const starts = constantInts(node, inputs[1], 'starts');
  const ends = constantInts(node, inputs[2], 'ends');
  if (starts === undefined || ends === undefined) throw new OpError(`Slice node '${node.name}' is missing its starts or ends input`);
  return { starts, ends, axes: constantInts(node, inputs[3], 'axes'), steps: constantInts(node, inputs[4], 'steps') };
}

/** In forward the same values arrive as constant operands; attributes where inputs are absent (old opsets). */
function argsFromOperands(node: IRNode, inputs: readonly (Operand | undefined)[]): SliceArgs {
  if (inputs[1] === undefined) return argsFromInfo(node, [], 9);
  const read = (op: Operand | undefined) => (op === undefined ? undefined : operandInts(op));
  return { starts: operandInts(inputs[1]), ends: read(inputs[2]) ?? [], axes: read(inputs[3]), steps: read(inputs[4]) };
}

export const Slice: OpDef = {
  opType: 'Slice',
  inferShapes(node, inputs, opset) {
    const x = requireInput(node, inputs, 0, 'data');
    const perAxis = sliceIndices(node, x.shape, argsFromInfo(node, inputs, opset));
    return [{ shape: perAxis.map((a) => a.length), dtype: x.dtype }];
  },
  forward(node, inputs, _outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'data');
    const map = mapFromAxes(x.shape, sliceIndices(node, x.shape, argsFromOperands(node, inputs)));
    const out = allocateOutput(operandType(x), precision, batch * map.length);
    gatherByMap(x, map, batch, out);
    return [out];
  },
};
