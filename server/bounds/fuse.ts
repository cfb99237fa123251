// Affine fusion: a linear op whose output only feeds the next linear op is composed with it into one op, so that
// Sub → Div → Flatten → MatMul → Add is one dense layer and Conv → BatchNormalization one convolution. IBP (and every
// pass that walks the ops) then does one product per layer instead of one per ONNX node.
//
// Soundness: the composed weights are products of two numbers, each rounded once (relative error ≤ 2^-53, far
// inside SUM_ALLOWANCE per term); a folded bias is a sum of many terms, so its op carries `biasMagnitude`, the sum
// of their magnitudes, and every rounding allowance uses that instead of |bias|. Only compositions that map each
// source element to at most one weight are made (no sums of weights with cancellation).
import { ConvMap, DenseMap, GatherAffineMap, forwardConv } from './ops/maps';
import type { BoundOp, LinearBoundOp } from './ops/types';

/** A single-input GatherAffineMap, expanded: y[j] = coef[j]·x[index[j]] + bias[j] (index −1: bias only). */
interface Gather {
  readonly index: Int32Array;
  readonly coef: Float64Array;
  readonly bias: Float64Array;
  readonly magnitude: Float64Array;
  readonly inSize: number;
}

/** The ops with every fusable pair composed; values other ops, or the output, read are kept. */
export function fuseAffine(ops: readonly BoundOp[], output: string): BoundOp[] {
  const uses = new Map<string, number>();
  for (const op of ops) for (const name of op.kind === 'linear' ? op.inputs : [op.input]) uses.set(name, (uses.get(name) ?? 0) + 1);
  const out: (BoundOp | null)[] = [];
  const at = new Map<string, number>();
  for (const op of ops) {
    let fused: BoundOp = op;
    if (op.kind === 'linear' && op.inputs.length === 1) {
      const x = op.inputs[0];
      const i = at.get(x);
      const prev = i !== undefined ? out[i] : null;
      if (prev != null && prev.kind === 'linear' && prev.inputs.length === 1 && uses.get(x) === 1 && x !== output) {
        const c = compose(prev, op);
        if (c !== null) {
          out[i!] = null;
          fused = c;
        }
      }
    }
    at.set(fused.output, out.length);
    out.push(fused);
  }
  return out.filter((op): op is BoundOp => op !== null);
}

/** b∘a as one op (keeping b's node, output and name), or null when the pair is not one this module composes. */
function compose(a: LinearBoundOp, b: LinearBoundOp): LinearBoundOp | null {
  const ga = gatherOf(a);
  const gb = gatherOf(b);
  if (ga !== null && gb !== null) return gatherThenGather(a, ga, b, gb);
  if (ga !== null && b instanceof DenseMap && b.p === 1 && injective(ga)) return gatherThenDense(a, ga, b);
  if (a instanceof DenseMap && a.p === 1 && gb !== null) return denseThenGather(a, b, gb);
  if (a instanceof ConvMap && !a.transposed && gb !== null) return convThenScale(a, b, gb);
  if (ga !== null && b instanceof ConvMap && !b.transposed) return scaleThenConv(a, ga, b);
  return null;
}

function gatherOf(op: LinearBoundOp): Gather | null {
  if (!(op instanceof GatherAffineMap) || op.terms.length !== 1 || op.inputs.length !== 1) return null;
  const n = op.outputSize;
  const t = op.terms[0];
  const index = t.index !== null ? t.index : Int32Array.from({ length: n }, (_, j) => j);
  const coef = typeof t.coef === 'number' ? new Float64Array(n).fill(t.coef) : t.coef;
  const bias = op.bias ?? new Float64Array(n);
  return { index, coef, bias, magnitude: magnitudeOf(op), inSize: op.inputSizes[0] };
}

function magnitudeOf(op: LinearBoundOp): Float64Array {
  return op.biasMagnitude ?? new Float64Array(op.outputSize);
}

function injective(g: Gather): boolean {
  const seen = new Uint8Array(g.inSize);
  for (const s of g.index) {
    if (s < 0) continue;
    if (seen[s]) return false;
    seen[s] = 1;
  }
  return true;
}

function withMagnitude<T extends LinearBoundOp & { biasMagnitude: Float64Array | null }>(op: T, magnitude: Float64Array): T {
  op.biasMagnitude = magnitude;
  return op;
}

function gatherThenGather(a: LinearBoundOp, ga: Gather, b: LinearBoundOp, gb: Gather): LinearBoundOp {
  const n = b.outputSize;
  const index = new Int32Array(n);
  const coef = new Float64Array(n);
  const bias = new Float64Array(n);
  const magnitude = new Float64Array(n);
  let identity = n === ga.inSize;
  for (let j = 0; j < n; j++) {
    const s = gb.index[j];
    const src = s >= 0 ? ga.index[s] : -1;
    index[j] = src;
    if (src !== j) identity = false;
    coef[j] = src >= 0 ? gb.coef[j] * ga.coef[s] : 0;
    bias[j] = gb.bias[j] + (s >= 0 ? gb.coef[j] * ga.bias[s] : 0);
    magnitude[j] = gb.magnitude[j] + (s >= 0 ? Math.abs(gb.coef[j]) * ga.magnitude[s] : 0);
  }
  const scalar = coef.every((c) => c === coef[0]) && n > 0 ? coef[0] : null;
  const term = { index: identity ? null : index, coef: scalar ?? coef };
  const hasBias = bias.some((v) => v !== 0);
  const op = new GatherAffineMap(b.node, a.inputs, a.inputSizes, b.output, n, [term], hasBias ? bias : null);
  return withMagnitude(op, magnitude);
}

