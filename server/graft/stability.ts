// The ReLU-stability regulariser (Xiao et al., ICLR 2019) on IBP bounds at ε: pushes each remaining unstable
// neuron's interval [l, u] off zero, so fewer neurons stay unstable after fine-tuning. Grafted neurons are left out.
import * as tf from '@tensorflow/tfjs';
import type { TrainableNetwork } from './network';

/**
 * Mean over the batch of Σ_j −tanh(1 + l_j·u_j) over the ungrafted ReLU neurons (l·u < 0 exactly when unstable;
 * the loss is near −tanh(1) for stable neurons and its gradient pushes l·u up). Use inside tf.tidy.
 */
export function stabilityLoss(net: TrainableNetwork, x: tf.Tensor, eps: number, range: readonly [number, number] = [0, 1]): tf.Scalar {
  const lower = tf.clipByValue(x.sub(eps), range[0], range[1]);
  const upper = tf.clipByValue(x.add(eps), range[0], range[1]);
  const bounds = net.intervalPreActivations(lower, upper);
  let total: tf.Tensor = tf.scalar(0);
  bounds.forEach(({ lower: l, upper: u }, layer) => {
    let term = tf.tanh(l.mul(u).add(1)).neg();
    const keep = net.graftKeep(layer);
    if (keep !== undefined) term = term.mul(keep.reshape([1, -1]));
    total = total.add(term.sum(1).mean());
  });
  return total as tf.Scalar;
}
