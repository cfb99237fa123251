// VNN-LIB editor features: parser diagnostics with ranges, hover on X_i / Y_j, "Verify against <model>" CodeLens, model pairing.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { type CodeLens, type Diagnostic, DiagnosticSeverity, type Hover, MarkupKind, type Position, type Range } from 'vscode-languageserver';
import { parseVnnlib, type VnnlibProperty, VnnlibError } from '../certify/vnnlib/index';
import { isInside, resolveInside } from './contained-path';
import { diagnosticSource, formatBound } from './model-features';

/** What hover needs of the paired model: its input and output tensors. */
export interface PairedShapes {
  model: string;
  input: { name: string; shape: readonly number[] };
  output: { name: string; shape: readonly number[] };
}

export type ParseOutcome = { property: VnnlibProperty; error: null } | { property: null; error: VnnlibError };

export function parseProperty(text: string, file: string, shapes?: PairedShapes): ParseOutcome {
  try {
    const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
    const options = shapes ? { file, nInputs: size(shapes.input.shape), nOutputs: size(shapes.output.shape) } : { file };
    return { property: parseVnnlib(text, options), error: null };
  } catch (error) {
    if (error instanceof VnnlibError) return { property: null, error };
    throw error;
  }
}

/** The range of the token starting at a 1-based line/column: up to the next space or parenthesis, at least one character. */
export function tokenRange(text: string, line1: number, column1: number): Range {
  const lines = text.split('\n');
  const line = Math.max(0, Math.min(line1 - 1, lines.length - 1));
  const lineText = (lines[line] ?? '').replace(/\r$/, '');
  const start = Math.max(0, Math.min(column1 - 1, lineText.length));
  let end = start;
  if (lineText[end] === '(') end++;
  while (end < lineText.length && !/[\s()]/.test(lineText[end])) end++;
  if (end === start) end = Math.min(start + 1, Math.max(lineText.length, start + 1));
  return { start: { line, character: start }, end: { line, character: end } };
}

export function vnnlibDiagnostics(text: string, outcome: ParseOutcome): Diagnostic[] {
  if (outcome.error) {
    const e = outcome.error;
    return [{ range: tokenRange(text, e.line, e.column), severity: DiagnosticSeverity.Error, source: diagnosticSource, code: 'vnnlib-syntax', message: e.reason }];
  }
  return outcome.property.warnings.map((w) => ({
    range: tokenRange(text, w.line, w.column),
    severity: DiagnosticSeverity.Warning,
    source: diagnosticSource,
    code: w.code,
    message: w.count > 1 ? `${w.message} (and ${w.count - 1} more places)` : w.message,
  }));
}

/** C-order multi-index of flat element `index` in a tensor of `shape`. */
export function unflatten(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(0);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] > 0 ? shape[d] : 1;
    out[d] = rest % n;
    rest = Math.floor(rest / n);
  }
  return out;
}

const variableAt = /[XY]_\d+/g;

export function vnnlibHover(text: string, position: Position, outcome: ParseOutcome, shapes?: PairedShapes): Hover | null {
  const lineText = text.split('\n')[position.line] ?? '';
  let match: RegExpExecArray | null;
  variableAt.lastIndex = 0;
  while ((match = variableAt.exec(lineText)) !== null) {
    const start = match.index;
    const end = start + match[0].length;
    if (position.character < start || position.character > end) continue;
    const isInput = match[0][0] === 'X';
    const index = Number(match[0].slice(2));
    const range = { start: { line: position.line, character: start }, end: { line: position.line, character: end } };
    const lines: string[] = [];
    const property = outcome.property;
    const count = property ? (isInput ? property.nInputs : property.nOutputs) : undefined;
    lines.push(`**${match[0]}** — ${isInput ? 'input' : 'output'} element ${index}${count !== undefined ? ` of ${count}` : ''}`);
    const tensor = shapes ? (isInput ? shapes.input : shapes.output) : undefined;
    if (tensor && shapes) {
      lines.push('', `\`${tensor.name}[${unflatten(index, tensor.shape).join(', ')}]\` of ${tensor.name}: [${tensor.shape.join(',')}] in ${basename(shapes.model)} (C order)`);
    }
    if (property && isInput) {
      const boxes = property.specs.slice(0, 5).map((s, k) => {
        const lo = s.box.lower[index];
        const hi = s.box.upper[index];
        const label = property.specs.length > 1 ? `box ${k + 1}: ` : '';
        return lo === undefined ? `${label}not in the property` : `${label}[${formatBound(lo)}, ${formatBound(hi)}] (width ${formatBound(hi - lo)})`;
      });
      if (property.specs.length > 5) boxes.push(`… and ${property.specs.length - 5} more boxes`);
      lines.push('', `bounds: ${boxes.join('; ')}`);
    } else if (property) {
      let used = 0;
      let total = 0;
      for (const s of property.specs)
        for (const d of s.disjuncts) {
          total++;
          for (let r = 0; r < d.rows; r++)
            if (d.A[r * property.nOutputs + index] !== 0) {
              used++;
              break;
            }
        }
      lines.push('', `appears in ${used} of ${total} unsafe-output disjuncts`);
    } else if (outcome.error) {
      lines.push('', `(the property does not parse yet: ${outcome.error.reason})`);
    }
    return { contents: { kind: MarkupKind.Markdown, value: lines.join('\n') }, range };
  }
  return null;
}

