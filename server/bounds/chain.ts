// CROWN on a chain of affine segments and elementwise activations, by low-rank corrections of precomputed products.
//
// A network x → z_1 = J_1·x + b_1 → h_1 = σ(z_1) → z_2 = J_2·h_1 + b_2 → … → z_L (the output), where each J_m is
// the Jacobian of the linear ops between two activations (Gemm, Conv, BatchNorm, Flatten, Sub/Div...) folded into
// one matrix. With every activation replaced by the identity the network is affine: z_k = P_{k,1}·x + Q_k, with
// P_{k,j} = J_k·…·J_j. A CROWN relaxation h_m ≥ D_m∘z_m + β_m (per row: D and β chosen by the coefficient's sign)
// differs from the identity only at the neurons S_m that are not active (inactive, unstable, grafted): writing
// D∘z = z − (1 − D)∘z, a row a·z_k of the backward pass becomes
//   a·P_{k,1}·x − Σ_m c_m·(P_{m,1}·x + Q_m) + a·Q_k + Σ_m H_m·β_m,
// with H_m = a·P_{k,m+1} − Σ_{m'>m} c_{m'}·P_{m',m+1} (the coefficient at h_m, needed on S_m only) and
// c_m = H_m∘(1 − D_m) on S_m. The products P are model constants (computed once per bound graph), so a backward
// pass costs rows × |S| instead of rows × layer width, and an identity start row e_i is row i of P itself.
import { gemm } from '../tensor/kernels';
import type { BoundGraph } from './graph';
import { centerRadius, type Interval } from './ibp';
import type { ElementwiseRelaxation, LinearBoundOp, Relaxation } from './ops/types';
import type { Region } from './region';
import { allowance } from './float';
import { explicitBlock, explicitInWasm } from './chain-explicit';
import { ResidentMatrix } from '../tensor/wasm-resident';

/** A dense matrix (rows × cols, row-major) with its sparse (CSR) form when it is mostly zeros. */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
  readonly csr: { rowStart: Int32Array; col: Int32Array; val: Float64Array } | null;
}

export interface ChainPlan {
  /** Number of affine segments L (activations: L − 1). */
  readonly segments: number;
  /** sizes[0]: the input; sizes[m]: z_m. */
  readonly sizes: readonly number[];
  /** act[m] (1 ≤ m < L): op index of the activation on z_m. */
  readonly act: readonly number[];
  /** Value name of z_m → m. */
  readonly level: ReadonlyMap<string, number>;
  /** P[k][j] = J_k·…·J_j (1 ≤ j ≤ k ≤ L): sizes[k] × sizes[j − 1]. */
  readonly P: readonly (readonly Mat[])[];
  /** Q[k]: constant term of z_k with every activation the identity; Qabs[k]: the same with |J|, |b|. */
  readonly Q: readonly Float64Array[];
  readonly Qabs: readonly Float64Array[];
  /** b[m]: the constant term of segment m alone (z_m = J_m·h_{m−1} + b_m). */
  readonly b: readonly Float64Array[];
  /** bAbs[m]: a bound on the magnitude of the terms summed into b[m] (≥ |b[m]|), for rounding allowances. */
  readonly bAbs: readonly Float64Array[];
}

/** Largest total number of coefficients the products may take (else the general backward pass is used). */
const PLAN_LIMIT = 1 << 23;
const SPARSE = 0.25;

const plans = new WeakMap<BoundGraph, ChainPlan | null>();

/** The chain plan of a bound graph (built on first use and cached), or null when it is not such a chain. */
export function chainPlan(bg: BoundGraph): ChainPlan | null {
  let p = plans.get(bg);
  if (p === undefined) {
    p = buildPlan(bg);
    plans.set(bg, p);
  }
  return p;
}

