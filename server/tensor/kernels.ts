// Float kernels in plain TypeScript: a register-blocked matrix product and 2-D convolution with its exact adjoint.
import type { FloatArray } from './types';
import { wasmGemm } from './wasm-gemm';

let useWasm = true;

/** Use the WebAssembly SIMD kernel (wasm-gemm.ts) for large products where it compiles (default: on). */
export function setWasmGemm(enabled: boolean): void {
  useWasm = enabled;
}

// Micro-kernel tile (MR rows × NR columns of C kept in locals), depth block and row block sized for L1/L2.
const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;

// Packing buffers are reused across calls: packing always goes to float64, so float32 inputs accumulate in float64.
let packedA = new Float64Array(MC * KC);
let packedB = new Float64Array(NR * KC * 64);
let im2colBuffer = new Float64Array(1024);

function ensurePackedB(length: number): Float64Array {
  if (packedB.length < length) packedB = new Float64Array(Math.max(length, packedB.length * 2));
  return packedB;
}

function ensureIm2col(length: number): Float64Array {
  if (im2colBuffer.length < length) im2colBuffer = new Float64Array(Math.max(length, im2colBuffer.length * 2));
  return im2colBuffer;
}

/** C[M×N] = (accumulate ? C : 0) + op(A)·op(B); row-major; op(A) is M×K, op(B) is K×N. */
export function gemm(
  a: FloatArray,
  b: FloatArray,
  c: FloatArray,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) c.fill(0, 0, M * N);
    return;
  }
  // Packing costs O(MK + KN); it only pays off when both M and N give the tile some reuse.
  if (M < MR || N < NR || M * N * K < 8192) {
    gemmSmall(a, b, c, M, N, K, transA, transB, accumulate);
    return;
  }
  if (useWasm && K >= 8 && wasmGemm(a, b, c, M, N, K, transA, transB, accumulate)) return;
  const nPanels = Math.ceil(N / NR);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = Math.min(KC, K - k0);
    const pb = ensurePackedB(nPanels * NR * kc);
    packPanelsB(b, pb, N, K, k0, kc, transB);
    const overwrite = k0 === 0 && !accumulate;
    for (let i0 = 0; i0 < M; i0 += MC) {
      const mc = Math.min(MC, M - i0);
      const pa = packedA;
      packPanelsA(a, pa, M, K, i0, mc, k0, kc, transA);
      const mPanels = Math.ceil(mc / MR);
      for (let jp = 0; jp < nPanels; jp++) {
        const j = jp * NR;
        const nr = Math.min(NR, N - j);
        for (let ip = 0; ip < mPanels; ip++) {
          const i = i0 + ip * MR;
          const mr = Math.min(MR, M - i);
          microKernel(pa, ip * MR * kc, pb, jp * NR * kc, kc, c, i * N + j, N, mr, nr, overwrite);
        }
      }
    }
  }
}

/** Rows i0..i0+mc of op(A), columns k0..k0+kc, as panels of MR rows: pa[(panel*kc + k)*MR + r], zero-padded. */
function packPanelsA(a: FloatArray, pa: Float64Array, M: number, K: number, i0: number, mc: number, k0: number, kc: number, transA: boolean): void {
  const mPanels = Math.ceil(mc / MR);
  for (let p = 0; p < mPanels; p++) {
    const base = p * MR * kc;
    for (let r = 0; r < MR; r++) {
      const i = i0 + p * MR + r;
      if (i >= i0 + mc || i >= M) {
        for (let k = 0; k < kc; k++) pa[base + k * MR + r] = 0;
      } else if (transA) {
        // op(A)[i][k] = A[k][i], A is K×M
        for (let k = 0; k < kc; k++) pa[base + k * MR + r] = a[(k0 + k) * M + i];
      } else {
        const row = i * K + k0;
        for (let k = 0; k < kc; k++) pa[base + k * MR + r] = a[row + k];
      }
    }
  }
}

/** Rows k0..k0+kc of op(B) as panels of NR columns: pb[(panel*kc + k)*NR + c], zero-padded. */
function packPanelsB(b: FloatArray, pb: Float64Array, N: number, K: number, k0: number, kc: number, transB: boolean): void {
  const nPanels = Math.ceil(N / NR);
  for (let p = 0; p < nPanels; p++) {
    const base = p * NR * kc;
    const j0 = p * NR;
    if (!transB && j0 + NR <= N) {
      for (let k = 0; k < kc; k++) {
        const src = (k0 + k) * N + j0;
        const dst = base + k * NR;
        pb[dst] = b[src];
        pb[dst + 1] = b[src + 1];
        pb[dst + 2] = b[src + 2];
        pb[dst + 3] = b[src + 3];
      }
      continue;
    }
    for (let cc = 0; cc < NR; cc++) {
      const j = j0 + cc;
      if (j >= N) {
        for (let k = 0; k < kc; k++) pb[base + k * NR + cc] = 0;
      } else if (transB) {
        // op(B)[k][j] = B[j][k], B is N×K
        const row = j * K + k0;
        for (let k = 0; k < kc; k++) pb[base + k * NR + cc] = b[row + k];
      } else {
        for (let k = 0; k < kc; k++) pb[base + k * NR + cc] = b[(k0 + k) * N + j];
      }
    }
  }
}

