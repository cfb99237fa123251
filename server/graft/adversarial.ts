// L∞ attacks on the cross-entropy loss in tfjs: FGSM with random start (fast adversarial training) and PGD.
import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from '../tensor/tfjs';

/** Anything that maps a batch [B, ...] to logits [B, C] differentiably (a TrainableNetwork's `logits`). */
export type LogitsFn = (x: tf.Tensor) => tf.Tensor;

export interface AttackOptions {
  /** L∞ radius. */
  readonly eps: number;
  /** Valid input range the examples are clipped to; default [0, 1]. */
  readonly range?: readonly [number, number];
  /**
   * Seed of the random start. The same seed gives the same noise, so callers that attack many batches pass
   * a different seed per batch (e.g. base + step); undefined draws fresh noise.
   */
  readonly seed?: number;
}

export interface FgsmOptions extends AttackOptions {
  /** Step as a multiple of eps (Wong et al. 2020 use 1.25). */
  readonly stepRatio?: number;
}

export interface PgdOptions extends AttackOptions {
  readonly steps: number;
  /** Step size; default 2.5·eps/steps (Madry et al.). */
  readonly alpha?: number;
  /** Start at a random point of the ball (default true) or at the clean input. */
  readonly randomStart?: boolean;
}

function clipToBall(xAdv: tf.Tensor, x: tf.Tensor, eps: number, range: readonly [number, number]): tf.Tensor {
  return tf.clipByValue(tf.minimum(tf.maximum(xAdv, x.sub(eps)), x.add(eps)), range[0], range[1]);
}

function randomStart(x: tf.Tensor, eps: number, range: readonly [number, number], seed: number | undefined): tf.Tensor {
  return clipToBall(x.add(tf.randomUniform(x.shape, -eps, eps, 'float32', seed)), x, eps, range);
}

function lossGradient(logitsFn: LogitsFn, labels: tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return tf.grad((x: tf.Tensor) => crossEntropy(logitsFn(x), labels));
}

/**
 * FGSM with random start: δ ~ U[−ε, ε], one signed-gradient step of stepRatio·ε, projection onto the ε-ball
 * around x and onto the data range. Returns a new tensor (no gradient history) the caller disposes.
 */
export function fgsmRandomStart(logitsFn: LogitsFn, x: tf.Tensor, labels: tf.Tensor, options: FgsmOptions): tf.Tensor {
  const range = options.range ?? [0, 1];
  const step = (options.stepRatio ?? 1.25) * options.eps;
  return tf.tidy(() => {
    if (options.eps <= 0) return x.clone();
    const start = randomStart(x, options.eps, range, options.seed);
    const g = lossGradient(logitsFn, labels)(start);
    return clipToBall(start.add(tf.sign(g).mul(step)), x, options.eps, range);
  });
}

/**
 * PGD: `steps` signed-gradient steps of size alpha, each projected onto the ε-ball and the data range. A sample
 * keeps the first iterate that is misclassified (so the result is at least as strong as any single iterate).
 */
export function pgd(logitsFn: LogitsFn, x: tf.Tensor, labels: tf.Tensor, options: PgdOptions): tf.Tensor {
  const range = options.range ?? [0, 1];
  const alpha = options.alpha ?? (2.5 * options.eps) / Math.max(1, options.steps);
  const grad = lossGradient(logitsFn, labels);
  const y = labels.toInt();
  let current = options.randomStart === false ? x.clone() : tf.tidy(() => randomStart(x, options.eps, range, options.seed));
  // found[i]: sample i already fooled by `best[i]`.
  let best = current.clone();
  let found = tf.zeros([x.shape[0]], 'bool') as tf.Tensor1D;
  const sampleMask = (m: tf.Tensor): tf.Tensor => m.reshape([x.shape[0], ...new Array<number>(x.rank - 1).fill(1)]);
  const record = (candidate: tf.Tensor): void => {
    const [nextBest, nextFound] = tf.tidy(() => {
      const fooled = tf.notEqual(tf.argMax(logitsFn(candidate), -1), y);
      const take = tf.logicalAnd(fooled, tf.logicalNot(found));
      return [tf.where(sampleMask(take), candidate, best), tf.logicalOr(found, fooled)];
    });
    best.dispose();
    found.dispose();
    best = nextBest;
    found = nextFound as tf.Tensor1D;
  };
  try {
    if (options.eps <= 0) return x.clone();
    record(current);
    for (let k = 0; k < options.steps; k++) {
      const next = tf.tidy(() => clipToBall(current.add(tf.sign(grad(current)).mul(alpha)), x, options.eps, range));
      current.dispose();
      current = next;
      record(current);
    }
    return tf.tidy(() => tf.where(sampleMask(found), best, current));
  } finally {
    tf.dispose([current, best, found, y]);
  }
}
