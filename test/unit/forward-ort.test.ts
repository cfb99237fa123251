// The forward pass agrees with onnxruntime (the reference runtime) on every benchmark model it supports, float32 and float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import { evaluate } from '../../server/ir/forward';
import { encodeModel, attr, type ModelSpec } from '../../server/onnx/encode';
import { ModelError } from '../../server/onnx/errors';
import { loadModelBytes, loadModelFile, type LoadedModel } from '../../server/onnx/load';
import { sizeOf, type Precision } from '../../server/tensor/types';
import { findOnnxFiles, randomTensor, rng, sharedBenchmarks, testSeed, tinyMlpSpec } from '../helpers/onnx-models';

const BATCH = 4;
const TOLERANCE = 1e-5;
const seed = testSeed('forward-ort');

async function ortSession(source: string | Uint8Array): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 };
  return typeof source === 'string' ? ort.InferenceSession.create(source, options) : ort.InferenceSession.create(source, options);
}

/** Run onnxruntime sample by sample (many benchmark models fix their batch dimension to 1). */
async function ortOutputs(session: ort.InferenceSession, model: LoadedModel, x: Float32Array, batch: number): Promise<Map<string, Float32Array>> {
  const input = model.graph.inputs[0];
  const n = sizeOf(input.shape);
  const result = new Map<string, Float32Array>();
  for (let b = 0; b < batch; b++) {
    const feeds = { [input.name]: new ort.Tensor('float32', x.slice(b * n, (b + 1) * n), [...input.shape]) };
    const out = await session.run(feeds);
    for (const o of model.graph.outputs) {
      const data = out[o.name].data as Float32Array;
      let all = result.get(o.name);
      if (!all) result.set(o.name, (all = new Float32Array(batch * data.length)));
      all.set(data, b * data.length);
    }
  }
  return result;
}

interface Comparison {
  maxDiff: number;
  maxRef: number;
}

function compare(ours: ArrayLike<number>, ref: ArrayLike<number>): Comparison {
  assert.equal(ours.length, ref.length, 'output length');
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  assert.ok(!Number.isNaN(maxDiff), 'NaN in the output');
  return { maxDiff, maxRef };
}

/** Our forward pass in both precisions against onnxruntime on BATCH random inputs; returns the max abs diff per precision. */
async function checkAgainstOrt(model: LoadedModel, session: ort.InferenceSession, next: () => number): Promise<Record<Precision, Comparison>> {
  assert.equal(model.graph.inputs.length, 1, 'single-input models');
  const n = sizeOf(model.graph.inputs[0].shape);
  const x = new Float32Array(BATCH * n);
  for (let i = 0; i < x.length; i++) x[i] = next();
  const reference = await ortOutputs(session, model, x, BATCH);
  const result = {} as Record<Precision, Comparison>;
  for (const precision of ['float32', 'float64'] as const) {
    const ours = evaluate(model.graph, precision === 'float32' ? x : Float64Array.from(x), BATCH, precision);
    let worst: Comparison = { maxDiff: 0, maxRef: 0 };
    for (const o of model.graph.outputs) {
      const got = ours.get(o.name)!;
      assert.ok(precision === 'float32' ? got instanceof Float32Array : got instanceof Float64Array, `${precision} output type`);
      const c = compare(got, reference.get(o.name)!);
      assert.ok(
        c.maxDiff <= TOLERANCE * (1 + c.maxRef),
        `${precision}: output '${o.name}' differs from onnxruntime by ${c.maxDiff.toExponential(2)} (max |ort| ${c.maxRef.toPrecision(3)}, seed ${seed})`,
      );
      worst = { maxDiff: Math.max(worst.maxDiff, c.maxDiff), maxRef: Math.max(worst.maxRef, c.maxRef) };
    }
    result[precision] = worst;
  }
  return result;
}

const shared = (() => {
  try {
    return sharedBenchmarks();
  } catch (err) {
    return err as Error;
  }
})();

test('the shared benchmarks are present', () => {
  if (shared instanceof Error) assert.fail(shared.message);
});

