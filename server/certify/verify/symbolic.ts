// Cheap bounds of a layer chain over small input boxes (input-splitting branch and bound): every neuron carries a
// lower and an upper linear function of the input (forward-mode linear relaxation, "symbolic intervals"), intersected
// with interval arithmetic; the specification rows then get one CROWN backward pass through the resulting relaxations.
//
// With n inputs a layer of width m costs about 4·m·m_prev·(n + 1) operations instead of CROWN's backward pass per
// neuron (2·m rows through every earlier layer), so a domain of a 5-input, 300-ReLU network costs well under 1 ms.
// Every bound is widened outward like the engine's (float.ts): by VALUE_ALLOWANCE·(1 + |bound|) + SUM_ALLOWANCE·M,
// with M an upper bound of the magnitudes of every term summed into the bound, through every layer.
import type { BoundGraph } from '../../bounds/index';
import { SUM_ALLOWANCE, VALUE_ALLOWANCE } from '../../bounds/float';
import type { NonlinearBoundOp } from '../../bounds/ops/types';
import { gemm } from '../../tensor/kernels';

/** Network z_1 = W_1·x + b_1, h_k = σ_k(z_k), z_{k+1} = W_{k+1}·h_k + b_{k+1}, …, y = z_L. */
export interface LayerChain {
  readonly inputSize: number;
  /** sizes[0] = inputSize, sizes[k] = size of z_k. */
  readonly sizes: readonly number[];
  /** W[k] (k = 1..L): sizes[k] × sizes[k − 1] row-major; index 0 unused. */
  readonly W: readonly Float64Array[];
  readonly b: readonly Float64Array[];
  /** act[k] (k = 1..L − 1): the elementwise op on z_k. */
  readonly act: readonly NonlinearBoundOp[];
  /** Value name of z_k (the input of act[k]). */
  readonly preName: readonly string[];
  readonly layers: number;
}

/** Largest number of weights a chain may hold (dense Jacobians of every segment). */
const CHAIN_LIMIT = 1 << 22;

const chains = new WeakMap<BoundGraph, LayerChain | null>();

/** The bound graph as a chain of dense affine maps and elementwise activations, or null when it is not one. */
export function layerChain(bg: BoundGraph): LayerChain | null {
  let c = chains.get(bg);
  if (c === undefined) {
    c = buildChain(bg);
    chains.set(bg, c);
  }
  return c;
}

function buildChain(bg: BoundGraph): LayerChain | null {
  const uses = new Map<string, number>();
  for (const op of bg.ops) for (const name of op.kind === 'linear' ? op.inputs : [op.input]) uses.set(name, (uses.get(name) ?? 0) + 1);
  const segments: (typeof bg.ops)[number][][] = [[]];
  const act: NonlinearBoundOp[] = [null as unknown as NonlinearBoundOp];
  let current = bg.input;
  for (const op of bg.ops) {
    if ((uses.get(current) ?? 0) !== 1) return null;
    if (op.kind === 'linear') {
      if (op.inputs.length !== 1 || op.inputs[0] !== current) return null;
      segments[segments.length - 1].push(op);
    } else {
      if (op.input !== current || op.family === 'maxpool' || segments[segments.length - 1].length === 0) return null;
      act.push(op);
      segments.push([]);
    }
    current = op.output;
  }
  if (current !== bg.output || segments[segments.length - 1].length === 0) return null;
  const L = segments.length;
  const sizes = [bg.inputSize];
  let total = 0;
  for (const s of segments) {
    const last = s[s.length - 1];
    if (last.kind !== 'linear') return null;
    total += last.outputSize * sizes[sizes.length - 1];
    sizes.push(last.outputSize);
  }
  if (total > CHAIN_LIMIT) return null;
  const W: Float64Array[] = [new Float64Array(0)];
  const b: Float64Array[] = [new Float64Array(0)];
  const preName: string[] = [''];
  for (let k = 1; k <= L; k++) {
    const ops = segments[k - 1];
    const nOut = sizes[k];
    // Rows of the identity pulled back through the segment: the Jacobian, row-major (out × in).
    let a = new Float64Array(nOut * nOut);
    for (let i = 0; i < nOut; i++) a[i * nOut + i] = 1;
    for (let t = ops.length - 1; t >= 0; t--) {
      const op = ops[t];
      if (op.kind !== 'linear') return null;
      a = Float64Array.from(op.backward(a, nOut)[0]);
    }
    W.push(a);
    let y = new Float64Array(sizes[k - 1]);
    for (const op of ops) {
      if (op.kind !== 'linear') return null;
      y = Float64Array.from(op.applyLinear([y], 1));
      if (op.bias !== null) for (let j = 0; j < y.length; j++) y[j] += op.bias[j];
    }
    b.push(y);
    if (k < L) preName.push(act[k].input);
  }
  return { inputSize: bg.inputSize, sizes, W, b, act, preName, layers: L };
}

