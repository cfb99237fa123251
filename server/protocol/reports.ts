// JSON documents shared by the CLI (--json), the server's custom requests and the webviews.
// Field names of BoundsReport are a public contract (ARCHITECTURE.md): do not rename.

export interface TensorSummary {
  name: string;
  dtype: string;
  shape: number[];
}

export interface NodeSummary {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  /** Static shape of the first output; null where it could not be inferred. */
  outputShape: number[] | null;
  /** Number of weights this node reads from initialisers/constants. */
  parameters: number;
  supported: boolean;
}

export interface ReluLayerSummary {
  /** ONNX node name of the Relu (or the grafted activation's Relu). */
  name: string;
  /** Value name of the pre-activation. */
  preActivation: string;
  size: number;
  /** Neurons replaced by a linear function (recognised from a grafted export), 0 otherwise. */
  grafted: number;
}

export interface InspectReport {
  file: string;
  irVersion: number;
  producer: string;
  opset: number;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  nodes: NodeSummary[];
  reluLayers: ReluLayerSummary[];
  totalParameters: number;
  /** Distinct op types the engine cannot run, all of them (empty when the model is fully supported). */
  unsupportedOps: string[];
  /** Other problems found while loading (one sentence each); empty when the model loads. */
  problems: string[];
  /** Things the loader decided that the user should know (e.g. a symbolic batch dimension fixed to 1). */
  notes: string[];
}

export type BoundMethod = 'ibp' | 'crown' | 'alpha-crown';

export interface LayerBoundsSummary {
  name: string;
  size: number;
  unstable: number;
  active: number;
  inactive: number;
  grafted: number;
}

export interface BoundsReport {
  method: BoundMethod;
  eps: number;
  output: { lower: number[]; upper: number[] };
  margin: null | { label: number; others: number[]; lower: number[] };
  layers: LayerBoundsSummary[];
  time_s: number;
}
