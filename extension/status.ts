// The status bar item that shows the backend's health: starting, ready, stopped or failed.
import * as vscode from 'vscode';

export type BackendState = 'starting' | 'ready' | 'stopped' | 'error';

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('graftcert.status', vscode.StatusBarAlignment.Left);
    this.item.name = 'graftcert backend';
    this.set('stopped');
    this.item.show();
  }

  set(state: BackendState, detail?: string): void {
    const item = this.item;
    item.backgroundColor = undefined;
    switch (state) {
      case 'starting':
        item.text = '$(sync~spin) graftcert';
        item.tooltip = 'graftcert: the backend is starting…';
        item.command = 'graftcert.showOutput';
        break;
      case 'ready':
        item.text = '$(check) graftcert';
        item.tooltip = 'graftcert: the backend is ready. Click to inspect a model.';
        item.command = 'graftcert.inspectModel';
        break;
      case 'stopped':
        item.text = '$(circle-slash) graftcert';
        item.tooltip = 'graftcert: the backend is stopped. Click to start it.';
        item.command = 'graftcert.restartBackend';
        break;
      case 'error':
        item.text = '$(error) graftcert';
        item.tooltip = `graftcert: ${detail ?? 'the backend failed'}. Click to restart it.`;
        item.command = 'graftcert.restartBackend';
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
