// Outward rounding allowances, so a bound computed in float64 still holds for the exact real-valued network.

/** Relative allowance per summed term: covers dot products of up to ~10^4 terms (γ_n = n·2^-53) with margin. */
export const SUM_ALLOWANCE = 1e-11;
/** Relative allowance on the bound's own value. */
export const VALUE_ALLOWANCE = 1e-12;

/** The amount to move a lower (or upper) bound outward, given the magnitude of the terms it sums. */
export function allowance(bound: number, magnitude: number): number {
  return VALUE_ALLOWANCE * (1 + Math.abs(bound)) + SUM_ALLOWANCE * magnitude;
}

/** Widen an interval in place by the allowance of each element (magnitudes optional). */
export function widenInPlace(lower: Float64Array, upper: Float64Array, magnitude?: Float64Array): void {
  for (let i = 0; i < lower.length; i++) {
    const m = magnitude ? magnitude[i] : 0;
    lower[i] -= allowance(lower[i], m);
    upper[i] += allowance(upper[i], m);
  }
}
