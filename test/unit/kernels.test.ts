// gemm against a naive product for every transpose, conv2d against naive loops, conv2dTranspose as conv2d's adjoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm, conv2d, conv2dTranspose, setWasmGemm, type Conv2dGeometry } from '../../server/tensor/kernels';
import { wasmGemm, wasmGemmAvailable } from '../../server/tensor/wasm-gemm';
import { BackwardWorkspace, ResidentMatrix, ResidentSparse } from '../../server/tensor/wasm-resident';
import type { FloatArray } from '../../server/tensor/types';

/** Deterministic pseudo-random numbers in [-1, 1) (xorshift), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 31 - 1;
  };
}

function randomArray(kind: 'float32' | 'float64', n: number, next: () => number): FloatArray {
  const a = kind === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = next();
  return a;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol * scale)) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function naiveGemm(a: FloatArray, b: FloatArray, M: number, N: number, K: number, tA: boolean, tB: boolean): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? a[k * M + i] : a[i * K + k]) * (tB ? b[j * K + k] : b[k * N + j]);
      c[i * N + j] = s;
    }
  return c;
}

for (const kind of ['float64', 'float32'] as const) {
  const tol = kind === 'float64' ? 1e-12 : 1e-5;
  test(`gemm matches the naive product for all transposes and odd sizes (${kind})`, () => {
    const next = rng(7);
    // Sizes straddle the 4×4 tile, the small-matrix path, and the 256-deep K block.
    const sizes: [number, number, number][] = [[1, 1, 1], [3, 5, 2], [4, 4, 4], [7, 9, 300], [33, 17, 65], [64, 70, 513], [130, 5, 20]];
    for (const [M, N, K] of sizes) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const a = randomArray(kind, M * K, next);
          const b = randomArray(kind, K * N, next);
          const expected = naiveGemm(a, b, M, N, K, tA, tB);
          const c = kind === 'float32' ? new Float32Array(M * N) : new Float64Array(M * N);
          c.fill(123); // must be overwritten
          gemm(a, b, c, M, N, K, tA, tB, false);
          assertClose(c, expected, tol * K, `gemm ${M}x${N}x${K} tA=${tA} tB=${tB}`);
          // accumulate adds to what is there
          gemm(a, b, c, M, N, K, tA, tB, true);
          assertClose(c, expected.map((v) => 2 * v), tol * K, `accumulating gemm ${M}x${N}x${K}`);
        }
      }
    }
  });
}

// The same products through each path: the WebAssembly SIMD kernel alone, and gemm with it switched off (TypeScript).
for (const path of ['wasm', 'typescript'] as const) {
  for (const kind of ['float64', 'float32'] as const) {
    const tol = kind === 'float64' ? 1e-12 : 1e-5;
    test(`${path} gemm matches the naive product for all transposes and odd sizes (${kind})`, () => {
      if (path === 'wasm') assert.ok(wasmGemmAvailable(), 'the wasm SIMD kernel compiles on this Node');
      const next = rng(11);
      const sizes: [number, number, number][] = [[1, 1, 1], [4, 4, 4], [5, 7, 3], [7, 9, 300], [33, 17, 65], [64, 70, 513], [130, 5, 20], [129, 131, 257]];
      const run = (a: FloatArray, b: FloatArray, c: FloatArray, M: number, N: number, K: number, tA: boolean, tB: boolean, acc: boolean): void => {
        if (path === 'wasm') assert.ok(wasmGemm(a, b, c, M, N, K, tA, tB, acc));
        else {
          setWasmGemm(false);
          try {
            gemm(a, b, c, M, N, K, tA, tB, acc);
          } finally {
            setWasmGemm(true);
          }
        }
      };
      for (const [M, N, K] of sizes)
        for (const tA of [false, true])
          for (const tB of [false, true]) {
            const a = randomArray(kind, M * K, next);
            const b = randomArray(kind, K * N, next);
            const expected = naiveGemm(a, b, M, N, K, tA, tB);
            const c = kind === 'float32' ? new Float32Array(M * N) : new Float64Array(M * N);
            c.fill(123);
            run(a, b, c, M, N, K, tA, tB, false);
            assertClose(c, expected, tol * K, `${path} gemm ${M}x${N}x${K} tA=${tA} tB=${tB}`);
            run(a, b, c, M, N, K, tA, tB, true);
            assertClose(c, expected.map((v) => 2 * v), tol * K, `${path} accumulating gemm ${M}x${N}x${K}`);
          }
    });
  }
}

test('gemm with K = 0 clears C, or leaves it when accumulating', () => {
  const c = new Float64Array([1, 2, 3, 4]);
  gemm(new Float64Array(0), new Float64Array(0), c, 2, 2, 0, false, false, true);
  assert.deepEqual([...c], [1, 2, 3, 4]);
  gemm(new Float64Array(0), new Float64Array(0), c, 2, 2, 0, false, false, false);
  assert.deepEqual([...c], [0, 0, 0, 0]);
});

function naiveConv(x: FloatArray, w: FloatArray, bias: FloatArray | null, g: Conv2dGeometry): Float64Array {
  const y = new Float64Array(g.batch * g.cout * g.hout * g.wout);
  const cinG = g.cin / g.groups;
  const coutG = g.cout / g.groups;
  for (let n = 0; n < g.batch; n++)
    for (let o = 0; o < g.cout; o++) {
      const grp = Math.floor(o / coutG);
      for (let oh = 0; oh < g.hout; oh++)
        for (let ow = 0; ow < g.wout; ow++) {
          let s = bias ? bias[o] : 0;
          for (let c = 0; c < cinG; c++)
            for (let i = 0; i < g.kh; i++)
              for (let j = 0; j < g.kw; j++) {
                const ih = oh * g.strideH - g.padTop + i * g.dilationH;
                const iw = ow * g.strideW - g.padLeft + j * g.dilationW;
                if (ih < 0 || ih >= g.hin || iw < 0 || iw >= g.win) continue;
                const xc = grp * cinG + c;
                s += x[((n * g.cin + xc) * g.hin + ih) * g.win + iw] * w[((o * cinG + c) * g.kh + i) * g.kw + j];
              }
          y[((n * g.cout + o) * g.hout + oh) * g.wout + ow] = s;
        }
    }
  return y;
}

function randomGeometry(next: () => number): Conv2dGeometry {
  const int = (lo: number, hi: number) => lo + Math.floor(((next() + 1) / 2) * (hi - lo + 1));
  const groups = [1, 1, 2, 3][int(0, 3)];
  const cin = groups * int(1, 3);
  const cout = groups * int(1, 3);
  const kh = int(1, 3), kw = int(1, 4);
  const strideH = int(1, 3), strideW = int(1, 2);
  const dilationH = int(1, 2), dilationW = int(1, 3);
  const padTop = int(0, 2), padLeft = int(0, 2);
  const hin = int(kh * dilationH, 9), win = int(kw * dilationW, 10);
  // Bottom/right padding is whatever hout/wout imply; pick up to 2 extra.
  const hout = Math.floor((hin + padTop + int(0, 2) - dilationH * (kh - 1) - 1) / strideH) + 1;
  const wout = Math.floor((win + padLeft + int(0, 2) - dilationW * (kw - 1) - 1) / strideW) + 1;
  return { batch: int(1, 3), cin, hin, win, cout, kh, kw, hout, wout, strideH, strideW, padTop, padLeft, dilationH, dilationW, groups };
}

for (const kind of ['float64', 'float32'] as const) {
  const tol = kind === 'float64' ? 1e-12 : 1e-5;
  test(`conv2d matches naive loops on random geometries (${kind})`, () => {
    const next = rng(11);
    for (let t = 0; t < 40; t++) {
      const g = randomGeometry(next);
      const x = randomArray(kind, g.batch * g.cin * g.hin * g.win, next);
      const w = randomArray(kind, g.cout * (g.cin / g.groups) * g.kh * g.kw, next);
      const bias = t % 2 === 0 ? randomArray(kind, g.cout, next) : null;
      const y = kind === 'float32' ? new Float32Array(g.batch * g.cout * g.hout * g.wout) : new Float64Array(g.batch * g.cout * g.hout * g.wout);
      y.fill(7);
      conv2d(x, w, bias, y, g);
      assertClose(y, naiveConv(x, w, bias, g), tol * 30, `conv2d ${JSON.stringify(g)}`);
    }
  });

  test(`conv2dTranspose is the adjoint of conv2d: <conv(x), y> = <x, convT(y)> (${kind})`, () => {
    const next = rng(23);
    const pointwise: Conv2dGeometry = { batch: 2, cin: 4, hin: 3, win: 5, cout: 6, kh: 1, kw: 1, hout: 3, wout: 5, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, dilationH: 1, dilationW: 1, groups: 2 };
    const geometries = [pointwise, ...Array.from({ length: 40 }, () => randomGeometry(next))];
    for (const g of geometries) {
      const x = randomArray(kind, g.batch * g.cin * g.hin * g.win, next);
      const w = randomArray(kind, g.cout * (g.cin / g.groups) * g.kh * g.kw, next);
      const y = randomArray(kind, g.batch * g.cout * g.hout * g.wout, next);
      const cx = new Float64Array(y.length);
      conv2d(x, w, null, cx, g);
      const ty = kind === 'float32' ? new Float32Array(x.length).fill(5) : new Float64Array(x.length).fill(5);
      conv2dTranspose(y, w, ty, g);
      let lhs = 0, rhs = 0, mag = 0;
      for (let i = 0; i < y.length; i++) { lhs += cx[i] * y[i]; mag += Math.abs(cx[i] * y[i]); }
      for (let i = 0; i < x.length; i++) rhs += x[i] * ty[i];
      assert.ok(Math.abs(lhs - rhs) <= tol * 10 * Math.max(1, mag), `adjoint mismatch ${lhs} vs ${rhs} for ${JSON.stringify(g)}`);
    }
  });
}

/** W·x and |W|·r by plain loops, for ResidentMatrix. */
function intervalByLoops(w: Float64Array, n: number, k: number, xc: Float64Array, xr: Float64Array, rows: number): [Float64Array, Float64Array] {
  const yc = new Float64Array(rows * n);
  const yr = new Float64Array(rows * n);
  for (let p = 0; p < rows; p++)
    for (let j = 0; j < n; j++)
      for (let i = 0; i < k; i++) {
        yc[p * n + j] += w[j * k + i] * xc[p * k + i];
        yr[p * n + j] += Math.abs(w[j * k + i]) * xr[p * k + i];
      }
  return [yc, yr];
}

