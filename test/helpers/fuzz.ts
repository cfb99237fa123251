// Seeded mutation fuzzing of the ONNX loader and the VNN-LIB parser: case generators (byte-level and
// structure-aware), the code that runs one case and classifies its outcome, and a harness that runs batches in a
// worker thread with a heap limit and a per-case time limit, so a hang, a crash or an out-of-memory is a finding,
// not the end of the test run.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { onnx } from 'onnx-proto';
import { computeBounds, linfBall, UnsupportedModelError } from '../../server/bounds/index';
import { parseVnnlib, VnnlibError } from '../../server/certify/vnnlib/index';
import { evaluate } from '../../server/ir/forward';
import { LimitError, setLimits, type LimitSettings } from '../../server/limits';
import { attr, modelProto, type ModelSpec } from '../../server/onnx/encode';
import { ModelError } from '../../server/onnx/errors';
import { loadModelBytes } from '../../server/onnx/load';
import { inspectModelBytes } from '../../server/inspect';
import { sizeOf } from '../../server/tensor/types';
import { randomTensor, repoRoot, rng, tinyMlpSpec } from './onnx-models';

/** `selftest` runs cases that misbehave on purpose (0 ok, 1 TypeError, 2 endless loop, 3 heap exhaustion, 4 clean). */
export type FuzzTarget = 'onnx' | 'vnnlib' | 'selftest';

/** A seeded generator with the draws the mutators need. */
export class Prng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = rng(seed);
  }
  float(): number {
    return this.next();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** The seed of case `index` of a run seeded `seed` (so any one case replays alone). */
export function caseSeed(seed: number, index: number): number {
  return (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
}

/** One generated input and what was done to it. */
export interface FuzzCase {
  index: number;
  /** The mutations applied, in words (printed with a failure). */
  mutation: string;
  /** The file name messages must name. */
  file: string;
  bytes?: Uint8Array;
  text?: string;
  /** VNN-LIB: the paired model's sizes, when the case parses against a model. */
  nInputs?: number;
  nOutputs?: number;
}

// ---------------------------------------------------------------------------------------------
// Byte-level mutators (any format)

type ByteMutator = (b: Uint8Array, r: Prng) => { bytes: Uint8Array; what: string };

function encodeVarint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function splice(b: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at), 0);
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

export const byteMutators: Readonly<Record<string, ByteMutator>> = {
  bitFlips(b, r) {
    const out = b.slice();
    const n = 1 + r.int(8);
    for (let k = 0; k < n; k++) out[r.int(out.length)] ^= 1 << r.int(8);
    return { bytes: out, what: `flip ${n} bits` };
  },
  byteReplace(b, r) {
    const out = b.slice();
    const n = 1 + r.int(16);
    for (let k = 0; k < n; k++) out[r.int(out.length)] = r.pick([0, 0xff, 0x7f, 0x80, r.int(256)]);
    return { bytes: out, what: `replace ${n} bytes` };
  },
  truncate(b, r) {
    const at = r.int(b.length);
    return { bytes: b.slice(0, at), what: `truncate to ${at} of ${b.length} bytes` };
  },
  duplicateChunk(b, r) {
    const at = r.int(b.length);
    const len = 1 + r.int(Math.min(256, b.length - at));
    const to = r.int(b.length);
    return { bytes: splice(b, to, 0, b.slice(at, at + len)), what: `duplicate bytes ${at}..${at + len} at ${to}` };
  },
  removeChunk(b, r) {
    const at = r.int(b.length);
    const len = 1 + r.int(Math.min(256, b.length - at));
    return { bytes: splice(b, at, len, []), what: `remove bytes ${at}..${at + len}` };
  },
  /** A length-delimited protobuf field's length set huge (or to a size just past the end). */
  hugeLength(b, r) {
    const candidates: number[] = [];
    for (let i = 0; i + 1 < b.length; i++) if ((b[i] & 7) === 2 && b[i] >> 3 >= 1 && b[i] >> 3 <= 20) candidates.push(i);
    if (candidates.length === 0) return byteMutators.bitFlips(b, r);
    const at = r.pick(candidates) + 1;
    let end = at;
    while (end < b.length && b[end] & 0x80) end++;
    const value = r.pick([2 ** 31 - 1, 2 ** 32 - 1, 2 ** 35, b.length - at + r.int(16), 0x7fffffff - r.int(1000)]);
    return { bytes: splice(b, at, Math.min(end + 1, b.length) - at, encodeVarint(value)), what: `length field at byte ${at} set to ${value}` };
  },
};

function mutateBytes(b: Uint8Array, r: Prng): { bytes: Uint8Array; what: string } {
  const names = Object.keys(byteMutators);
  const rounds = 1 + r.int(3);
  const what: string[] = [];
  let out = b;
  for (let k = 0; k < rounds && out.length > 0; k++) {
    const name = r.pick(names);
    const m = byteMutators[name](out, r);
    out = m.bytes;
    what.push(m.what);
  }
  return { bytes: out, what: what.join('; ') };
}

// ---------------------------------------------------------------------------------------------
// ONNX: valid models, and mutations of their ModelProto

const SEED_MODEL = 1;

/** Small valid models covering the loader's paths: Gemm/Relu, Conv/Flatten, shape arithmetic, constants, typed data. */
export function onnxSeedModels(): { name: string; spec: ModelSpec }[] {
  const next = rng(SEED_MODEL);
  const conv: ModelSpec = {
    inputs: [{ name: 'x', shape: ['N', 1, 4, 4] }],
    outputs: [{ name: 'y', shape: [1, 3] }],
    nodes: [
      { opType: 'Conv', inputs: ['x', 'K', 'kb'], outputs: ['c'], attrs: { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) } },
      { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
      { opType: 'Flatten', inputs: ['r'], outputs: ['f'], attrs: { axis: attr.int(1) } },
      { opType: 'Gemm', inputs: ['f', 'W', 'b'], outputs: ['y'], attrs: { transB: attr.int(1) } },
    ],
    initializers: [randomTensor('K', [2, 1, 3, 3], next), randomTensor('kb', [2], next), randomTensor('W', [3, 8], next), randomTensor('b', [3], next, 1, 'typed')],
  };
  const shapes: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 2, 3] }],
    outputs: [{ name: 'y', shape: [1, 6] }, { name: 'z', shape: [1, 6] }],
    nodes: [
      { opType: 'Shape', inputs: ['x'], outputs: ['s'] },
      { opType: 'Constant', inputs: [], outputs: ['idx'], attrs: { value: attr.tensor({ dtype: 'int64', dims: [1], data: Float64Array.of(0) }) } },
      { opType: 'Gather', inputs: ['s', 'idx'], outputs: ['n'], attrs: { axis: attr.int(0) } },
      { opType: 'Constant', inputs: [], outputs: ['minus1'], attrs: { value: attr.tensor({ dtype: 'int64', dims: [1], data: Float64Array.of(-1) }) } },
      { opType: 'Concat', inputs: ['n', 'minus1'], outputs: ['target'], attrs: { axis: attr.int(0) } },
      { opType: 'Reshape', inputs: ['x', 'target'], outputs: ['flat'] },
      { opType: 'Identity', inputs: ['flat'], outputs: ['i1'] },
      { opType: 'Mul', inputs: ['i1', 'scale'], outputs: ['m'] },
      { opType: 'Add', inputs: ['m', 'shift'], outputs: ['y'] },
      { opType: 'ConstantOfShape', inputs: ['target2'], outputs: ['ones'], attrs: { value: attr.tensor({ dtype: 'float32', dims: [1], data: Float64Array.of(1) }) } },
      { opType: 'Sub', inputs: ['y', 'ones'], outputs: ['z'] },
    ],
    initializers: [
      { name: 'scale', dims: [6], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: 'shift', dims: [1, 6], data: new Float32Array(6), storage: 'typed' },
      { name: 'target2', dims: [2], dtype: 'int64', data: [1, 6] },
    ],
  };
  const pool: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 1, 4, 4] }],
    outputs: [{ name: 'y', shape: [1, 2] }],
    nodes: [
      { opType: 'MaxPool', inputs: ['x'], outputs: ['p'], attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } },
      { opType: 'Transpose', inputs: ['p'], outputs: ['t'], attrs: { perm: attr.ints([0, 1, 3, 2]) } },
      { opType: 'Reshape', inputs: ['t', 'shape'], outputs: ['f'] },
      { opType: 'MatMul', inputs: ['f', 'W'], outputs: ['mm'] },
      { opType: 'Sigmoid', inputs: ['mm'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'shape', dims: [2], dtype: 'int64', data: [1, 4] },
      randomTensor('W', [4, 2], next, 1, 'typed'),
    ],
  };
  return [
    { name: 'mlp', spec: tinyMlpSpec(next) },
    { name: 'conv', spec: conv },
    { name: 'shapes', spec: shapes },
    { name: 'pool', spec: pool },
  ];
}