function buildPlan(bg: BoundGraph): ChainPlan | null {
  // Segments: maximal runs of single-input linear ops, each consuming the previous op's output.
  const segOps: LinearBoundOp[][] = [[]];
  const act: number[] = [0];
  let current = bg.input;
  const uses = new Map<string, number>();
  for (const op of bg.ops) for (const name of op.kind === 'linear' ? op.inputs : [op.input]) uses.set(name, (uses.get(name) ?? 0) + 1);
  for (let i = 0; i < bg.ops.length; i++) {
    const op = bg.ops[i];
    if ((uses.get(current) ?? 0) !== 1 && current !== bg.output) return null;
    if (op.kind === 'linear') {
      if (op.inputs.length !== 1 || op.inputs[0] !== current) return null;
      segOps[segOps.length - 1].push(op);
    } else {
      if (op.input !== current || segOps[segOps.length - 1].length === 0) return null;
      if (op.family === 'maxpool') return null;
      act.push(i);
      segOps.push([]);
    }
    current = op.output;
  }
  if (current !== bg.output || segOps[segOps.length - 1].length === 0) return null;
  const L = segOps.length;
  const sizes = [bg.inputSize, ...segOps.map((s) => s[s.length - 1].outputSize)];
  let total = 0;
  for (let k = 1; k <= L; k++) for (let j = 1; j <= k; j++) total += sizes[k] * sizes[j - 1];
  if (total > PLAN_LIMIT) return null;
  const level = new Map<string, number>();
  segOps.forEach((s, m) => level.set(s[s.length - 1].output, m + 1));
  const J: Float64Array[] = [new Float64Array(0)];
  const b: Float64Array[] = [new Float64Array(0)];
  const bAbs: Float64Array[] = [new Float64Array(0)];
  for (let m = 1; m <= L; m++) {
    const ops = segOps[m - 1];
    const nOut = sizes[m];
    let a: Float64Array = new Float64Array(nOut * nOut);
    for (let i = 0; i < nOut; i++) a[i * nOut + i] = 1;
    for (let t = ops.length - 1; t >= 0; t--) a = ops[t].backward(a, nOut)[0];
    J.push(a);
    let y: Float64Array = new Float64Array(sizes[m - 1]);
    let ya: Float64Array = new Float64Array(sizes[m - 1]);
    for (const op of ops) {
      y = Float64Array.from(op.applyLinear([y], 1));
      ya = Float64Array.from(op.applyAbs([ya], 1));
      const bm = op.biasMagnitude;
      if (op.bias !== null)
        for (let j = 0; j < y.length; j++) {
          y[j] += op.bias[j];
          ya[j] += bm![j];
        }
    }
    b.push(y);
    bAbs.push(ya);
  }
  const P: Mat[][] = [[]];
  const Q: Float64Array[] = [new Float64Array(0)];
  const Qabs: Float64Array[] = [new Float64Array(0)];
  for (let k = 1; k <= L; k++) {
    const row: Mat[] = new Array(k + 1);
    row[k] = mat(sizes[k], sizes[k - 1], J[k]);
    for (let j = k - 1; j >= 1; j--) {
      const out = new Float64Array(sizes[k] * sizes[j - 1]);
      multiply(J[k], sizes[k], sizes[k - 1], P[k - 1][j], out);
      row[j] = mat(sizes[k], sizes[j - 1], out);
    }
    P.push(row);
    const q = Float64Array.from(b[k]);
    const qa = Float64Array.from(bAbs[k]);
    if (k > 1) {
      const n = sizes[k - 1];
      for (let i = 0; i < sizes[k]; i++) {
        let s = 0, sa = 0;
        for (let t = 0; t < n; t++) {
          const w = J[k][i * n + t];
          s += w * Q[k - 1][t];
          sa += Math.abs(w) * Qabs[k - 1][t];
        }
        q[i] += s;
        qa[i] += sa;
      }
    }
    Q.push(q);
    Qabs.push(qa);
  }
  return { segments: L, sizes, act, level, P, Q, Qabs, b, bAbs };
}

function mat(rows: number, cols: number, data: Float64Array): Mat {
  let nnz = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) nnz++;
  if (nnz > SPARSE * data.length) return { rows, cols, data, csr: null };
  const rowStart = new Int32Array(rows + 1);
  const col = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  let e = 0;
  for (let i = 0; i < rows; i++) {
    rowStart[i] = e;
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j];
      if (v !== 0) {
        col[e] = j;
        val[e++] = v;
      }
    }
  }
  rowStart[rows] = e;
  return { rows, cols, data, csr: { rowStart, col, val } };
}

/** out (m × n) = A (m × k) · B (k × n, a Mat), skipping zeros of A. */
function multiply(a: Float64Array, m: number, k: number, B: Mat, out: Float64Array): void {
  const n = B.cols;
  let nnz = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) nnz++;
  if (B.csr === null && nnz > SPARSE * a.length) {
    gemm(a, B.data, out, m, n, k, false, false, false);
    return;
  }
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let t = 0; t < k; t++) {
      const c = a[i * k + t];
      if (c === 0) continue;
      if (B.csr !== null) {
        const { rowStart, col, val } = B.csr;
        for (let e = rowStart[t]; e < rowStart[t + 1]; e++) out[o + col[e]] += c * val[e];
      } else {
        const bo = t * n;
        for (let j = 0; j < n; j++) out[o + j] += c * B.data[bo + j];
      }
    }
  }
}

/** Rows to bound at z_k: ±e_i (row r: neuron neurons[r >> 1], sign + for even r) or ±C (row r: ±C[r >> 1]). */
export type ChainStart = { kind: 'neurons'; neurons: Int32Array } | { kind: 'matrix'; rows: Float64Array; count: number };

const constants = new WeakMap<ChainPlan, Map<number, { c: Float64Array; mag: Float64Array }>>();

/**
 * The constant term of z_k as an affine function of h_{j−1} when the activations j … k−1 are the identity
 * (D_{k,j} = b_k + J_k·D_{k−1,j}, D_{k,k} = b_k), with a bound on the magnitude of the terms summed into it.
 */
