// A person starts Certify Model on a long run and presses Cancel on the progress notification: the partial result is
// reported and the next command works.
import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel } from '../../../server/onnx/encode';
import { randomTensor, rng } from '../../helpers/onnx-models';
import { uiDeadlineMs, workbench } from './workbench';

/** An MNIST-shaped MLP 784→1024→1024→10 with random weights: CROWN takes a good part of a second per image. */
function slowMnistMlp(): Uint8Array {
  const next = rng(17);
  const hidden = 1024;
  const layer = (i: number, n: number, m: number) => [randomTensor(`W${i}`, [m, n], next, 1 / Math.sqrt(n)), randomTensor(`b${i}`, [m], next, 0.1)];
  const gemm = (i: number, input: string, output: string) => ({ opType: 'Gemm', inputs: [input, `W${i}`, `b${i}`], outputs: [output], attrs: { transB: { kind: 'int' as const, value: 1 } } });
  return encodeModel({
    inputs: [{ name: 'x', shape: [1, 784] }],
    outputs: [{ name: 'y', shape: [1, 10] }],
    nodes: [gemm(1, 'x', 'h1'), { opType: 'Relu', inputs: ['h1'], outputs: ['a1'], name: 'relu1' }, gemm(2, 'a1', 'h2'), { opType: 'Relu', inputs: ['h2'], outputs: ['a2'], name: 'relu2' }, gemm(3, 'a2', 'y')],
    initializers: [...layer(1, 784, hidden), ...layer(2, hidden, hidden), ...layer(3, hidden, 10)],
  });
}

suite('UI: cancel a certify run', () => {
  test('Cancel on the progress notification stops the run (graftcert/cancel); the samples done are reported; Inspect Model still works', async function () {
    const wb = await workbench();
    const { page } = wb;
    await page.locator('[id="graftcert.graftcert.graftcert.status"]').waitFor();
    const model = join(wb.workspace, 'slow_mlp.onnx');
    writeFileSync(model, slowMnistMlp());
    try {
      await wb.explorerContextMenu('slow_mlp.onnx', 'Certify Model');
      await page.locator('.quick-input-widget input').waitFor();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-list .monaco-list-row').first().filter({ hasText: 'mnist' }).waitFor();
      await page.keyboard.press('Enter');
      const progress = page.locator('.notifications-toasts .notification-toast', { hasText: 'certifying slow_mlp.onnx on 100 samples of mnist' });
      await progress.waitFor();
      // Some samples done first, so the partial result is not empty.
      await progress.filter({ hasText: /[1-9]\d*\/100 samples/ }).waitFor({ timeout: uiDeadlineMs });
      await wb.screenshot('certify-cancel-progress');
      await progress.locator('.monaco-button', { hasText: 'Cancel' }).click();
      const done = page.locator('.notifications-toasts .notification-toast', { hasText: /slow_mlp\.onnx — certified .*\(cancelled after \d+ samples\)/ });
      await done.waitFor({ timeout: uiDeadlineMs });
      const text = (await done.textContent()) ?? '';
      const samples = Number(/cancelled after (\d+) samples/.exec(text)![1]);
      assert.ok(samples > 0 && samples < 100, text);
      await wb.screenshot('certify-cancelled');
      assert.deepEqual((await wb.notifications()).filter((n) => /error|failed|lost/i.test(n)), []);
      await wb.runCommand('Notifications: Clear All Notifications');
    } finally {
      rmSync(model, { force: true });
    }
    // The backend is free again: the next command answers.
    await wb.explorerContextMenu('tiny-mlp.onnx', 'Inspect Model');
    await wb.tab('tiny-mlp.onnx.inspect').waitFor();
  });
});