test('the wasm IBP kernel (ResidentMatrix) equals plain loops for odd and even shapes, one row or many', () => {
  assert.ok(wasmGemmAvailable(), 'wasm SIMD compiles on this Node');
  const next = rng(11);
  for (const [n, k, rows] of [[256, 784, 1], [7, 5, 40], [13, 33, 3], [1, 2048, 1], [16, 128, 25]] as const) {
    const w = randomArray('float64', n * k, next) as Float64Array;
    const xc = randomArray('float64', rows * k, next) as Float64Array;
    const xr = (randomArray('float64', rows * k, next) as Float64Array).map(Math.abs);
    const m = new ResidentMatrix(w, n, k);
    const yc = new Float64Array(rows * n);
    const yr = new Float64Array(rows * n);
    assert.ok(m.interval(xc, xr, rows, yc, yr), `${n}×${k}×${rows} ran in wasm`);
    const [ec, er] = intervalByLoops(w, n, k, xc, xr, rows);
    assertClose(yc, ec, 1e-12, `${n}×${k}×${rows} W·x`);
    assertClose(yr, er, 1e-12, `${n}×${k}×${rows} |W|·r`);
  }
});

test('ResidentMatrix: matrices that no longer fit the arena start it over, and earlier ones are placed again', () => {
  const next = rng(12);
  // Five 16 MiB matrices: the fifth does not fit the 64 MiB arena with the first four.
  const n = 1000, k = 2000;
  const ms = Array.from({ length: 5 }, () => new ResidentMatrix(randomArray('float64', n * k, next) as Float64Array, n, k));
  const xc = randomArray('float64', k, next) as Float64Array;
  const xr = xc.map(Math.abs);
  for (const round of [0, 1])
    for (const [i, m] of ms.entries()) {
      const yc = new Float64Array(n);
      const yr = new Float64Array(n);
      assert.ok(m.interval(xc, xr, 1, yc, yr));
      const [ec, er] = intervalByLoops(m.weight, n, k, xc, xr, 1);
      assertClose(yc, ec, 1e-12, `round ${round}, matrix ${i}: W·x`);
      assertClose(yr, er, 1e-12, `round ${round}, matrix ${i}: |W|·r`);
    }
});

