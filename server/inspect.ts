// `inspect`: what a model file contains (inputs, nodes, ReLU layers, parameters, what stops it loading), never throwing for a bad model.
import { basename } from 'node:path';
import type { InspectReport, NodeSummary, ReluLayerSummary, TensorSummary } from './protocol/reports';
import { analyseModelBytes, failureSentence, readModelFile, type ModelAnalysis } from './onnx/load';
import { sizeOf } from './tensor/types';

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/** Throws ModelError only when the file cannot be read or decoded as ONNX at all. */
export function inspectModelFile(path: string): InspectReport {
  return inspectAnalysis(analyseModelBytes(readModelFile(path), path));
}

export function inspectModelBytes(bytes: Uint8Array, file: string): InspectReport {
  return inspectAnalysis(analyseModelBytes(bytes, file));
}

export function inspectAnalysis(a: ModelAnalysis): InspectReport {
  const { build, source } = a;
  const shapes = new Map<string, readonly number[]>();
  for (const [name, t] of build.constants) shapes.set(name, t.dims);
  for (const v of build.graph?.values.values() ?? []) shapes.set(v.name, v.shape);
  for (const n of build.analysis) {
    n.node.outputs.forEach((name, i) => {
      const s = n.outputShapes[i];
      if (name !== '' && s) shapes.set(name, s);
    });
  }

  const inputs: TensorSummary[] = build.inputs.map((v) => {
    const declared = source.inputs.find((d) => d.name === v.name)?.dims ?? [];
    // Unresolvable dimensions show as -1 ("?" in the table).
    const shape = v.shape ? [...v.shape] : declared.map((d) => (typeof d === 'number' && d > 0 ? d : -1));
    return { name: v.name, dtype: v.dtype, shape };
  });
  const outputs: TensorSummary[] = source.outputs.map((v) => {
    const known = shapes.get(v.name);
    const shape = known ? [...known] : (v.dims ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : -1));
    return { name: v.name, dtype: v.dtype, shape };
  });

  const counted = new Set<string>();
  let totalParameters = 0;
  const nodes: NodeSummary[] = build.analysis.map(({ node, fate, outputShapes }) => {
    let parameters = 0;
    // Constant, folded and rewired nodes hold no weights of their own: their consumers count what they read.
    if (fate !== 'constant' && fate !== 'folded' && fate !== 'removed') {
      for (const name of node.inputs) {
        const t = build.constants.get(name);
        if (!t || !FLOAT_TYPES.has(t.dtype)) continue;
        const n = sizeOf(t.dims);
        parameters += n;
        if (!counted.has(name)) {
          counted.add(name);
          totalParameters += n;
        }
      }
    }
    const first = outputShapes[0];
    return {
      name: node.name,
      opType: node.opType,
      inputs: [...node.inputs],
      outputs: [...node.outputs],
      outputShape: first ? [...first] : null,
      parameters,
      supported: fate !== 'unsupported',
    };
  });

  // From the built IR when there is one: there, exported grafted ReLUs are recognised as GraftedRelu nodes.
  const reluNodes = build.graph !== null
    ? build.graph.nodes.filter((node) => (node.opType === 'Relu' && (node.domain === '' || node.domain === 'ai.onnx')) || node.opType === 'GraftedRelu')
    : build.analysis.map(({ node }) => node).filter((node) => node.opType === 'Relu' && (node.domain === '' || node.domain === 'ai.onnx'));
  const reluLayers: ReluLayerSummary[] = reluNodes.map((node) => {
    const pre = node.inputs[0] ?? '';
    const shape = shapes.get(pre);
    const size = shape ? (shape.length >= 2 ? sizeOf(shape.slice(1)) : sizeOf(shape)) : 0;
    const mask = node.opType === 'GraftedRelu' ? build.graph?.constants.get(node.inputs[1] ?? '') : undefined;
    const grafted = mask === undefined ? 0 : mask.data.length === 1 ? (mask.data[0] !== 0 ? size : 0) : mask.data.reduce((n, m) => n + (m !== 0 ? 1 : 0), 0);
    return { name: node.name, preActivation: pre, size, grafted };
  });

  const problems: string[] = [];
  if (build.unsupportedOps.length > 0) problems.push(failureSentence(build.unsupportedOps, []));
  problems.push(...a.readProblems, ...build.problems);

  return {
    file: a.file,
    irVersion: a.irVersion,
    producer: a.producer,
    opset: source.opset,
    inputs,
    outputs,
    nodes,
    reluLayers,
    totalParameters,
    unsupportedOps: [...build.unsupportedOps],
    problems,
    notes: [...build.notes],
  };
}

function shapeText(shape: readonly number[] | null): string {
  if (shape === null) return '?';
  return `[${shape.map((d) => (d < 0 ? '?' : String(d))).join(', ')}]`;
}

function table(rows: string[][], indent = '  '): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

/** The human-readable inspect table (the CLI's non-JSON output). */
export function formatInspect(report: InspectReport): string {
  const lines: string[] = [];
  lines.push(`${basename(report.file)}: ONNX IR ${report.irVersion}, opset ${report.opset}${report.producer ? `, produced by ${report.producer}` : ''}`);
  lines.push('', 'inputs:');
  lines.push(...table(report.inputs.map((v) => [v.name, v.dtype, shapeText(v.shape)])));
  lines.push('', 'outputs:');
  lines.push(...table(report.outputs.map((v) => [v.name, v.dtype, shapeText(v.shape)])));
  lines.push('', `nodes (${report.nodes.length}):`);
  if (report.nodes.length > 0) {
    const rows = [['#', 'name', 'op', 'output shape', 'parameters']];
    report.nodes.forEach((n, i) => {
      rows.push([String(i + 1), n.name, n.supported ? n.opType : `${n.opType} (unsupported)`, shapeText(n.outputShape), n.parameters ? n.parameters.toLocaleString('en-US') : '']);
    });
    lines.push(...table(rows));
  }
  const neurons = report.reluLayers.reduce((s, l) => s + l.size, 0);
  lines.push('', `ReLU layers (${report.reluLayers.length}, ${neurons.toLocaleString('en-US')} neurons):`);
  if (report.reluLayers.length > 0) {
    const anyGrafted = report.reluLayers.some((l) => l.grafted > 0);
    const rows = [['#', 'name', 'size', ...(anyGrafted ? ['grafted'] : []), 'pre-activation']];
    report.reluLayers.forEach((l, i) => rows.push([String(i + 1), l.name, String(l.size), ...(anyGrafted ? [String(l.grafted)] : []), l.preActivation]));
    lines.push(...table(rows));
  }
  lines.push('', `total parameters: ${report.totalParameters.toLocaleString('en-US')}`);
  lines.push(`unsupported ops: ${report.unsupportedOps.length > 0 ? report.unsupportedOps.join(', ') : 'none'}`);
  if (report.problems.length > 0) {
    lines.push('problems:');
    for (const p of report.problems) lines.push(`  - ${p}`);
  }
  for (const n of report.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}
