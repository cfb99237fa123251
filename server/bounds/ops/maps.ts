// The few linear-map kernels every affine op is built from: dense, convolution, gather-affine, sparse (CSR).
import type { IRNode } from '../../ir/graph';
import { gemm } from '../../tensor/kernels';
import { ResidentMatrix } from '../../tensor/wasm-resident';
import type { LinearBoundOp } from './types';

abstract class LinearMapBase implements LinearBoundOp {
  readonly kind = 'linear' as const;
  private magnitude: Float64Array | null = null;
  /** See LinearBoundOp.biasMagnitude: |bias| (computed once) unless a fold set the sum of its terms' magnitudes. */
  get biasMagnitude(): Float64Array | null {
    if (this.magnitude === null && this.bias !== null) this.magnitude = this.bias.map(Math.abs);
    return this.magnitude;
  }
  set biasMagnitude(m: Float64Array | null) {
    this.magnitude = m;
  }
  constructor(
    readonly node: IRNode,
    readonly inputs: readonly string[],
    readonly inputSizes: readonly number[],
    readonly output: string,
    readonly outputSize: number,
    readonly bias: Float64Array | null,
  ) {}
  abstract applyLinear(xs: readonly Float64Array[], rows: number): Float64Array;
  abstract applyAbs(xs: readonly Float64Array[], rows: number): Float64Array;
  abstract backward(a: Float64Array, rows: number): Float64Array[];
}

/**
 * y[p, n] = Σ_k W[n, k]·x[p, k] (+ bias): x viewed as P × K, W stored out × in (N × K).
 * Gemm, MatMul with a constant right operand.
 */
export class DenseMap extends LinearMapBase {
  private absWeight: Float64Array | null = null;
  constructor(
    node: IRNode,
    input: string,
    output: string,
    readonly p: number,
    readonly k: number,
    readonly n: number,
    readonly weight: Float64Array,
    bias: Float64Array | null,
  ) {
    super(node, [input], [p * k], output, p * n, bias);
  }
  private mul(w: Float64Array, x: Float64Array, rows: number): Float64Array {
    const { p, k, n } = this;
    const y = new Float64Array(rows * p * n);
    gemm(x, w, y, rows * p, n, k, false, true, false);
    return y;
  }
  applyLinear(xs: readonly Float64Array[], rows: number): Float64Array {
    return this.mul(this.weight, xs[0], rows);
  }
  applyAbs(xs: readonly Float64Array[], rows: number): Float64Array {
    if (this.absWeight === null) this.absWeight = this.weight.map(Math.abs);
    return this.mul(this.absWeight, xs[0], rows);
  }
  private norms: Float64Array | null = null;
  private resident: ResidentMatrix | null = null;
  /**
   * One pass of IBP in the center/radius form: W·c, |W|·r (by the wasm kernel when it is there), and a bound on the
   * magnitude of the summed terms for the rounding allowance, Σ_k |W[n, k]|·(|c_k| + r_k) ≤ ‖W[n, ·]‖₁ · max_k
   * (|c_k| + r_k) (row norms computed once, rounded up).
   */
  fusedInterval(center: Float64Array, radius: Float64Array): [Float64Array, Float64Array, Float64Array] {
    const { p, k, n, weight: w } = this;
    if (this.norms === null) this.norms = rowNorms(w, n, k);
    const yc = new Float64Array(p * n);
    const yr = new Float64Array(p * n);
    this.resident ??= new ResidentMatrix(w, n, k);
    if (!this.resident.interval(center, radius, p, yc, yr)) denseInterval(w, n, k, p, center, radius, yc, yr);
    const ys = new Float64Array(p * n);
    for (let q = 0; q < p; q++) {
      const mag = maxMagnitude(center, radius, q * k, q * k + k);
      for (let j = 0; j < n; j++) ys[q * n + j] = this.norms[j] * mag;
    }
    return [yc, yr, ys];
  }
  backward(a: Float64Array, rows: number): Float64Array[] {
    const { p, k, n, weight: w } = this;
    const out = new Float64Array(rows * p * k);
    if (density(a) > 0.2) {
      gemm(a, w, out, rows * p, k, n, false, false, false);
      return [out];
    }
    // Sparse rows (one-hot starts, inactive neurons): add only the weight rows that count.
    for (let rp = 0; rp < rows * p; rp++) {
      const ao = rp * n;
      const oo = rp * k;
      for (let j = 0; j < n; j++) {
        const c = a[ao + j];
        if (c === 0) continue;
        const wo = j * k;
        for (let i = 0; i < k; i++) out[oo + i] += c * w[wo + i];
      }
    }
    return [out];
  }
}