test('the wasm backward-pass kernels (Jᵀ·V, relaxation, concretisation) equal plain loops', () => {
  const next = rng(13);
  // A sparse 30 × 50 matrix J (about 20 % non-zero), V with 40 columns (5 chunks of 8).
  const rows = 30, cols = 50, W = 40;
  const rowStart = new Int32Array(rows + 1);
  const col: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) if (next() > 0.6) { col.push(j); val.push(next()); }
    rowStart[i + 1] = col.length;
  }
  const J = new ResidentSparse(rowStart, Int32Array.from(col), Float64Array.from(val), rows, cols);
  const vAt = 0, outAt = rows * W, cstAt = outAt + cols * W, magAt = cstAt + W, pAt = magAt + W, loAt = pAt + 6 * rows, hiAt = loAt + cols;
  const ws = BackwardWorkspace.open([J], hiAt + cols);
  assert.ok(ws !== null, 'wasm SIMD compiles on this Node');
  const f = ws.f64;
  const b = ws.base;
  const V = Float64Array.from({ length: rows * W }, () => next());
  f.set(V, b + vAt);
  // relax on V's rows (neuron-major: one row per neuron of J's output side).
  const params = Float64Array.from({ length: 6 * rows }, (_, i) => (i % 6 === 5 ? Math.abs(next()) + 1 : next()));
  f.set(params, b + pAt);
  f.fill(0, b + cstAt, b + magAt + W);
  ws.relax(b + vAt, b + cstAt, b + magAt, b + pAt, rows, W);
  const cst = new Float64Array(W), mag = new Float64Array(W);
  for (let j = 0; j < rows; j++) {
    const [ls, us, lb, ub, bias, bound] = params.subarray(6 * j, 6 * j + 6);
    for (let r = 0; r < W; r++) {
      const v = V[j * W + r];
      const p = Math.max(v, 0), q = Math.min(v, 0);
      const nv = p * ls + q * us;
      const t = p * lb + q * ub;
      V[j * W + r] = nv;
      cst[r] += t + nv * bias;
      mag[r] += Math.abs(t) + Math.abs(nv) * bound;
    }
  }
  assertClose(f.subarray(b + vAt, b + vAt + rows * W), V, 1e-12, 'relax: coefficients');
  assertClose(f.subarray(b + cstAt, b + cstAt + W), cst, 1e-12, 'relax: constants');
  assertClose(f.subarray(b + magAt, b + magAt + W), mag, 1e-12, 'relax: magnitudes');
  // out (cols × W) = Jᵀ·V.
  ws.spmm(J, b + vAt, b + outAt, W / 8);
  const out = new Float64Array(cols * W);
  for (let i = 0; i < rows; i++) for (let e = rowStart[i]; e < rowStart[i + 1]; e++) for (let r = 0; r < W; r++) out[col[e] * W + r] += val[e] * V[i * W + r];
  assertClose(f.subarray(b + outAt, b + outAt + cols * W), out, 1e-12, 'Jᵀ·V');
  // concretise out over a box.
  const lo = Float64Array.from({ length: cols }, () => next() - 1);
  const hi = lo.map((l) => l + Math.abs(next()));
  f.set(lo, b + loAt);
  f.set(hi, b + hiAt);
  ws.concretise(b + outAt, b + cstAt, b + magAt, b + loAt, b + hiAt, cols, W);
  for (let i = 0; i < cols; i++)
    for (let r = 0; r < W; r++) {
      const x = out[i * W + r];
      const t = Math.max(x, 0) * lo[i] + Math.min(x, 0) * hi[i];
      cst[r] += t;
      mag[r] += Math.abs(t);
    }
  assertClose(f.subarray(b + cstAt, b + cstAt + W), cst, 1e-12, 'concretise: constants');
  assertClose(f.subarray(b + magAt, b + magAt + W), mag, 1e-12, 'concretise: magnitudes');
});
