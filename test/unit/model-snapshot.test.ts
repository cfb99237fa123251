// A run notices that its model file changed on disk: content changes and deletion count, a touch with the same bytes does not.
import assert from 'node:assert/strict';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeModel } from '../../server/onnx/encode';
import { assertUnchanged, changedSince, ModelChangedError, snapshotModel } from '../../server/server/model-snapshot';
import { rng, tempDir, tinyMlpSpec } from '../helpers/onnx-models';

function modelFile(): string {
  const file = join(tempDir(), 'fc.onnx');
  writeFileSync(file, encodeModel(tinyMlpSpec(rng(1))));
  return file;
}

test('a snapshot is unchanged until the bytes change; a touch that keeps the bytes is not a change', () => {
  const file = modelFile();
  const snapshot = snapshotModel(file);
  assert.equal(changedSince(snapshot), false);
  const later = new Date(Date.now() + 5_000);
  utimesSync(file, later, later);
  assert.equal(changedSince(snapshot), false, 'a touch is not a change');
  writeFileSync(file, encodeModel(tinyMlpSpec(rng(2))));
  assert.equal(changedSince(snapshot), true);
  assert.throws(() => assertUnchanged(snapshot, 'certified'), (error: unknown) => {
    assert.ok(error instanceof ModelChangedError);
    assert.equal(error.sentence, 'fc.onnx changed on disk while it was being certified; the result was discarded — run Certify Model again');
    return true;
  });
});

test('a deleted model counts as changed; the sentence names the run and its command', () => {
  const file = modelFile();
  const snapshot = snapshotModel(file);
  rmSync(file);
  assert.equal(changedSince(snapshot), true);
  assert.throws(() => assertUnchanged(snapshot, 'verified'), /fc\.onnx changed on disk while it was being verified; the result was discarded — run Verify Property again/);
});
