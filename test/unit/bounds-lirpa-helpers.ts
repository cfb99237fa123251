// Shared loading of the auto_LiRPA reference cases (../shared/benchmarks/lirpa) for the bound tests.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadModelFile } from '../../server/onnx/load';
import { buildBoundGraph, linfBall, marginSpec, type BoundGraph, type Region } from '../../server/bounds/index';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const lirpaDir = path.resolve(repoRoot, '..', 'shared', 'benchmarks', 'lirpa');

export interface MethodRef {
  lower: number[];
  upper: number[] | null;
  time_s: number;
  unstable?: number[];
  active?: number[];
  inactive?: number[];
  layer_bounds?: { lower: number[]; upper: number[] }[];
}

export interface LirpaRef {
  file: string;
  model: string;
  onnx_file: string;
  eps: number;
  x0: number[];
  relu_layers: { relu_onnx_node: string; preact_tensor: string; size: number }[];
  empirical: { n_samples: number; min: number[]; max: number[] };
  methods: Record<string, MethodRef>;
  margin: { label: number; others: number[]; methods: Record<string, MethodRef> };
}

export function lirpaCases(): LirpaRef[] {
  const dir = path.join(lirpaDir, 'ref');
  if (!existsSync(dir)) throw new Error(`the auto_LiRPA reference data is missing: expected ${dir} (the shared benchmarks checkout next to the repo)`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, ...JSON.parse(readFileSync(path.join(dir, f), 'utf8')) }));
}

const graphs = new Map<string, BoundGraph>();

export function prepare(ref: LirpaRef): { bg: BoundGraph; region: Region; spec: ReturnType<typeof marginSpec> } {
  let bg = graphs.get(ref.onnx_file);
  if (bg === undefined) {
    bg = buildBoundGraph(loadModelFile(path.join(lirpaDir, ref.onnx_file)).graph);
    graphs.set(ref.onnx_file, bg);
  }
  return { bg, region: linfBall(ref.x0, ref.eps), spec: marginSpec(bg.outputSize, ref.margin.label) };
}

/** max |ours − ref| / (1 + |ref|). */
export function relErr(ours: ArrayLike<number>, ref: readonly number[]): number {
  if (ours.length !== ref.length) return Infinity;
  let e = 0;
  for (let i = 0; i < ref.length; i++) e = Math.max(e, Math.abs(ours[i] - ref[i]) / (1 + Math.abs(ref[i])));
  return e;
}
