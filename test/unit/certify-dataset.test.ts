// certifyDataSet: accuracy figures, soundness of every certificate by sampling, worker-count independence, cancel.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { linfBall, UnsupportedModelError } from '../../server/bounds/index';
import { argmax, CertifySettingError, certifyDataSet } from '../../server/certify/dataset';
import { DataError, loadDataSet, type DataSet } from '../../server/data/index';
import { evaluate } from '../../server/ir/forward';
import { encodeModel } from '../../server/onnx/encode';
import { loadModelBytes, loadModelFile, type LoadedModel } from '../../server/onnx/load';
import type { CertifyReport } from '../../server/protocol/requests';
import { repoRoot, rng, tempDir, testSeed, tinyMlpSpec, writeModel } from '../helpers/onnx-models';
import { softmaxMlpSpec } from './certify-fixtures';

const fcSmallPath = resolve(repoRoot, '..', 'shared', 'benchmarks', 'lirpa', 'models', 'fc_small.onnx');

let fcSmall: LoadedModel;
let mnist20: DataSet;
/** The first 20 MNIST test images labelled with fc_small's own predictions (a hand-made JSON data set). */
let selfLabelled: DataSet;
let tiny: LoadedModel;
/** 16 hand-made 4-value samples for the tiny MLP, 2 of them deliberately mislabelled. */
let tinyData: DataSet;
let scratch: string;

function predict(model: LoadedModel, x: ArrayLike<number>): number {
  const output = evaluate(model.graph, Float64Array.from(x), 1, 'float64').get(model.graph.outputs[0].name)!;
  return argmax(output);
}

function sample(data: DataSet, k: number): Float32Array {
  const size = data.inputs.length / data.count;
  return data.inputs.subarray(k * size, (k + 1) * size);
}

before(() => {
  scratch = tempDir('graftcert-certify-');
  fcSmall = loadModelFile(fcSmallPath);
  mnist20 = loadDataSet('mnist', { count: 20 });
  const inputs: number[][] = [];
  const labels: number[] = [];
  for (let k = 0; k < mnist20.count; k++) {
    const x = sample(mnist20, k);
    inputs.push(Array.from(x));
    labels.push(predict(fcSmall, x));
  }
  const selfFile = join(scratch, 'mnist-self.json');
  writeFileSync(selfFile, JSON.stringify({ inputs, labels }));
  selfLabelled = loadDataSet(selfFile);

  tiny = loadModelFile(writeModel(scratch, 'tiny.onnx', tinyMlpSpec(rng(7))));
  const next = rng(11);
  const tinyInputs: number[][] = [];
  const tinyLabels: number[] = [];
  for (let k = 0; k < 16; k++) {
    const x = [0, 1, 2, 3].map(() => Math.round(next() * 100) / 100);
    tinyInputs.push(x);
    const p = predict(tiny, x);
    tinyLabels.push(k === 3 || k === 9 ? 1 - p : p);
  }
  const tinyFile = join(scratch, 'tiny.json');
  writeFileSync(tinyFile, JSON.stringify({ inputs: tinyInputs, labels: tinyLabels }));
  tinyData = loadDataSet(tinyFile);
});

/** Every certified sample keeps its prediction at `points` random points (a third of them box vertices) of its ball. */
function assertCertificatesHold(model: LoadedModel, data: DataSet, report: CertifyReport, points: number, seed: number): number {
  const next = rng(seed);
  let checked = 0;
  for (const s of report.samples) {
    if (!s.certified) continue;
    const k = s.index - data.offset;
    const box = linfBall(sample(data, k), report.eps, report.clip);
    const n = box.lower.length;
    const batch = new Float64Array(points * n);
    for (let p = 0; p < points; p++) {
      const vertex = p < points / 3;
      for (let i = 0; i < n; i++) {
        const t = vertex ? (next() < 0.5 ? 0 : 1) : next();
        batch[p * n + i] = box.lower[i] + t * (box.upper[i] - box.lower[i]);
      }
    }
    const out = evaluate(model.graph, batch, points, 'float64').get(model.graph.outputs[0].name)!;
    const classes = out.length / points;
    for (let p = 0; p < points; p++) {
      assert.equal(argmax(out.subarray(p * classes, (p + 1) * classes)), s.label, `sample ${s.index}: point ${p} of its certified ball changes the prediction`);
    }
    checked++;
  }
  return checked;
}

