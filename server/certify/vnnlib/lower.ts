// Lowers parsed assertions to the canonical form: DNF, split into input boxes and output rows A·y ≤ b.
import { SourcePosition, VnnlibError, WarningSink } from './errors';
import { InputBox, OutputDisjunct, VnnlibSpec } from './types';
import { currentLimits, formatCount, raiseHint } from '../../limits';

/** Σ terms + c, with X_i keyed by i and Y_j keyed by -1-j. */
export interface Linear {
  terms: Map<number, number>;
  c: number;
}

/** `lin ≤ 0`. */
export interface Atom extends SourcePosition {
  lin: Linear;
}

export type Conjunct = Atom[];
/** Disjunction of conjunctions; `[]` is false, `[[]]` is true. */
export type Dnf = Conjunct[];

export const DISJUNCT_WARN_LIMIT = 1e5;
export const DISJUNCT_HARD_LIMIT = 1e6;

export const yKey = (j: number): number => -1 - j;
/** VNN-LIB 1.0 name of a variable key. */
export const varName = (key: number): string => (key >= 0 ? `X_${key}` : `Y_${-1 - key}`);

export type NameOf = (key: number) => string;

interface SparseRow extends SourcePosition {
  index: number[];
  coef: number[];
  b: number;
}

type Classified =
  | { kind: 'const'; holds: boolean }
  | { kind: 'bound'; index: number; upper: boolean; value: number }
  | { kind: 'row'; row: SparseRow };

export interface Declarations {
  nInputs: number;
  nOutputs: number;
  /** Where X_i was declared (for "unbounded input" errors). */
  inputPosition(i: number): SourcePosition;
  inputName(i: number): string;
}

/** Accumulates asserts (all conjoined) and builds the specs. */
export class PropertyBuilder {
  private readonly lo: number[] = [];
  private readonly hi: number[] = [];
  private readonly loPos: SourcePosition[] = [];
  private readonly hiPos: SourcePosition[] = [];
  private readonly rows: SparseRow[] = [];
  private readonly disjunctions: Dnf[] = [];
  private productSize = 1;
  private productPos: SourcePosition | undefined;
  private alwaysFalse: SourcePosition | undefined;

  constructor(
    private readonly warnings: WarningSink,
    private readonly fail: (pos: SourcePosition, reason: string) => VnnlibError,
    /** How diagnostics name a variable (`X_3` in 1.0, `X[0,3]` in 2.0). */
    private readonly nameOf: NameOf = varName,
  ) {}

  /** `X_index ≤ value` (upper) or `≥ value`; repeated bounds intersect. */
  addBound(index: number, upper: boolean, value: number, pos: SourcePosition): void {
    if (upper) {
      if (!(this.hi[index] <= value)) {
        this.hi[index] = value;
        this.hiPos[index] = pos;
      }
    } else if (!(this.lo[index] >= value)) {
      this.lo[index] = value;
      this.loPos[index] = pos;
    }
  }

  /** `coef·Y_j ≤ b` straight from the fast path. */
  addOutputBound(j: number, coef: number, b: number, pos: SourcePosition): void {
    this.rows.push({ index: [j], coef: [coef], b: b === 0 ? 0 : b, line: pos.line, column: pos.column });
  }

  addAssert(dnf: Dnf, pos: SourcePosition): void {
    if (dnf.length === 0) {
      this.alwaysFalse ??= pos;
      return;
    }
    if (dnf.length === 1) {
      for (const atom of dnf[0]) this.addCommon(atom);
      return;
    }
    this.productSize *= dnf.length;
    this.productPos = pos;
    checkDisjunctCount(this.productSize, pos, this.warnings, this.fail);
    this.disjunctions.push(dnf);
  }

  private addCommon(atom: Atom): void {
    const c = classify(atom, this.fail, this.nameOf);
    if (c.kind === 'bound') this.addBound(c.index, c.upper, c.value, atom);
    else if (c.kind === 'row') this.rows.push(c.row);
    else if (!c.holds) this.alwaysFalse ??= atom;
  }

