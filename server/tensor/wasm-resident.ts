// Kernels whose matrices stay in WebAssembly memory between calls, in wasm SIMD (f64x2), for the bound engine:
// * `ResidentMatrix.interval` (IBP's affine step): yc = W·x and yr = |W|·r for P input rows. Rows of W are stored in
//   panels of 4 (interleaved by pairs of columns), so each step loads one pair of x and of r and updates 8 f64x2
//   accumulators (4 rows × centre/radius).
// * `BackwardPass` (CROWN's neuron-major backward pass, chain-explicit.ts): coefficient blocks (size × rows, rows
//   padded to a multiple of 8) pulled back through a sparse map (`ResidentSparse`: its transpose as CSR,
//   out = Jᵀ·V by rows of 8 coefficients in registers), through an elementwise relaxation, and concretised over the
//   input box, all in wasm memory.
//
// Matrices live in an arena of at most ARENA_BYTES; when a new one does not fit, the arena starts over (every placed
// matrix is placed again on its next use), so memory stays bounded however many bound graphs come and go. Where wasm
// SIMD does not compile (or GRAFTCERT_NO_WASM=1), `available()` is false and callers use their TypeScript loops.
import {
  ADD, BLOCK, BR_IF_LOOP, END, F64X2_ABS, F64X2_ADD, F64X2_MUL, F64X2_PMAX, F64X2_PMIN, F64X2_SPLAT, F64_ADD, GE_U,
  I32, LOOP, LT_U, MUL, NE, SUB, V128, ZERO, brIf, f64Load, f64Store, get, i32, i32Load, lane, load, set, store, tee,
  wasmModule, type WasmFunction,
} from './wasm-bytes';

const PANEL = 4;
const ARENA_BYTES = 64 << 20;
/** Smaller matrices stay in TypeScript: the call and copies would cost more than the products. */
const MIN_ENTRIES = 1024;

/** Emits instructions into a function body. */
function emitter(): [number[], (...xs: (number | number[])[]) => void] {
  const body: number[] = [];
  return [body, (...xs) => {
    for (const x of xs) Array.isArray(x) ? body.push(...x) : body.push(x);
  }];
}

/** iv(pw, px, pr, pyc, pyr, P, panels, pairs): see the header; outputs are P × (panels·4), row-major. */
function intervalKernel(): WasmFunction {
  const [PW, PX, PR, PYC, PYR, PP, NP, KH] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [P, Q, I, A, X, R, O] = [8, 9, 10, 11, 12, 13, 14];
  const C = (t: number): number => 15 + t;
  const RR = (t: number): number => 19 + t;
  const XV = 23, RV = 24, W = 25;
  const [body, e] = emitter();
  e(i32(0), set(P));
  e(LOOP); // over input rows p
  e(get(PW), set(A), i32(0), set(Q));
  e(LOOP); // over panels q
  for (let t = 0; t < PANEL; t++) e(ZERO, set(C(t)), ZERO, set(RR(t)));
  e(get(P), get(KH), MUL, i32(16), MUL, tee(X), get(PR), ADD, set(R), get(X), get(PX), ADD, set(X));
  e(get(KH), set(I));
  e(LOOP); // over column pairs
  e(get(X), load(0), set(XV), get(R), load(0), set(RV));
  for (let t = 0; t < PANEL; t++) {
    e(get(A), load(16 * t), set(W));
    e(get(C(t)), get(W), get(XV), F64X2_MUL, F64X2_ADD, set(C(t)));
    e(get(RR(t)), get(W), F64X2_ABS, get(RV), F64X2_MUL, F64X2_ADD, set(RR(t)));
  }
  e(get(A), i32(16 * PANEL), ADD, set(A), get(X), i32(16), ADD, set(X), get(R), i32(16), ADD, set(R));
  e(get(I), i32(1), SUB, tee(I), i32(0), NE, BR_IF_LOOP);
  e(END);
  for (const [out, acc] of [[PYC, C], [PYR, RR]] as const) {
    e(get(P), get(NP), MUL, get(Q), ADD, i32(8 * PANEL), MUL, get(out), ADD, set(O));
    for (let t = 0; t < PANEL; t++) e(get(O), get(acc(t)), lane(0), get(acc(t)), lane(1), F64_ADD, f64Store(8 * t));
  }
  e(get(Q), i32(1), ADD, tee(Q), get(NP), LT_U, BR_IF_LOOP);
  e(END);
  e(get(P), i32(1), ADD, tee(P), get(PP), LT_U, BR_IF_LOOP);
  e(END);
  return { name: 'iv', params: 8, locals: [[7, I32], [11, V128]], body };
}

