// Hover, inlay hints, diagnostics and CodeLens of the model text view, built from a model's printout, inspect report and latest run.
import {
  type CodeLens,
  type Diagnostic,
  DiagnosticSeverity,
  type Hover,
  type InlayHint,
  MarkupKind,
  type Position,
  type Range,
} from 'vscode-languageserver';
import type { ModelAnalysis } from '../onnx/load';
import type { InspectReport } from '../protocol/reports';
import type { LayerRun, ModelRun } from './model-runs';
import { type ModelText, formatAttribute, printModelText, typeName } from './model-text';
import { inspectAnalysis } from '../inspect';

/** Everything the editor features know about one model file. */
export interface ModelEntry {
  /** File system path of the .onnx. */
  file: string;
  /** `file:` URI of the .onnx (the CodeLens commands' argument). */
  uri: string;
  printed: ModelText;
  inspect: InspectReport;
  /** Static shape and type of every value the loader could infer, by value name. */
  values: Map<string, { dtype: string; shape: readonly number[] | null }>;
  /** Each node's attributes as printed (`transB: int = 1`), by node name. */
  attributes: Map<string, string[]>;
  run: ModelRun | null;
}

export interface ModelFeatureSettings {
  /** Share of a layer's neurons (0–1) above which an unstable layer is a warning. */
  unstableShareWarning: number;
}

export const diagnosticSource = 'graftcert';

export function modelEntry(file: string, uri: string, analysis: ModelAnalysis): ModelEntry {
  const inspect = inspectAnalysis(analysis);
  const values = new Map<string, { dtype: string; shape: readonly number[] | null }>();
  for (const [name, t] of analysis.source.initializers) values.set(name, { dtype: typeName(t.dtype), shape: t.dims });
  for (const v of analysis.source.inputs) {
    const dims = v.dims?.every((d) => typeof d === 'number') ? (v.dims as number[]) : null;
    if (!values.has(v.name)) values.set(v.name, { dtype: typeName(v.dtype), shape: dims });
  }
  for (const v of analysis.build.graph?.values.values() ?? []) values.set(v.name, { dtype: typeName(v.dtype), shape: v.shape });
  for (const n of analysis.build.analysis) {
    n.node.outputs.forEach((name, i) => {
      const shape = n.outputShapes[i];
      if (name !== '' && shape) values.set(name, { dtype: values.get(name)?.dtype ?? 'float', shape });
    });
  }
  const attributes = new Map(analysis.source.nodes.map((n) => [n.name, Object.entries(n.attrs).map(([k, v]) => formatAttribute(k, v))]));
  return { file, uri, printed: printModelText(analysis), inspect, values, attributes, run: null };
}

/** Counts are whole numbers for one ball and means (one decimal) over a data set. */
export function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Four significant digits, plain notation for ordinary magnitudes. */
export function formatBound(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '+∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  const text = a >= 1e-3 && a < 1e6 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
  return text.replace(/^-/, '−');
}

export function methodLabel(method: string): string {
  return method === 'ibp' ? 'IBP' : method === 'crown' ? 'CROWN' : method === 'alpha-crown' ? 'α-CROWN' : method;
}

/** `CROWN at ε = 0.02, mean over 100 samples of mnist` */
export function runDescription(run: ModelRun): string {
  const where = run.kind === 'certify' ? `, mean over ${run.samples} samples of ${run.data}${run.cancelled ? ' (cancelled early)' : ''}` : ', one L∞ ball';
  return `${methodLabel(run.method)} at ε = ${run.eps}${where}`;
}

/** `⚠ 37/100 unstable · IBP 61` (and `· 5 grafted`). */
export function layerHintLabel(layer: LayerRun, method: string): string {
  const mark = layer.unstable > 0 ? '⚠' : '✓';
  let label = `${mark} ${formatCount(layer.unstable)}/${layer.size} unstable`;
  if (layer.ibpUnstable !== null && method !== 'ibp') label += ` · IBP ${formatCount(layer.ibpUnstable)}`;
  if (layer.grafted > 0) label += ` · ${formatCount(layer.grafted)} grafted`;
  return label;
}

/** The ReLU pattern node of an exported grafted layer (server/ir/graft-pattern.ts names them `<layer>_graft_*`). */
const graftedReluSuffix = '_graft_relu';

/** The printed node a layer's numbers go on: the node of that name, or for an exported grafted layer its ReLU node. */
function nodeLineOf(entry: ModelEntry, name: string) {
  return entry.printed.nodes.find((n) => n.name === name) ?? entry.printed.nodes.find((n) => n.name === name + graftedReluSuffix);
}

