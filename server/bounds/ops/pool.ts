// Pooling: AveragePool and GlobalAveragePool (sparse linear maps), MaxPool (a select relaxation).
import type { IRNode } from '../../ir/graph';
import { attrInt, attrInts, attrString } from '../../ir/ops/types';
import { sizeOf } from '../../tensor/types';
import { SparseMap } from './maps';
import { UnsupportedOp, type BoundOp, type BuildContext, type NonlinearBoundOp, type Relaxation } from './types';

interface Windows {
  rowStart: Int32Array;
  col: Int32Array;
  /** Window elements inside the padded extent (count_include_pad divisor). */
  padded: Int32Array;
}

/** For every output element, the input elements under its window (padding excluded). */
function poolWindows(node: IRNode, ctx: BuildContext, global: boolean): Windows {
  const inShape = ctx.shape(node.inputs[0]);
  const outShape = ctx.shape(node.outputs[0]);
  const spatial = inShape.length - 2;
  if (spatial !== 1 && spatial !== 2) throw new UnsupportedOp(`${node.opType} with ${spatial} spatial dimensions`);
  const two = spatial === 2;
  const [hin, win] = two ? [inShape[2], inShape[3]] : [1, inShape[2]];
  const [hout, wout] = two ? [outShape[2], outShape[3]] : [1, outShape[2]];
  let kernel = global ? inShape.slice(2) : attrInts(node, 'kernel_shape');
  if (kernel === undefined) throw new UnsupportedOp(`${node.opType} without kernel_shape`);
  const strides = global ? kernel.map(() => 1) : attrInts(node, 'strides') ?? kernel.map(() => 1);
  const dil = global ? kernel.map(() => 1) : attrInts(node, 'dilations') ?? kernel.map(() => 1);
  let pads = global ? new Array(2 * spatial).fill(0) : attrInts(node, 'pads') ?? new Array(2 * spatial).fill(0);
  const autoPad = global ? 'NOTSET' : attrString(node, 'auto_pad', 'NOTSET');
  const inSp = two ? [hin, win] : [win];
  const outSp = two ? [hout, wout] : [wout];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array(2 * spatial).fill(0);
    for (let d = 0; d < spatial; d++) {
      const total = Math.max(0, (outSp[d] - 1) * strides[d] + (kernel[d] - 1) * dil[d] + 1 - inSp[d]);
      const begin = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      (pads as number[])[d] = begin;
      (pads as number[])[d + spatial] = total - begin;
    }
  } else if (autoPad === 'VALID') pads = new Array(2 * spatial).fill(0);
  if (!two) kernel = [1, kernel[0]];
  const kh = kernel[0], kw = kernel[1];
  const [sh, sw] = two ? strides : [1, strides[0]];
  const [dh, dw] = two ? dil : [1, dil[0]];
  const [pt, pl, pb, pr] = two ? pads : [0, pads[0], 0, pads[1]];
  const channels = sizeOf(inShape.slice(0, 2));
  const n = channels * hout * wout;
  const rowStart = new Int32Array(n + 1);
  const col: number[] = [];
  const padded = new Int32Array(n);
  let j = 0;
  for (let c = 0; c < channels; c++)
    for (let oh = 0; oh < hout; oh++)
      for (let ow = 0; ow < wout; ow++, j++) {
        rowStart[j] = col.length;
        let count = 0;
        for (let a = 0; a < kh; a++) {
          const ih = oh * sh + a * dh - pt;
          for (let b = 0; b < kw; b++) {
            const iw = ow * sw + b * dw - pl;
            if (ih >= -pt && ih < hin + pb && iw >= -pl && iw < win + pr) count++;
            if (ih < 0 || ih >= hin || iw < 0 || iw >= win) continue;
            col.push((c * hin + ih) * win + iw);
          }
        }
        padded[j] = count;
        rowStart[j + 1] = col.length;
      }
  return { rowStart, col: Int32Array.from(col), padded };
}

function averageMap(node: IRNode, ctx: BuildContext, global: boolean): BoundOp[] {
  const w = poolWindows(node, ctx, global);
  const includePad = !global && attrInt(node, 'count_include_pad', 0) === 1;
  const value = new Float64Array(w.col.length);
  for (let j = 0; j + 1 < w.rowStart.length; j++) {
    const count = includePad ? w.padded[j] : w.rowStart[j + 1] - w.rowStart[j];
    for (let e = w.rowStart[j]; e < w.rowStart[j + 1]; e++) value[e] = 1 / count;
  }
  return [new SparseMap(node, node.inputs[0], sizeOf(ctx.shape(node.inputs[0])), node.outputs[0], w.rowStart, w.col, value, null)];
}

export class AveragePoolBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    return averageMap(node, ctx, false);
  }
}

export class GlobalAveragePoolBound {
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    return averageMap(node, ctx, true);
  }
}

/** MaxPool: IBP is the exact elementwise max; CROWN lower = the input with the largest lower bound. */
export class MaxPoolBound implements NonlinearBoundOp {
  readonly kind = 'nonlinear' as const;
  readonly family = 'maxpool' as const;
  readonly graft = null;
  readonly input: string;
  readonly output: string;
  readonly inputSize: number;
  readonly outputSize: number;
  private constructor(readonly node: IRNode, private readonly w: Windows, ctx: BuildContext) {
    this.input = node.inputs[0];
    this.output = node.outputs[0];
    this.inputSize = sizeOf(ctx.shape(this.input));
    this.outputSize = w.rowStart.length - 1;
  }
  static build(node: IRNode, ctx: BuildContext): BoundOp[] {
    if (node.outputs.length > 1 && node.outputs[1] !== '') throw new UnsupportedOp('MaxPool with an Indices output');
    const w = poolWindows(node, ctx, false);
    for (let j = 0; j + 1 < w.rowStart.length; j++)
      if (w.rowStart[j + 1] === w.rowStart[j]) throw new UnsupportedOp('MaxPool with a window entirely in the padding');
    return [new MaxPoolBound(node, w, ctx)];
  }
  private windowMax(v: Float64Array): Float64Array {
    const { rowStart, col } = this.w;
    const out = new Float64Array(this.outputSize);
    for (let j = 0; j < this.outputSize; j++) {
      let m = -Infinity;
      for (let e = rowStart[j]; e < rowStart[j + 1]; e++) if (v[col[e]] > m) m = v[col[e]];
      out[j] = m;
    }
    return out;
  }
  interval(lower: Float64Array, upper: Float64Array): { lower: Float64Array; upper: Float64Array } {
    return { lower: this.windowMax(lower), upper: this.windowMax(upper) };
  }
  relax(lower: Float64Array, upper: Float64Array): Relaxation {
    const { rowStart, col } = this.w;
    const n = this.outputSize;
    const pick = new Int32Array(n);
    const exact = new Uint8Array(n);
    const upConst = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let best = col[rowStart[j]];
      let maxU = -Infinity;
      for (let e = rowStart[j]; e < rowStart[j + 1]; e++) {
        const k = col[e];
        if (lower[k] > lower[best]) best = k;
        if (upper[k] > maxU) maxU = upper[k];
      }
      let othersU = -Infinity;
      for (let e = rowStart[j]; e < rowStart[j + 1]; e++) if (col[e] !== best && upper[col[e]] > othersU) othersU = upper[col[e]];
      pick[j] = best;
      exact[j] = lower[best] >= othersU ? 1 : 0;
      upConst[j] = maxU;
    }
    return { kind: 'select', pick, exact, upConst };
  }
  evaluate(x: Float64Array): Float64Array {
    return this.windowMax(x);
  }
}
