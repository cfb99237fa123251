// Bytes → onnx.ModelProto, and TensorProto → IR Tensor (typed fields, raw_data, external data), with readable errors.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { onnx } from 'onnx-proto';
import type { DataType, Tensor } from '../ir/graph';
import { currentLimits, formatBytes, formatCount, raiseHint } from '../limits';
import { ModelError } from './errors';

/** Where a model came from: its file label (for messages) and the folder external data is resolved against. */
export interface DecodeContext {
  readonly file: string;
  /** Folder of the model file; external tensor data must lie inside it. Undefined for bytes with no folder. */
  readonly baseDir?: string;
}

/** protobufjs gives int64 fields as `Long` (when the long package is present) or number. */
export type Int64 = number | { toNumber(): number } | { low: number; high: number; unsigned?: boolean };

export function int64ToNumber(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if ('toNumber' in v && typeof v.toNumber === 'function') return v.toNumber();
  const { low, high, unsigned } = v as { low: number; high: number; unsigned?: boolean };
  return (unsigned ? high >>> 0 : high) * 4294967296 + (low >>> 0);
}

/** True when the message carried the field on the wire (decoded messages keep defaults on the prototype). */
export function hasField(message: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

const PRINTABLE = /^[\t\n\r\x20-\x7e]*$/;

/** Decode a whole model; any failure becomes one ModelError sentence. */
export function decodeModelProto(bytes: Uint8Array, file: string): onnx.ModelProto {
  if (bytes.length === 0) {
    throw new ModelError(file, 'the file is empty — export the model again with torch.onnx.export or tf2onnx.');
  }
  checkModelSize(bytes.length, file);
  const head = Buffer.from(bytes.subarray(0, Math.min(64, bytes.length))).toString('latin1');
  const looksLikeText = PRINTABLE.test(head);
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelError(file, undecodableReason(err, looksLikeText, bytes));
  }
  const graph = model.graph;
  const irVersion = int64ToNumber(model.irVersion as Int64);
  const hasGraph = hasField(model, 'graph') && graph !== null && graph !== undefined;
  if (!hasGraph || irVersion <= 0 || irVersion > 100) {
    const what = looksLikeText ? ' (it looks like a text file)' : '';
    throw new ModelError(
      file,
      `is not an ONNX model${what}: no ${hasGraph ? 'valid IR version' : 'graph'} found — pass a .onnx file exported by an ONNX exporter.`,
    );
  }
  if ((graph.node?.length ?? 0) === 0 && (graph.output?.length ?? 0) === 0) {
    throw new ModelError(file, 'is not an ONNX model: its graph has neither nodes nor outputs — pass a .onnx file exported by an ONNX exporter.');
  }
  return model;
}

/** Throws a ModelError when a model of `size` bytes is over the model-size limit (checked before reading it). */
export function checkModelSize(size: number, file: string): void {
  const limit = currentLimits().modelBytes;
  if (size > limit) {
    throw new ModelError(file, `the model is ${formatBytes(size)}, over the ${formatBytes(limit)} model-size limit — ${raiseHint('modelBytes')}.`);
  }
}

function undecodableReason(err: unknown, looksLikeText: boolean, bytes: Uint8Array): string {
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /call stack/i.test(detail)) {
    return 'is corrupt: its protobuf messages are nested too deeply to be an ONNX model — pass a .onnx file exported by an ONNX exporter.';
  }
  if (looksLikeText) {
    const kind = bytes[0] === 0x7b || bytes[0] === 0x5b ? 'JSON' : 'text';
    return `is not an ONNX model (it looks like a ${kind} file) — pass the binary .onnx file.`;
  }
  if (/index out of range/i.test(detail)) {
    return `is truncated or corrupt: the protobuf data ends early (${detail}) — copy or download the file again.`;
  }
  return `is not an ONNX model or is corrupt: protobuf decoding failed (${detail}) — pass a .onnx file exported by an ONNX exporter.`;
}