function isLayerNode(layerName: string, nodeName: string): boolean {
  return nodeName === layerName || nodeName === layerName + graftedReluSuffix;
}

function lineEnd(entry: ModelEntry, line: number): number {
  return entry.printed.text.split('\n')[line]?.length ?? 0;
}

/** One hint at the end of each ReLU (or grafted) layer's line, once a run exists. */
export function modelInlayHints(entry: ModelEntry, range?: Range): InlayHint[] {
  const run = entry.run;
  if (run === null) return [];
  const hints: InlayHint[] = [];
  for (const layer of run.layers) {
    const node = nodeLineOf(entry, layer.name);
    if (!node) continue;
    if (range && (node.line < range.start.line || node.line > range.end.line)) continue;
    hints.push({
      position: { line: node.line, character: lineEnd(entry, node.line) },
      label: layerHintLabel(layer, run.method),
      paddingLeft: true,
      tooltip: `${layer.name}: ${formatCount(layer.unstable)} unstable, ${formatCount(layer.active)} active, ${formatCount(layer.inactive)} inactive, ${formatCount(layer.grafted)} grafted of ${layer.size} neurons — ${runDescription(run)}.`,
    });
  }
  return hints;
}

function lineRange(entry: ModelEntry, line: number, start = 0, end?: number): Range {
  return { start: { line, character: start }, end: { line, character: end ?? lineEnd(entry, line) } };
}

/** Where a load problem points: the initialiser or node it names, else the model header. */
function problemRange(entry: ModelEntry, problem: string): Range {
  const init = /initiali[sz]er '([^']*)'/.exec(problem);
  const initLine = init && entry.printed.initializers.find((i) => i.name === init[1]);
  if (initLine) return lineRange(entry, initLine.line, initLine.start, initLine.end);
  const node = /node '([^']*)'/.exec(problem);
  const nodeLine = node && nodeLineOf(entry, node[1]);
  if (nodeLine) return lineRange(entry, nodeLine.line, nodeLine.opStart, nodeLine.opEnd);
  return lineRange(entry, 0);
}

export function modelDiagnostics(entry: ModelEntry, settings: ModelFeatureSettings): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const { inspect } = entry;
  for (const node of inspect.nodes) {
    if (node.supported) continue;
    const line = nodeLineOf(entry, node.name);
    if (!line) continue;
    diagnostics.push({
      range: lineRange(entry, line.line, line.opStart, line.opEnd),
      severity: DiagnosticSeverity.Error,
      source: diagnosticSource,
      code: 'unsupported-op',
      message: `${node.opType} is not supported by graftcert's bound engine (node ${node.name}) — re-export the model without it.`,
    });
  }
  // The first problem restates the unsupported ops, already reported node by node above.
  const problems = inspect.unsupportedOps.length > 0 ? inspect.problems.slice(1) : inspect.problems;
  for (const problem of problems) {
    diagnostics.push({ range: problemRange(entry, problem), severity: DiagnosticSeverity.Error, source: diagnosticSource, code: 'load-problem', message: problem });
  }
  const run = entry.run;
  if (run !== null) {
    for (const layer of run.layers) {
      const share = layer.size > 0 ? layer.unstable / layer.size : 0;
      if (share <= settings.unstableShareWarning) continue;
      const line = nodeLineOf(entry, layer.name);
      if (!line) continue;
      diagnostics.push({
        range: lineRange(entry, line.line, line.opStart, line.opEnd),
        severity: DiagnosticSeverity.Warning,
        source: diagnosticSource,
        code: 'unstable-layer',
        message: `${layer.name}: ${Math.round(share * 100)}% of its ${layer.size} neurons are unstable (${runDescription(run)}; warning above ${Math.round(settings.unstableShareWarning * 100)}%) — graft this layer or certify at a smaller ε.`,
      });
    }
  }
  return diagnostics;
}

export function modelCodeLenses(entry: ModelEntry): CodeLens[] {
  const top = lineRange(entry, 0, 0, 0);
  const lenses: CodeLens[] = [
    { range: top, command: { title: '$(shield) Certify', command: 'graftcert.certifyModel', arguments: [entry.uri] } },
    { range: top, command: { title: '$(git-merge) Graft', command: 'graftcert.graftModel', arguments: [entry.uri] } },
    { range: top, command: { title: '$(graph) Open Report', command: 'graftcert.openReport', arguments: [entry.uri] } },
  ];
  const run = entry.run;
  if (run !== null) {
    const title =
      run.kind === 'certify'
        ? `certified ${percent(run.certifiedAccuracy!)} · clean ${percent(run.cleanAccuracy!)} — ${runDescription(run)}`
        : `bounds: ${run.layers.reduce((s, l) => s + l.unstable, 0)} unstable neurons — ${runDescription(run)}`;
    lenses.push({ range: top, command: { title, command: '' } });
  }
  return lenses;
}

