// A batched float64 forward pass and input gradient over the bound graph (PGD), reusing the ops' linear maps.
import type { BoundGraph } from '../../bounds/index';
import type { BoundOp, NonlinearBoundOp } from '../../bounds/ops/types';

/** Values of one batched forward pass: value name → rows × size (row-major). */
export type ForwardTape = Map<string, Float64Array>;

/** Output (rows × outputSize) of `rows` stacked inputs, and the tape the gradient needs. */
export function forwardBatch(bg: BoundGraph, x: Float64Array, rows: number): { y: Float64Array; tape: ForwardTape } {
  const tape: ForwardTape = new Map();
  tape.set(bg.input, x);
  for (const op of bg.ops) {
    if (op.kind === 'linear') {
      const xs = op.inputs.map((name) => tape.get(name)!);
      let y = op.applyLinear(xs, rows);
      if (op.bias !== null) {
        if (xs.includes(y)) y = Float64Array.from(y);
        const m = op.outputSize;
        const b = op.bias;
        for (let r = 0; r < rows; r++) for (let j = 0; j < m; j++) y[r * m + j] += b[j];
      }
      tape.set(op.output, y);
    } else {
      const z = tape.get(op.input)!;
      const y = new Float64Array(rows * op.outputSize);
      for (let r = 0; r < rows; r++) y.set(op.evaluate(z.subarray(r * op.inputSize, (r + 1) * op.inputSize)), r * op.outputSize);
      tape.set(op.output, y);
    }
  }
  return { y: tape.get(bg.output)!, tape };
}

/** d(Σ_r g_r·y_r)/dx for each row: `gy` is rows × outputSize; returns rows × inputSize. */
export function inputGradient(bg: BoundGraph, tape: ForwardTape, gy: Float64Array, rows: number): Float64Array {
  const grad = new Map<string, Float64Array>();
  grad.set(bg.output, gy);
  const add = (name: string, g: Float64Array): void => {
    const prev = grad.get(name);
    if (prev === undefined) {
      grad.set(name, g);
      return;
    }
    const sum = new Float64Array(prev.length);
    for (let i = 0; i < sum.length; i++) sum[i] = prev[i] + g[i];
    grad.set(name, sum);
  };
  for (let i = bg.ops.length - 1; i >= 0; i--) {
    const op: BoundOp = bg.ops[i];
    const g = grad.get(op.output);
    if (g === undefined) continue;
    grad.delete(op.output);
    if (op.kind === 'linear') {
      const back = op.backward(g, rows);
      op.inputs.forEach((name, k) => add(name, back[k]));
    } else add(op.input, nonlinearBackward(op, tape.get(op.input)!, tape.get(op.output)!, g, rows));
  }
  return grad.get(bg.input) ?? new Float64Array(rows * bg.inputSize);
}

function nonlinearBackward(op: NonlinearBoundOp, z: Float64Array, y: Float64Array, g: Float64Array, rows: number): Float64Array {
  const n = op.inputSize;
  const out = new Float64Array(rows * n);
  if (op.family === 'maxpool') {
    // The window's argmax: the select relaxation of a point interval picks it.
    const m = op.outputSize;
    for (let r = 0; r < rows; r++) {
      const zr = z.subarray(r * n, (r + 1) * n);
      const relax = op.relax(zr, zr);
      if (relax.kind !== 'select') throw new Error(`MaxPool '${op.node.name}' has no select relaxation`);
      for (let j = 0; j < m; j++) out[r * n + relax.pick[j]] += g[r * m + j];
    }
    return out;
  }
  const graft = op.graft;
  for (let e = 0; e < rows * n; e++) {
    const j = e % n;
    let d: number;
    if (op.family === 'relu') d = graft !== null && graft.mask[j] ? graft.slope[j] : z[e] > 0 ? 1 : 0;
    else if (op.family === 'sigmoid') d = y[e] * (1 - y[e]);
    else d = 1 - y[e] * y[e];
    out[e] = g[e] * d;
  }
  return out;
}
