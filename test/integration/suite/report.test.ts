// The Robustness Report after Certify Model in a real VS Code: the model view's "Open Report" CodeLens opens the panel
// with that run's figures.
import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { GraftcertApi } from '../../../extension/main';
import { rng } from '../../helpers/onnx-models';
import { activatedExtension, closeAllEditors, fixtureDir, waitFor, writeTinyMlp } from './helpers';

suite('robustness report', () => {
  let dir: string;
  let api: GraftcertApi;

  suiteSetup(async () => {
    api = (await activatedExtension()).exports as GraftcertApi;
    dir = fixtureDir('report');
  });
  teardown(closeAllEditors);
  suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

  test('Certify Model, then the view\'s "Open Report" CodeLens: the panel shows that run\'s accuracies and layers', async () => {
    const model = writeTinyMlp(dir, 'reported.onnx');
    const next = rng(3);
    const inputs = Array.from({ length: 20 }, () => Array.from({ length: 4 }, () => Number(next().toFixed(3))));
    const data = join(dir, 'data.json');
    writeFileSync(data, JSON.stringify({ inputs, labels: inputs.map((_, i) => i % 2) }));
    await vscode.commands.executeCommand('graftcert.certifyModel', model, { eps: 0.2, data, count: 20, method: 'crown' });
    const run = api.views.lastRuns.get(model.toString());
    assert.equal(run?.kind, 'certify');
    if (run?.kind !== 'certify') return;
    const doc = vscode.window.activeTextEditor!.document;
    assert.ok(doc.uri.path.endsWith('reported.onnx.onnxtxt'), doc.uri.toString());
    const lens = await waitFor('the Open Report lens', async () =>
      (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)).find((l) => l.command?.command === 'graftcert.openReport'),
    );
    await vscode.commands.executeCommand(lens.command!.command, ...(lens.command!.arguments ?? []));
    const report = await waitFor('the report panel', () => (api.shownReport()?.model === 'reported.onnx' ? api.shownReport() : undefined));
    assert.equal(report.eps, 0.2);
    assert.equal(report.data, data);
    assert.deepEqual(report.accuracy?.before, { clean: run.report.clean_accuracy, certified: run.report.certified_accuracy, count: 20 });
    assert.deepEqual(report.layers?.map((l) => [l.name, l.size, l.before?.crown]), [['relu1', 3, run.report.layers[0].unstable]]);
    const tab = await waitFor('the report panel tab', () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === 'Robustness Report: reported.onnx'),
    );
    assert.ok(tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith('graftcert.report'), String(tab.input));
  });
});