/** Fraction of non-zero entries (sampled on long arrays). */
function density(a: Float64Array): number {
  const step = a.length > 65536 ? 7 : 1;
  let nz = 0;
  let seen = 0;
  for (let i = 0; i < a.length; i += step, seen++) if (a[i] !== 0) nz++;
  return seen === 0 ? 0 : nz / seen;
}

/** ‖W[j, ·]‖₁ per row of an n × k matrix, rounded up a little so products with it stay upper bounds in float64. */
function rowNorms(w: Float64Array, n: number, k: number): Float64Array {
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let t = 0;
    for (let i = j * k; i < j * k + k; i++) t += Math.abs(w[i]);
    norms[j] = t * (1 + 1e-12);
  }
  return norms;
}

/** max (|c_i| + r_i) over [from, to). */
function maxMagnitude(center: Float64Array, radius: Float64Array, from: number, to: number): number {
  let mag = 0;
  for (let i = from; i < to; i++) mag = Math.max(mag, Math.abs(center[i]) + radius[i]);
  return mag;
}

/** yc = W·c, yr = |W|·r for p rows of k inputs (the TypeScript form of ResidentMatrix.interval). */
function denseInterval(w: Float64Array, n: number, k: number, p: number, center: Float64Array, radius: Float64Array, yc: Float64Array, yr: Float64Array): void {
  for (let q = 0; q < p; q++) {
    const xo = q * k;
    for (let j = 0; j < n; j++) {
      const wo = j * k;
      // Two accumulators per sum: shorter dependency chains.
      let c0 = 0, r0 = 0, c1 = 0, r1 = 0;
      let i = 0;
      for (; i + 1 < k; i += 2) {
        const w0 = w[wo + i], w1 = w[wo + i + 1];
        c0 += w0 * center[xo + i];
        c1 += w1 * center[xo + i + 1];
        r0 += Math.abs(w0) * radius[xo + i];
        r1 += Math.abs(w1) * radius[xo + i + 1];
      }
      if (i < k) {
        c0 += w[wo + i] * center[xo + i];
        r0 += Math.abs(w[wo + i]) * radius[xo + i];
      }
      yc[q * n + j] = c0 + c1;
      yr[q * n + j] = r0 + r1;
    }
  }
}

/** Geometry of a 2-D convolution (1-D convolutions use h = 1). */
export interface ConvGeometry {
  cin: number;
  hin: number;
  win: number;
  cout: number;
  hout: number;
  wout: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  dilationH: number;
  dilationW: number;
  groups: number;
}

/**
 * Convolution y = conv(x, W): `forwardConv` computes it, `adjointConv` its transpose. With `transposed` the
 * op is a ConvTranspose whose forward map is the adjoint of the convolution described by the geometry.
 */