export function segmentConstant(plan: ChainPlan, k: number, j: number): { c: Float64Array; mag: Float64Array } {
  if (j === k) return { c: plan.b[k], mag: plan.bAbs[k] };
  let byPlan = constants.get(plan);
  if (byPlan === undefined) constants.set(plan, (byPlan = new Map()));
  const key = k * 4096 + j;
  let d = byPlan.get(key);
  if (d === undefined) {
    const inner = segmentConstant(plan, k - 1, j);
    const J = plan.P[k][k];
    const n = J.cols;
    const c = Float64Array.from(plan.b[k]);
    const mag = Float64Array.from(plan.bAbs[k]);
    for (let i = 0; i < J.rows; i++) {
      let s = 0, m = 0;
      for (let t = 0; t < n; t++) {
        const w = J.data[i * n + t];
        s += w * inner.c[t];
        m += Math.abs(w) * inner.mag[t];
      }
      c[i] += s;
      mag[i] += m;
    }
    byPlan.set(key, (d = { c, mag }));
  }
  return d;
}

/** Whether the chain path applies: a plan exists and every activation before level k has an elementwise relaxation. */
export function chainApplies(plan: ChainPlan, relaxations: ReadonlyMap<number, Relaxation>, k: number): boolean {
  for (let m = 1; m < k; m++) {
    const r = relaxations.get(plan.act[m]);
    if (r === undefined || r.kind !== 'elementwise') return false;
  }
  return true;
}

const nonIdentity = new WeakMap<ElementwiseRelaxation, Int32Array>();

/** Neurons whose relaxation is not the identity (not active). */
function notIdentity(r: ElementwiseRelaxation): Int32Array {
  let s = nonIdentity.get(r);
  if (s === undefined) {
    const out: number[] = [];
    for (let j = 0; j < r.lowSlope.length; j++)
      if (r.lowSlope[j] !== 1 || r.upSlope[j] !== 1 || r.lowBias[j] !== 0 || r.upBias[j] !== 0) out.push(j);
    s = Int32Array.from(out);
    nonIdentity.set(r, s);
  }
  return s;
}

const inputMagnitudes = new WeakMap<Region, Map<ChainPlan, Float64Array[]>>();

/** v[m] = |P_{m,1}|·max(|lower|, |upper|): the magnitude of the input terms of z_m's rows. */
function magnitudes(plan: ChainPlan, region: Region): Float64Array[] {
  let byPlan = inputMagnitudes.get(region);
  if (byPlan === undefined) inputMagnitudes.set(region, (byPlan = new Map()));
  let v = byPlan.get(plan);
  if (v === undefined) {
    const n0 = plan.sizes[0];
    const x = new Float64Array(n0);
    for (let i = 0; i < n0; i++) x[i] = Math.max(Math.abs(region.lower[i]), Math.abs(region.upper[i]));
    v = [new Float64Array(0)];
    for (let m = 1; m <= plan.segments; m++) {
      const P = plan.P[m][1];
      const out = new Float64Array(P.rows);
      if (P.csr !== null) {
        const { rowStart, col, val } = P.csr;
        for (let i = 0; i < P.rows; i++) {
          let s = 0;
          for (let e = rowStart[i]; e < rowStart[i + 1]; e++) s += Math.abs(val[e]) * x[col[e]];
          out[i] = s;
        }
      } else
        for (let i = 0; i < P.rows; i++) {
          let s = 0;
          const o = i * n0;
          for (let t = 0; t < n0; t++) s += Math.abs(P.data[o + t]) * x[t];
          out[i] = s;
        }
      v.push(out);
    }
    byPlan.set(plan, v);
  }
  return v;
}

/** Row blocks hold at most this many coefficients per matrix. */
const BLOCK_ELEMENTS = 1 << 21;
const EXPLICIT_ELEMENTS = 1 << 21;

/** Widened lower bounds of the rows over z_k, through the relaxations of the activations before level k. */
export function chainRows(
  plan: ChainPlan,
  relaxations: ReadonlyMap<number, Relaxation>,
  region: Region,
  k: number,
  start: ChainStart,
): Float64Array {
  const total = start.kind === 'neurons' ? 2 * start.neurons.length : 2 * start.count;
  const result = new Float64Array(total);
  const widest = Math.max(...plan.sizes.slice(0, k + 1));
  const block = Math.max(2, 2 * Math.floor(BLOCK_ELEMENTS / (2 * widest)));
  const v = magnitudes(plan, region);
  const levels: { m: number; S: Int32Array; relax: ElementwiseRelaxation }[] = [];
  for (let m = k - 1; m >= 1; m--) {
    const relax = relaxations.get(plan.act[m]) as ElementwiseRelaxation;
    const S = notIdentity(relax);
    if (S.length > 0) levels.push({ m, S, relax });
  }
  if (levels.length === 0 && start.kind === 'neurons' && exactRows(plan, region, v, k, start.neurons, result)) return result;
  // With the wasm kernels, a pass that can start below identity levels (all neurons active: the product P_{k,m+1}
  // replaces their segments) is cheaper than per-pair corrections.
  const fromBelow = levels.length > 0 && levels[0].m < k - 1 && explicitInWasm();
  if (start.kind === 'neurons' && levels.length === 1 && !fromBelow) {
    chainPairs(plan, levels[0], region, v, k, start.neurons, result);
    return result;
  }
  if (fromBelow || explicitCheaper(plan, levels, k, start)) {
    // Neuron-major blocks: rows × (widest value) coefficients, twice.
    const eblock = Math.max(2, 2 * Math.floor(EXPLICIT_ELEMENTS / (2 * widest)));
    const from = levels[0].m;
    for (let r0 = 0; r0 < total; r0 += eblock) explicitBlock(plan, relaxations, region, k, from, start, r0, Math.min(eblock, total - r0), result);
    return result;
  }
  for (let r0 = 0; r0 < total; r0 += block) {
    const R = Math.min(block, total - r0);
    chainBlock(plan, levels, region, v, k, start, r0, R, result);
  }
  return result;
}

