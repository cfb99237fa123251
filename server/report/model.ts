// The Robustness Report: one JSON document behind the HTML report (CLI) and the report panel (VS Code).
//
// Pure data and pure functions only (no Node built-ins, no `vscode`): the webview bundle imports it.
// Every section is optional, so a bounds-only or certify-only run makes a valid report; the
// renderer shows the sections that are present and nothing else.
import type { BoundMethod } from '../protocol/reports';

export type { BoundMethod } from '../protocol/reports';

/** Marks a JSON document as a Robustness Report (a picked `.json` file is checked against it). */
export const reportKind = 'graftcert-robustness-report';
/** Bumped when a field changes meaning; readers accept this version only. */
export const reportVersion = 1;

/** The bound methods in the order the charts and tables list them. */
export const boundMethods: readonly BoundMethod[] = ['ibp', 'crown', 'alpha-crown'];

/** Display names of the bound methods. */
export const boundMethodLabels: Readonly<Record<BoundMethod, string>> = {
  ibp: 'IBP',
  crown: 'CROWN',
  'alpha-crown': 'α-CROWN',
};

/** Unstable neurons of one layer (or a total) per bound method; a method not run is absent. */
export type UnstableByMethod = Partial<Record<BoundMethod, number>>;

/** One ReLU (or grafted) layer: its unstable counts before and after grafting. */
export interface LayerUnstable {
  /** ONNX node name of the ReLU. */
  name: string;
  /** Neurons in the layer. */
  size: number;
  /** Neurons replaced by a linear function after grafting (0 or absent before grafting). */
  grafted?: number;
  /** The original model. */
  before?: UnstableByMethod;
  /** The grafted model (absent without grafting). */
  after?: UnstableByMethod;
}

/** Accuracies of one model, fractions in [0, 1]; a figure not measured is absent. */
export interface AccuracyFigures {
  clean?: number;
  /** Accuracy under the PGD attack at ε (an upper bound on the robust accuracy). */
  pgd?: number;
  /** Certified (verified) accuracy at ε (a lower bound on the robust accuracy). */
  certified?: number;
  /** Samples the figures were measured on. */
  count?: number;
}

/** One point of a certified-accuracy-versus-ε curve. */
export interface EpsPoint {
  eps: number;
  /** Certified accuracy, a fraction in [0, 1]. */
  certified: number;
}

/** One line of the certified-accuracy-versus-ε chart, e.g. "original" and "grafted". */
export interface EpsSeries {
  label: string;
  /** Which model the line belongs to; decides its colour. */
  model?: 'before' | 'after';
  points: EpsPoint[];
}

/** Grafting replaces neurons by a·x+b; pruning (a = b = 0) is the baseline of the sweep. */
export type SweepMode = 'graft' | 'prune';

/** One fine-tuned model of the grafting ratio sweep. */
export interface SweepPoint {
  /** Fraction of the ReLU neurons replaced, in [0, 1]. */
  ratio: number;
  mode: SweepMode;
  /** Accuracies, fractions in [0, 1]. */
  clean: number;
  pgd?: number;
  certified: number;
  /** Unstable neurons summed over the layers (with the sweep's bound method). */
  unstable?: number;
}

export interface RatioSweep {
  /** The method behind `certified` and `unstable`. */
  method?: BoundMethod;
  points: SweepPoint[];
}

/** One step's wall-clock time. */
export interface Timing {
  step: string;
  seconds: number;
}

/**
 * An input whose adversarial version changes the prediction: original and adversarial values in
 * C order. Shown as images when `shape` is image-like ([H, W], [C, H, W] or [H, W, C] with C 1 or 3,
 * a leading batch dimension of 1 allowed), otherwise as a value plot.
 */
export interface Counterexample {
  /** Index of the sample in the data set. */
  index?: number;
  label?: number;
  /** The model's input shape (the batch dimension may be included). */
  shape: number[];
  original: number[];
  adversarial: number[];
  /** Value range mapped to black..white; default: [0, 1]. */
  range?: [number, number];
  originalPrediction?: number;
  adversarialPrediction?: number;
  /** What found it, e.g. "PGD" or "branch and bound". */
  foundBy?: string;
}

