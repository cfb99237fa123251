// VNN-LIB parser and lowering: every shape of VNNLIB.md §2, lexer details, 2.0 subset, diagnostics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseVnnlib, readVnnlibFile, loadVnnlibFile, VnnlibError, VnnlibProperty } from '../../server/certify/vnnlib';

const fixtures = resolve(__dirname, '..', 'fixtures', 'vnnlib');

function decl(nx: number, ny: number): string {
  const lines: string[] = [];
  for (let i = 0; i < nx; i++) lines.push(`(declare-const X_${i} Real)`);
  for (let j = 0; j < ny; j++) lines.push(`(declare-const Y_${j} Real)`);
  return lines.join('\n') + '\n';
}

/** Rows of one disjunct as plain arrays: [[...A row..., b], ...]. */
function rows(p: VnnlibProperty, spec = 0, disjunct = 0): number[][] {
  const d = p.specs[spec].disjuncts[disjunct];
  const out: number[][] = [];
  for (let r = 0; r < d.rows; r++) out.push([...d.A.subarray(r * p.nOutputs, (r + 1) * p.nOutputs), d.b[r]]);
  return out;
}

function box(p: VnnlibProperty, spec = 0): [number, number][] {
  const { lower, upper } = p.specs[spec].box;
  return [...lower].map((lo, i) => [lo, upper[i]]);
}

function expectError(text: string, line: number, column: number, pattern: RegExp, options = {}): VnnlibError {
  let caught: unknown;
  try {
    parseVnnlib(text, options);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof VnnlibError, `expected a VnnlibError, got ${String(caught)}`);
  const err = caught as VnnlibError;
  assert.match(err.reason, pattern);
  assert.deepEqual({ line: err.line, column: err.column }, { line, column }, err.message);
  return err;
}

test('shape 1 + 2: input box and an output conjunction over several asserts (ACAS Xu prop 3)', () => {
  const p = parseVnnlib(
    decl(2, 3) +
      '(assert (<= X_0 -0.298552812))\n(assert (>= X_0 -0.303531156))\n(assert (<= X_1 0.5))\n(assert (>= X_1 0.3))\n' +
      '(assert (<= Y_0 Y_1))\n(assert (<= Y_0 Y_2))\n',
  );
  assert.equal(p.version, '1.0');
  assert.equal(p.nInputs, 2);
  assert.equal(p.nOutputs, 3);
  assert.equal(p.specs.length, 1);
  assert.deepEqual(box(p), [[-0.303531156, -0.298552812], [0.3, 0.5]]);
  assert.equal(p.specs[0].disjuncts.length, 1);
  assert.deepEqual(rows(p), [[1, -1, 0, 0], [1, 0, -1, 0]]);
});

test('shape 3: robustness as an or of single-atom ands', () => {
  const p = parseVnnlib(
    decl(1, 3) + '(assert (<= X_0 1))(assert (>= X_0 0))\n(assert (or\n    (and (>= Y_0 Y_1))\n    (and (>= Y_2 Y_1))\n))\n',
  );
  assert.equal(p.specs.length, 1);
  assert.equal(p.specs[0].disjuncts.length, 2);
  // Y_0 ≥ Y_1  ⇔  Y_1 − Y_0 ≤ 0
  assert.deepEqual(rows(p, 0, 0), [[-1, 1, 0, 0]]);
  assert.deepEqual(rows(p, 0, 1), [[0, 1, -1, 0]]);
});

test('shape 4: disjunction of input boxes gives several boxes sharing the common constraints', () => {
  const p = readVnnlibFile(join(fixtures, 'input_box_disjunction.vnnlib'));
  assert.equal(p.specs.length, 2);
  assert.deepEqual(box(p, 0), [[0, 1], [-1, 1]]);
  assert.deepEqual(box(p, 1), [[2, 3], [-1, 1]]);
  for (const s of [0, 1]) assert.deepEqual(rows(p, s), [[1, -1, 0]]);
});

test('shape 5: mixed X/Y conjuncts are split per conjunct', () => {
  const p = readVnnlibFile(join(fixtures, 'mixed_conjunct.vnnlib'));
  assert.equal(p.specs.length, 2);
  assert.deepEqual(box(p, 0), [[-1, 1]]);
  assert.deepEqual(rows(p, 0), [[-1, -100]]);
  assert.deepEqual(box(p, 1), [[-2, 2]]);
  assert.deepEqual(rows(p, 1), [[1, -100]]);
});

