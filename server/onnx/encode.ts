// Builds and serialises ONNX models from a plain description (grafted exports, test models).
import { onnx } from 'onnx-proto';
import type { AttrValue, DataType, Graph, Tensor } from '../ir/graph';
import { DATA_TYPE_CODES } from './decode';

/** A graph input or output: `shape` entries are fixed sizes or symbolic names; omit `shape` to declare none. */
export interface ValueSpec {
  name: string;
  dtype?: DataType; // default float32
  shape?: readonly (number | string)[];
}

/** An attribute, as the IR holds it (see `attr` for shorthands). */
export type AttrSpec = AttrValue;

export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attrs?: Readonly<Record<string, AttrSpec>>;
}

export interface TensorSpec {
  name: string;
  dims: readonly number[];
  dtype?: DataType; // default float32
  data: ArrayLike<number>;
  /**
   * How the values are stored: 'raw' (raw_data, little-endian; the default) or 'typed' (float_data, int64_data...).
   * `external` stores them in another file (`location` relative to the model, at `offset`); the caller writes
   * that file with `tensorBytes`.
   */
  storage?: 'raw' | 'typed' | { external: { location: string; offset?: number } };
}

export interface ModelSpec {
  inputs: readonly ValueSpec[];
  outputs: readonly ValueSpec[];
  nodes: readonly NodeSpec[];
  initializers?: readonly TensorSpec[];
  graphName?: string;
  /** Default-domain opset (default 13). */
  opset?: number;
  /** Extra opset imports (other domains). */
  extraOpsets?: readonly { domain: string; version: number }[];
  irVersion?: number; // default 8
  producer?: string; // default 'graftcert'
  producerVersion?: string;
  docString?: string;
}

/** Attribute shorthands for building specs by hand. */
export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value }),
  strings: (value: readonly string[]): AttrValue => ({ kind: 'strings', value }),
  tensor: (value: Tensor): AttrValue => ({ kind: 'tensor', value }),
};

export function encodeModel(spec: ModelSpec): Uint8Array {
  return onnx.ModelProto.encode(modelProto(spec)).finish();
}

export function modelProto(spec: ModelSpec): onnx.ModelProto {
  const graph = onnx.GraphProto.create({
    name: spec.graphName ?? 'graph',
    input: spec.inputs.map(valueInfoProto),
    output: spec.outputs.map(valueInfoProto),
    node: spec.nodes.map((n, i) =>
      onnx.NodeProto.create({
        name: n.name ?? `${n.opType}_${i}`,
        opType: n.opType,
        domain: n.domain ?? '',
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs ?? {}).map(([name, a]) => attributeProto(name, a)),
      }),
    ),
    initializer: (spec.initializers ?? []).map(tensorProto),
  });
  return onnx.ModelProto.create({
    irVersion: spec.irVersion ?? 8,
    producerName: spec.producer ?? 'graftcert',
    producerVersion: spec.producerVersion ?? '',
    docString: spec.docString ?? '',
    opsetImport: [
      { domain: '', version: spec.opset ?? 13 },
      ...(spec.extraOpsets ?? []).map((o) => ({ domain: o.domain, version: o.version })),
    ],
    graph,
  });
}

function valueInfoProto(v: ValueSpec): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType: DATA_TYPE_CODES[v.dtype ?? 'float32'] };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name: v.name, type: { tensorType } };
}

function attributeProto(name: string, a: AttrSpec): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'float': return { name, type: T.FLOAT, f: a.value };
    case 'int': return { name, type: T.INT, i: a.value };
    case 'string': return { name, type: T.STRING, s: Buffer.from(a.value, 'utf8') };
    case 'tensor': return { name, type: T.TENSOR, t: tensorProto({ name: '', dims: a.value.dims, dtype: a.value.dtype, data: a.value.data }) };
    case 'floats': return { name, type: T.FLOATS, floats: [...a.value] };
    case 'ints': return { name, type: T.INTS, ints: a.value.map((v) => v) };
    case 'strings': return { name, type: T.STRINGS, strings: a.value.map((s) => Buffer.from(s, 'utf8')) };
    default: throw new Error(`cannot encode attribute '${name}' of kind ${a.kind}`);
  }
}

