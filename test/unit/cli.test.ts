// The `graftcert` command line as users run it (node dist/cli.js): output channels and exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { InspectReport } from '../../server/protocol/reports';

const root = resolve(__dirname, '..', '..');
const cliJs = join(root, 'dist', 'cli.js');
const fcSmall = resolve(root, '..', 'shared', 'benchmarks', 'lirpa', 'models', 'fc_small.onnx');
const fcSmallParameters = 784 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10;

let scratch = '';

before(() => {
  // `npm test` builds first; a lone run of this file builds only when the bundle is missing.
  if (!existsSync(cliJs)) {
    const build = spawnSync(process.execPath, [join(root, 'esbuild.mjs')], { cwd: root, encoding: 'utf8' });
    assert.equal(build.status, 0, `build failed:\n${build.stderr}`);
  }
  scratch = mkdtempSync(join(tmpdir(), 'graftcert-cli-'));
});

after(() => rmSync(scratch, { recursive: true, force: true }));

function graftcert(...args: string[]) {
  const run = spawnSync(process.execPath, [cliJs, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The contract's bad-input shape: exit 2, nothing on stdout, one line `graftcert: <subject>: <why> — <remedy>`. */
function assertBadInput(run: ReturnType<typeof graftcert>, mentions: string) {
  assert.equal(run.status, 2, `exit code (stderr: ${run.stderr})`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${run.stderr}`);
  assert.match(lines[0], /^graftcert: .+: .+ — .+/);
  assert.ok(lines[0].includes(mentions), `stderr should mention ${mentions}: ${lines[0]}`);
}

test('inspect prints the human table on stdout', () => {
  const run = graftcert('inspect', fcSmall);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /fc_small\.onnx/);
  assert.match(run.stdout, /ReLU layers \(2, 200 neurons\)/);
  assert.match(run.stdout, new RegExp(`total parameters: ${fcSmallParameters.toLocaleString('en-US')}`));
});

test('inspect --json prints exactly one JSON document on stdout', () => {
  const run = graftcert('inspect', fcSmall, '--json');
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as InspectReport;
  assert.equal(report.totalParameters, fcSmallParameters);
  assert.deepEqual(report.reluLayers.map((l) => l.size), [100, 100]);
  assert.deepEqual(report.inputs[0].shape, [1, 1, 28, 28]);
  assert.deepEqual(report.outputs[0].shape, [1, 10]);
  assert.deepEqual(report.unsupportedOps, []);
});

test('--json may come before the model', () => {
  const run = graftcert('inspect', '--json', fcSmall);
  assert.equal(run.status, 0, run.stderr);
  assert.equal((JSON.parse(run.stdout) as InspectReport).totalParameters, fcSmallParameters);
});

test('a missing model is bad input (exit 2, one line naming the file)', () => {
  const missing = join(scratch, 'no-such-model.onnx');
  assertBadInput(graftcert('inspect', missing, '--json'), missing);
});

test('a file that is not ONNX is bad input (exit 2, one line naming the file)', () => {
  const text = join(scratch, 'notes.onnx');
  writeFileSync(text, 'these are my notes, not a neural network\n'.repeat(20));
  assertBadInput(graftcert('inspect', text), text);
  const noise = join(scratch, 'noise.onnx');
  writeFileSync(noise, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) % 251)));
  assertBadInput(graftcert('inspect', noise, '--json'), noise);
});

test('bad input about a file is printed the compiler way, and the $graftcert problem matcher of package.json reads it', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    contributes: { problemMatchers: { name: string; pattern: { regexp: string; file: number; line: number; column: number; severity: number; message: number } }[] };
  };
  const matcher = manifest.contributes.problemMatchers.find((m) => m.name === 'graftcert');
  assert.ok(matcher, 'package.json contributes no "graftcert" problem matcher');
  const pattern = new RegExp(matcher.pattern.regexp);
  const missing = join(scratch, 'gone.onnx');
  const run = graftcert('inspect', missing);
  assertBadInput(run, missing);
  const line = run.stderr.trimEnd();
  assert.equal(line, `graftcert: ${missing}:1:1: error: no such model file — check the path`);
  const m = pattern.exec(line);
  assert.ok(m, `the problem matcher does not match ${line}`);
  assert.deepEqual(
    [m[matcher.pattern.file], m[matcher.pattern.line], m[matcher.pattern.column], m[matcher.pattern.severity], m[matcher.pattern.message]],
    [missing, '1', '1', 'error', 'no such model file — check the path'],
  );
  // About a flag there is no file: the plain sentence, which the matcher leaves alone.
  const flag = graftcert('inspect', fcSmall, '--frobnicate').stderr.trimEnd();
  assert.match(flag, /^graftcert: --frobnicate: unknown option/);
  assert.equal(pattern.exec(flag), null);
});

test('an unknown flag is bad input naming the flag', () => {
  assertBadInput(graftcert('inspect', fcSmall, '--frobnicate'), '--frobnicate');
  assertBadInput(graftcert('inspect', fcSmall, '--eps=0.1'), '--eps');
});

test('wrong argument counts and unknown commands are bad input', () => {
  assertBadInput(graftcert('inspect'), 'model.onnx');
  assertBadInput(graftcert('inspect', fcSmall, fcSmall), fcSmall);
  assertBadInput(graftcert('frobnicate'), 'frobnicate');
  const bare = graftcert();
  assert.equal(bare.status, 2);
  assert.equal(bare.stdout, '');
  assert.match(bare.stderr, /usage: graftcert <command>/);
});

test('--help answers per command on stdout with exit 0', () => {
  const top = graftcert('--help');
  assert.equal(top.status, 0);
  assert.match(top.stdout, /inspect/);
  const help = graftcert('inspect', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: graftcert inspect <model\.onnx> \[--json\]/);
  assert.match(help.stdout, /--json/);
});

test('bin/graftcert.js runs the bundled CLI', () => {
  const run = spawnSync(process.execPath, [join(root, 'bin', 'graftcert.js'), 'inspect', fcSmall, '--json'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal((JSON.parse(run.stdout) as InspectReport).reluLayers.length, 2);
});

test('demo describes the main job (the run itself takes minutes: see README)', () => {
  const run = graftcert('demo', '--help');
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /graft 50 %/);
  assert.match(run.stdout, /--out DIR/);
});
