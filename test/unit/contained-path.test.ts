// Paths that come from files (instances.csv rows, a verify request's result file) cannot leave their folder: `..`, absolute paths, symlinks.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isInside, resolveInside } from '../../server/server/contained-path';
import { pairedModels, vnnlibCodeLenses } from '../../server/server/vnnlib-features';
import { tempDir } from '../helpers/onnx-models';

const property = '(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= Y_0 0))\n';

/** ws/ holds props/p.vnnlib and nets/ok.onnx; out/ beside it holds evil.onnx; ws/nets/link.onnx → out/evil.onnx; ws/linked-dir → out/. */
function layout() {
  const top = tempDir();
  const ws = join(top, 'ws');
  const out = join(top, 'out');
  for (const d of [join(ws, 'props'), join(ws, 'nets'), out]) mkdirSync(d, { recursive: true });
  writeFileSync(join(ws, 'nets', 'ok.onnx'), 'x');
  writeFileSync(join(out, 'evil.onnx'), 'x');
  writeFileSync(join(ws, 'props', 'p.vnnlib'), property);
  symlinkSync(join(out, 'evil.onnx'), join(ws, 'nets', 'link.onnx'));
  symlinkSync(out, join(ws, 'linked-dir'));
  return { top, ws, out };
}

test('isInside: the root itself and below; not a sibling that shares a prefix, not the parent', () => {
  assert.equal(isInside('/a/ws', '/a/ws'), true);
  assert.equal(isInside('/a/ws', '/a/ws/x/y.onnx'), true);
  assert.equal(isInside('/a/ws', '/a/ws2/y.onnx'), false);
  assert.equal(isInside('/a/ws', '/a'), false);
  assert.equal(isInside('/a/ws', '/a/ws/..foo'), true);
});

test('resolveInside: a plain relative path is accepted and resolved against its base', () => {
  const { ws } = layout();
  assert.deepEqual(resolveInside(ws, join(ws, 'props'), '../nets/ok.onnx', 'the model path'), { ok: true, path: join(ws, 'nets', 'ok.onnx') });
  assert.deepEqual(resolveInside(ws, ws, join(ws, 'nets', 'ok.onnx'), 'the model path'), { ok: true, path: join(ws, 'nets', 'ok.onnx') });
});

test('resolveInside: `..` out of the folder, an absolute path elsewhere and a symlink out are each refused with one sentence', () => {
  const { ws, out } = layout();
  const dotdot = resolveInside(ws, join(ws, 'props'), '../../out/evil.onnx', 'row 2: the model path "../../out/evil.onnx"');
  assert.equal(dotdot.ok, false);
  assert.equal(!dotdot.ok && dotdot.reason, `row 2: the model path "../../out/evil.onnx" leads outside the workspace folder ${ws} — graftcert only opens files from there; copy the file into it`);
  const absolute = resolveInside(ws, ws, join(out, 'evil.onnx'), 'the model path');
  assert.match(!absolute.ok ? absolute.reason : '', /^the model path is an absolute path outside the workspace folder /);
  const link = resolveInside(ws, ws, 'nets/link.onnx', 'the model path');
  assert.match(!link.ok ? link.reason : '', /^the model path leads through a symbolic link to a file outside the workspace folder /);
  const viaDir = resolveInside(ws, ws, 'linked-dir/evil.onnx', 'the model path');
  assert.equal(viaDir.ok, false);
  // A file not written yet, under a linked folder, is judged by where it would land.
  const newFile = resolveInside(ws, ws, 'linked-dir/new/results.txt', 'the result file');
  assert.equal(newFile.ok, false);
  assert.equal(resolveInside(ws, ws, 'nets/new-results.txt', 'the result file').ok, true);
  for (const r of [dotdot, absolute, link, viaDir, newFile]) assert.ok(!r.ok && !r.reason.includes('\n'));
});

test('pairedModels: escaping instances.csv rows are refused (.., absolute, symlink), inside rows are offered; the CodeLens says why', () => {
  const { ws, out } = layout();
  writeFileSync(
    join(ws, 'instances.csv'),
    ['nets/ok.onnx,props/p.vnnlib,60', '../out/evil.onnx,props/p.vnnlib,60', `${join(out, 'evil.onnx')},props/p.vnnlib,60`, 'nets/link.onnx,props/p.vnnlib,60'].join('\n') + '\n',
  );
  const paired = pairedModels(join(ws, 'props', 'p.vnnlib'), [ws]);
  assert.deepEqual(paired.models, [join(ws, 'nets', 'ok.onnx')]);
  assert.equal(paired.refused.length, 3);
  assert.match(paired.refused[0], /^instances\.csv:2: the model path "\.\.\/out\/evil\.onnx" leads outside the workspace folder /);
  assert.match(paired.refused[1], /^instances\.csv:3: the model path ".*evil\.onnx" is an absolute path outside the workspace folder /);
  assert.match(paired.refused[2], /^instances\.csv:4: the model path "nets\/link\.onnx" leads through a symbolic link to a file outside /);
  const lenses = vnnlibCodeLenses('file:///p.vnnlib', paired.models.map((m) => ({ path: m, uri: `file://${m}` })), paired.refused);
  assert.deepEqual(lenses.map((l) => l.command!.title.split(':')[0]), ['$(play) Verify against ok.onnx', '$(warning) refused', '$(warning) refused', '$(warning) refused']);
  assert.deepEqual(lenses.slice(1).map((l) => l.command!.command), ['', '', '']);
});

test('pairedModels: a same-stem sibling that is a symlink out of the workspace is refused; with no workspace the CSV folder bounds the rows', () => {
  const { ws, out } = layout();
  symlinkSync(join(out, 'evil.onnx'), join(ws, 'props', 'p.onnx'));
  const paired = pairedModels(join(ws, 'props', 'p.vnnlib'), [ws]);
  assert.deepEqual(paired.models, []);
  assert.match(paired.refused[0], /^the model beside the property, p\.onnx, leads through a symbolic link to a file outside the workspace folder /);
  // No workspace: the csv's own folder is the limit, so ../nets is refused.
  writeFileSync(join(ws, 'props', 'instances.csv'), '../nets/ok.onnx,p.vnnlib,60\n');
  const alone = pairedModels(join(ws, 'props', 'p.vnnlib'), []);
  assert.deepEqual(alone.models, []);
  assert.match(alone.refused[0], /^instances\.csv:1: the model path "\.\.\/nets\/ok\.onnx" leads outside the instances\.csv's folder /);
});