type ProtoMutator = (m: onnx.ModelProto, r: Prng) => string;

const A = onnx.AttributeProto.AttributeType;

function graphOf(m: onnx.ModelProto): onnx.GraphProto {
  return m.graph as onnx.GraphProto;
}

function anyNode(m: onnx.ModelProto, r: Prng): onnx.INodeProto | undefined {
  const nodes = graphOf(m).node ?? [];
  return nodes.length > 0 ? r.pick(nodes) : undefined;
}

function anyInit(m: onnx.ModelProto, r: Prng): onnx.ITensorProto | undefined {
  const inits = graphOf(m).initializer ?? [];
  return inits.length > 0 ? r.pick(inits) : undefined;
}

const HUGE_DIMS: readonly number[][] = [[2 ** 31, 2 ** 31], [1e15], [2 ** 40, 4], [65536, 65536, 65536], [2 ** 53], [Number.MAX_SAFE_INTEGER, 2]];

export const protoMutators: Readonly<Record<string, ProtoMutator>> = {
  hugeInitializerDims(m, r) {
    const t = anyInit(m, r);
    if (!t) return 'no initialiser';
    t.dims = r.pick(HUGE_DIMS);
    return `initialiser '${t.name}' dims set to [${t.dims.join(', ')}]`;
  },
  negativeDims(m, r) {
    const t = anyInit(m, r);
    if (!t) return 'no initialiser';
    t.dims = [-1, ...(t.dims ?? []).slice(1)];
    return `initialiser '${t.name}' dims set to [${t.dims.join(', ')}]`;
  },
  wrongDataType(m, r) {
    const t = anyInit(m, r);
    if (!t) return 'no initialiser';
    t.dataType = r.pick([0, 2, 7, 8, 9, 10, 11, 14, 15, 16, 99, -3]);
    return `initialiser '${t.name}' data type set to ${t.dataType}`;
  },
  rawDataMismatch(m, r) {
    const t = anyInit(m, r);
    if (!t) return 'no initialiser';
    const raw = t.rawData && t.rawData.length > 0 ? t.rawData : new Uint8Array(4);
    t.rawData = r.chance(0.5) ? raw.subarray(0, r.int(raw.length)) : new Uint8Array(raw.length + 1 + r.int(7));
    return `initialiser '${t.name}' raw_data resized to ${t.rawData.length} bytes`;
  },
  typedDataMismatch(m, r) {
    const t = anyInit(m, r);
    if (!t) return 'no initialiser';
    t.rawData = new Uint8Array(0);
    t.floatData = Array.from({ length: r.int(5) }, () => r.float());
    t.int64Data = r.chance(0.5) ? [1, 2, 3] : [];
    return `initialiser '${t.name}' typed fields replaced (${t.floatData.length} floats)`;
  },
  nonFiniteWeights(m, r) {
    const t = anyInit(m, r);
    if (!t || !t.rawData || t.rawData.length < 4 || t.dataType !== 1) return 'no float initialiser';
    const raw = t.rawData.slice();
    new DataView(raw.buffer).setFloat32(4 * r.int(raw.length / 4), r.pick([NaN, Infinity, -Infinity]), true);
    t.rawData = raw;
    return `initialiser '${t.name}' got a non-finite value`;
  },
  wrongAttributeType(m, r) {
    const n = anyNode(m, r);
    if (!n || !n.attribute || n.attribute.length === 0) return 'no attribute';
    const a = r.pick(n.attribute);
    a.type = r.pick([A.FLOAT, A.INT, A.STRING, A.TENSOR, A.GRAPH, A.FLOATS, A.INTS, A.STRINGS, A.SPARSE_TENSOR, 0, 42]) as onnx.AttributeProto.AttributeType;
    if (r.chance(0.5)) {
      a.ints = [];
      a.floats = [];
    }
    return `attribute '${a.name}' of '${n.name}' retyped to ${a.type}`;
  },
  hostileAttributeValues(m, r) {
    const n = anyNode(m, r);
    if (!n) return 'no node';
    const name = r.pick(['axis', 'perm', 'pads', 'strides', 'kernel_shape', 'transB', 'to', 'dilations', 'group', 'alpha', 'value', 'shape', 'axes']);
    const ints = r.pick([[2 ** 40], [-(2 ** 40)], [0, 0, 0, 0], [1e9, 1e9, 1e9, 1e9], [], [-1, -1], [7, 7, 7, 7, 7, 7, 7, 7]]);
    n.attribute = [...(n.attribute ?? []).filter((a) => a.name !== name), r.chance(0.5) ? { name, type: A.INTS, ints } : { name, type: A.INT, i: ints[0] ?? 0 }];
    return `attribute '${name}' of '${n.name}' set to [${ints.join(', ')}]`;
  },
  cycle(m, r) {
    const nodes = graphOf(m).node ?? [];
    if (nodes.length < 2) return 'too few nodes';
    const i = r.int(nodes.length - 1);
    const j = i + 1 + r.int(nodes.length - i - 1);
    const later = nodes[j].output?.[0];
    if (!later || !nodes[i].input || nodes[i].input.length === 0) return 'no edge';
    nodes[i].input[0] = later;
    return `node '${nodes[i].name}' now reads '${later}' from a later node (a cycle)`;
  },
  selfLoop(m, r) {
    const n = anyNode(m, r);
    if (!n || !n.output?.[0]) return 'no node';
    n.input = [n.output[0], ...(n.input ?? []).slice(1)];
    return `node '${n.name}' reads its own output`;
  },
  danglingInput(m, r) {
    const n = anyNode(m, r);
    if (!n) return 'no node';
    n.input = [...(n.input ?? [])];
    n.input[r.int(n.input.length + 1)] = r.pick(['nowhere', '', '\u0000x', 'x'.repeat(300)]);
    return `node '${n.name}' reads a dangling input`;
  },
  missingInitializer(m, r) {
    const g = graphOf(m);
    const inits = g.initializer ?? [];
    if (inits.length === 0) return 'no initialiser';
    const k = r.int(inits.length);
    const name = inits[k].name;
    g.initializer = inits.filter((_, i) => i !== k);
    return `initialiser '${name}' removed`;
  },
  duplicateOutput(m, r) {
    const nodes = graphOf(m).node ?? [];
    if (nodes.length < 2) return 'too few nodes';
    const a = r.pick(nodes);
    const b = r.pick(nodes);
    if (!a.output?.[0] || !b.output) return 'no output';
    b.output = [a.output[0]];
    return `'${b.name}' also writes '${a.output[0]}'`;
  },
  deepIdentityChain(m, r) {
    const g = graphOf(m);
    const out = g.output?.[0]?.name;
    const nodes = g.node ?? [];
    const producer = nodes.find((n) => n.output?.includes(out ?? ''));
    if (!out || !producer) return 'no output producer';
    const depth = r.pick([1000, 5000, 20000]);
    const op = r.pick(['Identity', 'Relu', 'Dropout']);
    producer.output = producer.output!.map((o) => (o === out ? 'chain_0' : o));
    for (let k = 0; k < depth; k++) {
      nodes.push(onnx.NodeProto.create({ name: `chain${k}`, opType: op, input: [`chain_${k}`], output: [k === depth - 1 ? out : `chain_${k + 1}`] }));
    }
    g.node = nodes;
    return `a chain of ${depth} ${op} nodes before the output`;
  },
  hugeInputShape(m, r) {
    const v = graphOf(m).input?.[0];
    if (!v?.type?.tensorType) return 'no typed input';
    const dims = r.pick([[1, 2 ** 40], [1, 65536, 65536], [1, 0], [-5, 3], [1, -1], [1, 2 ** 53 + 2]]);
    v.type.tensorType.shape = { dim: dims.map((d) => ({ dimValue: d })) };
    return `input '${v.name}' shape set to [${dims.join(', ')}]`;
  },
  inputWithoutShape(m, r) {
    const v = graphOf(m).input?.[0];
    if (!v?.type?.tensorType) return 'no typed input';
    if (r.chance(0.5)) v.type.tensorType.shape = { dim: [{ dimParam: 'N' }, { dimParam: 'M' }] };
    else delete v.type.tensorType.shape;
    v.type.tensorType.elemType = r.pick([1, 7, 8, 99]);
    return `input '${v.name}' made dynamic/retyped`;
  },
  unknownOp(m, r) {
    const n = anyNode(m, r);
    if (!n) return 'no node';
    n.opType = r.pick(['Loop', 'If', 'NonMaxSuppression', '', 'Relu\u0000', 'X'.repeat(500)]);
    if (r.chance(0.3)) n.domain = r.pick(['com.microsoft', 'ai.onnx.ml', 'graftcert']);
    return `node '${n.name}' op set to '${n.opType.slice(0, 20)}'`;
  },
  hugeConstantOfShape(m, r) {
    const g = graphOf(m);
    const dims = r.pick([[1e6, 1e6], [2 ** 31], [65536, 65536], [-3, 2], [1, 2 ** 22 + 1]]);
    g.node = [
      ...(g.node ?? []),
      onnx.NodeProto.create({ name: 'bigShape', opType: 'Constant', output: ['bigShapeV'], attribute: [{ name: 'value', type: A.TENSOR, t: { dims: [dims.length], dataType: 7, int64Data: dims } }] }),
      onnx.NodeProto.create({ name: 'big', opType: 'ConstantOfShape', input: ['bigShapeV'], output: ['bigV'] }),
      onnx.NodeProto.create({ name: 'bigUse', opType: 'Add', input: ['bigV', 'bigV'], output: ['bigOut'] }),
    ];
    g.output = [...(g.output ?? []), { name: 'bigOut' }];
    return `ConstantOfShape of [${dims.join(', ')}] added`;
  },
  hostileReshape(m, r) {
    const g = graphOf(m);
    const out = g.output?.[0]?.name;
    const producer = (g.node ?? []).find((n) => n.output?.includes(out ?? ''));
    if (!out || !producer) return 'no output producer';
    const shape = r.pick([[-1, -1], [0, 2 ** 40], [2 ** 31, 2 ** 31], [-7], [1, 0, -1], [3.5]]);
    producer.output = producer.output!.map((o) => (o === out ? 'pre' : o));
    g.initializer = [...(g.initializer ?? []), { name: 'rs', dims: [shape.length], dataType: 7, int64Data: shape.map(Math.trunc) }];
    g.node = [...(g.node ?? []), onnx.NodeProto.create({ name: 'rsNode', opType: 'Reshape', input: ['pre', 'rs'], output: [out] })];
    return `Reshape to [${shape.join(', ')}] before the output`;
  },
  externalData(m, r) {
    const t = anyInit(m, r);
    if (!t) return 'no initialiser';
    t.rawData = new Uint8Array(0);
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    const location = r.pick(['../../etc/passwd', '/etc/passwd', 'missing.bin', '', 'fuzz.onnx']);
    t.externalData = [{ key: 'location', value: location }, { key: 'offset', value: r.pick(['0', '-1', 'x', '1e30']) }, { key: 'length', value: r.pick(['4', '99999999999', '']) }];
    return `initialiser '${t.name}' moved to external data '${location}'`;
  },
  headerFields(m, r) {
    const what = r.int(4);
    if (what === 0) m.irVersion = r.pick([0, -1, 1000, 2 ** 40]);
    else if (what === 1) m.opsetImport = [];
    else if (what === 2) m.opsetImport = [{ domain: '', version: r.pick([1, 4, 999, -1]) }];
    else graphOf(m).output = [];
    return `header field ${['ir_version', 'opset_import emptied', 'opset version', 'outputs emptied'][what]}`;
  },
  duplicateNames(m, r) {
    const g = graphOf(m);
    const inits = g.initializer ?? [];
    if (inits.length === 0) return 'no initialiser';
    const t = r.pick(inits);
    g.initializer = [...inits, { ...t, dims: [1] , rawData: new Uint8Array(4), dataType: 1 }];
    g.input = [...(g.input ?? []), { name: t.name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } } }];
    return `initialiser '${t.name}' declared twice`;
  },
};

