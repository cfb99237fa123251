// The Robustness Report model: validation of picked files, totals, image layouts, builders from protocol results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BoundsReport, CertifyReport, GraftReport } from '../../server/protocol/requests';
import { reportFromBounds, reportFromCertify, withBounds, withCertify, withGraft } from '../../server/report/build';
import { emptyReport, imageLayout, methodsPresent, parseReport, reportKind, unstableTotals } from '../../server/report/model';
import { boundsOnlyReport, fullReport } from './report-fixtures';

test('parseReport accepts a report and its JSON round trip', () => {
  const report = fullReport();
  assert.deepEqual(parseReport(JSON.parse(JSON.stringify(report))), report);
  assert.deepEqual(parseReport(emptyReport('m.onnx')), { kind: reportKind, version: 1, model: 'm.onnx' });
});

test('parseReport rejects other JSON with one sentence naming what is wrong', () => {
  assert.throws(() => parseReport([1, 2]), /not a JSON object/);
  assert.throws(() => parseReport({ method: 'crown', layers: [] }), /not a graftcert Robustness Report/);
  assert.throws(() => parseReport({ ...emptyReport('m'), version: 2 }), /version 2 report; this graftcert reads version 1/);
  assert.throws(() => parseReport({ ...emptyReport('m'), layers: {} }), /"layers" is not an array/);
  assert.throws(() => parseReport({ ...emptyReport('m'), ratioSweep: { points: 3 } }), /"ratioSweep.points" is not an array/);
  const bad = { ...emptyReport('m'), counterexamples: [{ shape: [2, 2], original: [0, 0, 0, 0], adversarial: [0, 0, 0] }] };
  assert.throws(() => parseReport(bad), /counterexample 0 does not have 4 values/);
});

test('unstableTotals sums each method over layers, only when every layer has it', () => {
  const report = fullReport();
  assert.deepEqual(unstableTotals(report.layers!, 'before'), { ibp: 293, crown: 168, 'alpha-crown': 139 });
  assert.deepEqual(unstableTotals(report.layers!, 'after'), { ibp: 132, crown: 41, 'alpha-crown': 26 });
  const partial = [{ name: 'a', size: 3, before: { ibp: 1, crown: 1 } }, { name: 'b', size: 3, before: { ibp: 2 } }];
  assert.deepEqual(unstableTotals(partial, 'before'), { ibp: 3 });
  assert.deepEqual(unstableTotals(partial, 'after'), {});
  assert.deepEqual(methodsPresent(partial), ['ibp', 'crown']);
});

test('imageLayout recognises grayscale and RGB shapes in both channel orders, and nothing else', () => {
  assert.deepEqual(imageLayout([1, 1, 28, 28]), { height: 28, width: 28, channels: 1, channelsLast: false });
  assert.deepEqual(imageLayout([28, 28]), { height: 28, width: 28, channels: 1, channelsLast: false });
  assert.deepEqual(imageLayout([3, 32, 16]), { height: 32, width: 16, channels: 3, channelsLast: false });
  assert.deepEqual(imageLayout([1, 32, 16, 3]), { height: 32, width: 16, channels: 3, channelsLast: true });
  assert.equal(imageLayout([1, 5]), null);
  assert.equal(imageLayout([784]), null);
  assert.equal(imageLayout([4, 8, 8]), null);
});

const layersA = [
  { name: 'relu1', size: 4, unstable: 3, active: 1, inactive: 0, grafted: 0 },
  { name: 'relu2', size: 2, unstable: 1, active: 0, inactive: 1, grafted: 0 },
];

function bounds(method: BoundsReport['method'], unstable: number[]): BoundsReport {
  return {
    method,
    eps: 0.05,
    output: { lower: [0], upper: [1] },
    margin: null,
    layers: layersA.map((layer, i) => ({ ...layer, unstable: unstable[i] })),
    time_s: 0.5,
  };
}

test('reportFromBounds keeps one count per method and layer, in graph order', () => {
  const report = reportFromBounds('/models/fc.onnx', [bounds('ibp', [4, 2]), bounds('crown', [3, 1]), bounds('alpha-crown', [2, 1])]);
  assert.equal(report.model, 'fc.onnx');
  assert.equal(report.eps, 0.05);
  assert.deepEqual(report.layers, [
    { name: 'relu1', size: 4, before: { ibp: 4, crown: 3, 'alpha-crown': 2 } },
    { name: 'relu2', size: 2, before: { ibp: 2, crown: 1, 'alpha-crown': 1 } },
  ]);
  assert.equal(report.timings?.length, 3);
  assert.deepEqual(parseReport(JSON.parse(JSON.stringify(report))), report);
});

test('certify and graft results compose into a before/after report', () => {
  const certify = (clean: number, certified: number, unstable: number[]): CertifyReport => ({
    model: '/m/fc.onnx', data: 'mnist', eps: 0.05, method: 'crown', count: 100, offset: 0, clip: [0, 1],
    clean_accuracy: clean, certified_accuracy: certified,
    layers: layersA.map((layer, i) => ({ ...layer, unstable: unstable[i] })),
    samples: [], time_s: 10, samples_per_s: 10, workers: 2, cancelled: false,
  });
  const graft: GraftReport = {
    out: '/m/fc.grafted.onnx', eps: 0.05, ratio: 0.5, grafted: 3,
    layers: layersA.map((layer, i) => ({ ...layer, grafted: [2, 1][i] })),
    cleanAccuracyBefore: 0.97, cleanAccuracyAfter: 0.95, unstableBefore: 4, unstableAfter: 1, time_s: 30,
  };
  let report = reportFromCertify(certify(0.97, 0.4, [3, 1]));
  report = withGraft(report, graft);
  report = withCertify(report, { ...certify(0.95, 0.8, [1, 0]), cancelled: true, count: 60 }, 'after');
  report = withBounds(report, bounds('ibp', [4, 2]), 'before');
  assert.equal(report.graftedModel, 'fc.grafted.onnx');
  assert.equal(report.ratio, 0.5);
  assert.deepEqual(report.accuracy, {
    before: { clean: 0.97, certified: 0.4, count: 100 },
    after: { clean: 0.95, certified: 0.8, count: 60 },
  });
  assert.deepEqual(report.layers, [
    { name: 'relu1', size: 4, grafted: 2, before: { crown: 3, ibp: 4 }, after: { crown: 1 } },
    { name: 'relu2', size: 2, grafted: 1, before: { crown: 1, ibp: 2 }, after: { crown: 0 } },
  ]);
  assert.deepEqual(report.notes, ["The grafted model's certify run was cancelled after 60 samples."]);
  assert.deepEqual(report.timings?.map((t) => t.seconds), [10, 30, 10, 0.5]);
});

test('a bounds-only fixture has no accuracy, sweep or counterexample sections', () => {
  const report = boundsOnlyReport();
  assert.equal(report.accuracy, undefined);
  assert.equal(report.ratioSweep, undefined);
  assert.equal(report.counterexamples, undefined);
});