/**
 * Rows r0 … r0+R of a matrix start as signed rows (2i: C_i, 2i + 1: −C_i), R × nk; each row's constant a·c goes to
 * cst[cstAt + r] and the magnitude of its terms |a|·magnitude to mag[magAt + r].
 */
export function signedRows(
  start: Extract<ChainStart, { kind: 'matrix' }>,
  r0: number,
  R: number,
  c: Float64Array,
  magnitude: Float64Array,
  cst: Float64Array,
  mag: Float64Array,
  cstAt = 0,
  magAt = 0,
): Float64Array {
  const nk = c.length;
  const A0 = new Float64Array(R * nk);
  for (let r = 0; r < R; r++) {
    const g = r0 + r;
    const s = g & 1 ? -1 : 1;
    const src = (g >> 1) * nk;
    let t = 0, m = 0;
    for (let j = 0; j < nk; j++) {
      const a = s * start.rows[src + j];
      A0[r * nk + j] = a;
      t += a * c[j];
      m += Math.abs(a) * magnitude[j];
    }
    cst[cstAt + r] = t;
    mag[magAt + r] = m;
  }
  return A0;
}

const residentProducts = new WeakMap<Mat, ResidentMatrix>();

/**
 * Rows ±e_i of z_k when every activation before it is the identity (the first layer): z_k = P_{k,1}·x + Q_k exactly,
 * so the bounds are Q_k ± (P·c ∓ |P|·r) over the box (centre c, radius r), one interval product for all neurons (the
 * IBP kernel). The terms' magnitude is at most Qabs_k + 2·|P|·max(|lower|, |upper|) (both sums, and c, r within an
 * ulp of the box). Returns false (doing nothing) for a sparse P or without wasm.
 */
function exactRows(plan: ChainPlan, region: Region, v: Float64Array[], k: number, neurons: Int32Array, result: Float64Array): boolean {
  const P = plan.P[k][1];
  if (P.csr !== null) return false;
  let m = residentProducts.get(P);
  if (m === undefined) residentProducts.set(P, (m = new ResidentMatrix(P.data, P.rows, P.cols)));
  const [c, r] = centerRadius(region.lower, region.upper);
  const yc = new Float64Array(P.rows);
  const yr = new Float64Array(P.rows);
  if (!m.interval(c, r, 1, yc, yr)) return false;
  const Qk = plan.Q[k], Qak = plan.Qabs[k], vk = v[k];
  for (let p = 0; p < neurons.length; p++) {
    const i = neurons[p];
    const mag = Qak[i] + 2 * vk[i];
    finish(result, 2 * p, Qk[i] + yc[i] - yr[i], mag);
    finish(result, 2 * p + 1, -Qk[i] - yc[i] - yr[i], mag);
  }
  return true;
}