test('forward pass equals onnxruntime on every supported benchmark model', async (t) => {
  if (shared instanceof Error) assert.fail(shared.message);
  const files = [...findOnnxFiles(join(shared, 'vnncomp')), ...findOnnxFiles(join(shared, 'lirpa'))];
  assert.ok(files.length > 0, `no .onnx files under ${shared}`);
  const next = rng(seed);
  let compared = 0;
  for (const file of files) {
    const label = relative(shared, file);
    await t.test(label, async (st) => {
      let model: LoadedModel;
      try {
        model = loadModelFile(file);
      } catch (err) {
        if (err instanceof ModelError && err.unsupportedOps.length > 0) {
          console.log(`# ${label}: skipped, unsupported ops ${err.unsupportedOps.join(', ')}`);
          st.skip(`unsupported ops: ${err.unsupportedOps.join(', ')}`);
          return;
        }
        throw err;
      }
      const session = await ortSession(file);
      try {
        const r = await checkAgainstOrt(model, session, next);
        compared++;
        console.log(
          `# ${label}: max |ours - ort| float32 ${r.float32.maxDiff.toExponential(2)}, float64 ${r.float64.maxDiff.toExponential(2)} (max |ort| ${r.float64.maxRef.toPrecision(3)}, batch ${BATCH})`,
        );
      } finally {
        await session.release();
      }
    });
  }
  assert.ok(compared >= files.length / 2, `only ${compared} of ${files.length} models could be compared`);
});

test('lirpa models reproduce the check vector of their meta.json', () => {
  if (shared instanceof Error) assert.fail(shared.message);
  const files = findOnnxFiles(join(shared, 'lirpa', 'models'));
  assert.ok(files.length >= 4);
  for (const file of files) {
    const meta = JSON.parse(readFileSync(file.replace(/\.onnx$/, '.meta.json'), 'utf8')) as { check: { x: number[]; y: number[] } };
    const model = loadModelFile(file);
    const y = evaluate(model.graph, Float64Array.from(meta.check.x), 1, 'float64').get(model.graph.outputs[0].name)!;
    const c = compare(y, meta.check.y);
    console.log(`# ${relative(shared, file)}: check vector max diff ${c.maxDiff.toExponential(2)} (max |y| ${c.maxRef.toPrecision(3)})`);
    assert.ok(c.maxDiff <= TOLERANCE * (1 + c.maxRef), `${file}: check.y differs by ${c.maxDiff}`);
  }
});

test('models written by the encoder run in onnxruntime and agree with the forward pass', async () => {
  const next = rng(seed + 1);
  const conv: ModelSpec = {
    opset: 13,
    inputs: [{ name: 'img', shape: ['N', 2, 6, 6] }],
    outputs: [{ name: 'logits', shape: ['N', 3] }],
    nodes: [
      { opType: 'Conv', inputs: ['img', 'K', 'kb'], outputs: ['c'], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } },
      { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
      { opType: 'Flatten', inputs: ['r'], outputs: ['f'], attrs: { axis: attr.int(1) } },
      { opType: 'Gemm', inputs: ['f', 'W', 'b'], outputs: ['logits'], attrs: { transB: attr.int(1), alpha: attr.float(0.5) } },
    ],
    initializers: [randomTensor('K', [4, 2, 3, 3], next), randomTensor('kb', [4], next, 1, 'typed'), randomTensor('W', [3, 36], next), randomTensor('b', [3], next, 1, 'typed')],
  };
  for (const [name, spec] of [['mlp', tinyMlpSpec(next)], ['conv', conv]] as const) {
    const bytes = encodeModel(spec);
    const model = loadModelBytes(bytes, `${name}.onnx`);
    const session = await ortSession(bytes);
    try {
      const r = await checkAgainstOrt(model, session, next);
      console.log(`# encoded ${name}: max |ours - ort| float32 ${r.float32.maxDiff.toExponential(2)}, float64 ${r.float64.maxDiff.toExponential(2)}`);
    } finally {
      await session.release();
    }
  }
});