  finish(decl: Declarations): VnnlibSpec[] {
    const { nInputs: nX, nOutputs: nY } = decl;
    // Every combination of the asserts' disjuncts may get its own input box and output rows: refuse before
    // enumerating when that is more than the tensor limit's worth of numbers (a few lines of (or ...) can ask for it).
    const limit = currentLimits().tensorElements;
    const work = (this.disjunctions.length > 0 ? this.productSize : 1) * (2 * nX + nY);
    if (!(work <= limit)) {
      throw this.fail(this.productPos ?? { line: 1, column: 1 }, `expanding the property gives ${formatCount(this.productSize)} combinations of ${nX} inputs and ${nY} outputs, ${formatCount(work)} numbers, over the ${formatCount(limit)}-element tensor limit; split the property into several files, or ${raiseHint('tensorElements')}`);
    }
    if (this.alwaysFalse) {
      this.warnings.warn('always-false', this.alwaysFalse, 'an assertion can never hold, so the unsafe set is empty and the property holds trivially');
      return [];
    }
    const common: InputBox = { lower: new Float64Array(nX).fill(-Infinity), upper: new Float64Array(nX).fill(Infinity) };
    for (let i = 0; i < nX; i++) {
      if (this.lo[i] !== undefined) common.lower[i] = this.lo[i];
      if (this.hi[i] !== undefined) common.upper[i] = this.hi[i];
      if (common.lower[i] > common.upper[i]) {
        const later = after(this.loPos[i], this.hiPos[i]) ? this.loPos[i] : this.hiPos[i];
        throw this.fail(later, emptyBoxReason(decl.inputName(i), common.lower[i], common.upper[i], this.loPos[i], this.hiPos[i]));
      }
    }

    // Enumerate the product of the multi-disjunct asserts; each combination is one conjunct.
    const groups = new Map<string, VnnlibSpec>();
    const order: VnnlibSpec[] = [];
    const emptyBoxes: { pos: SourcePosition; reason: string }[] = [];
    const choice = new Array<number>(this.disjunctions.length).fill(0);
    for (;;) {
      let box = common;
      let ownBox = false;
      let emptyReason: { pos: SourcePosition; reason: string } | undefined;
      let feasible = true;
      const rows: SparseRow[] = this.rows.slice();
      for (let k = 0; k < choice.length; k++) {
        for (const atom of this.disjunctions[k][choice[k]]) {
          const c = classify(atom, this.fail, this.nameOf);
          if (c.kind === 'const') {
            if (!c.holds) feasible = false;
          } else if (c.kind === 'row') {
            rows.push(c.row);
          } else {
            if (!ownBox) {
              box = { lower: common.lower.slice(), upper: common.upper.slice() };
              ownBox = true;
            }
            if (c.upper) box.upper[c.index] = Math.min(box.upper[c.index], c.value);
            else box.lower[c.index] = Math.max(box.lower[c.index], c.value);
            if (box.lower[c.index] > box.upper[c.index] && !emptyReason) {
              emptyReason = {
                pos: atom,
                reason: `${decl.inputName(c.index)} has lower bound ${box.lower[c.index]} above its upper bound ${box.upper[c.index]}, so this input box is empty; check the bounds`,
              };
            }
          }
        }
      }
      if (emptyReason) emptyBoxes.push(emptyReason);
      else if (feasible) {
        // The common box is keyed by a sentinel so the usual single-box file never builds a key.
        const key = !ownBox || sameBox(box, common) ? '' : boxKey(box);
        let spec = groups.get(key);
        if (!spec) {
          spec = { box, disjuncts: [] };
          groups.set(key, spec);
          order.push(spec);
        }
        spec.disjuncts.push(densify(rows, nY));
      }
      // next combination (odometer)
      let k = choice.length - 1;
      while (k >= 0 && ++choice[k] === this.disjunctions[k].length) choice[k--] = 0;
      if (k < 0) break;
    }
    if (order.length === 0 && emptyBoxes.length > 0) throw this.fail(emptyBoxes[0].pos, emptyBoxes[0].reason);
    if (emptyBoxes.length > 0) {
      for (const e of emptyBoxes) this.warnings.warn('empty-box-disjunct', e.pos, `${e.reason}; that disjunct was dropped`);
    }
    for (const spec of order) checkBounded(spec.box, decl, this.fail);
    if (order.some((s) => s.disjuncts.some((d) => d.rows === 0))) {
      const pos = this.rows[0] ?? { line: 1, column: 1 };
      this.warnings.warn('no-output-constraint', pos, 'a disjunct constrains only the inputs, so every input in its box is a counterexample');
    }
    return order;
  }
}

