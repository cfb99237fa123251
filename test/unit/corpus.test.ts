// Regression corpus: every VNN-COMP model loads (or fails with its expected sentence) and inspects to the recorded figures.
// GRAFTCERT_REGENERATE=1 rewrites test/fixtures/corpus-expectations.json from the current results (review the diff).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatInspect, inspectModelFile } from '../../server/inspect';
import { ModelError } from '../../server/onnx/errors';
import { loadModelFile } from '../../server/onnx/load';
import { findOnnxFiles, repoRoot, sharedBenchmarks } from '../helpers/onnx-models';

interface Expectation {
  /** null: loads; otherwise a substring of the ModelError sentence. */
  error: string | null;
  unsupportedOps: string[];
  reluLayers: number[];
  parameters: number;
  nodes: number;
}

const fixture = join(repoRoot, 'test', 'fixtures', 'corpus-expectations.json');
const regenerate = process.env.GRAFTCERT_REGENERATE === '1';

test('every VNN-COMP model loads and inspects as recorded', () => {
  const shared = sharedBenchmarks();
  const files = findOnnxFiles(join(shared, 'vnncomp'));
  assert.ok(files.length >= 40, `expected the VNN-COMP corpus under ${shared}, found ${files.length} models`);
  const expected: Record<string, Expectation> = existsSync(fixture) ? JSON.parse(readFileSync(fixture, 'utf8')) : {};
  const actual: Record<string, Expectation> = {};
  for (const file of files) {
    const key = relative(shared, file);
    let error: string | null = null;
    try {
      const m = loadModelFile(file);
      assert.ok(m.graph.nodes.length > 0, `${key}: empty IR`);
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      error = err.message;
    }
    const report = inspectModelFile(file);
    assert.ok(formatInspect(report).includes('total parameters'), `${key}: inspect text`);
    assert.equal(report.nodes.length > 0, true);
    assert.equal(report.problems.length === 0, error === null, `${key}: problems and load result agree`);
    actual[key] = {
      error,
      unsupportedOps: report.unsupportedOps,
      reluLayers: report.reluLayers.map((l) => l.size),
      parameters: report.totalParameters,
      nodes: report.nodes.length,
    };
    if (regenerate) continue;
    const want = expected[key];
    assert.ok(want, `${key} is not in ${fixture}; run with GRAFTCERT_REGENERATE=1 and review`);
    if (want.error === null) assert.equal(error, null, `${key} should load`);
    else assert.ok(error?.includes(want.error), `${key}: expected an error containing "${want.error}", got ${error}`);
    assert.deepEqual(actual[key].unsupportedOps, want.unsupportedOps, `${key}: unsupported ops`);
    assert.deepEqual(actual[key].reluLayers, want.reluLayers, `${key}: ReLU layer sizes`);
    assert.equal(actual[key].parameters, want.parameters, `${key}: parameters`);
    assert.equal(actual[key].nodes, want.nodes, `${key}: node count`);
  }
  if (regenerate) writeFileSync(fixture, JSON.stringify(actual, null, 2) + '\n');
  else assert.deepEqual(Object.keys(expected).sort(), Object.keys(actual).sort(), 'the fixture lists exactly the corpus');
});

test('lirpa models: parameter counts and ReLU layer sizes match their published description', () => {
  const shared = sharedBenchmarks();
  // n_params (PyTorch trainable parameters) + what ONNX stores beside them: BatchNorm running mean/var (2 × 24
  // channels) and the Sub/Div normalisation scalars.
  const cases: Record<string, { relu: number[]; extra: number }> = {
    fc_small: { relu: [100, 100], extra: 0 },
    conv_small: { relu: [1352, 400, 100], extra: 0 },
    conv_bn: { relu: [1352, 400, 100], extra: 48 },
    mnist_norm_fc: { relu: [256, 256], extra: 2 },
  };
  for (const [name, c] of Object.entries(cases)) {
    const path = join(shared, 'lirpa', 'models', `${name}.onnx`);
    const meta = JSON.parse(readFileSync(path.replace(/\.onnx$/, '.meta.json'), 'utf8')) as { n_params: number };
    const report = inspectModelFile(path);
    assert.deepEqual(report.reluLayers.map((l) => l.size), c.relu, `${name}: ReLU layers`);
    assert.equal(report.totalParameters, meta.n_params + c.extra, `${name}: parameters`);
    assert.deepEqual(report.problems, []);
  }
});
