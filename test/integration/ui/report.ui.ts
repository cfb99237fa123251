// A person opens a Robustness Report (.json) and runs "Open Robustness Report": the panel shows the charts, comes back after a window reload, and exports.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsoleMessage, FrameLocator } from 'playwright-core';
import { fullReport } from '../../unit/report-fixtures';
import { type Workbench, uiDeadlineMs, workbench } from './workbench';

const reportFile = 'mnist-fc3x100.report.json';
const panelTitle = 'Robustness Report: mnist-fc3x100.onnx';

/** The report's document inside the webview: VS Code nests it in an iframe inside an iframe. */
function reportFrame(wb: Workbench): FrameLocator {
  return wb.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

/** Console errors of the webview (CSP violations are reported there); the workbench's own are not ours. */
function collectWebviewErrors(wb: Workbench): { errors: string[]; stop(): void } {
  const errors: string[] = [];
  const listener = (message: ConsoleMessage) => {
    const url = message.location().url ?? '';
    const text = message.text();
    if (message.type() !== 'error') return;
    if (/vscode-resource|vscode-cdn|webview/i.test(url) || /Content Security Policy/i.test(text)) errors.push(`${text} (${url})`);
  };
  wb.page.on('console', listener);
  return { errors, stop: () => wb.page.off('console', listener) };
}

suite('UI: the Robustness Report panel', () => {
  test('"Open Robustness Report" on a report .json shows the charts in a webview panel', async () => {
    const wb = await workbench();
    writeFileSync(join(wb.workspace, reportFile), `${JSON.stringify(fullReport(), null, 2)}\n`);
    const webview = collectWebviewErrors(wb);
    try {
      // Open the .json through Quick Open, as a person would; the command then shows the active report.
      await wb.page.keyboard.press('Control+P');
      const input = wb.page.locator('.quick-input-widget input');
      await input.waitFor();
      await input.fill(reportFile);
      await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: reportFile }).first().waitFor({ timeout: uiDeadlineMs });
      await wb.page.keyboard.press('Enter');
      await wb.tab(reportFile).waitFor();
      await wb.runCommand('graftcert: Open Robustness Report');
      await wb.tab(panelTitle).waitFor();

      const frame = reportFrame(wb);
      await frame.locator('body[data-rendered="true"]').waitFor({ timeout: uiDeadlineMs });
      const charts = await frame.locator('canvas[data-chart]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-chart')));
      assert.deepEqual(charts, ['layers', 'eps-curve', 'ratio-sweep', 'ratio-unstable', 'counterexample-values']);
      assert.equal(await frame.locator('canvas[data-image]').count(), 6);
      assert.equal(await frame.locator('h1').textContent(), 'Robustness report — mnist-fc3x100.onnx');
      // The theme's colours reach the page: VS Code defines --vscode-foreground, the report's --gc-fg follows it.
      const colours = await frame.locator('body').evaluate(() => {
        const style = getComputedStyle(document.documentElement);
        return { vscode: style.getPropertyValue('--vscode-foreground').trim(), report: style.getPropertyValue('--gc-fg').trim() };
      });
      assert.ok(colours.vscode.length > 0, 'no --vscode-foreground in the webview');
      assert.equal(colours.report, colours.vscode);
      await frame.locator('button[data-action="export-html"]').waitFor();
      await wb.screenshot('report-panel');
      assert.deepEqual(webview.errors, []);
      // The backend's own health is not this test's business: only report messages count.
      assert.deepEqual((await wb.notifications()).filter((text) => /report/i.test(text)), []);
    } finally {
      webview.stop();
    }
  });

  test('"Developer: Reload Window" brings the panel back with its charts', async () => {
    const wb = await workbench();
    await wb.tab(panelTitle).waitFor();
    // VS Code's own reload, as a restart: it awaits the save of the window's layout (the panel and the state its
    // webview set) before it reloads. A browser refresh only starts that save (VS Code in a browser saves it every
    // 5 s), so a refresh right after a tab opens loses the tab, a text editor's as well.
    const reloaded = wb.page.waitForEvent('load', { timeout: uiDeadlineMs });
    await wb.runCommand('Developer: Reload Window');
    await reloaded;
    await wb.page.locator('.monaco-workbench').waitFor();
    // The workbench restores the tab; the extension's serializer fills it from the state the webview saved.
    await wb.tab(panelTitle).click();
    const frame = reportFrame(wb);
    await frame.locator('body[data-rendered="true"]').waitFor({ timeout: uiDeadlineMs });
    assert.equal(await frame.locator('canvas[data-chart]').count(), 5);
    assert.equal(await frame.locator('h1').textContent(), 'Robustness report — mnist-fc3x100.onnx');
    await wb.screenshot('report-panel-revived');
  });

  test('Export HTML writes the self-contained report where the person saves it', async () => {
    const wb = await workbench();
    const target = join(wb.workspace, 'exported.report.html');
    await reportFrame(wb).locator('button[data-action="export-html"]').click();
    // code-server's save dialog is a quick input holding a path.
    const input = wb.page.locator('.quick-input-widget input');
    await input.waitFor();
    // The dialog fills in its default path asynchronously; typing before that would be overwritten.
    await wb.page.waitForFunction(
      () => (document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value ?? '').endsWith('mnist-fc3x100.report.html'),
      undefined,
      { timeout: uiDeadlineMs },
    );
    await input.fill(target);
    await wb.page.keyboard.press('Enter');
    const toast = wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'report exported to' });
    await toast.waitFor();
    const said = (await toast.locator('.notification-list-item-message').textContent()) ?? '';
    assert.ok(existsSync(target), `${target} was not written; the notification says: ${said}`);
    const html = readFileSync(target, 'utf8');
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-/);
    assert.match(html, /<script type="application\/json" id="graftcert-report">/);
    assert.doesNotMatch(html, /https?:\/\//);
    await wb.runCommand('Notifications: Clear All Notifications');
    await toast.waitFor({ state: 'detached' });
  });
});
