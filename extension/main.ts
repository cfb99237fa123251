// Extension entry point: only wiring — the Ctx, the command table, the model views, verification results and tasks.
import * as vscode from 'vscode';
import { type Views, commandTable, defaultData, forgetStaleRun, requestInspect, requestModelText, showStartFailure } from './commands';
import { Config } from './config';
import { Ctx } from './ctx';
import type { RobustnessReport } from '../server/report/model';
import { ModelViewProvider, modelScheme, modelTextUri } from './model-view';
import { ReportPanel } from './panels/report-panel';
import { GraftcertTaskProvider, taskType } from './tasks';
import { VerifyResults, counterexampleScheme } from './verify-results';

let ctx: Ctx | undefined;

/** What activate() returns: the pieces extension-host tests look at. */
export interface GraftcertApi {
  ctx: Ctx;
  views: Views;
  /** The report the Robustness Report panel shows, if it is open. */
  shownReport(): RobustnessReport | undefined;
  /** The `graftcert` task provider (tests resolve tasks.json-style definitions through it). */
  taskProvider: GraftcertTaskProvider;
}

export async function activate(extCtx: vscode.ExtensionContext): Promise<GraftcertApi> {
  const context = new Ctx(extCtx);
  ctx = context;
  const models = new ModelViewProvider(
    (model) => requestInspect(context, model),
    (model) => requestModelText(context, model),
  );
  const verifyResults = new VerifyResults();
  const views: Views = { models, verifyResults, lastRuns: new Map(), runFileTimes: new Map() };
  context.pushExtCleanup(models);
  context.pushExtCleanup(verifyResults);
  context.pushExtCleanup(vscode.workspace.registerTextDocumentContentProvider(modelScheme, models));
  context.pushExtCleanup(vscode.workspace.registerTextDocumentContentProvider(counterexampleScheme, verifyResults));
  context.pushExtCleanup(vscode.languages.registerCodeLensProvider({ language: 'vnnlib' }, verifyResults));
  context.pushExtCleanup(vscode.workspace.onDidCloseTextDocument((doc) => models.forget(doc.uri)));
  // A model rewritten on disk (re-exported, grafted again) is printed afresh in its open text view.
  const watcher = vscode.workspace.createFileSystemWatcher('**/*.onnx');
  context.pushExtCleanup(watcher);
  context.pushExtCleanup(watcher.onDidChange((model) => {
    // The run of the old file is not the new file's: Open Report must not show it as such.
    void forgetStaleRun(views, model);
    const view = modelTextUri(model);
    if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === view.toString())) models.reload(view);
  }));
  context.pushExtCleanup(watcher.onDidDelete((model) => void forgetStaleRun(views, model)));
  const taskProvider = new GraftcertTaskProvider(
    context,
    (model) => requestInspect(context, model).catch(() => undefined),
    (report, name) => defaultData(context, report, name).data,
  );
  context.pushExtCleanup(vscode.tasks.registerTaskProvider(taskType, taskProvider));
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
  return { ctx: context, views, shownReport: () => ReportPanel.currentReport, taskProvider };
}

export async function deactivate(): Promise<void> {
  await ctx?.stop();
  ctx = undefined;
}
