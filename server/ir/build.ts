// Builds the IR Graph from decoded nodes: topological order, static shapes, constant folding, unsupported ops.
import type { DataType, Graph, IRNode, IRValue, Tensor } from './graph';
import { getOp } from './ops/index';
import { recogniseGraftedRelus } from './graft-pattern';
import { OpError, type InputInfo, type Operand, type OutputInfo } from './ops/types';
import { sizeOf } from '../tensor/types';
import { currentLimits, formatCount, raiseHint } from '../limits';

/** A declared graph input or output; `dims` entries are numbers, symbolic names, or null (unknown). */
export interface SourceValue {
  readonly name: string;
  readonly dtype: DataType;
  /** null when the file declares no shape. */
  readonly dims: readonly (number | string | null)[] | null;
}

/** A graph as the file describes it, before any analysis (format-independent). */
export interface GraphSource {
  readonly name: string;
  readonly opset: number;
  /** Declared graph inputs, initialisers included where the file lists them. */
  readonly inputs: readonly SourceValue[];
  readonly outputs: readonly SourceValue[];
  /** Nodes in file order. */
  readonly nodes: readonly IRNode[];
  readonly initializers: ReadonlyMap<string, Tensor>;
}

/** What happened to one source node. */
export type NodeFate =
  | 'kept' // in the IR, evaluated at run time
  | 'constant' // a Constant node: its value is in `constants`
  | 'folded' // all inputs constant: evaluated at load time
  | 'removed' // Identity/Dropout rewired away
  | 'unsupported' // op not in the registry
  | 'failed'; // shape inference or folding raised a problem, or its inputs are unknown

export interface NodeAnalysis {
  readonly node: IRNode;
  readonly fate: NodeFate;
  /** Static shape of each output; null where it could not be inferred. */
  readonly outputShapes: readonly (readonly number[] | null)[];
}

export interface BuildResult {
  /** The IR, or null when `problems` or `unsupportedOps` is non-empty. */
  readonly graph: Graph | null;
  /** Every source node, in topological order (nodes on a cycle last, in file order). */
  readonly analysis: readonly NodeAnalysis[];
  /** Initialisers, Constant outputs and folded values. */
  readonly constants: ReadonlyMap<string, Tensor>;
  /** Distinct unsupported op types, in order of first appearance. */
  readonly unsupportedOps: readonly string[];
  /** Problems that prevent building the IR, one clause each ("what is wrong — what to do"). */
  readonly problems: readonly string[];
  /** Things the user should know that do not prevent loading (e.g. the batch dimension was fixed to 1). */
  readonly notes: readonly string[];
  /** Graph inputs (initialisers excluded) with their resolved shape; null where it cannot be resolved. */
  readonly inputs: readonly { readonly name: string; readonly dtype: DataType; readonly shape: readonly number[] | null }[];
}

/** The name an unsupported op is reported under: `Foo` in the default domain, `com.x.Foo` elsewhere. */
export function opLabel(node: Pick<IRNode, 'opType' | 'domain'>): string {
  const opType = node.opType === '' ? '(empty op type)' : node.opType.replace(/[\x00-\x1f\x7f]/g, '?');
  return isDefaultDomain(node.domain) ? opType : `${node.domain.replace(/[\x00-\x1f\x7f]/g, '?')}.${opType}`;
}