export class ConvMap extends LinearMapBase {
  private absWeight: Float64Array | null = null;
  private norms: Float64Array | null = null;
  /** The convolution unrolled as a sparse matrix (conv outputs × conv inputs), when it fits. */
  private csr: { rowStart: Int32Array; col: Int32Array; value: Float64Array; absValue: Float64Array } | null | undefined;
  private readonly convIn: number;
  private readonly convOut: number;
  constructor(
    node: IRNode,
    input: string,
    output: string,
    readonly g: ConvGeometry,
    readonly weight: Float64Array,
    bias: Float64Array | null,
    readonly transposed: boolean,
  ) {
    const convIn = g.cin * g.hin * g.win;
    const convOut = g.cout * g.hout * g.wout;
    super(node, [input], [transposed ? convOut : convIn], output, transposed ? convIn : convOut, bias);
    this.convIn = convIn;
    this.convOut = convOut;
  }
  private unrolled(): ConvMap['csr'] {
    if (this.csr === undefined) {
      const nnz = this.convOut * (this.g.cin / this.g.groups) * this.g.kh * this.g.kw;
      this.csr = nnz <= CSR_LIMIT ? unrollConv(this.g, this.weight) : null;
    }
    return this.csr;
  }
  /** conv(x) (abs: with |W|). */
  private conv(x: Float64Array, rows: number, abs: boolean): Float64Array {
    const m = this.unrolled();
    if (m) return csrGather(m.rowStart, m.col, abs ? m.absValue : m.value, x, rows, this.convIn);
    if (abs && this.absWeight === null) this.absWeight = this.weight.map(Math.abs);
    return forwardConv(this.g, abs ? this.absWeight! : this.weight, x, rows);
  }
  /** convᵀ(dy) (abs: with |W|). */
  private adjoint(dy: Float64Array, rows: number, abs: boolean): Float64Array {
    const m = this.unrolled();
    if (m) return csrScatter(m.rowStart, m.col, abs ? m.absValue : m.value, dy, rows, this.convIn);
    if (abs && this.absWeight === null) this.absWeight = this.weight.map(Math.abs);
    return adjointConv(this.g, abs ? this.absWeight! : this.weight, dy, rows);
  }
  private resident: ResidentMatrix | null = null;
  private patchIndex: Int32Array | null = null;
  /**
   * One pass of IBP (see DenseMap.fusedInterval): as a product of the weights (cout × cin·kh·kw) with the input's
   * patches by the wasm kernel when it is there, else over the unrolled form; null when neither applies.
   */
  fusedInterval(center: Float64Array, radius: Float64Array): [Float64Array, Float64Array, Float64Array] | null {
    if (this.transposed) return null;
    const g = this.g;
    const taps = (g.cin / g.groups) * g.kh * g.kw;
    if (this.norms === null) this.norms = rowNorms(this.weight, g.cout, taps);
    const n = this.convOut;
    const plane = g.hout * g.wout;
    const yc = new Float64Array(n);
    const yr = new Float64Array(n);
    if (g.groups === 1 && this.resident === null && plane * taps <= CSR_LIMIT) {
      this.resident = new ResidentMatrix(this.weight, g.cout, taps);
      this.patchIndex = patchIndex(g);
    }
    let done = false;
    if (this.resident !== null && this.resident.available()) {
      const [pc, pr] = patches(this.patchIndex!, center, radius);
      done = this.resident.interval(pc, pr, plane, yc, yr);
    }
    if (done) {
      // The kernel's rows are positions (plane × cout): to channel-major.
      const tc = Float64Array.from(yc);
      const tr = Float64Array.from(yr);
      for (let q = 0; q < plane; q++)
        for (let co = 0; co < g.cout; co++) {
          yc[co * plane + q] = tc[q * g.cout + co];
          yr[co * plane + q] = tr[q * g.cout + co];
        }
    } else {
      const m = this.unrolled();
      if (!m) return null;
      csrInterval(m.rowStart, m.col, m.value, m.absValue, center, radius, yc, yr);
    }
    const mag = maxMagnitude(center, radius, 0, center.length);
    const ys = new Float64Array(n);
    for (let co = 0; co < g.cout; co++) ys.fill(this.norms[co] * mag, co * plane, (co + 1) * plane);
    return [yc, yr, ys];
  }
  applyLinear(xs: readonly Float64Array[], rows: number): Float64Array {
    return this.transposed ? this.adjoint(xs[0], rows, false) : this.conv(xs[0], rows, false);
  }
  applyAbs(xs: readonly Float64Array[], rows: number): Float64Array {
    return this.transposed ? this.adjoint(xs[0], rows, true) : this.conv(xs[0], rows, true);
  }
  backward(a: Float64Array, rows: number): Float64Array[] {
    return [this.transposed ? this.conv(a, rows, false) : this.adjoint(a, rows, false)];
  }
}