export function tensorProto(t: TensorSpec): onnx.ITensorProto {
  const dtype = t.dtype ?? 'float32';
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) throw new Error(`tensor '${t.name}' has ${t.data.length} values for shape [${t.dims.join(', ')}]`);
  const proto: onnx.ITensorProto = {
    name: t.name,
    dims: t.dims.map((d) => d),
    dataType: DATA_TYPE_CODES[dtype],
  };
  const storage = t.storage ?? 'raw';
  if (typeof storage === 'object') {
    const { location, offset } = storage.external;
    proto.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    proto.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset ?? 0) },
      { key: 'length', value: String(tensorBytes(t).length) },
    ];
  } else if (storage === 'raw') {
    proto.rawData = tensorBytes(t);
  } else {
    const values = Array.from(t.data);
    switch (dtype) {
      case 'float32': proto.floatData = values; break;
      case 'float64': proto.doubleData = values; break;
      case 'int64': proto.int64Data = values.map(int64Field); break;
      case 'uint32': case 'uint64': proto.uint64Data = values.map((v) => v); break;
      case 'float16': proto.int32Data = values.map(numberToHalf); break;
      case 'bool': proto.int32Data = values.map((v) => (v ? 1 : 0)); break;
      case 'string': case 'bfloat16': throw new Error(`typed storage of ${dtype} tensors is not supported`);
      default: proto.int32Data = values; break;
    }
  }
  return proto;
}

/** The little-endian bytes of a tensor's values (raw_data, or the content of an external data file). */
export function tensorBytes(t: Pick<TensorSpec, 'name' | 'dtype' | 'data'>): Uint8Array {
  const dtype = t.dtype ?? 'float32';
  const n = t.data.length;
  const size: Record<string, number> = { float32: 4, float64: 8, float16: 2, int8: 1, uint8: 1, bool: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8 };
  const item = size[dtype];
  if (item === undefined) throw new Error(`raw storage of ${dtype} tensors is not supported (tensor '${t.name}')`);
  const buf = new Uint8Array(n * item);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < n; i++) {
    const v = t.data[i];
    switch (dtype) {
      case 'float32': view.setFloat32(4 * i, v, true); break;
      case 'float64': view.setFloat64(8 * i, v, true); break;
      case 'float16': view.setUint16(2 * i, numberToHalf(v), true); break;
      case 'int8': view.setInt8(i, v); break;
      case 'uint8': view.setUint8(i, v); break;
      case 'bool': view.setUint8(i, v ? 1 : 0); break;
      case 'int16': view.setInt16(2 * i, v, true); break;
      case 'uint16': view.setUint16(2 * i, v, true); break;
      case 'int32': view.setInt32(4 * i, v, true); break;
      case 'uint32': view.setUint32(4 * i, v, true); break;
      case 'int64': view.setBigInt64(8 * i, v >= 2 ** 63 ? INT64_MAX : v <= -(2 ** 63) ? -INT64_MAX - 1n : BigInt(Math.trunc(v)), true); break;
      case 'uint64': view.setBigUint64(8 * i, BigInt(Math.trunc(v)), true); break;
    }
  }
  return buf;
}

/** int64 sentinels (INT64_MAX for "to the end") arrive as float64 2^63: clamp instead of wrapping. */
const INT64_MAX = 9223372036854775807n;

/** An int64 field value; ±2^63 become INT64_MAX/MIN bit patterns (protobufjs would wrap the number). */
function int64Field(v: number): number {
  if (v >= 2 ** 63) return { low: 0xffffffff | 0, high: 0x7fffffff, unsigned: false } as unknown as number;
  if (v <= -(2 ** 63)) return { low: 0, high: 0x80000000 | 0, unsigned: false } as unknown as number;
  return v;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float → IEEE half bits (round to nearest even). */
export function numberToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/**
 * A ModelSpec describing an IR graph (float weights as float32 raw data), e.g. to export a modified graph.
 * Graph inputs keep their IR shape (batch dimension 1).
 */
export function specFromGraph(graph: Graph, options: { producer?: string; weightType?: 'float32' | 'float64' } = {}): ModelSpec {
  const used = new Set<string>();
  for (const n of graph.nodes) for (const i of n.inputs) if (graph.constants.has(i)) used.add(i);
  for (const o of graph.outputs) if (graph.constants.has(o.name)) used.add(o.name);
  const floatTypes = new Set<DataType>(['float32', 'float64', 'float16', 'bfloat16']);
  return {
    graphName: graph.name,
    opset: graph.opset,
    producer: options.producer,
    inputs: graph.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape })),
    outputs: graph.outputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape })),
    nodes: graph.nodes.map((n) => ({ name: n.name, opType: n.opType, domain: n.domain, inputs: n.inputs, outputs: n.outputs, attrs: n.attrs })),
    initializers: [...used].map((name) => {
      const t = graph.constants.get(name)!;
      const dtype: DataType = floatTypes.has(t.dtype) ? options.weightType ?? 'float32' : t.dtype;
      return { name, dims: t.dims, dtype, data: t.data };
    }),
  };
}
