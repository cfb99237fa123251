// Every `graftcert.*` command in one table: command id → handler built from the Ctx.
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import type { InspectReport } from '../server/protocol/reports';
import { inspectRequest } from '../server/protocol/requests';
import { type Ctx, messageOf } from './ctx';
import { type ModelViewProvider, modelLanguage, modelOfViewUri, modelViewUri } from './model-view';

type Handler = (...args: any[]) => unknown;
type CommandFactory = (ctx: Ctx, views: ModelViewProvider) => Handler;

export const commandTable: Readonly<Record<string, CommandFactory>> = {
  'graftcert.inspectModel': inspectModel,
  'graftcert.restartBackend': restartBackend,
  'graftcert.showOutput': (ctx) => () => ctx.outputChannel.show(true),
};

/** Asks the backend for a model's InspectReport; rejects with a one-sentence Error. */
export async function requestInspect(ctx: Ctx, model: vscode.Uri): Promise<InspectReport> {
  if (model.scheme !== 'file') {
    throw new Error(`${model.toString()} is not a file on disk; graftcert can only inspect local .onnx files.`);
  }
  const client = await ctx.getClient();
  try {
    return await client.sendRequest(inspectRequest, { uri: model.toString() });
  } catch (error) {
    // The backend's error responses are already one sentence naming the file.
    if (error instanceof ResponseError) throw new Error(error.message);
    throw error;
  }
}

function inspectModel(ctx: Ctx, views: ModelViewProvider): Handler {
  return async (arg?: unknown) => {
    const model = (arg instanceof vscode.Uri ? arg : undefined) ?? activeModel() ?? (await pickModel());
    if (!model) return;
    try {
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `graftcert: inspecting ${basename(model)}` },
        () => requestInspect(ctx, model),
      );
      const view = modelViewUri(model);
      views.show(view, report);
      let doc = await vscode.workspace.openTextDocument(view);
      if (doc.languageId !== modelLanguage) doc = await vscode.languages.setTextDocumentLanguage(doc, modelLanguage);
      await vscode.window.showTextDocument(doc, { preview: false });
    } catch (error) {
      void vscode.window.showErrorMessage(`graftcert: ${messageOf(error)}`);
    }
  };
}

function restartBackend(ctx: Ctx): Handler {
  return async () => {
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'graftcert: restarting the backend' },
        () => ctx.restart(),
      );
    } catch (error) {
      void showStartFailure(ctx, error);
    }
  };
}

/** Shown when the backend cannot start (at activation or restart), with a way out. */
export async function showStartFailure(ctx: Ctx, error: unknown): Promise<void> {
  const choice = await vscode.window.showErrorMessage(
    `graftcert: the backend failed to start: ${messageOf(error)}`,
    'Show Output',
    'Restart',
  );
  if (choice === 'Show Output') ctx.outputChannel.show(true);
  else if (choice === 'Restart') await vscode.commands.executeCommand('graftcert.restartBackend');
}

/** The .onnx behind the active tab: a model view, or an .onnx opened in any editor. */
function activeModel(): vscode.Uri | undefined {
  const editorUri = vscode.window.activeTextEditor?.document.uri;
  const fromView = editorUri && modelOfViewUri(editorUri);
  if (fromView) return fromView;
  // A binary .onnx opens in no text editor; the tab still knows its URI.
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const tabUri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : editorUri;
  return tabUri && tabUri.path.toLowerCase().endsWith('.onnx') ? tabUri : undefined;
}

async function pickModel(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Inspect',
    title: 'graftcert: choose an ONNX model',
    filters: { 'ONNX models': ['onnx'] },
  });
  return picked?.[0];
}

function basename(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}
