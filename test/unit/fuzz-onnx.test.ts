// Seeded mutation fuzzing of the ONNX decoder and IR builder (byte-level and structure-aware), plus the harness's own
// test: every case must end in a model or one ModelError sentence naming the file — never a crash, hang or OOM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { classifyError, deeplyNestedModel, describeFailure, onnxCase, runCase, runFuzz } from '../helpers/fuzz';
import { testSeed } from '../helpers/onnx-models';
import { ModelError } from '../../server/onnx/errors';
import { setLimits, currentLimits } from '../../server/limits';

const CASES = 300;

/** GRAFTCERT_FUZZ_CASE=i replays one case of the printed seed. */
function onlyCase(): number | undefined {
  const v = process.env.GRAFTCERT_FUZZ_CASE;
  return v !== undefined && v !== '' ? Number(v) : undefined;
}

test(`ONNX fuzzing: ${CASES} mutated models each load or fail with one ModelError sentence`, async () => {
  const seed = testSeed('fuzz-onnx');
  const report = await runFuzz({ target: 'onnx', seed, cases: CASES, only: onlyCase() });
  console.log(`# onnx: ${report.run} cases: ${JSON.stringify(report.counts)}`);
  const failures = report.failures.map((f) => describeFailure(report, f));
  assert.deepEqual(failures, [], `crashes, hangs or OOM:\n${failures.join('\n')}`);
  assert.equal(report.counts.ok + report.counts['clean-error'], report.run);
  if (onlyCase() === undefined) {
    // The mutations must reach past the decoder: some models still load, most are refused for a reason.
    assert.ok(report.counts.ok > 0 && report.counts['clean-error'] > CASES / 2, JSON.stringify(report.counts));
  }
});

test('the fuzz harness reports a crash, a hang and an out-of-memory with the case, and carries on', async () => {
  const report = await runFuzz({ target: 'selftest', seed: 1, cases: 5, caseTimeoutMs: 1500, heapMb: 64 });
  assert.equal(report.run, 5);
  assert.deepEqual(report.counts, { ok: 1, 'clean-error': 1, crash: 1, hang: 1, oom: 1 });
  const byIndex = new Map(report.failures.map((f) => [f.index, f]));
  assert.match(byIndex.get(1)!.detail!, /^TypeError: Cannot read properties/);
  assert.equal(byIndex.get(2)!.outcome, 'hang');
  assert.equal(byIndex.get(3)!.outcome, 'oom');
  assert.match(describeFailure(report, byIndex.get(1)!), /replay: GRAFTCERT_SEED=1 GRAFTCERT_FUZZ_CASE=1/);
});

test('a clean error is one line naming the file; anything else is a crash', () => {
  assert.equal(classifyError(new ModelError('/x/m.onnx', 'is corrupt — export it again.'), '/x/m.onnx').outcome, 'clean-error');
  assert.equal(classifyError(new ModelError('other.onnx', 'is corrupt.'), 'm.onnx').outcome, 'crash');
  const twoLines = new ModelError('m.onnx', 'x');
  Object.defineProperty(twoLines, 'message', { value: 'm.onnx: first\nsecond' });
  assert.equal(classifyError(twoLines, 'm.onnx').outcome, 'crash');
  assert.equal(classifyError(new RangeError('Maximum call stack size exceeded'), 'm.onnx').outcome, 'crash');
  assert.equal(classifyError('thrown string', 'm.onnx').outcome, 'crash');
});

test('regressions the fuzzer found: deep protobuf nesting, a graph without outputs, a Shape without its input', () => {
  const saved = { ...process.env };
  try {
    setLimits({ tensorElements: 2 ** 22 });
    assert.equal(currentLimits().tensorElements, 2 ** 22);
    // 50 000 nested graph attributes: protobufjs recurses past the stack; one sentence, not a RangeError.
    const deep = runCase('onnx', { index: 0, file: 'deep.onnx', mutation: 'nested', bytes: deeplyNestedModel(50_000) });
    assert.equal(deep.outcome, 'clean-error', deep.detail);
    assert.match(deep.detail!, /^deep\.onnx: is corrupt: its protobuf messages are nested too deeply/);
    // Found cases, replayed by seed: each names what the fuzzer did to the model.
    for (const [seed, index, pattern] of [
      [7, 59, /the graph declares no outputs/],
      [705670253, 72, /node 'Shape_0' \(Shape\): Shape needs its data input, and this one has none/],
    ] as const) {
      const c = onnxCase(seed, index);
      const r = runCase('onnx', c);
      assert.equal(r.outcome, 'clean-error', `${c.mutation}: ${r.detail}`);
      assert.match(r.detail!, pattern, c.mutation);
      assert.ok(r.detail!.startsWith(`${basename(c.file)}: `));
    }
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});
