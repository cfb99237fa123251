// WebAssembly bytecode, written by hand (no toolchain): LEB128 numbers, the few opcodes the engine's kernels use, and
// a module of exported functions over one exported memory.

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

export const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// Locals, constants, i32 arithmetic.
export const get = (i: number): number[] => [0x20, ...uleb(i)];
export const set = (i: number): number[] => [0x21, ...uleb(i)];
export const tee = (i: number): number[] => [0x22, ...uleb(i)];
export const i32 = (v: number): number[] => [0x41, ...sleb(v)];
export const ADD = 0x6a, SUB = 0x6b, MUL = 0x6c, LT_U = 0x49, NE = 0x47;
export const LOOP = [0x03, 0x40];
export const END = 0x0b;
/** br_if to the enclosing block or loop `depth` levels out (0: the innermost). */
export const brIf = (depth: number): number[] => [0x0d, ...uleb(depth)];
/** br_if to the innermost enclosing loop (its start). */
export const BR_IF_LOOP = brIf(0);
export const F64_ADD = 0xa0;
export const GE_U = 0x4f;
export const BLOCK = [0x02, 0x40];
export const f64Load = (offset: number): number[] => [0x2b, 3, ...uleb(offset)];
export const i32Load = (offset: number): number[] => [0x28, 2, ...uleb(offset)];
export const f64Store = (offset: number): number[] => [0x39, 3, ...uleb(offset)];

// SIMD (f64x2).
export const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
export const load = (offset: number): number[] => simd(0x00, 3, ...uleb(offset));
export const store = (offset: number): number[] => simd(0x0b, 3, ...uleb(offset));
export const splat64 = (offset: number): number[] => simd(0x0a, 3, ...uleb(offset));
export const lane = (i: number): number[] => simd(0x21, i);
export const F64X2_ADD = simd(0xf0);
export const F64X2_MUL = simd(0xf2);
export const F64X2_ABS = simd(0xec);
export const F64X2_PMIN = simd(0xf6);
export const F64X2_PMAX = simd(0xf7);
export const F64X2_SPLAT = simd(0x14);
export const ZERO = simd(0x0c, ...new Array(16).fill(0));

export const I32 = 0x7f;
export const V128 = 0x7b;

export interface WasmFunction {
  readonly name: string;
  /** Number of i32 parameters. */
  readonly params: number;
  /** Local declarations: [count, type]. */
  readonly locals: readonly (readonly [number, number])[];
  readonly body: readonly number[];
}

/** A module exporting `functions` (i32 parameters, no result) and its memory as "m" (`pages` of 64 KiB at first). */
export function wasmModule(pages: number, functions: readonly WasmFunction[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...uleb(f.params), ...new Array(f.params).fill(I32), 0]);
  const codes = functions.map((f) => {
    const body = [...uleb(f.locals.length), ...f.locals.flatMap(([n, t]) => [...uleb(n), t]), ...f.body, END];
    return [...uleb(body.length), ...body];
  });
  const exports = [
    ...uleb(functions.length + 1),
    ...functions.flatMap((f, i) => [...str(f.name), 0, ...uleb(i)]),
    ...str('m'), 2, 0,
  ];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(types.length), ...types.flat()]),
    ...section(3, [...uleb(functions.length), ...functions.map((_, i) => i)]),
    ...section(5, [1, 0, ...uleb(pages)]),
    ...section(7, exports),
    ...section(10, [...uleb(codes.length), ...codes.flat()]),
  ]);
}
