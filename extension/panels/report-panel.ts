// The Robustness Report panel: one webview per window (createOrShow/revive/dispose), strict CSP, ready handshake, HTML export.
//
// Other extension code shows a report with `showReport(ctx, report)`; the command
// `graftcert.openReport` opens the last report of the session or a report `.json` file.
import * as vscode from 'vscode';
import {
  type ReportHostMessage,
  type ReportWebviewMessage,
  type ReportWebviewState,
  isMessage,
  webviewMessageTypes,
} from '../../server/protocol/report-messages';
import type { BoundsReport, CertifyReport, GraftEvaluation, GraftReport } from '../../server/protocol/requests';
import { emptyReport, reportFromBounds, reportFromCertify, withGraft } from '../../server/report/build';
import { renderReportHtml } from '../../server/report/html';
import { type RobustnessReport, parseReport, reportKind } from '../../server/report/model';
import { type Ctx, messageOf } from '../ctx';
import { modelOfViewUri } from '../model-view';

export class ReportPanel implements vscode.Disposable {
  static readonly viewType = 'graftcert.report';
  /** The panel of this window, if open. */
  private static current: ReportPanel | undefined;
  /** The report shown last in this session (the command reopens it). */
  static lastReport: RobustnessReport | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  /** The report the webview restored from its own state on its last load (skip re-sending it). */
  private restored: RobustnessReport | undefined;

  /** The report the window's panel shows, if one is open (tests read it). */
  static get currentReport(): RobustnessReport | undefined {
    return ReportPanel.current?.report;
  }

  /** Shows `report` in the window's report panel, creating the panel if needed. */
  static createOrShow(ctx: Ctx, report: RobustnessReport): ReportPanel {
    ReportPanel.lastReport = report;
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    if (ReportPanel.current) {
      ReportPanel.current.setReport(report);
      ReportPanel.current.panel.reveal(column);
      return ReportPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(ReportPanel.viewType, panelTitle(report), column, webviewOptions(ctx.extCtx.extensionUri));
    ReportPanel.current = new ReportPanel(ctx, panel, report, undefined);
    return ReportPanel.current;
  }

  /** Rebuilds a panel VS Code restored after a restart, from the state its webview saved. */
  static revive(ctx: Ctx, panel: vscode.WebviewPanel, state: unknown): ReportPanel | undefined {
    let report: RobustnessReport;
    try {
      report = parseReport((state as Partial<ReportWebviewState> | undefined)?.report);
    } catch (error) {
      // Nothing usable to show (an older format, or the webview never rendered): close it quietly.
      ctx.outputChannel.appendLine(`graftcert: a restored report panel was closed: ${messageOf(error)}`);
      panel.dispose();
      return undefined;
    }
    ReportPanel.current?.dispose();
    panel.webview.options = webviewOptions(ctx.extCtx.extensionUri);
    ReportPanel.lastReport ??= report;
    ReportPanel.current = new ReportPanel(ctx, panel, report, report);
    return ReportPanel.current;
  }

  /** Registers the serializer that revives panels after a restart (needs `onWebviewPanel:graftcert.report`). */
  static registerSerializer(ctx: Ctx): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(ReportPanel.viewType, {
      deserializeWebviewPanel: async (panel, state) => {
        ReportPanel.revive(ctx, panel, state);
      },
    });
  }

  /** Closes the window's panel (extension deactivation). */
  static disposeCurrent(): void {
    ReportPanel.current?.dispose();
  }

  private constructor(
    private readonly ctx: Ctx,
    readonly panel: vscode.WebviewPanel,
    private report: RobustnessReport,
    restored: RobustnessReport | undefined,
  ) {
    this.restored = restored;
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => void this.onMessage(message)),
    );
    panel.webview.html = webviewHtml(panel.webview, ctx.extCtx.extensionUri);
  }

  /** The report on show. */
  get shown(): RobustnessReport {
    return this.report;
  }

  private setReport(report: RobustnessReport): void {
    this.report = report;
    this.restored = undefined;
    this.panel.title = panelTitle(report);
    // A webview that is not listening yet gets it on `ready` instead.
    void this.post({ type: 'show', report });
  }

  private post(message: ReportHostMessage): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  private async onMessage(message: unknown): Promise<void> {
    if (!isMessage<ReportWebviewMessage>(message, webviewMessageTypes)) return;
    switch (message.type) {
      case 'ready':
        // The webview (re)loaded: it shows what it restored, or waits for the report.
        if (!(message.hasReport && this.restored === this.report)) await this.post({ type: 'show', report: this.report });
        this.restored = this.report;
        break;
      case 'exportHtml': {
        let path: string | null = null;
        let error: string | undefined;
        try {
          path = await exportHtml(this.report);
        } catch (failure) {
          error = messageOf(failure);
          void vscode.window.showErrorMessage(`graftcert: the report could not be exported: ${error}`);
        }
        await this.post({ type: 'exported', requestId: message.requestId, path, error });
        break;
      }
      case 'error':
        this.ctx.outputChannel.appendLine(`graftcert: report panel: ${message.message}`);
        break;
    }
  }

  dispose(): void {
    if (ReportPanel.current === this) ReportPanel.current = undefined;
    // Disposing the panel fires onDidDispose, which calls this again: clear the list first.
    const disposables = this.disposables.splice(0);
    this.panel.dispose();
    for (const disposable of disposables) disposable.dispose();
  }
}

