// Loads an ONNX file into the graph IR: decode, resolve attributes and initialisers, then build and check the IR.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { onnx } from 'onnx-proto';
import { buildGraph, type BuildResult, type GraphSource, type SourceValue } from '../ir/build';
import type { AttrValue, DataType, Graph, IRNode, Tensor } from '../ir/graph';
import { supportedOps } from '../ir/ops/index';
import { currentLimits } from '../limits';
import { checkModelSize, dataTypeName, decodeModelProto, decodeTensor, hasField, int64ToNumber, type DecodeContext, type Int64 } from './decode';
import { ModelError } from './errors';

export interface LoadedModel {
  file: string;
  graph: Graph;
  irVersion: number;
  producer: string;
  opsetImports: { domain: string; version: number }[];
  /** Things the user should know that did not prevent loading (e.g. a symbolic batch dimension fixed to 1). */
  notes: string[];
}

/** Everything known about a model file, whether or not it can be built into an IR (inspect shows all of it). */
export interface ModelAnalysis {
  file: string;
  irVersion: number;
  producer: string;
  opsetImports: { domain: string; version: number }[];
  source: GraphSource;
  build: BuildResult;
  /** Problems found while reading tensors and attributes (NaN weights, missing external data...). */
  readProblems: string[];
}

export function loadModelFile(path: string): LoadedModel {
  return loadModelBytes(readModelFile(path), path);
}

/** `file` labels messages; external tensor data is resolved against its folder. */
export function loadModelBytes(bytes: Uint8Array, file: string): LoadedModel {
  const a = analyseModelBytes(bytes, file);
  const problems = [...a.readProblems, ...a.build.problems];
  if (a.build.graph === null || problems.length > 0) {
    throw new ModelError(file, failureSentence(a.build.unsupportedOps, problems), [...a.build.unsupportedOps]);
  }
  return {
    file,
    graph: a.build.graph,
    irVersion: a.irVersion,
    producer: a.producer,
    opsetImports: a.opsetImports,
    notes: [...a.build.notes],
  };
}

/** Read a model file, turning file-system errors into ModelError. */
export function readModelFile(path: string): Uint8Array {
  try {
    // The size is checked before the read: a 40 GB file must not be pulled into memory to be refused.
    const size = statSync(path).size;
    checkModelSize(size, path);
    return readFileSync(path);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a model file' : `cannot be read (${code ?? String(err)})`;
    throw new ModelError(path, `${why} — check the path of the .onnx file.`);
  }
}

/** Decode and analyse; throws ModelError only when the bytes are not a decodable ONNX model. */
export function analyseModelBytes(bytes: Uint8Array, file: string): ModelAnalysis {
  const model = decodeModelProto(bytes, file);
  const ctx: DecodeContext = { file, baseDir: dirname(resolve(file)) };
  const readProblems: string[] = [];
  const opsetImports = (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: int64ToNumber(o.version as Int64) }));
  const defaultOpset = opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!defaultOpset) {
    readProblems.push('the model declares no opset for the default ONNX domain — re-export it with an opset_import entry.');
  }
  const source = graphSource(model.graph!, defaultOpset?.version ?? 0, ctx, readProblems);
  const build = buildGraph(source);
  return {
    file,
    irVersion: int64ToNumber(model.irVersion as Int64),
    producer: [model.producerName, model.producerVersion].filter((s) => s).join(' '),
    opsetImports,
    source,
    build,
    readProblems,
  };
}

const MAX_PROBLEMS_IN_SENTENCE = 3;

/** The one-sentence reason a model cannot be loaded. */
export function failureSentence(unsupportedOps: readonly string[], problems: readonly string[]): string {
  const parts: string[] = [];
  if (unsupportedOps.length > 0) {
    const n = unsupportedOps.length;
    parts.push(
      `${n} unsupported op${n === 1 ? '' : 's'}: ${unsupportedOps.join(', ')} — graftcert can bound ${supportedOps().join(', ')}; re-export the model without ${n === 1 ? 'it' : 'them'}`,
    );
  }
  const shown = problems.slice(0, MAX_PROBLEMS_IN_SENTENCE).map((p) => p.replace(/\.$/, ''));
  if (problems.length > shown.length) shown.push(`and ${problems.length - shown.length} more problems (run graftcert inspect to see them all)`);
  parts.push(...shown);
  return parts.join('; ') + '.';
}

