// Compute backends side by side: float32 matMul and conv GFLOP/s and a grafting fine-tuning step per tfjs backend
// present, the float64 TypeScript gemm for reference, and data-set certification with 1 and 2 worker threads.
//   npx tsx bench/compute.ts [--backends wasm,cpu,webgpu,native,gpu] [--reps N] [--steps N] [--certify-count N]
//       [--eps E] [--certify-eps E] [--skip-certify] [--json FILE]
// webgpu uses a hardware adapter where there is one, else the software one scripts/setup-webgpu.sh installs
// (llvmpipe: a correctness tool, not a speed one). Ratios are to wasm; times are the best of --reps after a warm-up.
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { certifyDataSet } from '../server/certify/dataset';
import { loadDataSet } from '../server/data';
import { fgsmRandomStart } from '../server/graft/adversarial';
import { TrainableNetwork } from '../server/graft/network';
import { loadModelFile } from '../server/onnx/load';
import { initBackend, type BackendChoice } from '../server/tensor/backend';
import { gemm } from '../server/tensor/kernels';
import { crossEntropy, seededRandom } from '../server/tensor/tfjs';
import type { BackendPreference } from '../server/tensor/preference';

const root = resolve(__dirname, '..');
function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const backends = flag('backends', 'wasm,cpu,webgpu,native,gpu').split(',') as BackendPreference[];
const reps = Number(flag('reps', '3'));
const steps = Number(flag('steps', '10'));
const certifyCount = Number(flag('certify-count', '200'));
const eps = Number(flag('eps', '0.05'));
const certifyEps = Number(flag('certify-eps', '0.02'));
const skipCertify = process.argv.includes('--skip-certify');
const jsonOut = flag('json', '');
const modelFile = resolve(root, 'server', 'data', 'models', 'mnist_mlp_adv.onnx');
const log = (m: string): void => console.error(m);
const loadText = (): string => loadavg().map((l) => l.toFixed(2)).join(' / ');

/** Best wall time in seconds of `reps` runs of `fn` (which ends by reading its result back), after one warm-up. */
async function best(fn: () => Promise<void>, repeats = reps): Promise<number> {
  await fn();
  let min = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, (performance.now() - t0) / 1000);
  }
  return min;
}

function random(n: number, seed: number, scale = 1): Float32Array {
  const rng = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

interface Row {
  backend: string;
  adapter?: string;
  matmul1024: number;
  matmul784: number;
  conv: number;
  step_ms: number;
  epoch_s: number;
}

async function matmulGflops(m: number, k: number, n: number, repeats: number): Promise<number> {
  const a = tf.tensor2d(random(m * k, 1, 0.1), [m, k]);
  const b = tf.tensor2d(random(k * n, 2, 0.1), [k, n]);
  const s = await best(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }, repeats);
  tf.dispose([a, b]);
  return (2 * m * k * n) / s / 1e9;
}

/** MNIST-sized convolutions, NHWC: 28×28×1 → 16 channels (3×3, same), then → 32 channels (3×3, stride 2), batch 128. */
async function convGflops(repeats: number): Promise<number> {
  const batch = 128;
  const x = tf.tensor4d(random(batch * 28 * 28, 3), [batch, 28, 28, 1]);
  const w1 = tf.tensor4d(random(3 * 3 * 1 * 16, 4, 0.3), [3, 3, 1, 16]);
  const w2 = tf.tensor4d(random(3 * 3 * 16 * 32, 5, 0.1), [3, 3, 16, 32]);
  const flops = 2 * batch * (28 * 28 * 9 * 1 * 16 + 14 * 14 * 9 * 16 * 32);
  const s = await best(async () => {
    const y = tf.tidy(() => tf.conv2d(tf.relu(tf.conv2d(x, w1, 1, 'same')), w2, 2, 'same'));
    await y.data();
    y.dispose();
  }, repeats);
  tf.dispose([x, w1, w2]);
  return flops / s / 1e9;
}

/**
 * One fine-tuning step as server/graft/finetune.ts takes it: an FGSM-RS example, the loss's gradients by every
 * weight and graft parameter, Adam. Half the ReLU neurons of each layer are grafted. Returns seconds per step.
 */