function isDefaultDomain(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

export function buildGraph(source: GraphSource): BuildResult {
  const problems: string[] = [];
  const notes: string[] = [];
  const unsupported: string[] = [];
  const maxElements = currentLimits().tensorElements;
  const constants = new Map<string, Tensor>(source.initializers);
  /** Static shape and type of every known value (constants included). */
  const known = new Map<string, { shape: readonly number[]; dtype: DataType }>();
  for (const [name, t] of constants) known.set(name, { shape: t.dims, dtype: t.dtype });

  // Graph inputs minus initialisers; batch dimension resolved to 1.
  const inputs: IRValue[] = [];
  const resolvedInputs: BuildResult['inputs'][number][] = [];
  for (const v of source.inputs) {
    if (constants.has(v.name)) continue;
    let shape = resolveInputShape(v, problems, notes);
    if (shape && !(sizeOf(shape) <= maxElements)) {
      problems.push(`graph input '${v.name}' has shape [${shape.join(', ')}], ${formatCount(sizeOf(shape))} elements, over the ${formatCount(maxElements)}-element tensor limit — ${raiseHint('tensorElements')}, or re-export the model with the intended input shape.`);
      shape = null;
    }
    inputs.push({ name: v.name, dtype: v.dtype, shape: shape ?? [] });
    resolvedInputs.push({ name: v.name, dtype: v.dtype, shape });
    if (shape) known.set(v.name, { shape, dtype: v.dtype });
  }
  const inputNames = new Set(source.inputs.map((v) => v.name));

  const order = topologicalOrder(source, inputNames, problems);
  if (source.outputs.length === 0) {
    problems.push('the graph declares no outputs, so nothing can be evaluated or bounded — re-export the model with its output listed in graph.output.');
  }

  const analysis: NodeAnalysis[] = [];
  const kept: IRNode[] = [];
  /** Identity/Dropout outputs rewired to their input. */
  const alias = new Map<string, string>();
  const resolveName = (n: string): string => alias.get(n) ?? n;

  for (const index of order.sorted) {
    const original = source.nodes[index];
    const node: IRNode = { ...original, inputs: original.inputs.map((n) => (n === '' ? '' : resolveName(n))) };
    const record = (fate: NodeFate, outputShapes: (readonly number[] | null)[]) =>
      analysis.push({ node: original, fate, outputShapes });

    if (isDefaultDomain(node.domain) && node.opType === 'Constant') {
      const value = constantNodeValue(node, problems);
      if (value && node.outputs[0]) {
        constants.set(node.outputs[0], value);
        known.set(node.outputs[0], { shape: value.dims, dtype: value.dtype });
        record('constant', [value.dims]);
      } else record('failed', node.outputs.map(() => null));
      continue;
    }

    const inputInfos: (InputInfo | undefined)[] = [];
    let inputsKnown = true;
    for (const name of node.inputs) {
      if (name === '') {
        inputInfos.push(undefined);
        continue;
      }
      const k = known.get(name);
      if (!k) {
        inputsKnown = false;
        inputInfos.push(undefined);
        continue;
      }
      const c = constants.get(name);
      inputInfos.push(c ? { shape: k.shape, dtype: k.dtype, constant: c } : { shape: k.shape, dtype: k.dtype });
    }

    if (isDefaultDomain(node.domain) && isPassThrough(node, source)) {
      const from = node.inputs[0];
      alias.set(node.outputs[0], from);
      const k = known.get(from);
      if (k) known.set(node.outputs[0], k);
      const c = constants.get(from);
      if (c) constants.set(node.outputs[0], c);
      record('removed', [k ? k.shape : null, ...node.outputs.slice(1).map(() => null)]);
      continue;
    }

    const op = getOp(node.opType, node.domain);
    const builtIn = isDefaultDomain(node.domain) && (node.opType === 'Shape' || node.opType === 'Size');
    if (!op && !builtIn) {
      const label = opLabel(node);
      if (!unsupported.includes(label)) unsupported.push(label);
      record('unsupported', node.outputs.map(() => null));
      continue;
    }
    if (!inputsKnown) {
      record('failed', node.outputs.map(() => null));
      continue;
    }

    // Shape and Size of a value with a static shape are constants (every IR shape is static).
    if (builtIn) {
      const data = inputInfos[0];
      if (data === undefined) {
        problems.push(nodeProblem(node, new Error(`${node.opType} needs its data input, and this one has none`)));
        record('failed', node.outputs.map(() => null));
        continue;
      }
      const value = shapeOrSize(node, data.shape, source.opset);
      constants.set(node.outputs[0], value);
      known.set(node.outputs[0], { shape: value.dims, dtype: 'int64' });
      record('folded', [value.dims]);
      continue;
    }

    let infos: OutputInfo[];
    try {
      infos = op!.inferShapes(node, inputInfos, source.opset);
      // Before anything is allocated for them (folding, evaluation): shapes computed from a file's constants.
      for (const info of infos) checkOutputShape(info.shape, maxElements);
    } catch (err) {
      problems.push(nodeProblem(node, err));
      record('failed', node.outputs.map(() => null));
      continue;
    }
    node.outputs.forEach((name, i) => {
      if (name !== '' && infos[i]) known.set(name, { shape: infos[i].shape, dtype: infos[i].dtype });
    });

    const allConstant = node.inputs.every((n) => n === '' || constants.has(n));
    if (allConstant) {
      try {
        const operands: (Operand | undefined)[] = node.inputs.map((n) => {
          if (n === '') return undefined;
          const c = constants.get(n)!;
          return { shape: c.dims, data: c.data, constant: true, dtype: c.dtype };
        });
        const results = op!.forward(node, operands, infos.map((o) => o.shape), 1, 'float64', source.opset);
        node.outputs.forEach((name, i) => {
          if (name === '' || !infos[i]) return;
          const data = results[i] instanceof Float64Array ? (results[i] as Float64Array) : Float64Array.from(results[i]);
          constants.set(name, { dtype: infos[i].dtype, dims: infos[i].shape, data });
        });
        record('folded', infos.map((o) => o.shape));
      } catch (err) {
        problems.push(nodeProblem(node, err));
        record('failed', infos.map((o) => o.shape));
      }
      continue;
    }
    kept.push(node);
    record('kept', node.outputs.map((_, i) => infos[i]?.shape ?? null));
  }
  for (const index of order.cyclic) {
    const node = source.nodes[index];
    analysis.push({ node, fate: 'failed', outputShapes: node.outputs.map(() => null) });
  }

  // Graph outputs keep their names: an output rewired by Identity/Dropout removal gets its producer renamed.
  const outputs: IRValue[] = [];
  const outputNames = new Set(source.outputs.map((o) => o.name));
  const renamed = new Map<string, string>();
  for (const out of source.outputs) {
    let target = resolveName(out.name);
    target = renamed.get(target) ?? target;
    if (target !== out.name && !constants.has(out.name)) {
      const producer = kept.findIndex((n) => n.outputs.includes(target));
      if (producer >= 0 && !outputNames.has(target) && !inputNames.has(target)) {
        renameValue(kept, target, out.name);
        renamed.set(target, out.name);
      } else if (known.has(target)) {
        // Output is a graph input or another output: keep an explicit copy.
        kept.push({ name: `Identity_${out.name}`, opType: 'Identity', domain: '', inputs: [target], outputs: [out.name], attrs: {} });
        if (!getOp('Identity', '') && !unsupported.includes('Identity')) unsupported.push('Identity');
      }
      target = out.name;
    }
    const k = known.get(out.name) ?? known.get(target);
    if (!k) {
      if (!order.producers.has(out.name) && !inputNames.has(out.name) && !constants.has(out.name)) {
        problems.push(`graph output '${out.name}' is produced by no node — re-export the model.`);
      }
      outputs.push({ name: out.name, dtype: out.dtype, shape: [] });
      continue;
    }
    outputs.push({ name: out.name, dtype: k.dtype, shape: k.shape });
  }

  const values = new Map<string, IRValue>();
  for (const v of inputs) values.set(v.name, v);
  for (const n of kept) {
    for (const name of n.outputs) {
      const k = known.get(name);
      if (name !== '' && k && !constants.has(name)) values.set(name, { name, dtype: k.dtype, shape: k.shape });
    }
  }

  if (unsupported.length > 0 || problems.length > 0) {
    return { graph: null, analysis, constants, unsupportedOps: unsupported, problems, notes, inputs: resolvedInputs };
  }
  const { graph, grafts } = recogniseGraftedRelus({
    name: source.name,
    opset: source.opset,
    inputs,
    outputs,
    nodes: kept,
    constants,
    values,
  });
  if (grafts.length > 0) {
    const total = grafts.reduce((s, g) => s + g.grafted, 0);
    notes.push(`${grafts.length} grafted ReLU layer${grafts.length === 1 ? '' : 's'} (${grafts.map((g) => `${g.node}: ${g.grafted}/${g.size}`).join(', ')}; ${total} neurons) recognised in the Mul/Relu/Add pattern graftcert exports; their neurons are linear, bounded exactly and never unstable.`);
  }
  return { graph, analysis, constants, unsupportedOps: unsupported, problems, notes, inputs: resolvedInputs };
}

function resolveInputShape(v: SourceValue, problems: string[], notes: string[]): number[] | null {
  if (v.dims === null) {
    problems.push(`graph input '${v.name}' declares no shape, so graftcert has dynamic shapes that cannot be resolved — re-export the model with a fixed input shape.`);
    return null;
  }
  const shape: number[] = [];
  const dynamic: string[] = [];
  v.dims.forEach((d, i) => {
    const fixed = typeof d === 'number' && d > 0;
    if (fixed) {
      shape.push(d);
    } else if (i === 0 && v.dims!.length > 1) {
      shape.push(1);
      notes.push(`input '${v.name}' has a ${describeDim(d)} batch dimension; graftcert evaluates it with batch 1.`);
    } else {
      shape.push(1);
      dynamic.push(`dimension ${i} (${describeDim(d)})`);
    }
  });
  if (dynamic.length > 0) {
    problems.push(`graph input '${v.name}' has dynamic shapes that cannot be resolved: ${dynamic.join(', ')} — re-export the model with a fixed input shape (only the first, batch, dimension may be symbolic).`);
    return null;
  }
  return shape;
}

/** An inferred output shape must be whole non-negative sizes within the tensor limit. */
function checkOutputShape(shape: readonly number[], maxElements: number): void {
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new OpError(`its output shape [${shape.join(', ')}] has a size that is not a non-negative integer`);
  }
  const n = sizeOf(shape);
  if (!(n <= maxElements)) {
    throw new OpError(`its output would have shape [${shape.join(', ')}], ${formatCount(n)} elements, over the ${formatCount(maxElements)}-element tensor limit (${raiseHint('tensorElements')})`);
  }
}

