// Shared pieces for extension-host tests: the extension under test, model fixtures, notification spies, waiting.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { encodeModel } from '../../../server/onnx/encode';
import { tinyMlpSpec } from '../../helpers/onnx-models';

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
