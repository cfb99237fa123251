// Reads NumPy .npy files (format versions 1, 2 and 3): numeric dtypes of either byte order, C or Fortran order.
import { readFileSync } from 'node:fs';
import { dataError } from './errors';
import { sampleWindow, sizeOfShape, type LoadOptions } from './dataset';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

export function looksLikeNpy(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && MAGIC.every((b, i) => head[i] === b);
}

export type NpyKind = 'f' | 'i' | 'u' | 'b';

export interface NpyDtype {
  /** The header's `descr`, e.g. `<f4`. */
  readonly descr: string;
  readonly kind: NpyKind;
  readonly bytes: number;
  readonly littleEndian: boolean;
}

export interface NpyArray {
  readonly file: string;
  readonly dtype: NpyDtype;
  /** Shape as stored; shape[0] counts the samples of the whole file. */
  readonly shape: number[];
  /** First sample held in `values`. */
  readonly offset: number;
  /** Samples held in `values`. */
  readonly count: number;
  /** The window's elements in C order (Fortran-order files are transposed), as float64. */
  readonly values: Float64Array;
}

const SUPPORTED = '<f4 <f8 <f2 |u1 |i1 <i2 <u2 <i4 <u4 <i8 <u8 |b1 (or big-endian >…)';

function parseDtype(file: string, descr: string): NpyDtype {
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const widths: Record<NpyKind, number[]> = { f: [2, 4, 8], i: [1, 2, 4, 8], u: [1, 2, 4, 8], b: [1] };
  if (!m || !widths[m[2] as NpyKind].includes(Number(m[3]))) {
    throw dataError(file, `has dtype ${descr}, which is not a supported numeric type`, `save it as one of ${SUPPORTED}`);
  }
  // '|' (no order) is only meaningful for 1-byte types; '=' is native order, and every host Node runs on here is little-endian.
  return { descr, kind: m[2] as NpyKind, bytes: Number(m[3]), littleEndian: m[1] !== '>' };
}

interface NpyHeader {
  readonly dtype: NpyDtype;
  readonly fortranOrder: boolean;
  readonly shape: number[];
  readonly dataStart: number;
}

function parseHeader(file: string, bytes: Uint8Array): NpyHeader {
  if (!looksLikeNpy(bytes)) {
    throw dataError(file, 'is not a .npy file (no \\x93NUMPY magic)', 'save it with numpy.save');
  }
  if (bytes.length < 10) throw dataError(file, 'is truncated inside its header', 'save the array again');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw dataError(file, 'is truncated inside its header', 'save the array again');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw dataError(file, `has .npy format version ${major}.${bytes[7]}, only 1, 2 and 3 are known`, 'save it with a current numpy.save');
  }
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart) throw dataError(file, 'is truncated inside its header', 'save the array again');
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + headerStart, headerLength).toString(major === 3 ? 'utf8' : 'latin1');

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    const structured = /['"]descr['"]\s*:\s*\[/.test(text);
    throw dataError(
      file,
      structured ? 'holds a structured (record) array' : `has an unreadable .npy header ${JSON.stringify(text.trim())}`,
      'save a plain numeric array with numpy.save',
    );
  }
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s.replace(/L$/, '')));
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw dataError(file, `has an invalid shape (${shape[1]})`, 'save the array again');
  }
  return { dtype: parseDtype(file, descr[1]), fortranOrder: fortran[1] === 'True', shape: dims, dataStart };
}

function decode(dtype: NpyDtype, bytes: Uint8Array, start: number, length: number): Float64Array {
  const out = new Float64Array(length);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, length * dtype.bytes);
  const le = dtype.littleEndian;
  const w = dtype.bytes;
  switch (`${dtype.kind}${w}`) {
    case 'f2':
      for (let i = 0; i < length; i++) out[i] = halfToNumber(view.getUint16(i * w, le));
      break;
    case 'f4':
      for (let i = 0; i < length; i++) out[i] = view.getFloat32(i * w, le);
      break;
    case 'f8':
      for (let i = 0; i < length; i++) out[i] = view.getFloat64(i * w, le);
      break;
    case 'u1':
    case 'b1':
      for (let i = 0; i < length; i++) out[i] = view.getUint8(i);
      break;
    case 'i1':
      for (let i = 0; i < length; i++) out[i] = view.getInt8(i);
      break;
    case 'i2':
      for (let i = 0; i < length; i++) out[i] = view.getInt16(i * w, le);
      break;
    case 'u2':
      for (let i = 0; i < length; i++) out[i] = view.getUint16(i * w, le);
      break;
    case 'i4':
      for (let i = 0; i < length; i++) out[i] = view.getInt32(i * w, le);
      break;
    case 'u4':
      for (let i = 0; i < length; i++) out[i] = view.getUint32(i * w, le);
      break;
    case 'i8':
      for (let i = 0; i < length; i++) out[i] = Number(view.getBigInt64(i * w, le));
      break;
    case 'u8':
      for (let i = 0; i < length; i++) out[i] = Number(view.getBigUint64(i * w, le));
      break;
  }
  return out;
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Reorders a Fortran-order (column-major) array of `shape` to C order. */
function fortranToC(values: Float64Array, shape: readonly number[]): Float64Array {
  const out = new Float64Array(values.length);
  const rank = shape.length;
  const strides: number[] = []; // Fortran strides, in elements
  let s = 1;
  for (let k = 0; k < rank; k++) {
    strides.push(s);
    s *= shape[k];
  }
  const index = new Array<number>(rank).fill(0);
  let source = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = values[source];
    // Advance the C-order multi-index (last axis fastest), tracking the Fortran offset.
    for (let k = rank - 1; k >= 0; k--) {
      index[k]++;
      source += strides[k];
      if (index[k] < shape[k]) break;
      source -= strides[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

/** Reads the samples `[offset, offset + count)` (along axis 0) of a .npy file. */
export function readNpy(file: string, options: LoadOptions = {}): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw dataError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path');
  }
  const header = parseHeader(file, bytes);
  const { dtype, shape } = header;
  const elements = sizeOfShape(shape);
  const expected = header.dataStart + elements * dtype.bytes;
  if (bytes.length < expected) {
    throw dataError(file, `is truncated: ${bytes.length} bytes, its header (${shape.join('×')} ${dtype.descr}) needs ${expected}`, 'save the array again');
  }
  if (shape.length === 0) {
    throw dataError(file, 'holds a single scalar, not one row per sample', 'save an array whose first axis runs over the samples');
  }
  const { offset, count } = sampleWindow(file, shape[0], options);
  const sampleSize = sizeOfShape(shape.slice(1));
  let values: Float64Array;
  if (header.fortranOrder && shape.length > 1) {
    // A column-major file interleaves the samples, so the whole array is decoded before the window is cut.
    values = fortranToC(decode(dtype, bytes, header.dataStart, elements), shape).slice(offset * sampleSize, (offset + count) * sampleSize);
  } else {
    values = decode(dtype, bytes, header.dataStart + offset * sampleSize * dtype.bytes, count * sampleSize);
  }
  return { file, dtype, shape, offset, count, values };
}
