// Cross-checks the awkward attribute combinations against onnxruntime-node on one-node models built with onnx-proto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { AttrValue } from '../../server/ir/graph';
import { run, int, ints, str, type TestInput } from './ops-harness';

function attributeProto(name: string, a: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int': return onnx.AttributeProto.create({ name, type: T.INT, i: a.value });
    case 'float': return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.value });
    case 'ints': return onnx.AttributeProto.create({ name, type: T.INTS, ints: [...a.value] });
    case 'floats': return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: [...a.value] });
    case 'string': return onnx.AttributeProto.create({ name, type: T.STRING, s: Buffer.from(a.value) });
    default: throw new Error(`attribute kind ${a.kind} not used in these tests`);
  }
}

/** Runs one node in onnxruntime: non-constant inputs are graph inputs (float32), constant ones initialisers. */
async function ortRun(opType: string, attrs: Record<string, AttrValue>, inputs: (TestInput | undefined)[], opset: number) {
  const names = inputs.map((i, k) => (i === undefined ? '' : `in${k}`));
  const node = onnx.NodeProto.create({
    opType, input: names, output: ['Y'],
    attribute: Object.entries(attrs).map(([n, a]) => attributeProto(n, a)),
  });
  const elemType = (i: TestInput) => (i.dtype === 'int64' ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT);
  const graphInputs = [];
  const initializer = [];
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, i] of inputs.entries()) {
    if (i === undefined) continue;
    if (i.constant) {
      initializer.push(
        i.dtype === 'int64'
          ? onnx.TensorProto.create({ name: names[k], dims: i.shape, dataType: elemType(i), int64Data: i.data })
          : onnx.TensorProto.create({ name: names[k], dims: i.shape, dataType: elemType(i), floatData: i.data }),
      );
    } else {
      graphInputs.push(onnx.ValueInfoProto.create({
        name: names[k],
        type: { tensorType: { elemType: elemType(i), shape: { dim: i.shape.map((d) => ({ dimValue: d })) } } },
      }));
      feeds[names[k]] = new ort.Tensor('float32', Float32Array.from(i.data), i.shape);
    }
  }
  const output = onnx.ValueInfoProto.create({ name: 'Y', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } });
  const graph = onnx.GraphProto.create({ name: 'g', node: [node], input: graphInputs, initializer, output: [output] });
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph });
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
  const result = (await session.run(feeds)).Y;
  return { dims: result.dims.map(Number), data: Array.from(result.data as Float32Array) };
}

/** Values exactly representable in float32, so both runtimes see the same inputs. */
function data(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 97 + i * 1.7) * 2));
}

async function check(title: string, opType: string, attrs: Record<string, AttrValue>, inputs: (TestInput | undefined)[], opset = 13) {
  const ours = run(opType, attrs, inputs, { opset });
  const ref = await ortRun(opType, attrs, inputs, opset);
  assert.deepEqual(ours.shapes[0], ref.dims, `${title}: shape`);
  for (let i = 0; i < ref.data.length; i++) {
    const tol = 1e-4 * Math.max(1, Math.abs(ref.data[i]));
    assert.ok(Math.abs(ours.values[0][i] - ref.data[i]) <= tol, `${title}: element ${i} is ${ours.values[0][i]}, onnxruntime gives ${ref.data[i]}`);
  }
}

const X = (shape: number[], seed = 1): TestInput => ({ shape, data: data(shape.reduce((p, q) => p * q, 1), seed) });
const W = (shape: number[], seed = 2): TestInput => ({ ...X(shape, seed), constant: true });

test('Conv matches onnxruntime: asymmetric pads, strides, dilations, groups, auto_pad, 1-D', async () => {
  await check('conv pads/stride/dilation/groups', 'Conv', { pads: ints([1, 0, 2, 1]), strides: ints([2, 1]), dilations: ints([1, 2]), group: int(2) }, [X([1, 4, 7, 6]), W([6, 2, 3, 2]), W([6], 3)]);
  await check('depthwise conv', 'Conv', { pads: ints([1, 1, 1, 1]), group: int(3) }, [X([2, 3, 5, 5]), W([3, 1, 3, 3])]);
  await check('conv SAME_UPPER stride 2', 'Conv', { auto_pad: str('SAME_UPPER'), strides: ints([2, 2]) }, [X([1, 2, 7, 5]), W([3, 2, 4, 2])]);
  await check('conv SAME_LOWER stride 2', 'Conv', { auto_pad: str('SAME_LOWER'), strides: ints([2, 2]) }, [X([1, 2, 7, 5]), W([3, 2, 4, 2])]);
  await check('conv VALID', 'Conv', { auto_pad: str('VALID'), strides: ints([2, 3]) }, [X([1, 1, 7, 8]), W([2, 1, 2, 3])]);
  await check('conv 1-D', 'Conv', { pads: ints([2, 1]), strides: ints([2]), dilations: ints([2]) }, [X([1, 3, 11]), W([4, 3, 3]), W([4], 5)]);
});