function assertConsistent(report: CertifyReport): void {
  const correct = report.samples.filter((s) => s.prediction === s.label).length;
  const certified = report.samples.filter((s) => s.certified).length;
  assert.equal(report.clean_accuracy, correct / report.count);
  assert.equal(report.certified_accuracy, certified / report.count);
  assert.ok(report.certified_accuracy <= report.clean_accuracy);
  for (const s of report.samples) {
    if (s.certified) {
      assert.equal(s.prediction, s.label, `sample ${s.index} is certified but misclassified`);
      assert.ok(s.margin_lower_min > 0, `sample ${s.index} is certified with margin lower bound ${s.margin_lower_min}`);
    } else if (s.prediction === s.label) assert.ok(s.margin_lower_min <= 0);
  }
}

test('MNIST with its true labels: certified ≤ clean, misclassified never certified, clipped to [0, 1]', async () => {
  const report = await certifyDataSet(fcSmall, mnist20, { eps: 0.01, workers: 1 });
  assertConsistent(report);
  assert.deepEqual(report.clip, [0, 1]);
  assert.equal(report.count, 20);
  assert.equal(report.method, 'crown');
  assert.deepEqual(report.samples.map((s) => s.index), [...Array(20).keys()]);
  assert.deepEqual(report.samples.map((s) => s.label), Array.from(mnist20.labels));
  assert.ok(report.samples.some((s) => s.prediction !== s.label), 'fc_small misclassifies some MNIST digits (it was trained on synthetic data)');
  assert.deepEqual(report.layers.map((l) => [l.name, l.size]), [['/2/Relu', 100], ['/4/Relu', 100]]);
  for (const l of report.layers) {
    assert.ok(Math.abs(l.unstable + l.active + l.inactive + l.grafted - l.size) < 1e-9);
    assert.ok(l.unstable > 0);
  }
  for (const s of report.samples) assert.equal(s.unstable.length, 2);
});

test('certificates are sound: no random point or vertex of a certified ball changes the prediction', async () => {
  const report = await certifyDataSet(fcSmall, selfLabelled, { eps: 0.01, workers: 1 });
  assertConsistent(report);
  assert.equal(report.clean_accuracy, 1);
  assert.ok(report.certified_accuracy > 0.2, `expected some certificates at eps 0.01, got ${report.certified_accuracy}`);
  const checked = assertCertificatesHold(fcSmall, selfLabelled, report, 300, testSeed('certify soundness'));
  assert.equal(checked, report.samples.filter((s) => s.certified).length);
});

test('IBP certifies a subset of what CROWN certifies, and is sound too', async () => {
  const ibp = await certifyDataSet(fcSmall, selfLabelled, { eps: 0.005, method: 'ibp', workers: 1 });
  const crown = await certifyDataSet(fcSmall, selfLabelled, { eps: 0.005, method: 'crown', workers: 1 });
  assertConsistent(ibp);
  assert.ok(ibp.certified_accuracy <= crown.certified_accuracy);
  assertCertificatesHold(fcSmall, selfLabelled, ibp, 100, 5);
});

test('the tiny MLP on a hand-made JSON data set: sound, mislabelled samples not certified', async () => {
  const report = await certifyDataSet(tiny, tinyData, { eps: 0.05, workers: 1 });
  assertConsistent(report);
  assert.equal(report.clean_accuracy, 14 / 16);
  for (const k of [3, 9]) assert.equal(report.samples[k].certified, false);
  assert.ok(report.certified_accuracy > 0, 'some samples should certify at eps 0.05');
  assertCertificatesHold(tiny, tinyData, report, 500, 3);
  // The hand-made inputs span less than [0, 1]; the default box is their observed range, --clip overrides it.
  assert.deepEqual(report.clip, tinyData.range);
  const wide = await certifyDataSet(tiny, tinyData, { eps: 0.05, clip: [-10, 10], workers: 1 });
  assert.deepEqual(wide.clip, [-10, 10]);
  assert.ok(wide.certified_accuracy <= report.certified_accuracy);
});

