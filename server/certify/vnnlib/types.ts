// The canonical (lowered) form of a VNN-LIB property, as the verifier consumes it.
import type { VnnlibWarning } from './errors';

/** Per-input bounds over X flattened in C order. */
export interface InputBox {
  lower: Float64Array;
  upper: Float64Array;
}

/** "A·y ≤ b holds for all rows": A is row-major, rows × nOutputs. */
export interface OutputDisjunct {
  A: Float64Array;
  b: Float64Array;
  rows: number;
}

/** Unsafe iff the input lies in `box` and, for some disjunct, A·y ≤ b holds for all its rows. */
export interface VnnlibSpec {
  box: InputBox;
  disjuncts: OutputDisjunct[];
}

/**
 * A parsed property: the *unsafe* set is the union of `specs`. UNSAT (no input reaches it) means the
 * property holds; SAT means a counterexample exists.
 */
export interface VnnlibProperty {
  version: '1.0' | '2.0';
  file?: string;
  nInputs: number;
  nOutputs: number;
  specs: VnnlibSpec[];
  warnings: VnnlibWarning[];
  /** VNN-LIB 2.0 only: the declared network, tensor names and shapes. */
  network?: { name: string; input: string; inputShape: number[]; output: string; outputShape: number[] };
}

export interface ParseOptions {
  /** Size of the paired model's input (elements); checks that X indices fit. */
  nInputs?: number;
  /** Size of the paired model's output (elements); checks that Y indices fit. */
  nOutputs?: number;
  /** File name used in diagnostics. */
  file?: string;
}