/** A model whose graph attributes nest `depth` levels (ModelProto.graph → node → attribute.g → node ...), as bytes. */
export function deeplyNestedModel(depth: number): Uint8Array {
  // Built from the inside out as length prefixes only (each level wraps the next and nothing follows it):
  // protobufjs' encoder would recurse as deep as its decoder.
  const prefixes: number[][] = [];
  let length = 0;
  for (let k = 0; k < depth; k++) {
    for (const no of [6, 5, 1]) {
      // AttributeProto.g, NodeProto.attribute, GraphProto.node
      const p = [(no << 3) | 2, ...encodeVarint(length)];
      prefixes.push(p);
      length += p.length;
    }
  }
  const graph = [(7 << 3) | 2, ...encodeVarint(length)]; // ModelProto.graph
  const out = new Uint8Array(2 + graph.length + length);
  out.set([0x08, 0x08], 0); // ir_version 8
  out.set(graph, 2);
  let at = 2 + graph.length;
  for (let k = prefixes.length - 1; k >= 0; k--) {
    out.set(prefixes[k], at);
    at += prefixes[k].length;
  }
  return out;
}

/** Case `index` of an ONNX run seeded `seed`. */
export function onnxCase(seed: number, index: number): FuzzCase {
  const r = new Prng(caseSeed(seed, index));
  const models = onnxSeedModels();
  const base = r.pick(models);
  const file = `fuzz-${base.name}.onnx`;
  const kind = r.float();
  if (kind < 0.03) {
    const depth = r.pick([100, 5000, 50000]);
    return { index, file, mutation: `graph attributes nested ${depth} deep`, bytes: deeplyNestedModel(depth) };
  }
  const proto = modelProto(base.spec);
  const what: string[] = [];
  if (kind < 0.7) {
    const names = Object.keys(protoMutators);
    const rounds = 1 + (r.chance(0.3) ? r.int(3) : 0);
    for (let k = 0; k < rounds; k++) {
      const name = r.pick(names);
      what.push(`${name}: ${protoMutators[name](proto, r)}`);
    }
  }
  let bytes: Uint8Array = onnx.ModelProto.encode(proto).finish();
  if (kind >= 0.55) {
    const m = mutateBytes(bytes, r);
    bytes = m.bytes;
    what.push(m.what);
  }
  return { index, file, mutation: `${base.name}: ${what.join(' | ')}`, bytes };
}