/** ONNX TensorProto.DataType code → IR name; undefined for types the IR has no name for (complex). */
export function dataTypeName(code: number): DataType | undefined {
  return DATA_TYPES[code];
}

const DATA_TYPES: Record<number, DataType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

export const DATA_TYPE_CODES: Readonly<Record<DataType, number>> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8,
  bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13, bfloat16: 16,
};

const ITEM_SIZE: Partial<Record<DataType, number>> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int16: 2, uint16: 2,
  int32: 4, uint32: 4, int64: 8, uint64: 8, bool: 1,
};

export function isFloatType(dtype: DataType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/**
 * Decode one TensorProto into an IR tensor (values as float64). `label` names it in messages
 * (e.g. "initialiser 'fc1.weight'"). NaN or ±Inf in a floating-point tensor is an error.
 */
export function decodeTensor(t: onnx.ITensorProto, ctx: DecodeContext, label?: string): Tensor {
  const what = label ?? `tensor '${t.name ?? ''}'`;
  const fail = (reason: string): never => {
    throw new ModelError(ctx.file, `${what} ${reason}`);
  };
  const code = t.dataType ?? 0;
  const dtype = dataTypeName(code);
  if (dtype === undefined) {
    fail(`has data type ${code} (${onnx.TensorProto.DataType[code] ?? 'unknown'}), which graftcert cannot read — re-export it as float32.`);
  }
  const dims = (t.dims ?? []).map((d) => int64ToNumber(d as Int64));
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`has invalid dimensions [${dims.join(', ')}] — re-export the model.`);
  const count = dims.reduce((a, b) => a * b, 1);
  // Before any allocation: a corrupt or hostile file can declare any shape.
  const maxElements = currentLimits().tensorElements;
  if (!(count <= maxElements)) {
    fail(`has shape [${dims.join(', ')}], ${formatCount(count)} elements, over the ${formatCount(maxElements)}-element tensor limit — ${raiseHint('tensorElements')}, or re-export the model if the shape is wrong.`);
  }
  const dt = dtype as DataType;

  let data: Float64Array;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    data = fromRaw(readExternal(t, ctx, what, count * (ITEM_SIZE[dt] ?? 1)), dt, count, fail);
  } else if (t.rawData && t.rawData.length > 0) {
    data = fromRaw(t.rawData, dt, count, fail);
  } else {
    data = fromTypedFields(t, dt, count, fail);
  }
  if (isFloatType(dt)) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        fail(`contains ${Number.isNaN(data[i]) ? 'NaN' : data[i] > 0 ? '+Inf' : '-Inf'} (element ${i} of ${data.length}) — graftcert needs finite weights; fix the training run or re-export the model.`);
      }
    }
  }
  return { dtype: dt, dims, data };
}

function fromRaw(raw: Uint8Array, dtype: DataType, count: number, fail: (r: string) => never): Float64Array {
  if (dtype === 'string') fail('is a string tensor stored as raw data, which ONNX does not allow — re-export the model.');
  const size = ITEM_SIZE[dtype]!;
  if (raw.length !== count * size) {
    fail(`holds ${raw.length} bytes of raw data but its shape needs ${count} × ${size} = ${count * size} — the file is corrupt; export it again.`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float64Array(count);
  switch (dtype) {
    case 'float32': for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true); break;
    case 'float64': for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true); break;
    case 'float16': for (let i = 0; i < count; i++) out[i] = halfToNumber(view.getUint16(2 * i, true)); break;
    case 'bfloat16': for (let i = 0; i < count; i++) out[i] = bfloat16ToNumber(view.getUint16(2 * i, true)); break;
    case 'int8': for (let i = 0; i < count; i++) out[i] = view.getInt8(i); break;
    case 'uint8': for (let i = 0; i < count; i++) out[i] = view.getUint8(i); break;
    case 'bool': for (let i = 0; i < count; i++) out[i] = view.getUint8(i) !== 0 ? 1 : 0; break;
    case 'int16': for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true); break;
    case 'uint16': for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true); break;
    case 'int32': for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true); break;
    case 'uint32': for (let i = 0; i < count; i++) out[i] = view.getUint32(4 * i, true); break;
    case 'int64': for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, true)); break;
    case 'uint64': for (let i = 0; i < count; i++) out[i] = Number(view.getBigUint64(8 * i, true)); break;
  }
  return out;
}