test('shape 6: output against a constant, both directions', () => {
  const p = parseVnnlib(decl(1, 2) + '(assert (<= X_0 1))(assert (>= X_0 -1))(assert (<= Y_0 -3.0))(assert (>= Y_1 3.991125645861615))');
  assert.deepEqual(rows(p), [[1, 0, -3], [0, -1, -3.991125645861615]]);
});

test('identical boxes are merged; repeated bounds are intersected', () => {
  const p = parseVnnlib(
    decl(1, 2) +
      '(assert (<= X_0 1))(assert (<= X_0 0.5))(assert (>= X_0 -1))(assert (>= X_0 -2))\n' +
      '(assert (or (and (<= X_0 0.25) (<= Y_0 0)) (and (<= X_0 0.25) (<= Y_1 0)) (and (<= Y_0 Y_1))))',
  );
  assert.equal(p.specs.length, 2);
  assert.deepEqual(box(p, 0), [[-1, 0.25]]);
  assert.equal(p.specs[0].disjuncts.length, 2);
  assert.deepEqual(box(p, 1), [[-1, 0.5]]);
  assert.deepEqual(rows(p, 1), [[1, -1, 0]]);
});

test('several disjunctive asserts are conjoined (DNF product)', () => {
  const p = parseVnnlib(decl(1, 3) + '(assert (<= X_0 1))(assert (>= X_0 0))(assert (or (<= Y_0 0) (<= Y_1 0)))(assert (or (<= Y_2 1) (>= Y_2 2)))');
  assert.equal(p.specs.length, 1);
  assert.equal(p.specs[0].disjuncts.length, 4);
  assert.deepEqual(rows(p, 0, 3), [[0, 1, 0, 0], [0, 0, -1, -2]]);
});

test('and over or is distributed', () => {
  const p = parseVnnlib(decl(1, 2) + '(assert (<= X_0 1))(assert (>= X_0 0))(assert (and (<= Y_0 5) (or (<= Y_1 0) (>= Y_1 1))))');
  assert.equal(p.specs[0].disjuncts.length, 2);
  assert.deepEqual(rows(p, 0, 1), [[1, 0, 5], [0, -1, -1]]);
});

test('comments with parentheses, exponent notation, declare-fun, single-child and/or, (- c) negation', () => {
  const p = readVnnlibFile(join(fixtures, 'comments_and_numbers.vnnlib'));
  assert.deepEqual(box(p), [[-2.5e-3, 1.49065726873e-5], [-0.5, 0.5]]);
  assert.deepEqual(rows(p), [[1, -1, -0.5]]);
  assert.ok(p.warnings.some((w) => w.code === 'exponent-notation' && w.line === 6 && w.count === 2), JSON.stringify(p.warnings));
});

test('multi-line asserts and linear arithmetic in outputs', () => {
  const p = parseVnnlib(decl(1, 3) + '(assert (<= X_0 1))\n(assert\n  (>= X_0 0)\n)\n(assert (<= (+ Y_0 (* 2 Y_1) (* -1 Y_2 3)) (- 1 0.5)))');
  assert.deepEqual(box(p), [[0, 1]]);
  assert.deepEqual(rows(p), [[1, 2, -3, 0.5]]);
  assert.ok(p.warnings.some((w) => w.code === 'arithmetic'));
});

test('strict comparisons and = are tolerated with a warning', () => {
  const p = parseVnnlib(decl(1, 2) + '(assert (< X_0 1))\n(assert (> X_0 0))\n(assert (= Y_0 Y_1))');
  assert.deepEqual(box(p), [[0, 1]]);
  assert.deepEqual(rows(p), [[1, -1, 0], [-1, 1, 0]]);
  const strict = p.warnings.find((w) => w.code === 'strict-comparison');
  assert.ok(strict);
  assert.deepEqual([strict.line, strict.column, strict.count], [4, 9, 2]);
});

test('gzip is detected by content, sync and async', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vnnlib-'));
  const text = decl(2, 2) + '(assert (<= X_0 1))(assert (>= X_0 0))(assert (<= X_1 1))(assert (>= X_1 0))(assert (<= Y_0 Y_1))';
  const gz = join(dir, 'prop.vnnlib.gz');
  writeFileSync(gz, gzipSync(text));
  const a = readVnnlibFile(gz);
  const b = await loadVnnlibFile(gz);
  for (const p of [a, b]) {
    assert.equal(p.nInputs, 2);
    assert.deepEqual(box(p), [[0, 1], [0, 1]]);
    assert.equal(p.file, gz);
  }
});