export function checkDisjunctCount(
  count: number,
  pos: SourcePosition,
  warnings: WarningSink,
  fail: (pos: SourcePosition, reason: string) => VnnlibError,
): void {
  if (count > DISJUNCT_HARD_LIMIT) {
    throw fail(pos, `normalising to disjunctive form gives more than ${DISJUNCT_HARD_LIMIT} disjuncts; split the property into several files`);
  }
  if (count > DISJUNCT_WARN_LIMIT) {
    warnings.warn('many-disjuncts', pos, `normalising to disjunctive form gives ${count} disjuncts; verification may be slow`);
  }
}

function classify(atom: Atom, fail: (pos: SourcePosition, reason: string) => VnnlibError, nameOf: NameOf): Classified {
  let xs = 0;
  let ys = 0;
  let firstX = 0;
  let firstY = 0;
  let secondX = 0;
  for (const [key, coef] of atom.lin.terms) {
    if (coef === 0) continue;
    if (key >= 0) {
      if (xs === 0) firstX = key;
      else if (xs === 1) secondX = key;
      xs++;
    } else {
      if (ys === 0) firstY = key;
      ys++;
    }
  }
  if (xs > 0 && ys > 0) {
    throw fail(atom, `this comparison mixes an input (${nameOf(firstX)}) and an output (${nameOf(firstY)}); write input and output constraints as separate comparisons`);
  }
  if (xs > 1) {
    throw fail(atom, `input constraints that are linear but not box bounds (here over ${nameOf(firstX)} and ${nameOf(secondX)}) are not supported yet; bound each input separately`);
  }
  if (xs === 1) {
    const a = atom.lin.terms.get(firstX)!;
    const value = -atom.lin.c / a;
    return { kind: 'bound', index: firstX, upper: a > 0, value: value === 0 ? 0 : value };
  }
  if (ys === 0) return { kind: 'const', holds: atom.lin.c <= 0 };
  const index: number[] = [];
  const coef: number[] = [];
  for (const [key, c] of atom.lin.terms) {
    if (c === 0) continue;
    index.push(-1 - key);
    coef.push(c);
  }
  const b = -atom.lin.c;
  return { kind: 'row', row: { index, coef, b: b === 0 ? 0 : b, line: atom.line, column: atom.column } };
}

function densify(rows: SparseRow[], nY: number): OutputDisjunct {
  const A = new Float64Array(rows.length * nY);
  const b = new Float64Array(rows.length);
  rows.forEach((row, r) => {
    for (let k = 0; k < row.index.length; k++) A[r * nY + row.index[k]] += row.coef[k];
    b[r] = row.b;
  });
  return { A, b, rows: rows.length };
}

function boxKey(box: InputBox): string {
  return box.lower.join(',') + '|' + box.upper.join(',');
}

function sameBox(a: InputBox, b: InputBox): boolean {
  for (let i = 0; i < a.lower.length; i++) if (a.lower[i] !== b.lower[i] || a.upper[i] !== b.upper[i]) return false;
  return true;
}

function after(a: SourcePosition | undefined, b: SourcePosition | undefined): boolean {
  if (!a) return false;
  if (!b) return true;
  return a.line > b.line || (a.line === b.line && a.column > b.column);
}

function emptyBoxReason(name: string, lo: number, hi: number, loPos?: SourcePosition, hiPos?: SourcePosition): string {
  const where = loPos && hiPos ? ` (lower bound at line ${loPos.line}, upper bound at line ${hiPos.line})` : '';
  return `${name} has lower bound ${lo} above its upper bound ${hi}${where}, so the input box is empty; check the bounds`;
}

function checkBounded(box: InputBox, decl: Declarations, fail: (pos: SourcePosition, reason: string) => VnnlibError): void {
  const missing: { i: number; side: string }[] = [];
  for (let i = 0; i < box.lower.length; i++) {
    const noLo = box.lower[i] === -Infinity;
    const noHi = box.upper[i] === Infinity;
    if (noLo || noHi) missing.push({ i, side: noLo && noHi ? 'no bounds' : noLo ? 'no lower bound' : 'no upper bound' });
  }
  if (missing.length === 0) return;
  const first = missing[0];
  const name = decl.inputName(first.i);
  const others = missing.length > 1 ? ` (and ${missing.length - 1} more input${missing.length > 2 ? 's' : ''})` : '';
  const fix = first.side === 'no upper bound' ? `(assert (<= ${name} hi))` : `(assert (>= ${name} lo))`;
  throw fail(decl.inputPosition(first.i), `input ${name} has ${first.side}${others}, so the input set is unbounded; add ${fix}`);
}
