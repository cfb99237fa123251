// Decoding: bad bytes become one sentence; every tensor storage (typed fields, raw_data, external) reads the same values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { decodeModelProto, decodeTensor, halfToNumber } from '../../server/onnx/decode';
import { encodeModel, numberToHalf, tensorBytes, tensorProto, type TensorSpec } from '../../server/onnx/encode';
import { ModelError } from '../../server/onnx/errors';
import { loadModelBytes, loadModelFile } from '../../server/onnx/load';
import { rng, tempDir, tinyMlpSpec, writeModel } from '../helpers/onnx-models';

function modelError(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ModelError, `expected a ModelError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ModelError, nothing was thrown');
}

/** One sentence: a single line starting with the file name and ending with a full stop. */
function assertSentence(err: ModelError, file: string): void {
  assert.ok(err.message.startsWith(`${file}: `), err.message);
  assert.ok(!err.message.includes('\n'), err.message);
  assert.match(err.message, /\.$/);
}

test('a truncated model is reported as truncated, in one sentence', () => {
  const bytes = encodeModel(tinyMlpSpec());
  for (const keep of [0.5, 0.9]) {
    const err = modelError(() => loadModelBytes(bytes.subarray(0, Math.floor(bytes.length * keep)), 'mlp.onnx'));
    assertSentence(err, 'mlp.onnx');
    assert.match(err.message, /truncated/);
  }
});

test('non-ONNX content is recognised by its bytes, whatever the extension', () => {
  const json = modelError(() => loadModelBytes(Buffer.from('{"inputs": [[0.5, 0.25]], "labels": [1]}'), 'data.onnx'));
  assertSentence(json, 'data.onnx');
  assert.match(json.message, /not an ONNX model \(it looks like a JSON file\)/);

  const text = modelError(() => loadModelBytes(Buffer.from('(declare-const X_0 Real)\n(assert (<= X_0 1.0))\n'), 'prop.onnx'));
  assert.match(text.message, /not an ONNX model/);

  const empty = modelError(() => loadModelBytes(new Uint8Array(0), 'empty.onnx'));
  assert.match(empty.message, /empty/);

  // A PNG header: binary, not protobuf.
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0]);
  const binary = modelError(() => loadModelBytes(png, 'image.onnx'));
  assertSentence(binary, 'image.onnx');
  assert.match(binary.message, /not an ONNX model|corrupt|truncated/);
});

test('a missing model file is a ModelError naming the file', () => {
  const err = modelError(() => loadModelFile('/nonexistent/dir/model.onnx'));
  assert.match(err.message, /^model\.onnx: does not exist/);
});

const ctx = { file: 'm.onnx' };
const roundTrip = (spec: TensorSpec) => decodeTensor(onnx.TensorProto.decode(onnx.TensorProto.encode(tensorProto(spec)).finish()), ctx);

test('raw_data and typed fields decode to the same values for every numeric type', () => {
  const cases: { dtype: TensorSpec['dtype']; data: number[] }[] = [
    { dtype: 'float32', data: [0.5, -1.25, 2 ** -25, 65504] },
    { dtype: 'float64', data: [Math.PI, -1e-300, 1e300, 0] },
    { dtype: 'float16', data: [0.5, -2, 65504, 6.103515625e-5] },
    { dtype: 'int8', data: [-128, 127, 0, -1] },
    { dtype: 'uint8', data: [0, 255, 7, 128] },
    { dtype: 'int16', data: [-32768, 32767, 5, -5] },
    { dtype: 'int32', data: [-2147483648, 2147483647, 0, 42] },
    { dtype: 'int64', data: [-(2 ** 53) + 1, 2 ** 53 - 1, -1, 0] },
    { dtype: 'bool', data: [1, 0, 0, 1] },
  ];
  for (const c of cases) {
    const spec = { name: `t_${c.dtype}`, dims: [2, 2], dtype: c.dtype, data: c.data };
    const raw = roundTrip({ ...spec, storage: 'raw' });
    const typed = roundTrip({ ...spec, storage: 'typed' });
    assert.deepEqual([...raw.data], c.data, `${c.dtype} raw_data`);
    assert.deepEqual([...typed.data], c.data, `${c.dtype} typed fields`);
    assert.deepEqual(raw.dims, [2, 2]);
    assert.equal(raw.dtype, c.dtype);
  }
  // float32 storage rounds: 0.1 comes back as the nearest float32.
  assert.equal(roundTrip({ name: 'r', dims: [1], data: [0.1] }).data[0], Math.fround(0.1));
});

test('int64 values arrive as Long objects and are converted exactly (dims too)', () => {
  const big = 2 ** 40 + 3;
  const proto = onnx.TensorProto.decode(
    onnx.TensorProto.encode({ name: 'shape', dims: [3], dataType: 7, int64Data: [big, -big, 9007199254740991] }).finish(),
  );
  assert.equal(typeof proto.int64Data[0], 'object', 'protobufjs should hand out Long objects');
  assert.equal(typeof proto.dims[0], 'object');
  assert.deepEqual([...decodeTensor(proto, ctx).data], [big, -big, 9007199254740991]);
  // INT64_MAX / INT64_MIN, the Slice "to the end" sentinels, survive as huge numbers of the right sign.
  for (const storage of ['raw', 'typed'] as const) {
    const ends = roundTrip({ name: 'e', dims: [2], dtype: 'int64', data: [2 ** 63, -(2 ** 63)], storage });
    assert.deepEqual([...ends.data], [2 ** 63, -(2 ** 63)], storage);
  }
});

test('scalars and empty tensors', () => {
  const scalar = roundTrip({ name: 's', dims: [], data: [2.5] });
  assert.deepEqual(scalar.dims, []);
  assert.deepEqual([...scalar.data], [2.5]);
  const empty = roundTrip({ name: 'e', dims: [0, 3], data: [] });
  assert.deepEqual(empty.dims, [0, 3]);
  assert.equal(empty.data.length, 0);
  const emptyTyped = roundTrip({ name: 'e', dims: [0], dtype: 'int64', data: [], storage: 'typed' });
  assert.equal(emptyTyped.data.length, 0);
});

test('float16 conversion is exact on representable values and rounds to nearest', () => {
  for (const v of [0, -0, 1, -1, 0.333251953125, 2 ** -24, 65504]) assert.equal(halfToNumber(numberToHalf(v)), v);
  assert.equal(halfToNumber(numberToHalf(1 + 2 ** -11)), 1); // ties go to even
  assert.equal(halfToNumber(numberToHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  assert.equal(halfToNumber(numberToHalf(1 + 2 ** -11 + 2 ** -20)), 1 + 2 ** -10);
  assert.equal(halfToNumber(numberToHalf(1e6)), Infinity);
});

test('raw data whose length does not match the shape is an error naming the tensor', () => {
  const proto = tensorProto({ name: 'W', dims: [2, 2], data: [1, 2, 3, 4] });
  proto.dims = [3, 2];
  const err = modelError(() => decodeTensor(proto, ctx, "initialiser 'W'"));
  assert.match(err.message, /initialiser 'W' holds 16 bytes of raw data but its shape needs 6 × 4 = 24/);
});

test('NaN or Inf in weights is an error naming the tensor', () => {
  const spec = tinyMlpSpec();
  (spec.initializers![2].data as Float32Array)[4] = NaN;
  const err = modelError(() => loadModelBytes(encodeModel(spec), 'nan.onnx'));
  assertSentence(err, 'nan.onnx');
  assert.match(err.message, /initialiser 'W2' contains NaN \(element 4 of 6\)/);

  const inf = tinyMlpSpec();
  (inf.initializers![1].data as Float32Array)[0] = -Infinity;
  assert.match(modelError(() => loadModelBytes(encodeModel(inf), 'inf.onnx')).message, /initialiser 'b1' contains -Inf/);
});

test('external data next to the model loads; offsets are honoured', () => {
  const dir = tempDir();
  const spec = tinyMlpSpec();
  const [W1, b1] = spec.initializers!;
  const w1Bytes = tensorBytes(W1);
  const b1Bytes = tensorBytes(b1);
  const pad = new Uint8Array(8).fill(0xff); // garbage before b1: offset must skip it
  mkdirSync(join(dir, 'weights'));
  writeFileSync(join(dir, 'weights', 'mlp.bin'), Buffer.concat([w1Bytes, pad, b1Bytes]));
  spec.initializers = [
    { ...W1, storage: { external: { location: 'weights/mlp.bin', offset: 0 } } },
    { ...b1, storage: { external: { location: 'weights/mlp.bin', offset: w1Bytes.length + pad.length } } },
    ...spec.initializers!.slice(2),
  ];
  const model = loadModelFile(writeModel(dir, 'mlp.onnx', spec));
  assert.deepEqual([...model.graph.constants.get('W1')!.data], Array.from(W1.data));
  assert.deepEqual([...model.graph.constants.get('b1')!.data], Array.from(b1.data));
});

test('a missing external weights file is a clear error; paths may not leave the model folder', () => {
  const dir = tempDir();
  const spec = tinyMlpSpec();
  spec.initializers = [{ ...spec.initializers![0], storage: { external: { location: 'mlp.bin' } } }, ...spec.initializers!.slice(1)];
  const err = modelError(() => loadModelFile(writeModel(dir, 'mlp.onnx', spec)));
  assertSentence(err, 'mlp.onnx');
  assert.match(err.message, /initialiser 'W1' keeps its weights in 'mlp\.bin', which is missing from /);

  const escape = tinyMlpSpec();
  escape.initializers = [{ ...escape.initializers![0], storage: { external: { location: '../../etc/passwd' } } }, ...escape.initializers!.slice(1)];
  const esc = modelError(() => loadModelFile(writeModel(dir, 'escape.onnx', escape)));
  assert.match(esc.message, /outside the model's folder/);
});

test('decodeModelProto keeps what the file says', () => {
  const model = decodeModelProto(encodeModel({ ...tinyMlpSpec(), opset: 11, irVersion: 6, producer: 'pytorch' }), 'x.onnx');
  assert.equal(Number(model.irVersion), 6);
  assert.equal(model.producerName, 'pytorch');
  assert.equal(model.graph?.node?.length, 3);
});

test('truncated or bit-flipped files fail with a ModelError, never another exception', () => {
  const bytes = encodeModel(tinyMlpSpec());
  const next = rng(11);
  let failures = 0;
  for (let k = 0; k < 400; k++) {
    let b: Uint8Array;
    if (k < 150) b = bytes.subarray(0, Math.floor(next() * bytes.length));
    else {
      b = Uint8Array.from(bytes);
      for (let j = 0; j <= k % 4; j++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
    }
    try {
      loadModelBytes(b, 'fuzz.onnx');
    } catch (err) {
      if (!(err instanceof ModelError)) assert.fail(`case ${k}: ${(err as Error).stack}`);
      assert.ok(!err.message.includes('\n'), `case ${k}: one line`);
      failures++;
    }
  }
  assert.ok(failures > 150, `most damaged files should fail, ${failures} did`);
});