function chainBlock(
  plan: ChainPlan,
  levels: readonly { m: number; S: Int32Array; relax: ElementwiseRelaxation }[],
  region: Region,
  v: Float64Array[],
  k: number,
  start: ChainStart,
  r0: number,
  R: number,
  result: Float64Array,
): void {
  const nk = plan.sizes[k];
  const cst = new Float64Array(R);
  const mag = new Float64Array(R);
  const Qk = plan.Q[k], Qak = plan.Qabs[k], vk = v[k];
  // The start rows as a matrix (only for C); neurons: row r is sign·e_neuron.
  let A0: Float64Array | null = null;
  const neuron = new Int32Array(R);
  const sign = new Float64Array(R);
  if (start.kind === 'neurons') {
    for (let r = 0; r < R; r++) {
      const g = r0 + r;
      const i = start.neurons[g >> 1];
      const s = g & 1 ? -1 : 1;
      neuron[r] = i;
      sign[r] = s;
      cst[r] = s * Qk[i];
      mag[r] = Qak[i] + vk[i];
    }
  } else {
    const terms = new Float64Array(nk);
    for (let j = 0; j < nk; j++) terms[j] = Qak[j] + vk[j];
    A0 = signedRows(start, r0, R, Qk, terms, cst, mag);
  }
  const done: { m: number; S: Int32Array; c: Float64Array }[] = [];
  for (const { m, S, relax } of levels) {
    const ns = S.length;
    const H = new Float64Array(R * ns);
    const Pk = plan.P[k][m + 1];
    if (A0 === null) {
      const cols = Pk.cols;
      for (let r = 0; r < R; r++) {
        const o = neuron[r] * cols;
        const s = sign[r];
        const ho = r * ns;
        for (let t = 0; t < ns; t++) H[ho + t] = s * Pk.data[o + S[t]];
      }
    } else {
      const B = gatherCols(Pk, S);
      gemm(A0, B, H, R, ns, nk, false, false, false);
    }
    for (const d of done) subtractProduct(H, R, ns, d.c, plan.P[d.m][m + 1], d.S, S);
    const { lowSlope, lowBias, upSlope, upBias } = relax;
    const Qm = plan.Q[m], Qam = plan.Qabs[m], vm = v[m];
    const c = H; // c overwrites H in place: c = h·(1 − D)
    for (let r = 0; r < R; r++) {
      const ho = r * ns;
      let s = 0, mg = 0;
      for (let t = 0; t < ns; t++) {
        const h = H[ho + t];
        if (h === 0) continue;
        const j = S[t];
        let cv: number, beta: number;
        if (h >= 0) {
          cv = h - h * lowSlope[j];
          beta = h * lowBias[j];
        } else {
          cv = h - h * upSlope[j];
          beta = h * upBias[j];
        }
        c[ho + t] = cv;
        s += beta - cv * Qm[j];
        mg += Math.abs(beta) + Math.abs(cv) * (Qam[j] + vm[j]);
      }
      cst[r] += s;
      mag[r] += mg;
    }
    done.push({ m, S, c });
  }
  const n0 = plan.sizes[0];
  const { lower: lo, upper: hi } = region;
  const P1 = plan.P[k][1];
  if (A0 === null && done.length === 0) {
    // No correction: concretise the rows of P_{k,1} directly.
    for (let r = 0; r < R; r++) {
      const s = sign[r];
      let sum = 0, mg = 0;
      if (P1.csr !== null) {
        const { rowStart, col, val } = P1.csr;
        for (let e = rowStart[neuron[r]]; e < rowStart[neuron[r] + 1]; e++) {
          const x = s * val[e];
          const t = x >= 0 ? x * lo[col[e]] : x * hi[col[e]];
          sum += t;
          mg += Math.abs(t);
        }
      } else {
        const o = neuron[r] * n0;
        for (let i = 0; i < n0; i++) {
          const x = s * P1.data[o + i];
          const t = x >= 0 ? x * lo[i] : x * hi[i];
          sum += t;
          mg += Math.abs(t);
        }
      }
      finish(result, r0 + r, sum + cst[r], mg + mag[r]);
    }
    return;
  }
  const X = new Float64Array(R * n0);
  if (A0 === null) {
    for (let r = 0; r < R; r++) {
      const o = neuron[r] * n0;
      const s = sign[r];
      const xo = r * n0;
      if (s > 0) X.set(P1.data.subarray(o, o + n0), xo);
      else for (let i = 0; i < n0; i++) X[xo + i] = -P1.data[o + i];
    }
  } else gemm(A0, P1.data, X, R, n0, nk, false, false, false);
  for (const d of done) subtractProduct(X, R, n0, d.c, plan.P[d.m][1], d.S, null);
  for (let r = 0; r < R; r++) {
    const xo = r * n0;
    let sum = 0, mg = 0;
    for (let i = 0; i < n0; i++) {
      const x = X[xo + i];
      const t = x >= 0 ? x * lo[i] : x * hi[i];
      sum += t;
      mg += Math.abs(t);
    }
    finish(result, r0 + r, sum + cst[r], mg + mag[r]);
  }
}

/** Rows of `pairs` pairs per block in chainPairs' dense form. */
const PAIR_BLOCK = 128;

/**
 * Rows ±e_i at z_k with one level of corrections (z_{k−1}, the usual case for the neurons of the second activation
 * layer): x_low = P_{k,1}[i] − c_low·P_{k−1,1}[S], x_up = −P_{k,1}[i] − c_up·P_{k−1,1}[S]. Where the relaxation is
 * exact (stable neurons) c_up = −c_low, so the shared part is one product per pair and only the remaining neurons
 * (unstable) take one per row. A sparse P_{k−1,1} (convolutions) is scattered row by row instead.
 */
