// Trains the embedded MNIST model: a 784-200-200-200-10 ReLU MLP, FGSM-RS adversarial training at ε = 0.05, exported to ONNX.
//
// ε = 0.05 (not 0.1): `graftcert demo` certifies at the training ε, and at 0.1 this MLP's CROWN margins are far below
// zero even after grafting (see server/data/models/README.md for the measurements behind the choice).
//
//   npx tsx scripts/train-embedded.ts [--epochs N] [--steps N] [--out FILE] [--seed S] [--eps E] [--lr LR]
//                                     [--batch B] [--eval-count N] [--pgd-steps K] [--no-export]
//
// Everything random is seeded: weight initialisation and batch order (mulberry32 from --seed), the FGSM random
// starts (tfjs seeded per step). On the single-threaded wasm backend the run is reproducible bit for bit.
import * as tf from '@tensorflow/tfjs';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadDataSet, type DataSet } from '../server/data';
import { TrainableNetwork } from '../server/graft/network';
import { fgsmRandomStart, pgd } from '../server/graft/adversarial';
import { backendPreferenceFromEnv, initBackend } from '../server/tensor/backend';
import { correct, crossEntropy, forEachBatch, seededRandom, shuffledIndices } from '../server/tensor/tfjs';
import { encodeModel, specFromGraph } from '../server/onnx/encode';

interface Settings {
  epochs: number;
  /** Stop after this many optimiser steps in total (for timing runs); 0 = no limit. */
  steps: number;
  out: string;
  seed: number;
  eps: number;
  lr: number;
  batch: number;
  evalCount: number;
  pgdSteps: number;
  export: boolean;
}

const SIZES = [784, 200, 200, 200, 10];
const INPUT_SHAPE = [1, 1, 28, 28];

