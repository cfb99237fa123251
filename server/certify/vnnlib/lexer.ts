// Turns VNN-LIB text into tokens with line and column, skipping whitespace and `;` comments.
import { SourcePosition, VnnlibError, WarningSink } from './errors';

export type TokenKind = '(' | ')' | '[' | ']' | ',' | 'symbol' | 'number' | 'string' | 'version' | 'eof';

export interface Token extends SourcePosition {
  kind: TokenKind;
  /** The token's text as written (for strings: without the quotes, escapes resolved). */
  text: string;
  /** Numeric value of a `number` token. */
  value: number;
  /** Offsets of the token in the text, end exclusive. */
  start: number;
  end: number;
}

const NUMBER = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/y;
const HEX_OR_BINARY = /#x[0-9A-Fa-f]+|#b[01]+/y;
const SYMBOL = /[A-Za-z~!@$%^&*_+=<>.?/-][A-Za-z0-9~!@$%^&*_+=<>.?/-]*/y;
const QUOTED_SYMBOL = /\|[^|]*\|/y;
const VERSION = /<\d+\.\d+>/y;
const SYMBOL_CHAR = /[A-Za-z0-9~!@$%^&*_+=<>.?/-]/;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * A lazy lexer: callers may also match whole statements with a sticky regex at `pos` and then
 * `consumeTo` past them (the fast path for 100 MB files of `(assert (<= X_i c))` lines).
 */
export class Lexer {
  pos = 0;
  line = 1;
  private lineStart = 0;

  constructor(
    readonly src: string,
    readonly warnings: WarningSink,
    readonly file?: string,
  ) {}

  get column(): number {
    return this.pos - this.lineStart + 1;
  }

  position(): SourcePosition {
    return { line: this.line, column: this.column };
  }

  /** Position of an offset at or after the current one (cheap for nearby offsets). */
  positionAt(offset: number): SourcePosition {
    let line = this.line;
    let lineStart = this.lineStart;
    for (let i = this.pos; i < offset; i++) {
      if (this.src.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    return { line, column: offset - lineStart + 1 };
  }

  error(pos: SourcePosition, reason: string): VnnlibError {
    return new VnnlibError(pos.line, pos.column, reason, this.file);
  }

  /** Moves to `offset`, keeping line and column right. */
  consumeTo(offset: number): void {
    const src = this.src;
    for (let i = this.pos; i < offset; i++) {
      if (src.charCodeAt(i) === 10) {
        this.line++;
        this.lineStart = i + 1;
      }
    }
    this.pos = offset;
  }

  /** Skips whitespace and comments (comments are dropped before any parenthesis is counted). */
  skipTrivia(): void {
    const src = this.src;
    const n = src.length;
    let i = this.pos;
    while (i < n) {
      const c = src.charCodeAt(i);
      if (c === 10) {
        this.line++;
        this.lineStart = i + 1;
        i++;
      } else if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11 || c === 0xfeff) {
        i++;
      } else if (c === 59 /* ; */) {
        const nl = src.indexOf('\n', i);
        i = nl < 0 ? n : nl;
      } else {
        break;
      }
    }
    this.pos = i;
  }

  atEnd(): boolean {
    this.skipTrivia();
    return this.pos >= this.src.length;
  }

  next(): Token {
    this.skipTrivia();
    const src = this.src;
    const start = this.pos;
    if (start >= src.length) return this.token('eof', start, start, '');
    const ch = src[start];
    if (ch === '(' || ch === ')' || ch === '[' || ch === ']' || ch === ',') return this.token(ch, start, start + 1, ch);
    if (ch === '"') return this.string(start);
    if (ch === '<') {
      VERSION.lastIndex = start;
      const m = VERSION.exec(src);
      if (m) return this.token('version', start, start + m[0].length, m[0]);
    }
    const c = src.charCodeAt(start);
    const next = src.charCodeAt(start + 1);
    if (isDigit(c) || c === 46 || ((c === 45 || c === 43) && (isDigit(next) || (next === 46 && isDigit(src.charCodeAt(start + 2)))))) {
      NUMBER.lastIndex = start;
      const m = NUMBER.exec(src);
      if (m) {
        const end = start + m[0].length;
        if (end < src.length && SYMBOL_CHAR.test(src[end])) {
          throw this.error(this.position(), `malformed number '${this.word(start)}'; write numbers like -0.5 or 1.5e-05`);
        }
        if (m[0].includes('e') || m[0].includes('E')) {
          this.warnings.warn('exponent-notation', this.position(), `number ${m[0]} uses exponent notation, which strict SMT-LIB does not allow; it was accepted`);
        }
        const value = Number(m[0]);
        if (!Number.isFinite(value)) {
          throw this.error(this.position(), `number ${m[0].length > 40 ? `${m[0].slice(0, 40)}...` : m[0]} is too large for a float64; write a finite bound`);
        }
        return this.token('number', start, end, m[0], value);
      }
    }
    if (ch === '#') {
      HEX_OR_BINARY.lastIndex = start;
      const m = HEX_OR_BINARY.exec(src);
      if (m) {
        const value = parseInt(m[0].slice(2), m[0][1] === 'x' ? 16 : 2);
        if (!Number.isSafeInteger(value)) {
          throw this.error(this.position(), `literal ${m[0].length > 40 ? `${m[0].slice(0, 40)}...` : m[0]} is too large to be read exactly; write a decimal number`);
        }
        this.warnings.warn('bitvector-literal', this.position(), `literal ${m[0]} was read as an integer`);
        return this.token('number', start, start + m[0].length, m[0], value);
      }
    }
    if (ch === '|') {
      QUOTED_SYMBOL.lastIndex = start;
      const m = QUOTED_SYMBOL.exec(src);
      if (m) return this.token('symbol', start, start + m[0].length, m[0].slice(1, -1));
    }
    SYMBOL.lastIndex = start;
    const m = SYMBOL.exec(src);
    if (m) return this.token('symbol', start, start + m[0].length, m[0]);
    throw this.error(this.position(), `unexpected character '${ch}'; VNN-LIB has only parentheses, names, numbers and ; comments`);
  }

  /** A token on the current line (only strings span lines, and they use consumeTo). */
  private token(kind: TokenKind, start: number, end: number, text: string, value = NaN): Token {
    const column = start - this.lineStart + 1;
    this.pos = end;
    return { kind, text, value, line: this.line, column, start, end };
  }

  private word(start: number): string {
    let end = start;
    while (end < this.src.length && end - start < 40 && !/[\s()]/.test(this.src[end])) end++;
    return this.src.slice(start, end);
  }

  /** A string literal: SMT-LIB doubles quotes (`""`), VNN-LIB 2.0 node names may use backslash escapes. */
  private string(start: number): Token {
    const { line, column } = this.position();
    const src = this.src;
    let i = start + 1;
    let text = '';
    for (;;) {
      if (i >= src.length) throw this.error({ line, column }, 'string is never closed; add the closing "');
      const ch = src[i];
      if (ch === '"') {
        if (src[i + 1] === '"') {
          text += '"';
          i += 2;
          continue;
        }
        break;
      }
      if (ch === '\\' && i + 1 < src.length) {
        const e = src[i + 1];
        text += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        i += 2;
        continue;
      }
      text += ch;
      i++;
    }
    this.consumeTo(i + 1);
    return { kind: 'string', text, value: NaN, line, column, start, end: i + 1 };
  }
}