export interface RobustnessReport {
  kind: typeof reportKind;
  version: typeof reportVersion;
  /** Model name (usually the file name). */
  model: string;
  /** The grafted model's name, when the report compares a model with its grafted version. */
  graftedModel?: string;
  /** ISO 8601 time of the run. */
  createdAt?: string;
  /** The L∞ radius of the headline figures. */
  eps?: number;
  /** The data set (`mnist`, a path, ...). */
  data?: string;
  /** Grafting ratio of the grafted model. */
  ratio?: number;
  accuracy?: { before?: AccuracyFigures; after?: AccuracyFigures };
  layers?: LayerUnstable[];
  certifiedVsEps?: { method?: BoundMethod; series: EpsSeries[] };
  ratioSweep?: RatioSweep;
  timings?: Timing[];
  counterexamples?: Counterexample[];
  /** One sentence each: caveats of the run (e.g. "cancelled after 40 samples"). */
  notes?: string[];
}

/** A report with nothing but its name: the start for builders. */
export function emptyReport(model: string): RobustnessReport {
  return { kind: reportKind, version: reportVersion, model };
}

/** Unstable neurons summed over the layers, per method and side (before/after). */
export function unstableTotals(layers: readonly LayerUnstable[], side: 'before' | 'after'): UnstableByMethod {
  const totals: UnstableByMethod = {};
  for (const method of boundMethods) {
    const counts = layers.map((layer) => layer[side]?.[method]);
    // A total is only meaningful when every layer has the count.
    if (counts.length > 0 && counts.every((count) => typeof count === 'number')) {
      totals[method] = (counts as number[]).reduce((sum, count) => sum + count, 0);
    }
  }
  return totals;
}

/** The methods that have a count in any layer, in display order. */
export function methodsPresent(layers: readonly LayerUnstable[]): BoundMethod[] {
  return boundMethods.filter((method) => layers.some((layer) => layer.before?.[method] !== undefined || layer.after?.[method] !== undefined));
}

/** How a counterexample is drawn: as an image (height × width × channels) or as values. */
export type ImageLayout = { height: number; width: number; channels: 1 | 3; channelsLast: boolean } | null;

/** The image layout of an input shape, or null when it is not image-like. */
export function imageLayout(shape: readonly number[]): ImageLayout {
  const dims = shape[0] === 1 && shape.length === 4 ? shape.slice(1) : [...shape];
  if (dims.length === 2 && dims.every((d) => d > 1)) return { height: dims[0], width: dims[1], channels: 1, channelsLast: false };
  if (dims.length === 3) {
    const [a, b, c] = dims;
    if ((a === 1 || a === 3) && b > 1 && c > 1) return { height: b, width: c, channels: a, channelsLast: false };
    if ((c === 1 || c === 3) && a > 1 && b > 1) return { height: a, width: b, channels: c, channelsLast: true };
  }
  return null;
}

/**
 * Checks that parsed JSON is a Robustness Report and returns it typed; throws one sentence that
 * says what is wrong (the caller adds the file name).
 */
export function parseReport(json: unknown): RobustnessReport {
  if (!isObject(json)) throw new Error('it is not a JSON object');
  if (json.kind !== reportKind) throw new Error(`it is not a graftcert Robustness Report ("kind" is not "${reportKind}")`);
  if (json.version !== reportVersion) {
    throw new Error(`it is a version ${String(json.version)} report; this graftcert reads version ${reportVersion}`);
  }
  if (typeof json.model !== 'string') throw new Error('its "model" is not a string');
  const arrays = ['layers', 'timings', 'counterexamples', 'notes'] as const;
  for (const key of arrays) {
    if (json[key] !== undefined && !Array.isArray(json[key])) throw new Error(`its "${key}" is not an array`);
  }
  for (const key of ['accuracy', 'certifiedVsEps', 'ratioSweep'] as const) {
    if (json[key] !== undefined && !isObject(json[key])) throw new Error(`its "${key}" is not an object`);
  }
  const curve = json.certifiedVsEps as Record<string, unknown> | undefined;
  if (curve && !Array.isArray(curve.series)) throw new Error('its "certifiedVsEps.series" is not an array');
  const sweep = json.ratioSweep as Record<string, unknown> | undefined;
  if (sweep && !Array.isArray(sweep.points)) throw new Error('its "ratioSweep.points" is not an array');
  for (const [i, example] of ((json.counterexamples as unknown[] | undefined) ?? []).entries()) {
    if (!isObject(example) || !Array.isArray(example.shape) || !Array.isArray(example.original) || !Array.isArray(example.adversarial)) {
      throw new Error(`its counterexample ${i} lacks "shape", "original" or "adversarial"`);
    }
    const size = (example.shape as number[]).reduce((p, d) => p * d, 1);
    if ((example.original as unknown[]).length !== size || (example.adversarial as unknown[]).length !== size) {
      throw new Error(`its counterexample ${i} does not have ${size} values (shape [${(example.shape as number[]).join(', ')}])`);
    }
  }
  return json as unknown as RobustnessReport;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
