// Verification results shown inline on .vnnlib files (`unsat in 1.2 s`), and counterexamples as read-only documents.
import * as vscode from 'vscode';
import type { VerifyReport } from '../server/protocol/requests';

export const counterexampleScheme = 'graftcert-cex';

interface StoredResult {
  model: vscode.Uri;
  report: VerifyReport;
}

/** Holds the latest result per (property, model) and shows it as a CodeLens line on the property. */
export class VerifyResults implements vscode.CodeLensProvider, vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly results = new Map<string, Map<string, StoredResult>>();
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  private readonly contentChanged = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  readonly onDidChange = this.contentChanged.event;

  record(property: vscode.Uri, model: vscode.Uri, report: VerifyReport): void {
    const byModel = this.results.get(property.toString()) ?? new Map<string, StoredResult>();
    byModel.set(model.toString(), { model, report });
    this.results.set(property.toString(), byModel);
    this.lensesChanged.fire();
    this.contentChanged.fire(counterexampleUri(property, model));
  }

  get(property: vscode.Uri, model: vscode.Uri): VerifyReport | undefined {
    return this.results.get(property.toString())?.get(model.toString())?.report;
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const byModel = this.results.get(doc.uri.toString());
    if (!byModel) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const lenses: vscode.CodeLens[] = [];
    for (const { model, report } of byModel.values()) {
      const title = `${resultIcon(report)} ${resultLine(report)} — ${basename(model)}`;
      const command =
        report.result === 'sat' && report.counterexample
          ? { title: `${title} · open counterexample`, command: 'graftcert.openCounterexample', arguments: [doc.uri, model] }
          : { title, command: '' };
      lenses.push(new vscode.CodeLens(top, command));
    }
    return lenses;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const [property, model] = JSON.parse(uri.query) as [string, string];
    const report = this.results.get(property)?.get(model)?.report;
    if (!report?.counterexample) return `; no counterexample is known for ${property} against ${model}\n`;
    return formatCounterexample(report);
  }

  dispose(): void {
    this.lensesChanged.dispose();
    this.contentChanged.dispose();
    this.results.clear();
  }
}

export function counterexampleUri(property: vscode.Uri, model: vscode.Uri): vscode.Uri {
  return vscode.Uri.from({
    scheme: counterexampleScheme,
    path: `${property.path}.counterexample`,
    query: JSON.stringify([property.toString(), model.toString()]),
  });
}

/** `unsat in 1.2 s` */
export function resultLine(report: VerifyReport): string {
  const by = report.decidedBy ? ` by ${report.decidedBy}` : '';
  const reason = report.reason ? ` (${report.reason})` : '';
  return `${report.result} in ${report.time_s.toFixed(1)} s${by}${reason}`;
}

function resultIcon(report: VerifyReport): string {
  return report.result === 'unsat' ? '$(pass)' : report.result === 'sat' ? '$(error)' : '$(question)';
}

/** The VNN-COMP counterexample form: `((X_0 v) ... (Y_0 v) ...)`. */
export function formatCounterexample(report: VerifyReport): string {
  const cex = report.counterexample!;
  const lines = ['sat', '('];
  cex.x.forEach((v, i) => lines.push(`(X_${i} ${v})`));
  cex.y.forEach((v, j) => lines.push(`(Y_${j} ${v})`));
  lines.push(')');
  return lines.join('\n') + '\n';
}

function basename(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}
