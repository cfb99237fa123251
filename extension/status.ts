// The status bar item: backend health, the compute backend in use and the work in flight.
import * as vscode from 'vscode';

export type BackendState = 'starting' | 'ready' | 'stopped' | 'error';

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private state: BackendState = 'stopped';
  private detail: string | undefined;
  private computeBackend: string | undefined;
  private computeDetail: string | undefined;
  private jobs: readonly string[] = [];

  constructor() {
    this.item = vscode.window.createStatusBarItem('graftcert.status', vscode.StatusBarAlignment.Left);
    this.item.name = 'graftcert backend';
    this.render();
    this.item.show();
  }

  set(state: BackendState, detail?: string): void {
    this.state = state;
    this.detail = detail;
    if (state !== 'ready') this.computeBackend = state === 'starting' ? undefined : this.computeBackend;
    this.render();
  }

  /** The tfjs backend the server reported (graftcert/backendStatus); null when none could start. */
  setComputeBackend(name: string | null, detail?: string): void {
    this.computeBackend = name ?? 'none';
    this.computeDetail = detail;
    this.render();
  }

  /** Titles of the requests now running (e.g. "certifying fc_small.onnx"). */
  setJobs(titles: readonly string[]): void {
    this.jobs = titles;
    this.render();
  }

  /** What the item shows, for tests: its text and tooltip. */
  get shown(): { text: string; tooltip: string } {
    const tooltip = this.item.tooltip;
    return { text: this.item.text, tooltip: typeof tooltip === 'string' ? tooltip : (tooltip?.value ?? '') };
  }

  private render(): void {
    const item = this.item;
    item.backgroundColor = undefined;
    const compute = this.computeBackend ? ` · ${this.computeBackend}` : '';
    const lines: string[] = [];
    switch (this.state) {
      case 'starting':
        item.text = '$(sync~spin) graftcert';
        lines.push('graftcert: the backend is starting…');
        item.command = 'graftcert.showOutput';
        break;
      case 'ready':
        item.text = this.jobs.length > 0 ? `$(sync~spin) graftcert${compute} · ${this.jobs.length === 1 ? this.jobs[0] : `${this.jobs.length} jobs`}` : `$(check) graftcert${compute}`;
        lines.push('graftcert: the backend is ready.');
        item.command = 'graftcert.showOutput';
        break;
      case 'stopped':
        item.text = '$(circle-slash) graftcert';
        lines.push('graftcert: the backend is stopped. Click to start it.');
        item.command = 'graftcert.restartBackend';
        break;
      case 'error':
        item.text = '$(error) graftcert';
        lines.push(`graftcert: ${this.detail ?? 'the backend failed'}. Click to restart it.`);
        item.command = 'graftcert.restartBackend';
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
    }
    if (this.computeBackend) lines.push(`Compute backend: ${this.computeBackend}${this.computeDetail ? ` (${this.computeDetail})` : ''}.`);
    if (this.jobs.length > 0) lines.push(`Running: ${this.jobs.join('; ')}.`);
    else if (this.state === 'ready') lines.push('No work in flight. Click for the backend output.');
    item.tooltip = lines.join('\n');
  }

  dispose(): void {
    this.item.dispose();
  }
}
