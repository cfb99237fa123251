// `graftcert certify` as users run it (node dist/cli.js): the JSON document, the table, exit codes and one-line reasons.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import type { CertifyReport } from '../../server/protocol/requests';
import { repoRoot, tempDir, writeModel } from '../helpers/onnx-models';
import { softmaxMlpSpec } from './certify-fixtures';

const cliJs = join(repoRoot, 'dist', 'cli.js');
const fcSmall = resolve(repoRoot, '..', 'shared', 'benchmarks', 'lirpa', 'models', 'fc_small.onnx');
let scratch: string;

before(() => {
  // `npm test` builds first; a lone run of this file builds only when the bundle is missing.
  if (!existsSync(cliJs) || !existsSync(join(repoRoot, 'dist', 'certify-worker.js'))) {
    const build = spawnSync(process.execPath, [join(repoRoot, 'esbuild.mjs')], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(build.status, 0, `build failed:\n${build.stderr}`);
  }
  scratch = tempDir('graftcert-certify-cli-');
});

function graftcert(...args: string[]) {
  return spawnSync(process.execPath, [cliJs, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
}

/** Exit 2, nothing on stdout, exactly one line on stderr matching `reason`. */
function assertBadInput(run: ReturnType<typeof graftcert>, reason: RegExp): void {
  assert.equal(run.status, 2, `exit ${run.status}; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${run.stderr}`);
  assert.match(lines[0], /^graftcert: /);
  assert.match(lines[0], reason);
}

test('certify --json on MNIST prints one document with the contract fields, from 2 worker threads', () => {
  const run = graftcert('certify', fcSmall, '--data', 'mnist', '--count', '20', '--eps', '0.01', '--workers', '2', '--json');
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as CertifyReport;
  for (const key of ['model', 'data', 'eps', 'method', 'count', 'clean_accuracy', 'certified_accuracy', 'layers', 'samples', 'time_s', 'workers']) {
    assert.ok(key in report, `missing ${key}`);
  }
  assert.equal(report.model, fcSmall);
  assert.equal(report.data, 'mnist');
  assert.equal(report.method, 'crown');
  assert.equal(report.count, 20);
  assert.equal(report.workers, 2);
  assert.equal(report.samples.length, 20);
  assert.ok(report.certified_accuracy <= report.clean_accuracy);
  for (const s of report.samples) {
    assert.deepEqual(Object.keys(s).slice(0, 5), ['index', 'label', 'prediction', 'certified', 'margin_lower_min']);
    if (s.certified) assert.ok(s.margin_lower_min > 0 && s.prediction === s.label);
  }
  assert.deepEqual(report.layers.map((l) => Object.keys(l)), report.layers.map(() => ['name', 'size', 'unstable', 'active', 'inactive', 'grafted']));

  // The bundled in-process path gives the same samples.
  const one = graftcert('certify', fcSmall, '--data', 'mnist', '--count', '20', '--eps', '0.01', '--workers', '1', '--json');
  assert.equal(one.status, 0, one.stderr);
  assert.deepEqual((JSON.parse(one.stdout) as CertifyReport).samples, report.samples);
});

test('certify without --json prints the table; certifying nothing is still exit 0', () => {
  const run = graftcert('certify', fcSmall, '--data', 'mnist', '--offset', '100', '--count', '3', '--eps', '0.4', '--method', 'ibp', '--clip', '0,1');
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /clean accuracy\s+\d+\.\d %/);
  assert.match(run.stdout, /certified accuracy\s+0\.0 %\s+\(0\/3\)/);
  assert.match(run.stdout, /\/2\/Relu\s+100\s/);
  assert.match(run.stdout, /samples 100–102/);
  assert.match(run.stdout, /samples\/s/);
});

test('bad input: exit 2 with one line each', () => {
  const common = ['--data', 'mnist', '--count', '2'];
  assertBadInput(graftcert('certify', fcSmall, ...common, '--eps', '0'), /--eps: 0 is not positive/);
  assertBadInput(graftcert('certify', fcSmall, ...common, '--eps', '-0.1'), /--eps: -0\.1 is not positive/);
  assertBadInput(graftcert('certify', fcSmall, ...common, '--eps', 'NaN'), /--eps: 'NaN' is not a number/);
  assertBadInput(graftcert('certify', fcSmall, '--data', 'mnist'), /--eps: is required/);
  assertBadInput(graftcert('certify', fcSmall, ...common, '--eps', '0.1', '--clip', '1,0'), /--clip: '1,0' is not LO,HI/);
  assertBadInput(graftcert('certify', fcSmall, ...common, '--eps', '0.1', '--method', 'pgd'), /--method: 'pgd' is not one of/);
  assertBadInput(graftcert('certify', fcSmall, '--data', join(scratch, 'nope.json'), '--eps', '0.1'), /nope\.json:1:1: error: does not exist/);
  assertBadInput(graftcert('certify', join(scratch, 'missing.onnx'), ...common, '--eps', '0.1'), /missing\.onnx:1:1: error: no such model file/);

  const garbage = join(scratch, 'garbage.onnx');
  writeFileSync(garbage, 'not a model\n'.repeat(50));
  assertBadInput(graftcert('certify', garbage, ...common, '--eps', '0.1'), /garbage\.onnx:1:1: error: /);

  const tinyData = join(scratch, 'tiny.json');
  writeFileSync(tinyData, JSON.stringify({ inputs: [[0, 0.5, 1, 0.25]], labels: [1] }));
  assertBadInput(graftcert('certify', fcSmall, '--data', tinyData, '--eps', '0.1'), /has 4 values per sample .* the model expects 784/);

  const spec = softmaxMlpSpec();
  const softmax = writeModel(scratch, 'softmax.onnx', spec);
  assertBadInput(graftcert('certify', softmax, '--data', tinyData, '--eps', '0.1', '--json'), /softmax\.onnx:1:1: error: crown cannot bound this op: Softmax/);
});