test('eps tiny: certified = clean; eps large: nothing certified', async () => {
  const small = await certifyDataSet(fcSmall, mnist20, { eps: 1e-7, workers: 1 });
  assert.equal(small.certified_accuracy, small.clean_accuracy);
  for (const l of small.layers) assert.equal(l.unstable, 0);
  const large = await certifyDataSet(fcSmall, mnist20, { eps: 0.5, method: 'ibp', workers: 1, count: 5 });
  assert.equal(large.certified_accuracy, 0);
  assert.equal(large.count, 5);
});

test('the same numbers with 1 and 2 workers', async () => {
  const one = await certifyDataSet(fcSmall, mnist20, { eps: 0.01, workers: 1 });
  const events: number[] = [];
  const two = await certifyDataSet(fcSmall, mnist20, { eps: 0.01, workers: 2, onProgress: (p) => events.push(p.done) });
  assert.equal(two.workers, 2);
  assert.equal(one.workers, 1);
  assert.deepEqual(two.samples, one.samples);
  assert.deepEqual(two.layers, one.layers);
  assert.equal(two.clean_accuracy, one.clean_accuracy);
  assert.equal(two.certified_accuracy, one.certified_accuracy);
  assert.deepEqual(events, [...Array(20).keys()].map((k) => k + 1));
  assert.equal(two.cancelled, false);
});

test('aborting stops the run and returns the samples done, marked cancelled', async () => {
  for (const workers of [1, 2]) {
    const controller = new AbortController();
    const report = await certifyDataSet(fcSmall, mnist20, {
      eps: 0.01,
      workers,
      signal: controller.signal,
      onProgress: (p) => p.done === 3 && controller.abort(),
    });
    assert.equal(report.cancelled, true, `workers ${workers}`);
    assert.ok(report.count >= 3 && report.count < 20, `workers ${workers}: ${report.count} samples done`);
    assert.equal(report.samples.length, report.count);
    const indices = report.samples.map((s) => s.index);
    assert.deepEqual(indices, [...indices].sort((a, b) => a - b));
  }
  const aborted = AbortSignal.abort();
  const none = await certifyDataSet(fcSmall, mnist20, { eps: 0.01, workers: 2, signal: aborted });
  assert.equal(none.cancelled, true);
  assert.equal(none.count, 0);
});

test('bad settings and mismatched data are one-sentence errors before any work', async () => {
  for (const eps of [0, -0.1, NaN, Infinity]) {
    await assert.rejects(certifyDataSet(fcSmall, mnist20, { eps }), (e: unknown) => e instanceof CertifySettingError && /^eps: /.test(e.message));
  }
  await assert.rejects(certifyDataSet(fcSmall, mnist20, { eps: 0.1, clip: [1, 0] }), CertifySettingError);
  await assert.rejects(certifyDataSet(fcSmall, tinyData, { eps: 0.1 }), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /has 4 values per sample .* the model expects 784/);
    return true;
  });
  await assert.rejects(certifyDataSet(tiny, mnist20, { eps: 0.1 }), DataError);
  const badLabels = join(scratch, 'bad-labels.json');
  writeFileSync(badLabels, JSON.stringify({ inputs: [[0, 0, 0, 0]], labels: [5] }));
  await assert.rejects(certifyDataSet(tiny, loadDataSet(badLabels), { eps: 0.1 }), (e: unknown) => e instanceof DataError && /only 2 outputs/.test(e.message));
  const spec = softmaxMlpSpec();
  const softmax = loadModelFile(writeModel(scratch, 'softmax.onnx', spec));
  await assert.rejects(certifyDataSet(softmax, tinyData, { eps: 0.1 }), (e: unknown) => e instanceof UnsupportedModelError && /Softmax/.test(e.message));
});

test('an in-memory model: workers decode the bytes given, or the run stays on one thread', async () => {
  const bytes = encodeModel(tinyMlpSpec(rng(7)));
  const inMemory = loadModelBytes(bytes, 'grafted (in memory)');
  const reference = await certifyDataSet(tiny, tinyData, { eps: 0.05, workers: 1 });
  const shipped = await certifyDataSet(inMemory, tinyData, { eps: 0.05, workers: 2, modelBytes: bytes });
  assert.equal(shipped.workers, 2);
  assert.deepEqual(shipped.samples, reference.samples);
  const fallback = await certifyDataSet(inMemory, tinyData, { eps: 0.05, workers: 2 });
  assert.equal(fallback.workers, 1);
  assert.deepEqual(fallback.samples, reference.samples);
});
