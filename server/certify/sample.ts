// Certifies one sample: float64 prediction, margin bounds on the true label over the clipped L∞ ball, per-layer counts.
import { type BoundGraph, buildBoundGraph, computeBounds, linfBall, marginSpec, type Specification } from '../bounds/index';
import type { Graph } from '../ir/graph';
import { evaluate } from '../ir/forward';
import type { BoundMethod } from '../protocol/reports';

/** What one sample contributes to a certify report; the same whether a worker or the caller computed it. */
export interface SampleOutcome {
  /** Index in the data source. */
  index: number;
  label: number;
  prediction: number;
  certified: boolean;
  /** Smallest lower bound of y[label] − y[j] over j ≠ label. */
  marginLowerMin: number;
  /** Per ReLU layer (graph order). */
  unstable: number[];
  active: number[];
  inactive: number[];
  grafted: number[];
}

/** The fixed part of a run, the same for every sample: what a worker receives to set itself up. */
export interface CertifySettings {
  eps: number;
  method: BoundMethod;
  /** The box the ball is clipped to. */
  clip: [number, number];
}

/** A ReLU layer as the report lists it. */
export interface ReluLayerInfo {
  name: string;
  size: number;
}

/** The ReLU (or grafted ReLU) layers of a bound graph in the order computeBounds reports them. */
export function reluLayers(bg: BoundGraph): ReluLayerInfo[] {
  const layers: ReluLayerInfo[] = [];
  for (const i of bg.nonlinear) {
    const op = bg.ops[i];
    if (op.kind === 'nonlinear' && op.family === 'relu') layers.push({ name: op.node.name, size: op.inputSize });
  }
  return layers;
}

/** Index of the largest value; the lowest index wins ties, so the prediction never depends on evaluation order. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < values.length; j++) if (values[j] > values[best]) best = j;
  return best;
}

/** Holds the bound graph and the margin specifications of one model, reused over many samples. */
export class SampleCertifier {
  readonly boundGraph: BoundGraph;
  private readonly specs = new Map<number, Specification>();

  constructor(
    readonly graph: Graph,
    readonly settings: CertifySettings,
    boundGraph?: BoundGraph,
  ) {
    this.boundGraph = boundGraph ?? buildBoundGraph(graph, settings.method);
  }

  get classCount(): number {
    return this.boundGraph.outputSize;
  }

  certify(index: number, x: ArrayLike<number>, label: number): SampleOutcome {
    const x64 = Float64Array.from(x);
    const output = evaluate(this.graph, x64, 1, 'float64').get(this.boundGraph.output)!;
    const prediction = argmax(output);
    const region = linfBall(x64, this.settings.eps, this.settings.clip);
    const result = computeBounds(this.boundGraph, region, { method: this.settings.method, spec: this.marginSpec(label) });
    let marginLowerMin = Infinity;
    for (const v of result.spec!.lower) marginLowerMin = Math.min(marginLowerMin, v);
    // NaN bounds (a diverging model) must never certify: `NaN > 0` is false.
    const certified = prediction === label && result.spec!.lower.every((v) => v > 0);
    return {
      index,
      label,
      prediction,
      certified,
      marginLowerMin,
      unstable: result.layers.map((l) => l.unstable),
      active: result.layers.map((l) => l.active),
      inactive: result.layers.map((l) => l.inactive),
      grafted: result.layers.map((l) => l.grafted),
    };
  }

  private marginSpec(label: number): Specification {
    let spec = this.specs.get(label);
    if (spec === undefined) {
      spec = marginSpec(this.classCount, label);
      this.specs.set(label, spec);
    }
    return spec;
  }
}
