// VS Code tasks of type `graftcert`: the CLI (bin/graftcert.js) run with the extension host's Node, its errors read by `$graftcert`.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { InspectReport } from '../server/protocol/reports';
import type { Ctx } from './ctx';
import { modelOfViewUri } from './model-view';

export const taskType = 'graftcert';
/** The problem matcher contributed in package.json (`contributes.problemMatchers`). */
export const problemMatcher = '$graftcert';

export type TaskCommand = 'certify' | 'graft' | 'verify' | 'bounds';
const taskCommands: readonly TaskCommand[] = ['certify', 'graft', 'verify', 'bounds'];

/** A `graftcert` task as tasks.json writes it (package.json `taskDefinitions` declares the same fields). */
export interface GraftcertTaskDefinition extends vscode.TaskDefinition {
  type: typeof taskType;
  command: TaskCommand;
  /** The `.onnx` model; relative paths are relative to the workspace folder. */
  model: string;
  data?: string;
  eps?: number;
  ratio?: number;
  property?: string;
  method?: 'ibp' | 'crown' | 'alpha-crown';
  out?: string;
  count?: number;
  epochs?: number;
  timeout?: number;
}

/** The words after `graftcert` for a definition; throws one sentence when a required field is missing. */
export function cliArguments(def: GraftcertTaskDefinition, defaults: { eps: number; method: string }): string[] {
  if (!taskCommands.includes(def.command)) throw new Error(`"command" must be one of ${taskCommands.join(', ')}, not ${JSON.stringify(def.command)}`);
  if (typeof def.model !== 'string' || def.model === '') throw new Error('"model" must name an .onnx file');
  const need = (key: 'data' | 'property' | 'out') => {
    const value = def[key];
    if (typeof value !== 'string' || value === '') throw new Error(`a ${def.command} task needs "${key}"`);
    return value;
  };
  const eps = String(def.eps ?? defaults.eps);
  const method = def.method ?? defaults.method;
  switch (def.command) {
    case 'bounds':
      return ['bounds', def.model, '--eps', eps, '--method', method];
    case 'certify':
      return ['certify', def.model, '--data', need('data'), '--eps', eps, '--method', method, ...(def.count !== undefined ? ['--count', String(def.count)] : [])];
    case 'graft':
      return [
        'graft', def.model, '--data', need('data'), '--eps', eps, '--ratio', String(def.ratio ?? 0.5), '--out', need('out'),
        ...(def.epochs !== undefined ? ['--epochs', String(def.epochs)] : []),
      ];
    case 'verify':
      return ['verify', def.model, need('property'), ...(def.timeout !== undefined ? ['--timeout', String(def.timeout)] : [])];
  }
}

/**
 * Provides a bounds (and, where a data set is known, certify and graft) task for each open model, and a
 * verify task for each open `.vnnlib` with a model beside it; resolves tasks written in tasks.json.
 */
export class GraftcertTaskProvider implements vscode.TaskProvider {
  constructor(
    private readonly ctx: Ctx,
    /** The model's InspectReport (for its input size, which picks the default data), or undefined when it cannot load. */
    private readonly inspect: (model: vscode.Uri) => Promise<InspectReport | undefined>,
    private readonly defaultData: (report: InspectReport, name: string) => string | undefined,
  ) {}

  async provideTasks(): Promise<vscode.Task[]> {
    // VS Code itself asks for trust before listing or running tasks; in Restricted Mode offer none all the same.
    if (!vscode.workspace.isTrusted) return [];
    const tasks: vscode.Task[] = [];
    const { models, properties } = openFiles();
    for (const model of models) {
      const folder = vscode.workspace.getWorkspaceFolder(model);
      const rel = relativeTo(folder, model);
      tasks.push(this.task({ type: taskType, command: 'bounds', model: rel }, folder));
      const report = await this.inspect(model);
      const data = report && this.defaultData(report, basename(model.fsPath));
      if (data !== undefined) {
        tasks.push(this.task({ type: taskType, command: 'certify', model: rel, data }, folder));
        const out = rel.replace(/\.onnx$/i, '') + '.grafted.onnx';
        tasks.push(this.task({ type: taskType, command: 'graft', model: rel, data, ratio: 0.5, out }, folder));
      }
    }
    for (const property of properties) {
      const model = await pairedModel(property);
      if (!model) continue;
      const folder = vscode.workspace.getWorkspaceFolder(property);
      tasks.push(this.task({ type: taskType, command: 'verify', model: relativeTo(folder, model), property: relativeTo(folder, property) }, folder));
    }
    return tasks;
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as GraftcertTaskDefinition;
    if (def.type !== taskType) return undefined;
    const folder = typeof task.scope === 'object' ? task.scope : undefined;
    return this.task(def, folder, task.name);
  }