/** Shows a report in the report panel (for other extension code, e.g. after certify or graft). */
export function showReport(ctx: Ctx, report: RobustnessReport): void {
  ReportPanel.createOrShow(ctx, report);
}

/** Reads a report `.json` (as `writeReport` writes it) and shows it; throws one sentence naming the file. */
export async function openReportFile(ctx: Ctx, file: vscode.Uri): Promise<void> {
  showReport(ctx, await readReportFile(file));
}

async function readReportFile(file: vscode.Uri): Promise<RobustnessReport> {
  let text: string;
  try {
    text = new TextDecoder().decode(await vscode.workspace.fs.readFile(file));
  } catch (error) {
    throw new Error(`${displayPath(file)} cannot be read: ${messageOf(error)}`);
  }
  return parseReportText(text, file);
}

function parseReportText(text: string, file: vscode.Uri): RobustnessReport {
  try {
    return parseReport(JSON.parse(text));
  } catch (error) {
    throw new Error(`${displayPath(file)} is not a Robustness Report: ${messageOf(error)}; pick the .json that graftcert writes next to a report's .html`);
  }
}

/** The latest certify, bounds or graft run per model (file URI string), as the command table keeps them. */
export interface ModelRuns {
  lastRuns?: ReadonlyMap<
    string,
    { kind: 'certify'; report: CertifyReport } | { kind: 'bounds'; report: BoundsReport } | { kind: 'graft'; report: GraftReport; model: string }
  >;
}

/**
 * A graft run as a report: the original against the grafted model — grafted counts, accuracies (clean, PGD,
 * CROWN-certified) and CROWN's unstable counts per layer on each side, from the graft's own evaluations.
 */
export function reportFromGraft(model: string, graft: GraftReport): RobustnessReport {
  const report = withGraft(emptyReport(basenameOf(model)), graft);
  const figures = (e: GraftEvaluation | undefined) =>
    e && { clean: e.cleanAccuracy, certified: e.certifiedAccuracy, count: e.count, ...(e.pgdAccuracy !== null ? { pgd: e.pgdAccuracy } : {}) };
  const before = figures(graft.before);
  const after = figures(graft.after);
  const unstable = (e: GraftEvaluation | undefined, name: string) => e?.layers.find((l) => l.name === name)?.unstable;
  return {
    ...report,
    accuracy: { before: { ...report.accuracy?.before, ...before }, after: { ...report.accuracy?.after, ...after } },
    layers: report.layers?.map((layer) => {
      const b = unstable(graft.before, layer.name);
      const a = unstable(graft.after, layer.name);
      return { ...layer, ...(b !== undefined ? { before: { crown: b } } : {}), ...(a !== undefined ? { after: { crown: a } } : {}) };
    }),
  };
}

function basenameOf(p: string): string {
  return p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
}

/**
 * `graftcert.openReport`: what to show, first match wins —
 * a RobustnessReport object or a report `.json` (Uri or path) given as argument; a model (`.onnx`)
 * given or active, with a run in this session; the report `.json` in the active editor; the last
 * report of the session; a report file the person picks.
 * Building the handler also registers the panel's serializer, so the command table is the one
 * place that wires the panel.
 */