test('VNN-LIB 2.0 single-network subset: element access in C order', () => {
  const p = readVnnlibFile(join(fixtures, 'version2_mnist.vnnlib'));
  assert.equal(p.version, '2.0');
  assert.deepEqual(p.network, { name: 'mnist', input: 'X', inputShape: [2, 2], output: 'Y', outputShape: [3] });
  assert.equal(p.nInputs, 4);
  assert.equal(p.nOutputs, 3);
  assert.deepEqual(box(p), [[0, 0.1], [0.2, 0.3], [0.4, 0.5], [0.6, 0.7]]);
  assert.equal(p.specs[0].disjuncts.length, 2);
  assert.deepEqual(rows(p, 0, 1), [[0, 1, -1, 0]]);
});

test('VNN-LIB 2.0 outside the subset fails with one sentence', () => {
  const head = '(vnnlib-version <2.0>)\n';
  expectError(head + '(declare-network a (declare-input X Real [1]) (declare-output Y Real [1]))\n(declare-network b (declare-input X Real [1]) (declare-output Y Real [1]))', 3, 1, /more than one network/);
  expectError(head + '(declare-network a (declare-input X Real [1]) (declare-input Z Real [1]) (declare-output Y Real [1]))', 2, 47, /second input/);
  expectError(head + '(declare-network a (declare-input X Real [1]) (declare-hidden H Real [4] "relu1") (declare-output Y Real [1]))', 2, 47, /hidden nodes/);
  expectError(head + '(declare-network a (equal-to b) (declare-input X Real [1]) (declare-output Y Real [1]))', 2, 20, /single-network/);
  expectError(head + '(declare-network a (declare-input X Real [2,2]) (declare-output Y Real [1]))\n(assert (<= X[2,0] 1))', 3, 13, /out of range/);
  expectError('(vnnlib-version <3.0>)', 1, 1, /unsupported VNN-LIB version/);
});

test('malformed: unbalanced parentheses point at the unclosed ( or the stray )', () => {
  expectError(decl(1, 1) + '(assert (<= X_0 1)\n(assert (>= X_0 0))', 3, 1, /never closed/);
  expectError(decl(1, 1) + '(assert (<= X_0 1)))\n', 3, 20, /no matching/);
  // A parenthesis inside a comment does not count.
  expectError(decl(1, 1) + '(assert (<= X_0 1)) ; )\n(assert (>= X_0 0)\n', 4, 1, /never closed/);
});

test('malformed: unknown and undeclared variables', () => {
  expectError(decl(1, 1) + '(assert (<= X_0 1))\n(assert (>= X_7 0))', 4, 13, /X_7 is not declared/);
  expectError(decl(1, 1) + '(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= Y_0 Z))', 5, 17, /unknown variable 'Z'/);
  expectError(decl(1, 1) + '(assert (and (<= X_0 1) (>= X_0 0) (<= Y_3 1)))', 3, 40, /Y_3 is not declared/);
});

test('malformed: an input without a bound is an unbounded input set', () => {
  const err = expectError(decl(2, 1) + '(assert (<= X_0 1))(assert (>= X_0 0))\n(assert (<= X_1 1))\n(assert (<= Y_0 0))', 2, 16, /X_1 has no lower bound/);
  assert.match(err.message, /^line 2, column 16: /);
  expectError(decl(2, 1) + '(assert (<= Y_0 0))', 1, 16, /X_0 has no bounds \(and 1 more input\)/);
});

test('malformed: lo > hi is an empty box, reported at the later bound', () => {
  expectError(decl(1, 1) + '(assert (<= X_0 0.2))\n(assert (>= X_0 0.3))\n(assert (<= Y_0 0))', 4, 9, /lower bound 0.3 above its upper bound 0.2/);
  expectError(decl(1, 1) + '(assert (or (and (<= X_0 0) (>= X_0 1) (<= Y_0 0))))', 3, 29, /input box is empty/);
});

test('an empty disjunct box next to non-empty ones is dropped with a warning', () => {
  const p = parseVnnlib(decl(1, 1) + '(assert (or (and (<= X_0 0) (>= X_0 1)) (and (<= X_0 3) (>= X_0 2))))(assert (<= Y_0 0))');
  assert.equal(p.specs.length, 1);
  assert.deepEqual(box(p), [[2, 3]]);
  assert.ok(p.warnings.some((w) => w.code === 'empty-box-disjunct'));
});

