// Relabelling ops that move elements without arithmetic: Transpose, Slice, Gather, Concat, Pad, Split, Expand.
import type { IRNode, Tensor } from '../../ir/graph';
import { attrFloat, attrInt, attrInts, attrString } from '../../ir/ops/types';
import { sizeOf } from '../../tensor/types';
import { GatherAffineMap } from './maps';
import { broadcastIndex, forEachIndex, normaliseAxis, splitInputs, stridesOf } from './util';
import { UnsupportedOp, type BoundOp, type BuildContext } from './types';

function relabel(node: IRNode, ctx: BuildContext, output: string, index: Int32Array, bias: Float64Array | null = null): BoundOp {
  const x = node.inputs[0];
  return new GatherAffineMap(node, [x], [sizeOf(ctx.shape(x))], output, index.length, [{ index, coef: 1 }], bias);
}

export class TransposeBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const inShape = ctx.shape(node.inputs[0]);
    const rank = inShape.length;
    const perm = attrInts(node, 'perm') ?? [...Array(rank).keys()].reverse();
    const outShape = perm.map((p) => inShape[p]);
    const inStrides = stridesOf(inShape);
    const index = new Int32Array(sizeOf(outShape));
    forEachIndex(outShape, (o, j) => {
      let s = 0;
      for (let d = 0; d < rank; d++) s += o[d] * inStrides[perm[d]];
      index[j] = s;
    });
    return [relabel(node, ctx, node.outputs[0], index)];
  }
}

/** Output element → input element for a per-axis (start, step) selection. */
function strided(inShape: readonly number[], outShape: readonly number[], start: number[], step: number[]): Int32Array {
  const inStrides = stridesOf(inShape);
  const index = new Int32Array(sizeOf(outShape));
  forEachIndex(outShape, (o, j) => {
    let s = 0;
    for (let d = 0; d < o.length; d++) s += (start[d] + o[d] * step[d]) * inStrides[d];
    index[j] = s;
  });
  return index;
}

export class SliceBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const inShape = ctx.shape(node.inputs[0]);
    const outShape = ctx.shape(node.outputs[0]);
    const rank = inShape.length;
    const read = (i: number): number[] | undefined => {
      if (ctx.graph.opset < 10) {
        const key = ['', 'starts', 'ends', 'axes'][i];
        const v = attrInts(node, key);
        return v ? [...v] : undefined;
      }
      const name = node.inputs[i];
      if (!name) return undefined;
      const c = ctx.constant(name);
      if (c === undefined) throw new UnsupportedOp('Slice with non-constant starts, ends, axes or steps');
      return Array.from(c.data);
    };
    const starts = read(1)!;
    const axes = read(3) ?? starts.map((_, i) => i);
    const steps = (ctx.graph.opset >= 10 ? read(4) : undefined) ?? starts.map(() => 1);
    const start = new Array<number>(rank).fill(0);
    const step = new Array<number>(rank).fill(1);
    axes.forEach((a, i) => {
      const d = normaliseAxis(a, rank);
      const dim = inShape[d];
      let s = starts[i];
      if (s < 0) s += dim;
      s = steps[i] > 0 ? Math.min(Math.max(s, 0), dim) : Math.min(Math.max(s, 0), dim - 1);
      start[d] = s;
      step[d] = steps[i];
    });
    return [relabel(node, ctx, node.outputs[0], strided(inShape, outShape, start, step))];
  }
}

export class GatherBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const { variable, constants } = splitInputs(node, ctx);
    if (variable.length !== 1 || variable[0] !== 0) throw new UnsupportedOp('Gather with non-constant indices');
    const indices = constants[1]!;
    const inShape = ctx.shape(node.inputs[0]);
    const axis = normaliseAxis(attrInt(node, 'axis', 0), inShape.length);
    const outer = sizeOf(inShape.slice(0, axis));
    const inner = sizeOf(inShape.slice(axis + 1));
    const dim = inShape[axis];
    const k = indices.data.length;
    const index = new Int32Array(outer * k * inner);
    for (let o = 0; o < outer; o++)
      for (let t = 0; t < k; t++) {
        let g = indices.data[t];
        if (g < 0) g += dim;
        for (let i = 0; i < inner; i++) index[(o * k + t) * inner + i] = (o * dim + g) * inner + i;
      }
    return [relabel(node, ctx, node.outputs[0], index)];
  }
}