/** Pre-activation bounds of one box, with the relaxations they give. */
export interface ChainBounds {
  /** lower[k], upper[k]: bounds of z_k (k = 1..L − 1). */
  readonly lower: Float64Array[];
  readonly upper: Float64Array[];
  /** The relaxation of act[k]: lowSlope/lowBias/upSlope/upBias per neuron. */
  readonly relax: { lowSlope: Float64Array; lowBias: Float64Array; upSlope: Float64Array; upBias: Float64Array }[];
  /**
   * Forward linear bounds of the output y = z_L, transposed: outLow[t·nOut + i] is the coefficient of x_t in the
   * lower function of y_i (t = n: the constant); outMag[i] their magnitudes.
   */
  readonly outLow: Float64Array;
  readonly outUp: Float64Array;
  readonly outMag: Float64Array;
  /** Interval of the output (the tighter of the forward bounds' range and interval arithmetic). */
  readonly outLower: Float64Array;
  readonly outUpper: Float64Array;
  /** Interval of the last activation h_{L−1} (the input box when L = 1). */
  readonly lastLower: Float64Array;
  readonly lastUpper: Float64Array;
  /** True when some neuron's bounds cross under `given` constraints: the domain is empty. */
  readonly empty: boolean;
}

const SUM = SUM_ALLOWANCE;
const VALUE = VALUE_ALLOWANCE;

interface SignedWeights {
  pos: Float64Array[];
  neg: Float64Array[];
  abs: Float64Array[];
}
const signed = new WeakMap<LayerChain, SignedWeights>();

function signedWeights(chain: LayerChain): SignedWeights {
  let s = signed.get(chain);
  if (s === undefined) {
    s = { pos: [], neg: [], abs: [] };
    for (const W of chain.W) {
      s.pos.push(W.map((w) => (w > 0 ? w : 0)));
      s.neg.push(W.map((w) => (w < 0 ? w : 0)));
      s.abs.push(W.map(Math.abs));
    }
    signed.set(chain, s);
  }
  return s;
}

/**
 * Forward linear bounds of every layer over the box [lo, hi], each neuron's interval the tighter of the linear
 * bounds' range and interval arithmetic (and of `given`, split constraints by layer, when present).
 * Linear functions are stored transposed ((n + 1) × size): row t holds every neuron's coefficient of x_t.
 */