  /** A runnable task for `def`; a definition with a missing field becomes a task that prints why and exits 2. */
  task(def: GraftcertTaskDefinition, folder: vscode.WorkspaceFolder | undefined, name?: string): vscode.Task {
    const cli = path.join(this.ctx.extCtx.extensionPath, 'bin', 'graftcert.js');
    let args: string[];
    try {
      args = [cli, ...cliArguments(def, { eps: this.ctx.config.epsilon, method: this.ctx.config.method })];
    } catch (error) {
      const sentence = `graftcert: tasks.json: ${error instanceof Error ? error.message : String(error)} — see the graftcert task fields in the README`;
      args = ['-e', `process.stderr.write(${JSON.stringify(sentence + '\n')}); process.exit(2)`];
    }
    // The extension host's own Node: plain Node in code-server/remote hosts, Electron (run as Node) on the desktop.
    const execution = new vscode.ProcessExecution(process.execPath, args, {
      cwd: folder?.uri.fsPath,
      env: { ELECTRON_RUN_AS_NODE: '1', ...this.ctx.config.backendEnv() },
    });
    const label = name ?? taskLabel(def);
    const task = new vscode.Task(def, folder ?? vscode.TaskScope.Workspace, label, taskType, execution, problemMatcher);
    task.group = def.command === 'graft' ? vscode.TaskGroup.Build : vscode.TaskGroup.Test;
    task.detail = `graftcert ${args.slice(1).map(quoteForDisplay).join(' ')}`;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, clear: true };
    return task;
  }
}

function taskLabel(def: GraftcertTaskDefinition): string {
  const model = basename(def.model);
  if (def.command === 'verify') return `verify ${basename(def.property ?? '')} against ${model}`;
  return `${def.command} ${model}`;
}

/** The `.onnx` models and `.vnnlib` properties behind the open tabs (a model text view counts as its model). */
function openFiles(): { models: vscode.Uri[]; properties: vscode.Uri[] } {
  const models = new Map<string, vscode.Uri>();
  const properties = new Map<string, vscode.Uri>();
  const uris = vscode.window.tabGroups.all.flatMap((group) =>
    group.tabs.flatMap((tab) => (tab.input instanceof vscode.TabInputText || tab.input instanceof vscode.TabInputCustom ? [tab.input.uri] : [])),
  );
  for (const uri of uris) {
    const file = modelOfViewUri(uri) ?? uri;
    if (file.scheme !== 'file') continue;
    if (/\.onnx$/i.test(file.path)) models.set(file.toString(), file);
    else if (/\.vnnlib$/i.test(file.path)) properties.set(file.toString(), file);
  }
  return { models: [...models.values()], properties: [...properties.values()] };
}

/** The model a property is about: the same-stem `.onnx` beside it, else the only `.onnx` in its folder. */
async function pairedModel(property: vscode.Uri): Promise<vscode.Uri | undefined> {
  const folder = vscode.Uri.joinPath(property, '..');
  let entries: [string, vscode.FileType][];
  try {
    entries = await vscode.workspace.fs.readDirectory(folder);
  } catch {
    return undefined;
  }
  const models = entries.filter(([name, type]) => type === vscode.FileType.File && /\.onnx$/i.test(name)).map(([name]) => name);
  const stem = basename(property.path).replace(/\.vnnlib$/i, '');
  const same = models.find((name) => name.replace(/\.onnx$/i, '') === stem);
  const chosen = same ?? (models.length === 1 ? models[0] : undefined);
  return chosen === undefined ? undefined : vscode.Uri.joinPath(folder, chosen);
}

function relativeTo(folder: vscode.WorkspaceFolder | undefined, file: vscode.Uri): string {
  if (!folder) return file.fsPath;
  const rel = path.relative(folder.uri.fsPath, file.fsPath);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file.fsPath : rel;
}

function basename(p: string): string {
  return p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
}

function quoteForDisplay(arg: string): string {
  return /^[\w./:=,@+-]+$/.test(arg) ? arg : JSON.stringify(arg);
}
