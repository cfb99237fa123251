// The CROWN backward pass (rows of linear coefficients pulled back to the input) and its adjoint for α gradients.
import type { BoundGraph } from './graph';
import type { ElementwiseRelaxation, Relaxation } from './ops/types';
import type { Region } from './region';

/** Relaxations of the nonlinear ops (by op index) that a backward pass may cross. */
export type RelaxationMap = ReadonlyMap<number, Relaxation>;

/** α slopes for one block of rows: op index → rows × (number of optimisable neurons of that op). */
export type AlphaMap = Map<number, Float64Array>;

/** What the adjoint (gradient) pass needs from a backward pass. */
export interface Tape {
  /** Ops crossed, in the (decreasing) order the backward pass visited them. */
  readonly visited: number[];
  /** A at the output of each nonlinear op crossed. */
  readonly coefficients: Map<number, Float64Array>;
  /** A at the model input. */
  inputCoefficients: Float64Array;
}

export interface BackwardResult {
  /** Lower bound of each row's linear function over the region (not widened). */
  readonly lower: Float64Array;
  /** Σ of the magnitudes of the terms summed into each bound (for the rounding allowance). */
  readonly magnitude: Float64Array;
  readonly tape: Tape | null;
}

const slotCache = new WeakMap<ElementwiseRelaxation, Int32Array>();

/** Neuron → position in `optimisable`, −1 elsewhere. */
export function alphaSlots(r: ElementwiseRelaxation): Int32Array {
  let s = slotCache.get(r);
  if (s === undefined) {
    s = new Int32Array(r.lowSlope.length).fill(-1);
    r.optimisable.forEach((i, k) => (s![i] = k));
    slotCache.set(r, s);
  }
  return s;
}

/**
 * Lower bounds of rows·(value `start`) over the region, pulling the rows back through every op to the input
 * with the given relaxations (and α lower slopes where given).
 */
export function backwardBound(
  bg: BoundGraph,
  relaxations: RelaxationMap,
  region: Region,
  start: string,
  rowsC: Float64Array,
  rows: number,
  alpha: AlphaMap | null = null,
  record = false,
): BackwardResult {
  const lower = new Float64Array(rows);
  const magnitude = new Float64Array(rows);
  const tape: Tape | null = record ? { visited: [], coefficients: new Map(), inputCoefficients: new Float64Array(0) } : null;
  const coef = new Map<string, Float64Array>();
  const owned = new Set<Float64Array>();
  coef.set(start, rowsC);
  const accumulate = (name: string, a: Float64Array): void => {
    const prev = coef.get(name);
    if (prev === undefined) {
      coef.set(name, a);
      return;
    }
    if (owned.has(prev)) {
      for (let j = 0; j < a.length; j++) prev[j] += a[j];
      return;
    }
    const sum = new Float64Array(prev.length);
    for (let j = 0; j < a.length; j++) sum[j] = prev[j] + a[j];
    owned.add(sum);
    coef.set(name, sum);
  };
  const startIndex = bg.producer.get(start) ?? -1;
  for (let i = startIndex; i >= 0; i--) {
    const op = bg.ops[i];
    const a = coef.get(op.output);
    if (a === undefined) continue;
    coef.delete(op.output);
    tape?.visited.push(i);
    if (op.kind === 'linear') {
      const b = op.bias;
      if (b !== null) {
        const n = op.outputSize;
        const bm = op.biasMagnitude;
        for (let r = 0; r < rows; r++) {
          let s = 0;
          let m = 0;
          for (let j = 0; j < n; j++) {
            const t = a[r * n + j] * b[j];
            s += t;
            m += Math.abs(a[r * n + j]) * bm![j];
          }
          lower[r] += s;
          magnitude[r] += m;
        }
      }
      const back = op.backward(a, rows);
      op.inputs.forEach((name, k) => accumulate(name, back[k]));
      continue;
    }
    tape?.coefficients.set(i, a);
    const relax = relaxations.get(i);
    if (relax === undefined) throw new Error(`no relaxation for ${op.node.opType} node '${op.node.name}'`);
    const nIn = op.inputSize;
    const nOut = op.outputSize;
    const az = new Float64Array(rows * nIn);
    if (relax.kind === 'elementwise') {
      const { lowSlope, lowBias, upSlope, upBias } = relax;
      const al = alpha?.get(i);
      const slots = al !== undefined ? alphaSlots(relax) : null;
      const nSlots = relax.optimisable.length;
      for (let r = 0; r < rows; r++) {
        const o = r * nOut;
        let s = 0;
        let m = 0;
        for (let j = 0; j < nOut; j++) {
          const c = a[o + j];
          if (c === 0) continue;
          let t: number;
          if (c >= 0) {
            const slot = slots !== null ? slots[j] : -1;
            az[o + j] = c * (slot >= 0 ? al![r * nSlots + slot] : lowSlope[j]);
            t = c * lowBias[j];
          } else {
            az[o + j] = c * upSlope[j];
            t = c * upBias[j];
          }
          s += t;
          m += Math.abs(t);
        }
        lower[r] += s;
        magnitude[r] += m;
      }
    } else {
      const { pick, exact, upConst } = relax;
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < nOut; j++) {
          const c = a[r * nOut + j];
          if (c === 0) continue;
          if (c >= 0 || exact[j]) az[r * nIn + pick[j]] += c;
          else {
            lower[r] += c * upConst[j];
            magnitude[r] += Math.abs(c * upConst[j]);
          }
        }
      }
    }
    owned.add(az);
    accumulate(op.input, az);
  }
  const ax = coef.get(bg.input) ?? new Float64Array(rows * bg.inputSize);
  if (tape !== null) tape.inputCoefficients = ax;
  const n = bg.inputSize;
  const { lower: lo, upper: hi } = region;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    let m = 0;
    for (let k = 0; k < n; k++) {
      const c = ax[r * n + k];
      const t = c >= 0 ? c * lo[k] : c * hi[k];
      s += t;
      m += Math.abs(t);
    }
    lower[r] += s;
    magnitude[r] += m;
  }
  return { lower, magnitude, tape };
}

