// Result files (write/read round trip), generated robustness properties, the UI summary, number printing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatReal,
  formatResultFile,
  parseResultFile,
  parseVnnlib,
  readResultFile,
  robustnessProperty,
  summarizeProperty,
  writeResultFile,
} from '../../server/certify/vnnlib';

test('formatReal: shortest round trip, no exponent, always a decimal point', () => {
  const cases: [number, string][] = [
    [0, '0.0'],
    [-0, '0.0'],
    [1, '1.0'],
    [-2.5, '-2.5'],
    [1.5e-7, '0.00000015'],
    [-1.49065726873e-5, '-0.0000149065726873'],
    [1e21, '1000000000000000000000.0'],
    [1.2345e22, '12345000000000000000000.0'],
    [0.1 + 0.2, '0.30000000000000004'],
  ];
  for (const [v, s] of cases) assert.equal(formatReal(v), s);
  for (const v of [Math.PI, 5e-324, 1.7976931348623157e308, -3.3e-9, 0.05000000074505806]) assert.equal(Number(formatReal(v)), v);
  assert.throws(() => formatReal(NaN), RangeError);
});

test('result file: sat with counterexample, one entry per line, full precision, round trip', () => {
  const x = [0.1 + 0.2, -1e-9, 3];
  const y = [Math.PI, -2.5];
  const text = formatResultFile({ status: 'sat', counterexample: { x, y } });
  assert.equal(
    text,
    'sat\n(\n(X_0 0.30000000000000004)\n(X_1 -0.000000001)\n(X_2 3.0)\n(Y_0 3.141592653589793)\n(Y_1 -2.5)\n)\n',
  );
  const dir = mkdtempSync(join(tmpdir(), 'vnnresult-'));
  const path = join(dir, 'out.txt');
  writeResultFile(path, { status: 'sat', counterexample: { x: Float64Array.from(x), y } });
  assert.equal(readFileSync(path, 'utf8'), text);
  const back = readResultFile(path);
  assert.equal(back.status, 'sat');
  assert.deepEqual([...back.counterexample!.x], x);
  assert.deepEqual([...back.counterexample!.y], y);
});

test('result file: the other words, 2021 words, and other tools\' one-line counterexamples', () => {
  for (const status of ['unsat', 'timeout', 'unknown', 'error'] as const) {
    assert.equal(formatResultFile({ status }), `${status}\n`);
    assert.deepEqual(parseResultFile(`${status}\n`), { status });
  }
  assert.deepEqual(parseResultFile('holds\n'), { status: 'unsat' });
  assert.equal(parseResultFile('violated\n').status, 'sat');
  const other = parseResultFile('sat\n((X_0 1.5e-3) (X_1 -2)\n(Y_0 0.25))');
  assert.deepEqual([...other.counterexample!.x], [0.0015, -2]);
  assert.deepEqual([...other.counterexample!.y], [0.25]);
  assert.throws(() => formatResultFile({ status: 'sat' }), /needs its counterexample/);
  assert.throws(() => parseResultFile('maybe\n'), /not a result word/);
  assert.throws(() => parseResultFile('sat\n((X_1 0) (X_0 1))'), /out of order/);
  assert.throws(() => parseResultFile('sat\n((X_0 0) (Y_0 1) (X_1 1))'), /after the outputs/);
});

test('robustness property: VNN-COMP layout, re-parses to the same box and rows', () => {
  const center = [0, 0.02, 0.5, 0.99, 1];
  const eps = 0.05;
  const text = robustnessProperty({ center, eps, label: 2, nOutputs: 4, clip: [0, 1] });
  const lines = text.split('\n');
  assert.match(lines[0], /^; .*label: 2/);
  assert.ok(lines.includes('(declare-const X_4 Real)') && lines.includes('(declare-const Y_3 Real)'));
  assert.ok(lines.includes('(assert (<= X_1 0.07))') && lines.includes('(assert (>= X_1 0.0))'));
  assert.ok(text.includes('(assert (or\n    (and (>= Y_0 Y_2))\n    (and (>= Y_1 Y_2))\n    (and (>= Y_3 Y_2))\n))'));
  const p = parseVnnlib(text, { nInputs: 5, nOutputs: 4 });
  assert.equal(p.specs.length, 1);
  const { lower, upper } = p.specs[0].box;
  center.forEach((c, i) => {
    assert.equal(lower[i], Math.max(c - eps, 0));
    assert.equal(upper[i], Math.min(c + eps, 1));
  });
  const ds = p.specs[0].disjuncts;
  assert.equal(ds.length, 3);
  const others = [0, 1, 3];
  ds.forEach((d, k) => {
    const row = [0, 0, 0, 0];
    row[2] = 1;
    row[others[k]] = -1;
    assert.deepEqual([...d.A], row);
    assert.deepEqual([...d.b], [0]);
  });
  const s = summarizeProperty(p);
  assert.equal(s.robustnessLabel, 2);
  assert.ok(s.isLinfBall);
  assert.ok(Math.abs(s.isLinfBall.eps - eps) < 1e-12);
  assert.deepEqual(s.isLinfBall.clip, [0, 1]);
  s.isLinfBall.center.forEach((c, i) => assert.ok(Math.abs(c - center[i]) < 1e-12, `centre ${i}`));
  assert.deepEqual(p.warnings, []);
});

test('robustness property: argument checks', () => {
  assert.throws(() => robustnessProperty({ center: [0], eps: 0.1, label: 3, nOutputs: 3 }), /label 3/);
  assert.throws(() => robustnessProperty({ center: [0], eps: -1, label: 0, nOutputs: 3 }), /eps/);
});

test('summary: counts, no ball for an irregular box, no label for a non-robustness output part', () => {
  const p = parseVnnlib(
    '(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)\n' +
      '(assert (<= X_0 1))(assert (>= X_0 0))(assert (<= X_1 0.5))(assert (>= X_1 0.25))\n' +
      '(assert (or (and (<= Y_0 Y_1) (<= Y_0 3)) (and (>= Y_0 5))))',
  );
  const s = summarizeProperty(p);
  assert.deepEqual(
    { inputs: s.inputs, outputs: s.outputs, boxes: s.boxes, disjuncts: s.disjuncts },
    { inputs: 2, outputs: 2, boxes: 1, disjuncts: 2 },
  );
  assert.equal(s.isLinfBall, undefined);
  assert.equal(s.robustnessLabel, undefined);
});
