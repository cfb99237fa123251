// `graftcert verify` as a command: the JSON document, the result file, exit codes and one-line reasons for bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { parseResultFile } from '../../server/certify/vnnlib/index';
import { repoRoot, tempDir } from '../helpers/onnx-models';

const shared = resolve(repoRoot, '..', 'shared', 'benchmarks', 'vnncomp', '2021_test');
const satModel = join(shared, 'onnx', 'test_sat.onnx');
const unsatModel = join(shared, 'onnx', 'test_unsat.onnx');
const prop = join(shared, 'vnnlib', 'test_prop.vnnlib');
const nanoProp = join(shared, 'vnnlib', 'test_nano.vnnlib');
let scratch: string;

before(() => {
  scratch = tempDir('graftcert-verify-cli-');
});

function graftcert(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'server', 'cli.ts'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
}

function assertBadInput(run: ReturnType<typeof graftcert>, reason: RegExp): void {
  assert.equal(run.status, 2, `exit ${run.status}; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${run.stderr}`);
  assert.match(lines[0], /^graftcert: /);
  assert.match(lines[0], reason);
}

test('sat: --json prints one document, the result file holds the re-checked counterexample, exit 0', () => {
  const results = join(scratch, 'sat.txt');
  const run = graftcert('verify', satModel, prop, '--timeout', '30', '--results', results, '--json');
  assert.equal(run.status, 0, run.stderr);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.result, 'sat');
  assert.equal(doc.method, 'pgd');
  assert.equal(typeof doc.time_s, 'number');
  assert.equal(doc.domains, 0);
  // Decided before branch and bound: no worker pool, one thread.
  assert.equal(doc.workers, 1);
  assert.equal(doc.pool, null);
  assert.equal(doc.counterexample.x.length, 5);
  assert.equal(doc.counterexample.y.length, 5);
  const file = parseResultFile(readFileSync(results, 'utf8'));
  assert.equal(file.status, 'sat');
  assert.deepEqual(Array.from(file.counterexample!.x), doc.counterexample.x);
  assert.deepEqual(Array.from(file.counterexample!.y), doc.counterexample.y);
});

test('unsat: the human summary says how it was decided, the result file is one word', () => {
  const results = join(scratch, 'unsat.txt');
  const run = graftcert('verify', unsatModel, prop, '--timeout', '30', '--results', results);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /unsat \(the property holds\)/);
  assert.match(run.stdout, /how {5}(verified by CROWN|branch and bound)/);
  assert.equal(readFileSync(results, 'utf8'), 'unsat\n');
});

test('a malformed property is bad input with file:line:column', () => {
  const bad = join(scratch, 'bad.vnnlib');
  writeFileSync(bad, '(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= X_0 1)\n(assert (>= X_0 0))\n');
  // The compiler form the `$graftcert` problem matcher reads: the real line and column of the parse error.
  assertBadInput(graftcert('verify', join(shared, 'onnx', 'test_nano.onnx'), bad), /^graftcert: .*bad\.vnnlib:\d+:\d+: error: /);
});

test('a property sized for another model is bad input', () => {
  assertBadInput(graftcert('verify', join(shared, 'onnx', 'test_nano.onnx'), prop), /X_|inputs|outputs/);
});

test('missing files and flags are bad input', () => {
  assertBadInput(graftcert('verify', join(scratch, 'none.onnx'), nanoProp), /none\.onnx:1:1: error: no such model file/);
  assertBadInput(graftcert('verify', join(shared, 'onnx', 'test_nano.onnx'), join(scratch, 'none.vnnlib')), /no such property file/);
  assertBadInput(graftcert('verify', join(shared, 'onnx', 'test_nano.onnx')), /missing <property\.vnnlib>/);
  assertBadInput(graftcert('verify', join(shared, 'onnx', 'test_nano.onnx'), nanoProp, '--timeout', 'soon'), /not a number/);
  assertBadInput(graftcert('verify', join(shared, 'onnx', 'test_nano.onnx'), nanoProp, '--workers', '0'), /--workers/);
  assertBadInput(graftcert('verify', join(shared, 'onnx', 'test_nano.onnx'), nanoProp, '--workers', '1.5'), /--workers: .*not an integer/);
});

test('--workers 1 and 2 give the same answer on test_nano', () => {
  for (const workers of ['1', '2']) {
    const run = graftcert('verify', join(shared, 'onnx', 'test_nano.onnx'), nanoProp, '--timeout', '30', '--workers', workers, '--json');
    assert.equal(run.status, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.result, 'unsat', `--workers ${workers}: ${doc.reason}`);
    assert.ok(doc.workers === 1 || doc.workers === Number(workers), `workers ${doc.workers}`);
  }
});
