// Empirical accuracies of a trainable network in tfjs: clean and under PGD at ε (an upper bound on robust accuracy).
import * as tf from '@tensorflow/tfjs';
import { correct } from '../tensor/tfjs';
import { pgd } from './adversarial';
import type { TrainableNetwork } from './network';
import type { Samples } from './score';

export interface EmpiricalAccuracy {
  clean: number;
  /** Correct both clean and after PGD; undefined when no attack was run. */
  pgd?: number;
  count: number;
}

export interface EmpiricalOptions {
  eps: number;
  /** PGD steps (α = 2.5·ε/steps, random start); 0 skips the attack. Default 20. */
  pgdSteps?: number;
  range?: readonly [number, number];
  seed?: number;
  batchSize?: number;
}

export async function empiricalAccuracy(net: TrainableNetwork, samples: Samples, options: EmpiricalOptions): Promise<EmpiricalAccuracy> {
  const steps = options.pgdSteps ?? 20;
  const batchSize = options.batchSize ?? 500;
  const size = samples.inputs.length / Math.max(1, samples.count);
  let clean = 0;
  let robust = 0;
  for (let start = 0, batch = 0; start < samples.count; start += batchSize, batch++) {
    const b = Math.min(batchSize, samples.count - start);
    const x = tf.tensor2d(samples.inputs.subarray(start * size, (start + b) * size), [b, size]);
    const y = tf.tensor1d(samples.labels.subarray(start, start + b), 'int32');
    const ok = tf.tidy(() => correct(net.logits(x), y));
    clean += await readScalar(tf.tidy(() => ok.sum()));
    if (steps > 0 && options.eps > 0) {
      const adv = pgd((t) => net.logits(t), x, y, { eps: options.eps, steps, range: options.range, seed: (options.seed ?? 12345) + batch });
      robust += await readScalar(tf.tidy(() => tf.logicalAnd(ok, correct(net.logits(adv), y)).sum()));
      adv.dispose();
    }
    tf.dispose([x, y, ok]);
  }
  const n = Math.max(1, samples.count);
  return steps > 0 && options.eps > 0 ? { clean: clean / n, pgd: robust / n, count: samples.count } : { clean: clean / n, count: samples.count };
}

/** A scalar's value, read asynchronously (every backend, webgpu included), and the tensor disposed. */
export async function readScalar(t: tf.Tensor): Promise<number> {
  try {
    return (await t.data())[0];
  } finally {
    t.dispose();
  }
}
