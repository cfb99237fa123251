// The structured backward pass for chain plans (chain.ts): rows pulled back segment by segment through each
// segment's Jacobian J_m, neuron-major (size × rows), so that every segment is a few dense products. A sparse J_m
// (a convolution, with any per-channel affine ops folded in) is split into groups of rows with the same columns
// (the output channels at one position: a dense cout × (cin·kh·kw) block), each applied as one product.
import { gemm } from '../tensor/kernels';
import { wasmProductTo } from '../tensor/wasm-gemm';
import { BackwardWorkspace, ResidentSparse } from '../tensor/wasm-resident';
import { segmentConstant, signedRows, type ChainPlan, type ChainStart, type Mat } from './chain';
import { allowance } from './float';
import type { ElementwiseRelaxation, Relaxation } from './ops/types';
import type { Region } from './region';

interface Group {
  readonly rows: Int32Array;
  readonly cols: Int32Array;
  /** The block transposed: |cols| × |rows|, row-major. */
  readonly blockT: Float64Array;
}

/** Groups with the same block (a convolution's positions away from the padding): one product for all of them. */
interface Batch {
  readonly groups: readonly Group[];
  readonly rg: number;
  readonly cg: number;
  readonly blockT: Float64Array;
  /** Group g's rows are first + g + t·(number of groups) (channel-major positions): G is the product's B as is. */
  readonly strided: number;
}

const forms = new WeakMap<Mat, Group[]>();
const batchForms = new WeakMap<Mat, Batch[]>();

function batchesOf(J: Mat): Batch[] {
  let b = batchForms.get(J);
  if (b === undefined) {
    const byKey = new Map<string, Group[]>();
    for (const g of groupsOf(J)) {
      const key = `${g.rows.length}x${g.cols.length}:${Array.from(g.blockT).join(',')}`;
      let list = byKey.get(key);
      if (list === undefined) byKey.set(key, (list = []));
      list.push(g);
    }
    b = [...byKey.values()].map((groups) => {
      const nb = groups.length;
      const first = groups[0].rows[0];
      let strided = first;
      groups.forEach((g, gi) => g.rows.forEach((row, t) => {
        if (row !== first + gi + t * nb) strided = -1;
      }));
      return { groups, rg: groups[0].rows.length, cg: groups[0].cols.length, blockT: groups[0].blockT, strided };
    });
    batchForms.set(J, b);
  }
  return b;
}

/** J's rows grouped by their set of non-zero columns (only for sparse J). */
function groupsOf(J: Mat): Group[] {
  let g = forms.get(J);
  if (g === undefined) {
    const { rowStart, col } = J.csr!;
    const byKey = new Map<string, number[]>();
    for (let i = 0; i < J.rows; i++) {
      const key = col.subarray(rowStart[i], rowStart[i + 1]).join(',');
      let list = byKey.get(key);
      if (list === undefined) byKey.set(key, (list = []));
      list.push(i);
    }
    g = [];
    for (const list of byKey.values()) {
      const rows = Int32Array.from(list);
      const cols = col.slice(rowStart[rows[0]], rowStart[rows[0] + 1]);
      const rg = rows.length;
      const blockT = new Float64Array(cols.length * rg);
      for (let c = 0; c < cols.length; c++) for (let t = 0; t < rg; t++) blockT[c * rg + t] = J.data[rows[t] * J.cols + cols[c]];
      if (cols.length > 0) g.push({ rows, cols, blockT });
    }
    forms.set(J, g);
  }
  return g;
}

let bufB = new Float64Array(0);
let bufC = new Float64Array(0);
let bufA = new Float64Array(0);

