// Reads IDX files (the MNIST format): big-endian header and data, gzip detected by content.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dataError } from './errors';
import { finiteRange, sampleWindow, sizeOfShape, type LoadOptions } from './dataset';

export type IdxType = 'ubyte' | 'byte' | 'short' | 'int' | 'float' | 'double';

/** IDX type code (third magic byte) → element type and byte width. */
const IDX_TYPES: ReadonlyMap<number, { type: IdxType; bytes: number }> = new Map([
  [0x08, { type: 'ubyte', bytes: 1 }],
  [0x09, { type: 'byte', bytes: 1 }],
  [0x0b, { type: 'short', bytes: 2 }],
  [0x0c, { type: 'int', bytes: 4 }],
  [0x0d, { type: 'float', bytes: 4 }],
  [0x0e, { type: 'double', bytes: 8 }],
]);

export type IdxValues = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxTensor {
  readonly file: string;
  readonly type: IdxType;
  /** Dimensions as the header gives them; dims[0] counts the samples of the whole file. */
  readonly dims: number[];
  /** First sample held in `values`. */
  readonly offset: number;
  /** Samples held in `values`. */
  readonly count: number;
  /** The window's elements in C order, decoded to native byte order. */
  readonly values: IdxValues;
}

interface IdxHeader {
  readonly type: IdxType;
  readonly elementBytes: number;
  readonly dims: number[];
  readonly dataStart: number;
}

const GZIP_MAGIC = [0x1f, 0x8b];

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/** True when `head` (the first bytes of a file, decompressed) starts like an IDX file. */
export function looksLikeIdx(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0 && head[1] === 0 && IDX_TYPES.has(head[2]) && head[3] > 0;
}

function parseHeader(file: string, head: Uint8Array, available: number): IdxHeader {
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) {
    const magic = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw dataError(file, `is not an IDX file (magic bytes ${magic || 'missing'}, expected 00 00 <type> <rank>)`, 'pass an IDX, .npy or JSON data file');
  }
  const kind = IDX_TYPES.get(head[2]);
  if (!kind) {
    throw dataError(file, `has unknown IDX element type 0x${head[2].toString(16).padStart(2, '0')}`, 'store the data as ubyte, byte, short, int, float or double');
  }
  const rank = head[3];
  if (rank === 0) throw dataError(file, 'is an IDX file of rank 0', 'store at least a sample dimension');
  const dataStart = 4 + 4 * rank;
  if (head.length < dataStart) {
    throw dataError(file, `is truncated inside its header (${head.length} bytes, the header needs ${dataStart})`, 'download or write the file again');
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dataStart + sizeOfShape(dims) * kind.bytes;
  if (available < expected) {
    throw dataError(file, `is truncated: ${available} bytes, its header (${dims.join('×')} ${kind.type}) needs ${expected}`, 'download or write the file again');
  }
  return { type: kind.type, elementBytes: kind.bytes, dims, dataStart };
}

function decode(type: IdxType, bytes: Uint8Array, length: number): IdxValues {
  // Copy so the result owns an aligned buffer (and a big gunzip result can be freed).
  if (type === 'ubyte') return Uint8Array.from(bytes.subarray(0, length));
  if (type === 'byte') return new Int8Array(Uint8Array.from(bytes.subarray(0, length)).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'short': {
      const out = new Int16Array(length);
      for (let i = 0; i < length; i++) out[i] = view.getInt16(2 * i, false);
      return out;
    }
    case 'int': {
      const out = new Int32Array(length);
      for (let i = 0; i < length; i++) out[i] = view.getInt32(4 * i, false);
      return out;
    }
    case 'float': {
      const out = new Float32Array(length);
      for (let i = 0; i < length; i++) out[i] = view.getFloat32(4 * i, false);
      return out;
    }
    case 'double': {
      const out = new Float64Array(length);
      for (let i = 0; i < length; i++) out[i] = view.getFloat64(8 * i, false);
      return out;
    }
  }
}

