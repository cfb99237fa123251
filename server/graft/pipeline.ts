// The grafting pipeline: score neurons once, then per ratio graft (or prune), fine-tune, export standard ONNX, evaluate.
import { certifyDataSet } from '../certify/dataset';
import type { DataSet } from '../data/index';
import type { Graph } from '../ir/graph';
import { encodeModel, specFromGraph } from '../onnx/encode';
import { loadModelBytes, type LoadedModel } from '../onnx/load';
import type { CertifyReport, GraftEvaluation, LayerBoundsSummary } from '../protocol/requests';
import { empiricalAccuracy } from './evaluate';
import { finetune, type FinetuneOptions, type FinetuneResult } from './finetune';
import { TrainableNetwork } from './network';
import { instability, scoringSubset, significance, type LayerScores, type Samples, type SignificanceKind } from './score';
import { selectNeurons, type GraftCriterion, type Selection } from './select';

export type GraftMode = 'graft' | 'prune';

/** The stage a long run is in, for progress reports. */
export type GraftStage = 'score' | 'finetune' | 'export' | 'certify';

export interface StageProgress {
  stage: GraftStage;
  message: string;
  /** In [0, 1] within the stage when known. */
  fraction?: number;
}

export interface ScoreOptions {
  eps: number;
  /** Samples of the seeded training subset for significance (default 1000, seed 1). */
  count?: number;
  seed?: number;
  significance?: SignificanceKind;
  /** Bound method and subset size of the instability counts (default CROWN on 200 of the subset: CROWN costs ~0.2 s a sample). */
  instabilityMethod?: 'ibp' | 'crown';
  instabilityCount?: number;
  range?: readonly [number, number];
  criterion?: GraftCriterion;
  signal?: AbortSignal;
  onProgress?(p: StageProgress): void;
}

export interface NeuronScores {
  significance: LayerScores;
  /** Undefined for the magnitude criterion (not computed). */
  instability?: LayerScores;
  significanceCount: number;
  instabilityCount: number;
  instabilityMethod: 'ibp' | 'crown';
  seconds: number;
}

/** Significance and (unless the criterion is pure magnitude) instability of every ReLU neuron of `graph`. */
export async function scoreNeurons(graph: Graph, train: Samples, options: ScoreOptions): Promise<NeuronScores> {
  const started = performance.now();
  const net = new TrainableNetwork(graph);
  try {
    const subset = scoringSubset(train, options.count ?? 1000, options.seed ?? 1);
    options.onProgress?.({ stage: 'score', message: `significance (${options.significance ?? 'magnitude'}) on ${subset.count} training samples`, fraction: 0 });
    const s = await significance(net, subset, options.significance ?? 'magnitude');
    const method = options.instabilityMethod ?? 'crown';
    const uCount = Math.min(subset.count, options.instabilityCount ?? (method === 'crown' ? 200 : subset.count));
    let u: LayerScores | undefined;
    if ((options.criterion ?? 'mixed') !== 'magnitude') {
      const uSubset: Samples = { inputs: subset.inputs.subarray(0, uCount * (subset.inputs.length / subset.count)), labels: subset.labels.subarray(0, uCount), count: uCount };
      u = await instability(net, uSubset, {
        eps: options.eps, method, clip: options.range, signal: options.signal,
        onSample: (done, total) => {
          if (done % 10 === 0 || done === total) options.onProgress?.({ stage: 'score', message: `instability (${method}) ${done}/${total}`, fraction: done / total });
        },
      });
    }
    return { significance: s, instability: u, significanceCount: subset.count, instabilityCount: u === undefined ? 0 : uCount, instabilityMethod: method, seconds: (performance.now() - started) / 1000 };
  } finally {
    net.dispose();
  }
}

export interface GraftOnceOptions {
  ratio: number;
  mode: GraftMode;
  criterion: GraftCriterion;
  finetune: Omit<FinetuneOptions, 'trainGraft'>;
}

export interface GraftedNetwork {
  net: TrainableNetwork;
  selection: Selection;
  finetune: FinetuneResult;
}