export function openReportCommand(ctx: Ctx, views?: ModelRuns): (arg?: unknown) => Promise<void> {
  ctx.pushExtCleanup(ReportPanel.registerSerializer(ctx));
  ctx.pushExtCleanup({ dispose: () => ReportPanel.disposeCurrent() });
  const modelReport = (model: vscode.Uri): RobustnessReport | undefined => {
    const run = views?.lastRuns?.get(model.toString());
    if (!run) return undefined;
    if (run.kind === 'graft') return reportFromGraft(vscode.Uri.parse(run.model).path, run.report);
    return run.kind === 'certify' ? reportFromCertify({ ...run.report, model: model.path }) : reportFromBounds(model.path, [run.report]);
  };
  return async (arg?: unknown) => {
    try {
      if (isReport(arg)) return showReport(ctx, arg);
      const given = uriArgument(arg);
      if (given && given.path.toLowerCase().endsWith('.json')) return await openReportFile(ctx, given);
      if (given) {
        const report = modelReport(given);
        if (report) return showReport(ctx, report);
        void vscode.window.showInformationMessage(`graftcert: there is no run of ${basename(given)} to report yet — run Certify Model first.`);
        return;
      }
      const active = activeReport();
      if (active) return showReport(ctx, active);
      const model = activeModel();
      const fromModel = model && modelReport(model);
      if (fromModel) return showReport(ctx, fromModel);
      if (ReportPanel.lastReport) return showReport(ctx, ReportPanel.lastReport);
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: false,
        openLabel: 'Open Report',
        title: 'graftcert: choose a Robustness Report (.json)',
        filters: { 'Robustness Report': ['json'] },
      });
      if (picked?.[0]) await openReportFile(ctx, picked[0]);
    } catch (error) {
      void vscode.window.showErrorMessage(`graftcert: ${messageOf(error)}`);
    }
  };
}

/**
 * A Uri from the command's argument: a Uri (menus), a URI string (the model view's CodeLens passes the model's
 * `file:` URI as JSON) or a path; a model text view stands for its model.
 */
function uriArgument(arg: unknown): vscode.Uri | undefined {
  let uri: vscode.Uri | undefined;
  if (arg instanceof vscode.Uri) uri = arg;
  else if (typeof arg === 'string' && arg.length > 0) uri = /^[a-z][a-z0-9+.-]+:/i.test(arg) ? vscode.Uri.parse(arg, true) : vscode.Uri.file(arg);
  return uri && (modelOfViewUri(uri) ?? uri);
}

function isReport(value: unknown): value is RobustnessReport {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === reportKind;
}

/** The .onnx behind the active tab, if any. */
function activeModel(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const tabUri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : vscode.window.activeTextEditor?.document.uri;
  const uri = tabUri && (modelOfViewUri(tabUri) ?? tabUri);
  return uri && uri.path.toLowerCase().endsWith('.onnx') ? uri : undefined;
}

function basename(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}

/** The report in the active editor, when it is a report `.json` (unsaved edits included). */
function activeReport(): RobustnessReport | undefined {
  const document = vscode.window.activeTextEditor?.document;
  if (!document || !document.uri.path.toLowerCase().endsWith('.json')) return undefined;
  try {
    return parseReport(JSON.parse(document.getText()));
  } catch {
    // Some other JSON: fall back to the last report or the picker.
    return undefined;
  }
}

/** Asks where to save and writes the self-contained HTML (the same file the CLI writes); null when cancelled. */
async function exportHtml(report: RobustnessReport): Promise<string | null> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const name = `${report.model.replace(/\.onnx$/i, '')}.report.html`;
  const target = await vscode.window.showSaveDialog({
    title: 'graftcert: export the Robustness Report as HTML',
    saveLabel: 'Export',
    defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
    filters: { 'HTML report': ['html'] },
  });
  if (!target) return null;
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(renderReportHtml(report)));
  void vscode.window.showInformationMessage(`graftcert: report exported to ${displayPath(target)}`);
  return target.scheme === 'file' ? target.fsPath : target.toString();
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    // The bundle is all the webview may load.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
  };
}

/** The panel's page: strict CSP (nothing but the nonce'd bundle runs; no remote source); exported for its test (security.test.ts). */
export function webviewHtml(webview: Pick<vscode.Webview, 'cspSource' | 'asWebviewUri'>, extensionUri: vscode.Uri): string {
  const nonce = makeNonce();
  const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', name)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${asset('report.css')}">
<title>Robustness Report</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${asset('report.js')}"></script>
</body>
</html>`;
}

function makeNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function panelTitle(report: RobustnessReport): string {
  return `Robustness Report: ${report.model}`;
}

function displayPath(uri: vscode.Uri): string {
  return uri.scheme === 'file' ? uri.fsPath : uri.toString();
}
