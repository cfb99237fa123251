// Diagnostics of the VNN-LIB reader: one error type with a source position, and warnings.
import { basename } from 'node:path';

/** A 1-based position in the property text. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Something the reader accepted but a user should know about (strict `<`, exponent notation, ...). */
export interface VnnlibWarning extends SourcePosition {
  /** Stable identifier of the kind of warning, for tests and quick fixes. */
  code: string;
  message: string;
  /** How many places in the file raised this warning (only the first is positioned). */
  count: number;
}

/**
 * The property cannot be read or lowered. `reason` is one sentence naming the thing that is wrong
 * and a way out; `message` adds the file and the position in front of it.
 */
export class VnnlibError extends Error {
  override readonly name = 'VnnlibError';
  readonly reason: string;
  constructor(
    readonly line: number,
    readonly column: number,
    reason: string,
    readonly file?: string,
  ) {
    // A corrupt file's characters may be quoted in the reason: keep the sentence on one printable line.
    reason = reason.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    super(`${file ? `${basename(file)}:${line}:${column}` : `line ${line}, column ${column}`}: ${reason}`);
    this.reason = reason;
  }
}

/** Collects warnings, one entry per code so a 100 MB file with 1e5 strict `<` gives one warning. */
export class WarningSink {
  private readonly byCode = new Map<string, VnnlibWarning>();

  warn(code: string, pos: SourcePosition, message: string): void {
    const seen = this.byCode.get(code);
    if (seen) seen.count += 1;
    else this.byCode.set(code, { code, line: pos.line, column: pos.column, message, count: 1 });
  }

  list(): VnnlibWarning[] {
    return [...this.byCode.values()];
  }
}