export function chainBounds(
  chain: LayerChain,
  lo: Float64Array,
  hi: Float64Array,
  given?: readonly ({ lower: Float64Array; upper: Float64Array } | undefined)[],
  refine = true,
): ChainBounds {
  const n = chain.inputSize;
  const n1 = n + 1;
  const L = chain.layers;
  const sw = signedWeights(chain);
  let m = n;
  // Activation h's linear bounds (transposed, n1 × m), their magnitudes and interval; h_0 = x.
  let hLow = new Float64Array(n1 * n);
  let hUp = new Float64Array(n1 * n);
  for (let j = 0; j < n; j++) hLow[j * n + j] = hUp[j * n + j] = 1;
  let hMag = new Float64Array(n);
  for (let j = 0; j < n; j++) hMag[j] = Math.max(Math.abs(lo[j]), Math.abs(hi[j]));
  let hLo = lo;
  let hHi = hi;
  const lowerOut: Float64Array[] = [new Float64Array(0)];
  const upperOut: Float64Array[] = [new Float64Array(0)];
  const relaxOut: ChainBounds['relax'] = [null as unknown as ChainBounds['relax'][number]];
  let empty = false;
  for (let k = 1; k <= L; k++) {
    const size = chain.sizes[k];
    const Wp = sw.pos[k];
    const Wn = sw.neg[k];
    const Wa = sw.abs[k];
    const bk = chain.b[k];
    const zLow = new Float64Array(n1 * size);
    const zUp = new Float64Array(n1 * size);
    for (let t = 0; t < n1; t++) {
      const ho = t * m;
      const zo = t * size;
      for (let i = 0; i < size; i++) {
        const wo = i * m;
        let sl = 0;
        let su = 0;
        for (let j = 0; j < m; j++) {
          const p = Wp[wo + j];
          const q = Wn[wo + j];
          const a = hLow[ho + j];
          const c = hUp[ho + j];
          sl += p * a + q * c;
          su += p * c + q * a;
        }
        zLow[zo + i] = sl;
        zUp[zo + i] = su;
      }
    }
    const zMag = new Float64Array(size);
    const zl = new Float64Array(size);
    const zu = new Float64Array(size);
    const co = n * size;
    for (let i = 0; i < size; i++) {
      const wo = i * m;
      let mag = Math.abs(bk[i]);
      let il = bk[i];
      let iu = bk[i];
      for (let j = 0; j < m; j++) {
        mag += Wa[wo + j] * hMag[j];
        const p = Wp[wo + j];
        const q = Wn[wo + j];
        il += p * hLo[j] + q * hHi[j];
        iu += p * hHi[j] + q * hLo[j];
      }
      // The constant, with the rounding of the coefficients so far moved into it.
      const slack = SUM * mag;
      zLow[co + i] += bk[i] - slack;
      zUp[co + i] += bk[i] + slack;
      zMag[i] = mag;
      let sl = zLow[co + i];
      let su = zUp[co + i];
      for (let t = 0; t < n; t++) {
        const a = zLow[t * size + i];
        sl += a >= 0 ? a * lo[t] : a * hi[t];
        const c = zUp[t * size + i];
        su += c >= 0 ? c * hi[t] : c * lo[t];
      }
      const e = SUM * mag;
      sl -= VALUE * (1 + Math.abs(sl)) + e;
      su += VALUE * (1 + Math.abs(su)) + e;
      il -= VALUE * (1 + Math.abs(il)) + e;
      iu += VALUE * (1 + Math.abs(iu)) + e;
      zl[i] = sl > il ? sl : il;
      zu[i] = su < iu ? su : iu;
    }
    if (k === L) return { lower: lowerOut, upper: upperOut, relax: relaxOut, outLow: zLow, outUp: zUp, outMag: zMag, outLower: zl, outUpper: zu, lastLower: hLo, lastUpper: hHi, empty };
    const g = given?.[k];
    if (g !== undefined)
      for (let i = 0; i < size; i++) {
        if (g.lower[i] > zl[i]) zl[i] = g.lower[i];
        if (g.upper[i] < zu[i]) zu[i] = g.upper[i];
      }
    // Neurons still unstable: CROWN's backward pass through the relaxations so far (tighter than forward bounds
    // from the third layer on; the first two agree).
    if (k >= 3 && refine) {
      let count = 0;
      for (let i = 0; i < size; i++) if (zl[i] < 0 && zu[i] > 0) count++;
      if (count > 0) {
        const neurons = new Int32Array(count);
        count = 0;
        for (let i = 0; i < size; i++) if (zl[i] < 0 && zu[i] > 0) neurons[count++] = i;
        const b = backwardNeurons(chain, sw, relaxOut, k, neurons, lo, hi);
        for (let u = 0; u < count; u++) {
          const i = neurons[u];
          if (b.lower[u] > zl[i]) zl[i] = b.lower[u];
          if (b.upper[u] < zu[i]) zu[i] = b.upper[u];
        }
      }
    }
    for (let i = 0; i < size; i++)
      if (zl[i] > zu[i]) {
        empty = true;
        zu[i] = zl[i];
      }
    lowerOut.push(zl);
    upperOut.push(zu);
    const op = chain.act[k];
    const r = op.relax(zl, zu);
    if (r.kind !== 'elementwise') throw new Error(`'${op.node.name}' has no elementwise relaxation`);
    relaxOut.push(r);
    const iv = op.interval(zl, zu);
    const nLow = new Float64Array(n1 * size);
    const nUp = new Float64Array(n1 * size);
    const nMag = new Float64Array(size);
    const { lowSlope, upSlope, lowBias, upBias } = r;
    for (let t = 0; t < n1; t++) {
      const o = t * size;
      for (let i = 0; i < size; i++) {
        const ls = lowSlope[i];
        const us = upSlope[i];
        nLow[o + i] = ls * (ls >= 0 ? zLow[o + i] : zUp[o + i]);
        nUp[o + i] = us * (us >= 0 ? zUp[o + i] : zLow[o + i]);
      }
    }
    for (let i = 0; i < size; i++) {
      nLow[co + i] += lowBias[i];
      nUp[co + i] += upBias[i];
      nMag[i] = Math.max(Math.abs(lowSlope[i]), Math.abs(upSlope[i])) * zMag[i] + Math.max(Math.abs(lowBias[i]), Math.abs(upBias[i]));
    }
    hLow = nLow;
    hUp = nUp;
    hMag = nMag;
    hLo = iv.lower;
    hHi = iv.upper;
    m = size;
  }
  throw new Error('unreachable');
}

