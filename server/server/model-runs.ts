// The latest bounds or certify run of each model, in the shape the editor features read (per-layer counts, IBP extras).
import { buildBoundGraph, computeBounds, linfBall, type Interval } from '../bounds/index';
import type { DataSet } from '../data/index';
import type { Graph } from '../ir/graph';
import type { BoundMethod, BoundsReport, CertifyReport, LayerBoundsSummary } from '../protocol/requests';

export interface LayerRun extends LayerBoundsSummary {
  /** Unstable count under IBP at the same region(s): the baseline the method improves on. */
  ibpUnstable: number | null;
}

/** Range of a value over the run's region: min of lower, max of upper (IBP, sound). */
export interface ValueRange {
  lower: number;
  upper: number;
}

export interface ModelRun {
  kind: 'bounds' | 'certify';
  method: BoundMethod;
  eps: number;
  /** Per ReLU (or grafted) layer, graph order; certify: means over the samples. */
  layers: LayerRun[];
  /** IBP ranges of every value, by value name (bounds runs; certify runs keep the union over samples). */
  ranges: Map<string, ValueRange>;
  /** certify only. */
  data?: string;
  samples?: number;
  cleanAccuracy?: number;
  certifiedAccuracy?: number;
  cancelled?: boolean;
  time_s: number;
}

/** IBP over one region: every value's range and each layer's unstable count. */
function ibpPass(graph: Graph, region: { lower: Float64Array; upper: Float64Array }): { unstable: Map<string, number>; values: Map<string, Interval> } {
  const result = computeBounds(buildBoundGraph(graph, 'ibp'), region, { method: 'ibp' });
  return { unstable: new Map(result.layers.map((l) => [l.name, l.unstable])), values: result.preActivations };
}

function widen(ranges: Map<string, ValueRange>, values: Map<string, Interval>): void {
  for (const [name, b] of values) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < b.lower.length; i++) {
      if (b.lower[i] < lo) lo = b.lower[i];
      if (b.upper[i] > hi) hi = b.upper[i];
    }
    const seen = ranges.get(name);
    ranges.set(name, seen ? { lower: Math.min(seen.lower, lo), upper: Math.max(seen.upper, hi) } : { lower: lo, upper: hi });
  }
}

/** A graftcert/bounds answer, with IBP's counts and ranges over the same ball. */
export function boundsRun(graph: Graph, report: BoundsReport, center: ArrayLike<number>, clip: [number, number] | undefined): ModelRun {
  const ibp = ibpPass(graph, linfBall(center, report.eps, clip));
  const ranges = new Map<string, ValueRange>();
  widen(ranges, ibp.values);
  return {
    kind: 'bounds',
    method: report.method,
    eps: report.eps,
    layers: report.layers.map((l) => ({ ...l, ibpUnstable: ibp.unstable.get(l.name) ?? null })),
    ranges,
    time_s: report.time_s,
  };
}

/** A graftcert/certify answer, with IBP's mean unstable counts over the same samples' balls. */
export function certifyRun(graph: Graph, report: CertifyReport, dataSet: DataSet): ModelRun {
  const size = dataSet.inputs.length / dataSet.count;
  const ibpTotals = new Map<string, number>();
  const ranges = new Map<string, ValueRange>();
  const done = report.samples.map((s) => s.index);
  for (const index of done) {
    const k = index - dataSet.offset;
    if (k < 0 || k >= dataSet.count) continue;
    const ibp = ibpPass(graph, linfBall(dataSet.inputs.subarray(k * size, (k + 1) * size), report.eps, report.clip));
    for (const [name, n] of ibp.unstable) ibpTotals.set(name, (ibpTotals.get(name) ?? 0) + n);
    widen(ranges, ibp.values);
  }
  const n = Math.max(1, done.length);
  return {
    kind: 'certify',
    method: report.method,
    eps: report.eps,
    layers: report.layers.map((l) => ({ ...l, ibpUnstable: ibpTotals.has(l.name) ? ibpTotals.get(l.name)! / n : null })),
    ranges,
    data: report.data,
    samples: report.count,
    cleanAccuracy: report.clean_accuracy,
    certifiedAccuracy: report.certified_accuracy,
    cancelled: report.cancelled,
    time_s: report.time_s,
  };
}