function fromTypedFields(t: onnx.ITensorProto, dtype: DataType, count: number, fail: (r: string) => never): Float64Array {
  let values: ArrayLike<number>;
  let field: string;
  switch (dtype) {
    case 'float32': values = t.floatData ?? []; field = 'float_data'; break;
    case 'float64': values = t.doubleData ?? []; field = 'double_data'; break;
    case 'int64': values = (t.int64Data ?? []).map((v) => int64ToNumber(v as Int64)); field = 'int64_data'; break;
    case 'uint32': case 'uint64': values = (t.uint64Data ?? []).map((v) => int64ToNumber(v as Int64)); field = 'uint64_data'; break;
    case 'float16': values = (t.int32Data ?? []).map((bits) => halfToNumber(bits & 0xffff)); field = 'int32_data'; break;
    case 'bfloat16': values = (t.int32Data ?? []).map((bits) => bfloat16ToNumber(bits & 0xffff)); field = 'int32_data'; break;
    case 'bool': values = (t.int32Data ?? []).map((v) => (v !== 0 ? 1 : 0)); field = 'int32_data'; break;
    case 'string': values = new Float64Array((t.stringData ?? []).length); field = 'string_data'; break;
    default: values = t.int32Data ?? []; field = 'int32_data'; break; // int8/16/32, uint8/16
  }
  if (values.length !== count) {
    fail(`holds ${values.length} values in ${field} but its shape [${(t.dims ?? []).join(', ')}] needs ${count} — the file is corrupt; export it again.`);
  }
  return Float64Array.from(values);
}

function readExternal(t: onnx.ITensorProto, ctx: DecodeContext, what: string, expectedBytes: number): Uint8Array {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location) throw new ModelError(ctx.file, `${what} is stored externally but names no 'location' — re-export the model with its weights.`);
  if (ctx.baseDir === undefined) {
    throw new ModelError(ctx.file, `${what} keeps its weights in the external file '${location}', which can only be found when the model is loaded from its folder — open the .onnx file from disk.`);
  }
  const base = resolve(ctx.baseDir);
  const target = resolve(base, location);
  const rel = relative(base, target);
  if (isAbsolute(location) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new ModelError(ctx.file, `${what} points to external data '${location}' outside the model's folder, which graftcert refuses to read — keep the weights file next to the model.`);
  }
  if (!existsSync(target)) {
    throw new ModelError(ctx.file, `${what} keeps its weights in '${location}', which is missing from ${base} — copy the weights file next to the model.`);
  }
  const offset = entries.has('offset') ? Number(entries.get('offset')) : 0;
  const fd = openSync(join(base, rel), 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const length = entries.has('length') ? Number(entries.get('length')) : fileSize - offset;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > fileSize) {
      throw new ModelError(ctx.file, `${what} reads bytes ${offset}..${offset + length} of '${location}', which has only ${fileSize} bytes — the weights file is truncated or belongs to another model.`);
    }
    if (length !== expectedBytes) {
      throw new ModelError(ctx.file, `${what} reads ${length} bytes from '${location}' but its shape needs ${expectedBytes} — the weights file belongs to another export.`);
    }
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, length);
  } finally {
    closeSync(fd);
  }
}

export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32Scratch = new DataView(new ArrayBuffer(4));
export function bfloat16ToNumber(b: number): number {
  f32Scratch.setUint32(0, (b & 0xffff) << 16);
  return f32Scratch.getFloat32(0);
}
