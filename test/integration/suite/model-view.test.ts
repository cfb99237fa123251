// The model text view and VNN-LIB editing in a real VS Code: certify → inlay hints and hovers with the engine's numbers, diagnostics.
import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { GraftcertApi } from '../../../extension/main';
import { certifyDataSet } from '../../../server/certify/dataset';
import { loadData } from '../../../server/commands/certify';
import { encodeModel } from '../../../server/onnx/encode';
import { loadModelFile } from '../../../server/onnx/load';
import { answerBounds } from '../../../server/server/certify-requests';
import { rng, tinyMlpSpec } from '../../helpers/onnx-models';
import { activatedExtension, closeAllEditors, fixtureDir, waitFor } from './helpers';

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

function lineOf(doc: vscode.TextDocument, pattern: RegExp): number {
  const line = doc.getText().split('\n').findIndex((l) => pattern.test(l));
  assert.ok(line >= 0, `no line matches ${pattern} in\n${doc.getText()}`);
  return line;
}

async function hintsAt(doc: vscode.TextDocument, line: number): Promise<vscode.InlayHint[]> {
  const all = await vscode.commands.executeCommand<vscode.InlayHint[]>('vscode.executeInlayHintProvider', doc.uri, new vscode.Range(0, 0, doc.lineCount, 0));
  return all.filter((h) => h.position.line === line);
}

function labelOf(hint: vscode.InlayHint): string {
  return typeof hint.label === 'string' ? hint.label : hint.label.map((p) => p.value).join('');
}

async function hoverText(uri: vscode.Uri, position: vscode.Position): Promise<string> {
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, position);
  return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
}