/**
 * spmm(pStart, pCol, pVal, nOut, pV, pOut, chunks): out[i] = Σ_e val[e]·V[col[e]] for each row i < nOut of a CSR
 * matrix (int32 row starts and columns, f64 values), where V's and out's rows are chunks·8 doubles; 8 coefficients
 * (4 f64x2) of a row at a time in registers.
 */
function spmmKernel(): WasmFunction {
  const [PS, PC, PV, N, VV, PO, CH] = [0, 1, 2, 3, 4, 5, 6];
  const [I, C, E, E0, E1, B, O, STRIDE] = [7, 8, 9, 10, 11, 12, 13, 14];
  const ACC = (t: number): number => 15 + t;
  const W = 19;
  const [body, e] = emitter();
  e(get(CH), i32(64), MUL, set(STRIDE));
  e(i32(0), set(I), get(PO), set(O));
  e(LOOP); // rows i
  e(get(PS), get(I), i32(4), MUL, ADD, tee(E0), i32Load(4), set(E1), get(E0), i32Load(0), set(E0));
  e(i32(0), set(C));
  e(LOOP); // chunks c
  for (let t = 0; t < 4; t++) e(ZERO, set(ACC(t)));
  e(get(E0), set(E));
  e(BLOCK, get(E), get(E1), GE_U, brIf(0));
  e(LOOP); // entries e
  e(get(PV), get(E), i32(8), MUL, ADD, f64Load(0), F64X2_SPLAT, set(W));
  e(get(PC), get(E), i32(4), MUL, ADD, i32Load(0), get(STRIDE), MUL, get(VV), ADD, get(C), i32(64), MUL, ADD, set(B));
  for (let t = 0; t < 4; t++) e(get(ACC(t)), get(W), get(B), load(16 * t), F64X2_MUL, F64X2_ADD, set(ACC(t)));
  e(get(E), i32(1), ADD, tee(E), get(E1), LT_U, BR_IF_LOOP);
  e(END, END);
  for (let t = 0; t < 4; t++) e(get(O), get(ACC(t)), store(16 * t));
  e(get(O), i32(64), ADD, set(O));
  e(get(C), i32(1), ADD, tee(C), get(CH), LT_U, BR_IF_LOOP);
  e(END);
  e(get(I), i32(1), ADD, tee(I), get(N), LT_U, BR_IF_LOOP);
  e(END);
  return { name: 'spmm', params: 7, locals: [[8, I32], [5, V128]], body };
}

/**
 * relax(pV, pCst, pMag, pParams, n, vecs): for each neuron j < n, with params (lowSlope, upSlope, lowBias, upBias,
 * bias, |bias| bound) at pParams + 48·j, and each f64x2 v of its row (vecs per row): v⁺ = max(v, 0), v⁻ = min(v, 0),
 * v' = v⁺·lowSlope + v⁻·upSlope, t = v⁺·lowBias + v⁻·upBias; row ← v'; cst += t + v'·bias;
 * mag += |t| + |v'|·|bias bound|.
 */
function relaxKernel(): WasmFunction {
  const [PV, PCST, PMAG, PP, N, VECS] = [0, 1, 2, 3, 4, 5];
  const [J, C, V, A] = [6, 7, 8, 9];
  const [LS, US, LB, UB, BB, BM, X, P, Q, NV, T] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
  const [body, e] = emitter();
  e(i32(0), set(J), get(PV), set(V));
  e(LOOP); // neurons j
  e(get(PP), get(J), i32(48), MUL, ADD, set(A));
  [LS, US, LB, UB, BB, BM].forEach((l, t) => e(get(A), f64Load(8 * t), F64X2_SPLAT, set(l)));
  e(i32(0), set(C));
  e(LOOP); // vectors c
  e(get(V), load(0), tee(X), ZERO, F64X2_PMAX, set(P), get(X), ZERO, F64X2_PMIN, set(Q));
  e(get(P), get(LS), F64X2_MUL, get(Q), get(US), F64X2_MUL, F64X2_ADD, set(NV));
  e(get(P), get(LB), F64X2_MUL, get(Q), get(UB), F64X2_MUL, F64X2_ADD, set(T));
  e(get(V), get(NV), store(0));
  // cst[c] += t + v'·bias; mag[c] += |t| + |v'|·bound
  e(get(PCST), get(C), i32(16), MUL, ADD, tee(A), get(A), load(0), get(T), F64X2_ADD, get(NV), get(BB), F64X2_MUL, F64X2_ADD, store(0));
  e(get(PMAG), get(C), i32(16), MUL, ADD, tee(A), get(A), load(0), get(T), F64X2_ABS, F64X2_ADD, get(NV), F64X2_ABS, get(BM), F64X2_MUL, F64X2_ADD, store(0));
  e(get(V), i32(16), ADD, set(V));
  e(get(C), i32(1), ADD, tee(C), get(VECS), LT_U, BR_IF_LOOP);
  e(END);
  e(get(J), i32(1), ADD, tee(J), get(N), LT_U, BR_IF_LOOP);
  e(END);
  return { name: 'relax', params: 6, locals: [[4, I32], [11, V128]], body };
}