/** Convolutions with at most this many unrolled weights use the sparse-matrix form (faster, skips zeros). */
const CSR_LIMIT = 1 << 23;

function unrollConv(g: ConvGeometry, w: Float64Array): NonNullable<ConvMap['csr']> {
  const { cin, hin, win, cout, hout, wout, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, groups } = g;
  const cinG = cin / groups;
  const coutG = cout / groups;
  const n = cout * hout * wout;
  const rowStart = new Int32Array(n + 1);
  const col: number[] = [];
  const value: number[] = [];
  let j = 0;
  for (let co = 0; co < cout; co++) {
    const grp = Math.floor(co / coutG);
    for (let oh = 0; oh < hout; oh++)
      for (let ow = 0; ow < wout; ow++, j++) {
        rowStart[j] = col.length;
        for (let cil = 0; cil < cinG; cil++) {
          const ci = grp * cinG + cil;
          for (let a = 0; a < kh; a++) {
            const ih = oh * strideH + a * dilationH - padTop;
            if (ih < 0 || ih >= hin) continue;
            for (let b = 0; b < kw; b++) {
              const iw = ow * strideW + b * dilationW - padLeft;
              if (iw < 0 || iw >= win) continue;
              const v = w[((co * cinG + cil) * kh + a) * kw + b];
              if (v === 0) continue;
              col.push((ci * hin + ih) * win + iw);
              value.push(v);
            }
          }
        }
        rowStart[j + 1] = col.length;
      }
  }
  const val = Float64Array.from(value);
  return { rowStart, col: Int32Array.from(col), value: val, absValue: val.map(Math.abs) };
}

/** yc = W·c, yr = |W|·r over the rows of an unrolled (CSR) map. */
function csrInterval(rowStart: Int32Array, col: Int32Array, value: Float64Array, absValue: Float64Array, center: Float64Array, radius: Float64Array, yc: Float64Array, yr: Float64Array): void {
  const n = rowStart.length - 1;
  for (let j = 0; j < n; j++) {
    let c = 0, r = 0;
    const end = rowStart[j + 1];
    for (let e = rowStart[j]; e < end; e++) {
      const q = col[e];
      c += value[e] * center[q];
      r += absValue[e] * radius[q];
    }
    yc[j] = c;
    yr[j] = r;
  }
}

/**
 * Where each entry of a one-group convolution's patch matrix (im2col) comes from: row q = output position, columns
 * in (ci, a, b) order, the input's flat index or −1 off the input (padding).
 */
function patchIndex(g: ConvGeometry): Int32Array {
  const { cin, hin, win, hout, wout, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW } = g;
  const out = new Int32Array(hout * wout * cin * kh * kw);
  let d = 0;
  for (let oh = 0; oh < hout; oh++)
    for (let ow = 0; ow < wout; ow++)
      for (let ci = 0; ci < cin; ci++)
        for (let a = 0; a < kh; a++) {
          const ih = oh * strideH + a * dilationH - padTop;
          for (let b = 0; b < kw; b++, d++) {
            const iw = ow * strideW + b * dilationW - padLeft;
            out[d] = ih >= 0 && ih < hin && iw >= 0 && iw < win ? (ci * hin + ih) * win + iw : -1;
          }
        }
  return out;
}

/** The patch matrices of two inputs at once (see patchIndex). */
function patches(index: Int32Array, x: Float64Array, y: Float64Array): [Float64Array, Float64Array] {
  const px = new Float64Array(index.length);
  const py = new Float64Array(index.length);
  for (let d = 0; d < index.length; d++) {
    const s = index[d];
    if (s >= 0) {
      px[d] = x[s];
      py[d] = y[s];
    }
  }
  return [px, py];
}