test('malformed: non-linear products, mixed comparisons, non-box input constraints', () => {
  expectError(decl(1, 1) + '(assert (<= X_0 1))\n(assert (<= (* X_0 Y_0) 1))', 4, 13, /non-linear/);
  expectError(decl(1, 1) + '(assert (<= X_0 Y_0))', 3, 9, /mixes an input \(X_0\) and an output \(Y_0\)/);
  expectError(decl(2, 1) + '(assert (<= (+ X_0 X_1) 1))', 4, 9, /not box bounds.*not supported yet/);
});

test('malformed: index gaps and duplicate declarations', () => {
  expectError('(declare-const X_0 Real)\n(declare-const X_2 Real)\n(declare-const Y_0 Real)', 2, 16, /X_1 is not declared although X_2 is/);
  expectError('(declare-const X_0 Real)\n(declare-const X_0 Real)', 2, 16, /declared twice/);
  const p = parseVnnlib('(declare-const X_0 Real)\n(declare-const Y_1 Real)\n(assert (<= X_0 1))(assert (>= X_0 0))(assert (<= Y_1 0))');
  assert.equal(p.nOutputs, 2);
  assert.ok(p.warnings.some((w) => w.code === 'output-gap'));
});

test('model sizes: indices out of range and missing inputs', () => {
  const text = decl(3, 2) + '(assert (<= X_0 1))(assert (>= X_0 0))(assert (<= X_1 1))(assert (>= X_1 0))(assert (<= X_2 1))(assert (>= X_2 0))(assert (<= Y_0 Y_1))';
  expectError(text, 3, 16, /input index 2 is out of range: the model has 2 inputs/, { nInputs: 2 });
  expectError(text, 3, 16, /declares 3 inputs but the model has 4/, { nInputs: 4 });
  expectError(text, 5, 16, /output index 1 is out of range/, { nOutputs: 1 });
  const padded = parseVnnlib(text, { nInputs: 3, nOutputs: 4 });
  assert.equal(padded.nOutputs, 4);
  assert.deepEqual(rows(padded), [[1, -1, 0, 0, 0]]);
  const err = expectError(text, 3, 16, /out of range/, { nInputs: 2, file: '/tmp/props/p.vnnlib' });
  assert.match(err.message, /^p\.vnnlib:3:16: input index 2/);
});

test('malformed tokens and commands', () => {
  expectError(decl(1, 1) + '(assert (<= X_0 1.2.3))', 3, 17, /malformed number/);
  expectError(decl(1, 1) + '(check-model)', 3, 2, /unknown command 'check-model'/);
  expectError(decl(1, 1) + '(assert (not (<= X_0 1)))', 3, 9, /'not' is not supported/);
  expectError(decl(1, 1) + '(assert (or))', 3, 9, /at least one operand/);
  expectError(decl(1, 1) + '(assert (<= X_0 1) (>= X_0 0))', 3, 1, /exactly one formula/);
  expectError('(declare-const Y_0 Real)\n(assert (<= Y_0 1))', 1, 1, /declares no inputs/);
});

test('VNN-LIB 2.x examples from VNNLIB-Standard syntax/test: multi-line assert, initialized, non-box input constraint', () => {
  const cartpole =
    '(vnnlib-version <2.0>)\n(declare-network cartpole\n    (declare-input X Real [4])\n    (declare-output Y Real [2])\n)\n' +
    '(assert (<= X[0] -0.04762885010058087))\n(assert (>= X[0] -0.05549104989941913))\n(assert (<= X[1] 0.1))\n(assert (>= X[1] 0))\n' +
    '(assert (<= X[2] 0.1))\n(assert (>= X[2] 0))\n(assert (<= X[3] 0.1))\n(assert (>= X[3] 0))\n(assert \n(<= Y[1] Y[0])\n)\n';
  const p = parseVnnlib(cartpole);
  assert.deepEqual(box(p)[0], [-0.05549104989941913, -0.04762885010058087]);
  assert.deepEqual(rows(p), [[-1, 1, 0]]);
  const init = parseVnnlib('(vnnlib-version <2.1>)\n(declare-network AcasXu\n\t(declare-input A real [1] initialized)\n\t(declare-output B Real [5]))\n(assert (<= A 1))(assert (>= A 0))(assert (<= B[3] 0.5))');
  assert.equal(init.nInputs, 1);
  assert.ok(init.warnings.some((w) => w.code === 'initialized'));
  expectError(
    '(vnnlib-version <2.0>)\n(declare-network acc (declare-input X real [3]) (declare-output Y real [4]))\n(assert (<= (- (* 1.5 X[1]) X[2]) -5.0))',
    3,
    9,
    /linear but not box bounds \(here over X\[1\] and X\[2\]\) are not supported yet/,
  );
});
