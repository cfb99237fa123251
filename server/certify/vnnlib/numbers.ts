// Prints float64 values so they read back bit for bit, as plain decimals (strict SMT-LIB has no exponents).

/** Shortest round-trip decimal of `v`, without exponent, always with a '.' (e.g. `0.0`, `1.5e-7` → `0.00000015`). */
export function formatReal(v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`cannot write ${v} as a VNN-LIB number`);
  if (Object.is(v, -0)) v = 0;
  let s = String(v);
  const e = s.indexOf('e');
  if (e >= 0) {
    const negative = s[0] === '-';
    const mantissa = s.slice(negative ? 1 : 0, e);
    const exponent = Number(s.slice(e + 1));
    const dot = mantissa.indexOf('.');
    const digits = mantissa.replace('.', '');
    const point = (dot < 0 ? mantissa.length : dot) + exponent;
    let body: string;
    if (point <= 0) body = '0.' + '0'.repeat(-point) + digits;
    else if (point >= digits.length) body = digits + '0'.repeat(point - digits.length);
    else body = digits.slice(0, point) + '.' + digits.slice(point);
    s = (negative ? '-' : '') + body;
  }
  return s.includes('.') ? s : s + '.0';
}