function chainPairs(
  plan: ChainPlan,
  level: { m: number; S: Int32Array; relax: ElementwiseRelaxation },
  region: Region,
  v: Float64Array[],
  k: number,
  neurons: Int32Array,
  result: Float64Array,
): void {
  const { m, S, relax } = level;
  const { lowSlope, lowBias, upSlope, upBias } = relax;
  const n0 = plan.sizes[0];
  const nm = plan.sizes[m];
  const Pk = plan.P[k][m + 1];
  const P1 = plan.P[k][1];
  const Pm1 = plan.P[m][1];
  const Qk = plan.Q[k], Qak = plan.Qabs[k], vk = v[k];
  const Qm = plan.Q[m], Qam = plan.Qabs[m], vm = v[m];
  const { lower: lo, upper: hi } = region;
  const pos = new Int32Array(nm).fill(-1);
  for (let t = 0; t < S.length; t++) pos[S[t]] = t;
  const pairs = neurons.length;
  if (Pm1.csr !== null) {
    const { rowStart, col, val } = Pm1.csr;
    // y: P_{k,1}[i] minus the corrections of the exact neurons (shared: c_up = −c_low); xl, xu: the other neurons'
    // corrections of each row. x_low = y + xl, x_up = −y + xu.
    const y = new Float64Array(n0);
    const xl = new Float64Array(n0);
    const xu = new Float64Array(n0);
    const hj = new Int32Array(nm);
    const hv = new Float64Array(nm);
    const mark = new Uint8Array(n0);
    const touched = new Int32Array(n0);
    const every = P1.csr === null ? Int32Array.from({ length: n0 }, (_, q) => q) : touched;
    for (let p = 0; p < pairs; p++) {
      const i = neurons[p];
      // A sparse P_{k,1} (a receptive field): only the touched columns are filled, concretised and cleared.
      const p1 = P1.csr;
      let nt = 0;
      if (p1 !== null) {
        for (let e = p1.rowStart[i]; e < p1.rowStart[i + 1]; e++) {
          const q = p1.col[e];
          y[q] = p1.val[e];
          mark[q] = 1;
          touched[nt++] = q;
        }
      } else y.set(P1.data.subarray(i * n0, i * n0 + n0));
      let cl = Qk[i], cu = -Qk[i];
      let ml = Qak[i] + vk[i], mu = ml;
      // The corrected neurons of this row: h = P_{k,k}[i, j] ≠ 0 with j ∈ S.
      let nh = 0;
      if (Pk.csr !== null) {
        const c = Pk.csr;
        for (let e = c.rowStart[i]; e < c.rowStart[i + 1]; e++)
          if (pos[c.col[e]] >= 0) {
            hj[nh] = c.col[e];
            hv[nh++] = c.val[e];
          }
      } else {
        const o = i * Pk.cols;
        for (let t = 0; t < S.length; t++) {
          const h = Pk.data[o + S[t]];
          if (h !== 0) {
            hj[nh] = S[t];
            hv[nh++] = h;
          }
        }
      }
      for (let t = 0; t < nh; t++) {
        const j = hj[t];
        const h = hv[t];
        const ls = lowSlope[j], us = upSlope[j], lb = lowBias[j], ub = upBias[j];
        const qa = Qam[j] + vm[j];
        const qm = Qm[j];
        // lower row (coefficient h), upper row (−h)
        const cvl = h >= 0 ? h - h * ls : h - h * us;
        const bl = h >= 0 ? h * lb : h * ub;
        const cvu = h >= 0 ? -h + h * us : -h + h * ls;
        const bu = h >= 0 ? -h * ub : -h * lb;
        cl += bl - cvl * qm;
        ml += Math.abs(bl) + Math.abs(cvl) * qa;
        cu += bu - cvu * qm;
        mu += Math.abs(bu) + Math.abs(cvu) * qa;
        const e1 = rowStart[j + 1];
        if (p1 !== null)
          for (let e = rowStart[j]; e < e1; e++) {
            const q = col[e];
            if (mark[q] === 0) {
              mark[q] = 1;
              touched[nt++] = q;
            }
          }
        if (cvu === -cvl) {
          if (cvl !== 0) for (let e = rowStart[j]; e < e1; e++) y[col[e]] -= cvl * val[e];
        } else if (cvl !== 0 && cvu !== 0) {
          for (let e = rowStart[j]; e < e1; e++) {
            const w = val[e];
            const q = col[e];
            xl[q] -= cvl * w;
            xu[q] -= cvu * w;
          }
        } else if (cvl !== 0) for (let e = rowStart[j]; e < e1; e++) xl[col[e]] -= cvl * val[e];
        else for (let e = rowStart[j]; e < e1; e++) xu[col[e]] -= cvu * val[e];
      }
      // Concretise the touched columns (all of them for a dense P_{k,1}) and clear them for the next pair.
      const cols = p1 !== null ? touched : every;
      if (p1 === null) nt = n0;
      let sl = 0, sml = 0, su = 0, smu = 0;
      for (let t = 0; t < nt; t++) {
        const q = cols[t];
        const l = lo[q], u = hi[q];
        const a = y[q] + xl[q];
        const ta = a >= 0 ? a * l : a * u;
        sl += ta;
        sml += Math.abs(ta);
        const b = xu[q] - y[q];
        const tb = b >= 0 ? b * l : b * u;
        su += tb;
        smu += Math.abs(tb);
        y[q] = 0;
        xl[q] = 0;
        xu[q] = 0;
        mark[q] = 0;
      }
      finish(result, 2 * p, sl + cl, sml + ml);
      finish(result, 2 * p + 1, su + cu, smu + mu);
    }
    return;
  }
  // Dense: split S into the exact neurons (shared by both rows of a pair) and the rest.
  const shared: number[] = [];
  const own: number[] = [];
  for (let t = 0; t < S.length; t++) {
    const j = S[t];
    if (lowSlope[j] === upSlope[j] && lowBias[j] === upBias[j]) shared.push(j);
    else own.push(j);
  }
  const ns = shared.length;
  const nu = own.length;
  const Bs = new Float64Array(ns * n0);
  const Bu = new Float64Array(nu * n0);
  shared.forEach((j, t) => Bs.set(Pm1.data.subarray(j * n0, j * n0 + n0), t * n0));
  own.forEach((j, t) => Bu.set(Pm1.data.subarray(j * n0, j * n0 + n0), t * n0));
  const Y = new Float64Array(PAIR_BLOCK * n0);
  const Z = new Float64Array(2 * PAIR_BLOCK * n0);
  const Cs = new Float64Array(PAIR_BLOCK * ns);
  const Cu = new Float64Array(2 * PAIR_BLOCK * nu);
  const cst = new Float64Array(2 * PAIR_BLOCK);
  const mag = new Float64Array(2 * PAIR_BLOCK);
  const hcols = Pk.cols;
  for (let p0 = 0; p0 < pairs; p0 += PAIR_BLOCK) {
    const Rp = Math.min(PAIR_BLOCK, pairs - p0);
    for (let p = 0; p < Rp; p++) {
      const i = neurons[p0 + p];
      Y.set(P1.data.subarray(i * n0, i * n0 + n0), p * n0);
      let cl = Qk[i], cu = -Qk[i];
      let ml = Qak[i] + vk[i], mu = ml;
      const ho = i * hcols;
      for (let t = 0; t < ns; t++) {
        const j = shared[t];
        const h = Pk.data[ho + j];
        // Exact: y = s·z + β, so c_low = h·(1 − s) and c_up = −c_low.
        const cv = h - h * lowSlope[j];
        const beta = h * lowBias[j];
        Cs[p * ns + t] = -cv;
        const d = beta - cv * Qm[j];
        const e = Math.abs(beta) + Math.abs(cv) * (Qam[j] + vm[j]);
        cl += d;
        cu -= d;
        ml += e;
        mu += e;
      }
      const ol = 2 * p * nu, ou = ol + nu;
      for (let t = 0; t < nu; t++) {
        const j = own[t];
        const h = Pk.data[ho + j];
        const qa = Qam[j] + vm[j];
        let cv: number, beta: number;
        if (h >= 0) {
          cv = h - h * lowSlope[j];
          beta = h * lowBias[j];
        } else {
          cv = h - h * upSlope[j];
          beta = h * upBias[j];
        }
        Cu[ol + t] = cv;
        cl += beta - cv * Qm[j];
        ml += Math.abs(beta) + Math.abs(cv) * qa;
        const g = -h;
        if (g >= 0) {
          cv = g - g * lowSlope[j];
          beta = g * lowBias[j];
        } else {
          cv = g - g * upSlope[j];
          beta = g * upBias[j];
        }
        Cu[ou + t] = cv;
        cu += beta - cv * Qm[j];
        mu += Math.abs(beta) + Math.abs(cv) * qa;
      }
      cst[2 * p] = cl;
      cst[2 * p + 1] = cu;
      mag[2 * p] = ml;
      mag[2 * p + 1] = mu;
    }
    // Y = P_{k,1}[i] − c_shared·B_shared; Z = c_own·B_own; x_low = Y − Z_low, x_up = −Y − Z_up.
    if (ns > 0) gemm(Cs, Bs, Y, Rp, n0, ns, false, false, true);
    if (nu > 0) gemm(Cu, Bu, Z, 2 * Rp, n0, nu, false, false, false);
    for (let p = 0; p < Rp; p++) {
      const yo = p * n0, zl = 2 * p * n0, zu = zl + n0;
      let sl = 0, sml = 0, su = 0, smu = 0;
      for (let q = 0; q < n0; q++) {
        const l = lo[q], u = hi[q];
        const y = Y[yo + q];
        const a = nu > 0 ? y - Z[zl + q] : y;
        const ta = a >= 0 ? a * l : a * u;
        sl += ta;
        sml += Math.abs(ta);
        const b = nu > 0 ? -y - Z[zu + q] : -y;
        const tb = b >= 0 ? b * l : b * u;
        su += tb;
        smu += Math.abs(tb);
      }
      const g = 2 * (p0 + p);
      finish(result, g, sl + cst[2 * p], sml + mag[2 * p]);
      finish(result, g + 1, su + cst[2 * p + 1], smu + mag[2 * p + 1]);
    }
  }
}

