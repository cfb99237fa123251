// Small tfjs helpers shared by training code: cross-entropy, accuracy, batched prediction, a seeded PRNG.
import * as tf from '@tensorflow/tfjs';
import { seededRandom } from './random';

export { seededRandom };

/** Mean softmax cross-entropy of logits [B, C] against integer labels [B]. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.shape.length - 1];
    const oneHot = tf.oneHot(labels.toInt() as tf.Tensor1D, classes);
    return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
  });
}

/** Per-sample "predicted class equals label" of logits [B, C], as a bool tensor [B]. */
export function correct(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.equal(tf.argMax(logits, -1), labels.toInt()) as tf.Tensor1D);
}

/**
 * Runs `fn` over `count` samples of a flat Float32Array (samples of `sampleShape` back to back) in batches,
 * giving each batch as a tensor [b, ...sampleShape] with its labels; the tensors are disposed afterwards.
 */
export async function forEachBatch(
  inputs: Float32Array,
  labels: Int32Array,
  sampleShape: readonly number[],
  batchSize: number,
  fn: (x: tf.Tensor, y: tf.Tensor1D, offset: number) => Promise<void> | void,
  count = labels.length,
): Promise<void> {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  for (let start = 0; start < count; start += batchSize) {
    const b = Math.min(batchSize, count - start);
    const x = tf.tensor(inputs.subarray(start * size, (start + b) * size), [b, ...sampleShape], 'float32');
    const y = tf.tensor1d(labels.subarray(start, start + b), 'int32');
    try {
      await fn(x, y, start);
    } finally {
      x.dispose();
      y.dispose();
    }
  }
}


/** Standard normal samples from a uniform generator (Box–Muller). */
export function seededNormal(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** A Fisher–Yates permutation of 0..n-1 from a uniform generator. */
export function shuffledIndices(n: number, uniform: () => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

function transposeLastTwo(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return tf.transpose(x, perm);
}

/** a·b with the transposes done as explicit Transpose ops, so the product itself runs untransposed. */
function matMulExplicit(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  return tf.matMul(transposeA ? transposeLastTwo(a) : a, transposeB ? transposeLastTwo(b) : b);
}

/**
 * The BatchMatMul gradient of tfjs-core, with every transposed product rewritten as Transpose + plain MatMul.
 * The wasm backend runs only untransposed products through XNNPACK; its transposed-operand path is a naive loop
 * 5–15× slower, and backpropagation through a dense layer needs two such products.
 */
const transposeFreeMatMulGradient: tf.GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const g = dy as tf.Tensor;
    if (!transposeA && !transposeB) return { a: () => matMulExplicit(g, b, false, true), b: () => matMulExplicit(a, g, true, false) };
    if (!transposeA && transposeB) return { a: () => matMulExplicit(g, b, false, false), b: () => matMulExplicit(g, a, true, false) };
    if (transposeA && !transposeB) return { a: () => matMulExplicit(b, g, false, true), b: () => matMulExplicit(a, g, false, false) };
    return { a: () => matMulExplicit(b, g, true, true), b: () => matMulExplicit(g, a, true, true) };
  },
};

let stockMatMulGradient: tf.GradConfig | undefined;

/** Installs (for wasm) or removes (for other backends) the transpose-free BatchMatMul gradient; same values either way. */
export function useTransposeFreeMatMulGradient(enabled: boolean): void {
  const current = tf.getGradient('BatchMatMul');
  if (enabled) {
    if (current === transposeFreeMatMulGradient) return;
    stockMatMulGradient = current;
    tf.registerGradient(transposeFreeMatMulGradient);
  } else if (current === transposeFreeMatMulGradient && stockMatMulGradient !== undefined) {
    tf.registerGradient(stockMatMulGradient);
  }
}
