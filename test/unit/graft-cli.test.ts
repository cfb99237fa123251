// `graftcert graft` as users run it: bad input exits 2 with one sentence; a tiny end-to-end run exports a grafted model.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { GraftRunReport } from '../../server/commands/graft';
import { outputPath, parseRatios } from '../../server/commands/graft';
import { inspectModelFile } from '../../server/inspect';
import { repoRoot, rng, tempDir, tinyMlpSpec, writeModel } from '../helpers/onnx-models';

let scratch: string;
let tiny: string;
let linear: string;
let data: string;
let wrongShape: string;

before(() => {
  scratch = tempDir('graftcert-graft-cli-');
  tiny = writeModel(scratch, 'tiny.onnx', tinyMlpSpec());
  const next = rng(2);
  linear = writeModel(scratch, 'linear.onnx', {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y', shape: [1, 2] }],
    nodes: [{ opType: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['y'], attrs: { transB: { kind: 'int', value: 1 } } }],
    initializers: [
      { name: 'W', dims: [2, 4], data: Float32Array.from({ length: 8 }, () => next() - 0.5) },
      { name: 'b', dims: [2], data: [0, 0] },
    ],
  });
  const inputs = Array.from({ length: 60 }, (_, i) => [0.1 * (i % 7), 0.5, (i % 3) / 3, 0.2]);
  data = join(scratch, 'data.json');
  writeFileSync(data, JSON.stringify({ inputs, labels: inputs.map((_, i) => i % 2) }));
  wrongShape = join(scratch, 'wrong.json');
  writeFileSync(wrongShape, JSON.stringify({ inputs: [[0, 1, 0], [1, 0, 1]], labels: [0, 1] }));
});

function graftcert(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'server', 'cli.ts'), 'graft', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
}

function assertBadInput(run: ReturnType<typeof graftcert>, reason: RegExp): void {
  assert.equal(run.status, 2, `exit ${run.status}; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${run.stderr}`);
  assert.match(lines[0], /^graftcert: .+: .+/);
  assert.match(lines[0], reason);
}

test('a ratio outside [0, 1] is bad input', () => {
  const out = join(scratch, 'o.onnx');
  assertBadInput(graftcert(tiny, '--data', data, '--eps', '0.05', '--ratio', '1.5', '--out', out), /--ratio: 1\.5 is not a ratio/);
  assertBadInput(graftcert(tiny, '--data', data, '--eps', '0.05', '--ratio', '0.5,-0.1', '--out', out), /in \[0, 1\]/);
  assertBadInput(graftcert(tiny, '--data', data, '--eps', '0', '--ratio', '0.5', '--out', out), /--eps: 0 is not positive/);
  assert.equal(existsSync(out), false);
});

test('a model without ReLUs is bad input', () => {
  assertBadInput(graftcert(linear, '--data', data, '--eps', '0.05', '--ratio', '0.5', '--out', join(scratch, 'o.onnx')), /linear\.onnx:1:1: error: has no ReLU layers/);
});

test('a data set whose samples do not fit the model is bad input', () => {
  assertBadInput(graftcert(tiny, '--data', wrongShape, '--eps', '0.05', '--ratio', '0.5', '--out', join(scratch, 'o.onnx')), /3 values per sample .* the model expects 4/);
});

test('ratio lists and output names', () => {
  assert.deepEqual(parseRatios('0.1,0.5,1'), [0.1, 0.5, 1]);
  assert.equal(outputPath('m/out.onnx', 0.5, 'graft', true), 'm/out.onnx');
  assert.equal(outputPath('m/out.onnx', 0.5, 'graft', false), 'm/out_r0.5.onnx');
  assert.equal(outputPath('m/out.onnx', 0.3, 'prune', false), 'm/out_r0.3_prune.onnx');
});

test('a tiny end-to-end run grafts, fine-tunes, exports a model the loader reads as grafted, and prints one JSON document', () => {
  const out = join(scratch, 'tiny-grafted.onnx');
  const run = graftcert(tiny, '--data', data, '--eps', '0.02', '--ratio', '0.34,0.67', '--mode', 'both', '--epochs', '1', '--count', '8',
    '--alpha-count', '2', '--workers', '1', '--out', out, '--json');
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as GraftRunReport;
  assert.equal(report.runs.length, 4);
  assert.deepEqual(report.runs.map((r) => [r.ratio, r.mode, r.grafted]), [[0.34, 'graft', 1], [0.34, 'prune', 1], [0.67, 'graft', 2], [0.67, 'prune', 2]]);
  assert.equal(report.before.count, 8);
  for (const r of report.runs) {
    assert.ok(existsSync(r.out), r.out);
    assert.equal(inspectModelFile(r.out).reluLayers[0].grafted, r.grafted);
    assert.equal(r.after!.layers[0].grafted, r.grafted);
    assert.ok(r.after!.layers[0].unstable <= 3 - r.grafted);
  }
});