function gatherThenDense(a: LinearBoundOp, ga: Gather, b: DenseMap): LinearBoundOp {
  const { k, n, weight } = b;
  const kIn = ga.inSize;
  const w = new Float64Array(n * kIn);
  const bias = b.bias !== null ? Float64Array.from(b.bias) : new Float64Array(n);
  const magnitude = Float64Array.from(magnitudeOf(b));
  for (let r = 0; r < n; r++) {
    const wo = r * k;
    const o = r * kIn;
    let s = 0, m = 0;
    for (let i = 0; i < k; i++) {
      const v = weight[wo + i];
      const src = ga.index[i];
      if (src >= 0) w[o + src] = v * ga.coef[i];
      s += v * ga.bias[i];
      m += Math.abs(v) * ga.magnitude[i];
    }
    bias[r] += s;
    magnitude[r] += m;
  }
  return withMagnitude(new DenseMap(b.node, a.inputs[0], b.output, 1, kIn, n, w, bias), magnitude);
}

function denseThenGather(a: DenseMap, b: LinearBoundOp, gb: Gather): LinearBoundOp {
  const { k, weight } = a;
  const n = b.outputSize;
  const w = new Float64Array(n * k);
  const bias = Float64Array.from(gb.bias);
  const magnitude = Float64Array.from(gb.magnitude);
  const magA = magnitudeOf(a);
  for (let j = 0; j < n; j++) {
    const s = gb.index[j];
    if (s < 0) continue;
    const c = gb.coef[j];
    for (let i = 0; i < k; i++) w[j * k + i] = c * weight[s * k + i];
    if (a.bias !== null) bias[j] += c * a.bias[s];
    magnitude[j] += Math.abs(c) * magA[s];
  }
  return withMagnitude(new DenseMap(b.node, a.inputs[0], b.output, 1, k, n, w, bias), magnitude);
}

/** Conv followed by a per-output-channel scale and any shift (BatchNormalization, Mul/Add by channel constants). */
function convThenScale(a: ConvMap, b: LinearBoundOp, gb: Gather): LinearBoundOp | null {
  const g = a.g;
  const plane = g.hout * g.wout;
  if (b.outputSize !== a.outputSize) return null;
  for (let j = 0; j < b.outputSize; j++) if (gb.index[j] !== j) return null;
  const perChannel = new Float64Array(g.cout);
  for (let c = 0; c < g.cout; c++) {
    perChannel[c] = gb.coef[c * plane];
    for (let j = c * plane; j < (c + 1) * plane; j++) if (gb.coef[j] !== perChannel[c]) return null;
  }
  const per = a.weight.length / g.cout;
  const w = new Float64Array(a.weight.length);
  for (let i = 0; i < w.length; i++) w[i] = a.weight[i] * perChannel[Math.floor(i / per)];
  const n = b.outputSize;
  const bias = Float64Array.from(gb.bias);
  const magnitude = Float64Array.from(gb.magnitude);
  const magA = magnitudeOf(a);
  for (let j = 0; j < n; j++) {
    const c = gb.coef[j];
    if (a.bias !== null) bias[j] += c * a.bias[j];
    magnitude[j] += Math.abs(c) * magA[j];
  }
  return withMagnitude(new ConvMap(b.node, a.inputs[0], b.output, g, w, bias, false), magnitude);
}

/** A per-input-channel scale and any shift (input normalisation) followed by a Conv: the shift becomes a bias map. */
function scaleThenConv(a: LinearBoundOp, ga: Gather, b: ConvMap): LinearBoundOp | null {
  const g = b.g;
  const plane = g.hin * g.win;
  if (ga.inSize !== b.inputSizes[0] || a.outputSize !== b.inputSizes[0]) return null;
  for (let j = 0; j < a.outputSize; j++) if (ga.index[j] !== j) return null;
  const perChannel = new Float64Array(g.cin);
  for (let c = 0; c < g.cin; c++) {
    perChannel[c] = ga.coef[c * plane];
    for (let j = c * plane; j < (c + 1) * plane; j++) if (ga.coef[j] !== perChannel[c]) return null;
  }
  const cinG = g.cin / g.groups;
  const coutG = g.cout / g.groups;
  const taps = g.kh * g.kw;
  const w = new Float64Array(b.weight.length);
  for (let co = 0; co < g.cout; co++)
    for (let cil = 0; cil < cinG; cil++) {
      const s = perChannel[Math.floor(co / coutG) * cinG + cil];
      const o = (co * cinG + cil) * taps;
      for (let t = 0; t < taps; t++) w[o + t] = b.weight[o + t] * s;
    }
  const shift = forwardConv(g, b.weight, ga.bias, 1);
  const shiftMagnitude = forwardConv(g, b.weight.map(Math.abs), ga.magnitude, 1);
  const bias = b.bias !== null ? Float64Array.from(b.bias) : new Float64Array(b.outputSize);
  const magnitude = Float64Array.from(magnitudeOf(b));
  for (let j = 0; j < bias.length; j++) {
    bias[j] += shift[j];
    magnitude[j] += shiftMagnitude[j];
  }
  return withMagnitude(new ConvMap(b.node, a.inputs[0], b.output, g, w, bias, false), magnitude);
}