function graphSource(g: onnx.IGraphProto, opset: number, ctx: DecodeContext, problems: string[]): GraphSource {
  const initializers = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) {
    initializers.set(t.name ?? '', readTensor(t, ctx, `initialiser '${t.name ?? ''}'`, problems));
  }
  const nodes: IRNode[] = (g.node ?? []).map((n, index) => {
    const opType = n.opType ?? '';
    const name = n.name || `${opType}_${index}`;
    const attrs: Record<string, AttrValue> = {};
    for (const a of n.attribute ?? []) {
      attrs[a.name ?? ''] = attributeValue(a, ctx, `attribute '${a.name ?? ''}' of node '${name}'`, problems);
    }
    return {
      name,
      opType,
      domain: n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs,
    };
  });
  return {
    name: g.name ?? '',
    opset,
    inputs: (g.input ?? []).map(valueInfo),
    outputs: (g.output ?? []).map(valueInfo),
    nodes,
    initializers,
  };
}

/** Decode a tensor; on failure record the sentence and keep a zero placeholder so shapes still flow. */
function readTensor(t: onnx.ITensorProto, ctx: DecodeContext, label: string, problems: string[]): Tensor {
  try {
    return decodeTensor(t, ctx, label);
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    problems.push(err.reason);
    const dims = (t.dims ?? []).map((d) => int64ToNumber(d as Int64));
    const dtype = dataTypeName(t.dataType ?? 0) ?? 'float32';
    const count = dims.reduce((a, b) => a * b, 1);
    // A corrupt file can claim absurd dimensions: never allocate for those (the IR is not built anyway).
    const placeholder = Number.isSafeInteger(count) && count >= 0 && count <= Math.min(2 ** 26, currentLimits().tensorElements) ? count : 0;
    return { dtype, dims, data: new Float64Array(placeholder) };
  }
}

function valueInfo(v: onnx.IValueInfoProto): SourceValue {
  const tensorType = v.type?.tensorType;
  const dtype: DataType = dataTypeName(tensorType?.elemType ?? 1) ?? 'float32';
  if (!tensorType || !hasField(tensorType, 'shape') || !tensorType.shape) {
    return { name: v.name ?? '', dtype, dims: null };
  }
  const dims = (tensorType.shape.dim ?? []).map((d): number | string | null => {
    if (hasField(d, 'dimValue')) return int64ToNumber(d.dimValue as Int64);
    if (hasField(d, 'dimParam') && d.dimParam) return d.dimParam;
    return null;
  });
  return { name: v.name ?? '', dtype, dims };
}

const A = onnx.AttributeProto.AttributeType;

function attributeValue(a: onnx.IAttributeProto, ctx: DecodeContext, label: string, problems: string[]): AttrValue {
  // Old exporters leave `type` unset; infer it from the field that is present.
  let type = a.type ?? A.UNDEFINED;
  if (type === A.UNDEFINED) {
    if ((a.floats?.length ?? 0) > 0) type = A.FLOATS;
    else if ((a.ints?.length ?? 0) > 0) type = A.INTS;
    else if ((a.strings?.length ?? 0) > 0) type = A.STRINGS;
    else if (hasField(a, 't')) type = A.TENSOR;
    else if (hasField(a, 'g')) type = A.GRAPH;
    else if (hasField(a, 's')) type = A.STRING;
    else if (hasField(a, 'f')) type = A.FLOAT;
    else if (hasField(a, 'i')) type = A.INT;
  }
  switch (type) {
    case A.FLOAT: return { kind: 'float', value: a.f ?? 0 };
    case A.INT: return { kind: 'int', value: int64ToNumber(a.i as Int64) };
    case A.STRING: return { kind: 'string', value: Buffer.from(a.s ?? new Uint8Array()).toString('utf8') };
    case A.TENSOR: return { kind: 'tensor', value: readTensor(a.t ?? {}, ctx, label, problems) };
    case A.FLOATS: return { kind: 'floats', value: [...(a.floats ?? [])] };
    case A.INTS: return { kind: 'ints', value: (a.ints ?? []).map((v) => int64ToNumber(v as Int64)) };
    case A.STRINGS: return { kind: 'strings', value: (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) };
    case A.GRAPH: case A.GRAPHS: return { kind: 'graph' };
    default: return { kind: 'unsupported', type: A[type] ?? String(type) };
  }
}
