// Interval bound propagation: node by node, center/radius for affine ops, exact images for monotone activations.
import type { BoundGraph } from './graph';
import { SUM_ALLOWANCE, widenInPlace } from './float';
import { ConvMap, DenseMap } from './ops/maps';
import type { LinearBoundOp } from './ops/types';
import type { Region, Specification } from './region';

export interface Interval {
  lower: Float64Array;
  upper: Float64Array;
}

/** The centre and radius of a box, elementwise (each within an ulp of the box's own bounds). */
export function centerRadius(lower: Float64Array, upper: Float64Array): [Float64Array, Float64Array] {
  const n = lower.length;
  const c = new Float64Array(n);
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    c[i] = (lower[i] + upper[i]) / 2;
    r[i] = (upper[i] - lower[i]) / 2;
  }
  return [c, r];
}

/** Interval image of an affine op given intervals of its inputs, with a rounding allowance on the radius. */
export function linearInterval(op: LinearBoundOp, inputs: readonly Interval[]): Interval {
  const centers: Float64Array[] = [];
  const radii: Float64Array[] = [];
  for (const b of inputs) {
    const [c, r] = centerRadius(b.lower, b.upper);
    centers.push(c);
    radii.push(r);
  }
  let fused: [Float64Array, Float64Array, Float64Array] | null = null;
  if (inputs.length === 1 && (op instanceof DenseMap || op instanceof ConvMap)) fused = op.fusedInterval(centers[0], radii[0]);
  let c: Float64Array, r: Float64Array, scale: Float64Array;
  if (fused !== null) [c, r, scale] = fused;
  else {
    c = Float64Array.from(op.applyLinear(centers, 1));
    r = Float64Array.from(op.applyAbs(radii, 1));
    scale = op.applyAbs(
      centers.map((x, k) => {
        const y = new Float64Array(x.length);
        for (let i = 0; i < x.length; i++) y[i] = Math.abs(x[i]) + radii[k][i];
        return y;
      }),
      1,
    );
  }
  const bias = op.bias;
  const bm = op.biasMagnitude;
  const n = c.length;
  const lower = new Float64Array(n);
  const upper = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const cj = bias !== null ? c[j] + bias[j] : c[j];
    const slack = SUM_ALLOWANCE * (scale[j] + (bm !== null ? bm[j] : 0));
    lower[j] = cj - r[j] - slack;
    upper[j] = cj + r[j] + slack;
  }
  return { lower, upper };
}

/** IBP bounds of every value the output depends on (the input's is the region itself). */
export function ibpAll(bg: BoundGraph, region: Region): Map<string, Interval> {
  const values = new Map<string, Interval>();
  values.set(bg.input, { lower: region.lower, upper: region.upper });
  for (const op of bg.ops) {
    if (op.kind === 'linear') values.set(op.output, linearInterval(op, op.inputs.map((n) => values.get(n)!)));
    else {
      const b = values.get(op.input)!;
      values.set(op.output, op.interval(b.lower, b.upper));
    }
  }
  return values;
}

/**
 * IBP bounds of spec·output. Like auto_LiRPA, the rows are folded into the last op when it is a dense layer
 * (Gemm, MatMul): tighter than applying them to the output box, which is what happens otherwise.
 */
export function ibpSpec(bg: BoundGraph, values: ReadonlyMap<string, Interval>, spec: Specification): Interval {
  const last = bg.ops[bg.producer.get(bg.output) ?? -1];
  let out: Interval;
  // Only when that op is the Gemm/MatMul node itself: a fused MatMul → Add (fuse.ts) keeps the output box form, as
  // auto_LiRPA does for a model ending in MatMul + Add.
  if (last instanceof DenseMap && last.p === 1 && (last.node.opType === 'Gemm' || last.node.opType === 'MatMul')) {
    const { k, n } = last;
    const w = new Float64Array(spec.count * k);
    const bias = last.bias !== null ? new Float64Array(spec.count) : null;
    const magnitude = new Float64Array(spec.count);
    for (let r = 0; r < spec.count; r++)
      for (let j = 0; j < n; j++) {
        const c = spec.rows[r * n + j];
        if (c === 0) continue;
        for (let i = 0; i < k; i++) w[r * k + i] += c * last.weight[j * k + i];
        if (bias !== null) {
          bias[r] += c * last.bias![j];
          magnitude[r] += Math.abs(c) * last.biasMagnitude![j];
        }
      }
    const folded = new DenseMap(last.node, last.inputs[0], '', 1, k, spec.count, w, bias);
    folded.biasMagnitude = magnitude;
    out = linearInterval(folded, [values.get(last.inputs[0])!]);
  } else {
    const y = values.get(bg.output)!;
    const n = spec.size;
    const rowsOp = new DenseMap(last?.node ?? { name: 'output', opType: 'Spec', domain: '', inputs: [], outputs: [], attrs: {} }, bg.output, '', 1, n, spec.count, spec.rows, null);
    out = linearInterval(rowsOp, [y]);
  }
  if (spec.offset !== null)
    for (let r = 0; r < spec.count; r++) {
      out.lower[r] += spec.offset[r];
      out.upper[r] += spec.offset[r];
    }
  widenInPlace(out.lower, out.upper);
  return out;
}
