// Extension entry point: only wiring — the Ctx, the command table, the model view provider.
import * as vscode from 'vscode';
import { commandTable, requestInspect, showStartFailure } from './commands';
import { Config } from './config';
import { Ctx } from './ctx';
import { ModelViewProvider, modelScheme } from './model-view';

let ctx: Ctx | undefined;

export async function activate(extCtx: vscode.ExtensionContext): Promise<void> {
  const context = new Ctx(extCtx);
  ctx = context;
  const views = new ModelViewProvider((model) => requestInspect(context, model));
  context.pushExtCleanup(views);
  context.pushExtCleanup(vscode.workspace.registerTextDocumentContentProvider(modelScheme, views));
  context.pushExtCleanup(vscode.workspace.onDidCloseTextDocument((doc) => views.forget(doc.uri)));
  for (const [id, factory] of Object.entries(commandTable)) {
    context.pushExtCleanup(vscode.commands.registerCommand(id, factory(context, views)));
  }
  context.pushExtCleanup(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (Config.needsRestart(event)) void vscode.commands.executeCommand('graftcert.restartBackend');
    }),
  );
  // Commands stay registered when the backend cannot start, so "Restart Backend" remains a way out.
  try {
    await context.start();
  } catch (error) {
    void showStartFailure(context, error);
  }
}

export async function deactivate(): Promise<void> {
  await ctx?.stop();
  ctx = undefined;
}
