// Fine-tuning after grafting (GRAFTING.md §3): FGSM-RS adversarial training, separate learning rates for weights and
// for the grafted slopes/intercepts, cosine schedule, best-validation-PGD checkpointing, progress and cancellation.
import * as tf from '@tensorflow/tfjs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { crossEntropy, seededRandom, shuffledIndices } from '../tensor/tfjs';
import { fgsmRandomStart } from './adversarial';
import { empiricalAccuracy, type EmpiricalAccuracy } from './evaluate';
import type { TrainableNetwork } from './network';
import { GraftCancelledError, type Samples } from './score';
import { stabilityLoss } from './stability';

export type OptimizerKind = 'adam' | 'sgd';

export interface FinetuneOptions {
  eps: number;
  epochs: number;
  /** Training samples used per epoch (a fresh seeded draw each epoch); default all. */
  samplesPerEpoch?: number;
  batchSize?: number;
  /**
   * 'adam' (default [ours]: a few CPU epochs need its fast progress) or 'sgd' (momentum 0.9, the paper's choice for
   * 100 GPU epochs).
   */
  optimizer?: OptimizerKind;
  /** Learning rate of the weights (default 1e-3) and of slopes/intercepts (default 1e-2, no weight decay). */
  lrWeights?: number;
  lrGraft?: number;
  /** L2 weight decay of the weights, not of slopes/intercepts (default 5e-4). */
  weightDecay?: number;
  /** Train the grafted slopes/intercepts (grafting) or keep them (pruning: a = b = 0 stays). Default true. */
  trainGraft?: boolean;
  /** Weight of the ReLU-stability regulariser on the unstable neurons' IBP bounds at ε (Xiao et al. 2019); 0 = off. */
  stabilityWeight?: number;
  /** FGSM step as a multiple of ε (default 1.25). */
  fgsmStepRatio?: number;
  range?: readonly [number, number];
  seed?: number;
  /** PGD steps of the validation attack (default 10). */
  validationPgdSteps?: number;
  onProgress?(progress: FinetuneProgress): void;
  signal?: AbortSignal;
}

export interface FinetuneProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Mean training loss of the epoch so far. */
  loss: number;
  /** Set at the end of an epoch (epoch 0: before fine-tuning). */
  validation?: EmpiricalAccuracy;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  validation: EmpiricalAccuracy;
  seconds: number;
}

export interface FinetuneResult {
  epochs: EpochRecord[];
  /** The epoch whose weights the network holds now (best validation PGD accuracy; 0 = the starting point). */
  bestEpoch: number;
  seconds: number;
}

