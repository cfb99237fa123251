// A person right-clicks a model → Certify Model, accepts the ε and data defaults, watches the progress and reads the inlay hints.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { workbench } from './workbench';

suite('UI: certify a model from the explorer', () => {
  test('right-click fc_small.onnx → Certify Model: ε and data prompts, progress, then unstable counts beside each ReLU', async function () {
    const wb = await workbench();
    // fc_small.onnx (784 inputs, two ReLU layers of 100) is copied in from ../shared/benchmarks when it is there.
    if (!existsSync(join(wb.workspace, 'fc_small.onnx'))) this.skip();
    const { page } = wb;
    // The extension's menus are there once it has activated: its status item turns ready.
    await page.locator('[id="graftcert.graftcert.graftcert.status"]').waitFor();
    await wb.explorerContextMenu('fc_small.onnx', 'Certify Model', 'certify-context-menu');

    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    assert.equal(await input.inputValue(), '0.02');
    await page.keyboard.press('Enter');

    // MNIST-shaped: the data pick offers mnist first, saying why.
    const first = page.locator('.quick-input-list .monaco-list-row').first();
    await first.filter({ hasText: 'mnist' }).waitFor();
    assert.match((await first.textContent()) ?? '', /784 inputs, MNIST-shaped/);
    await wb.screenshot('certify-data-pick');
    await page.keyboard.press('Enter');

    const progress = page.locator('.notifications-toasts .notification-toast', { hasText: 'certifying fc_small.onnx' });
    await progress.waitFor();
    // The status bar shows the work in flight.
    await page.locator('[id="graftcert.graftcert.graftcert.status"]', { hasText: 'certifying fc_small.onnx' }).waitFor();
    await wb.screenshot('certify-progress');

    const done = page.locator('.notifications-toasts .notification-toast', { hasText: /fc_small\.onnx — certified/ });
    await done.waitFor({ timeout: 120_000 });
    await wb.tab('fc_small.onnx.onnxtxt').waitFor();
    // Monaco renders spaces as U+00A0: \s matches both.
    const reluLines = page.locator('.editor-group-container.active .view-line', { hasText: /=\sRelu\s\(.*\/100\sunstable/ });
    await reluLines.first().waitFor();
    assert.equal(await reluLines.count(), 2, await wb.editorText());
    const text = await wb.editorText();
    assert.match(text, /Relu \(\/1\/Gemm_output_0\)\s*[⚠✓] \d+(\.\d)?\/100 unstable · IBP \d+(\.\d)?/, text);
    assert.match((await done.textContent()) ?? '', /data mnist \(the MNIST test split: fc_small\.onnx has 784 inputs, MNIST-shaped\)/);
    await wb.screenshot('certify-inlay-hints');

    // Hover the first ReLU's op type: the counts and the run it comes from.
    await page.locator('.editor-group-container.active .view-line span', { hasText: /^Relu$/ }).first().hover();
    const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: 'unstable' });
    await hover.waitFor();
    assert.match((await hover.textContent()) ?? '', /CROWN at ε = 0\.02, mean over 100 samples of mnist/);
    await wb.screenshot('certify-hover');
    await page.keyboard.press('Escape');
    await wb.runCommand('Notifications: Clear All Notifications');
  });
});
