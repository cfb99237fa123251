// Small ONNX models built with the product encoder, plus the shared-benchmarks locator and a seeded RNG for tests.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeModel, type ModelSpec, type TensorSpec } from '../../server/onnx/encode';
import { seededRandom } from '../../server/tensor/random';

/** mulberry32 (server/tensor/random.ts): a small deterministic generator, uniform in [0, 1). */
export const rng = seededRandom;

export const repoRoot = resolve(__dirname, '..', '..');

/** ../shared beside the checkout (CI clones the repo with shared/ next to it); throws a clear message when absent. */
export function sharedBenchmarks(): string {
  const dir = resolve(repoRoot, '..', 'shared', 'benchmarks');
  if (!existsSync(dir)) {
    throw new Error(`the shared benchmarks folder ${dir} is missing — check out shared/ beside the repository (it holds the vnncomp and lirpa models these tests need).`);
  }
  return dir;
}

export function findOnnxFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...findOnnxFiles(p));
    else if (entry.endsWith('.onnx')) out.push(p);
  }
  return out;
}


/** The seed of this run: GRAFTCERT_SEED when set, otherwise fresh; printed so a failure can be replayed. */
export function testSeed(label: string): number {
  const env = process.env.GRAFTCERT_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) : Math.floor(Math.random() * 2 ** 31);
  console.log(`# ${label}: seed ${seed} (set GRAFTCERT_SEED=${seed} to replay)`);
  return seed;
}

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the OS temp dir, removed when the test process exits. */
export function tempDir(prefix = 'graftcert-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function writeModel(dir: string, name: string, spec: ModelSpec): string {
  const path = join(dir, name);
  writeFileSync(path, encodeModel(spec));
  return path;
}

export function randomTensor(name: string, dims: number[], next: () => number, scale = 1, storage?: TensorSpec['storage']): TensorSpec {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (next() * 2 - 1) * scale;
  return { name, dims, data, storage };
}

/** x[1,4] → Gemm(4→3) → Relu → Gemm(3→2): the smallest model with a ReLU layer. */
export function tinyMlpSpec(next: () => number = rng(1)): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y', shape: [1, 2] }],
    nodes: [
      { opType: 'Gemm', inputs: ['x', 'W1', 'b1'], outputs: ['h'], attrs: { transB: { kind: 'int', value: 1 } } },
      { opType: 'Relu', inputs: ['h'], outputs: ['a'], name: 'relu1' },
      { opType: 'Gemm', inputs: ['a', 'W2', 'b2'], outputs: ['y'], attrs: { transB: { kind: 'int', value: 1 } } },
    ],
    initializers: [
      randomTensor('W1', [3, 4], next),
      randomTensor('b1', [3], next),
      randomTensor('W2', [2, 3], next),
      randomTensor('b2', [2], next),
    ],
  };
}