// ---------------------------------------------------------------------------------------------
// VNN-LIB: valid properties, and token-level mutations

/** Valid properties: a 1.0 robustness box, an input-box disjunction, a 2.0 file, and the repository's fixtures. */
export function vnnlibSeedProperties(): { name: string; text: string; nInputs: number; nOutputs: number }[] {
  const box = ['; robustness, 4 inputs, 3 outputs'];
  for (let i = 0; i < 4; i++) box.push(`(declare-const X_${i} Real)`);
  for (let j = 0; j < 3; j++) box.push(`(declare-const Y_${j} Real)`);
  for (let i = 0; i < 4; i++) box.push(`(assert (<= X_${i} ${0.5 + i / 10}))`, `(assert (>= X_${i} ${-0.25 - i / 10}))`);
  box.push('(assert (or (and (>= Y_1 Y_0)) (and (>= Y_2 Y_0))))');
  const arithmetic = [
    '(declare-const X_0 Real)', '(declare-const X_1 Real)', '(declare-const Y_0 Real)', '(declare-const Y_1 Real)',
    '(assert (and (>= X_0 -1) (<= X_0 1) (>= X_1 -1.5e-1) (<= X_1 0.15)))',
    '(assert (<= (+ Y_0 (* 2 Y_1)) (- 0.5)))',
    '(assert (>= (/ Y_1 4) -3))',
  ].join('\n');
  const out = [
    { name: 'robustness', text: box.join('\n') + '\n', nInputs: 4, nOutputs: 3 },
    { name: 'arithmetic', text: arithmetic + '\n', nInputs: 2, nOutputs: 2 },
  ];
  const fixtures = join(repoRoot, 'test', 'fixtures', 'vnnlib');
  for (const [name, nInputs, nOutputs] of [
    ['input_box_disjunction.vnnlib', 2, 2],
    ['version2_mnist.vnnlib', 4, 3],
    ['comments_and_numbers.vnnlib', 0, 0],
    ['mixed_conjunct.vnnlib', 0, 0],
  ] as const) {
    try {
      out.push({ name, text: readFileSync(join(fixtures, name), 'utf8'), nInputs, nOutputs });
    } catch {
      // fixtures are optional seeds
    }
  }
  return out;
}

