// Grafting measurements: before/after and a ratio sweep, grafting against pruning, on one model and data set.
//   npx tsx bench/graft.ts [--model FILE] [--eps E] [--ratios 0.1,0.3,0.5,0.7,0.9] [--modes graft,prune]
//       [--count N] [--alpha-count N] [--epochs K] [--samples-per-epoch N] [--criterion mixed|magnitude|instability]
//       [--stability W] [--optimizer adam|sgd] [--instability-method crown|ibp] [--instability-count N]
//       [--workers N] [--no-before] [--json FILE]
// Scores the neurons once on 1000 seeded training images, then for every ratio × mode grafts, fine-tunes with
// FGSM-RS at ε, exports standard ONNX, reads it back and certifies the first N test images with CROWN.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadDataSet } from '../server/data';
import { loadModelFile } from '../server/onnx/load';
import { TrainableNetwork } from '../server/graft/network';
import { evaluateModel, exportStandardOnnx, graftAndFinetune, scoreNeurons, trainValidationSplit, type GraftMode } from '../server/graft/pipeline';
import type { GraftCriterion } from '../server/graft/select';
import { initBackend } from '../server/tensor/backend';

const root = resolve(__dirname, '..');
function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const modelFile = flag('model', resolve(root, 'server', 'data', 'models', 'mnist_mlp_adv.onnx'));
const eps = Number(flag('eps', '0.05'));
const ratios = flag('ratios', '0.5').split(',').map(Number);
const modes = flag('modes', 'graft').split(',') as GraftMode[];
const count = Number(flag('count', '100'));
const alphaCount = Number(flag('alpha-count', '0'));
const epochs = Number(flag('epochs', '1'));
const samplesPerEpoch = Number(flag('samples-per-epoch', '20000'));
const criterion = flag('criterion', 'mixed') as GraftCriterion;
const stabilityWeight = Number(flag('stability', '0'));
const optimizer = flag('optimizer', 'adam') as 'adam' | 'sgd';
const instabilityMethod = flag('instability-method', 'crown') as 'crown' | 'ibp';
const instabilityCount = Number(flag('instability-count', '200'));
const workers = Number(flag('workers', '2'));
const jsonOut = flag('json', '');
const log = (m: string): void => console.error(m);

async function main(): Promise<void> {
  await initBackend('auto', { log });
  const t0 = performance.now();
  const model = loadModelFile(modelFile);
  const test = loadDataSet('mnist', { count });
  const trainData = loadDataSet('mnist:train');
  const { train, validation } = trainValidationSplit(trainData, 1000);
  const rows: Record<string, unknown>[] = [];
  const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '   -  ' : `${(100 * v).toFixed(1).padStart(5)}%`);
  const print = (label: string, e: Awaited<ReturnType<typeof evaluateModel>>, extra = ''): void =>
    log(`${label.padEnd(16)} clean ${fmt(e.cleanAccuracy)} pgd ${fmt(e.pgdAccuracy)} crown ${fmt(e.certifiedAccuracy)} α ${fmt(e.alphaCertifiedAccuracy)} ` +
      `unstable ${e.layers.map((l) => l.unstable.toFixed(1)).join('/')} (Σ ${e.unstable.toFixed(1)}) ${extra}`);
  if (!process.argv.includes('--no-before')) {
    const net = new TrainableNetwork(model.graph);
    const before = await evaluateModel(model, net, test, { eps, count, alphaCount, workers });
    net.dispose();
    print('original', before, `${before.time_s.toFixed(1)} s`);
    rows.push({ ratio: 0, mode: 'original', ...before });
  }
  const scores = await scoreNeurons(model.graph, train, { eps, criterion, instabilityMethod, instabilityCount, range: [0, 1] });
  log(`scores: significance on ${scores.significanceCount}, instability (${scores.instabilityMethod}) on ${scores.instabilityCount}: ${scores.seconds.toFixed(1)} s`);
  for (const ratio of ratios) {
    for (const mode of modes) {
      const g = await graftAndFinetune(model.graph, scores, train, validation, {
        ratio, mode, criterion,
        finetune: { eps, epochs, samplesPerEpoch, optimizer, stabilityWeight, range: [0, 1] },
      });
      const file = `bench-graft-${mode}-r${ratio}.onnx`;
      const { bytes, model: exported } = await exportStandardOnnx(g.net, file);
      const after = await evaluateModel(exported, g.net, test, { eps, count, alphaCount, workers, modelBytes: bytes });
      print(`${mode} r=${ratio}`, after, `finetune ${g.finetune.seconds.toFixed(0)} s (best epoch ${g.finetune.bestEpoch}), certify ${after.time_s.toFixed(1)} s`);
      rows.push({ ratio, mode, grafted: g.selection.total, perLayer: g.selection.perLayer.map((l) => l.grafted), finetune_s: g.finetune.seconds, history: g.finetune.epochs, ...after });
      g.net.dispose();
    }
  }
  log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ model: modelFile, eps, count, alphaCount, epochs, samplesPerEpoch, criterion, stabilityWeight, optimizer, rows }, null, 2));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