async function finetuneStep(train: { inputs: Float32Array; labels: Int32Array }, count: number): Promise<number> {
  const model = loadModelFile(modelFile);
  const net = new TrainableNetwork(model.graph);
  net.reluLayers.forEach((layer, k) => net.setGraft(k, Uint8Array.from({ length: layer.size }, (_, i) => i % 2), 1, 0));
  const params = [...net.weights(), ...net.graftParams()];
  const opt: tf.Optimizer = tf.train.adam(1e-3);
  const batch = 128;
  const size = 784;
  let step = 0;
  const one = async (): Promise<void> => {
    const lo = (step * batch) % (count - batch);
    const loss = tf.tidy(() => {
      const x = tf.tensor2d(train.inputs.subarray(lo * size, (lo + batch) * size), [batch, size]);
      const y = tf.tensor1d(train.labels.subarray(lo, lo + batch), 'int32');
      const adv = fgsmRandomStart((t) => net.logits(t), x, y, { eps, seed: step });
      const { value, grads } = tf.variableGrads(() => crossEntropy(net.logits(adv), y) as tf.Scalar, params);
      opt.applyGradients(grads);
      return value;
    });
    await loss.data(); // waits for the whole step (the webgpu backend cannot read synchronously in Node)
    loss.dispose();
    step++;
  };
  try {
    await one(); // warm-up: shader compilation on webgpu, XNNPACK packing on wasm
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await one();
    return (performance.now() - t0) / 1000 / steps;
  } finally {
    opt.dispose();
    net.dispose();
  }
}

function tsGemmGflops(m: number, k: number, n: number): number {
  const a = Float64Array.from(random(m * k, 1, 0.1));
  const b = Float64Array.from(random(k * n, 2, 0.1));
  const c = new Float64Array(m * n);
  let min = Infinity;
  gemm(a, b, c, m, n, k, false, false, false);
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    gemm(a, b, c, m, n, k, false, false, false);
    min = Math.min(min, (performance.now() - t0) / 1000);
  }
  return (2 * m * k * n) / min / 1e9;
}