/**
 * concretise(pV, pCst, pMag, pLo, pHi, n, vecs): for each input i < n and f64x2 x of its row,
 * t = max(x, 0)·lo[i] + min(x, 0)·hi[i]; cst += t; mag += |t|.
 */
function concretiseKernel(): WasmFunction {
  const [PV, PCST, PMAG, PLO, PHI, N, VECS] = [0, 1, 2, 3, 4, 5, 6];
  const [I, C, V, A] = [7, 8, 9, 10];
  const [L, U, X, T] = [11, 12, 13, 14];
  const [body, e] = emitter();
  e(i32(0), set(I), get(PV), set(V));
  e(LOOP);
  e(get(PLO), get(I), i32(8), MUL, ADD, f64Load(0), F64X2_SPLAT, set(L));
  e(get(PHI), get(I), i32(8), MUL, ADD, f64Load(0), F64X2_SPLAT, set(U));
  e(i32(0), set(C));
  e(LOOP);
  e(get(V), load(0), tee(X), ZERO, F64X2_PMAX, get(L), F64X2_MUL, get(X), ZERO, F64X2_PMIN, get(U), F64X2_MUL, F64X2_ADD, set(T));
  e(get(PCST), get(C), i32(16), MUL, ADD, tee(A), get(A), load(0), get(T), F64X2_ADD, store(0));
  e(get(PMAG), get(C), i32(16), MUL, ADD, tee(A), get(A), load(0), get(T), F64X2_ABS, F64X2_ADD, store(0));
  e(get(V), i32(16), ADD, set(V));
  e(get(C), i32(1), ADD, tee(C), get(VECS), LT_U, BR_IF_LOOP);
  e(END);
  e(get(I), i32(1), ADD, tee(I), get(N), LT_U, BR_IF_LOOP);
  e(END);
  return { name: 'concretise', params: 7, locals: [[4, I32], [4, V128]], body };
}

function moduleBytes(): Uint8Array {
  return wasmModule(16, [intervalKernel(), spmmKernel(), relaxKernel(), concretiseKernel()]);
}

interface Instance {
  iv: (pw: number, px: number, pr: number, pyc: number, pyr: number, p: number, panels: number, pairs: number) => void;
  spmm: (pStart: number, pCol: number, pVal: number, n: number, pV: number, pOut: number, chunks: number) => void;
  relax: (pV: number, pCst: number, pMag: number, pParams: number, n: number, vecs: number) => void;
  concretise: (pV: number, pCst: number, pMag: number, pLo: number, pHi: number, n: number, vecs: number) => void;
  memory: WebAssembly.Memory;
  f64: Float64Array;
  i32: Int32Array;
  /** Bytes of the arena in use, and its generation (bumped when it starts over). */
  top: number;
  generation: number;
}

let instance: Instance | null | undefined;

function load_(): Instance | null {
  if (instance !== undefined) return instance;
  try {
    if (process.env.GRAFTCERT_NO_WASM === '1') throw new Error('disabled');
    const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes().buffer as ArrayBuffer), {});
    const memory = inst.exports.m as WebAssembly.Memory;
    const x = inst.exports as Record<string, unknown>;
    instance = {
      iv: x.iv as Instance['iv'],
      spmm: x.spmm as Instance['spmm'],
      relax: x.relax as Instance['relax'],
      concretise: x.concretise as Instance['concretise'],
      memory,
      f64: new Float64Array(memory.buffer),
      i32: new Int32Array(memory.buffer),
      top: 0,
      generation: 0,
    };
  } catch {
    instance = null;
  }
  return instance;
}