/** y[r, j] = Σ_e value[e]·x[r, col[e]] over row j's entries. */
export function csrGather(rowStart: Int32Array, col: Int32Array, value: Float64Array, x: Float64Array, rows: number, inSize: number): Float64Array {
  const n = rowStart.length - 1;
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const xo = r * inSize;
    const yo = r * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      const end = rowStart[j + 1];
      for (let e = rowStart[j]; e < end; e++) s += value[e] * x[xo + col[e]];
      y[yo + j] = s;
    }
  }
  return y;
}

/** dx[r, col[e]] += value[e]·dy[r, j]: the transpose of csrGather, skipping zero coefficients. */
export function csrScatter(rowStart: Int32Array, col: Int32Array, value: Float64Array, dy: Float64Array, rows: number, inSize: number): Float64Array {
  const n = rowStart.length - 1;
  const dx = new Float64Array(rows * inSize);
  for (let r = 0; r < rows; r++) {
    const xo = r * inSize;
    const yo = r * n;
    for (let j = 0; j < n; j++) {
      const c = dy[yo + j];
      if (c === 0) continue;
      const end = rowStart[j + 1];
      for (let e = rowStart[j]; e < end; e++) dx[xo + col[e]] += c * value[e];
    }
  }
  return dx;
}

/** Valid output range [lo, hi) of o such that o·stride + kOff − pad ∈ [0, size). */
function validRange(kOff: number, stride: number, pad: number, size: number, outSize: number): [number, number] {
  const shift = kOff - pad;
  let lo = shift >= 0 ? 0 : Math.ceil(-shift / stride);
  let hi = Math.floor((size - 1 - shift) / stride) + 1;
  if (lo < 0) lo = 0;
  if (hi > outSize) hi = outSize;
  return [lo, hi];
}

export function forwardConv(g: ConvGeometry, w: Float64Array, x: Float64Array, rows: number): Float64Array {
  const { cin, hin, win, cout, hout, wout, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, groups } = g;
  const cinG = cin / groups;
  const coutG = cout / groups;
  const inSize = cin * hin * win;
  const outSize = cout * hout * wout;
  const y = new Float64Array(rows * outSize);
  for (let r = 0; r < rows; r++) {
    const xo = r * inSize;
    const yo = r * outSize;
    for (let co = 0; co < cout; co++) {
      const grp = Math.floor(co / coutG);
      for (let cil = 0; cil < cinG; cil++) {
        const ci = grp * cinG + cil;
        for (let a = 0; a < kh; a++) {
          const [ohLo, ohHi] = validRange(a * dilationH, strideH, padTop, hin, hout);
          for (let b = 0; b < kw; b++) {
            const wv = w[((co * cinG + cil) * kh + a) * kw + b];
            if (wv === 0) continue;
            const [owLo, owHi] = validRange(b * dilationW, strideW, padLeft, win, wout);
            for (let oh = ohLo; oh < ohHi; oh++) {
              const ih = oh * strideH + a * dilationH - padTop;
              const xRow = xo + (ci * hin + ih) * win + b * dilationW - padLeft;
              const yRow = yo + (co * hout + oh) * wout;
              for (let ow = owLo; ow < owHi; ow++) y[yRow + ow] += wv * x[xRow + ow * strideW];
            }
          }
        }
      }
    }
  }
  return y;
}