/** "Verify against <model>" per paired model (else "choose a model"), then one lens per refused instances.csv path, saying why. */
export function vnnlibCodeLenses(propertyUri: string, models: readonly { path: string; uri: string }[], refused: readonly string[] = []): CodeLens[] {
  const top: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  const lenses: CodeLens[] =
    models.length === 0
      ? [{ range: top, command: { title: '$(play) Verify against… (choose a model)', command: 'graftcert.verifyProperty', arguments: [propertyUri] } }]
      : models.map((m) => ({ range: top, command: { title: `$(play) Verify against ${basename(m.path)}`, command: 'graftcert.verifyProperty', arguments: [propertyUri, m.uri] } }));
  for (const reason of refused) lenses.push({ range: top, command: { title: `$(warning) refused: ${reason}`, command: '' } });
  return lenses;
}

/** Splits one CSV line (no quoted commas in instances.csv files). */
function cells(line: string): string[] {
  return line.split(',').map((c) => c.trim());
}

/**
 * Models paired with a property: rows of an `instances.csv` in its folder or an ancestor (up to the workspace root), then
 * the same-stem `.onnx` beside it. A model path that leaves the workspace folder holding the property (with no workspace:
 * the CSV's folder) — through `..`, as an absolute path, or through a symbolic link — is refused: `refused` says why, one
 * sentence each, and the model is never offered.
 */
export function pairedModels(propertyPath: string, workspaceRoots: readonly string[]): { models: string[]; refused: string[] } {
  const property = resolve(propertyPath);
  const models: string[] = [];
  const refused: string[] = [];
  const root = workspaceRoots.map((r) => resolve(r)).find((r) => isInside(r, property));
  let dir = dirname(property);
  for (let depth = 0; depth < 6; depth++) {
    const csv = join(dir, 'instances.csv');
    if (existsSync(csv)) {
      const allowed = root ?? dir;
      const rows = readFileSync(csv, 'utf8').split(/\r?\n/).map((text, i) => ({ text, line: i + 1 })).filter((r) => r.text.trim() !== '' && !r.text.startsWith('#'));
      let onnxCol = 0;
      let vnnlibCol = 1;
      const head = rows.length > 0 ? cells(rows[0].text) : [];
      if (head.includes('onnx') && head.includes('vnnlib')) {
        onnxCol = head.indexOf('onnx');
        vnnlibCol = head.indexOf('vnnlib');
        rows.shift();
      }
      for (const row of rows) {
        const c = cells(row.text);
        if (c.length <= Math.max(onnxCol, vnnlibCol)) continue;
        const vnnlib = resolve(dir, c[vnnlibCol]);
        if (vnnlib !== property && vnnlib.replace(/\.gz$/, '') !== property.replace(/\.gz$/, '')) continue;
        const where = root === undefined ? "the instances.csv's folder" : 'the workspace folder';
        const onnx = resolveInside(allowed, dir, c[onnxCol], `${relative(allowed, csv) || 'instances.csv'}:${row.line}: the model path "${c[onnxCol]}"`, where);
        if (!onnx.ok) refused.push(onnx.reason);
        else if (!models.includes(onnx.path) && existsSync(onnx.path)) models.push(onnx.path);
      }
      if (models.length > 0) break;
    }
    if (root !== undefined && resolve(dir) === root) break;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const stem = basename(property).replace(/\.gz$/, '');
  const siblingName = `${stem.slice(0, stem.length - extname(stem).length)}.onnx`;
  const sibling = join(dirname(property), siblingName);
  if (existsSync(sibling) && !models.includes(sibling)) {
    // The same-stem model may itself be a link out of the workspace.
    const checked = resolveInside(root ?? dirname(property), dirname(property), siblingName, `the model beside the property, ${siblingName},`, root === undefined ? "the property's folder" : 'the workspace folder');
    if (checked.ok) models.push(sibling);
    else refused.push(checked.reason);
  }
  return { models, refused };
}