/** A fresh trainable copy of `graph` with the selected neurons grafted (a = 0.4, b = 0) or pruned (a = b = 0), fine-tuned. */
export async function graftAndFinetune(graph: Graph, scores: NeuronScores, train: Samples, validation: Samples, options: GraftOnceOptions): Promise<GraftedNetwork> {
  const selection = selectNeurons(scores.significance, scores.instability, { ratio: options.ratio, criterion: options.criterion });
  const net = new TrainableNetwork(graph);
  try {
    for (const [layer, mask] of selection.masks.entries()) {
      // Neurons the model already had grafted stay grafted with their own a, b.
      const existing = await net.graft(layer);
      const merged = existing === undefined ? mask : mask.map((m, j) => m | existing.mask[j]);
      const slope = Float32Array.from(merged, (m, j) => (existing?.mask[j] ? existing.slope[j] : options.mode === 'prune' ? 0 : 0.4));
      const intercept = Float32Array.from(merged, (m, j) => (existing?.mask[j] ? existing.intercept[j] : 0));
      if (merged.some((m) => m !== 0)) net.setGraft(layer, merged, slope, intercept);
    }
    const result = await finetune(net, train, validation, { ...options.finetune, trainGraft: options.mode === 'graft' });
    return { net, selection, finetune: result };
  } catch (error) {
    net.dispose();
    throw error;
  }
}

/** The network as a standard-ONNX model file (GRAFTING.md §5), and that file read back through the loader. */
export async function exportStandardOnnx(net: TrainableNetwork, file: string): Promise<{ bytes: Uint8Array; model: LoadedModel }> {
  const bytes = encodeModel(specFromGraph(await net.toGraph('standard-onnx'), { producer: 'graftcert graft' }));
  return { bytes, model: loadModelBytes(bytes, file) };
}

export interface EvaluationOptions {
  eps: number;
  /** Samples from the start of the data set (CROWN and PGD). */
  count: number;
  /** α-CROWN on the first `alphaCount` of them (0: skip). */
  alphaCount?: number;
  pgdSteps?: number;
  workers?: number;
  /** ONNX bytes of `model` when it is not the file at model.file (certification workers decode them). */
  modelBytes?: Uint8Array;
  dataLabel?: string;
  signal?: AbortSignal;
  onProgress?(p: StageProgress): void;
}

/** Clean and PGD accuracy (tfjs), CROWN-certified accuracy with per-layer unstable counts, α-CROWN on a subset. */
export async function evaluateModel(model: LoadedModel, net: TrainableNetwork, data: DataSet, options: EvaluationOptions): Promise<GraftEvaluation> {
  const count = Math.min(options.count, data.count);
  const samples: Samples = { inputs: data.inputs.subarray(0, count * (data.inputs.length / data.count)), labels: data.labels.subarray(0, count), count };
  const pgdSteps = options.pgdSteps ?? 20;
  options.onProgress?.({ stage: 'certify', message: `PGD-${pgdSteps} on ${count} samples` });
  const empirical = await empiricalAccuracy(net, samples, { eps: options.eps, pgdSteps, range: data.range });
  const certifyWith = (method: 'crown' | 'alpha-crown', n: number): Promise<CertifyReport> =>
    certifyDataSet(model, data, {
      eps: options.eps, method, count: n, workers: options.workers, modelBytes: options.modelBytes, dataLabel: options.dataLabel, signal: options.signal,
      onProgress: (p) => {
        if (p.done % 20 === 0 || p.done === p.total) options.onProgress?.({ stage: 'certify', message: `${method} ${p.done}/${p.total}, ${p.certified} certified`, fraction: p.done / p.total });
      },
    });
  const crown = await certifyWith('crown', count);
  const alphaCount = Math.min(options.alphaCount ?? 0, count);
  const alpha = alphaCount > 0 ? await certifyWith('alpha-crown', alphaCount) : undefined;
  return {
    count: crown.count,
    cleanAccuracy: crown.clean_accuracy,
    pgdAccuracy: empirical.pgd ?? null,
    pgdSteps,
    certifiedAccuracy: crown.certified_accuracy,
    alphaCertifiedAccuracy: alpha?.certified_accuracy ?? null,
    alphaCount: alpha?.count ?? 0,
    layers: crown.layers,
    unstable: totalUnstable(crown.layers),
    time_s: crown.time_s + (alpha?.time_s ?? 0),
  };
}

export function totalUnstable(layers: readonly LayerBoundsSummary[]): number {
  return layers.reduce((s, l) => s + l.unstable, 0);
}

/** Splits the training data into a training part and a held-out validation part (the last `validationCount` samples). */
export function trainValidationSplit(data: DataSet, validationCount: number): { train: Samples; validation: Samples } {
  const size = data.inputs.length / data.count;
  const v = Math.max(1, Math.min(validationCount, Math.floor(data.count / 5)));
  const t = data.count - v;
  return {
    train: { inputs: data.inputs.subarray(0, t * size), labels: data.labels.subarray(0, t), count: t },
    validation: { inputs: data.inputs.subarray(t * size), labels: data.labels.subarray(t), count: v },
  };
}