/** Transpose of forwardConv: dx = Wᵀ·dy per row. Sparse rows (one-hot starts) take a scatter path. */
export function adjointConv(g: ConvGeometry, w: Float64Array, dy: Float64Array, rows: number): Float64Array {
  const { cin, hin, win, cout, hout, wout, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, groups } = g;
  const cinG = cin / groups;
  const coutG = cout / groups;
  const inSize = cin * hin * win;
  const outSize = cout * hout * wout;
  const dx = new Float64Array(rows * inSize);
  const nz = new Int32Array(outSize);
  for (let r = 0; r < rows; r++) {
    const xo = r * inSize;
    const yo = r * outSize;
    let count = 0;
    for (let j = 0; j < outSize && count * 8 <= outSize; j++) if (dy[yo + j] !== 0) nz[count++] = j;
    if (count * 8 <= outSize) {
      for (let t = 0; t < count; t++) {
        const j = nz[t];
        const c = dy[yo + j];
        const co = Math.floor(j / (hout * wout));
        const rem = j - co * hout * wout;
        const oh = Math.floor(rem / wout);
        const ow = rem - oh * wout;
        const grp = Math.floor(co / coutG);
        for (let cil = 0; cil < cinG; cil++) {
          const ci = grp * cinG + cil;
          for (let a = 0; a < kh; a++) {
            const ih = oh * strideH + a * dilationH - padTop;
            if (ih < 0 || ih >= hin) continue;
            for (let b = 0; b < kw; b++) {
              const iw = ow * strideW + b * dilationW - padLeft;
              if (iw < 0 || iw >= win) continue;
              dx[xo + (ci * hin + ih) * win + iw] += c * w[((co * cinG + cil) * kh + a) * kw + b];
            }
          }
        }
      }
      continue;
    }
    for (let co = 0; co < cout; co++) {
      const grp = Math.floor(co / coutG);
      for (let cil = 0; cil < cinG; cil++) {
        const ci = grp * cinG + cil;
        for (let a = 0; a < kh; a++) {
          const [ohLo, ohHi] = validRange(a * dilationH, strideH, padTop, hin, hout);
          for (let b = 0; b < kw; b++) {
            const wv = w[((co * cinG + cil) * kh + a) * kw + b];
            if (wv === 0) continue;
            const [owLo, owHi] = validRange(b * dilationW, strideW, padLeft, win, wout);
            for (let oh = ohLo; oh < ohHi; oh++) {
              const ih = oh * strideH + a * dilationH - padTop;
              const xRow = xo + (ci * hin + ih) * win + b * dilationW - padLeft;
              const yRow = yo + (co * hout + oh) * wout;
              for (let ow = owLo; ow < owHi; ow++) dx[xRow + ow * strideW] += wv * dy[yRow + ow];
            }
          }
        }
      }
    }
  }
  return dx;
}

/** One input's contribution to a GatherAffineMap: y[j] += coef[j]·x[index[j]] (index −1: no contribution). */
export interface GatherTerm {
  /** null: the identity (y[j] from x[j]); input and output have the same size. */
  readonly index: Int32Array | null;
  /** A scalar for every element, or one coefficient per output element. */
  readonly coef: number | Float64Array;
}

/**
 * y[j] = Σ_t coef_t[j]·x_t[index_t[j]] + bias[j]: elementwise affine ops (Add, Sub, Mul/Div by constants,
 * Neg, BatchNormalization) and every pure relabelling (Reshape, Transpose, Slice, Concat, Pad, Gather...).
 */