function describeDim(d: number | string | null): string {
  if (typeof d === 'string') return `symbolic '${d}'`;
  if (d === 0) return 'zero';
  return 'unknown';
}

function nodeProblem(node: IRNode, err: unknown): string {
  const msg = (err instanceof OpError || err instanceof Error ? err.message : String(err))
    .replace(/\s*\(node '[^']*'\)\s*$/, '') // this sentence names the node already
    .replace(/\.$/, '');
  return `node '${node.name}' (${node.opType}): ${msg} — check the model with onnx.checker or re-export it.`;
}

/** Identity, and Dropout whose mask output is unused, are rewired away (inference semantics). */
function isPassThrough(node: IRNode, source: GraphSource): boolean {
  if (node.opType === 'Identity') return node.inputs.length >= 1 && node.inputs[0] !== '';
  if (node.opType !== 'Dropout') return false;
  if (node.inputs.length < 1 || node.inputs[0] === '') return false;
  const mask = node.outputs[1];
  if (!mask) return true;
  const used = source.nodes.some((n) => n.inputs.includes(mask)) || source.outputs.some((o) => o.name === mask);
  return !used;
}

function renameValue(nodes: IRNode[], from: string, to: string): void {
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (!n.outputs.includes(from) && !n.inputs.includes(from)) continue;
    nodes[i] = {
      ...n,
      inputs: n.inputs.map((x) => (x === from ? to : x)),
      outputs: n.outputs.map((x) => (x === from ? to : x)),
    };
  }
}