function ensureBytes(inst: Instance, bytes: number): Float64Array {
  if (inst.memory.buffer.byteLength < bytes) {
    inst.memory.grow(Math.ceil((bytes - inst.memory.buffer.byteLength) / 65536));
    inst.f64 = new Float64Array(inst.memory.buffer);
    inst.i32 = new Int32Array(inst.memory.buffer);
  }
  return inst.f64;
}

/** Data copied into the arena on first use and kept there until the arena starts over. */
abstract class Resident {
  private at = -1;
  private generation = -1;
  /** Size in wasm memory (a multiple of 16). */
  protected abstract bytes(): number;
  /** Writes the data at byte offset `at` (memory already large enough). */
  protected abstract write(inst: Instance, at: number): void;
  /** Whether wasm compiled and the data fits the arena with room to spare. */
  available(): boolean {
    return this.bytes() <= ARENA_BYTES / 4 && load_() !== null;
  }
  /** Whether the data is in the arena now (placing it may have started the arena over since). */
  placed(inst: Instance): boolean {
    return this.generation === inst.generation;
  }
  /** Byte offset of the data in wasm memory, placing it when the arena no longer holds it. */
  place(inst: Instance): number {
    if (this.generation === inst.generation) return this.at;
    const bytes = this.bytes();
    if (inst.top + bytes > ARENA_BYTES) {
      inst.top = 0;
      inst.generation++;
    }
    const at = inst.top;
    ensureBytes(inst, at + bytes);
    this.write(inst, at);
    inst.top = at + bytes;
    this.at = at;
    this.generation = inst.generation;
    return at;
  }
}

/** An N × K matrix (row-major) for `interval`, copied into wasm memory on first use and kept there. */
export class ResidentMatrix extends Resident {
  private readonly panels: number;
  private readonly pairs: number;
  constructor(
    readonly weight: Float64Array,
    readonly n: number,
    readonly k: number,
  ) {
    super();
    this.panels = Math.ceil(n / PANEL);
    this.pairs = Math.ceil(k / 2);
  }
  protected bytes(): number {
    return this.panels * this.pairs * PANEL * 16;
  }
  protected write(inst: Instance, at: number): void {
    const { n, k, weight: w, pairs } = this;
    const mem = inst.f64;
    // Panel q, pair i: w[4q][2i], w[4q][2i+1], w[4q+1][2i], ..., w[4q+3][2i+1] (zeros past n and k).
    let d = at / 8;
    for (let q = 0; q < this.panels; q++)
      for (let i = 0; i < pairs; i++)
        for (let t = 0; t < PANEL; t++, d += 2) {
          const row = q * PANEL + t;
          const c = 2 * i;
          mem[d] = row < n ? w[row * k + c] : 0;
          mem[d + 1] = row < n && c + 1 < k ? w[row * k + c + 1] : 0;
        }
  }
  override available(): boolean {
    return this.k > 0 && super.available();
  }
  /**
   * yc[p·N + j] = Σ_k W[j, k]·xc[p·K + k] and yr[p·N + j] = Σ_k |W[j, k]|·xr[p·K + k] for p < rows. Returns false
   * (doing nothing) when `available()` is false or the products are too few to pay for the call.
   */
  interval(xc: Float64Array, xr: Float64Array, rows: number, yc: Float64Array, yr: Float64Array): boolean {
    if (this.n * this.k * rows < MIN_ENTRIES || !this.available()) return false;
    const inst = load_()!;
    const pw = this.place(inst);
    const { n, k, pairs, panels } = this;
    const stride = pairs * 2;
    const px = inst.top;
    const pr = px + rows * stride * 8;
    const pyc = pr + rows * stride * 8;
    const pyr = pyc + rows * panels * PANEL * 8;
    const mem = ensureBytes(inst, pyr + rows * panels * PANEL * 8);
    if (stride === k) {
      mem.set(xc.subarray(0, rows * k), px / 8);
      mem.set(xr.subarray(0, rows * k), pr / 8);
    } else
      for (let p = 0; p < rows; p++) {
        const dx = px / 8 + p * stride;
        const dr = pr / 8 + p * stride;
        mem.set(xc.subarray(p * k, p * k + k), dx);
        mem.set(xr.subarray(p * k, p * k + k), dr);
        mem[dx + k] = 0;
        mem[dr + k] = 0;
      }
    inst.iv(pw, px, pr, pyc, pyr, rows, panels, pairs);
    const width = panels * PANEL;
    if (width === n) {
      yc.set(mem.subarray(pyc / 8, pyc / 8 + rows * n));
      yr.set(mem.subarray(pyr / 8, pyr / 8 + rows * n));
    } else
      for (let p = 0; p < rows; p++) {
        yc.set(mem.subarray(pyc / 8 + p * width, pyc / 8 + p * width + n), p * n);
        yr.set(mem.subarray(pyr / 8 + p * width, pyr / 8 + p * width + n), p * n);
      }
    return true;
  }
}

