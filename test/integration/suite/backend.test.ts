// The backend under stress in a real VS Code: killed mid-certify (one notice, the job failed, restarted, next command works),
// a certify cancelled, and two overlapping runs on two models that must not mix.
import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { GraftcertApi } from '../../../extension/main';
import { certifyDataSet } from '../../../server/certify/dataset';
import { loadData } from '../../../server/commands/certify';
import { encodeModel } from '../../../server/onnx/encode';
import { loadModelFile } from '../../../server/onnx/load';
import { rng, tinyMlpSpec } from '../../helpers/onnx-models';
import { activatedExtension, closeAllEditors, fixtureDir, hintLabels, lineMatching, spyOnMessages, waitFor, writeMnistMlp, writeTinyMlp } from './helpers';

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

suite('backend crash, cancel and concurrency', () => {
  let dir: string;
  let api: GraftcertApi;

  suiteSetup(async () => {
    api = (await activatedExtension()).exports as GraftcertApi;
    dir = fixtureDir('backend');
  });
  teardown(closeAllEditors);
  suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

  /** A bounds run on a fresh tiny model: the "next command" that must work. */
  async function nextCommandWorks(name: string): Promise<void> {
    const model = writeTinyMlp(dir, name);
    await vscode.commands.executeCommand('graftcert.certifyModel', model, { eps: 0.1, data: null, method: 'crown' });
    const run = api.views.lastRuns.get(model.toString());
    assert.equal(run?.kind, 'bounds', `no bounds run recorded for ${name}`);
    assert.equal(run!.report.layers[0].size, 3);
  }

  test('killing the backend mid-certify: one notice naming the lost job, the backend restarts, the next command works', async function () {
    this.timeout(120_000);
    const model = writeMnistMlp(dir, 'slow.onnx');
    const pid = await waitFor('the backend pid', () => api.ctx.backendPid);
    const spy = spyOnMessages();
    try {
      const certify = vscode.commands.executeCommand('graftcert.certifyModel', model, { eps: 0.01, data: 'mnist', count: 10_000, method: 'crown' });
      // The job is in flight once the status item names it (the request has gone out).
      await waitFor('the certify job in the status item', () => (api.ctx.statusShown.text.includes('certifying slow.onnx') ? true : undefined), 30_000);
      process.kill(pid);
      await certify;
      const notice = await waitFor('the crash notice', () => (spy.messages.length > 0 ? spy.messages : undefined));
      assert.equal(notice.length, 1, JSON.stringify(spy.messages));
      assert.equal(notice[0].severity, 'error');
      assert.match(notice[0].text, /^graftcert: the backend stopped unexpectedly; certifying slow\.onnx was lost — run it again; it is being restarted/);
      assert.equal(api.views.lastRuns.get(model.toString()), undefined, 'a lost run was recorded as a result');
      const restarted = await waitFor('a new backend process', () => {
        const now = api.ctx.backendPid;
        return now !== undefined && now !== pid ? now : undefined;
      }, 30_000);
      assert.notEqual(restarted, pid);
      assert.ok(!api.ctx.statusShown.text.includes('certifying'), `the status still shows the lost job: ${api.ctx.statusShown.text}`);
      await nextCommandWorks('after-crash.onnx');
      assert.equal(spy.messages.filter((m) => m.severity !== 'info').length, 1, JSON.stringify(spy.messages));
    } finally {
      spy.dispose();
    }
  });

  test('a certify cancelled while it runs (graftcert/cancel) answers the samples done so far, and the next command works', async function () {
    this.timeout(120_000);
    const model = writeMnistMlp(dir, 'cancelled.onnx');
    const config = vscode.workspace.getConfiguration('graftcert');
    // The time limit cancels through the same path as the progress notification's Cancel button.
    await config.update('certify.timeoutSeconds', 2, vscode.ConfigurationTarget.Global);
    const spy = spyOnMessages();
    try {
      await vscode.commands.executeCommand('graftcert.certifyModel', model, { eps: 0.01, data: 'mnist', count: 10_000, method: 'crown' });
      const run = api.views.lastRuns.get(model.toString());
      assert.equal(run?.kind, 'certify');
      if (run?.kind !== 'certify') return;
      assert.equal(run.report.cancelled, true);
      assert.ok(run.report.count < 10_000, `all ${run.report.count} samples ran`);
      assert.equal(run.report.samples.length, run.report.count);
      const done = spy.messages.find((m) => m.text.includes('cancelled.onnx — certified'));
      assert.ok(done, JSON.stringify(spy.messages));
      assert.match(done.text, new RegExp(`\\(cancelled after ${run.report.count} samples\\)`));
      assert.deepEqual(spy.messages.filter((m) => m.severity === 'error'), []);
    } finally {
      spy.dispose();
      await config.update('certify.timeoutSeconds', undefined, vscode.ConfigurationTarget.Global);
    }
    await nextCommandWorks('after-cancel.onnx');
  });

  test('two overlapping certify runs on two models: each result names its model, each view gets its own hints', async function () {
    this.timeout(120_000);
    const models = ['left.onnx', 'right.onnx'].map((name, i) => {
      const path = join(dir, name);
      writeFileSync(path, encodeModel(tinyMlpSpec(rng(40 + i))));
      return vscode.Uri.file(path);
    });
    const next = rng(9);
    const inputs = Array.from({ length: 400 }, () => Array.from({ length: 4 }, () => Number(next().toFixed(3))));
    const data = join(dir, 'overlap.json');
    writeFileSync(data, JSON.stringify({ inputs, labels: inputs.map((_, i) => i % 2) }));
    const eps = 0.3;
    const expected = await Promise.all(models.map((m) => certifyDataSet(loadModelFile(m.fsPath), loadData(data, 400, 0), { eps, method: 'crown', workers: 1 })));
    assert.notEqual(fmt(expected[0].layers[0].unstable), fmt(expected[1].layers[0].unstable), 'the fixtures should differ in their unstable counts');
    const spy = spyOnMessages();
    try {
      // Both go out before either answers.
      await Promise.all(models.map((m) => vscode.commands.executeCommand('graftcert.certifyModel', m, { eps, data, count: 400, method: 'crown' })));
      for (const [i, model] of models.entries()) {
        const name = model.path.slice(model.path.lastIndexOf('/') + 1);
        const run = api.views.lastRuns.get(model.toString());
        assert.equal(run?.kind, 'certify');
        if (run?.kind !== 'certify') return;
        assert.ok(run.report.model.endsWith(name), `${name}'s result names ${run.report.model}`);
        assert.equal(run.report.certified_accuracy, expected[i].certified_accuracy, name);
        assert.deepEqual(run.report.layers.map((l) => l.unstable), expected[i].layers.map((l) => l.unstable), name);
        assert.ok(spy.messages.some((m) => m.text.startsWith(`graftcert: ${name} — certified`)), JSON.stringify(spy.messages));
        // Its own text view carries its own counts.
        await vscode.commands.executeCommand('graftcert.openModelText', model);
        const doc = vscode.window.activeTextEditor!.document;
        assert.ok(doc.uri.path.endsWith(`${name}.onnxtxt`), doc.uri.toString());
        const line = lineMatching(doc, /= Relu \(h\)$/);
        const labels = await waitFor(`${name}'s ReLU hint`, async () => {
          const found = await hintLabels(doc, line);
          return found.length > 0 ? found : undefined;
        });
        const u = expected[i].layers[0].unstable;
        assert.ok(labels[0].startsWith(`${u > 0 ? '⚠' : '✓'} ${fmt(u)}/3 unstable`), `${name}: ${labels[0]}`);
      }
      assert.deepEqual(spy.messages.filter((m) => m.severity === 'error'), []);
    } finally {
      spy.dispose();
    }
  });
});