function shapeOrSize(node: IRNode, shape: readonly number[], opset: number): Tensor {
  if (node.opType === 'Size') return { dtype: 'int64', dims: [], data: Float64Array.of(sizeOf(shape)) };
  const rank = shape.length;
  const attrInt = (name: string, fallback: number): number => {
    const a = node.attrs[name];
    return a && a.kind === 'int' && opset >= 15 ? a.value : fallback;
  };
  const clamp = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const start = clamp(attrInt('start', 0));
  const end = clamp(attrInt('end', rank));
  const dims = shape.slice(start, Math.max(start, end));
  return { dtype: 'int64', dims: [dims.length], data: Float64Array.from(dims) };
}

function constantNodeValue(node: IRNode, problems: string[]): Tensor | null {
  const a = node.attrs;
  const v = a.value ?? a.value_float ?? a.value_floats ?? a.value_int ?? a.value_ints;
  if (v) {
    switch (v.kind) {
      case 'tensor': return v.value;
      case 'float': return { dtype: 'float32', dims: [], data: Float64Array.of(v.value) };
      case 'floats': return { dtype: 'float32', dims: [v.value.length], data: Float64Array.from(v.value) };
      case 'int': return { dtype: 'int64', dims: [], data: Float64Array.of(v.value) };
      case 'ints': return { dtype: 'int64', dims: [v.value.length], data: Float64Array.from(v.value) };
      default: break;
    }
  }
  const kinds = Object.keys(a).join(', ') || 'no value';
  problems.push(`Constant node '${node.name}' holds ${kinds}, which graftcert cannot use as a numeric constant — re-export the model with dense tensor constants.`);
  return null;
}

