// A person right-clicks a model in the explorer, picks "Inspect Model", and reads the model text view.
import * as assert from 'node:assert/strict';
import { uiDeadlineMs, workbench } from './workbench';

suite('UI: inspect a model from the explorer', () => {
  test('the status bar shows the graftcert backend ready', async () => {
    const { page } = await workbench();
    // The extension activates on workspaceContains:**/*.onnx; "ready" shows a check icon.
    // The element's id is "<extension id>.<status item id>".
    const item = page.locator('[id="graftcert.graftcert.graftcert.status"]');
    await item.locator('.codicon-check').waitFor({ timeout: uiDeadlineMs });
    assert.match((await item.locator('.statusbar-item-label').getAttribute('aria-label')) ?? '', /the backend is ready/);
  });

  test('explorer right-click on tiny-mlp.onnx → Inspect Model opens its text view', async () => {
    const wb = await workbench();
    await wb.explorerContextMenu('tiny-mlp.onnx', 'Inspect Model', 'explorer-context-menu');
    await wb.tab('tiny-mlp.onnx.inspect').waitFor();
    await wb.page.locator('.editor-group-container.active .view-line', { hasText: /^params/ }).waitFor();
    const text = await wb.editorText();
    await wb.screenshot('inspect-from-explorer');
    assert.match(text, /^params +23$/m, text);
    assert.match(text, /^ReLU layers \(1\)$/m, text);
    assert.match(text, /^ {2}relu1 {2}size 3 {3}pre-activation h$/m, text);
    assert.deepEqual(await wb.notifications(), []);
  });

  test('Inspect Model on a corrupt .onnx shows one error notification naming the file', async () => {
    const wb = await workbench();
    await wb.explorerContextMenu('corrupt.onnx', 'Inspect Model');
    // fade-in-done: the toast has finished sliding in, so the screenshot shows it whole.
    const toast = wb.page.locator('.notifications-toasts .notification-toast.notification-fade-in-done', { hasText: 'corrupt.onnx' });
    await toast.waitFor();
    await wb.screenshot('inspect-corrupt-notification');
    const messages = await wb.notifications();
    assert.equal(messages.length, 1, JSON.stringify(messages));
    assert.match(messages[0], /^graftcert: .*corrupt\.onnx.*is not an ONNX model/, messages[0]);
    await wb.runCommand('Notifications: Clear All Notifications');
    await toast.waitFor({ state: 'detached' });
  });
});
