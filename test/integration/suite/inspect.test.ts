// "Inspect Model" in a real VS Code: the read-only graftcert-model: view and its numbers; a corrupt file's error.
import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { activatedExtension, closeAllEditors, fixtureDir, sharedModel, spyOnErrorMessages, writeTinyMlp } from './helpers';

/** Runs graftcert.inspectModel on a model and returns the document it opened. */
async function inspect(model: vscode.Uri): Promise<vscode.TextDocument> {
  await vscode.commands.executeCommand('graftcert.inspectModel', model);
  const editor = vscode.window.activeTextEditor;
  assert.ok(editor, 'Inspect Model opened no text editor');
  return editor.document;
}

suite('inspect model', () => {
  let dir: string;

  suiteSetup(async () => {
    await activatedExtension();
    dir = fixtureDir('inspect');
  });

  teardown(closeAllEditors);
  suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

  test('opens a read-only graftcert-model: view with the model\'s numbers', async () => {
    const model = writeTinyMlp(dir);
    const doc = await inspect(model);
    assert.equal(doc.uri.scheme, 'graftcert-model');
    assert.ok(doc.uri.path.endsWith('tiny-mlp.onnx.inspect'), doc.uri.toString());
    assert.equal(doc.languageId, 'onnx-text');
    const text = doc.getText();
    assert.match(text, /^params\s+23$/m);
    assert.match(text, /^ {2}x {2}float32\[1, 4\]$/m);
    assert.match(text, /^ {2}y {2}float32\[1, 2\]$/m);
    assert.match(text, /^ReLU layers \(1\)$/m);
    assert.match(text, /^ {2}relu1 {2}size 3 {3}pre-activation h$/m);
    assert.match(text, /^nodes \(3\)$/m);
    assert.match(text, /^ {2}Gemm_0 +Gemm +\[1, 3\] +15$/m);
    assert.match(text, /^ {2}Gemm_2 +Gemm +\[1, 2\] +8$/m);
  });

  test('a shipped benchmark model (lirpa fc_small) shows its 89,610 parameters and two ReLU layers of 100', async function () {
    const model = sharedModel('lirpa', 'models', 'fc_small.onnx');
    if (!model) this.skip();
    const text = (await inspect(model!)).getText();
    assert.match(text, /^params\s+89,610$/m);
    assert.match(text, /^ {2}input {2}float32\[1, 1, 28, 28\]$/m);
    assert.match(text, /^ReLU layers \(2\)$/m);
    assert.equal((text.match(/^ {2}\S+ {2}size 100 /gm) ?? []).length, 2, text);
  });

  test('a corrupt .onnx shows one error sentence naming the file, and the next inspect still works', async () => {
    const good = writeTinyMlp(dir, 'good.onnx');
    const corruptPath = join(dir, 'corrupt.onnx');
    writeFileSync(corruptPath, Buffer.from('this is not an ONNX model\n'));
    const errors = spyOnErrorMessages();
    try {
      await vscode.commands.executeCommand('graftcert.inspectModel', vscode.Uri.file(corruptPath));
      assert.equal(errors.messages.length, 1, `error notifications: ${JSON.stringify(errors.messages)}`);
      const [message] = errors.messages;
      assert.ok(message.startsWith('graftcert: '), message);
      assert.ok(message.includes('corrupt.onnx'), `the message does not name the file: ${message}`);
      assert.ok(!message.includes('\n'), `the message is more than one line: ${message}`);
      assert.equal(message.replace(/\d\.\d|e\.g\.|i\.e\./g, '').split(/[.!?](\s|$)/).filter((s) => s.trim().length > 0).length, 1, `more than one sentence: ${message}`);
      assert.notEqual(vscode.window.activeTextEditor?.document.uri.scheme, 'graftcert-model', 'a view opened for a corrupt model');
    } finally {
      errors.dispose();
    }
    const doc = await inspect(good);
    assert.equal(doc.uri.scheme, 'graftcert-model');
    assert.match(doc.getText(), /^params\s+23$/m);
  });
});
