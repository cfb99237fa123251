// Neuron scores for grafting (GRAFTING.md §1): significance (mean |pre-activation| or mean |∂CE/∂z|) and instability counts.
import * as tf from '@tensorflow/tfjs';
import { buildBoundGraph, computeBounds, linfBall } from '../bounds/index';
import type { BoundMethod } from '../protocol/reports';
import { seededRandom, shuffledIndices } from '../tensor/tfjs';
import type { TrainableNetwork } from './network';

/** Thrown when a grafting run's AbortSignal fires between two units of work. */
export class GraftCancelledError extends Error {
  constructor() {
    super('the grafting run was cancelled');
    this.name = 'GraftCancelledError';
  }
}

/** Samples as the data layer holds them: `count` inputs back to back (C order) and their labels. */
export interface Samples {
  readonly inputs: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

export type SignificanceKind = 'magnitude' | 'gradient';

/** Per ReLU layer (graph order), one value per neuron. */
export type LayerScores = Float64Array[];

/** The seeded subset of a data set the scores are computed on (the paper: 1000 training images, seed 1). */
export function scoringSubset(data: Samples, count: number, seed = 1): Samples {
  const n = Math.min(count, data.count);
  const size = data.inputs.length / data.count;
  const order = shuffledIndices(data.count, seededRandom(seed));
  const inputs = new Float32Array(n * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = order[i];
    inputs.set(data.inputs.subarray(k * size, (k + 1) * size), i * size);
    labels[i] = data.labels[k];
  }
  return { inputs, labels, count: n };
}

/** Significance s_j: mean over the samples of |z_j(x)| ('magnitude', the paper's default) or of |∂CE/∂z_j| ('gradient'). */
export async function significance(net: TrainableNetwork, samples: Samples, kind: SignificanceKind = 'magnitude', batchSize = 250): Promise<LayerScores> {
  const sums = net.reluLayers.map((l) => new Float64Array(l.size));
  const size = samples.inputs.length / Math.max(1, samples.count);
  for (let start = 0; start < samples.count; start += batchSize) {
    const b = Math.min(batchSize, samples.count - start);
    const perLayer = tf.tidy(() => {
      const x = tf.tensor2d(samples.inputs.subarray(start * size, (start + b) * size), [b, size]);
      const z = kind === 'magnitude'
        ? net.logitsAndPreActivations(x).preActivations
        : net.preActivationGradients(x, tf.tensor1d(samples.labels.subarray(start, start + b), 'int32'));
      return z.map((t) => t.abs().sum(0));
    });
    try {
      const values = await Promise.all(perLayer.map((t) => t.data()));
      values.forEach((v, k) => {
        for (let j = 0; j < v.length; j++) sums[k][j] += v[j];
      });
    } finally {
      tf.dispose(perLayer);
    }
  }
  return sums.map((s) => s.map((v) => v / Math.max(1, samples.count)));
}

export interface InstabilityOptions {
  eps: number;
  /** 'ibp' (fast, loose) or 'crown' (the default: the intermediate bounds certification uses). */
  method?: Exclude<BoundMethod, 'alpha-crown'>;
  /** Box each ball is clipped to (the data range). */
  clip?: readonly [number, number];
  /** Checked between samples: an aborted run throws. */
  signal?: AbortSignal;
  onSample?(done: number, total: number): void;
}

/**
 * Instability u_j = #{x : l_j(x, ε) < 0 < u_j(x, ε)} over the samples, from bound propagation on the network as it is
 * now (already grafted neurons count 0). Runs the bound engine once per sample.
 */
export async function instability(net: TrainableNetwork, samples: Samples, options: InstabilityOptions): Promise<LayerScores> {
  const method = options.method ?? 'crown';
  const graph = await net.toGraph('grafted-relu');
  const bg = buildBoundGraph(graph, method);
  const reluOps = bg.nonlinear.map((j) => bg.ops[j]).flatMap((op) => (op.kind === 'nonlinear' && op.family === 'relu' ? [op] : []));
  const counts = net.reluLayers.map((l) => new Float64Array(l.size));
  const size = samples.inputs.length / Math.max(1, samples.count);
  for (let i = 0; i < samples.count; i++) {
    if (options.signal?.aborted) throw new GraftCancelledError();
    const region = linfBall(samples.inputs.subarray(i * size, (i + 1) * size), options.eps, options.clip ?? null);
    const result = computeBounds(bg, region, { method });
    result.layers.forEach((layer, k) => {
      const mask = reluOps[k]?.graft?.mask;
      for (let j = 0; j < layer.size; j++) {
        if (layer.lower[j] < 0 && layer.upper[j] > 0 && !(mask !== undefined && mask[j])) counts[k][j]++;
      }
    });
    options.onSample?.(i + 1, samples.count);
  }
  return counts;
}
