// Parses VNN-LIB 1.0 (SMT-LIB style, as used in VNN-COMP) and the single-network subset of 2.0.
import { SourcePosition, VnnlibError, WarningSink } from './errors';
import { Lexer } from './lexer';
import { Atom, Declarations, Dnf, Linear, PropertyBuilder, checkDisjunctCount, varName, yKey } from './lower';
import { SAtom, SList, SNode, describe, readNode } from './sexpr';
import { ParseOptions, VnnlibProperty } from './types';
import { currentLimits, formatCount, raiseHint } from '../../limits';

const NUM = '([-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?)';
/** `(assert (<= X_3 0.5))`: about 99 % of the statements of a large file. */
const FAST_BOUND = new RegExp(`\\(\\s*assert\\s*\\(\\s*(<=|>=)\\s*([XY])_(0|[1-9]\\d*)\\s+${NUM}\\s*\\)\\s*\\)`, 'y');
const FAST_DECLARE = /\(\s*declare-const\s+([XY])_(0|[1-9]\d*)\s+Real\s*\)/y;
const VERSION_COMMAND = /\(\s*vnnlib-version\b/y;
const V1_NAME = /^([XY])_(\d+)$/;
const IGNORED_COMMANDS = new Set(['set-logic', 'set-info', 'set-option', 'check-sat', 'get-model', 'get-value', 'exit']);
const UNSUPPORTED_BOOL = new Set(['not', '=>', 'xor', 'ite', 'distinct', '!=']);

/** Resolves a variable occurrence to its key (X_i → i, Y_j → -1-j). */
type Resolver = (atom: SAtom) => number;

/**
 * Parses a property. Throws `VnnlibError` (with line and column) when the file cannot be read or
 * lowered; tolerated oddities end up in `warnings`.
 */
export function parseVnnlib(text: string, options: ParseOptions = {}): VnnlibProperty {
  const warnings = new WarningSink();
  const lexer = new Lexer(text, warnings, options.file);
  lexer.skipTrivia();
  VERSION_COMMAND.lastIndex = lexer.pos;
  const reader = VERSION_COMMAND.test(text) ? new Version2Reader(lexer, warnings, options) : new Version1Reader(lexer, warnings, options);
  return reader.read();
}

abstract class Reader {
  protected readonly builder: PropertyBuilder;
  protected readonly fail: (pos: SourcePosition, reason: string) => VnnlibError;

  constructor(
    protected readonly lexer: Lexer,
    protected readonly warnings: WarningSink,
    protected readonly options: ParseOptions,
  ) {
    this.fail = (pos, reason) => lexer.error(pos, reason);
    this.builder = new PropertyBuilder(warnings, this.fail, (key) => this.nameOf(key));
  }

  /** How diagnostics name a variable key. */
  protected nameOf(key: number): string {
    return varName(key);
  }

  abstract read(): VnnlibProperty;
  protected abstract resolve: Resolver;

  protected assert(list: SList): void {
    if (list.items.length !== 2) throw this.fail(list, `assert takes exactly one formula, found ${list.items.length - 1}; wrap several in (and ...)`);
    this.builder.addAssert(this.formula(list.items[1]), list.items[1]);
  }

  /** A boolean formula, directly in disjunctive normal form. */
  protected formula(node: SNode): Dnf {
    if (node.kind === 'symbol' && (node.text === 'true' || node.text === 'false')) return node.text === 'true' ? [[]] : [];
    if (node.kind !== 'list' || node.items.length === 0 || node.items[0].kind !== 'symbol') {
      throw this.fail(node, `expected a comparison, (and ...) or (or ...), found ${describe(node)}`);
    }
    const head = node.items[0].text;
    const args = node.items.slice(1);
    if (head === 'and' || head === 'or') {
      if (args.length === 0) throw this.fail(node, `(${head}) needs at least one operand`);
      const parts = args.map((a) => this.formula(a));
      if (head === 'or') return parts.flat();
      return this.conjoin(parts, node);
    }
    if (head === '<=' || head === '>=' || head === '<' || head === '>' || head === '=' || head === '==') {
      if (args.length < 2) throw this.fail(node, `(${head} ...) needs two operands`);
      if (head === '<' || head === '>') {
        this.warnings.warn('strict-comparison', node, `strict '${head}' is treated as non-strict '${head}=' for verification`);
      }
      if (args.length === 2 && isLeaf(args[0]) && isLeaf(args[1]) && head !== '=' && head !== '==') {
        // The common `(<= X_3 0.5)` / `(>= Y_1 Y_7)` shape without intermediate maps.
        const [l, r] = head === '<=' || head === '<' ? args : [args[1], args[0]];
        return [[{ lin: this.finite(this.leafDifference(l as SAtom, r as SAtom), node), line: node.line, column: node.column }]];
      }
      const terms = args.map((a) => this.finite(this.linear(a), a));
      const conjunct: Atom[] = [];
      for (let k = 0; k + 1 < terms.length; k++) {
        const [l, r] = [terms[k], terms[k + 1]];
        if (head === '<=' || head === '<' || head === '=' || head === '==') conjunct.push({ lin: this.finite(subtract(l, r), node), line: node.line, column: node.column });
        if (head === '>=' || head === '>' || head === '=' || head === '==') conjunct.push({ lin: this.finite(subtract(r, l), node), line: node.line, column: node.column });
      }
      return [conjunct];
    }
    if (UNSUPPORTED_BOOL.has(head)) {
      throw this.fail(node, `'${head}' is not supported; write the property with and, or, <= and >= only`);
    }
    throw this.fail(node, `unknown operator '${head}' where a formula was expected; use and, or, <=, >=`);
  }

  /** The term itself, or an error when arithmetic on finite numbers overflowed to ±Infinity (or NaN). */
  private finite(lin: Linear, pos: SourcePosition): Linear {
    let ok = Number.isFinite(lin.c);
    for (const v of lin.terms.values()) ok &&= Number.isFinite(v);
    if (!ok) throw this.fail(pos, 'this term evaluates to a number too large for a float64 (the arithmetic overflows); write smaller constants');
    return lin;
  }

  /** `l − r` for two variables or numbers. */
  private leafDifference(l: SAtom, r: SAtom): Linear {
    const terms = new Map<number, number>();
    let c = 0;
    if (l.kind === 'number') c += l.value;
    else terms.set(this.resolve(l), 1);
    if (r.kind === 'number') c -= r.value;
    else {
      const key = this.resolve(r);
      terms.set(key, (terms.get(key) ?? 0) - 1);
    }
    return { terms, c };
  }

  private conjoin(parts: Dnf[], pos: SourcePosition): Dnf {
    let acc: Dnf = [[]];
    for (const part of parts) {
      if (part.length === 1) {
        for (const c of acc) c.push(...part[0]);
        continue;
      }
      checkDisjunctCount(acc.length * part.length, pos, this.warnings, this.fail);
      const next: Dnf = [];
      for (const a of acc) for (const c of part) next.push(a.concat(c));
      acc = next;
    }
    return acc;
  }

  /** A linear term over X and Y. */
  protected linear(node: SNode): Linear {
    if (node.kind === 'number') return { terms: new Map(), c: node.value };
    if (node.kind === 'symbol') return { terms: new Map([[this.resolve(node), 1]]), c: 0 };
    if (node.kind !== 'list' || node.items.length < 2 || node.items[0].kind !== 'symbol') {
      throw this.fail(node, `expected a number, a variable or an arithmetic term, found ${describe(node)}`);
    }
    const op = node.items[0].text;
    const args = node.items.slice(1).map((a) => this.linear(a));
    switch (op) {
      case '+':
        this.warnArithmetic(node);
        return args.reduce((acc, t) => add(acc, t, 1));
      case '-':
        if (args.length === 1) return scale(args[0], -1);
        this.warnArithmetic(node);
        return args.slice(1).reduce((acc, t) => add(acc, t, -1), args[0]);
      case '*': {
        this.warnArithmetic(node);
        let product: Linear = { terms: new Map(), c: 1 };
        for (const t of args) {
          if (t.terms.size === 0) product = scale(product, t.c);
          else if (product.terms.size === 0) product = scale(t, product.c);
          else {
            const [a] = product.terms.keys();
            const [b] = t.terms.keys();
            throw this.fail(node, `the product of ${this.nameOf(a)} and ${this.nameOf(b)} is non-linear; only constant multiples of variables are supported`);
          }
        }
        return product;
      }
      case '/': {
        this.warnArithmetic(node);
        const divisors = args.slice(1);
        if (divisors.some((d) => d.terms.size > 0 || d.c === 0)) throw this.fail(node, 'division is supported only by a non-zero constant');
        return divisors.reduce((acc, d) => scale(acc, 1 / d.c), args[0]);
      }
      default:
        throw this.fail(node, `unknown arithmetic operator '${op}'; use +, -, * or /`);
    }
  }

  private warnArithmetic(pos: SourcePosition): void {
    this.warnings.warn('arithmetic', pos, 'linear arithmetic (+, -, *, /) is rare in VNN-COMP files and some tools do not read it');
  }

  protected finish(decl: Declarations, extra: Partial<VnnlibProperty> = {}): VnnlibProperty {
    const specs = this.builder.finish(decl);
    return {
      version: '1.0',
      file: this.options.file,
      nInputs: decl.nInputs,
      nOutputs: decl.nOutputs,
      specs,
      warnings: this.warnings.list(),
      ...extra,
    };
  }

  /** Checks declared sizes against the paired model's; returns the output count to use. */
  protected checkModelSizes(nX: number, nY: number, xAt: (i: number) => SourcePosition, yAt: (j: number) => SourcePosition): number {
    const { nInputs, nOutputs } = this.options;
    if (nInputs !== undefined) {
      if (nX > nInputs) throw this.fail(xAt(nInputs), `input index ${nInputs} is out of range: the model has ${nInputs} inputs (X_0 ... X_${nInputs - 1})`);
      if (nX < nInputs) throw this.fail(nX > 0 ? xAt(nX - 1) : { line: 1, column: 1 }, `the property declares ${nX} inputs but the model has ${nInputs}; declare and bound every input element`);
    }
    if (nOutputs !== undefined) {
      if (nY > nOutputs) throw this.fail(yAt(nOutputs), `output index ${nOutputs} is out of range: the model has ${nOutputs} outputs (Y_0 ... Y_${nOutputs - 1})`);
      if (nY < nOutputs) {
        this.warnings.warn('fewer-outputs', nY > 0 ? yAt(nY - 1) : { line: 1, column: 1 }, `the property declares ${nY} outputs but the model has ${nOutputs}; the others are unconstrained`);
        return nOutputs;
      }
    }
    return nY;
  }
}

/** VNN-LIB 1.0: `declare-const X_i Real`, `assert`, with the regex fast path for simple bounds. */
class Version1Reader extends Reader {
  private readonly declared: { X: SourcePosition[]; Y: SourcePosition[] } = { X: [], Y: [] };

  protected resolve: Resolver = (atom) => {
    const m = V1_NAME.exec(atom.text);
    if (atom.index) throw this.fail(atom, `element access ${atom.text}[...] is VNN-LIB 2.0 syntax; start the file with (vnnlib-version <2.0>) or use ${atom.text}_i`);
    if (!m) throw this.fail(atom, `unknown variable '${atom.text}'; VNN-LIB 1.0 properties use X_i for inputs and Y_j for outputs`);
    const kind = m[1] as 'X' | 'Y';
    const index = Number(m[2]);
    if (!this.declared[kind][index]) throw this.fail(atom, `${atom.text} is not declared; add (declare-const ${atom.text} Real) before its first use`);
    return kind === 'X' ? index : yKey(index);
  };

  read(): VnnlibProperty {
    const { lexer } = this;
    const src = lexer.src;
    for (;;) {
      lexer.skipTrivia();
      const start = lexer.pos;
      if (start >= src.length) break;
      if (src.charCodeAt(start) === 40 /* ( */ && this.fastPath(start)) continue;
      const node = readNode(lexer);
      if (node.kind !== 'list') throw this.fail(node, `expected a command such as (declare-const ...) or (assert ...), found ${describe(node)}`);
      this.command(node);
    }
    return this.lower();
  }

  private fastPath(start: number): boolean {
    const { lexer } = this;
    const src = lexer.src;
    FAST_BOUND.lastIndex = start;
    let m = FAST_BOUND.exec(src);
    if (m) {
      const kind = m[2] as 'X' | 'Y';
      const index = Number(m[3]);
      const inner = m[0].indexOf('(', 1);
      const pos = lexer.positionAt(start + inner);
      if (!this.declared[kind][index]) {
        throw this.fail(lexer.positionAt(start + m[0].indexOf(`${kind}_`, inner)), `${kind}_${index} is not declared; add (declare-const ${kind}_${index} Real) before its first use`);
      }
      const text = m[4];
      if (text.includes('e') || text.includes('E')) {
        this.warnings.warn('exponent-notation', pos, `number ${text} uses exponent notation, which strict SMT-LIB does not allow; it was accepted`);
      }
      const value = Number(text);
      if (!Number.isFinite(value)) throw this.fail(lexer.positionAt(start + m[0].lastIndexOf(text)), `number ${text.length > 40 ? `${text.slice(0, 40)}...` : text} is too large for a float64; write a finite bound`);
      const upper = m[1] === '<=';
      if (kind === 'X') this.builder.addBound(index, upper, value, pos);
      else this.builder.addOutputBound(index, upper ? 1 : -1, upper ? value : -value, pos);
      lexer.consumeTo(start + m[0].length);
      return true;
    }
    FAST_DECLARE.lastIndex = start;
    m = FAST_DECLARE.exec(src);
    if (m) {
      const nameAt = m[0].indexOf(`${m[1]}_`);
      this.declare(m[1] as 'X' | 'Y', Number(m[2]), lexer.positionAt(start + nameAt));
      lexer.consumeTo(start + m[0].length);
      return true;
    }
    return false;
  }

  private declare(kind: 'X' | 'Y', index: number, pos: SourcePosition): void {
    // Before the index is used to size anything: X_999999999 must not make a billion-element box.
    const size = kind === 'X' ? this.options.nInputs : this.options.nOutputs;
    const what = kind === 'X' ? 'input' : 'output';
    if (size !== undefined && index >= size) {
      throw this.fail(pos, `${what} index ${index} is out of range: the model has ${size} ${what}s (${kind}_0 ... ${kind}_${size - 1})`);
    }
    const limit = currentLimits().tensorElements;
    if (!(index < limit)) {
      throw this.fail(pos, `${kind}_${index} is beyond the ${formatCount(limit)}-element tensor limit; check the index, or ${raiseHint('tensorElements')}`);
    }
    const seen = this.declared[kind][index];
    if (seen) throw this.fail(pos, `${kind}_${index} is declared twice (first at line ${seen.line}); remove one declaration`);
    this.declared[kind][index] = pos;
  }

  private command(list: SList): void {
    const head = list.items[0];
    if (!head || head.kind !== 'symbol') throw this.fail(list, `expected a command name after '(', found ${head ? describe(head) : ')'}`);
    switch (head.text) {
      case 'declare-const':
      case 'declare-fun': {
        const legacy = head.text === 'declare-fun';
        const expected = legacy ? 4 : 3;
        const name = list.items[1];
        const sort = list.items[expected - 1];
        if (list.items.length !== expected || name.kind !== 'symbol' || sort.kind !== 'symbol' || (legacy && (list.items[2].kind !== 'list' || list.items[2].items.length > 0))) {
          throw this.fail(list, legacy ? 'expected (declare-fun NAME () Real)' : 'expected (declare-const NAME Real)');
        }
        if (sort.text !== 'Real') {
          if (sort.text === 'Int') this.warnings.warn('int-sort', sort, `${name.text} is declared Int; it is treated as Real`);
          else throw this.fail(sort, `sort '${sort.text}' is not supported; declare ${name.text} as Real`);
        }
        const m = V1_NAME.exec(name.text);
        if (!m) throw this.fail(name, `variable '${name.text}' is neither an input X_i nor an output Y_j; VNN-LIB 1.0 properties name variables X_i and Y_j`);
        this.declare(m[1] as 'X' | 'Y', Number(m[2]), name);
        return;
      }
      case 'assert':
        this.assert(list);
        return;
      case 'vnnlib-version':
        throw this.fail(list, '(vnnlib-version ...) must be the first command of the file');
      default:
        if (IGNORED_COMMANDS.has(head.text)) {
          this.warnings.warn('ignored-command', list, `(${head.text} ...) is not part of VNN-LIB and was ignored`);
          return;
        }
        throw this.fail(head, `unknown command '${head.text}'; VNN-LIB 1.0 has declare-const and assert`);
    }
  }

  private lower(): VnnlibProperty {
    const xs = this.declared.X;
    const ys = this.declared.Y;
    if (xs.length === 0) throw this.fail({ line: 1, column: 1 }, 'the property declares no inputs; declare them with (declare-const X_0 Real) ... and bound each one');
    for (let i = 0; i < xs.length; i++) {
      if (!xs[i]) {
        const next = nextDeclared(xs, i);
        throw this.fail(xs[next], `X_${i} is not declared although X_${next} is; declare the inputs X_0 ... X_${xs.length - 1} without gaps`);
      }
    }
    for (let j = 0; j < ys.length; j++) {
      if (!ys[j]) {
        const next = nextDeclared(ys, j);
        this.warnings.warn('output-gap', ys[next], `Y_${j} is not declared although Y_${next} is; it is treated as an unconstrained output`);
        break;
      }
    }
    const nY = this.checkModelSizes(xs.length, ys.length, (i) => xs[i], (j) => ys[j]);
    return this.finish({ nInputs: xs.length, nOutputs: nY, inputPosition: (i) => xs[i], inputName: (i) => `X_${i}` });
  }
}

interface TensorDecl extends SourcePosition {
  name: string;
  shape: number[];
  size: number;
  kind: 'X' | 'Y';
}

/**
 * VNN-LIB 2.0, the subset graftcert verifies: one network with one input and one output tensor,
 * asserts of and/or over comparisons of linear terms in their elements.
 */
class Version2Reader extends Reader {
  private input: TensorDecl | undefined;
  private output: TensorDecl | undefined;
  private networkName = '';

  protected resolve: Resolver = (atom) => {
    const decl = atom.text === this.input?.name ? this.input : atom.text === this.output?.name ? this.output : undefined;
    if (!decl) throw this.fail(atom, `unknown variable '${atom.text}'; declare it with declare-input or declare-output in the declare-network block`);
    let flat = 0;
    if (atom.index) {
      if (atom.index.length !== decl.shape.length) {
        throw this.fail(atom, `${decl.name} has shape [${decl.shape}], so it takes ${decl.shape.length} indices, not ${atom.index.length}`);
      }
      for (let k = 0; k < atom.index.length; k++) {
        if (atom.index[k] >= decl.shape[k]) throw this.fail(atom, `index ${decl.name}[${atom.index}] is out of range for shape [${decl.shape}]`);
        flat = flat * decl.shape[k] + atom.index[k];
      }
    } else if (decl.size !== 1) {
      throw this.fail(atom, `${decl.name} is a tensor of shape [${decl.shape}]; write one element such as ${decl.name}[${decl.shape.map(() => 0)}]`);
    }
    return decl.kind === 'X' ? flat : yKey(flat);
  };

  protected override nameOf(key: number): string {
    const decl = key >= 0 ? this.input : this.output;
    const flat = key >= 0 ? key : -1 - key;
    return decl ? `${decl.name}[${unflatten(flat, decl.shape)}]` : varName(key);
  }

  read(): VnnlibProperty {
    const { lexer } = this;
    let first = true;
    while (!lexer.atEnd()) {
      const node = readNode(lexer);
      if (node.kind !== 'list' || node.items[0]?.kind !== 'symbol') throw this.fail(node, `expected a command such as (declare-network ...) or (assert ...), found ${describe(node)}`);
      const head = node.items[0].text;
      if (first) {
        const version = node.items[1];
        if (version?.kind !== 'version' || !/^<2\.\d+>$/.test(version.text)) {
          throw this.fail(node, `unsupported VNN-LIB version ${version ? describe(version) : '(none)'}; graftcert reads 1.0 files and the 2.x single-network subset`);
        }
        first = false;
        continue;
      }
      if (head === 'declare-network') this.network(node);
      else if (head === 'assert') {
        if (!this.input || !this.output) throw this.fail(node, 'assert before the network is declared; put (declare-network ...) first');
        this.assert(node);
      } else if (head === 'vnnlib-version') throw this.fail(node, '(vnnlib-version ...) may appear only once, as the first command');
      else throw this.fail(node.items[0], `unknown command '${head}'; VNN-LIB 2.0 has declare-network and assert`);
    }
    if (!this.input || !this.output) throw this.fail({ line: 1, column: 1 }, 'the file declares no network; add (declare-network NAME (declare-input X Real [n]) (declare-output Y Real [m]))');
    const input = this.input;
    const output = this.output;
    const nY = this.checkModelSizes(input.size, output.size, () => input, () => output);
    const property = this.finish(
      { nInputs: input.size, nOutputs: nY, inputPosition: () => input, inputName: (i) => `${input.name}[${unflatten(i, input.shape)}]` },
      { network: { name: this.networkName, input: input.name, inputShape: input.shape, output: output.name, outputShape: output.shape } },
    );
    property.version = '2.0';
    return property;
  }

  private network(list: SList): void {
    if (this.input) throw this.fail(list, 'this file declares more than one network; graftcert verifies single-network properties only');
    const name = list.items[1];
    if (name?.kind !== 'symbol') throw this.fail(list, 'expected (declare-network NAME ...)');
    this.networkName = name.text;
    for (const item of list.items.slice(2)) {
      if (item.kind !== 'list' || item.items[0]?.kind !== 'symbol') throw this.fail(item, `expected a declaration inside declare-network, found ${describe(item)}`);
      const head = item.items[0].text;
      if (head === 'declare-input' || head === 'declare-output') {
        const kind = head === 'declare-input' ? 'X' : 'Y';
        const decl = this.tensor(item, kind);
        const existing = kind === 'X' ? this.input : this.output;
        if (existing) throw this.fail(item, `a second ${kind === 'X' ? 'input' : 'output'} (${decl.name}) is declared; graftcert supports one input and one output tensor`);
        if ((kind === 'X' ? this.output : this.input)?.name === decl.name) throw this.fail(item, `${decl.name} is declared both as input and output; rename one`);
        if (kind === 'X') this.input = decl;
        else this.output = decl;
      } else if (head === 'declare-hidden') {
        throw this.fail(item, 'constraints on hidden nodes (declare-hidden) are not supported yet; constrain only the input and output');
      } else if (head === 'isomorphic-to' || head === 'equal-to') {
        throw this.fail(item, `(${head} ...) relates several networks; graftcert verifies single-network properties only`);
      } else {
        throw this.fail(item, `unknown declaration '${head}' in declare-network`);
      }
    }
    if (!this.input || !this.output) throw this.fail(list, `network ${name.text} needs one declare-input and one declare-output`);
  }

  private tensor(list: SList, kind: 'X' | 'Y'): TensorDecl {
    const [, name, type, ...rest] = list.items;
    if (name?.kind !== 'symbol' || type?.kind !== 'symbol') throw this.fail(list, `expected (${describe(list.items[0])} NAME Type [d1,...])`);
    let shape: number[];
    let tail = rest;
    if (type.index) shape = type.index;
    else {
      const bracket = rest[0];
      if (bracket?.kind !== 'bracket') throw this.fail(list, `expected a shape such as [1,784] after ${name.text} ${type.text}`);
      shape = bracket.items.map((d) => {
        if (d.kind !== 'number' || !Number.isInteger(d.value) || d.value <= 0) throw this.fail(d, `dimension '${d.text}' must be a positive integer`);
        return d.value;
      });
      tail = rest.slice(1);
    }
    for (const extra of tail) {
      if (extra.kind === 'symbol' && extra.text === 'initialized') {
        this.warnings.warn('initialized', extra, `'initialized' on ${name.text} is ignored`);
      } else {
        throw this.fail(extra, `unexpected ${describe(extra)} in the declaration of ${name.text}`);
      }
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const limit = currentLimits().tensorElements;
    if (!(size <= limit)) {
      throw this.fail(list, `${name.text} has shape [${shape}], ${formatCount(size)} elements, over the ${formatCount(limit)}-element tensor limit; check the shape, or ${raiseHint('tensorElements')}`);
    }
    return { kind, name: name.text, shape, size, line: name.line, column: name.column };
  }
}

/** The smallest declared index above `i` (the arrays are sparse after a gap: only their entries are visited). */
function nextDeclared(declared: SourcePosition[], i: number): number {
  let next = Infinity;
  for (const key in declared) {
    const k = Number(key);
    if (k > i && k < next) next = k;
  }
  return next;
}

function isLeaf(node: SNode): boolean {
  return node.kind === 'number' || node.kind === 'symbol';
}

function unflatten(i: number, shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = i % shape[k];
    i = Math.floor(i / shape[k]);
  }
  return out;
}

function add(a: Linear, b: Linear, sign: number): Linear {
  const terms = new Map(a.terms);
  for (const [k, v] of b.terms) terms.set(k, (terms.get(k) ?? 0) + sign * v);
  return { terms, c: a.c + sign * b.c };
}

function scale(a: Linear, s: number): Linear {
  const terms = new Map<number, number>();
  for (const [k, v] of a.terms) terms.set(k, v * s);
  return { terms, c: a.c * s };
}

function subtract(a: Linear, b: Linear): Linear {
  return add(a, b, -1);
}
