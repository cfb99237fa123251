// Input regions (boxes over the flattened model input) and output specifications (rows C, offset d).

/** An axis-aligned box over the flattened model input, C order. */
export interface Region {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

/** The L∞ ball of radius eps around x0, optionally clipped to [lo, hi] (e.g. the valid pixel range). */
export function linfBall(x0: ArrayLike<number>, eps: number, clip?: readonly [number, number] | null): Region {
  const n = x0.length;
  const lower = new Float64Array(n);
  const upper = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let l = x0[i] - eps;
    let u = x0[i] + eps;
    if (clip) {
      l = Math.max(l, clip[0]);
      u = Math.min(u, clip[1]);
    }
    lower[i] = l;
    upper[i] = u;
  }
  return { lower, upper };
}

/** Linear functions of the output to bound: C·y + d, C stored row-major (count × size). */
export interface Specification {
  readonly count: number;
  readonly size: number;
  readonly rows: Float64Array;
  readonly offset: Float64Array | null;
}

export function identitySpec(size: number): Specification {
  const rows = new Float64Array(size * size);
  for (let i = 0; i < size; i++) rows[i * size + i] = 1;
  return { count: size, size, rows, offset: null };
}

/** Robustness at `label`: rows e_label − e_j for every j ≠ label, in increasing j; certified iff all lower bounds > 0. */
export function marginSpec(size: number, label: number): Specification & { label: number; others: number[] } {
  if (!Number.isInteger(label) || label < 0 || label >= size)
    throw new RangeError(`label ${label} is out of range: the model has ${size} outputs (0 to ${size - 1})`);
  const others = [...Array(size).keys()].filter((j) => j !== label);
  const rows = new Float64Array(others.length * size);
  others.forEach((j, r) => {
    rows[r * size + label] = 1;
    rows[r * size + j] = -1;
  });
  return { count: others.length, size, rows, offset: null, label, others };
}
