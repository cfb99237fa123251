// Workspace trust: in a folder opened in Restricted Mode, Certify Model asks first (a modal); Cancel runs nothing, "Run
// anyway" runs it. Reading (Inspect Model) never asks. Its own code-server with trust on and no start-up trust prompt.
import * as assert from 'node:assert/strict';
import { restrictedModeSettings } from '../harness/code-server';
import { isolatedWorkbench, uiDeadlineMs } from './workbench';

suite('UI: Restricted Mode', () => {
  test('untrusted folder: Inspect Model works without asking; Certify Model asks in a modal — Cancel runs nothing, Run anyway runs', async function () {
    this.timeout(240_000);
    const { wb, close } = await isolatedWorkbench({ workspaceTrust: true, settings: restrictedModeSettings, logName: 'code-server-restricted.log' });
    try {
      const { page } = wb;
      // VS Code says it is in Restricted Mode (status bar entry), and the extension still activates (limited support).
      await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor();
      await page.locator('[id="graftcert.graftcert.graftcert.status"]').waitFor();
      await wb.screenshot('restricted-mode-workbench');

      // Reading needs no consent.
      await wb.explorerContextMenu('tiny-mlp.onnx', 'Inspect Model');
      await wb.tab('tiny-mlp.onnx.inspect').waitFor();
      assert.equal(await page.locator('.monaco-dialog-box').count(), 0);

      const dialog = page.locator('.monaco-dialog-box', { hasText: 'Restricted Mode — run Certify Model on tiny-mlp.onnx anyway?' });
      await wb.explorerContextMenu('tiny-mlp.onnx', 'Certify Model');
      await dialog.waitFor();
      assert.match((await dialog.textContent()) ?? '', /never executes code from model files/);
      await wb.screenshot('restricted-mode-consent');
      await dialog.locator('.monaco-button', { hasText: /^Cancel$/ }).click();
      await dialog.waitFor({ state: 'detached' });

      // Asked again (the first command is over) — and the refusal started nothing: no ε prompt, no progress, no result.
      await wb.explorerContextMenu('tiny-mlp.onnx', 'Certify Model');
      await dialog.waitFor();
      assert.equal(await page.locator('.quick-input-widget input').isVisible(), false, 'the refused run prompted for ε');
      assert.deepEqual((await wb.notifications()).filter((n) => /tiny-mlp\.onnx/.test(n)), []);
      await dialog.locator('.monaco-button', { hasText: /^Run anyway$/ }).click();
      await dialog.waitFor({ state: 'detached' });

      // Consented: the usual prompts, then the run and its result.
      const input = page.locator('.quick-input-widget input');
      await input.waitFor();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-list .monaco-list-row').first().filter({ hasText: 'Input range' }).waitFor();
      await page.keyboard.press('Enter');
      const done = page.locator('.notifications-toasts .notification-toast', { hasText: /tiny-mlp\.onnx at ε = 0\.02 with CROWN: \d+ of 3 ReLU neurons unstable/ });
      await done.waitFor({ timeout: uiDeadlineMs * 2 });
      await wb.screenshot('restricted-mode-ran');
    } finally {
      await close();
    }
  });
});