test('ConvTranspose matches onnxruntime: output_padding, pads, dilations, groups, output_shape, auto_pad', async () => {
  await check('convT output_padding', 'ConvTranspose', { strides: ints([2, 3]), output_padding: ints([1, 2]), pads: ints([1, 0, 0, 1]) }, [X([1, 2, 3, 4]), W([2, 3, 3, 3]), W([3], 4)]);
  await check('convT dilations groups', 'ConvTranspose', { strides: ints([2, 1]), dilations: ints([2, 2]), group: int(2) }, [X([2, 4, 3, 3]), W([4, 1, 2, 3])]);
  await check('convT output_shape', 'ConvTranspose', { strides: ints([2, 2]), output_shape: ints([8, 9]) }, [X([1, 1, 4, 4]), W([1, 2, 3, 3])]);
  await check('convT SAME_UPPER', 'ConvTranspose', { strides: ints([2, 2]), auto_pad: str('SAME_UPPER') }, [X([1, 1, 3, 3]), W([1, 1, 4, 3])]);
  await check('convT SAME_LOWER', 'ConvTranspose', { strides: ints([2, 2]), auto_pad: str('SAME_LOWER') }, [X([1, 1, 3, 3]), W([1, 1, 4, 3])]);
  await check('convT 1-D', 'ConvTranspose', { strides: ints([3]), pads: ints([1, 2]) }, [X([1, 2, 5]), W([2, 2, 4])]);
});

test('pools match onnxruntime: ceil_mode, count_include_pad both ways, dilations', async () => {
  for (const include of [0, 1]) {
    await check(`avgpool include=${include}`, 'AveragePool', { kernel_shape: ints([3, 2]), pads: ints([1, 1, 1, 0]), strides: ints([2, 2]), count_include_pad: int(include) }, [X([1, 2, 6, 5])]);
    await check(`avgpool ceil include=${include}`, 'AveragePool', { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), strides: ints([2, 2]), ceil_mode: int(1), count_include_pad: int(include) }, [X([1, 1, 6, 6])]);
  }
  await check('avgpool SAME_UPPER', 'AveragePool', { kernel_shape: ints([3, 3]), strides: ints([2, 2]), auto_pad: str('SAME_UPPER') }, [X([1, 1, 5, 6])]);
  await check('maxpool ceil dilations', 'MaxPool', { kernel_shape: ints([2, 2]), pads: ints([0, 1, 1, 0]), strides: ints([2, 2]), dilations: ints([2, 1]), ceil_mode: int(1) }, [X([1, 2, 7, 6])]);
  await check('maxpool 1-D', 'MaxPool', { kernel_shape: ints([3]), strides: ints([2]), pads: ints([1, 1]) }, [X([1, 2, 8])]);
});

test('Softmax axis semantics match onnxruntime at opsets 11 and 13', async () => {
  await check('softmax opset 11 axis 1', 'Softmax', { axis: int(1) }, [X([2, 3, 4])], 11);
  await check('softmax opset 13 axis 1', 'Softmax', { axis: int(1) }, [X([2, 3, 4])], 13);
  await check('softmax opset 11 default', 'Softmax', {}, [X([2, 3, 4])], 11);
});

test('layout ops match onnxruntime: Slice negative steps, Pad modes, Gather', async () => {
  const i64 = (shape: number[], values: number[]): TestInput => ({ shape, data: values, constant: true, dtype: 'int64' });
  await check('slice negative step', 'Slice', {}, [X([4, 6]), i64([2], [-1, 5]), i64([2], [-9223372036854775807, 0]), i64([2], [1, 0]), i64([2], [-1, -2])]);
  await check('pad reflect', 'Pad', { mode: str('reflect') }, [X([1, 2, 4, 3]), i64([8], [0, 0, 2, 1, 0, 0, 1, 2])]);
  await check('pad edge with crop', 'Pad', { mode: str('edge') }, [X([1, 2, 4, 3]), i64([8], [0, 0, 2, -1, 0, 0, -1, 3])]);
  await check('gather negative', 'Gather', { axis: int(1) }, [X([2, 5, 3]), i64([2, 2], [-1, 0, 3, -2])]);
});