/** out (J.cols × R) = Jᵀ·G for G (J.rows × R), both neuron-major; rows of G with keep[i] = 0 are zero. */
function applyTransposed(J: Mat, G: Float64Array, R: number, out: Float64Array, keep: Uint8Array): void {
  if (J.csr === null) {
    let kept = 0;
    for (let i = 0; i < J.rows; i++) kept += keep[i];
    if (kept === J.rows) {
      gemm(J.data, G, out, J.cols, R, J.rows, true, false, false);
      return;
    }
    // Drop the zero rows of G (inactive neurons) and the matching rows of J.
    const n = J.cols;
    if (bufA.length < kept * n) bufA = new Float64Array(kept * n);
    if (bufB.length < kept * R) bufB = new Float64Array(kept * R);
    let t = 0;
    for (let i = 0; i < J.rows; i++) {
      if (!keep[i]) continue;
      bufA.set(J.data.subarray(i * n, i * n + n), t * n);
      bufB.set(G.subarray(i * R, i * R + R), t * R);
      t++;
    }
    gemm(bufA, bufB, out, n, R, kept, true, false, false);
    return;
  }
  for (const batch of batchesOf(J)) {
    if (batch.groups.length > 1) {
      applyBatch(batch, G, R, out);
      continue;
    }
    const { rows, cols, blockT } = batch.groups[0];
    const rg = rows.length;
    const cg = cols.length;
    let kept = 0;
    for (let t = 0; t < rg; t++) kept += keep[rows[t]];
    if (kept === 0) continue;
    if (bufB.length < kept * R) bufB = new Float64Array(Math.max(kept * R, 2 * bufB.length));
    if (bufC.length < cg * R) bufC = new Float64Array(Math.max(cg * R, 2 * bufC.length));
    let A = blockT;
    if (kept < rg) {
      if (bufA.length < cg * kept) bufA = new Float64Array(Math.max(cg * kept, 2 * bufA.length));
      A = bufA;
    }
    let q = 0;
    for (let t = 0; t < rg; t++) {
      const i = rows[t];
      if (!keep[i]) continue;
      bufB.set(G.subarray(i * R, i * R + R), q * R);
      if (kept < rg) for (let c = 0; c < cg; c++) A[c * kept + q] = blockT[c * rg + t];
      q++;
    }
    gemm(A, bufB, bufC, cg, R, kept, false, false, false);
    for (let c = 0; c < cg; c++) {
      const o = cols[c] * R;
      const s = c * R;
      for (let r = 0; r < R; r++) out[o + r] += bufC[s + r];
    }
  }
}

/** out[cols_g] += blockᵀ·G[rows_g] for every group g of the batch, as one product over all groups' columns. */
function applyBatch(batch: Batch, G: Float64Array, R: number, out: Float64Array): void {
  const { groups, rg, cg, blockT, strided } = batch;
  const nb = groups.length;
  const width = nb * R;
  let B: Float64Array;
  if (strided >= 0) B = G.subarray(strided * R, strided * R + rg * width);
  else {
    if (bufB.length < rg * width) bufB = new Float64Array(Math.max(rg * width, 2 * bufB.length));
    for (let g = 0; g < nb; g++) {
      const rows = groups[g].rows;
      for (let t = 0; t < rg; t++) bufB.set(G.subarray(rows[t] * R, rows[t] * R + R), t * width + g * R);
    }
    B = bufB;
  }
  const scatter = (C: Float64Array, ld: number): void => {
    for (let g = 0; g < nb; g++) {
      const cols = groups[g].cols;
      for (let c = 0; c < cg; c++) {
        const o = cols[c] * R;
        const s = c * ld + g * R;
        for (let r = 0; r < R; r++) out[o + r] += C[s + r];
      }
    }
  };
  if (wasmProductTo(blockT, B, cg, width, rg, scatter)) return;
  if (bufC.length < cg * width) bufC = new Float64Array(Math.max(cg * width, 2 * bufC.length));
  gemm(blockT, B, bufC, cg, width, rg, false, false, false);
  scatter(bufC, width);
}

const transposes = new WeakMap<Mat, Float64Array>();

/** A dense matrix's transpose (cols × rows), computed once. */
function transposed(P: Mat): Float64Array {
  let t = transposes.get(P);
  if (t === undefined) {
    const { rows, cols, data } = P;
    t = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = data[i * cols + j];
    transposes.set(P, t);
  }
  return t;
}

const residents = new WeakMap<Mat, ResidentSparse>();

function residentOf(J: Mat): ResidentSparse {
  let r = residents.get(J);
  if (r === undefined) {
    const { rowStart, col, val } = J.csr!;
    residents.set(J, (r = new ResidentSparse(rowStart, col, val, J.rows, J.cols)));
  }
  return r;
}

/**
 * explicitBlock in wasm memory: the coefficient blocks (rows padded to a multiple of 8), the relaxations, the sparse
 * segments (Jᵀ·V with Jᵀ resident) and the concretisation run as wasm SIMD kernels; dense segments are products.
 * Returns false (doing nothing) when the wasm workspace is not there.
 */