function readWhole(file: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw dataError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path');
  }
  if (!isGzip(raw)) return raw;
  try {
    return gunzipSync(raw);
  } catch (e) {
    throw dataError(file, `is a truncated or corrupt gzip file (${(e as Error).message})`, 'download or compress the file again');
  }
}

/**
 * Reads the samples `[offset, offset + count)` of an IDX file. Uncompressed files are read by
 * position, so a few samples of a large file cost a few reads; gzipped files are inflated whole.
 */
export function readIdx(file: string, options: LoadOptions = {}): IdxTensor {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw dataError(file, `cannot be opened (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path');
  }
  try {
    const size = fstatSync(fd).size;
    const head = new Uint8Array(Math.min(size, 4 + 4 * 255));
    readSync(fd, head, 0, head.length, 0);
    if (isGzip(head)) {
      closeSync(fd);
      fd = -1;
      const bytes = readWhole(file);
      const header = parseHeader(file, bytes.subarray(0, Math.min(bytes.length, 4 + 4 * 255)), bytes.length);
      return window(file, header, options, (start, length) => bytes.subarray(start, start + length));
    }
    const header = parseHeader(file, head, size);
    return window(file, header, options, (start, length) => {
      const chunk = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, chunk, done, length - done, start + done);
        if (n === 0) break;
        done += n;
      }
      return chunk;
    });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function window(
  file: string,
  header: IdxHeader,
  options: LoadOptions,
  bytesAt: (start: number, length: number) => Uint8Array,
): IdxTensor {
  const { offset, count } = sampleWindow(file, header.dims[0], options);
  const sampleSize = sizeOfShape(header.dims.slice(1));
  const length = count * sampleSize;
  const bytes = bytesAt(header.dataStart + offset * sampleSize * header.elementBytes, length * header.elementBytes);
  return { file, type: header.type, dims: header.dims, offset, count, values: decode(header.type, bytes, length) };
}

export interface IdxImages {
  readonly inputs: Float32Array;
  readonly inputShape: number[];
  readonly range: [number, number];
  readonly total: number;
  readonly offset: number;
  readonly count: number;
}

/**
 * Reads an IDX images file: ubyte pixels are scaled to [0, 1]; other types are taken as stored.
 * A sample of rank 2 (rows × cols, as in MNIST) gets a leading channel: [1, rows, cols].
 */
export function readIdxImages(file: string, options: LoadOptions = {}): IdxImages {
  const tensor = readIdx(file, options);
  if (tensor.dims.length < 2) {
    throw dataError(file, `is a 1-dimensional IDX file (${tensor.dims[0]} values), which holds labels, not images`, 'pass the images file (…-idx3-ubyte)');
  }
  const sampleShape = tensor.dims.slice(1);
  const inputShape = sampleShape.length === 2 ? [1, ...sampleShape] : sampleShape;
  const inputs = new Float32Array(tensor.values.length);
  let range: [number, number];
  if (tensor.type === 'ubyte') {
    const scale = 1 / 255;
    for (let i = 0; i < inputs.length; i++) inputs[i] = tensor.values[i] * scale;
    range = [0, 1];
  } else {
    inputs.set(tensor.values);
    range = finiteRange(file, inputs, sizeOfShape(sampleShape), tensor.offset);
  }
  return { inputs, inputShape, range, total: tensor.dims[0], offset: tensor.offset, count: tensor.count };
}

/** Reads an IDX labels file (rank 1, or rank 2 with one column) as raw label values. */
export function readIdxLabels(file: string, options: LoadOptions = {}): IdxTensor {
  const tensor = readIdx(file, options);
  if (tensor.dims.length > 2 || (tensor.dims.length === 2 && tensor.dims[1] !== 1)) {
    throw dataError(file, `has shape ${tensor.dims.join('×')}, labels need one value per sample`, 'pass the labels file (…-idx1-ubyte)');
  }
  return tensor;
}
