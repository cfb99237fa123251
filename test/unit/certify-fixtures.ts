// Models shared by the certify-* tests.
import type { ModelSpec } from '../../server/onnx/encode';
import { rng, tinyMlpSpec } from '../helpers/onnx-models';

/** The tiny MLP with a Softmax on its output: loads and runs, but no bound method supports Softmax. */
export function softmaxMlpSpec(): ModelSpec {
  const spec = tinyMlpSpec(rng(7));
  const nodes = spec.nodes.map((n, i) => (i === spec.nodes.length - 1 ? { ...n, outputs: ['logits'] } : n));
  return { ...spec, nodes: [...nodes, { opType: 'Softmax', inputs: ['logits'], outputs: ['y'], name: 'softmax' }] };
}