async function main(): Promise<void> {
  log(`compute bench: ${cpus()[0]?.model ?? '?'} × ${availableParallelism()}, load average ${loadText()} (1 / 5 / 15 min)`);
  const train = loadDataSet('mnist:train', { count: 4096 });
  const rows: Row[] = [];
  for (const wanted of backends) {
    const quiet: string[] = [];
    let choice: BackendChoice;
    try {
      choice = await initBackend(wanted, { log: (m) => quiet.push(m), webgpu: { adapter: 'any', timeoutMs: 30_000 } });
    } catch (err) {
      log(`${wanted}: ${(err as Error).message}`);
      continue;
    }
    const expected = wanted === 'gpu' || wanted === 'native' ? 'tensorflow' : wanted;
    if (choice.name !== expected) {
      log(`${wanted}: not available (${choice.fallbackReason ?? '?'})`);
      continue;
    }
    if (rows.some((r) => r.backend === choice.name)) continue; // gpu and native both map to 'tensorflow'
    const adapter = choice.adapter === undefined ? undefined : `${choice.adapter.description} (Dawn ${choice.adapter.dawnBackend}${choice.adapter.software ? ', software' : ''})`;
    log(`${choice.name}${adapter ? ` on ${adapter}` : ''}: measuring (load ${loadText()}) ...`);
    const slow = choice.name === 'cpu' || choice.adapter?.software === true;
    const row: Row = {
      backend: choice.name,
      ...(adapter === undefined ? {} : { adapter }),
      matmul1024: await matmulGflops(1024, 1024, 1024, slow ? 1 : reps),
      matmul784: await matmulGflops(256, 784, 256, reps),
      conv: await convGflops(slow ? 1 : reps),
      step_ms: 0,
      epoch_s: 0,
    };
    const perStep = await finetuneStep(train, train.count);
    row.step_ms = perStep * 1000;
    row.epoch_s = perStep * Math.ceil(20000 / 128);
    rows.push(row);
  }

  const ts1024 = tsGemmGflops(1024, 1024, 1024);
  const ts784 = tsGemmGflops(256, 784, 256);
  const wasm = rows.find((r) => r.backend === 'wasm');
  const ratio = (v: number, ref: number | undefined, higherIsBetter = true): string =>
    ref === undefined || !(ref > 0) ? '' : ` (${(higherIsBetter ? v / ref : ref / v).toFixed(2)}×)`;
  const table: string[][] = [['backend', 'matMul 1024² GFLOP/s', 'matMul 256×784×256 GFLOP/s', 'conv MNIST GFLOP/s', 'FGSM-RS step ms', 'epoch (20 000) s']];
  for (const r of rows) {
    table.push([
      r.backend + (r.adapter !== undefined && /software/.test(r.adapter) ? ' (software)' : ''),
      r.matmul1024.toFixed(2) + ratio(r.matmul1024, wasm?.matmul1024),
      r.matmul784.toFixed(2) + ratio(r.matmul784, wasm?.matmul784),
      r.conv.toFixed(2) + ratio(r.conv, wasm?.conv),
      r.step_ms.toFixed(1) + ratio(r.step_ms, wasm?.step_ms, false),
      r.epoch_s.toFixed(1),
    ]);
  }
  table.push(['TS float64 gemm', ts1024.toFixed(2) + ratio(ts1024, wasm?.matmul1024), ts784.toFixed(2) + ratio(ts784, wasm?.matmul784), '', '', '']);
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  console.log(table.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n'));
  console.log(`(ratios to wasm, × > 1 is faster; best of ${reps} after a warm-up, 1 run for cpu and software adapters; ` +
    `fine-tuning: ${steps} steps of batch 128 on the embedded 784-200-200-200-10 MLP, half of each ReLU layer grafted, ` +
    `extrapolated to an epoch of 20 000 samples = ${Math.ceil(20000 / 128)} steps, validation not included)`);
  for (const r of rows) if (r.adapter !== undefined) console.log(`webgpu adapter: ${r.adapter}`);

  let certify: { one_s: number; two_s: number; speedup: number; steadySpeedup: number; loadBefore: string; loadAfter: string } | undefined;
  if (!skipCertify) {
    await initBackend('wasm', { log: () => {} });
    const model = loadModelFile(modelFile);
    const test = loadDataSet('mnist', { count: certifyCount });
    const loadBefore = loadText();
    const wall = new Map<number, number>();
    // Samples per second between the first and the last finished sample: the rate without worker start-up
    // (under tsx each worker compiles the TypeScript it loads; the bundled dist/certify-worker.js does not).
    const steady = new Map<number, number>();
    const certified = new Map<number, number>();
    for (let r = 0; r < 2; r++) {
      for (const workers of [1, 2]) {
        let first: { t: number; done: number } | undefined;
        let last: { t: number; done: number } | undefined;
        // One worker certifies on this thread, where CROWN would also use the bound helper thread: keep that
        // baseline to one core (GRAFTCERT_BOUND_THREADS=1), so the ratio is one thread against two.
        if (workers === 1) process.env.GRAFTCERT_BOUND_THREADS = '1';
        const t0 = performance.now();
        const report = await certifyDataSet(model, test, {
          eps: certifyEps, method: 'crown', workers,
          onProgress: (p) => {
            const now = { t: performance.now(), done: p.done };
            if (first === undefined) first = now;
            last = now;
          },
        }).finally(() => {
          delete process.env.GRAFTCERT_BOUND_THREADS;
        });
        const s = (performance.now() - t0) / 1000;
        wall.set(workers, Math.min(wall.get(workers) ?? Infinity, s));
        if (first !== undefined && last !== undefined && last.t > first.t) {
          steady.set(workers, Math.max(steady.get(workers) ?? 0, ((last.done - first.done) / (last.t - first.t)) * 1000));
        }
        certified.set(workers, report.certified_accuracy);
      }
    }
    if (certified.get(1) !== certified.get(2)) throw new Error(`1 and 2 workers certify differently: ${certified.get(1)} vs ${certified.get(2)}`);
    const loadAfter = loadText();
    const steadySpeedup = (steady.get(2) ?? NaN) / (steady.get(1) ?? NaN);
    certify = { one_s: wall.get(1)!, two_s: wall.get(2)!, speedup: wall.get(1)! / wall.get(2)!, steadySpeedup, loadBefore, loadAfter };
    console.log(`data-set certification, ${certifyCount} MNIST test images, CROWN at ε = ${certifyEps}, mnist_mlp_adv.onnx (certified ${(100 * certified.get(1)!).toFixed(1)} %):`);
    console.log(`  wall (best of 2, worker start-up included): 1 worker ${certify.one_s.toFixed(2)} s, 2 workers ${certify.two_s.toFixed(2)} s → ${certify.speedup.toFixed(2)}×`);
    console.log(`  steady rate (first to last finished sample): 1 worker ${(steady.get(1) ?? NaN).toFixed(1)}/s, 2 workers ${(steady.get(2) ?? NaN).toFixed(1)}/s → ${steadySpeedup.toFixed(2)}×`);
    console.log(`  load average ${loadBefore} before, ${loadAfter} after (1 / 5 / 15 min) on ${availableParallelism()} cores — the 1.7× target assumes 2 idle cores`);
  }
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ cores: availableParallelism(), rows, tsGemm: { matmul1024: ts1024, matmul784: ts784 }, certify, steps, reps }, null, 2));
}

main().then(() => process.exit(0), (err) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