function percent(x: number): string {
  return `${(100 * x).toFixed(1).replace(/\.0$/, '')}%`;
}

function within(position: Position, line: number, start: number, end: number): boolean {
  return position.line === line && position.character >= start && position.character <= end;
}

/**
 * A Markdown code span of text from the model file (names, op types): a fence longer than any backtick run inside, so
 * the text cannot end the span and inject Markdown (links, images) or HTML into the hover.
 */
export function codeSpan(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ');
  const longest = Math.max(0, ...(oneLine.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = longest > 0 || oneLine.startsWith(' ') || oneLine.endsWith(' ') ? ' ' : '';
  return `${fence}${pad}${oneLine}${pad}${fence}`;
}

function valueText(entry: ModelEntry, name: string): string {
  if (name === '') return '(omitted)';
  const v = entry.values.get(name);
  const shape = v?.shape ? `[${v.shape.join(',')}]` : '[?]';
  const range = entry.run?.ranges.get(name);
  const bounds = range ? ` ∈ [${formatBound(range.lower)}, ${formatBound(range.upper)}]` : '';
  return `${codeSpan(name)}: ${v?.dtype ?? 'float'}${shape}${bounds}`;
}

export function modelHover(entry: ModelEntry, position: Position): Hover | null {
  const init = entry.printed.initializers.find((i) => within(position, i.line, i.start, i.end));
  if (init) {
    const v = entry.values.get(init.name);
    const shape = v?.shape ?? [];
    const count = shape.reduce((a, b) => a * b, 1);
    return markdown([`**${codeSpan(init.name)}** — initialiser ${v ? `${v.dtype}[${shape.join(',')}]` : ''}, ${count.toLocaleString('en-US')} weights (values elided)`], lineRange(entry, init.line, init.start, init.end));
  }
  if (position.line === entry.printed.signatureLine) {
    const lines = ['**graph signature**', '', ...entry.inspect.inputs.map((t) => `input ${valueText(entry, t.name)}`), ...entry.inspect.outputs.map((t) => `output ${valueText(entry, t.name)}`)];
    lines.push('', `${entry.inspect.totalParameters.toLocaleString('en-US')} parameters, ${entry.inspect.nodes.length} nodes, ${entry.inspect.reluLayers.length} ReLU layers`);
    return markdown(lines, lineRange(entry, position.line));
  }
  const node = entry.printed.nodes.find((n) => n.line === position.line);
  if (!node) return null;
  const summary = entry.inspect.nodes.find((n) => n.name === node.name);
  const lines: string[] = [];
  const support = summary && !summary.supported ? ' — ⚠ not supported by the bound engine' : '';
  lines.push(`**${codeSpan(node.name)}** · ${codeSpan(node.opType)}${support}`, '');
  for (const name of node.inputs) lines.push(`- in ${valueText(entry, name)}`);
  for (const name of node.outputs) lines.push(`- out ${valueText(entry, name)}`);
  if (summary && summary.parameters > 0) lines.push('', `${summary.parameters.toLocaleString('en-US')} parameters`);
  const attrs = entry.attributes.get(node.name) ?? [];
  if (attrs.length > 0) lines.push('', `attributes: ${attrs.map((a) => codeSpan(a)).join(', ')}`);
  const run = entry.run;
  const layer = run?.layers.find((l) => isLayerNode(l.name, node.name));
  if (run) {
    lines.push('', '---', '', `**${runDescription(run)}**${entry.run?.ranges.size ? ' — value ranges are IBP bounds' : ''}`);
    if (layer) {
      lines.push(
        '',
        `unstable **${formatCount(layer.unstable)}** · active ${formatCount(layer.active)} · inactive ${formatCount(layer.inactive)} · grafted ${formatCount(layer.grafted)} of ${layer.size} neurons`,
      );
      if (layer.ibpUnstable !== null && run.method !== 'ibp') lines.push('', `IBP alone: ${formatCount(layer.ibpUnstable)} unstable`);
    }
  }
  return markdown(lines, lineRange(entry, node.line));
}

function markdown(lines: string[], range: Range): Hover {
  return { contents: { kind: MarkupKind.Markdown, value: lines.join('\n') }, range };
}