function density(P: Mat): number {
  return P.csr === null ? 1 : P.csr.val.length / Math.max(1, P.rows * P.cols);
}

/** Cost of one multiply-add in a sparse (scatter) loop relative to one in a dense product. */
const SPARSE_COST = 8;

/**
 * Whether the structured layer-by-layer pass (chain-explicit.ts) is estimated cheaper per row than the corrections
 * of the precomputed products: deep conv layers, where the corrections are dense and the products sparse.
 */
function explicitCheaper(plan: ChainPlan, levels: readonly { m: number; S: Int32Array }[], k: number, start: ChainStart): boolean {
  if (levels.length === 0) return false;
  let explicit = 0;
  for (let m = 1; m < k; m++) {
    const J = plan.P[m][m];
    explicit += (J.csr === null ? J.rows * J.cols : J.csr.val.length) + 2 * plan.sizes[m];
  }
  explicit += 2 * plan.sizes[0] + plan.sizes[k - 1];
  const nk = plan.sizes[k];
  let chain = 2 * plan.sizes[0];
  if (start.kind === 'matrix') chain += nk * plan.sizes[0];
  const done: { m: number; nnz: number }[] = [];
  for (const { m, S } of levels) {
    let d = density(plan.P[k][m + 1]);
    for (const e of done) d = Math.max(d, density(plan.P[e.m][m + 1]));
    if (start.kind === 'matrix') chain += nk * S.length;
    for (const e of done) {
      const P = plan.P[e.m][m + 1];
      chain += e.nnz * S.length * density(P) * (P.csr === null ? 1 : SPARSE_COST);
    }
    const nnz = S.length * d;
    const P1 = plan.P[m][1];
    chain += S.length + nnz * (P1.csr === null ? P1.cols : SPARSE_COST * (P1.csr.val.length / P1.rows));
    done.push({ m, nnz });
  }
  // In wasm (chain-explicit.ts) the pass's elementwise and sparse loops are SIMD kernels, about twice as cheap per
  // multiply-add as the estimate's unit (measured on the lirpa conv and MLP models).
  return (explicitInWasm() ? EXPLICIT_WASM_COST : 1) * explicit < chain;
}