const TOKEN = /;[^\n]*|\s+|[()[\],]|"[^"]*"|[^\s()[\],;"]+/g;

function tokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

type TokenMutator = (t: string[], r: Prng) => string;

const NUMBER_TOKEN = /^[-+]?(\d|\.\d)/;
const VAR_TOKEN = /^[XY]_\d+$/;

function indexWhere(t: string[], r: Prng, test: (s: string, i: number) => boolean): number {
  const at: number[] = [];
  t.forEach((s, i) => {
    if (test(s, i)) at.push(i);
  });
  return at.length > 0 ? r.pick(at) : -1;
}

export const tokenMutators: Readonly<Record<string, TokenMutator>> = {
  deleteParen(t, r) {
    const i = indexWhere(t, r, (s) => s === '(' || s === ')');
    if (i < 0) return 'no paren';
    const s = t[i];
    t.splice(i, 1);
    return `delete '${s}' at token ${i}`;
  },
  duplicateParen(t, r) {
    const i = indexWhere(t, r, (s) => s === '(' || s === ')');
    if (i < 0) return 'no paren';
    t.splice(i, 0, t[i]);
    return `duplicate '${t[i]}' at token ${i}`;
  },
  deleteToken(t, r) {
    const i = r.int(t.length);
    const s = t.splice(i, 1)[0];
    return `delete token '${s?.slice(0, 20)}'`;
  },
  duplicateToken(t, r) {
    const i = r.int(t.length);
    t.splice(i, 0, t[i] ?? '');
    return `duplicate token '${t[i]?.slice(0, 20)}'`;
  },
  swapTokens(t, r) {
    const i = r.int(t.length);
    const j = r.int(t.length);
    [t[i], t[j]] = [t[j], t[i]];
    return `swap tokens ${i} and ${j}`;
  },
  deepNesting(t, r) {
    const depth = r.pick([300, 10000, 100000]);
    const closed = r.chance(0.5);
    const at = r.int(t.length + 1);
    t.splice(at, 0, '('.repeat(depth) + (closed ? 'assert' + ')'.repeat(depth) : ''));
    return `${depth} '(' ${closed ? 'closed' : 'unclosed'} at token ${at}`;
  },
  deepFormula(t, r) {
    const depth = r.pick([200, 300, 5000, 50000]);
    const op = r.pick(['and', 'or', '+', '-']);
    const inner = op === 'and' || op === 'or' ? '(<= Y_0 1)' : 'Y_0';
    const body = `(${op} `.repeat(depth) + inner + ')'.repeat(depth);
    t.push(op === 'and' || op === 'or' ? `\n(assert ${body})` : `\n(assert (<= ${body} 1))`);
    return `${op} nested ${depth} deep`;
  },
  hostileNumber(t, r) {
    const i = indexWhere(t, r, (s) => NUMBER_TOKEN.test(s));
    if (i < 0) return 'no number';
    const v = r.pick(['NaN', 'inf', '-inf', 'Infinity', '1e999', '-1e999', '1e-999', '-0', '0x10', '#xFFFFFFFFFFFFFFFFFFFF', '#b1', '9'.repeat(400), '1.', '.5', '1e', '--1', '1e+308', '1.7976931348623157e308']);
    const old = t[i];
    t[i] = v;
    return `number ${old} → ${v.slice(0, 24)}`;
  },
  hugeIndex(t, r) {
    // Half the time a declared name, so that the index sizes the property rather than failing a lookup.
    const declared = r.chance(0.5) ? indexWhere(t, r, (s, k) => VAR_TOKEN.test(s) && t.slice(Math.max(0, k - 3), k).includes('declare-const')) : -1;
    const i = declared >= 0 ? declared : indexWhere(t, r, (s) => VAR_TOKEN.test(s));
    if (i < 0) return 'no variable';
    const old = t[i];
    t[i] = `${old[0]}_${r.pick(['999999999', '18446744073709551616', '4294967296', '268435456', '00', '1' + '0'.repeat(30)])}`;
    return `variable ${old} → ${t[i]}`;
  },
  hugeShape(t, r) {
    const i = indexWhere(t, r, (s) => s === '[');
    if (i < 0) return 'no shape';
    const j = t.indexOf(']', i);
    if (j < 0) return 'no shape end';
    const dims = r.pick(['999999999,999999999', '0', '-1', '1e300', '65536,65536,65536', '2.5', 'X', '']);
    t.splice(i + 1, j - i - 1, dims);
    return `shape → [${dims}]`;
  },
  wrongSort(t, r) {
    const i = indexWhere(t, r, (s) => s === 'Real');
    if (i < 0) return 'no sort';
    t[i] = r.pick(['Int', 'Bool', 'String', 'float32', '(Array Int Real)', '']);
    return `sort → ${t[i]}`;
  },
  wrongOperator(t, r) {
    const i = indexWhere(t, r, (s) => ['<=', '>=', 'and', 'or', 'assert', 'declare-const', '+', '-', '*', '/'].includes(s));
    if (i < 0) return 'no operator';
    const old = t[i];
    t[i] = r.pick(['not', '=>', '<', '=', 'ite', 'xor', 'declare-fun', 'vnnlib-version', 'exists', '*', '/', 'and', '', 'assert']);
    return `operator ${old} → ${t[i]}`;
  },
  truncateText(t, r) {
    const at = r.int(t.length);
    t.length = at;
    return `truncate after token ${at}`;
  },
  garbage(t, r) {
    const at = r.int(t.length + 1);
    const g = r.pick(['\u0000', '\uffff', '"unterminated', '|quoted', '#', '\\', '[', ']', ',', '<2.0>', '\ud800', '(vnnlib-version <2.0>)', '😀']);
    t.splice(at, 0, g);
    return `insert ${JSON.stringify(g)} at token ${at}`;
  },
  disjunctionBomb(t, r) {
    const n = r.pick([8, 13, 19, 40]);
    t.push(`\n(assert (or (and (<= X_0 ${r.int(3)})) (and (<= X_0 0.5)) (and (>= Y_0 1))))`.repeat(n));
    return `${n} asserts of a 3-way (or ...)`;
  },
  manyDeclarations(t, r) {
    const n = r.pick([1000, 20000]);
    const start = r.pick([0, 5, 1000000]);
    const lines: string[] = [];
    for (let k = 0; k < n; k++) lines.push(`(declare-const X_${start + k} Real)`);
    t.push('\n' + lines.join('\n'));
    return `${n} X declarations from X_${start}`;
  },
};

