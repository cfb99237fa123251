// Graft Model… in a real VS Code: a tiny model and tiny JSON data (ratio 0.5, 1 epoch) → a grafted .onnx whose text view
// shows the grafted counts in its inlay hints; the Robustness Report compares the two models.
import * as assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { GraftcertApi } from '../../../extension/main';
import { inspectModelFile } from '../../../server/inspect';
import { activatedExtension, closeAllEditors, fixtureDir, spyOnMessages, waitFor, writeTinyMlp } from './helpers';

suite('graft model', () => {
  let dir: string;
  let api: GraftcertApi;

  suiteSetup(async () => {
    api = (await activatedExtension()).exports as GraftcertApi;
    dir = fixtureDir('graft');
  });
  teardown(closeAllEditors);
  suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

  test('ratio 0.5, one epoch: the grafted .onnx appears, its view\'s hints show the grafted neurons, Open Report compares', async function () {
    this.timeout(180_000);
    const model = writeTinyMlp(dir, 'small.onnx');
    const inputs = Array.from({ length: 60 }, (_, i) => [0.1 * (i % 7), 0.5, (i % 3) / 3, 0.2]);
    const data = join(dir, 'data.json');
    writeFileSync(data, JSON.stringify({ inputs, labels: inputs.map((_, i) => i % 2) }));
    const out = join(dir, 'small.grafted.onnx');
    const spy = spyOnMessages();
    try {
      await vscode.commands.executeCommand('graftcert.graftModel', model, { eps: 0.05, data, ratio: 0.5, epochs: 1, out });
      assert.deepEqual(spy.messages.filter((m) => m.severity !== 'info'), []);
      assert.ok(existsSync(out), `${out} was not written; messages: ${JSON.stringify(spy.messages)}`);
      const done = spy.messages.find((m) => m.text.startsWith('graftcert: grafted '));
      assert.ok(done, JSON.stringify(spy.messages));
      assert.match(done.text, /^graftcert: grafted \d+ neurons of small\.onnx into small\.grafted\.onnx: unstable /);
    } finally {
      spy.dispose();
    }
    const grafted = inspectModelFile(out).reluLayers[0].grafted;
    assert.ok(grafted >= 1 && grafted <= 2, `grafted ${grafted} of 3 at ratio 0.5`);

    const editor = vscode.window.activeTextEditor;
    assert.ok(editor?.document.uri.path.endsWith('small.grafted.onnx.onnxtxt'), editor?.document.uri.toString());
    const doc = editor!.document;
    const run = api.views.lastRuns.get(vscode.Uri.file(out).toString());
    assert.equal(run?.kind, 'graft');
    const layer = run?.kind === 'graft' ? run.report.after!.layers[0] : undefined;
    assert.equal(layer?.grafted, grafted);
    const labels = await waitFor('the grafted layer\'s hint', async () => {
      const all = await vscode.commands.executeCommand<vscode.InlayHint[]>('vscode.executeInlayHintProvider', doc.uri, new vscode.Range(0, 0, doc.lineCount, 0));
      const text = all.map((h) => (typeof h.label === 'string' ? h.label : h.label.map((p) => p.value).join('')));
      return text.length > 0 ? text : undefined;
    });
    assert.equal(labels.length, 1, JSON.stringify(labels));
    assert.match(labels[0], new RegExp(`^[⚠✓] \\d+(\\.\\d)?/3 unstable · ${grafted} grafted$`));

    // The model view's "Open Report" CodeLens opens the Robustness Report of the graft.
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const open = lenses.find((l) => l.command?.command === 'graftcert.openReport');
    assert.ok(open, JSON.stringify(lenses.map((l) => l.command?.title)));
    await vscode.commands.executeCommand(open.command!.command, ...(open.command!.arguments ?? []));
    const report = await waitFor('the report panel', () => api.shownReport());
    assert.equal(report.model, 'small.onnx');
    assert.equal(report.graftedModel, 'small.grafted.onnx');
    assert.equal(report.ratio, 0.5);
    assert.equal(report.layers?.[0].grafted, grafted);
    assert.equal(typeof report.accuracy?.after?.certified, 'number');
  });
});