/** Cost of the explicit pass's multiply-adds in wasm relative to the estimate's unit. */
const EXPLICIT_WASM_COST = 0.5;

function finish(result: Float64Array, g: number, bound: number, magnitude: number): void {
  result[g] = bound - allowance(bound, magnitude);
}

/** P[:, S] as a dense (rows × |S|) matrix. */
function gatherCols(P: Mat, S: Int32Array): Float64Array {
  const ns = S.length;
  const out = new Float64Array(P.rows * ns);
  for (let i = 0; i < P.rows; i++) {
    const o = i * P.cols;
    for (let t = 0; t < ns; t++) out[i * ns + t] = P.data[o + S[t]];
  }
  return out;
}

let colPosBuffer = new Int32Array(0);

/** H (R × width) −= c (R × |Sp|) · P[Sp, S] (S null: all columns), by a sparse loop or a dense product. */
function subtractProduct(H: Float64Array, R: number, width: number, c: Float64Array, P: Mat, Sp: Int32Array, S: Int32Array | null): void {
  const nsp = Sp.length;
  let nnzC = 0;
  for (let e = 0; e < c.length; e++) if (c[e] !== 0) nnzC++;
  if (nnzC === 0) return;
  const denseCost = R * nsp * width;
  let sparseCost: number;
  if (P.csr !== null) sparseCost = 4 * nnzC * (P.csr.val.length / P.rows);
  else sparseCost = 3 * nnzC * width;
  if (sparseCost < denseCost) {
    if (P.csr !== null) {
      const { rowStart, col, val } = P.csr;
      let pos: Int32Array | null = null;
      if (S !== null) {
        if (colPosBuffer.length < P.cols) colPosBuffer = new Int32Array(P.cols);
        pos = colPosBuffer;
        pos.fill(-1, 0, P.cols);
        for (let t = 0; t < S.length; t++) pos[S[t]] = t;
      }
      for (let r = 0; r < R; r++) {
        const co = r * nsp;
        const ho = r * width;
        for (let t = 0; t < nsp; t++) {
          const cv = c[co + t];
          if (cv === 0) continue;
          const row = Sp[t];
          const end = rowStart[row + 1];
          if (pos === null) for (let e = rowStart[row]; e < end; e++) H[ho + col[e]] -= cv * val[e];
          else
            for (let e = rowStart[row]; e < end; e++) {
              const p = pos[col[e]];
              if (p >= 0) H[ho + p] -= cv * val[e];
            }
        }
      }
    } else {
      const cols = P.cols;
      const data = P.data;
      for (let r = 0; r < R; r++) {
        const co = r * nsp;
        const ho = r * width;
        for (let t = 0; t < nsp; t++) {
          const cv = c[co + t];
          if (cv === 0) continue;
          const po = Sp[t] * cols;
          if (S === null) for (let j = 0; j < width; j++) H[ho + j] -= cv * data[po + j];
          else for (let j = 0; j < width; j++) H[ho + j] -= cv * data[po + S[j]];
        }
      }
    }
    return;
  }
  const B = new Float64Array(nsp * width);
  for (let t = 0; t < nsp; t++) {
    const po = Sp[t] * P.cols;
    if (S === null) B.set(P.data.subarray(po, po + width), t * width);
    else for (let j = 0; j < width; j++) B[t * width + j] = P.data[po + S[j]];
  }
  const neg = new Float64Array(c.length);
  for (let e = 0; e < c.length; e++) neg[e] = -c[e];
  gemm(neg, B, H, R, width, nsp, false, false, true);
}