export class GatherAffineMap extends LinearMapBase {
  private readonly alias: boolean;
  constructor(
    node: IRNode,
    inputs: readonly string[],
    inputSizes: readonly number[],
    output: string,
    outputSize: number,
    readonly terms: readonly GatherTerm[],
    bias: Float64Array | null,
  ) {
    super(node, inputs, inputSizes, output, outputSize, bias);
    this.alias = terms.length === 1 && terms[0].index === null && terms[0].coef === 1 && inputSizes[0] === outputSize;
  }
  private apply(xs: readonly Float64Array[], rows: number, abs: boolean): Float64Array {
    if (this.alias) return xs[0];
    const n = this.outputSize;
    const y = new Float64Array(rows * n);
    this.terms.forEach((t, ti) => {
      const x = xs[ti];
      const m = this.inputSizes[ti];
      const idx = t.index;
      const coef = t.coef;
      for (let r = 0; r < rows; r++) {
        const xo = r * m;
        const yo = r * n;
        if (typeof coef === 'number') {
          const c = abs ? Math.abs(coef) : coef;
          if (idx === null) for (let j = 0; j < n; j++) y[yo + j] += c * x[xo + j];
          else for (let j = 0; j < n; j++) { const s = idx[j]; if (s >= 0) y[yo + j] += c * x[xo + s]; }
        } else if (idx === null) {
          if (abs) for (let j = 0; j < n; j++) y[yo + j] += Math.abs(coef[j]) * x[xo + j];
          else for (let j = 0; j < n; j++) y[yo + j] += coef[j] * x[xo + j];
        } else {
          for (let j = 0; j < n; j++) {
            const s = idx[j];
            if (s >= 0) y[yo + j] += (abs ? Math.abs(coef[j]) : coef[j]) * x[xo + s];
          }
        }
      }
    });
    return y;
  }
  applyLinear(xs: readonly Float64Array[], rows: number): Float64Array {
    return this.apply(xs, rows, false);
  }
  applyAbs(xs: readonly Float64Array[], rows: number): Float64Array {
    return this.apply(xs, rows, true);
  }
  backward(a: Float64Array, rows: number): Float64Array[] {
    if (this.alias) return [a];
    const n = this.outputSize;
    return this.terms.map((t, ti) => {
      const m = this.inputSizes[ti];
      const out = new Float64Array(rows * m);
      const idx = t.index;
      const coef = t.coef;
      for (let r = 0; r < rows; r++) {
        const ao = r * n;
        const oo = r * m;
        if (idx === null) {
          if (typeof coef === 'number') for (let j = 0; j < n; j++) out[oo + j] = coef * a[ao + j];
          else for (let j = 0; j < n; j++) out[oo + j] = coef[j] * a[ao + j];
        } else if (typeof coef === 'number') {
          for (let j = 0; j < n; j++) { const s = idx[j]; if (s >= 0) out[oo + s] += coef * a[ao + j]; }
        } else {
          for (let j = 0; j < n; j++) { const s = idx[j]; if (s >= 0) out[oo + s] += coef[j] * a[ao + j]; }
        }
      }
      return out;
    });
  }
}

/** y[j] = Σ_{e ∈ row j} value[e]·x[col[e]] (+ bias): pooling, constant-left MatMul and other sparse maps. */
export class SparseMap extends LinearMapBase {
  constructor(
    node: IRNode,
    input: string,
    inputSize: number,
    output: string,
    readonly rowStart: Int32Array,
    readonly col: Int32Array,
    readonly value: Float64Array,
    bias: Float64Array | null,
  ) {
    super(node, [input], [inputSize], output, rowStart.length - 1, bias);
  }
  private apply(x: Float64Array, rows: number, abs: boolean): Float64Array {
    const n = this.outputSize;
    const m = this.inputSizes[0];
    const y = new Float64Array(rows * n);
    const { rowStart, col, value } = this;
    for (let r = 0; r < rows; r++) {
      const xo = r * m;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let e = rowStart[j]; e < rowStart[j + 1]; e++) s += (abs ? Math.abs(value[e]) : value[e]) * x[xo + col[e]];
        y[r * n + j] = s;
      }
    }
    return y;
  }
  applyLinear(xs: readonly Float64Array[], rows: number): Float64Array {
    return this.apply(xs[0], rows, false);
  }
  applyAbs(xs: readonly Float64Array[], rows: number): Float64Array {
    return this.apply(xs[0], rows, true);
  }
  backward(a: Float64Array, rows: number): Float64Array[] {
    const n = this.outputSize;
    const m = this.inputSizes[0];
    const out = new Float64Array(rows * m);
    const { rowStart, col, value } = this;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        const c = a[r * n + j];
        if (c === 0) continue;
        for (let e = rowStart[j]; e < rowStart[j + 1]; e++) out[r * m + col[e]] += c * value[e];
      }
    }
    return [out];
  }
}