/**
 * Gradient of Σ_r lower[r] with respect to the α of every op in `alpha`: the adjoint of the backward pass,
 * run forward from the input — each row's minimising input corner pushed through the relaxed network.
 * Returns op index → rows × slots gradients, and the adjoint at `start` (lower[r] = rows_r · adjoint_r).
 */
export function alphaGradient(
  bg: BoundGraph,
  relaxations: RelaxationMap,
  region: Region,
  tape: Tape,
  rows: number,
  alpha: AlphaMap,
): { gradient: Map<number, Float64Array>; adjointAtStart: Float64Array | null } {
  const adj = new Map<string, Float64Array>();
  const n = bg.inputSize;
  const ax = tape.inputCoefficients;
  const x = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < n; k++) x[r * n + k] = ax[r * n + k] >= 0 ? region.lower[k] : region.upper[k];
  adj.set(bg.input, x);
  const gradient = new Map<number, Float64Array>();
  let last: Float64Array | null = null;
  for (let v = tape.visited.length - 1; v >= 0; v--) {
    const i = tape.visited[v];
    const op = bg.ops[i];
    if (op.kind === 'linear') {
      const xs = op.inputs.map((name) => adj.get(name)!);
      let y = op.applyLinear(xs, rows);
      const b = op.bias;
      if (b !== null) {
        if (xs.includes(y)) y = Float64Array.from(y);
        const m = op.outputSize;
        for (let r = 0; r < rows; r++) for (let j = 0; j < m; j++) y[r * m + j] += b[j];
      }
      adj.set(op.output, y);
      last = y;
      continue;
    }
    const relax = relaxations.get(i)!;
    const a = tape.coefficients.get(i)!;
    const z = adj.get(op.input)!;
    const nIn = op.inputSize;
    const nOut = op.outputSize;
    const y = new Float64Array(rows * nOut);
    if (relax.kind === 'elementwise') {
      const { lowSlope, lowBias, upSlope, upBias } = relax;
      const al = alpha.get(i);
      const slots = al !== undefined ? alphaSlots(relax) : null;
      const nSlots = relax.optimisable.length;
      const g = al !== undefined ? new Float64Array(al.length) : null;
      for (let r = 0; r < rows; r++) {
        const o = r * nOut;
        for (let j = 0; j < nOut; j++) {
          const c = a[o + j];
          const zj = z[o + j];
          if (c >= 0) {
            const slot = slots !== null ? slots[j] : -1;
            if (slot >= 0) {
              y[o + j] = al![r * nSlots + slot] * zj;
              g![r * nSlots + slot] = c * zj;
            } else y[o + j] = lowSlope[j] * zj + lowBias[j];
          } else y[o + j] = upSlope[j] * zj + upBias[j];
        }
      }
      if (g !== null) gradient.set(i, g);
    } else {
      const { pick, exact, upConst } = relax;
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < nOut; j++) {
          const c = a[r * nOut + j];
          y[r * nOut + j] = c >= 0 || exact[j] ? z[r * nIn + pick[j]] : upConst[j];
        }
    }
    adj.set(op.output, y);
    last = y;
  }
  return { gradient, adjointAtStart: last };
}
