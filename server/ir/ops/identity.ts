// Identity, and Dropout in inference (identity, with an all-true mask when the mask output is asked for).
import { OpError, type OpDef } from './types';
import { copySamples, operandType, requireInput, sizeOf } from './util';

export const Identity: OpDef = {
  opType: 'Identity',
  inferShapes(node, inputs) {
    const x = requireInput(node, inputs, 0, 'input');
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  forward(node, inputs, _outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'input');
    return [copySamples(x, operandType(x), precision, batch)];
  },
};

export const Dropout: OpDef = {
  opType: 'Dropout',
  inferShapes(node, inputs, opset) {
    const x = requireInput(node, inputs, 0, 'data');
    // From opset 12 training_mode is input 2; a constant true means random masking, which a verifier cannot model.
    const training = opset >= 12 ? inputs[2] : undefined;
    if (training !== undefined && (training.constant === undefined || training.constant.data[0] !== 0)) {
      throw new OpError(`Dropout in training mode is not supported; export the model in eval mode (node '${node.name}')`);
    }
    const outs = [{ shape: [...x.shape], dtype: x.dtype }];
    if (node.outputs.length > 1) outs.push({ shape: [...x.shape], dtype: opset >= 10 ? 'bool' : x.dtype });
    return outs;
  },
  forward(node, inputs, outputShapes, batch, precision) {
    const x = requireInput(node, inputs, 0, 'data');
    const outs = [copySamples(x, operandType(x), precision, batch)];
    if (outputShapes.length > 1) outs.push(new Float64Array(batch * sizeOf(outputShapes[1])).fill(1));
    return outs;
  },
};