function explicitBlockWasm(
  plan: ChainPlan,
  relaxations: ReadonlyMap<number, Relaxation>,
  region: Region,
  k: number,
  from: number,
  start: ChainStart,
  r0: number,
  R: number,
  result: Float64Array,
): boolean {
  const W = Math.ceil(R / 8) * 8;
  const sizes = plan.sizes;
  const sparse: ResidentSparse[] = [];
  let widest = 0, widestAct = 0;
  for (let m = 1; m <= from; m++) {
    if (plan.P[m][m].csr !== null) sparse.push(residentOf(plan.P[m][m]));
    widestAct = Math.max(widestAct, sizes[m]);
  }
  for (let m = 0; m <= from; m++) widest = Math.max(widest, sizes[m]);
  const n0 = sizes[0];
  const cstAt = 0, magAt = W, paramsAt = 2 * W, loAt = paramsAt + 6 * widestAct, hiAt = loAt + n0;
  let vAt = hiAt + n0, outAt = vAt + widest * W;
  const ws = BackwardWorkspace.open(sparse, outAt + widest * W);
  if (ws === null) return false;
  const f = ws.f64;
  const base = ws.base;
  // The rows at h_from: through P_{k,from+1} (segments from+1 … k with identity activations between them).
  const n = sizes[from];
  const Jk = plan.P[k][from + 1];
  f.fill(0, base, base + vAt + (Jk.csr !== null || start.kind !== 'neurons' ? n * W : 0));
  const { c: bk, mag: bak } = segmentConstant(plan, k, from + 1);
  const nk = sizes[k];
  const V = base + vAt;
  if (start.kind === 'neurons') {
    for (let r = 0; r < R; r++) {
      const g = r0 + r;
      const i = start.neurons[g >> 1];
      f[base + cstAt + r] = g & 1 ? -bk[i] : bk[i];
      f[base + magAt + r] = bak[i];
    }
    if (Jk.csr !== null) {
      const { rowStart, col, val } = Jk.csr;
      for (let r = 0; r < R; r++) {
        const g = r0 + r;
        const i = start.neurons[g >> 1];
        const s = g & 1 ? -1 : 1;
        for (let e = rowStart[i]; e < rowStart[i + 1]; e++) f[V + col[e] * W + r] = s * val[e];
      }
    } else {
      // From Pᵀ (cached): both reads and writes run along rows.
      const T = transposed(Jk);
      // Blocks start at an even row (pairs are never split): rows 2p, 2p + 1 are +e_i, −e_i.
      const p0 = r0 >> 1;
      const pairs = R >> 1;
      const idx = start.neurons.subarray(p0, p0 + pairs);
      for (let j = 0; j < n; j++) {
        const o = V + j * W;
        const to = j * nk;
        for (let p = 0; p < pairs; p++) {
          const x = T[to + idx[p]];
          f[o + 2 * p] = x;
          f[o + 2 * p + 1] = -x;
        }
        f.fill(0, o + R, o + W);
      }
    }
  } else {
    const A0 = signedRows(start, r0, R, bk, bak, f, f, base + cstAt, base + magAt);
    const T = new Float64Array(R * n);
    gemm(A0, Jk.data, T, R, n, nk, false, false, false);
    for (let r = 0; r < R; r++) for (let j = 0; j < n; j++) f[V + j * W + r] = T[r * n + j];
  }
  for (let m = from; m >= 1; m--) {
    const { lowSlope, lowBias, upSlope, upBias } = relaxations.get(plan.act[m]) as ElementwiseRelaxation;
    const nm = sizes[m];
    const bm = plan.b[m], bam = plan.bAbs[m];
    for (let j = 0, p = base + paramsAt; j < nm; j++, p += 6) {
      f[p] = lowSlope[j];
      f[p + 1] = upSlope[j];
      f[p + 2] = lowBias[j];
      f[p + 3] = upBias[j];
      f[p + 4] = bm[j];
      f[p + 5] = bam[j];
    }
    ws.relax(base + vAt, base + cstAt, base + magAt, base + paramsAt, nm, W);
    const J = plan.P[m][m];
    const nPrev = sizes[m - 1];
    if (J.csr !== null) ws.spmm(residentOf(J), base + vAt, base + outAt, W / 8);
    else gemm(J.data, f.subarray(base + vAt, base + vAt + nm * W), f.subarray(base + outAt, base + outAt + nPrev * W), nPrev, W, nm, true, false, false);
    [vAt, outAt] = [outAt, vAt];
  }
  f.set(region.lower, base + loAt);
  f.set(region.upper, base + hiAt);
  ws.concretise(base + vAt, base + cstAt, base + magAt, base + loAt, base + hiAt, n0, W);
  for (let r = 0; r < R; r++) {
    const c = f[base + cstAt + r];
    result[r0 + r] = c - allowance(c, f[base + magAt + r]);
  }
  return true;
}