export interface SpecBound {
  /** Certified lower bound of each row (widened). */
  lower: Float64Array;
  /** Per row, the coefficients of the backward (CROWN) lower bound at the input (rows × n): branching scores. */
  inputCoef: Float64Array;
  /** Per row, the backward bound alone (inputCoef·x + constant minimised over the box, widened). */
  backLower: Float64Array;
}

/**
 * Lower bounds of rows·y over the box: the better of the forward linear bound of y and a CROWN backward pass through
 * the relaxations of `cb`.
 */
export function chainSpec(chain: LayerChain, cb: ChainBounds, lo: Float64Array, hi: Float64Array, rows: Float64Array, count: number): SpecBound {
  const n = chain.inputSize;
  const n1 = n + 1;
  const L = chain.layers;
  const nOut = chain.sizes[L];
  const lower = new Float64Array(count);
  const inputCoef = new Float64Array(count * n);
  const backLower = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    // Forward: Σ_j c_j⁺·low_j + c_j⁻·up_j, then its minimum over the box.
    const f = new Float64Array(n1);
    let fMag = 0;
    for (let j = 0; j < nOut; j++) {
      const c = rows[r * nOut + j];
      if (c === 0) continue;
      const src = c > 0 ? cb.outLow : cb.outUp;
      for (let t = 0; t < n1; t++) f[t] += c * src[t * nOut + j];
      fMag += Math.abs(c) * cb.outMag[j];
    }
    let fl = f[n];
    for (let t = 0; t < n; t++) fl += f[t] >= 0 ? f[t] * lo[t] : f[t] * hi[t];
    fl -= VALUE * (1 + Math.abs(fl)) + 2 * SUM * fMag;
    // Interval: Σ_j c_j·(y_j's bound by the sign of c_j).
    let il = 0;
    let im = 0;
    for (let j = 0; j < nOut; j++) {
      const c = rows[r * nOut + j];
      const v = c >= 0 ? c * cb.outLower[j] : c * cb.outUpper[j];
      il += v;
      im += Math.abs(v);
    }
    il -= VALUE * (1 + Math.abs(il)) + SUM * im;
    if (il > fl) fl = il;
    // Interval through the row folded into the last affine map: (c·W_L)·h + c·b_L.
    {
      const m = chain.sizes[L - 1];
      const W = chain.W[L];
      const bL = chain.b[L];
      let v = 0;
      let vm = 0;
      const folded = new Float64Array(m);
      for (let j = 0; j < nOut; j++) {
        const c = rows[r * nOut + j];
        if (c === 0) continue;
        v += c * bL[j];
        vm += Math.abs(c * bL[j]);
        for (let i = 0; i < m; i++) folded[i] += c * W[j * m + i];
      }
      for (let i = 0; i < m; i++) {
        const w = folded[i];
        const t = w >= 0 ? w * cb.lastLower[i] : w * cb.lastUpper[i];
        v += t;
        vm += Math.abs(t);
      }
      v -= VALUE * (1 + Math.abs(v)) + 2 * SUM * vm;
      if (v > fl) fl = v;
    }

    const bl = backwardRow(chain, cb.relax, L, rows.subarray(r * nOut, (r + 1) * nOut), lo, hi, inputCoef, r * n);
    backLower[r] = bl;
    lower[r] = bl > fl ? bl : fl;
  }
  return { lower, inputCoef, backLower };
}

