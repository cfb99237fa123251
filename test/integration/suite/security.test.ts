// Security in a real VS Code: an instances.csv cannot pair a property with a model outside the workspace (.., absolute
// path, symbolic link) — the CodeLens refuses it in one sentence — and the report webview's page has a strict CSP.
import * as assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as vscode from 'vscode';
import { webviewHtml } from '../../../extension/panels/report-panel';
import { activatedExtension, closeAllEditors, extensionId, fixtureDir, waitFor, workspaceFolder, writeTinyMlp } from './helpers';

const property = '(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const X_2 Real)\n(declare-const X_3 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n' +
  '(assert (>= X_0 0))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (<= X_1 1))\n(assert (>= X_2 0))\n(assert (<= X_2 1))\n(assert (>= X_3 0))\n(assert (<= X_3 1))\n(assert (<= Y_0 Y_1))\n';

suite('security: paths from files stay in the workspace; strict webview CSP', () => {
  let outside: string;
  let inside: string;

  suiteSetup(async () => {
    await activatedExtension();
    outside = fixtureDir('outside');
    inside = join(workspaceFolder().uri.fsPath, 'escape-bench');
    mkdirSync(join(inside, 'props'), { recursive: true });
    mkdirSync(join(inside, 'nets'), { recursive: true });
  });
  teardown(closeAllEditors);
  suiteTeardown(() => {
    rmSync(outside, { recursive: true, force: true });
    rmSync(inside, { recursive: true, force: true });
  });

  test('the Verify CodeLens offers the model inside the workspace and refuses instances.csv rows that escape it, one sentence each', async function () {
    this.timeout(60_000);
    writeTinyMlp(join(inside, 'nets'), 'ok.onnx');
    const evil = writeTinyMlp(outside, 'evil.onnx').fsPath;
    symlinkSync(evil, join(inside, 'nets', 'link.onnx'));
    const dotdot = relative(inside, evil);
    writeFileSync(join(inside, 'props', 'p.vnnlib'), property);
    writeFileSync(
      join(inside, 'instances.csv'),
      ['onnx,vnnlib,timeout', 'nets/ok.onnx,props/p.vnnlib,60', `${dotdot},props/p.vnnlib,60`, `${evil},props/p.vnnlib,60`, 'nets/link.onnx,props/p.vnnlib,60'].join('\n') + '\n',
    );
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(inside, 'props', 'p.vnnlib')));
    assert.equal(doc.languageId, 'vnnlib');
    await vscode.window.showTextDocument(doc);
    const titles = await waitFor('the VNN-LIB CodeLenses', async () => {
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
      const found = lenses.map((l) => l.command?.title ?? '');
      return found.some((t) => t.includes('Verify against')) ? found : undefined;
    });
    assert.deepEqual(titles.filter((t) => t.includes('Verify against')), ['$(play) Verify against ok.onnx']);
    const refused = titles.filter((t) => t.startsWith('$(warning) refused: '));
    assert.equal(refused.length, 3, JSON.stringify(titles));
    const root = workspaceFolder().uri.fsPath;
    assert.equal(refused[0], `$(warning) refused: escape-bench/instances.csv:3: the model path "${dotdot}" leads outside the workspace folder ${root} — graftcert only opens files from there; copy the file into it`);
    assert.match(refused[1], /^\$\(warning\) refused: escape-bench\/instances\.csv:4: the model path ".*evil\.onnx" is an absolute path outside the workspace folder /);
    assert.match(refused[2], /^\$\(warning\) refused: escape-bench\/instances\.csv:5: the model path "nets\/link\.onnx" leads through a symbolic link to a file outside the workspace folder /);
    assert.ok(titles.every((t) => !/Verify against (evil|link)\.onnx/.test(t)), JSON.stringify(titles));
  });

  test("the report webview's page: default-src 'none', scripts only with its nonce, no remote or inline sources, no eval", () => {
    const panel = vscode.window.createWebviewPanel('graftcert.cspProbe', 'csp probe', vscode.ViewColumn.One, { enableScripts: true });
    try {
      const extension = vscode.extensions.getExtension(extensionId)!;
      const html = webviewHtml(panel.webview, extension.extensionUri);
      const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
      assert.ok(csp, html);
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...sources]) => [name, sources]));
      assert.deepEqual(directives.get('default-src'), ["'none'"]);
      const scriptSources = directives.get('script-src') ?? [];
      assert.equal(scriptSources.length, 1, csp);
      const nonce = /^'nonce-([A-Za-z0-9+/=]{16,})'$/.exec(scriptSources[0])?.[1];
      assert.ok(nonce, `script-src must be the nonce alone: ${csp}`);
      assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline|wasm-unsafe-eval|\*(?!\.vscode-cdn\.net)/);
      // Every source is 'none', the nonce, data: (images) or the webview's own resource origin(s): nothing remote.
      const allowed = ["'none'", `'nonce-${nonce}'`, 'data:', ...panel.webview.cspSource.split(/\s+/)];
      for (const [name, sources] of directives) {
        for (const source of sources) {
          assert.ok(allowed.includes(source), `${name} allows ${source} (the webview's cspSource is ${panel.webview.cspSource})`);
        }
      }
      const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
      assert.ok(scripts.length > 0);
      for (const attrs of scripts) assert.match(attrs, new RegExp(`nonce="${nonce}"`));
      // Every URL in the page is a webview resource of the extension's own dist/webview.
      const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      for (const url of urls) assert.ok(url.includes('/dist/webview/') && !url.startsWith('http:'), url);
      // A second page has a fresh nonce.
      assert.notEqual(/'nonce-([^']+)'/.exec(webviewHtml(panel.webview, extension.extensionUri))?.[1], nonce);
    } finally {
      panel.dispose();
    }
  });
});