export class ConcatBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const { variable, constants } = splitInputs(node, ctx);
    const outShape = ctx.shape(node.outputs[0]);
    const axis = normaliseAxis(attrInt(node, 'axis', 0), outShape.length);
    const outer = sizeOf(outShape.slice(0, axis));
    const inner = sizeOf(outShape.slice(axis + 1));
    const n = sizeOf(outShape);
    const inputs: string[] = [];
    const sizes: number[] = [];
    const terms: { index: Int32Array; coef: number }[] = [];
    let bias: Float64Array | null = null;
    let offset = 0;
    node.inputs.forEach((name, i) => {
      const shape: readonly number[] = constants[i]?.dims ?? ctx.shape(name);
      const len = shape[axis];
      const isVar = variable.includes(i);
      const index = new Int32Array(n).fill(-1);
      if (!isVar && bias === null) bias = new Float64Array(n);
      for (let o = 0; o < outer; o++)
        for (let a = 0; a < len; a++)
          for (let t = 0; t < inner; t++) {
            const j = (o * outShape[axis] + offset + a) * inner + t;
            const src = (o * len + a) * inner + t;
            if (isVar) index[j] = src;
            else bias![j] = constants[i]!.data[src];
          }
      if (isVar) {
        inputs.push(name);
        sizes.push(sizeOf(shape));
        terms.push({ index, coef: 1 });
      }
      offset += len;
    });
    return [new GatherAffineMap(node, inputs, sizes, node.outputs[0], n, terms, bias)];
  }
}

export class PadBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const inShape = ctx.shape(node.inputs[0]);
    const outShape = ctx.shape(node.outputs[0]);
    const rank = inShape.length;
    const mode = attrString(node, 'mode', 'constant');
    let pads: number[];
    let value = 0;
    if (ctx.graph.opset < 11) {
      pads = [...(attrInts(node, 'pads') ?? [])];
      value = attrFloat(node, 'value', 0);
    } else {
      const p = node.inputs[1] ? ctx.constant(node.inputs[1]) : undefined;
      if (p === undefined) throw new UnsupportedOp('Pad with non-constant pads');
      pads = Array.from(p.data);
      const v: Tensor | undefined = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
      if (node.inputs[2] && v === undefined) throw new UnsupportedOp('Pad with a non-constant value');
      if (v !== undefined) value = v.data[0];
      const axesName = node.inputs[3];
      if (axesName) {
        const axes = ctx.constant(axesName);
        if (axes === undefined) throw new UnsupportedOp('Pad with non-constant axes');
        const full = new Array<number>(2 * rank).fill(0);
        Array.from(axes.data).forEach((a, i) => {
          const d = normaliseAxis(a, rank);
          full[d] = pads[i];
          full[d + rank] = pads[i + axes.data.length];
        });
        pads = full;
      }
    }
    if (mode !== 'constant' && mode !== 'edge' && mode !== 'reflect') throw new UnsupportedOp(`Pad in mode ${mode}`);
    const inStrides = stridesOf(inShape);
    const n = sizeOf(outShape);
    const index = new Int32Array(n);
    let bias: Float64Array | null = null;
    forEachIndex(outShape, (o, j) => {
      let s = 0;
      for (let d = 0; d < rank; d++) {
        let i = o[d] - pads[d];
        const dim = inShape[d];
        if (i < 0 || i >= dim) {
          if (mode === 'constant') {
            s = -1;
            break;
          }
          if (mode === 'edge') i = i < 0 ? 0 : dim - 1;
          else {
            const period = 2 * (dim - 1);
            if (period === 0) i = 0;
            else {
              i = ((i % period) + period) % period;
              if (i >= dim) i = period - i;
            }
          }
        }
        s += i * inStrides[d];
      }
      index[j] = s;
      if (s < 0 && value !== 0) {
        if (bias === null) bias = new Float64Array(n);
        bias[j] = value;
      }
    });
    return [relabel(node, ctx, node.outputs[0], index, bias)];
  }
}

export class SplitBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const inShape = ctx.shape(node.inputs[0]);
    const axis = normaliseAxis(attrInt(node, 'axis', 0), inShape.length);
    const ops: BoundOp[] = [];
    let offset = 0;
    for (const out of node.outputs) {
      if (out === '') continue;
      const outShape = ctx.shape(out);
      const start = inShape.map((_, d) => (d === axis ? offset : 0));
      ops.push(relabel(node, ctx, out, strided(inShape, outShape, start, inShape.map(() => 1))));
      offset += outShape[axis];
    }
    return ops;
  }
}

export class ExpandBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    const index = broadcastIndex(ctx.shape(node.inputs[0]), ctx.shape(node.outputs[0]));
    const n = sizeOf(ctx.shape(node.outputs[0]));
    return [relabel(node, ctx, node.outputs[0], index ?? Int32Array.from({ length: n }, (_, j) => j))];
  }
}

export { splitInputs };