interface Order {
  /** Node indices in topological order. */
  readonly sorted: number[];
  /** Nodes that could not be ordered (on or behind a cycle), file order. */
  readonly cyclic: number[];
  readonly producers: ReadonlyMap<string, number>;
}

/** Kahn's algorithm, stable in file order; records dangling inputs, duplicate producers and cycles as problems. */
function topologicalOrder(source: GraphSource, inputNames: ReadonlySet<string>, problems: string[]): Order {
  const nodes = source.nodes;
  const producers = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const out of n.outputs) {
      if (out === '') continue;
      const prev = producers.get(out);
      if (prev !== undefined) {
        problems.push(`value '${out}' is produced by two nodes, '${nodes[prev].name}' and '${n.name}' — the graph is malformed; re-export the model.`);
      } else producers.set(out, i);
    }
  });
  const deps: number[][] = nodes.map(() => []);
  const users: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    for (const name of n.inputs) {
      if (name === '') continue;
      const p = producers.get(name);
      if (p !== undefined) {
        if (!deps[i].includes(p)) {
          deps[i].push(p);
          users[p].push(i);
        }
      } else if (!inputNames.has(name) && !source.initializers.has(name)) {
        problems.push(`node '${n.name}' (${n.opType}) reads '${name}', which no node, graph input or initialiser provides (a dangling input) — re-export the model.`);
      }
    }
  });
  const remaining = deps.map((d) => d.length);
  const ready: number[] = [];
  remaining.forEach((r, i) => { if (r === 0) ready.push(i); });
  const sorted: number[] = [];
  while (ready.length > 0) {
    // Smallest file index first keeps the order a user sees in the file.
    let best = 0;
    for (let k = 1; k < ready.length; k++) if (ready[k] < ready[best]) best = k;
    const i = ready.splice(best, 1)[0];
    sorted.push(i);
    for (const u of users[i]) if (--remaining[u] === 0) ready.push(u);
  }
  const placed = new Set(sorted);
  const cyclic = nodes.map((_, i) => i).filter((i) => !placed.has(i));
  if (cyclic.length > 0) {
    const left = new Set(cyclic);
    // Walk back through unplaced predecessors until a node repeats: that walk closes a cycle.
    const path: number[] = [];
    const seen = new Map<number, number>();
    let cur = cyclic[0];
    while (!seen.has(cur)) {
      seen.set(cur, path.length);
      path.push(cur);
      cur = deps[cur].find((d) => left.has(d))!;
    }
    const found = path.slice(seen.get(cur)).reverse();
    // Start the cycle at its first node in file order.
    const first = found.indexOf(Math.min(...found));
    const cycle = [...found.slice(first), ...found.slice(0, first)];
    const names = cycle.map((i) => `'${nodes[i].name}'`).join(' → ');
    problems.push(`the graph has a cycle (${names} → '${nodes[cycle[0]].name}'), so it has no evaluation order — re-export the model; ONNX graphs must be acyclic.`);
  }
  return { sorted, cyclic, producers };
}
