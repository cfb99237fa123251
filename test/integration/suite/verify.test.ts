// Verify Property… in a real VS Code: a tiny model and two properties made here, one unsat by construction and one sat
// with a known counterexample; the inline result on the property and the counterexample document.
import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { GraftcertApi } from '../../../extension/main';
import { encodeModel } from '../../../server/onnx/encode';
import { activatedExtension, closeAllEditors, fixtureDir, spyOnMessages, waitFor } from './helpers';

/** y = W2·relu(W1·x) with W1 = W2 = I: y = relu(x) on two inputs, so every answer is known by hand. */
function reluIdentityModel(): Uint8Array {
  const identity = (name: string) => ({ name, dims: [2, 2], data: [1, 0, 0, 1] });
  const zeros = (name: string) => ({ name, dims: [2], data: [0, 0] });
  return encodeModel({
    inputs: [{ name: 'x', shape: [1, 2] }],
    outputs: [{ name: 'y', shape: [1, 2] }],
    nodes: [
      { opType: 'Gemm', inputs: ['x', 'W1', 'b1'], outputs: ['h'], attrs: { transB: { kind: 'int', value: 1 } } },
      { opType: 'Relu', inputs: ['h'], outputs: ['a'], name: 'relu1' },
      { opType: 'Gemm', inputs: ['a', 'W2', 'b2'], outputs: ['y'], attrs: { transB: { kind: 'int', value: 1 } } },
    ],
    initializers: [identity('W1'), zeros('b1'), identity('W2'), zeros('b2')],
  });
}

/** X in [lo, hi]², unsafe when `unsafe` holds (the VNN-LIB convention: sat = a counterexample exists). */
function property(lo: number, hi: number, unsafe: string): string {
  return [
    '(declare-const X_0 Real)',
    '(declare-const X_1 Real)',
    '(declare-const Y_0 Real)',
    '(declare-const Y_1 Real)',
    `(assert (>= X_0 ${lo}))`,
    `(assert (<= X_0 ${hi}))`,
    `(assert (>= X_1 ${lo}))`,
    `(assert (<= X_1 ${hi}))`,
    `(assert ${unsafe})`,
    '',
  ].join('\n');
}

async function lensTitles(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
  return vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
}

suite('verify property', () => {
  let dir: string;
  let api: GraftcertApi;
  let model: vscode.Uri;

  suiteSetup(async () => {
    api = (await activatedExtension()).exports as GraftcertApi;
    dir = fixtureDir('verify');
    model = vscode.Uri.file(join(dir, 'relu2.onnx'));
    writeFileSync(model.fsPath, reluIdentityModel());
  });
  teardown(closeAllEditors);
  suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

  test('unsat by construction: y0 = x0 ≥ 0.1 never reaches 0.05; the property shows "unsat" inline', async function () {
    this.timeout(60_000);
    const file = vscode.Uri.file(join(dir, 'holds.vnnlib'));
    writeFileSync(file.fsPath, property(0.1, 0.2, '(<= Y_0 0.05)'));
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const spy = spyOnMessages();
    try {
      await vscode.commands.executeCommand('graftcert.verifyProperty', file, model);
      assert.equal(api.views.verifyResults.get(file, model)?.result, 'unsat');
      assert.ok(spy.messages.some((m) => /^graftcert: holds\.vnnlib against relu2\.onnx: unsat in /.test(m.text)), JSON.stringify(spy.messages));
    } finally {
      spy.dispose();
    }
    const lens = await waitFor('the unsat result lens', async () => (await lensTitles(doc)).find((l) => l.command?.title.includes('unsat in')));
    assert.match(lens.command!.title, /^\$\(pass\) unsat in \d+\.\d s by (bounds|branch-and-bound) — relu2\.onnx$/);
  });

  test('sat with a known counterexample: y0 = x0 ≥ 0.9 is reachable; "sat" inline and the counterexample opens', async function () {
    this.timeout(60_000);
    const file = vscode.Uri.file(join(dir, 'violated.vnnlib'));
    writeFileSync(file.fsPath, property(0, 1, '(>= Y_0 0.9)'));
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('graftcert.verifyProperty', file, model);
    const report = api.views.verifyResults.get(file, model);
    assert.equal(report?.result, 'sat');
    const [x0, x1] = report!.counterexample!.x;
    const [y0, y1] = report!.counterexample!.y;
    // A real counterexample of y = relu(x): inside the box, y0 ≥ 0.9, and y is the model's output at x.
    assert.ok(x0 >= 0.9 - 1e-6 && x0 <= 1 + 1e-9 && x1 >= -1e-9 && x1 <= 1 + 1e-9, `x = ${x0}, ${x1}`);
    assert.ok(Math.abs(y0 - x0) < 1e-5 && Math.abs(y1 - Math.max(0, x1)) < 1e-5, `y = ${y0}, ${y1} for x = ${x0}, ${x1}`);
    const lens = await waitFor('the sat result lens', async () => (await lensTitles(doc)).find((l) => l.command?.command === 'graftcert.openCounterexample'));
    assert.match(lens.command!.title, /^\$\(error\) sat in \d+\.\d s by \S+ — relu2\.onnx · open counterexample$/);
    await vscode.commands.executeCommand(lens.command!.command, ...(lens.command!.arguments ?? []));
    const cex = await waitFor('the counterexample editor', () => {
      const editor = vscode.window.activeTextEditor;
      return editor?.document.uri.scheme === 'graftcert-cex' ? editor.document : undefined;
    });
    const text = cex.getText();
    assert.match(text, /^sat\n\(\n\(X_0 [\d.e+-]+\)\n\(X_1 [\d.e+-]+\)\n\(Y_0 [\d.e+-]+\)\n\(Y_1 [\d.e+-]+\)\n\)\n$/);
    assert.ok(text.includes(`(X_0 ${x0})`) && text.includes(`(Y_0 ${y0})`), text);
  });
});