/** Trains `net` in place and leaves it at the best epoch's weights. Throws GraftCancelledError when aborted. */
export async function finetune(net: TrainableNetwork, train: Samples, validation: Samples, options: FinetuneOptions): Promise<FinetuneResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 128;
  const perEpoch = Math.min(options.samplesPerEpoch ?? train.count, train.count);
  const stepsPerEpoch = Math.ceil(perEpoch / batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const lrWeights = options.lrWeights ?? 1e-3;
  const lrGraft = options.lrGraft ?? 1e-2;
  const weightDecay = options.weightDecay ?? 5e-4;
  const trainGraft = options.trainGraft ?? true;
  const stabilityWeight = options.stabilityWeight ?? 0;
  const kind = options.optimizer ?? 'adam';
  const make = (lr: number): tf.Optimizer => (kind === 'adam' ? tf.train.adam(lr) : tf.train.momentum(lr, 0.9));
  const weightOpt = make(lrWeights);
  const graftOpt = make(lrGraft);
  const weights = net.weights();
  const graftParams = trainGraft ? net.graftParams() : [];
  const seed = options.seed ?? 1;
  const shuffle = seededRandom(seed + 1000);
  const size = train.inputs.length / train.count;
  const xBuffer = new Float32Array(batchSize * size);
  const yBuffer = new Int32Array(batchSize);
  const validate = (): Promise<EmpiricalAccuracy> =>
    empiricalAccuracy(net, validation, { eps: options.eps, pgdSteps: options.validationPgdSteps ?? 10, range: options.range, seed: 4242 });

  const epochs: EpochRecord[] = [];
  let best = { epoch: 0, validation: await validate(), snapshot: snapshot([...weights, ...net.graftParams()]) };
  epochs.push({ epoch: 0, loss: NaN, validation: best.validation, seconds: 0 });
  options.onProgress?.({ epoch: 0, epochs: options.epochs, step: 0, steps: totalSteps, loss: NaN, validation: best.validation });
  let step = 0;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const epochStart = performance.now();
      const order = shuffledIndices(train.count, shuffle);
      let lossSum = 0;
      let lossCount = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        await yieldToEventLoop();
        if (options.signal?.aborted) throw new GraftCancelledError();
        const lo = b * batchSize;
        const n = Math.min(batchSize, perEpoch - lo);
        for (let i = 0; i < n; i++) {
          const k = order[lo + i];
          xBuffer.set(train.inputs.subarray(k * size, (k + 1) * size), i * size);
          yBuffer[i] = train.labels[k];
        }
        const scale = 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(1, totalSteps)));
        setLearningRate(weightOpt, lrWeights * scale);
        setLearningRate(graftOpt, lrGraft * scale);
        const loss = tf.tidy(() => {
          const x = tf.tensor2d(xBuffer.subarray(0, n * size), [n, size]);
          const y = tf.tensor1d(yBuffer.subarray(0, n), 'int32');
          const adv = fgsmRandomStart((t) => net.logits(t), x, y, {
            eps: options.eps, stepRatio: options.fgsmStepRatio, range: options.range, seed: seed * 1_000_003 + step,
          });
          const { value, grads } = tf.variableGrads(() => {
            let l = crossEntropy(net.logits(adv), y);
            if (stabilityWeight > 0) l = l.add(stabilityLoss(net, x, options.eps, options.range).mul(stabilityWeight));
            return l as tf.Scalar;
          }, [...weights, ...graftParams]);
          const weightGrads: tf.NamedTensorMap = {};
          const graftGrads: tf.NamedTensorMap = {};
          for (const w of weights) {
            const g = grads[w.name];
            if (g !== undefined) weightGrads[w.name] = weightDecay > 0 ? g.add(w.mul(weightDecay)) : g;
          }
          for (const p of graftParams) if (grads[p.name] !== undefined) graftGrads[p.name] = grads[p.name];
          weightOpt.applyGradients(weightGrads);
          if (graftParams.length > 0) graftOpt.applyGradients(graftGrads);
          return value;
        });
        // Reading a loss back forces a sync: sample every 10th step.
        if (b % 10 === 0 || b === stepsPerEpoch - 1) {
          lossSum += (await loss.data())[0];
          lossCount++;
          options.onProgress?.({ epoch, epochs: options.epochs, step: step + 1, steps: totalSteps, loss: lossSum / lossCount });
        }
        loss.dispose();
        step++;
      }
      const v = await validate();
      const record = { epoch, loss: lossSum / Math.max(1, lossCount), validation: v, seconds: (performance.now() - epochStart) / 1000 };
      epochs.push(record);
      options.onProgress?.({ epoch, epochs: options.epochs, step, steps: totalSteps, loss: record.loss, validation: v });
      if (isBetter(v, best.validation)) {
        tf.dispose(best.snapshot);
        best = { epoch, validation: v, snapshot: snapshot([...weights, ...net.graftParams()]) };
      }
    }
    // Back to the best epoch (a no-op when it is the last one).
    if (best.epoch !== options.epochs) restore([...weights, ...net.graftParams()], best.snapshot);
  } finally {
    tf.dispose(best.snapshot);
    weightOpt.dispose();
    graftOpt.dispose();
  }
  return { epochs, bestEpoch: best.epoch, seconds: (performance.now() - started) / 1000 };
}

/** Higher validation PGD accuracy wins; clean accuracy breaks ties. */
function isBetter(a: EmpiricalAccuracy, b: EmpiricalAccuracy): boolean {
  const pa = a.pgd ?? a.clean, pb = b.pgd ?? b.clean;
  return pa > pb || (pa === pb && a.clean > b.clean);
}

function snapshot(vars: readonly tf.Variable[]): tf.Tensor[] {
  return vars.map((v) => tf.keep(v.clone()));
}

function restore(vars: readonly tf.Variable[], values: readonly tf.Tensor[]): void {
  vars.forEach((v, i) => v.assign(values[i]));
}

/** tfjs optimisers read their learning rate on every step; SGD/momentum expose a setter, Adam only the field. */
function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}