suite('model text view', () => {
  let dir: string;
  let api: GraftcertApi;

  suiteSetup(async () => {
    api = (await activatedExtension()).exports as GraftcertApi;
    dir = fixtureDir('model-view');
  });
  teardown(closeAllEditors);
  suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

  test('Open Model as Text shows the model in ONNX textual syntax', async () => {
    const model = join(dir, 'tiny-mlp.onnx');
    writeFileSync(model, encodeModel(tinyMlpSpec()));
    await vscode.commands.executeCommand('graftcert.openModelText', vscode.Uri.file(model));
    const doc = vscode.window.activeTextEditor!.document;
    assert.equal(doc.uri.scheme, 'graftcert-model');
    assert.equal(doc.languageId, 'onnx-text');
    assert.equal(
      doc.getText(),
      [
        '<',
        '   ir_version: 8,',
        '   opset_import: ["" : 13],',
        '   producer_name: "graftcert"',
        '>',
        'graph (float[1,4] x) => (float[1,2] y)',
        '   <float[3,4] W1, float[3] b1, float[2,3] W2, float[2] b2>',
        '{',
        '   h = Gemm <transB: int = 1> (x, W1, b1)',
        '   a = Relu (h)',
        '   y = Gemm <transB: int = 1> (a, W2, b2)',
        '}',
        '',
      ].join('\n'),
    );
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    assert.deepEqual(lenses.map((l) => l.command?.command).sort(), ['graftcert.certifyModel', 'graftcert.graftModel', 'graftcert.openReport']);
  });

  test('Certify Model on a JSON data set: inlay hint and hover at the ReLU line carry the engine\'s numbers', async () => {
    const model = join(dir, 'certify-mlp.onnx');
    writeFileSync(model, encodeModel(tinyMlpSpec()));
    const next = rng(7);
    const inputs = Array.from({ length: 12 }, () => Array.from({ length: 4 }, () => Number(next().toFixed(3))));
    const labels = inputs.map((_, i) => i % 2);
    const data = join(dir, 'tiny-data.json');
    writeFileSync(data, JSON.stringify({ inputs, labels }));
    const eps = 0.3;
    // The numbers straight from the engine, the way the backend computes them.
    const loaded = loadModelFile(model);
    const crown = await certifyDataSet(loaded, loadData(data, 12, 0), { eps, method: 'crown', workers: 1 });
    const ibp = await certifyDataSet(loaded, loadData(data, 12, 0), { eps, method: 'ibp', workers: 1 });
    const [layer] = crown.layers;
    assert.ok(layer.unstable > 0, `the fixture should leave some neurons unstable (crown: ${JSON.stringify(crown.layers)})`);

    await vscode.commands.executeCommand('graftcert.certifyModel', vscode.Uri.file(model), { eps, data, count: 12, method: 'crown' });
    const doc = vscode.window.activeTextEditor!.document;
    assert.equal(doc.uri.scheme, 'graftcert-model');
    const reluLine = lineOf(doc, /= Relu \(h\)$/);
    const expected = `⚠ ${fmt(layer.unstable)}/3 unstable · IBP ${fmt(ibp.layers[0].unstable)}`;
    const hints = await waitFor('the ReLU inlay hint', async () => {
      const found = await hintsAt(doc, reluLine);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(hints.length, 1);
    assert.equal(labelOf(hints[0]), expected);
    assert.equal(hints[0].position.character, doc.lineAt(reluLine).text.length);

    const hover = await hoverText(doc.uri, new vscode.Position(reluLine, 5));
    assert.match(hover, /`relu1`/);
    assert.ok(hover.includes(`unstable **${fmt(layer.unstable)}** · active ${fmt(layer.active)} · inactive ${fmt(layer.inactive)} · grafted 0 of 3 neurons`), hover);
    assert.ok(hover.includes(`IBP alone: ${fmt(ibp.layers[0].unstable)} unstable`), hover);
    assert.ok(hover.includes(`mean over 12 samples of ${data}`), hover);

    const lenses = await waitFor('the run summary lens', async () => {
      const all = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
      return all.find((l) => l.command?.title.startsWith('certified')) ? all : undefined;
    });
    const summary = lenses.find((l) => l.command?.title.startsWith('certified'))!.command!.title;
    assert.ok(summary.includes(`certified ${(100 * crown.certified_accuracy).toFixed(1).replace(/\.0$/, '')}%`), summary);
  });

  test('a bounds run (no data set: the input range) gives its counts and IBP ranges; a low threshold warns', async () => {
    const model = join(dir, 'bounds-mlp.onnx');
    writeFileSync(model, encodeModel(tinyMlpSpec()));
    const eps = 0.4;
    const expected = answerBounds({ path: model, eps, method: 'crown', clip: [0, 1] });
    const ibp = answerBounds({ path: model, eps, method: 'ibp', clip: [0, 1] });
    const config = vscode.workspace.getConfiguration('graftcert');
    await config.update('diagnostics.unstableShareWarning', 0, vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('graftcert.certifyModel', vscode.Uri.file(model), { eps, data: null, method: 'crown' });
      const doc = vscode.window.activeTextEditor!.document;
      const reluLine = lineOf(doc, /= Relu \(h\)$/);
      const [layer] = expected.layers;
      const hint = await waitFor('the bounds hint', async () => (await hintsAt(doc, reluLine))[0]);
      assert.equal(labelOf(hint), `${layer.unstable > 0 ? '⚠' : '✓'} ${layer.unstable}/3 unstable · IBP ${ibp.layers[0].unstable}`);
      const hover = await hoverText(doc.uri, new vscode.Position(reluLine, 5));
      assert.ok(hover.includes(`unstable **${layer.unstable}** · active ${layer.active} · inactive ${layer.inactive}`), hover);
      assert.match(hover, /- in `h`: float\[1,3\] ∈ \[−?[\d.]+, −?[\d.]+\]/);
      if (layer.unstable > 0) {
        const warning = await waitFor('the unstable-layer warning', () =>
          vscode.languages.getDiagnostics(doc.uri).find((d) => d.code === 'unstable-layer'),
        );
        assert.equal(warning.severity, vscode.DiagnosticSeverity.Warning);
        assert.equal(warning.range.start.line, reluLine);
      }
    } finally {
      await config.update('diagnostics.unstableShareWarning', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('a model with an unsupported op: an error on that node\'s op type', async () => {
    const spec = tinyMlpSpec();
    const model = join(dir, 'unsupported.onnx');
    writeFileSync(
      model,
      encodeModel({ ...spec, nodes: spec.nodes.map((n) => (n.opType === 'Relu' ? { ...n, opType: 'Hardmax', name: 'hm' } : n)) }),
    );
    await vscode.commands.executeCommand('graftcert.openModelText', vscode.Uri.file(model));
    const doc = vscode.window.activeTextEditor!.document;
    const line = lineOf(doc, /= Hardmax \(h\)$/);
    const error = await waitFor('the unsupported-op diagnostic', () => vscode.languages.getDiagnostics(doc.uri).find((d) => d.code === 'unsupported-op'));
    assert.equal(error.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(error.range.start.line, line);
    assert.equal(doc.getText(error.range), 'Hardmax');
    assert.match(error.message, /^Hardmax is not supported/);
  });

  test('the status bar names the compute backend', async () => {
    const shown = await waitFor('the compute backend in the status item', () => {
      const s = api.ctx.statusShown;
      return /Compute backend: \w+/.test(s.tooltip) ? s : undefined;
    });
    assert.match(shown.text, /graftcert · \w+/);
  });
});

suite('VNN-LIB editing', () => {
  let dir: string;

  suiteSetup(async () => {
    await activatedExtension();
    dir = fixtureDir('vnnlib');
  });
  teardown(closeAllEditors);
  suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

  const property = [
    '; tiny property',
    '(declare-const X_0 Real)',
    '(declare-const X_1 Real)',
    '(declare-const X_2 Real)',
    '(declare-const X_3 Real)',
    '(declare-const Y_0 Real)',
    '(declare-const Y_1 Real)',
    '(assert (<= X_0 0.6))',
    '(assert (>= X_0 0.4))',
    '(assert (<= X_1 0.6))',
    '(assert (>= X_1 0.4))',
    '(assert (<= X_2 0.75))',
    '(assert (>= X_2 0.25))',
    '(assert (<= X_3 0.6))',
    '(assert (>= X_3 0.4))',
    '(assert (>= Y_1 Y_0))',
    '',
  ].join('\n');

  test('a broken property: the error at the parser\'s line and column, cleared once fixed as you type', async () => {
    const file = join(dir, 'broken.vnnlib');
    writeFileSync(file, property.replace('(assert (>= X_1 0.4))', '(assert (>= X_1 zero))'));
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const editor = await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, 'vnnlib');
    const error = await waitFor('the VNN-LIB diagnostic', () => vscode.languages.getDiagnostics(doc.uri).find((d) => d.severity === vscode.DiagnosticSeverity.Error));
    // Line 11, column 17 (1-based) in the parser's words.
    assert.equal(error.range.start.line, 10);
    assert.equal(error.range.start.character, 16);
    assert.equal(doc.getText(error.range), 'zero');
    assert.match(error.message, /unknown variable 'zero'/);
    const fixAt = error.range;
    await editor.edit((edit) => edit.replace(fixAt, '0.4'));
    await waitFor('the diagnostic to clear', () => (vscode.languages.getDiagnostics(doc.uri).length === 0 ? true : undefined));
  });

  test('hover on X_2 gives its bounds and tensor index from the same-stem model; the CodeLens offers to verify against it', async () => {
    const file = join(dir, 'prop.vnnlib');
    writeFileSync(file, property);
    writeFileSync(join(dir, 'prop.onnx'), encodeModel(tinyMlpSpec()));
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    await vscode.window.showTextDocument(doc);
    const line = 11; // (assert (<= X_2 0.75))
    const hover = await waitFor('the X_2 hover', async () => {
      const text = await hoverText(doc.uri, new vscode.Position(line, doc.lineAt(line).text.indexOf('X_2') + 1));
      return text.includes('X_2') ? text : undefined;
    });
    assert.ok(hover.includes('input element 2 of 4'), hover);
    assert.ok(hover.includes('`x[0, 2]`'), hover);
    assert.ok(hover.includes('[0.25, 0.75] (width 0.5)'), hover);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const verify = lenses.find((l) => l.command?.command === 'graftcert.verifyProperty');
    assert.ok(verify, JSON.stringify(lenses.map((l) => l.command?.title)));
    assert.equal(verify!.command!.title, '$(play) Verify against prop.onnx');
  });

  test('an instances.csv row whose model leaves the workspace is not offered', async () => {
    const sub = join(dir, 'bench');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'p.vnnlib'), property);
    writeFileSync(join(sub, 'instances.csv'), `../../../../../../../../../../etc/passwd.onnx,p.vnnlib,60\n`);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(sub, 'p.vnnlib')));
    await vscode.window.showTextDocument(doc);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.ok(titles.includes('$(play) Verify against… (choose a model)'), JSON.stringify(titles));
  });
});
