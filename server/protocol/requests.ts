// The custom LSP requests between extension, webviews and server: each method typed once, here.
//
// Imports nothing but `vscode-languageserver-protocol` (no `vscode`, no Node built-ins), so the
// extension, the server and a webview bundle can all import it. docs/protocol.md lists the same
// methods; test/unit/protocol.test.ts keeps the two in step.
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { BoundMethod, BoundsReport, InspectReport, LayerBoundsSummary } from './reports';

export type { BoundMethod, BoundsReport, InspectReport, LayerBoundsSummary } from './reports';

/**
 * Which model a request is about: a `file:` URI (what the extension has) or a file system path
 * (what the CLI and tests have). Exactly one of the two.
 */
export interface ModelTarget {
  uri?: string;
  path?: string;
}

/**
 * Long requests carry a client-chosen job id so that `graftcert/cancel` can stop them (a webview's
 * Stop button has no JSON-RPC request id to cancel). `$/cancelRequest` works as well.
 */
export interface JobParams {
  jobId?: string;
  /** LSP work-done progress token; the server reports progress on it when given. */
  workDoneToken?: string | number;
}

// ---------------------------------------------------------------------------------------------
// graftcert/inspect: the model's structure, no numerics.

export type InspectParams = ModelTarget;

export const inspectRequest = new RequestType<InspectParams, InspectReport, void>('graftcert/inspect');

// ---------------------------------------------------------------------------------------------
// graftcert/bounds: output and per-ReLU-layer bounds under an L∞ ball (same JSON as `bounds --json`).

export interface BoundsParams extends ModelTarget, JobParams {
  eps: number;
  /** Default 'crown'. */
  method?: BoundMethod;
  /** Centre of the ball, C order, the model input's size. Default: all 0.5. */
  center?: number[];
  /** Clip the ball to [lo, hi] (e.g. [0, 1] for images). */
  clip?: [number, number];
  /** Also bound the margins y[label] - y[j] for every other class j. */
  margin?: number;
}

export const boundsRequest = new RequestType<BoundsParams, BoundsReport, void>('graftcert/bounds');

// ---------------------------------------------------------------------------------------------
// graftcert/certify: clean and certified (verified) accuracy over a data set at ε.

export interface CertifyParams extends ModelTarget, JobParams {
  /** `mnist`, `mnist:train`, or a path to IDX files, a `.npy` pair or a JSON data file. */
  data: string;
  eps: number;
  /** Number of samples from `offset` on. Default 100. */
  count?: number;
  /** Index of the first sample. Default 0. */
  offset?: number;
  /** Default 'crown'. */
  method?: BoundMethod;
  /** Clip the ball to [lo, hi]; default: the data set's value range ([0, 1] for MNIST). */
  clip?: [number, number];
  /** Worker threads; default min(2, available cores); 1 runs in the server process. */
  workers?: number;
}

/** One sample of a certify run (`certify --json` → `samples`). */
export interface CertifiedSample {
  /** Index in the data source (offset included). */
  index: number;
  label: number;
  /** Argmax of the float64 forward pass (lowest index on ties). */
  prediction: number;
  /** Correctly classified and every margin y[label] − y[j] has a lower bound > 0. */
  certified: boolean;
  /** Smallest margin lower bound over the other classes (≤ 0 when not certified). */
  margin_lower_min: number;
  /** Unstable neurons per ReLU layer at this sample's ball, in `layers` order. */
  unstable: number[];
}

/** The `certify --json` document (ARCHITECTURE.md contract) and the graftcert/certify result. */
export interface CertifyReport {
  model: string;
  data: string;
  eps: number;
  method: BoundMethod;
  /** Samples certified (fewer than asked when cancelled). */
  count: number;
  offset: number;
  /** The box every ball was clipped to. */
  clip: [number, number];
  /** Fraction of the samples classified correctly. */
  clean_accuracy: number;
  /** Fraction of the samples classified correctly and certified robust at eps. */
  certified_accuracy: number;
  /** Per ReLU layer, unstable/active/inactive/grafted averaged over the samples. */
  layers: LayerBoundsSummary[];
  samples: CertifiedSample[];
  time_s: number;
  samples_per_s: number;
  workers: number;
  /** True when the run was stopped early: the figures cover `samples` only. */
  cancelled: boolean;
}

export const certifyRequest = new RequestType<CertifyParams, CertifyReport, void>('graftcert/certify');

// ---------------------------------------------------------------------------------------------
// graftcert/graft: linearity grafting + fine-tuning, exporting a standard ONNX model.

export interface GraftParams extends ModelTarget, JobParams {
  /** Evaluation data (`mnist` = the test split; fine-tuning then uses `mnist:train`). */
  data: string;
  eps: number;
  /** Fraction of ReLU neurons to graft, in [0, 1]. */
  ratio: number;
  /** Fine-tuning epochs (default 1). */
  epochs?: number;
  /** 'graft' (default): a·x + b, trained; 'prune': a = b = 0, the baseline. */
  mode?: 'graft' | 'prune';
  /** Neuron ranking (default 'mixed'). */
  criterion?: 'magnitude' | 'instability' | 'mixed';
  /** Evaluation samples from the start of `data` (default 100). */
  count?: number;
  /** Path of the exported ONNX model. */
  out: string;
}

