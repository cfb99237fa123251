// docs/protocol.md and server/protocol/requests.ts must list the same graftcert/* methods.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import * as requests from '../../server/protocol/requests';

const root = join(__dirname, '..', '..');

function documentedMethods(): string[] {
  const doc = readFileSync(join(root, 'docs', 'protocol.md'), 'utf8');
  return [...doc.matchAll(/^###\s+`(graftcert\/[^`]+)`\s*$/gm)].map((m) => m[1]);
}

function declaredMethods(): string[] {
  const values: unknown[] = Object.values(requests);
  return values.filter((value) => value instanceof RequestType).map((type) => (type as RequestType<unknown, unknown, unknown>).method);
}

test('every RequestType in requests.ts is in allMethods, once', () => {
  const declared = declaredMethods();
  assert.ok(declared.length >= 6, `expected at least 6 request types, found ${declared.length}`);
  assert.deepEqual([...declared].sort(), [...requests.allMethods].sort());
  assert.equal(new Set(requests.allMethods).size, requests.allMethods.length, 'a method is listed twice');
});

function declaredNotifications(): string[] {
  const values: unknown[] = Object.values(requests);
  return values.filter((value) => value instanceof NotificationType).map((type) => (type as NotificationType<unknown>).method);
}

test('docs/protocol.md documents exactly the methods and notifications of requests.ts', () => {
  const documented = documentedMethods();
  assert.equal(new Set(documented).size, documented.length, 'a method has two sections in docs/protocol.md');
  assert.deepEqual([...declaredNotifications()].sort(), [...requests.allNotifications].sort());
  assert.deepEqual([...documented].sort(), [...requests.allMethods, ...requests.allNotifications].sort());
});

test('the methods the architecture names are all declared and namespaced', () => {
  for (const name of ['inspect', 'bounds', 'certify', 'graft', 'verify', 'cancel']) {
    assert.ok(requests.allMethods.includes(`graftcert/${name}`), `graftcert/${name} is missing`);
  }
  for (const method of requests.allMethods) assert.match(method, /^graftcert\/[a-z][a-zA-Z]*$/);
});

test('the protocol file imports nothing that ties it to one side (vscode, node built-ins)', () => {
  const source = readFileSync(join(root, 'server', 'protocol', 'requests.ts'), 'utf8');
  const imported = [...source.matchAll(/^(?:import|export)[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
  assert.ok(imported.length > 0);
  for (const spec of imported) {
    assert.ok(spec === 'vscode-languageserver-protocol' || spec.startsWith('./'), `requests.ts imports '${spec}'`);
  }
});

test('the protocol file bundles for a webview (browser platform, no vscode, no node built-ins)', async () => {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(root, 'server', 'protocol', 'requests.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  assert.equal(result.errors.length, 0);
  const code = result.outputFiles[0].text;
  assert.match(code, /graftcert\/inspect/);
  assert.doesNotMatch(code, /require\(["']vscode["']\)|from ["']vscode["']/);
});
