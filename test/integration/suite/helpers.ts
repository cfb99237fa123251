// Shared pieces for extension-host tests: the extension under test, model fixtures, notification spies, waiting.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { encodeModel } from '../../../server/onnx/encode';
import { randomTensor, rng, tinyMlpSpec } from '../../helpers/onnx-models';

export const extensionId = 'graftcert.graftcert';

/** The extension under test, activated (activation awaits the backend's first start). */
export async function activatedExtension(): Promise<vscode.Extension<unknown>> {
  const extension = vscode.extensions.getExtension(extensionId);
  if (!extension) throw new Error(`the extension ${extensionId} is not loaded in this extension host`);
  await extension.activate();
  return extension;
}

/** A fresh folder for one suite's files (the extension host's temp dir is the machine's). */
export function fixtureDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `graftcert-e2e-${label}-`));
}

/**
 * x[1,4] → Gemm(4→3) → Relu(relu1) → Gemm(3→2), made with the product's encoder: 23 parameters,
 * 3 nodes, one ReLU layer of 3 neurons.
 */
export function writeTinyMlp(dir: string, name = 'tiny-mlp.onnx'): vscode.Uri {
  const path = join(dir, name);
  writeFileSync(path, encodeModel(tinyMlpSpec()));
  return vscode.Uri.file(path);
}

/** ../shared/benchmarks beside the checkout, or undefined when it is not there. */
export function sharedModel(...parts: string[]): vscode.Uri | undefined {
  const extension = vscode.extensions.getExtension(extensionId);
  if (!extension) return undefined;
  const path = resolve(extension.extensionPath, '..', 'shared', 'benchmarks', ...parts);
  return existsSync(path) ? vscode.Uri.file(path) : undefined;
}

/**
 * Records the messages the extension shows with showErrorMessage. The extension and these tests
 * live under the same extension folder, so VS Code hands both the same `vscode` API object.
 */
export function spyOnErrorMessages(): { messages: string[]; dispose(): void } {
  const window = vscode.window as { showErrorMessage: (...args: any[]) => Thenable<unknown> };
  const original = window.showErrorMessage;
  const messages: string[] = [];
  window.showErrorMessage = (message: string, ...rest: any[]) => {
    messages.push(message);
    return original.call(vscode.window, message, ...rest);
  };
  return {
    messages,
    dispose: () => {
      window.showErrorMessage = original;
    },
  };
}

/** Polls `probe` until it returns a value other than undefined; rejects naming `what` after the deadline. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, deadlineMs = 20_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Closes every editor, so each test starts from an empty editor area. */
export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** Every notification the extension shows (error, warning, information), in order, with its severity. */
export function spyOnMessages(): { messages: { severity: 'error' | 'warning' | 'info'; text: string }[]; dispose(): void } {
  type Show = (...args: any[]) => Thenable<unknown>;
  const window = vscode.window as unknown as Record<'showErrorMessage' | 'showWarningMessage' | 'showInformationMessage', Show>;
  const kinds = { showErrorMessage: 'error', showWarningMessage: 'warning', showInformationMessage: 'info' } as const;
  const originals = new Map<keyof typeof kinds, Show>();
  const messages: { severity: 'error' | 'warning' | 'info'; text: string }[] = [];
  for (const key of Object.keys(kinds) as (keyof typeof kinds)[]) {
    const original = window[key];
    originals.set(key, original);
    window[key] = (message: string, ...rest: any[]) => {
      messages.push({ severity: kinds[key], text: message });
      return original.call(vscode.window, message, ...rest);
    };
  }
  return {
    messages,
    dispose: () => {
      for (const [key, original] of originals) window[key] = original;
    },
  };
}

/**
 * An MNIST-shaped MLP x[1,784] → 784→`hidden`→`hidden`→10 with random weights (scaled so that bounds stay finite and
 * some neurons are unstable at small ε): slow enough per sample that certifying thousands of MNIST images takes a while.
 */
export function writeMnistMlp(dir: string, name: string, hidden = 256, seed = 5): vscode.Uri {
  const next = rng(seed);
  const layer = (i: number, n: number, m: number) => [randomTensor(`W${i}`, [m, n], next, 1 / Math.sqrt(n)), randomTensor(`b${i}`, [m], next, 0.1)];
  const gemm = (i: number, input: string, output: string) => ({ opType: 'Gemm', inputs: [input, `W${i}`, `b${i}`], outputs: [output], attrs: { transB: { kind: 'int' as const, value: 1 } } });
  const path = join(dir, name);
  writeFileSync(
    path,
    encodeModel({
      inputs: [{ name: 'x', shape: [1, 784] }],
      outputs: [{ name: 'y', shape: [1, 10] }],
      nodes: [
        gemm(1, 'x', 'h1'),
        { opType: 'Relu', inputs: ['h1'], outputs: ['a1'], name: 'relu1' },
        gemm(2, 'a1', 'h2'),
        { opType: 'Relu', inputs: ['h2'], outputs: ['a2'], name: 'relu2' },
        gemm(3, 'a2', 'y'),
      ],
      initializers: [...layer(1, 784, hidden), ...layer(2, hidden, hidden), ...layer(3, hidden, 10)],
    }),
  );
  return vscode.Uri.file(path);
}

/** The workspace folder the harness opened (tasks run there). */
export function workspaceFolder(): vscode.WorkspaceFolder {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the extension host has no workspace folder open');
  return folder;
}

/** The inlay hints of `doc` on 0-based `line`, as plain labels. */
export async function hintLabels(doc: vscode.TextDocument, line: number): Promise<string[]> {
  const all = await vscode.commands.executeCommand<vscode.InlayHint[]>('vscode.executeInlayHintProvider', doc.uri, new vscode.Range(0, 0, doc.lineCount, 0));
  return all.filter((h) => h.position.line === line).map((h) => (typeof h.label === 'string' ? h.label : h.label.map((p) => p.value).join('')));
}

/** The 0-based line of `doc` matching `pattern`. */
export function lineMatching(doc: vscode.TextDocument, pattern: RegExp): number {
  const line = doc.getText().split('\n').findIndex((l) => pattern.test(l));
  if (line < 0) throw new Error(`no line matches ${pattern} in\n${doc.getText()}`);
  return line;
}

/** Every progress notification the extension opens (withProgress) and each message reported to it, by its title. */
export function spyOnProgress(): { reports: { title: string; message: string }[]; titles: string[]; dispose(): void } {
  type WithProgress = typeof vscode.window.withProgress;
  const window = vscode.window as { withProgress: WithProgress };
  const original = window.withProgress;
  const reports: { title: string; message: string }[] = [];
  const titles: string[] = [];
  window.withProgress = ((options, task) => {
    const title = options.title ?? '';
    titles.push(title);
    return original.call(vscode.window, options, (progress, token) =>
      task({ report: (value) => { if (value.message !== undefined) reports.push({ title, message: value.message }); progress.report(value); } }, token),
    );
  }) as WithProgress;
  return {
    reports,
    titles,
    dispose: () => {
      window.withProgress = original;
    },
  };
}
