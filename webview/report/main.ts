// The Robustness Report's script: renders a report in the VS Code panel or in the standalone HTML file.
//
// In the panel (acquireVsCodeApi exists) the report comes from the host after the `ready`
// handshake, or from the state VS Code restored; in the standalone file it is the JSON block
// `<script type="application/json" id="graftcert-report">` next to this script.
import {
  type ReportHostMessage,
  type ReportWebviewMessage,
  type ReportWebviewState,
  hostMessageTypes,
  isMessage,
} from '../../server/protocol/report-messages';
import type { RobustnessReport } from '../../server/report/model';
import { applyThemeDefaults, destroyCharts } from './charts';
import { el } from './dom';
import { renderReport } from './sections';
import { readTheme } from './theme';
import './report.css';

interface VsCodeApi {
  postMessage(message: ReportWebviewMessage): void;
  getState(): ReportWebviewState | undefined;
  setState(state: ReportWebviewState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** The id of the JSON block that carries the report in the standalone HTML. */
export const reportDataId = 'graftcert-report';

const vscode: VsCodeApi | undefined = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
let current: RobustnessReport | undefined;
let nextRequestId = 1;

function show(report: RobustnessReport): void {
  current = report;
  const root = document.getElementById('app') ?? document.body;
  destroyCharts();
  root.replaceChildren();
  const theme = readTheme();
  applyThemeDefaults(theme);
  // Appended first, so the chart boxes have their size when Chart.js measures them.
  const onExport = vscode ? () => vscode.postMessage({ type: 'exportHtml', requestId: nextRequestId++ }) : undefined;
  root.append(renderReport(report, theme, { onExport }));
  document.title = `Robustness report — ${report.model}`;
  document.body.dataset.rendered = 'true';
}

function fail(message: string): void {
  const root = document.getElementById('app') ?? document.body;
  root.replaceChildren(el('p', { className: 'error', role: 'alert' }, `The report cannot be shown: ${message}`));
  vscode?.postMessage({ type: 'error', message });
}

function safely(action: () => void): void {
  try {
    action();
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}

function onHostMessage(event: MessageEvent): void {
  const message: unknown = event.data;
  if (!isMessage<ReportHostMessage>(message, hostMessageTypes)) return;
  switch (message.type) {
    case 'show':
      vscode?.setState({ report: message.report });
      safely(() => show(message.report));
      break;
    case 'exported': {
      const button = document.querySelector<HTMLButtonElement>('button[data-action="export-html"]');
      if (button && message.path) button.title = `Exported to ${message.path}`;
      break;
    }
  }
}

/** The VS Code theme changes the body's class; charts read colours once, so redraw. */
function redrawOnThemeChange(): void {
  new MutationObserver(() => {
    if (current) safely(() => show(current!));
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}

function start(): void {
  if (vscode) {
    window.addEventListener('message', onHostMessage);
    const restored = vscode.getState()?.report;
    if (restored) safely(() => show(restored));
    redrawOnThemeChange();
    vscode.postMessage({ type: 'ready', hasReport: restored !== undefined });
    return;
  }
  document.documentElement.classList.add('standalone');
  const block = document.getElementById(reportDataId);
  if (!block?.textContent) return fail(`the page has no report data (script#${reportDataId}).`);
  safely(() => show(JSON.parse(block.textContent!) as RobustnessReport));
}

window.addEventListener('error', (event) => vscode?.postMessage({ type: 'error', message: String(event.message) }));
start();
