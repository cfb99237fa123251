// Seeded token-level mutation fuzzing of the VNN-LIB parser: every case must end in a property or one VnnlibError
// with its file, line and column — never a stack overflow, a hang or an allocation sized by a hostile index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure, runFuzz } from '../helpers/fuzz';
import { testSeed } from '../helpers/onnx-models';
import { parseVnnlib, VnnlibError } from '../../server/certify/vnnlib/index';
import { MAX_NESTING } from '../../server/certify/vnnlib/sexpr';
import { LIMIT_KNOBS, setLimits, type LimitSettings } from '../../server/limits';

/** Runs `fn` with these limits in force, then restores the environment's. */
function withLimits<T>(settings: LimitSettings, fn: () => T): T {
  const saved = Object.values(LIMIT_KNOBS).map((k) => [k.env, process.env[k.env]] as const);
  setLimits(settings);
  try {
    return fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const CASES = 500;

function onlyCase(): number | undefined {
  const v = process.env.GRAFTCERT_FUZZ_CASE;
  return v !== undefined && v !== '' ? Number(v) : undefined;
}

test(`VNN-LIB fuzzing: ${CASES} mutated properties each parse or fail with one positioned sentence`, async () => {
  const seed = testSeed('fuzz-vnnlib');
  const report = await runFuzz({ target: 'vnnlib', seed, cases: CASES, only: onlyCase() });
  console.log(`# vnnlib: ${report.run} cases: ${JSON.stringify(report.counts)}`);
  const failures = report.failures.map((f) => describeFailure(report, f));
  assert.deepEqual(failures, [], `crashes, hangs or OOM:\n${failures.join('\n')}`);
  if (onlyCase() === undefined) assert.ok(report.counts.ok > 0 && report.counts['clean-error'] > CASES / 2, JSON.stringify(report.counts));
});

function parseError(text: string, options: { nInputs?: number; nOutputs?: number } = {}): VnnlibError {
  try {
    parseVnnlib(text, { file: 'p.vnnlib', ...options });
  } catch (error) {
    assert.ok(error instanceof VnnlibError, `expected a VnnlibError, got ${String(error)}`);
    assert.ok(error.message.startsWith('p.vnnlib:'), error.message);
    assert.ok(!/\n/.test(error.message));
    return error;
  }
  assert.fail('the property parsed but should not have');
}

const header = '(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= X_0 1))\n(assert (>= X_0 0))\n';

test('regression: 100 000 nested parentheses are refused at the nesting limit, not by a stack overflow', () => {
  const e = parseError(header + '('.repeat(100_000) + 'assert' + ')'.repeat(100_000));
  assert.equal(e.line, 5);
  assert.equal(e.column, MAX_NESTING + 1);
  assert.match(e.reason, /nested more than 256 deep/);
  // Deep formulas and arithmetic under the limit still parse.
  const nested = `(assert ${'(and '.repeat(100)}(<= Y_0 1)${')'.repeat(100)})`;
  assert.equal(parseVnnlib(header + nested).specs.length, 1);
  parseError(header + `(assert (<= ${'(- '.repeat(5000)}Y_0${')'.repeat(5000)} 1))`);
});

test('regression: a huge declared index is refused before it sizes anything', () => {
  const t0 = performance.now();
  const e = parseError('(declare-const X_0 Real)\n(declare-const X_999999999 Real)\n(declare-const Y_0 Real)\n(assert (<= X_0 1))');
  assert.match(e.reason, /X_999999999 is beyond the 268,435,456-element tensor limit/);
  assert.equal(e.line, 2);
  assert.ok(performance.now() - t0 < 5000);
  // Against a model the index is checked at the declaration.
  const m = parseError('(declare-const X_0 Real)\n(declare-const X_7 Real)', { nInputs: 4, nOutputs: 1 });
  assert.match(m.reason, /input index 7 is out of range: the model has 4 inputs/);
  // A 2.0 shape of 10^18 elements likewise.
  const v2 = parseError('(vnnlib-version <2.0>)\n(declare-network n (declare-input X Real [999999999,999999999]) (declare-output Y Real [2]))');
  assert.match(v2.reason, /X has shape \[999999999,999999999\], 999,999,998,000,000,00\d elements, over the/);
});

test('regression: numbers that are not finite float64s are refused (they made NaN bounds before)', () => {
  assert.match(parseError(header.replace('(<= X_0 1)', '(<= X_0 1e999)')).reason, /number 1e999 is too large for a float64/);
  assert.match(parseError(header + '(assert (<= (* 1e300 1e300 Y_0) 1))').reason, /overflows/);
  assert.match(parseError(header + '(assert (<= Y_0 #xFFFFFFFFFFFFFFFFFFFFFFFF))').reason, /too large to be read exactly/);
});

test('regression: a product of disjunctions too large to enumerate is refused before enumerating', () => {
  const bomb = (n: number) => header + '(assert (or (and (<= X_0 0.5)) (and (>= Y_0 1))))\n'.repeat(n);
  withLimits({ tensorElements: 500_000 }, () => {
    const e = parseError(bomb(18));
    assert.match(e.reason, /262,144 combinations of 1 inputs and 1 outputs, 786,432 numbers, over the 500,000-element tensor limit; split the property/);
    assert.equal(e.line, 22, 'at the assert that made the product too large');
    // Under the limit: enumerated, identical boxes merged.
    const p = parseVnnlib(bomb(10));
    assert.equal(p.specs.reduce((n, s) => n + s.disjuncts.length, 0), 1024);
  });
});

test('regression: a control character from the file is quoted escaped, so the message stays one printable line', () => {
  const e = parseError(header + '(assert (<= Y_0 1))\u0000');
  assert.equal(e.reason, "unexpected character '\\x00'; VNN-LIB has only parentheses, names, numbers and ; comments");
  assert.doesNotMatch(e.message, /[\x00-\x1f]/);
});