interface Scratch {
  a: Float64Array;
  aAbs: Float64Array;
  b: Float64Array;
  bAbs: Float64Array;
}
const scratches = new WeakMap<LayerChain, Scratch>();

/**
 * Certified lower bound of a·z_level over the box by a CROWN backward pass through the relaxations of the earlier
 * layers (widened for rounding); the coefficients at the input go to coefOut[coefAt..] when given.
 */
export function backwardRow(
  chain: LayerChain,
  relax: ChainBounds['relax'],
  level: number,
  row: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  coefOut?: Float64Array,
  coefAt = 0,
): number {
  const n = chain.inputSize;
  let sc = scratches.get(chain);
  if (sc === undefined) {
    const max = Math.max(...chain.sizes);
    sc = { a: new Float64Array(max), aAbs: new Float64Array(max), b: new Float64Array(max), bAbs: new Float64Array(max) };
    scratches.set(chain, sc);
  }
  let a = sc.a;
  let aAbs = sc.aAbs;
  let ah = sc.b;
  let ahAbs = sc.bAbs;
  const top = chain.sizes[level];
  for (let i = 0; i < top; i++) {
    a[i] = row[i];
    aAbs[i] = Math.abs(row[i]);
  }
  // |a| goes through |W| and the largest |slope|: it bounds the magnitude of every term of the expanded sum.
  let s = 0;
  let mag = 0;
  for (let k = level; k >= 1; k--) {
    const size = chain.sizes[k];
    const prev = chain.sizes[k - 1];
    const Wk = chain.W[k];
    const bk = chain.b[k];
    ah.fill(0, 0, prev);
    ahAbs.fill(0, 0, prev);
    for (let i = 0; i < size; i++) {
      const ca = aAbs[i];
      if (ca === 0) continue;
      const c = a[i];
      s += c * bk[i];
      mag += ca * Math.abs(bk[i]);
      const o = i * prev;
      for (let j = 0; j < prev; j++) {
        const w = Wk[o + j];
        ah[j] += c * w;
        ahAbs[j] += ca * (w >= 0 ? w : -w);
      }
    }
    if (k > 1) {
      // Through the relaxation of act[k − 1], in place.
      const rx = relax[k - 1];
      const { lowSlope, upSlope, lowBias, upBias } = rx;
      for (let j = 0; j < prev; j++) {
        const ca = ahAbs[j];
        if (ca === 0) continue;
        const c = ah[j];
        const ls = lowSlope[j];
        const us = upSlope[j];
        ahAbs[j] = ca * Math.max(Math.abs(ls), Math.abs(us));
        mag += ca * Math.max(Math.abs(lowBias[j]), Math.abs(upBias[j]));
        if (c >= 0) {
          ah[j] = c * ls;
          s += c * lowBias[j];
        } else {
          ah[j] = c * us;
          s += c * upBias[j];
        }
      }
    }
    const ta = a;
    const taAbs = aAbs;
    a = ah;
    aAbs = ahAbs;
    ah = ta;
    ahAbs = taAbs;
  }
  for (let t = 0; t < n; t++) {
    const c = a[t];
    s += c >= 0 ? c * lo[t] : c * hi[t];
    mag += aAbs[t] * Math.max(Math.abs(lo[t]), Math.abs(hi[t]));
    if (coefOut !== undefined) coefOut[coefAt + t] = c;
  }
  return s - (VALUE * (1 + Math.abs(s)) + SUM * mag);
}