/** Whether explicitBlock runs in wasm here (and may start below identity levels). */
export function explicitInWasm(): boolean {
  return BackwardWorkspace.available();
}

/**
 * Widened lower bounds of rows r0..r0+R of the start (see chainRows), by the structured pass. The activations
 * from + 1 … k − 1 must be the identity (all active); the wasm pass starts at h_from, the TypeScript one at h_{k−1}.
 */
export function explicitBlock(
  plan: ChainPlan,
  relaxations: ReadonlyMap<number, Relaxation>,
  region: Region,
  k: number,
  from: number,
  start: ChainStart,
  r0: number,
  R: number,
  result: Float64Array,
): void {
  if (explicitBlockWasm(plan, relaxations, region, k, from, start, r0, R, result)) return;
  const cst = new Float64Array(R);
  const mag = new Float64Array(R);
  const Jk = plan.P[k][k];
  const bk = plan.b[k];
  const bak = plan.bAbs[k];
  const n = plan.sizes[k - 1];
  const nk = plan.sizes[k];
  // V: the coefficients at h_{k−1} (the input of segment k), neuron-major.
  let V = new Float64Array(n * R);
  if (start.kind === 'neurons') {
    for (let r = 0; r < R; r++) {
      const g = r0 + r;
      const i = start.neurons[g >> 1];
      const s = g & 1 ? -1 : 1;
      cst[r] = s * bk[i];
      mag[r] = bak[i];
      if (Jk.csr !== null) {
        const { rowStart, col, val } = Jk.csr;
        for (let e = rowStart[i]; e < rowStart[i + 1]; e++) V[col[e] * R + r] = s * val[e];
      } else {
        const o = i * n;
        for (let j = 0; j < n; j++) V[j * R + r] = s * Jk.data[o + j];
      }
    }
  } else {
    const A0 = signedRows(start, r0, R, bk, bak, cst, mag);
    // Vᵀ (R × n) = A0·J_k, then transposed.
    const W = new Float64Array(R * n);
    gemm(A0, Jk.data, W, R, n, nk, false, false, false);
    for (let r = 0; r < R; r++) for (let j = 0; j < n; j++) V[j * R + r] = W[r * n + j];
  }
  for (let m = k - 1; m >= 1; m--) {
    // Through the relaxation of the activation on z_m: V becomes the coefficients at z_m (in place).
    const relax = relaxations.get(plan.act[m]) as ElementwiseRelaxation;
    const { lowSlope, lowBias, upSlope, upBias } = relax;
    const nm = plan.sizes[m];
    const keep = new Uint8Array(nm);
    const bm = plan.b[m];
    const bam = plan.bAbs[m];
    for (let j = 0; j < nm; j++) {
      const o = j * R;
      const ls = lowSlope[j], us = upSlope[j], lb = lowBias[j], ub = upBias[j];
      if (ls === 0 && us === 0 && lb === 0 && ub === 0) {
        V.fill(0, o, o + R);
        continue;
      }
      keep[j] = 1;
      if (lb === 0 && ub === 0) {
        if (ls === us) {
          if (ls !== 1) for (let r = 0; r < R; r++) V[o + r] *= ls;
        } else
          for (let r = 0; r < R; r++) {
            const v = V[o + r];
            V[o + r] = v >= 0 ? v * ls : v * us;
          }
      } else
        for (let r = 0; r < R; r++) {
          const v = V[o + r];
          if (v === 0) continue;
          let t: number;
          if (v >= 0) {
            V[o + r] = v * ls;
            t = v * lb;
          } else {
            V[o + r] = v * us;
            t = v * ub;
          }
          cst[r] += t;
          mag[r] += Math.abs(t);
        }
      const bj = bm[j];
      const baj = bam[j];
      if (bj !== 0)
        for (let r = 0; r < R; r++) {
          const v = V[o + r];
          cst[r] += v * bj;
          mag[r] += Math.abs(v) * baj;
        }
    }
    const next = new Float64Array(plan.sizes[m - 1] * R);
    applyTransposed(plan.P[m][m], V, R, next, keep);
    V = next;
  }
  const n0 = plan.sizes[0];
  const { lower: lo, upper: hi } = region;
  for (let i = 0; i < n0; i++) {
    const o = i * R;
    const l = lo[i], u = hi[i];
    for (let r = 0; r < R; r++) {
      const x = V[o + r];
      const t = x >= 0 ? x * l : x * u;
      cst[r] += t;
      mag[r] += Math.abs(t);
    }
  }
  for (let r = 0; r < R; r++) result[r0 + r] = cst[r] - allowance(cst[r], mag[r]);
}