function microKernel(
  pa: Float64Array,
  aOff: number,
  pb: Float64Array,
  bOff: number,
  kc: number,
  c: FloatArray,
  cOff: number,
  ldc: number,
  mr: number,
  nr: number,
  overwrite: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++) {
    const b0 = pb[bOff], b1 = pb[bOff + 1], b2 = pb[bOff + 2], b3 = pb[bOff + 3];
    let a = pa[aOff];
    c00 += a * b0; c01 += a * b1; c02 += a * b2; c03 += a * b3;
    a = pa[aOff + 1];
    c10 += a * b0; c11 += a * b1; c12 += a * b2; c13 += a * b3;
    a = pa[aOff + 2];
    c20 += a * b0; c21 += a * b1; c22 += a * b2; c23 += a * b3;
    a = pa[aOff + 3];
    c30 += a * b0; c31 += a * b1; c32 += a * b2; c33 += a * b3;
    aOff += MR;
    bOff += NR;
  }
  if (mr === MR && nr === NR) {
    let o = cOff;
    if (overwrite) {
      c[o] = c00; c[o + 1] = c01; c[o + 2] = c02; c[o + 3] = c03; o += ldc;
      c[o] = c10; c[o + 1] = c11; c[o + 2] = c12; c[o + 3] = c13; o += ldc;
      c[o] = c20; c[o + 1] = c21; c[o + 2] = c22; c[o + 3] = c23; o += ldc;
      c[o] = c30; c[o + 1] = c31; c[o + 2] = c32; c[o + 3] = c33;
    } else {
      c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += ldc;
      c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += ldc;
      c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += ldc;
      c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33;
    }
    return;
  }
  const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let r = 0; r < mr; r++) {
    for (let q = 0; q < nr; q++) {
      const o = cOff + r * ldc + q;
      c[o] = overwrite ? tile[r * NR + q] : c[o] + tile[r * NR + q];
    }
  }
}

/** Unpacked product for shapes too thin for tiles (matrix-vector, a few rows). */
function gemmSmall(
  a: FloatArray,
  b: FloatArray,
  c: FloatArray,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, 0, M * N);
  if (!transB) {
    // i-k-j: the inner loop streams a row of B into a row of C.
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      for (let k = 0; k < K; k++) {
        const aik = transA ? a[k * M + i] : a[i * K + k];
        if (aik === 0) continue;
        const bk = k * N;
        for (let j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
      }
    }
    return;
  }
  for (let i = 0; i < M; i++) {
    const ci = i * N;
    for (let j = 0; j < N; j++) {
      const bj = j * K;
      let s = 0;
      if (transA) for (let k = 0; k < K; k++) s += a[k * M + i] * b[bj + k];
      else {
        const ai = i * K;
        for (let k = 0; k < K; k++) s += a[ai + k] * b[bj + k];
      }
      c[ci + j] += s;
    }
  }
}

export interface Conv2dGeometry {
  batch: number;
  cin: number;
  hin: number;
  win: number;
  cout: number;
  kh: number;
  kw: number;
  hout: number;
  wout: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  dilationH: number;
  dilationW: number;
  groups: number;
}

/** Output columns [start, end) whose input column ow*stride - pad + offset lies inside [0, size). */
function validRange(outSize: number, inSize: number, stride: number, pad: number, offset: number): [number, number] {
  const shift = offset - pad; // input index = o*stride + shift
  const start = shift >= 0 ? 0 : Math.ceil(-shift / stride);
  const last = Math.floor((inSize - 1 - shift) / stride);
  return [Math.min(outSize, Math.max(0, start)), Math.max(0, Math.min(outSize, last + 1))];
}

/** Column matrix of one group of one sample: col[(c*kh + i)*kw + j][oh*wout + ow]. */
function im2col(x: FloatArray, xOff: number, col: Float64Array, cinG: number, g: Conv2dGeometry): void {
  const { hin, win, kh, kw, hout, wout, strideH, strideW, padTop, padLeft, dilationH, dilationW } = g;
  const hw = hout * wout;
  let row = 0;
  for (let ch = 0; ch < cinG; ch++) {
    const chOff = xOff + ch * hin * win;
    for (let i = 0; i < kh; i++) {
      const [ohStart, ohEnd] = validRange(hout, hin, strideH, padTop, i * dilationH);
      for (let j = 0; j < kw; j++, row++) {
        const base = row * hw;
        const [owStart, owEnd] = validRange(wout, win, strideW, padLeft, j * dilationW);
        if (ohStart > 0) col.fill(0, base, base + ohStart * wout);
        if (ohEnd < hout) col.fill(0, base + ohEnd * wout, base + hw);
        for (let oh = ohStart; oh < ohEnd; oh++) {
          const ih = oh * strideH - padTop + i * dilationH;
          const rowOut = base + oh * wout;
          const xRow = chOff + ih * win - padLeft + j * dilationW;
          for (let ow = 0; ow < owStart; ow++) col[rowOut + ow] = 0;
          if (strideW === 1) for (let ow = owStart; ow < owEnd; ow++) col[rowOut + ow] = x[xRow + ow];
          else for (let ow = owStart; ow < owEnd; ow++) col[rowOut + ow] = x[xRow + ow * strideW];
          for (let ow = owEnd; ow < wout; ow++) col[rowOut + ow] = 0;
        }
      }
    }
  }
}

