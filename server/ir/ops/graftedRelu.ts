// GraftedRelu (domain `graftcert`): y = (1 − m)·relu(x) + m·(a·x + b) per neuron — the grafted activation of GRAFTING.md §2.
import type { Tensor } from '../graph';
import { OpError, type OpDef, type Operand } from './types';
import { allocateOutput, broadcastIndex, fmtShape, operandType, requireInput, sampleStride, sizeOf } from './util';

/** Inputs [x, mask, slope, intercept]; mask, slope and intercept are constants broadcast to x's shape. */
export const GraftedRelu: OpDef = {
  opType: 'GraftedRelu',
  inferShapes(node, inputs) {
    const x = requireInput(node, inputs, 0, 'X');
    (['mask', 'slope', 'intercept'] as const).forEach((what, k) => {
      const p = requireInput(node, inputs, k + 1, what);
      if (p.constant === undefined) throw new OpError(`GraftedRelu's ${what} input must be a constant (node '${node.name}')`);
      if (!broadcastsTo(p.shape, x.shape)) {
        throw new OpError(`GraftedRelu's ${what} ${fmtShape(p.shape)} does not broadcast to the input ${fmtShape(x.shape)} (node '${node.name}')`);
      }
    });
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'X');
    const shape = outputShapes[0];
    const n = sizeOf(shape);
    const [mask, slope, intercept] = [1, 2, 3].map((k) => expanded(requireInput(node, inputs, k, 'parameter'), shape));
    const out = allocateOutput(operandType(x), precision, batch * n);
    const stride = sampleStride(x);
    const d = x.data;
    for (let s = 0; s < batch; s++) {
      const io = s * stride;
      const oo = s * n;
      for (let i = 0; i < n; i++) {
        const v = d[io + i];
        out[oo + i] = mask[i] !== 0 ? slope[i] * v + intercept[i] : v > 0 ? v : 0;
      }
    }
    return [out];
  },
};

function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return sizeOf(from) === 1;
  return from.every((dim, i) => dim === 1 || dim === to[to.length - from.length + i]);
}

/** A constant operand as one value per element of `shape`. */
function expanded(p: Operand | Tensor, shape: readonly number[]): ArrayLike<number> {
  const dims = 'dims' in p ? p.dims : p.shape;
  const n = sizeOf(shape);
  if (sizeOf(dims) === n) return p.data;
  const map = broadcastIndex(dims.length > shape.length ? [] : dims, shape);
  return Float64Array.from(map, (m) => p.data[m]);
}
