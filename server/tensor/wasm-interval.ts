// IBP's affine step in WebAssembly SIMD: yc = W·x and yr = |W|·r for P input rows, against a weight matrix that
// stays in wasm memory between calls. Rows of W are stored in panels of 4 (interleaved by pairs of columns), so each
// step loads one pair of x and of r and updates 8 f64x2 accumulators (4 rows × centre/radius).
//
// Weights live in an arena of at most ARENA_BYTES; when a new matrix does not fit, the arena starts over (every
// placed matrix is placed again on its next use), so memory stays bounded however many bound graphs come and go.
// Where wasm SIMD does not compile (or GRAFTCERT_NO_WASM=1), `ResidentMatrix.interval` returns false and callers use
// their TypeScript loops.
import {
  ADD, BR_IF_LOOP, END, F64X2_ABS, F64X2_ADD, F64X2_MUL, F64_ADD, I32, LOOP, LT_U, MUL, NE, SUB, V128, ZERO,
  f64Store, get, i32, lane, load, set, tee, wasmModule,
} from './wasm-bytes';

const PANEL = 4;
const ARENA_BYTES = 64 << 20;
/** Smaller matrices stay in TypeScript: the call and copies would cost more than the products. */
const MIN_ENTRIES = 1024;

/** iv(pw, px, pr, pyc, pyr, P, panels, pairs): see the header; outputs are P × (panels·4), row-major. */
function moduleBytes(): Uint8Array {
  const [PW, PX, PR, PYC, PYR, PP, NP, KH] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [P, Q, I, A, X, R, O] = [8, 9, 10, 11, 12, 13, 14];
  const C = (t: number): number => 15 + t;
  const RR = (t: number): number => 19 + t;
  const XV = 23, RV = 24, W = 25;
  const body: number[] = [];
  const e = (...xs: (number | number[])[]): void => {
    for (const x of xs) Array.isArray(x) ? body.push(...x) : body.push(x);
  };
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
  return wasmModule(16, [{ name: 'iv', params: 8, locals: [[7, I32], [11, V128]], body }]);
}

interface Instance {
  iv: (pw: number, px: number, pr: number, pyc: number, pyr: number, p: number, panels: number, pairs: number) => void;
  memory: WebAssembly.Memory;
  f64: Float64Array;
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
    instance = { iv: inst.exports.iv as Instance['iv'], memory, f64: new Float64Array(memory.buffer), top: 0, generation: 0 };
  } catch {
    instance = null;
  }
  return instance;
}

function ensureBytes(inst: Instance, bytes: number): Float64Array {
  if (inst.memory.buffer.byteLength < bytes) {
    inst.memory.grow(Math.ceil((bytes - inst.memory.buffer.byteLength) / 65536));
    inst.f64 = new Float64Array(inst.memory.buffer);
  }
  return inst.f64;
}

/** An N × K matrix (row-major) for `interval`, copied into wasm memory on first use and kept there. */
export class ResidentMatrix {
  private readonly panels: number;
  private readonly pairs: number;
  private at = -1;
  private generation = -1;
  constructor(
    readonly weight: Float64Array,
    readonly n: number,
    readonly k: number,
  ) {
    this.panels = Math.ceil(n / PANEL);
    this.pairs = Math.ceil(k / 2);
  }
  private bytes(): number {
    return this.panels * this.pairs * PANEL * 16;
  }
  /** Byte offset of the panels in wasm memory, placing them when the arena no longer holds them. */
  private place(inst: Instance): number {
    if (this.generation === inst.generation) return this.at;
    const bytes = this.bytes();
    if (inst.top + bytes > ARENA_BYTES) {
      inst.top = 0;
      inst.generation++;
    }
    const at = inst.top;
    const mem = ensureBytes(inst, at + bytes);
    const { n, k, weight: w, pairs } = this;
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
    inst.top = at + bytes;
    this.at = at;
    this.generation = inst.generation;
    return at;
  }
  /** Whether this matrix may use the kernel (wasm compiled, the matrix fits the arena with room to spare). */
  available(): boolean {
    return this.k > 0 && this.bytes() <= ARENA_BYTES / 4 && load_() !== null;
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