/** Case `index` of a VNN-LIB run seeded `seed`. */
export function vnnlibCase(seed: number, index: number): FuzzCase {
  const r = new Prng(caseSeed(seed, index));
  const base = r.pick(vnnlibSeedProperties());
  const t = tokens(base.text);
  const names = Object.keys(tokenMutators);
  const rounds = 1 + (r.chance(0.4) ? r.int(3) : 0);
  const what: string[] = [];
  for (let k = 0; k < rounds; k++) {
    const name = r.pick(names);
    what.push(`${name}: ${tokenMutators[name](t, r)}`);
  }
  const withModel = base.nInputs > 0 && r.chance(0.5);
  return {
    index,
    file: `fuzz-${basename(base.name, '.vnnlib')}.vnnlib`,
    mutation: `${base.name}${withModel ? ` (with model sizes ${base.nInputs}/${base.nOutputs})` : ''}: ${what.join(' | ')}`,
    text: t.join(''),
    ...(withModel ? { nInputs: base.nInputs, nOutputs: base.nOutputs } : {}),
  };
}

export function makeCase(target: FuzzTarget, seed: number, index: number): FuzzCase {
  if (target === 'selftest') return { index, file: 'selftest.onnx', mutation: `self-test behaviour ${index % 5}` };
  return target === 'onnx' ? onnxCase(seed, index) : vnnlibCase(seed, index);
}

