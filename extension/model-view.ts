// The read-only `graftcert-model:` documents: the model in ONNX's textual syntax (from the backend), and the inspect table.
import * as vscode from 'vscode';
import type { InspectReport } from '../server/protocol/reports';
import type { ModelTextResult } from '../server/protocol/requests';

export const modelScheme = 'graftcert-model';
export const modelLanguage = 'onnx-text';

/** `graftcert-model:/…/net.onnx.inspect?<file URI>`: the tab reads "net.onnx.inspect", the query names the model. */
export function modelViewUri(model: vscode.Uri): vscode.Uri {
  return vscode.Uri.from({ scheme: modelScheme, path: `${model.path}.inspect`, query: model.toString() });
}

/** `graftcert-model:/…/net.onnx.onnxtxt?<file URI>`: the model in ONNX's textual syntax; the server serves its hover, hints and lenses. */
export function modelTextUri(model: vscode.Uri): vscode.Uri {
  return vscode.Uri.from({ scheme: modelScheme, path: `${model.path}.onnxtxt`, query: model.toString() });
}

export function isModelTextUri(uri: vscode.Uri): boolean {
  return uri.scheme === modelScheme && uri.path.endsWith('.onnxtxt');
}

export function modelOfViewUri(view: vscode.Uri): vscode.Uri | undefined {
  if (view.scheme !== modelScheme || view.query === '') return undefined;
  try {
    return vscode.Uri.parse(view.query, true);
  } catch {
    return undefined;
  }
}

/**
 * Serves the text of model views. Text put here by a command is served as is; a view restored by
 * VS Code after a reload is fetched again through `inspect`.
 */
export class ModelViewProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly inspect: (model: vscode.Uri) => Promise<InspectReport>,
    private readonly modelText: (model: vscode.Uri) => Promise<ModelTextResult>,
  ) {}

  show(view: vscode.Uri, report: InspectReport): void {
    this.texts.set(view.toString(), renderInspect(report));
    this.changed.fire(view);
  }

  async provideTextDocumentContent(view: vscode.Uri): Promise<string> {
    const cached = this.texts.get(view.toString());
    if (cached !== undefined) return cached;
    const model = modelOfViewUri(view);
    if (!model) return `graftcert: ${view.toString()} does not name a model.\n`;
    try {
      // The text view is always printed afresh, so its lines match the server's printout of the file now on disk.
      if (isModelTextUri(view)) return (await this.modelText(model)).text;
      const text = renderInspect(await this.inspect(model));
      this.texts.set(view.toString(), text);
      return text;
    } catch (error) {
      return `graftcert: ${error instanceof Error ? error.message : String(error)}\n`;
    }
  }

  /** Asks VS Code to read a view again (e.g. after the model file changed). */
  reload(view: vscode.Uri): void {
    this.texts.delete(view.toString());
    this.changed.fire(view);
  }

  forget(view: vscode.Uri): void {
    this.texts.delete(view.toString());
  }

  dispose(): void {
    this.changed.dispose();
    this.texts.clear();
  }
}

/** The human table of an InspectReport, as plain text for the `onnx-text` view. */
export function renderInspect(report: InspectReport): string {
  const lines: string[] = [];
  const shape = (dims: readonly number[] | null) => (dims === null ? '?' : `[${dims.join(', ')}]`);
  lines.push(`model     ${report.file}`);
  lines.push(`producer  ${report.producer || '(none)'}   ir_version ${report.irVersion}   opset ${report.opset}`);
  lines.push(`params    ${report.totalParameters.toLocaleString('en-US')}`);
  lines.push('');
  lines.push('inputs');
  for (const t of report.inputs) lines.push(`  ${t.name}  ${t.dtype}${shape(t.shape)}`);
  lines.push('outputs');
  for (const t of report.outputs) lines.push(`  ${t.name}  ${t.dtype}${shape(t.shape)}`);
  lines.push('');
  lines.push(`ReLU layers (${report.reluLayers.length})`);
  for (const layer of report.reluLayers) {
    const grafted = layer.grafted > 0 ? `   grafted ${layer.grafted}` : '';
    lines.push(`  ${layer.name}  size ${layer.size}   pre-activation ${layer.preActivation}${grafted}`);
  }
  lines.push('');
  lines.push(`nodes (${report.nodes.length})`);
  const rows = report.nodes.map((n) => [
    n.name,
    n.opType + (n.supported ? '' : ' (unsupported)'),
    shape(n.outputShape),
    n.parameters > 0 ? String(n.parameters) : '',
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((r) => r[i].length)));
  for (const r of rows) lines.push(`  ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padEnd(widths[2])}  ${r[3]}`.trimEnd());
  if (report.unsupportedOps.length > 0) {
    lines.push('');
    lines.push(`unsupported ops: ${report.unsupportedOps.join(', ')}`);
  }
  if (report.problems.length > 0) {
    lines.push('');
    lines.push('problems');
    for (const p of report.problems) lines.push(`  ${p}`);
  }
  for (const n of report.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}