/**
 * CROWN bounds of the given neurons of z_level by one batched backward pass (rows +e_i and −e_i, matrix products),
 * widened for rounding like backwardRow.
 */
function backwardNeurons(
  chain: LayerChain,
  sw: SignedWeights,
  relax: ChainBounds['relax'],
  level: number,
  neurons: Int32Array,
  lo: Float64Array,
  hi: Float64Array,
): { lower: Float64Array; upper: Float64Array } {
  const n = chain.inputSize;
  const R = 2 * neurons.length;
  const s = new Float64Array(R);
  const mag = new Float64Array(R);
  let prev = chain.sizes[level - 1];
  // Through W_level: rows ±W[i, :].
  let a = new Float64Array(R * prev);
  let aAbs = new Float64Array(R * prev);
  {
    const W = chain.W[level];
    const Wa = sw.abs[level];
    const bk = chain.b[level];
    for (let u = 0; u < neurons.length; u++) {
      const i = neurons[u];
      const o = i * prev;
      const p = 2 * u * prev;
      const q = p + prev;
      for (let j = 0; j < prev; j++) {
        const w = W[o + j];
        a[p + j] = w;
        a[q + j] = -w;
        aAbs[p + j] = aAbs[q + j] = Wa[o + j];
      }
      s[2 * u] = bk[i];
      s[2 * u + 1] = -bk[i];
      mag[2 * u] = mag[2 * u + 1] = Math.abs(bk[i]);
    }
  }
  for (let k = level - 1; k >= 1; k--) {
    const size = prev;
    // The relaxation of act[k], in place.
    const { lowSlope, upSlope, lowBias, upBias } = relax[k];
    for (let r = 0; r < R; r++) {
      const o = r * size;
      let sr = 0;
      let mr = 0;
      for (let j = 0; j < size; j++) {
        const ca = aAbs[o + j];
        if (ca === 0) continue;
        const c = a[o + j];
        const ls = lowSlope[j];
        const us = upSlope[j];
        aAbs[o + j] = ca * Math.max(Math.abs(ls), Math.abs(us));
        mr += ca * Math.max(Math.abs(lowBias[j]), Math.abs(upBias[j]));
        if (c >= 0) {
          a[o + j] = c * ls;
          sr += c * lowBias[j];
        } else {
          a[o + j] = c * us;
          sr += c * upBias[j];
        }
      }
      s[r] += sr;
      mag[r] += mr;
    }
    // Through W_k.
    prev = chain.sizes[k - 1];
    const bk = chain.b[k];
    for (let r = 0; r < R; r++) {
      const o = r * size;
      let sr = 0;
      let mr = 0;
      for (let i = 0; i < size; i++) {
        sr += a[o + i] * bk[i];
        mr += aAbs[o + i] * Math.abs(bk[i]);
      }
      s[r] += sr;
      mag[r] += mr;
    }
    const next = new Float64Array(R * prev);
    const nextAbs = new Float64Array(R * prev);
    gemm(a, chain.W[k], next, R, prev, size, false, false, false);
    gemm(aAbs, sw.abs[k], nextAbs, R, prev, size, false, false, false);
    a = next;
    aAbs = nextAbs;
  }
  const lower = new Float64Array(neurons.length);
  const upper = new Float64Array(neurons.length);
  for (let r = 0; r < R; r++) {
    const o = r * n;
    let sr = s[r];
    let mr = mag[r];
    for (let t = 0; t < n; t++) {
      const c = a[o + t];
      sr += c >= 0 ? c * lo[t] : c * hi[t];
      mr += aAbs[o + t] * Math.max(Math.abs(lo[t]), Math.abs(hi[t]));
    }
    const v = sr - (VALUE * (1 + Math.abs(sr)) + SUM * mr);
    if (r & 1) upper[r >> 1] = -v;
    else lower[r >> 1] = v;
  }
  return { lower, upper };
}