/** Adds a column matrix back into the image of one group of one sample (the adjoint of im2col). */
function col2imAdd(col: Float64Array, dx: FloatArray, xOff: number, cinG: number, g: Conv2dGeometry): void {
  const { hin, win, kh, kw, hout, wout, strideH, strideW, padTop, padLeft, dilationH, dilationW } = g;
  const hw = hout * wout;
  let row = 0;
  for (let ch = 0; ch < cinG; ch++) {
    const chOff = xOff + ch * hin * win;
    for (let i = 0; i < kh; i++) {
      const [ohStart, ohEnd] = validRange(hout, hin, strideH, padTop, i * dilationH);
      for (let j = 0; j < kw; j++, row++) {
        const base = row * hw;
        const [owStart, owEnd] = validRange(wout, win, strideW, padLeft, j * dilationW);
        for (let oh = ohStart; oh < ohEnd; oh++) {
          const ih = oh * strideH - padTop + i * dilationH;
          const rowIn = base + oh * wout;
          const xRow = chOff + ih * win - padLeft + j * dilationW;
          for (let ow = owStart; ow < owEnd; ow++) dx[xRow + ow * strideW] += col[rowIn + ow];
        }
      }
    }
  }
}

function isPointwise(g: Conv2dGeometry): boolean {
  return (
    g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0 &&
    g.hout === g.hin && g.wout === g.win
  );
}

/** y[batch,cout,hout,wout] = conv(x[batch,cin,hin,win], w[cout,cin/groups,kh,kw]) + bias[cout] (bias may be null); overwrites y. Padding is zero padding; bottom/right padding is implied by hout/wout. */
export function conv2d(x: FloatArray, w: FloatArray, bias: FloatArray | null, y: FloatArray, g: Conv2dGeometry): void {
  const { batch, cin, hin, win, cout, kh, kw, hout, wout, groups } = g;
  const cinG = cin / groups;
  const coutG = cout / groups;
  const ckk = cinG * kh * kw;
  const hw = hout * wout;
  const inSize = cin * hin * win;
  const outSize = cout * hw;
  // A 1×1 stride-1 convolution reads the image as its own column matrix.
  const pointwise = isPointwise(g);
  const col = pointwise ? null : ensureIm2col(ckk * hw);
  for (let n = 0; n < batch; n++) {
    for (let gi = 0; gi < groups; gi++) {
      const xOff = n * inSize + gi * cinG * hin * win;
      const wG = w.subarray(gi * coutG * ckk, (gi + 1) * coutG * ckk);
      const yG = y.subarray(n * outSize + gi * coutG * hw, n * outSize + (gi + 1) * coutG * hw);
      if (col === null) {
        gemm(wG, x.subarray(xOff, xOff + ckk * hw), yG, coutG, hw, ckk, false, false, false);
      } else {
        im2col(x, xOff, col, cinG, g);
        gemm(wG, col, yG, coutG, hw, ckk, false, false, false);
      }
    }
    if (bias !== null) {
      for (let o = 0; o < cout; o++) {
        const bo = bias[o];
        const base = n * outSize + o * hw;
        for (let p = 0; p < hw; p++) y[base + p] += bo;
      }
    }
  }
}

/** The exact adjoint (transpose) of conv2d's linear part with the same geometry: dx[batch,cin,hin,win] from dy[batch,cout,hout,wout]; overwrites dx. Used for ConvTranspose and by CROWN's backward pass. */
export function conv2dTranspose(dy: FloatArray, w: FloatArray, dx: FloatArray, g: Conv2dGeometry): void {
  const { batch, cin, hin, win, cout, kh, kw, hout, wout, groups } = g;
  const cinG = cin / groups;
  const coutG = cout / groups;
  const ckk = cinG * kh * kw;
  const hw = hout * wout;
  const inSize = cin * hin * win;
  const outSize = cout * hw;
  const pointwise = isPointwise(g);
  const col = pointwise ? null : ensureIm2col(ckk * hw);
  dx.fill(0, 0, batch * inSize);
  for (let n = 0; n < batch; n++) {
    for (let gi = 0; gi < groups; gi++) {
      const xOff = n * inSize + gi * cinG * hin * win;
      const wG = w.subarray(gi * coutG * ckk, (gi + 1) * coutG * ckk);
      const dyG = dy.subarray(n * outSize + gi * coutG * hw, n * outSize + (gi + 1) * coutG * hw);
      if (col === null) {
        gemm(wG, dyG, dx.subarray(xOff, xOff + ckk * hw), ckk, hw, coutG, true, false, false);
      } else {
        gemm(wG, dyG, col, ckk, hw, coutG, true, false, false);
        col2imAdd(col, dx, xOff, cinG, g);
      }
    }
  }
}