function parseArgs(argv: string[]): Settings {
  const s: Settings = {
    epochs: 10, steps: 0, out: 'server/data/models/mnist_mlp_adv.onnx', seed: 1, eps: 0.05, lr: 1e-3, batch: 128,
    evalCount: 1000, pgdSteps: 40, export: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = (): number => {
      const v = Number(next());
      if (!Number.isFinite(v)) throw new Error(`${flag} needs a number`);
      return v;
    };
    switch (flag) {
      case '--epochs': s.epochs = num(); break;
      case '--steps': s.steps = num(); break;
      case '--out': s.out = next(); break;
      case '--seed': s.seed = num(); break;
      case '--eps': s.eps = num(); break;
      case '--lr': s.lr = num(); break;
      case '--batch': s.batch = num(); break;
      case '--eval-count': s.evalCount = num(); break;
      case '--pgd-steps': s.pgdSteps = num(); break;
      case '--no-export': s.export = false; break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  return s;
}

const log = (m: string): void => console.error(m);

/** Clean and PGD accuracy (ε, `pgdSteps` steps of α = 2.5ε/steps, random start) over the first `count` samples. */
async function accuracy(net: TrainableNetwork, data: DataSet, count: number, eps: number, pgdSteps: number, seed: number): Promise<{ clean: number; pgd: number }> {
  let clean = 0;
  let robust = 0;
  let batchIndex = 0;
  await forEachBatch(data.inputs, data.labels, [784], 500, (x, y) => {
    const cleanOk = tf.tidy(() => correct(net.logits(x), y));
    clean += tf.tidy(() => cleanOk.sum().dataSync()[0]);
    if (pgdSteps > 0) {
      const adv = pgd((t) => net.logits(t), x, y, { eps, steps: pgdSteps, seed: seed + batchIndex++ });
      // A sample counts as robust only if it is classified correctly both clean and under attack.
      robust += tf.tidy(() => tf.logicalAnd(cleanOk, correct(net.logits(adv), y)).sum().dataSync()[0]);
      adv.dispose();
    }
    cleanOk.dispose();
  }, Math.min(count, data.count));
  const n = Math.min(count, data.count);
  return { clean: clean / n, pgd: robust / n };
}

async function main(): Promise<void> {
  const s = parseArgs(process.argv.slice(2));
  const backend = await initBackend(backendPreferenceFromEnv());
  log(`settings ${JSON.stringify(s)} backend ${backend.name}`);

  const train = loadDataSet('mnist:train');
  const test = loadDataSet('mnist');
  const net = TrainableNetwork.mlp(SIZES, { seed: s.seed, inputShape: INPUT_SHAPE, name: 'mnist_mlp_adv' });
  const optimizer = tf.train.adam(s.lr);
  const shuffle = seededRandom(s.seed + 1000);
  const size = 784;
  const stepsPerEpoch = Math.ceil(train.count / s.batch);
  const xBuffer = new Float32Array(s.batch * size);
  const yBuffer = new Int32Array(s.batch);

  const started = Date.now();
  let step = 0;
  let done = false;
  for (let epoch = 0; epoch < s.epochs && !done; epoch++) {
    const epochStart = Date.now();
    const order = shuffledIndices(train.count, shuffle);
    let lossSum = 0;
    let lossCount = 0;
    for (let b = 0; b < stepsPerEpoch; b++) {
      const lo = b * s.batch;
      const n = Math.min(s.batch, train.count - lo);
      for (let i = 0; i < n; i++) {
        const k = order[lo + i];
        xBuffer.set(train.inputs.subarray(k * size, (k + 1) * size), i * size);
        yBuffer[i] = train.labels[k];
      }
      // ε ramps up linearly over the first epoch: full-strength FGSM on an untrained net slows learning.
      const eps = s.eps * Math.min(1, (step + 1) / stepsPerEpoch);
      const loss = tf.tidy(() => {
        const x = tf.tensor2d(xBuffer.subarray(0, n * size), [n, size]);
        const y = tf.tensor1d(yBuffer.subarray(0, n), 'int32');
        const adv = fgsmRandomStart((t) => net.logits(t), x, y, { eps, seed: s.seed * 1_000_003 + step });
        return optimizer.minimize(() => crossEntropy(net.logits(adv), y), true, net.weights())!;
      });
      // Reading the loss back forces a sync, so only every 25th step is sampled for the log.
      if ((step + 1) % 25 === 0) {
        lossSum += loss.dataSync()[0];
        lossCount++;
      }
      loss.dispose();
      step++;
      if (step % 100 === 0) log(`  step ${step} (epoch ${epoch + 1}) eps ${eps.toFixed(3)} loss ${(lossSum / Math.max(1, lossCount)).toFixed(4)} ${((Date.now() - started) / step).toFixed(0)} ms/step`);
      if (s.steps > 0 && step >= s.steps) {
        done = true;
        break;
      }
    }
    const seconds = (Date.now() - epochStart) / 1000;
    const quick = await accuracy(net, test, 500, s.eps, 10, 77);
    log(`epoch ${epoch + 1}: ${seconds.toFixed(1)} s, mean adv loss ${(lossSum / Math.max(1, lossCount)).toFixed(4)}, ` +
      `first 500 test: clean ${(100 * quick.clean).toFixed(1)} %, PGD-10 ${(100 * quick.pgd).toFixed(1)} %`);
  }
  const trainSeconds = (Date.now() - started) / 1000;
  log(`training: ${step} steps in ${trainSeconds.toFixed(1)} s (${((1000 * trainSeconds) / step).toFixed(0)} ms/step)`);

  const final = await accuracy(net, test, s.evalCount, s.eps, s.pgdSteps, 12345);
  const full = await accuracy(net, test, test.count, s.eps, 0, 0);
  const summary = {
    seed: s.seed, epochs: s.epochs, steps: step, batch: s.batch, lr: s.lr, eps: s.eps, backend: backend.name,
    train_seconds: Math.round(trainSeconds),
    clean_first_n: s.evalCount, clean_accuracy: final.clean,
    pgd: { eps: s.eps, steps: s.pgdSteps, alpha: (2.5 * s.eps) / s.pgdSteps, restarts: 1, accuracy: final.pgd },
    clean_accuracy_full_test: full.clean,
  };
  log(`first ${s.evalCount} test images: clean ${(100 * final.clean).toFixed(1)} %, PGD-${s.pgdSteps} (ε=${s.eps}) ${(100 * final.pgd).toFixed(1)} %; ` +
    `full test set clean ${(100 * full.clean).toFixed(2)} %`);

  if (s.export) {
    const out = resolve(s.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, encodeModel(specFromGraph((await net.toGraph()), { producer: 'graftcert scripts/train-embedded.ts' })));
    // Read the file back through the project's loader and check its float32 forward pass against tfjs.
    const { loadModelFile } = await import('../server/onnx/load');
    const { evaluate } = await import('../server/ir/forward');
    const graph = loadModelFile(out).graph;
    const n = Math.min(200, test.count);
    const reference = evaluate(graph, test.inputs.subarray(0, n * size), n, 'float32').get('logits')!;
    const ours = tf.tidy(() => net.logits(tf.tensor2d(test.inputs.subarray(0, n * size), [n, size])).dataSync());
    let maxDiff = 0;
    for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - reference[i]));
    log(`wrote ${out}; reloaded model agrees with training logits to ${maxDiff.toExponential(2)}`);
    if (maxDiff > 1e-3) throw new Error(`the exported model's logits differ from the trained network's by ${maxDiff}`);
  }
  console.log(JSON.stringify(summary));
  optimizer.dispose();
  net.dispose();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
