// Hint, hover, diagnostic and CodeLens builders of the model text view and of VNN-LIB files.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeModel } from '../../server/onnx/encode';
import { analyseModelBytes, loadModelBytes } from '../../server/onnx/load';
import { answerBounds } from '../../server/server/certify-requests';
import { layerHintLabel, modelCodeLenses, modelDiagnostics, modelEntry, modelHover, modelInlayHints } from '../../server/server/model-features';
import { boundsRun } from '../../server/server/model-runs';
import { pairedModels, parseProperty, tokenRange, unflatten, vnnlibDiagnostics, vnnlibHover } from '../../server/server/vnnlib-features';
import { tempDir, tinyMlpSpec } from '../helpers/onnx-models';

function tinyEntry(eps: number) {
  const dir = tempDir();
  const file = join(dir, 'tiny.onnx');
  const bytes = encodeModel(tinyMlpSpec());
  writeFileSync(file, bytes);
  const entry = modelEntry(file, `file://${file}`, analyseModelBytes(bytes, file));
  const report = answerBounds({ path: file, eps, method: 'crown' });
  entry.run = boundsRun(loadModelBytes(bytes, file).graph, report, new Array(4).fill(0.5), undefined);
  return { entry, report, ibp: answerBounds({ path: file, eps, method: 'ibp' }) };
}

test('the hint label: unstable/size, IBP baseline, grafted; whole numbers for one ball, one decimal for means', () => {
  const layer = { name: 'r', size: 100, unstable: 37, active: 50, inactive: 13, grafted: 0, ibpUnstable: 61 };
  assert.equal(layerHintLabel(layer, 'crown'), '⚠ 37/100 unstable · IBP 61');
  assert.equal(layerHintLabel({ ...layer, unstable: 0, ibpUnstable: 2.25 }, 'alpha-crown'), '✓ 0/100 unstable · IBP 2.3');
  assert.equal(layerHintLabel({ ...layer, grafted: 5 }, 'ibp'), '⚠ 37/100 unstable · 5 grafted');
});