/**
 * The transpose of a sparse rows × cols matrix given as CSR, for `BackwardWorkspace.spmm`: row c of the stored form
 * lists the entries of column c (int32 row starts, int32 columns, f64 values, each section 16-byte aligned).
 */
export class ResidentSparse extends Resident {
  private readonly start: Int32Array;
  private readonly index: Int32Array;
  private readonly value: Float64Array;
  constructor(rowStart: Int32Array, col: Int32Array, val: Float64Array, rows: number, readonly cols: number) {
    super();
    const count = new Int32Array(cols + 1);
    for (let e = 0; e < rowStart[rows]; e++) count[col[e] + 1]++;
    for (let c = 0; c < cols; c++) count[c + 1] += count[c];
    this.start = Int32Array.from(count);
    this.index = new Int32Array(rowStart[rows]);
    this.value = new Float64Array(rowStart[rows]);
    const fill = Int32Array.from(count);
    for (let i = 0; i < rows; i++)
      for (let e = rowStart[i]; e < rowStart[i + 1]; e++) {
        const d = fill[col[e]]++;
        this.index[d] = i;
        this.value[d] = val[e];
      }
  }
  private sections(): [number, number, number] {
    const up = (b: number): number => Math.ceil(b / 16) * 16;
    return [up(this.start.length * 4), up(this.index.length * 4), up(this.value.length * 8)];
  }
  protected bytes(): number {
    const [a, b, c] = this.sections();
    return a + b + c;
  }
  protected write(inst: Instance, at: number): void {
    const [a, b] = this.sections();
    inst.i32.set(this.start, at / 4);
    inst.i32.set(this.index, (at + a) / 4);
    inst.f64.set(this.value, (at + a + b) / 8);
  }
  /** Byte offsets of the three sections. */
  offsets(inst: Instance): [number, number, number] {
    const at = this.place(inst);
    const [a, b] = this.sections();
    return [at, at + a, at + a + b];
  }
}

/**
 * Scratch memory after the arena's matrices for one backward pass, and the kernels on it; offsets are in doubles
 * from the start of `f64`. Valid until the next workspace or placement.
 */
export class BackwardWorkspace {
  private constructor(
    private readonly inst: Instance,
    readonly f64: Float64Array,
    /** First double of the scratch. */
    readonly base: number,
  ) {}
  /** Whether the kernels compiled here. */
  static available(): boolean {
    return load_() !== null;
  }
  /** The matrices placed (all at once) and `doubles` of scratch after them; null when wasm is not there or they do not fit. */
  static open(matrices: readonly ResidentSparse[], doubles: number): BackwardWorkspace | null {
    const inst = load_();
    if (inst === null || !matrices.every((m) => m.available())) return null;
    for (let attempt = 0; attempt < 2; attempt++) {
      for (const m of matrices) m.place(inst);
      if (matrices.every((m) => m.placed(inst))) {
        const base = Math.ceil(inst.top / 16) * 2;
        if (base * 8 + doubles * 8 > ARENA_BYTES * 2) return null;
        const f64 = ensureBytes(inst, base * 8 + doubles * 8);
        return new BackwardWorkspace(inst, f64, base);
      }
    }
    return null;
  }
  /** out rows (m.cols of them) = Jᵀ·V for the J that `m` holds; rows are chunks·8 doubles. */
  spmm(m: ResidentSparse, vAt: number, outAt: number, chunks: number): void {
    const [s, c, v] = m.offsets(this.inst);
    this.inst.spmm(s, c, v, m.cols, vAt * 8, outAt * 8, chunks);
  }
  /** Through an elementwise relaxation; params: 6 doubles per neuron (see the relax kernel). */
  relax(vAt: number, cstAt: number, magAt: number, paramsAt: number, n: number, width: number): void {
    this.inst.relax(vAt * 8, cstAt * 8, magAt * 8, paramsAt * 8, n, width / 2);
  }
  concretise(vAt: number, cstAt: number, magAt: number, loAt: number, hiAt: number, n: number, width: number): void {
    this.inst.concretise(vAt * 8, cstAt * 8, magAt * 8, loAt * 8, hiAt * 8, n, width / 2);
  }
}
