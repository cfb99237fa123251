// VS Code tasks of type `graftcert` in a real VS Code: provided for the open files, run the CLI, errors become Problems via `$graftcert`.
import * as assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { encodeModel } from '../../../server/onnx/encode';
import { tinyMlpSpec } from '../../helpers/onnx-models';
import { activatedExtension, closeAllEditors, waitFor, workspaceFolder } from './helpers';

const property = [
  '(declare-const X_0 Real)',
  '(declare-const X_1 Real)',
  '(declare-const X_2 Real)',
  '(declare-const X_3 Real)',
  '(declare-const Y_0 Real)',
  '(declare-const Y_1 Real)',
  '(assert (<= X_0 0.6))',
  '(assert (>= X_0 0.4))',
  '(assert (<= X_1 0.6))',
  '(assert (>= X_1 zero))',
  '(assert (<= X_2 0.75))',
  '(assert (>= X_2 0.25))',
  '(assert (<= X_3 0.6))',
  '(assert (>= X_3 0.4))',
  '(assert (>= Y_1 Y_0))',
  '',
].join('\n');

/** Runs a task and resolves with its process's exit code. */
async function runTask(task: vscode.Task): Promise<number | undefined> {
  const ended = new Promise<number | undefined>((resolve) => {
    const listener = vscode.tasks.onDidEndTaskProcess((event) => {
      if (event.execution.task.name !== task.name || event.execution.task.source !== task.source) return;
      listener.dispose();
      resolve(event.exitCode);
    });
  });
  await vscode.tasks.executeTask(task);
  return ended;
}

suite('tasks', () => {
  let dir: string;

  suiteSetup(async () => {
    await activatedExtension();
    // Inside the workspace folder, as a person's models would be: task paths are relative to it.
    dir = join(workspaceFolder().uri.fsPath, 'tasks-e2e');
    mkdirSync(join(dir, 'broken'), { recursive: true });
    writeFileSync(join(dir, 'net.onnx'), encodeModel(tinyMlpSpec()));
    writeFileSync(join(dir, 'broken', 'net.onnx'), encodeModel(tinyMlpSpec()));
    writeFileSync(join(dir, 'broken', 'prop.vnnlib'), property);
  });
  teardown(closeAllEditors);
  suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

  test('the provider offers a bounds task for the open model and a verify task for the open property', async () => {
    await vscode.commands.executeCommand('graftcert.openModelText', vscode.Uri.file(join(dir, 'net.onnx')));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(join(dir, 'broken', 'prop.vnnlib'))), { preview: false });
    const tasks = await vscode.tasks.fetchTasks({ type: 'graftcert' });
    const names = tasks.map((t) => t.name).sort();
    assert.deepEqual(names, ['bounds net.onnx', 'verify prop.vnnlib against net.onnx'], JSON.stringify(names));
    const bounds = tasks.find((t) => t.name === 'bounds net.onnx')!;
    assert.deepEqual(bounds.definition, { type: 'graftcert', command: 'bounds', model: join('tasks-e2e', 'net.onnx') });
    assert.equal(bounds.source, 'graftcert');
    assert.deepEqual(bounds.problemMatchers, ['$graftcert']);
  });

  test('a bounds task on a small model runs the CLI and exits 0', async () => {
    await vscode.commands.executeCommand('graftcert.openModelText', vscode.Uri.file(join(dir, 'net.onnx')));
    const [bounds] = (await vscode.tasks.fetchTasks({ type: 'graftcert' })).filter((t) => t.name === 'bounds net.onnx');
    assert.ok(bounds, 'no bounds task provided');
    assert.equal(await runTask(bounds), 0);
  });

  test('a verify task on a broken .vnnlib exits 2 and puts the parse error in Problems at its line and column', async () => {
    const file = vscode.Uri.file(join(dir, 'broken', 'prop.vnnlib'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file), { preview: false });
    const [verify] = (await vscode.tasks.fetchTasks({ type: 'graftcert' })).filter((t) => t.name.startsWith('verify prop.vnnlib'));
    assert.ok(verify, 'no verify task provided');
    assert.deepEqual(verify.definition, { type: 'graftcert', command: 'verify', model: join('tasks-e2e', 'broken', 'net.onnx'), property: join('tasks-e2e', 'broken', 'prop.vnnlib') });
    assert.equal(await runTask(verify), 2);
    // The problem matcher's entry (source "graftcert task"), beside the language server's own diagnostic.
    const problem = await waitFor('the task\'s Problems entry', () =>
      vscode.languages.getDiagnostics(file).find((d) => d.source === 'graftcert task'),
    );
    assert.equal(problem.severity, vscode.DiagnosticSeverity.Error);
    // Line 10, column 17 (1-based): `zero` in `(assert (>= X_1 zero))`.
    assert.equal(problem.range.start.line, 9);
    assert.equal(problem.range.start.character, 16);
    assert.match(problem.message, /unknown variable 'zero'/);
  });

  test('a tasks.json-style definition is resolved into a runnable task; a missing field fails with one sentence', async () => {
    const folder = workspaceFolder();
    const definition = { type: 'graftcert', command: 'bounds', model: join('tasks-e2e', 'net.onnx'), eps: 0.05, method: 'ibp' };
    const resolved = await resolveThroughProvider(new vscode.Task(definition, folder, 'my bounds', 'graftcert'));
    assert.ok(resolved.execution instanceof vscode.ProcessExecution);
    const execution = resolved.execution as vscode.ProcessExecution;
    assert.deepEqual(execution.args.slice(1), ['bounds', join('tasks-e2e', 'net.onnx'), '--eps', '0.05', '--method', 'ibp']);
    assert.equal(await runTask(resolved), 0);
    const broken = await resolveThroughProvider(new vscode.Task({ type: 'graftcert', command: 'certify', model: 'x.onnx' }, folder, 'no data', 'graftcert'));
    assert.equal(await runTask(broken), 2);
  });
});

/** The provider's resolveTask, as VS Code calls it for a tasks.json entry (through the extension's API object). */
async function resolveThroughProvider(task: vscode.Task): Promise<vscode.Task> {
  const extension = await activatedExtension();
  const api = extension.exports as { taskProvider: vscode.TaskProvider };
  const resolved = await api.taskProvider.resolveTask(task, new vscode.CancellationTokenSource().token);
  assert.ok(resolved, 'resolveTask returned nothing');
  return resolved;
}