/** The harness's own test: each way a case can go wrong, on purpose. */
function runSelftest(c: FuzzCase): void {
  switch (c.index % 5) {
    case 1:
      throw new TypeError("Cannot read properties of undefined (reading 'dims')");
    case 2:
      for (;;);
    case 3: {
      const hog: number[][] = [];
      for (;;) hog.push(new Array<number>(1 << 16).fill(hog.length));
    }
    case 4:
      throw new ModelError(c.file, 'is a clean refusal — nothing to do.');
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Running one case, and what counts as a clean error

export type Outcome = 'ok' | 'clean-error' | 'crash' | 'hang' | 'oom';

export interface CaseResult {
  index: number;
  outcome: Outcome;
  /** The error's message (clean errors, crashes), or what stopped the worker. */
  detail?: string;
  /** For a crash: the error type and the top of its stack. */
  stack?: string;
  mutation?: string;
}

/**
 * A clean error is the product's own error type with a message of one line that names the file: ModelError or
 * LimitError (`<file>: ...`), VnnlibError (`<file>:<line>:<col>: ...`). UnsupportedModelError is the bound
 * engine's one-sentence refusal of a model that loaded (it names the nodes; the caller names the file).
 */
export function classifyError(error: unknown, file: string): { outcome: 'clean-error' | 'crash'; detail: string; stack?: string } {
  const name = basename(file);
  if (error instanceof ModelError || error instanceof VnnlibError || error instanceof LimitError || error instanceof UnsupportedModelError) {
    const message = error.message;
    // One printable line: no newline, and no raw control character copied from the corrupt input.
    const oneLine = message.length > 0 && !/[\x00-\x1f\x7f]/.test(message);
    const namesFile = error instanceof UnsupportedModelError || message.startsWith(`${name}:`);
    if (oneLine && namesFile) return { outcome: 'clean-error', detail: message };
    return { outcome: 'crash', detail: `${error.name} is not one sentence naming ${name}: ${JSON.stringify(message.slice(0, 300))}` };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { outcome: 'crash', detail: `${e.name}: ${e.message.slice(0, 300)}`, stack: (e.stack ?? '').split('\n').slice(0, 6).join('\n') };
}

/** Loads the model (inspect, then the IR), and when it loads runs a forward pass and IBP and CROWN bounds on it. */
function runOnnx(c: FuzzCase): void {
  const bytes = c.bytes!;
  try {
    inspectModelBytes(bytes, c.file);
  } catch (error) {
    if (!(error instanceof ModelError)) throw error;
  }
  const model = loadModelBytes(bytes, c.file);
  const g = model.graph;
  if (g.inputs.length !== 1) return;
  const n = sizeOf(g.inputs[0].shape);
  const x = new Float64Array(n).fill(0.5);
  evaluate(g, x, 1, 'float64');
  for (const method of ['ibp', 'crown'] as const) {
    try {
      computeBounds(g, linfBall(x, 0.01), { method });
    } catch (error) {
      if (error instanceof LimitError) throw error.about(c.file);
      throw error;
    }
  }
}

function runVnnlib(c: FuzzCase): void {
  parseVnnlib(c.text!, { file: c.file, nInputs: c.nInputs, nOutputs: c.nOutputs });
}

/** Runs one case in this thread and classifies the outcome (hangs and deaths are the harness's to see). */
export function runCase(target: FuzzTarget, c: FuzzCase): CaseResult {
  try {
    if (target === 'onnx') runOnnx(c);
    else if (target === 'vnnlib') runVnnlib(c);
    else runSelftest(c);
    return { index: c.index, outcome: 'ok' };
  } catch (error) {
    return { index: c.index, ...classifyError(error, c.file) };
  }
}

// ---------------------------------------------------------------------------------------------
// The harness: batches in a worker thread with a heap limit and a per-case time limit

export interface FuzzOptions {
  target: FuzzTarget;
  seed: number;
  /** Cases 0 .. cases − 1 (or only `only`). */
  cases: number;
  only?: number;
  /** Per-case time limit, ms. */
  caseTimeoutMs?: number;
  /** The worker's V8 heap limit, MB. */
  heapMb?: number;
  /** Product limits in the worker (tight by default, so that what passes the checks stays small). */
  limits?: LimitSettings;
}

export interface FuzzReport {
  target: FuzzTarget;
  seed: number;
  run: number;
  counts: Record<Outcome, number>;
  failures: CaseResult[];
  /** A few clean error messages, for the eye. */
  samples: string[];
}

/** Tight product limits for fuzzing: anything that passes them is small enough to run in milliseconds. */
export const FUZZ_LIMITS: LimitSettings = { modelMb: 64, tensorElements: 2 ** 22, domains: 1000, memoryMb: 512 };

/** Messages from the worker. */
export type WorkerMessage = { type: 'start'; index: number; mutation: string } | { type: 'result'; result: CaseResult } | { type: 'done' };

export interface WorkerData {
  target: FuzzTarget;
  seed: number;
  indices: number[];
  limits: LimitSettings;
}

/** Body of the fuzz worker (test/helpers/fuzz-worker.ts). */
export function workerMain(data: WorkerData, post: (m: WorkerMessage) => void): void {
  setLimits(data.limits);
  for (const index of data.indices) {
    let c: FuzzCase;
    try {
      c = makeCase(data.target, data.seed, index);
    } catch (error) {
      // A bug in a mutator, not in the product: reported as a crash all the same, so it gets fixed.
      post({ type: 'start', index, mutation: 'case generation' });
      post({ type: 'result', result: { index, outcome: 'crash', mutation: 'case generation', detail: `the fuzzer's generator failed: ${String(error)}`, stack: error instanceof Error ? error.stack : undefined } });
      continue;
    }
    post({ type: 'start', index, mutation: c.mutation });
    const result = runCase(data.target, c);
    post({ type: 'result', result: result.outcome === 'ok' || result.outcome === 'clean-error' ? result : { ...result, mutation: c.mutation } });
  }
  post({ type: 'done' });
}

/** Runs the cases in a worker; a case that overruns its time or kills the worker is recorded and the rest go on in a new one. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const pending = options.only !== undefined ? [options.only] : Array.from({ length: options.cases }, (_, i) => i);
  const counts: Record<Outcome, number> = { ok: 0, 'clean-error': 0, crash: 0, hang: 0, oom: 0 };
  const failures: CaseResult[] = [];
  const samples: string[] = [];
  const timeoutMs = options.caseTimeoutMs ?? 10_000;
  let cursor = 0;
  while (cursor < pending.length) {
    const indices = pending.slice(cursor);
    const done = await new Promise<number>((resolve) => {
      let finished = 0;
      let current: { index: number; mutation: string } | null = null;
      let timer: NodeJS.Timeout | null = null;
      let settled = false;
      const worker = new Worker(join(__dirname, 'fuzz-worker.ts'), {
        execArgv: ['--require', require.resolve('tsx/cjs')],
        workerData: { target: options.target, seed: options.seed, indices, limits: options.limits ?? FUZZ_LIMITS } satisfies WorkerData,
        resourceLimits: { maxOldGenerationSizeMb: options.heapMb ?? 512, maxYoungGenerationSizeMb: 64, stackSizeMb: 4 },
        stdout: true,
        stderr: true,
      });
      const settle = (n: number) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        void worker.terminate();
        resolve(n);
      };
      const fail = (outcome: Outcome, detail: string) => {
        if (current === null) {
          // Died outside a case (starting, or between two): blame the next case so the run still moves on.
          failures.push({ index: indices[finished], outcome, detail: `the worker died outside a case: ${detail}` });
          counts[outcome]++;
          settle(finished + 1);
          return;
        }
        failures.push({ index: current.index, outcome, detail, mutation: current.mutation });
        counts[outcome]++;
        settle(finished + 1);
      };
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'start') {
          current = { index: m.index, mutation: m.mutation };
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => fail('hang', `no result within ${timeoutMs} ms`), timeoutMs);
        } else if (m.type === 'result') {
          if (timer) clearTimeout(timer);
          finished++;
          current = null;
          counts[m.result.outcome]++;
          if (m.result.outcome === 'clean-error') {
            if (samples.length < 8 && m.result.detail && !samples.some((s) => s.slice(0, 40) === m.result.detail!.slice(0, 40))) samples.push(m.result.detail);
          } else if (m.result.outcome !== 'ok') failures.push(m.result);
        } else settle(finished);
      });
      worker.on('error', (error: Error & { code?: string }) => {
        fail(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'crash', `worker died: ${error.code ?? error.name}: ${error.message}`);
      });
      worker.on('exit', (code) => {
        if (!settled) fail('crash', `worker exited with code ${code}`);
      });
    });
    cursor += done;
  }
  return { target: options.target, seed: options.seed, run: pending.length, counts, failures, samples };
}

/** A failure as a line to read and replay. */
export function describeFailure(report: Pick<FuzzReport, 'target' | 'seed'>, f: CaseResult): string {
  return (
    `${report.target} case ${f.index} (replay: GRAFTCERT_SEED=${report.seed} GRAFTCERT_FUZZ_CASE=${f.index}): ${f.outcome}: ${f.detail ?? ''}` +
    `${f.mutation ? `\n    mutation: ${f.mutation}` : ''}${f.stack ? `\n    ${f.stack.replace(/\n/g, '\n    ')}` : ''}`
  );
}
