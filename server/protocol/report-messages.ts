// Messages between the extension host and the Robustness Report webview, as discriminated unions.
//
// The handshake: the webview posts `ready` once its script runs; only then does the host post
// `show` (a message posted before the webview listens would be lost). The webview keeps the shown
// report in its state (`setState`), so VS Code can revive the panel after a restart.
// Type-only imports: the webview bundle and the extension both import this file.
import type { RobustnessReport } from '../report/model';

export type { RobustnessReport } from '../report/model';

/** Host → webview. */
export type ReportHostMessage =
  /** Render this report (replaces the one shown). */
  | { type: 'show'; report: RobustnessReport }
  /** Answer to `exportHtml`: where the file went, or null when the person cancelled the dialog. */
  | { type: 'exported'; requestId: number; path: string | null; error?: string };

/** Webview → host. */
export type ReportWebviewMessage =
  /** The script runs and listens; `hasReport` says whether it restored one from its state. */
  | { type: 'ready'; hasReport: boolean }
  /** Write the self-contained HTML report (the host asks where). */
  | { type: 'exportHtml'; requestId: number }
  /** Something failed in the webview (one sentence), for the host's output channel. */
  | { type: 'error'; message: string };

/** What the webview keeps with `setState` (and VS Code hands to the panel serializer). */
export interface ReportWebviewState {
  report: RobustnessReport;
}

/** True when `value` looks like a message of the union (both sides check what they receive). */
export function isMessage<T extends { type: string }>(value: unknown, types: readonly T['type'][]): value is T {
  return typeof value === 'object' && value !== null && types.includes((value as { type: unknown }).type as T['type']);
}

export const hostMessageTypes: readonly ReportHostMessage['type'][] = ['show', 'exported'];
export const webviewMessageTypes: readonly ReportWebviewMessage['type'][] = ['ready', 'exportHtml', 'error'];
