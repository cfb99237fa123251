// Prints a model in ONNX's textual syntax (as onnx.printer does, weights elided) and records where each node landed.
import type { SourceValue } from '../ir/build';
import type { AttrValue, DataType, IRNode, Tensor } from '../ir/graph';
import type { ModelAnalysis } from '../onnx/load';

/** Where one node is in the printed text (0-based lines and UTF-16 columns, as LSP counts them). */
export interface NodeLine {
  name: string;
  opType: string;
  line: number;
  /** Columns of the op type on its line. */
  opStart: number;
  opEnd: number;
  inputs: readonly string[];
  outputs: readonly string[];
}

export interface InitializerLine {
  name: string;
  line: number;
  start: number;
  end: number;
}

export interface ModelText {
  text: string;
  /** The `graph_name (inputs) => (outputs)` line. */
  signatureLine: number;
  /** Every node, in file order. */
  nodes: NodeLine[];
  initializers: InitializerLine[];
}

const indent = '   ';
/** Tensors (in attributes) with more elements than this print as `{...}`. */
const maxPrintedElements = 16;
/** An initialiser list longer than this goes one declaration per line. */
const maxInlineWidth = 100;

/** ONNX text syntax type names (onnx/defs/parser.h PrimitiveTypeNameMap). */
const typeNames: Record<DataType, string> = {
  float32: 'float', float64: 'double', float16: 'float16', bfloat16: 'bfloat16',
  int8: 'int8', int16: 'int16', int32: 'int32', int64: 'int64',
  uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64',
  bool: 'bool', string: 'string',
};

export function typeName(dtype: DataType): string {
  return typeNames[dtype] ?? dtype;
}

/** `float[1,4]`; a value with no declared shape prints `float[]` and an unknown dimension `?`, as onnx.printer does. */
export function valueType(value: Pick<SourceValue, 'dtype' | 'dims'>): string {
  if (value.dims === null) return `${typeName(value.dtype)}[]`;
  if (value.dims.length === 0) return typeName(value.dtype);
  return `${typeName(value.dtype)}[${value.dims.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

export function tensorType(t: Pick<Tensor, 'dtype' | 'dims'>): string {
  return t.dims.length === 0 ? typeName(t.dtype) : `${typeName(t.dtype)}[${t.dims.join(',')}]`;
}

export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(7)));
}

function quoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function tensorLiteral(t: Tensor): string {
  const n = t.data.length;
  if (n > maxPrintedElements || n === 0) return `${tensorType(t)} {...}`;
  return `${tensorType(t)} {${Array.from(t.data, formatNumber).join(',')}}`;
}

/** `transB: int = 1`, the newer onnx.printer form that names the attribute type. */
export function formatAttribute(name: string, a: AttrValue): string {
  switch (a.kind) {
    case 'int': return `${name}: int = ${a.value}`;
    case 'float': return `${name}: float = ${formatNumber(a.value)}`;
    case 'string': return `${name}: string = ${quoted(a.value)}`;
    case 'ints': return `${name}: ints = [${a.value.join(', ')}]`;
    case 'floats': return `${name}: floats = [${a.value.map(formatNumber).join(', ')}]`;
    case 'strings': return `${name}: strings = [${a.value.map(quoted).join(', ')}]`;
    case 'tensor': return `${name}: tensor = ${tensorLiteral(a.value)}`;
    case 'graph': return `${name}: graph = {...}`;
    case 'unsupported': return `${name}: ${a.type.toLowerCase()} = ...`;
  }
}

/** The printed node line (without indentation) and where its op type starts in it. */
export function formatNode(node: IRNode): { text: string; opStart: number; opEnd: number } {
  const lhs = `${node.outputs.join(', ')} = `;
  const op = `${node.domain !== '' && node.domain !== 'ai.onnx' ? `${node.domain}.` : ''}${node.opType}`;
  const attrs = Object.entries(node.attrs);
  const attrText = attrs.length > 0 ? ` <${attrs.map(([k, v]) => formatAttribute(k, v)).join(', ')}>` : '';
  const text = `${lhs}${op}${attrText} (${node.inputs.join(', ')})`;
  const opEnd = lhs.length + op.length;
  return { text, opStart: opEnd - node.opType.length, opEnd };
}

/** The model in ONNX's textual syntax; initialisers are declared with their shapes, their values elided. */
export function printModelText(analysis: ModelAnalysis): ModelText {
  const { source } = analysis;
  const lines: string[] = [];
  lines.push('<');
  const header = [`${indent}ir_version: ${analysis.irVersion}`];
  const opsets = analysis.opsetImports.map((o) => `${quoted(o.domain)} : ${o.version}`).join(', ');
  header.push(`${indent}opset_import: [${opsets}]`);
  const producer = analysis.producer.split(' ');
  if (analysis.producer !== '') header.push(`${indent}producer_name: ${quoted(producer[0])}`);
  if (producer.length > 1) header.push(`${indent}producer_version: ${quoted(producer.slice(1).join(' '))}`);
  header.forEach((h, i) => lines.push(h + (i < header.length - 1 ? ',' : '')));
  lines.push('>');

  const inputs = source.inputs.filter((v) => !source.initializers.has(v.name));
  const graphName = source.name !== '' ? source.name : 'graph';
  const signatureLine = lines.length;
  const list = (values: readonly SourceValue[]) => `(${values.map((v) => `${valueType(v)} ${v.name}`).join(', ')})`;
  lines.push(`${graphName} ${list(inputs)} => ${list(source.outputs)}`);

  const initializers: InitializerLine[] = [];
  const declarations = [...source.initializers].map(([name, t]) => ({ name, text: `${tensorType(t)} ${name}` }));
  if (declarations.length > 0) {
    const inline = `${indent}<${declarations.map((d) => d.text).join(', ')}>`;
    if (inline.length <= maxInlineWidth) {
      let column = indent.length + 1;
      for (const d of declarations) {
        const start = column + d.text.length - d.name.length;
        initializers.push({ name: d.name, line: lines.length, start, end: start + d.name.length });
        column += d.text.length + 2;
      }
      lines.push(inline);
    } else {
      lines.push(`${indent}<`);
      declarations.forEach((d, i) => {
        const start = 2 * indent.length + d.text.length - d.name.length;
        initializers.push({ name: d.name, line: lines.length, start, end: start + d.name.length });
        lines.push(`${indent}${indent}${d.text}${i < declarations.length - 1 ? ',' : ''}`);
      });
      lines.push(`${indent}>`);
    }
  }

  lines.push('{');
  const nodes: NodeLine[] = source.nodes.map((node) => {
    const printed = formatNode(node);
    const line = lines.length;
    lines.push(indent + printed.text);
    return {
      name: node.name,
      opType: node.opType,
      line,
      opStart: indent.length + printed.opStart,
      opEnd: indent.length + printed.opEnd,
      inputs: node.inputs,
      outputs: node.outputs,
    };
  });
  lines.push('}');
  return { text: lines.join('\n') + '\n', signatureLine, nodes, initializers };
}