test('a bounds run gives one hint at the end of the ReLU line with the engine\'s counts, and a hover with them', () => {
  const { entry, report, ibp } = tinyEntry(0.4);
  const hints = modelInlayHints(entry);
  assert.equal(hints.length, 1);
  const relu = entry.printed.nodes.find((n) => n.opType === 'Relu')!;
  assert.deepEqual(hints[0].position, { line: relu.line, character: '   a = Relu (h)'.length });
  const [l] = report.layers;
  assert.equal(hints[0].label, `${l.unstable > 0 ? '⚠' : '✓'} ${l.unstable}/3 unstable · IBP ${ibp.layers[0].unstable}`);
  const hover = modelHover(entry, { line: relu.line, character: 4 })!;
  const text = (hover.contents as { value: string }).value;
  assert.ok(text.includes(`unstable **${l.unstable}** · active ${l.active} · inactive ${l.inactive} · grafted 0 of 3 neurons`), text);
  assert.match(text, /- in `h`: float\[1,3\] ∈ \[/);
  assert.deepEqual(modelInlayHints(entry, { start: { line: 0, character: 0 }, end: { line: relu.line - 1, character: 0 } }), []);
});

test('diagnostics: unstable share above the threshold warns on the layer; unsupported ops are errors on the op', () => {
  const { entry, report } = tinyEntry(0.4);
  const share = report.layers[0].unstable / 3;
  assert.ok(share > 0, 'fixture must have unstable neurons');
  assert.equal(modelDiagnostics(entry, { unstableShareWarning: share }).length, 0);
  const [warning] = modelDiagnostics(entry, { unstableShareWarning: share - 0.01 });
  assert.equal(warning.code, 'unstable-layer');
  assert.equal(warning.range.start.line, entry.printed.nodes.find((n) => n.opType === 'Relu')!.line);

  const spec = tinyMlpSpec();
  const bytes = encodeModel({ ...spec, nodes: spec.nodes.map((n) => (n.opType === 'Relu' ? { ...n, opType: 'Hardmax' } : n)) });
  const bad = modelEntry('bad.onnx', 'file:///bad.onnx', analyseModelBytes(bytes, 'bad.onnx'));
  const errors = modelDiagnostics(bad, { unstableShareWarning: 0.5 });
  assert.deepEqual(errors.map((d) => d.code), ['unsupported-op']);
  const line = bad.printed.text.split('\n')[errors[0].range.start.line];
  assert.equal(line.slice(errors[0].range.start.character, errors[0].range.end.character), 'Hardmax');
});

test('a NaN weight is an error on that initialiser\'s declaration', () => {
  const spec = tinyMlpSpec();
  const bytes = encodeModel({ ...spec, initializers: spec.initializers!.map((t) => (t.name === 'W2' ? { ...t, data: Float32Array.from(t.data as ArrayLike<number>, (v, i) => (i === 0 ? NaN : v)) } : t)) });
  const entry = modelEntry('nan.onnx', 'file:///nan.onnx', analyseModelBytes(bytes, 'nan.onnx'));
  const [error] = modelDiagnostics(entry, { unstableShareWarning: 0.5 });
  assert.match(error.message, /NaN/);
  const line = entry.printed.text.split('\n')[error.range.start.line];
  assert.equal(line.slice(error.range.start.character, error.range.end.character), 'W2');
});

test('CodeLens: Certify, Graft, Open Report with the model URI, then the run summary', () => {
  const { entry } = tinyEntry(0.1);
  const lenses = modelCodeLenses(entry);
  assert.deepEqual(lenses.slice(0, 3).map((l) => [l.command!.command, l.command!.arguments]), [
    ['graftcert.certifyModel', [entry.uri]],
    ['graftcert.graftModel', [entry.uri]],
    ['graftcert.openReport', [entry.uri]],
  ]);
  assert.match(lenses[3].command!.title, /^bounds: \d+ unstable neurons — CROWN at ε = 0.1, one L∞ ball$/);
});

const property = '(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= X_1 0.5))\n(assert (>= X_1 zero))\n(assert (>= Y_1 Y_0))\n';

test('VNN-LIB: a parse error becomes a diagnostic on the offending token (1-based line/column → range)', () => {
  const outcome = parseProperty(property, 'p.vnnlib');
  const [d] = vnnlibDiagnostics(property, outcome);
  assert.deepEqual(d.range, { start: { line: 7, character: 16 }, end: { line: 7, character: 20 } });
  assert.match(d.message, /unknown variable 'zero'/);
  assert.deepEqual(tokenRange('(a b)', 1, 1), { start: { line: 0, character: 0 }, end: { line: 0, character: 2 } });
});

test('VNN-LIB: hover on X_1 gives its bounds and the C-order tensor index of the paired model', () => {
  const fixed = property.replace('zero', '0');
  const shapes = { model: 'm.onnx', input: { name: 'in', shape: [1, 2] }, output: { name: 'out', shape: [1, 2] } };
  const outcome = parseProperty(fixed, 'p.vnnlib', shapes);
  const text = (vnnlibHover(fixed, { line: 6, character: 13 }, outcome, shapes)!.contents as { value: string }).value;
  assert.match(text, /\*\*X_1\*\* — input element 1 of 2/);
  assert.match(text, /`in\[0, 1\]`/);
  assert.match(text, /bounds: \[0, 0.5\] \(width 0.5\)/);
  assert.deepEqual(unflatten(300, [1, 1, 28, 28]), [0, 0, 10, 20]);
});

test('pairing: instances.csv rows inside the workspace, never outside; then the same-stem model', () => {
  const root = tempDir();
  const bench = join(root, 'bench');
  mkdirSync(join(bench, 'onnx'), { recursive: true });
  mkdirSync(join(bench, 'vnnlib'), { recursive: true });
  writeFileSync(join(bench, 'onnx', 'net.onnx'), 'x');
  writeFileSync(join(bench, 'vnnlib', 'p.vnnlib'), property);
  const outside = tempDir();
  writeFileSync(join(outside, 'evil.onnx'), 'x');
  writeFileSync(join(root, 'instances.csv'), `benchmark,onnx,vnnlib,timeout_s\nb,bench/onnx/net.onnx,bench/vnnlib/p.vnnlib,60\nb,${join('..', outside.split('/').pop()!, 'evil.onnx')},bench/vnnlib/p.vnnlib,60\n`);
  const paired = pairedModels(join(bench, 'vnnlib', 'p.vnnlib'), [root]);
  assert.deepEqual(paired.models, [join(bench, 'onnx', 'net.onnx')]);
  assert.equal(paired.refused.length, 1);
  assert.match(paired.refused[0], /^instances\.csv:3: the model path "\.\.\/.*evil\.onnx" leads outside the workspace folder .* — graftcert only opens files from there/);
  writeFileSync(join(bench, 'vnnlib', 'q.vnnlib'), property);
  writeFileSync(join(bench, 'vnnlib', 'q.onnx'), 'x');
  assert.deepEqual(pairedModels(join(bench, 'vnnlib', 'q.vnnlib'), [root]).models, [join(bench, 'vnnlib', 'q.onnx')]);
});
