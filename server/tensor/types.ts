// Plain numeric storage shared by the IR, the forward pass and the bound engine.

/** Storage of a floating-point batch: Float64Array for sound/float64 work, Float32Array for float32 forward. */
export type FloatArray = Float32Array | Float64Array;

/** Precision of a forward evaluation: each op's output is stored (rounded) in this type. */
export type Precision = 'float32' | 'float64';

export function allocate(precision: Precision, length: number): FloatArray {
  return precision === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

/** Same element type as `like`, new length. */
export function allocateLike(like: FloatArray, length: number): FloatArray {
  return like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}
