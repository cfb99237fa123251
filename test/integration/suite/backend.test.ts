// The backend under stress in a real VS Code: killed mid-certify (one notice, the job failed, restarted, next command works),
// a certify cancelled, overlapping runs on two models that must not mix, and a model rewritten on disk during its run.
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
import { activatedExtension, closeAllEditors, fixtureDir, hintLabels, lineMatching, spyOnMessages, spyOnProgress, waitFor, writeMnistMlp, writeTinyMlp } from './helpers';

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

  /** The ReLU hint labels of `model`'s text view on the line of `relu`, once there are some (or [] when `none` is expected). */
  async function reluHints(model: vscode.Uri, relu: RegExp): Promise<string[]> {
    await vscode.commands.executeCommand('graftcert.openModelText', model);
    const doc = vscode.window.activeTextEditor!.document;
    const line = lineMatching(doc, relu);
    return waitFor(`the hint of ${model.path}`, async () => {
      const found = await hintLabels(doc, line);
      return found.length > 0 ? found : undefined;
    });
  }

  test('a certify, a bounds run and an inspect at once: each lands on its own model, progress stays in its own notification', async function () {
    this.timeout(180_000);
    // Wide enough that 10 000 CROWN samples take well over the 25 s timeout on any machine this runs on.
    const busy = writeMnistMlp(dir, 'busy.onnx', 256, 11);
    const quick = writeTinyMlp(dir, 'quick.onnx');
    const config = vscode.workspace.getConfiguration('graftcert');
    // Ends the certify (as Cancel would) after the other two have come and gone; it answers the samples done.
    await config.update('certify.timeoutSeconds', 25, vscode.ConfigurationTarget.Global);
    const spy = spyOnMessages();
    const progress = spyOnProgress();
    try {
      const certify = vscode.commands.executeCommand('graftcert.certifyModel', busy, { eps: 0.01, data: 'mnist', count: 10_000, method: 'crown' });
      const certifyTitle = 'graftcert: certifying busy.onnx on 10000 samples of mnist at ε = 0.01 (CROWN)';
      await waitFor('the certify progress', () => (progress.reports.some((r) => r.title === certifyTitle && /\d+\/10000 samples/.test(r.message)) ? true : undefined), 60_000);
      await vscode.commands.executeCommand('graftcert.certifyModel', quick, { eps: 0.1, data: null, method: 'crown' });
      await vscode.commands.executeCommand('graftcert.inspectModel', busy);
      assert.ok(api.ctx.statusShown.text.includes('certifying busy.onnx'), `the certify should still run: ${api.ctx.statusShown.text}`);
      const quickRun = api.views.lastRuns.get(quick.toString());
      assert.equal(quickRun?.kind, 'bounds');
      assert.deepEqual(quickRun!.report.layers.map((l) => l.size), [3]);
      assert.equal(api.views.lastRuns.get(busy.toString()), undefined, 'the running certify has no result yet');
      assert.match((await reluHints(quick, /= Relu \(h\)$/))[0], /\/3 unstable/);
      await certify;
      const busyRun = api.views.lastRuns.get(busy.toString());
      assert.equal(busyRun?.kind, 'certify');
      if (busyRun?.kind !== 'certify') return;
      assert.ok(busyRun.report.model.endsWith('busy.onnx'), busyRun.report.model);
      assert.deepEqual(busyRun.report.layers.map((l) => l.size), [256, 256]);
      assert.equal(busyRun.report.cancelled, true, `the certify should have run into its timeout: ${busyRun.report.samples.length} samples done`);
      const busyHint = await reluHints(busy, /= Relu \(h1\)$/);
      assert.match(busyHint[0], /\/256 unstable/);
      // The bounds run's hint did not move to the certified model, nor the other way round.
      assert.match((await reluHints(quick, /= Relu \(h\)$/))[0], /\/3 unstable/);
      // Sample counts were reported only to the certify's own notification.
      const sampleReports = progress.reports.filter((r) => /samples/.test(r.message));
      assert.ok(sampleReports.length > 0);
      assert.deepEqual([...new Set(sampleReports.map((r) => r.title))], [certifyTitle]);
      assert.ok(progress.titles.some((t) => t.startsWith('graftcert: bounding quick.onnx')), JSON.stringify(progress.titles));
      assert.deepEqual(spy.messages.filter((m) => m.severity === 'error'), []);
    } finally {
      spy.dispose();
      progress.dispose();
      await config.update('certify.timeoutSeconds', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('the model file rewritten on disk during its certify: the result is discarded with one sentence, never shown on the new model', async function () {
    this.timeout(180_000);
    const model = writeMnistMlp(dir, 'changing.onnx', 64, 21);
    const config = vscode.workspace.getConfiguration('graftcert');
    await config.update('certify.timeoutSeconds', 12, vscode.ConfigurationTarget.Global);
    const spy = spyOnMessages();
    const progress = spyOnProgress();
    try {
      const certify = vscode.commands.executeCommand('graftcert.certifyModel', model, { eps: 0.01, data: 'mnist', count: 10_000, method: 'crown' });
      // The server has read the model once it reports samples.
      await waitFor('the certify progress', () => (progress.reports.some((r) => r.title.includes('certifying changing.onnx') && /\d+\/10000 samples/.test(r.message)) ? true : undefined), 60_000);
      writeMnistMlp(dir, 'changing.onnx', 32, 22);
      await certify;
      const errors = spy.messages.filter((m) => m.severity === 'error');
      assert.deepEqual(errors.map((m) => m.text), ['graftcert: changing.onnx changed on disk while it was being certified; the result was discarded — run Certify Model again']);
      assert.equal(api.views.lastRuns.get(model.toString()), undefined, 'the old model\'s result was recorded');
      // The new model's view has no hints from the old model's run.
      await vscode.commands.executeCommand('graftcert.openModelText', model);
      const doc = vscode.window.activeTextEditor!.document;
      await waitFor('the view of the new model', () => (doc.getText().includes('[32,784]') ? true : undefined));
      assert.deepEqual(await hintLabels(doc, lineMatching(doc, /= Relu \(h1\)$/)), []);
      // Running it again works and shows the new model's sizes.
      await config.update('certify.timeoutSeconds', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('graftcert.certifyModel', model, { eps: 0.01, data: 'mnist', count: 5, method: 'crown' });
      const run = api.views.lastRuns.get(model.toString());
      assert.equal(run?.kind, 'certify');
      assert.deepEqual(run!.report.layers.map((l) => l.size), [32, 32]);
      assert.match((await reluHints(model, /= Relu \(h1\)$/))[0], /\/32 unstable/);
    } finally {
      spy.dispose();
      progress.dispose();
      await config.update('certify.timeoutSeconds', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
