// The extension activates in a real VS Code, registers every command it declares, and its backend starts.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activatedExtension, spyOnErrorMessages } from './helpers';

suite('activation', () => {
  test('the extension activates', async () => {
    const extension = await activatedExtension();
    assert.equal(extension.isActive, true);
  });

  test('every graftcert.* command in package.json is registered', async () => {
    const extension = await activatedExtension();
    const declared: string[] = (extension.packageJSON.contributes?.commands ?? []).map((c: { command: string }) => c.command);
    assert.ok(declared.length >= 3, `package.json declares ${declared.length} commands`);
    assert.ok(declared.every((id) => id.startsWith('graftcert.')), `unexpected command ids: ${declared.join(', ')}`);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.filter((id) => !registered.has(id));
    assert.deepEqual(missing, [], `declared in package.json but not registered: ${missing.join(', ')}`);
  });

  test('the backend starts: Restart Backend completes without an error notification', async () => {
    await activatedExtension();
    const errors = spyOnErrorMessages();
    try {
      // The command resolves once the new backend has answered `initialize` (status "ready").
      await vscode.commands.executeCommand('graftcert.restartBackend');
      assert.deepEqual(errors.messages, []);
    } finally {
      errors.dispose();
    }
  });
});
