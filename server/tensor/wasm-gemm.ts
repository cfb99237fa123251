// A float64 matrix product in WebAssembly SIMD (f64x2), emitted as bytes here (no toolchain): packed panels of
// 4 rows of A and 4 columns of B, a 4×4 register tile (8 f64x2 accumulators) per micro-kernel call, the macro loops
// in wasm too. Node ≥ 16 runs wasm SIMD; where it does not compile, `wasmGemm` is null and callers use plain
// TypeScript (kernels.ts).
import type { FloatArray } from './types';
import { ADD, F64X2_ADD, F64X2_MUL, I32, LT_U, MUL, NE, SUB, V128, ZERO, get, i32, load, set, splat64, store, uleb, wasmModule } from './wasm-bytes';

const MR = 4;
const NR = 4;
const KC = 256;
const MC = 128;

/**
 * kernel(pa, pb, pc, mPanels, nPanels, kc, ldc): for every panel pair, C[4×4 tile] += Apanel·Bpanel over kc,
 * with A panels at pa + ip·kc·32, B panels at pb + jp·kc·32, the tile at pc + ip·4·ldc + jp·32 (bytes).
 */
function moduleBytes(pages: number): Uint8Array {
  // params 0..6; i32 locals 7..12: jp ip k a b c; v128 locals 13..20 acc, 21 b0, 22 b1, 23 av
  const [PA, PB, PC, MP, NP, KCL, LDC] = [0, 1, 2, 3, 4, 5, 6];
  const [JP, IP, K, A, B, C] = [7, 8, 9, 10, 11, 12];
  const acc = (r: number, h: number): number => 13 + r * 2 + h;
  const B0 = 21, B1 = 22, AV = 23;
  const body: number[] = [];
  const e = (...xs: (number | number[])[]): void => {
    for (const x of xs) Array.isArray(x) ? body.push(...x) : body.push(x);
  };
  e(i32(0), set(JP));
  e(0x03, 0x40); // loop j
  e(i32(0), set(IP));
  e(0x03, 0x40); // loop i
  // a = pa + ip*kc*32; b = pb + jp*kc*32
  e(get(PA), get(IP), get(KCL), MUL, i32(32), MUL, ADD, set(A));
  e(get(PB), get(JP), get(KCL), MUL, i32(32), MUL, ADD, set(B));
  for (let r = 0; r < 4; r++) for (let h = 0; h < 2; h++) e(ZERO, set(acc(r, h)));
  e(get(KCL), set(K));
  e(0x03, 0x40); // loop k
  e(get(B), load(0), set(B0), get(B), load(16), set(B1));
  for (let r = 0; r < 4; r++) {
    e(get(A), splat64(8 * r), set(AV));
    e(get(acc(r, 0)), get(AV), get(B0), F64X2_MUL, F64X2_ADD, set(acc(r, 0)));
    e(get(acc(r, 1)), get(AV), get(B1), F64X2_MUL, F64X2_ADD, set(acc(r, 1)));
  }
  e(get(A), i32(32), ADD, set(A), get(B), i32(32), ADD, set(B));
  e(get(K), i32(1), SUB, 0x22, ...uleb(K), i32(0), NE, 0x0d, 0); // k = k - 1; br_if k != 0
  e(0x0b); // end loop k
  // c = pc + ip*4*ldc + jp*32
  e(get(PC), get(IP), get(LDC), MUL, i32(4), MUL, ADD, get(JP), i32(32), MUL, ADD, set(C));
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) e(get(C), get(C), load(16 * h), get(acc(r, h)), F64X2_ADD, store(16 * h));
    if (r < 3) e(get(C), get(LDC), ADD, set(C));
  }
  e(get(IP), i32(1), ADD, 0x22, ...uleb(IP), get(MP), LT_U, 0x0d, 0); // ip++; br_if ip < mp
  e(0x0b); // end loop i
  e(get(JP), i32(1), ADD, 0x22, ...uleb(JP), get(NP), LT_U, 0x0d, 0);
  e(0x0b); // end loop j
  return wasmModule(pages, [{ name: 'k', params: 7, locals: [[6, I32], [11, V128]], body }]);
}

interface Instance {
  kernel: (pa: number, pb: number, pc: number, mp: number, np: number, kc: number, ldc: number) => void;
  memory: WebAssembly.Memory;
  f64: Float64Array;
}

let instance: Instance | null | undefined;

function load_(): Instance | null {
  if (instance !== undefined) return instance;
  try {
    if (process.env.GRAFTCERT_NO_WASM === '1') throw new Error('disabled');
    const mod = new WebAssembly.Module(moduleBytes(64).buffer as ArrayBuffer);
    const inst = new WebAssembly.Instance(mod, {});
    const memory = inst.exports.m as WebAssembly.Memory;
    instance = { kernel: inst.exports.k as Instance['kernel'], memory, f64: new Float64Array(memory.buffer) };
  } catch {
    instance = null;
  }
  return instance;
}

/** Whether the wasm kernel compiled here. */
export function wasmGemmAvailable(): boolean {
  return load_() !== null;
}

function ensureDoubles(inst: Instance, doubles: number): Float64Array {
  const bytes = doubles * 8;
  if (inst.memory.buffer.byteLength < bytes) {
    inst.memory.grow(Math.ceil((bytes - inst.memory.buffer.byteLength) / 65536));
    inst.f64 = new Float64Array(inst.memory.buffer);
  }
  return inst.f64;
}