/** Accuracies and bounds of one model in a graft report (fractions in [0, 1]). */
export interface GraftEvaluation {
  count: number;
  cleanAccuracy: number;
  /** Correct clean and under PGD at eps (null when no attack ran). */
  pgdAccuracy: number | null;
  pgdSteps: number;
  /** CROWN-certified accuracy over `count` samples. */
  certifiedAccuracy: number;
  /** α-CROWN-certified accuracy over the first `alphaCount` samples (null when not run). */
  alphaCertifiedAccuracy: number | null;
  alphaCount: number;
  /** Per ReLU layer, CROWN's unstable/active/inactive/grafted counts averaged over the samples. */
  layers: LayerBoundsSummary[];
  /** Mean unstable neurons per sample, all layers together. */
  unstable: number;
  /** Seconds spent certifying (CROWN and α-CROWN). */
  time_s: number;
}

export interface GraftReport {
  out: string;
  eps: number;
  ratio: number;
  // The fields below are always set by graftcert's graft runs; optional so that hand-built reports stay valid.
  mode?: 'graft' | 'prune';
  criterion?: 'magnitude' | 'instability' | 'mixed';
  /** Neurons replaced by a linear function, all layers together. */
  grafted: number;
  /** Per ReLU layer after grafting (the `grafted` column is the graft mask's count). */
  layers: LayerBoundsSummary[];
  cleanAccuracyBefore: number;
  cleanAccuracyAfter: number;
  /** Unstable neurons summed over layers, before and after grafting (same bound method). */
  unstableBefore: number;
  unstableAfter: number;
  before?: GraftEvaluation;
  after?: GraftEvaluation;
  /** Fine-tuning: epochs run, the epoch kept (best validation PGD accuracy; 0 = none improved), per-epoch history. */
  finetune?: { epochs: number; bestEpoch: number; seconds: number; history: { epoch: number; loss: number | null; cleanAccuracy: number; pgdAccuracy: number | null }[] };
  time_s: number;
}

export const graftRequest = new RequestType<GraftParams, GraftReport, void>('graftcert/graft');

// ---------------------------------------------------------------------------------------------
// graftcert/verify: complete verification of one VNN-LIB property (PGD → α-CROWN → BaB).

export interface VerifyParams extends ModelTarget, JobParams {
  /** The `.vnnlib` property: a file system path or a `file:` URI. */
  property: string;
  timeout_s?: number;
  /** Write the VNN-COMP result file here too. */
  results?: string;
  /** Threads for branch-and-bound domains; default min(2, available cores); 1 keeps them in the server process. */
  workers?: number;
}

/** VNN-COMP result words: `unsat` = the property holds, `sat` = a counterexample exists. */
export type VerifyResult = 'sat' | 'unsat' | 'timeout' | 'unknown' | 'error';

export interface VerifyReport {
  result: VerifyResult;
  /** Present with `sat`: an input in the input set whose output meets the unsafe constraint. */
  counterexample: null | { x: number[]; y: number[] };
  /** Which stage decided it. */
  decidedBy: null | 'pgd' | 'bounds' | 'branch-and-bound';
  /** Branch-and-bound sub-problems visited (0 when decided before BaB). */
  branches: number;
  /** One sentence for `error`/`unknown`, otherwise null. */
  reason: string | null;
  time_s: number;
}

export const verifyRequest = new RequestType<VerifyParams, VerifyReport, void>('graftcert/verify');

// ---------------------------------------------------------------------------------------------
// graftcert/cancel: stop a running job by the jobId its request carried.

export interface CancelParams {
  jobId: string;
}

export interface CancelResult {
  /** False when no job with that id was running (already finished, or never started). */
  cancelled: boolean;
}

export const cancelRequest = new RequestType<CancelParams, CancelResult, void>('graftcert/cancel');

// ---------------------------------------------------------------------------------------------
// graftcert/modelText: the model in ONNX's textual syntax, for the read-only model text view.

export type ModelTextParams = ModelTarget;

/** Where a node is in `text` (0-based line), so a client can place things beside it. */
export interface ModelTextNode {
  name: string;
  opType: string;
  line: number;
}

export interface ModelTextResult {
  /** As onnx.printer prints it; initialisers are declared with their shapes, values elided. */
  text: string;
  nodes: ModelTextNode[];
}

export const modelTextRequest = new RequestType<ModelTextParams, ModelTextResult, void>('graftcert/modelText');

// ---------------------------------------------------------------------------------------------
// graftcert/backendStatus (server → client notification): the compute backend chosen at start-up.

export interface BackendStatusParams {
  /** The tfjs backend in use: 'tensorflow', 'webgpu', 'wasm' or 'cpu'; null when none could start. */
  backend: string | null;
  /** Why the preferred (or a faster) backend was not used, or why none could start. */
  detail?: string;
}

export const backendStatusNotification = new NotificationType<BackendStatusParams>('graftcert/backendStatus');

/** Every custom server → client notification (docs/protocol.md documents these too). */
export const allNotifications: readonly string[] = [backendStatusNotification.method];

/** Every custom request method, for the protocol doc test and for logging. */
export const allMethods: readonly string[] = [
  inspectRequest.method,
  boundsRequest.method,
  certifyRequest.method,
  graftRequest.method,
  verifyRequest.method,
  cancelRequest.method,
  modelTextRequest.method,
];
