// Pad: constant/reflect/edge/wrap padding; negative pads crop. Pads are attributes before opset 11, inputs after.
import type { IRNode } from '../graph';
import { attrFloat, attrInts, attrString, OpError, type InputInfo, type OpDef, type Operand } from './types';
import {
  allocateOutput,
  fmtShape,
  gatherByMap,
  mapFromAxes,
  normalizeAxis,
  operandInts,
  operandType,
  requireInput,
  sampleStride,
  scalarOf,
  tensorInts,
} from './util';

const MODES = ['constant', 'reflect', 'edge', 'wrap'];

/** Full-rank [begin..., end...] pads from the values given and the optional axes (opset 18). */
function fullPads(node: IRNode, rank: number, pads: number[], axes: number[] | undefined): number[] {
  const ax = axes === undefined ? Array.from({ length: rank }, (_, i) => i) : axes.map((a) => normalizeAxis(node, a, rank));
  if (pads.length !== 2 * ax.length) {
    throw new OpError(`Pad has ${pads.length} pad values for ${ax.length} axes; it needs ${2 * ax.length} (node '${node.name}')`);
  }
  const full = new Array<number>(2 * rank).fill(0);
  ax.forEach((a, i) => {
    full[a] = pads[i];
    full[a + rank] = pads[i + ax.length];
  });
  return full;
}

function padsFromInfo(node: IRNode, inputs: readonly (InputInfo | undefined)[], rank: number, opset: number): number[] {
  if (opset < 11) {
    const pads = attrInts(node, 'pads') ?? attrInts(node, 'paddings');
    if (pads === undefined) throw new OpError(`Pad node '${node.name}' has no pads attribute`);
    return fullPads(node, rank, [...pads], undefined);
  }
  const p = inputs[1];
  if (p === undefined) throw new OpError(`Pad node '${node.name}' is missing its pads input`);
  if (p.constant === undefined) throw new OpError(`Pad's pads input must be constant (node '${node.name}')`);
  const axes = inputs[3];
  if (axes !== undefined && axes.constant === undefined) throw new OpError(`Pad's axes input must be constant (node '${node.name}')`);
  return fullPads(node, rank, tensorInts(p.constant), axes?.constant && tensorInts(axes.constant));
}

function padsFromOperands(node: IRNode, inputs: readonly (Operand | undefined)[], rank: number): number[] {
  const p = inputs[1];
  if (p === undefined) return padsFromInfo(node, [], rank, 10);
  return fullPads(node, rank, operandInts(p), inputs[3] && operandInts(inputs[3]));
}

function sourceIndex(mode: string, j: number, dim: number): number {
  if (j >= 0 && j < dim) return j;
  switch (mode) {
    case 'edge':
      return j < 0 ? 0 : dim - 1;
    case 'reflect': {
      if (dim === 1) return 0;
      const period = 2 * (dim - 1);
      const r = ((j % period) + period) % period;
      return r < dim ? r : period - r;
    }
    case 'wrap':
      return ((j % dim) + dim) % dim;
    default:
      return -1;
  }
}

export const Pad: OpDef = {
  opType: 'Pad',
  inferShapes(node, inputs, opset) {
    const x = requireInput(node, inputs, 0, 'data');
    const rank = x.shape.length;
    const pads = padsFromInfo(node, inputs, rank, opset);
    const mode = attrString(node, 'mode', 'constant');
    if (!MODES.includes(mode)) throw new OpError(`Pad mode '${mode}' is not one of ${MODES.join(', ')} (node '${node.name}')`);
    const shape = x.shape.map((d, i) => d + pads[i] + pads[i + rank]);
    if (shape.some((d) => d < 0)) {
      throw new OpError(`Pad's pads ${fmtShape(pads)} crop more than the input ${fmtShape(x.shape)} has (node '${node.name}')`);
    }
    if (mode !== 'constant' && x.shape.some((d, i) => d === 0 && shape[i] > 0)) {
      throw new OpError(`Pad mode '${mode}' cannot pad an empty axis (node '${node.name}')`);
    }
    return [{ shape, dtype: x.dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'data');
    const rank = x.shape.length;
    const pads = padsFromOperands(node, inputs, rank);
    const mode = attrString(node, 'mode', 'constant');
    const perAxis = outputShapes[0].map((d, i) =>
      Int32Array.from({ length: d }, (_, o) => sourceIndex(mode, o - pads[i], x.shape[i])),
    );
    const map = mapFromAxes(x.shape, perAxis);
    const out = allocateOutput(operandType(x), precision, batch * map.length);
    const value = inputs[1] === undefined ? attrFloat(node, 'value', 0) : undefined;
    if (value !== undefined || inputs[2] === undefined || inputs[2].constant) {
      gatherByMap(x, map, batch, out, value ?? scalarOf(inputs[2], 0, 0));
    } else {
      // A per-sample constant_value: one sample at a time.
      const n = map.length;
      for (let s = 0; s < batch; s++) {
        const one = { ...x, data: x.data.subarray(s * sampleStride(x)) };
        gatherByMap(one, map, 1, out.subarray(s * n, (s + 1) * n), scalarOf(inputs[2], s, 0));
      }
    }
    return [out];
  },
};