/**
 * C[M×N] = (accumulate ? C : 0) + op(A)·op(B), row-major, like kernels.ts `gemm`, by the wasm kernel. Returns false
 * (doing nothing) when wasm SIMD is unavailable.
 */
export function wasmGemm(
  a: FloatArray,
  b: FloatArray,
  c: FloatArray,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): boolean {
  const inst = load_();
  if (inst === null) return false;
  const Np = Math.ceil(N / NR) * NR;
  const c64 = c instanceof Float64Array ? c : null;
  const mem = product(inst, a, b, accumulate ? c : null, M, N, K, transA, transB);
  if (c64 !== null && Np === N) c64.set(mem.subarray(0, M * N));
  else
    for (let i = 0; i < M; i++) {
      const o = i * Np;
      if (c64 !== null) c64.set(mem.subarray(o, o + N), i * N);
      else for (let j = 0; j < N; j++) c[i * N + j] = mem[o + j];
    }
  return true;
}

/**
 * A·B (row-major, M×K times K×N) by the wasm kernel, handed to `consume` in place: row i of the product is
 * view[i·ld .. i·ld + N) (the view is only valid during the call). Returns false when wasm SIMD is unavailable.
 */
export function wasmProductTo(
  a: FloatArray,
  b: FloatArray,
  M: number,
  N: number,
  K: number,
  consume: (view: Float64Array, ld: number) => void,
): boolean {
  const inst = load_();
  if (inst === null) return false;
  const view = product(inst, a, b, null, M, N, K, false, false);
  consume(view, Math.ceil(N / NR) * NR);
  return true;
}

/** The product (plus C when given) in wasm memory, at offset 0 with row stride Np; returns the memory view. */
function product(
  inst: Instance,
  a: FloatArray,
  b: FloatArray,
  c: FloatArray | null,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const accumulate = c !== null;
  const mPanelsAll = Math.ceil(M / MR);
  const nPanels = Math.ceil(N / NR);
  const Mp = mPanelsAll * MR;
  const Np = nPanels * NR;
  const kcMax = Math.min(KC, K);
  const cAt = 0;
  const bAt = Mp * Np;
  const aAt = bAt + Np * kcMax;
  const mem = ensureDoubles(inst, aAt + MC * kcMax);
  // C in, padded to whole tiles.
  const c64 = c instanceof Float64Array ? c : null;
  if (c === null) mem.fill(0, cAt, cAt + Mp * Np);
  else
    for (let i = 0; i < Mp; i++) {
      const o = cAt + i * Np;
      if (i < M) {
        if (c64 !== null) mem.set(c64.subarray(i * N, i * N + N), o);
        else for (let j = 0; j < N; j++) mem[o + j] = c![i * N + j];
        mem.fill(0, o + N, o + Np);
      } else mem.fill(0, o, o + Np);
    }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = Math.min(KC, K - k0);
    // B panels: pb[(p*kc + k)*NR + q] = op(B)[k0 + k][p*NR + q]
    const full = Math.floor(N / NR);
    for (let p = 0; p < nPanels; p++) {
      const base = bAt + p * kc * NR;
      const j0 = p * NR;
      if (p < full && !transB) {
        let s = k0 * N + j0;
        for (let d = base; d < base + kc * NR; d += NR, s += N) {
          mem[d] = b[s];
          mem[d + 1] = b[s + 1];
          mem[d + 2] = b[s + 2];
          mem[d + 3] = b[s + 3];
        }
        continue;
      }
      for (let q = 0; q < NR; q++) {
        const j = j0 + q;
        if (j >= N) for (let k = 0; k < kc; k++) mem[base + k * NR + q] = 0;
        else if (transB) {
          const row = j * K + k0;
          for (let k = 0; k < kc; k++) mem[base + k * NR + q] = b[row + k];
        } else for (let k = 0; k < kc; k++) mem[base + k * NR + q] = b[(k0 + k) * N + j];
      }
    }
    for (let i0 = 0; i0 < M; i0 += MC) {
      const mc = Math.min(MC, M - i0);
      const mPanels = Math.ceil(mc / MR);
      for (let p = 0; p < mPanels; p++) {
        const base = aAt + p * kc * MR;
        const ib = i0 + p * MR;
        if (transA && ib + MR <= M) {
          let src = k0 * M + ib;
          for (let d = base; d < base + kc * MR; d += MR, src += M) {
            mem[d] = a[src];
            mem[d + 1] = a[src + 1];
            mem[d + 2] = a[src + 2];
            mem[d + 3] = a[src + 3];
          }
          continue;
        }
        for (let r = 0; r < MR; r++) {
          const i = ib + r;
          if (i >= M) {
            for (let k = 0; k < kc; k++) mem[base + k * MR + r] = 0;
          } else if (transA) {
            for (let k = 0; k < kc; k++) mem[base + k * MR + r] = a[(k0 + k) * M + i];
          } else {
            const row = i * K + k0;
            for (let k = 0; k < kc; k++) mem[base + k * MR + r] = a[row + k];
          }
        }
      }
      inst.kernel(aAt * 8, bAt * 8, (cAt + i0 * Np) * 8, mPanels, nPanels, kc, Np * 8);
    }
  }
  return inst.f64;
}
