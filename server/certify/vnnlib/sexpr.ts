// Reads one parenthesised S-expression from the lexer, reporting unbalanced parentheses where they start.
import { SourcePosition } from './errors';
import { Lexer, Token } from './lexer';

export interface SAtom extends SourcePosition {
  kind: 'symbol' | 'number' | 'string' | 'version';
  text: string;
  value: number;
  /** VNN-LIB 2.0 element access `X[0,3]`: the indices written right after the name. */
  index?: number[];
}

export interface SList extends SourcePosition {
  kind: 'list';
  items: SNode[];
}

/** A `[d1, d2, ...]` list (a 2.0 tensor shape). */
export interface SBracket extends SourcePosition {
  kind: 'bracket';
  items: SAtom[];
}

export type SNode = SAtom | SList | SBracket;

/**
 * Deepest parenthesis nesting read. VNN-COMP files nest four levels (assert, or, and, comparison); the limit keeps
 * the recursive reader and the formula walk far from the call-stack limit on a hostile file of 100 000 '('.
 */
export const MAX_NESTING = 256;

export function describe(node: SNode): string {
  if (node.kind === 'list') return node.items.length === 0 ? '()' : `(${node.items[0].kind === 'list' ? '(...)' : describe(node.items[0])} ...)`;
  if (node.kind === 'bracket') return '[...]';
  return node.kind === 'string' ? `"${node.text}"` : node.text;
}

/** Reads the S-expression that starts at the lexer's next token. */
export function readNode(lexer: Lexer): SNode {
  const token = lexer.next();
  switch (token.kind) {
    case '(':
      return readList(lexer, token, 1);
    case '[':
      return readBracket(lexer, token);
    case ')':
      throw lexer.error(token, "unbalanced parentheses: this ')' has no matching '('; remove it");
    case ']':
    case ',':
      throw lexer.error(token, `unexpected '${token.kind}' outside a [...] shape or index`);
    case 'eof':
      throw lexer.error(token, 'unexpected end of file');
    default:
      return atom(token);
  }
}

function atom(token: Token): SAtom {
  return { kind: token.kind as SAtom['kind'], text: token.text, value: token.value, line: token.line, column: token.column };
}

function readList(lexer: Lexer, open: Token, depth: number): SList {
  if (depth > MAX_NESTING) {
    throw lexer.error(open, `parentheses are nested more than ${MAX_NESTING} deep here; a property nests a few levels (assert, or, and, a comparison), so check the parentheses`);
  }
  const items: SNode[] = [];
  let previous: { atom: SAtom; end: number } | undefined;
  for (;;) {
    const token = lexer.next();
    switch (token.kind) {
      case ')':
        return { kind: 'list', items, line: open.line, column: open.column };
      case 'eof':
        throw lexer.error(open, "unbalanced parentheses: this '(' is never closed; add the missing ')'");
      case '(':
        items.push(readList(lexer, token, depth + 1));
        previous = undefined;
        break;
      case '[': {
        const bracket = readBracket(lexer, token);
        // `X[0,3]` (no space) is an element access; `Real [28,28]` is a shape.
        if (previous && previous.end === token.start && previous.atom.kind === 'symbol') {
          previous.atom.index = bracket.items.map((a) => indexValue(lexer, a));
        } else {
          items.push(bracket);
        }
        previous = undefined;
        break;
      }
      case ']':
      case ',':
        throw lexer.error(token, `unexpected '${token.kind}' outside a [...] shape or index`);
      default: {
        const a = atom(token);
        items.push(a);
        previous = { atom: a, end: token.end };
      }
    }
  }
}

function readBracket(lexer: Lexer, open: Token): SBracket {
  const items: SAtom[] = [];
  let expectValue = true;
  for (;;) {
    const token = lexer.next();
    if (token.kind === ']') return { kind: 'bracket', items, line: open.line, column: open.column };
    if (token.kind === 'eof') throw lexer.error(open, "unbalanced brackets: this '[' is never closed; add the missing ']'");
    if (token.kind === ',') {
      if (expectValue) throw lexer.error(token, "unexpected ',' in [...]; write [d1,d2,...]");
      expectValue = true;
      continue;
    }
    if ((token.kind !== 'number' && token.kind !== 'symbol') || !expectValue) {
      throw lexer.error(token, `unexpected '${token.text || token.kind}' in [...]; write [d1,d2,...] with numbers`);
    }
    items.push(atom(token));
    expectValue = false;
  }
}

function indexValue(lexer: Lexer, a: SAtom): number {
  if (a.kind !== 'number' || !Number.isInteger(a.value) || a.value < 0) {
    throw lexer.error(a, `index '${a.text}' is not a non-negative integer`);
  }
  return a.value;
}
