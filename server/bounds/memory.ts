// An estimate of a bound computation's working memory, checked against the memory limit before the passes allocate.
import { checkMemory } from '../limits';
import { rowBlock } from './crown';
import type { BoundGraph } from './graph';

export type MemoryMethod = 'ibp' | 'crown' | 'alpha-crown';

/**
 * Bytes a bound pass over `bg` holds at its peak, roughly: IBP keeps an interval of every value; CROWN keeps the
 * pre-activation bounds and relaxations of every nonlinear op, and a block of backward rows (`rowBlock` rows) over
 * the widest values it passes through (the current coefficient, the accumulated one and the relaxed one); α-CROWN
 * adds, per row of a block, the coefficients recorded at every nonlinear op and per-row α with its Adam moments.
 */
export function boundMemoryEstimate(bg: BoundGraph, method: MemoryMethod): number {
  let values = bg.inputSize;
  let nonlinear = 0;
  for (const op of bg.ops) {
    values += op.outputSize;
    if (op.kind === 'nonlinear') nonlinear += op.inputSize;
  }
  const f64 = 8;
  if (method === 'ibp') return 2 * values * f64;
  const rows = rowBlock(bg);
  let elements = 2 * values + 6 * nonlinear + 3 * rows * bg.maxValueSize;
  if (method === 'alpha-crown') elements += 5 * rows * nonlinear;
  return elements * f64;
}

/** Throws LimitError (memory) when `method` on `bg` would need more than the memory limit. */
export function checkBoundMemory(bg: BoundGraph, method: MemoryMethod): void {
  const remedy = method === 'alpha-crown' ? 'use CROWN (--method crown)' : method === 'crown' ? 'use IBP (--method ibp)' : undefined;
  checkMemory(boundMemoryEstimate(bg, method), `${method === 'ibp' ? 'IBP' : method === 'crown' ? 'CROWN' : 'α-CROWN'} on this model`, remedy);
}
