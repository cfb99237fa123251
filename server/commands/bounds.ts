// `graftcert bounds <model.onnx> --eps E ...`: IBP / CROWN / α-CROWN bounds of a model over an L∞ box.
import { readFileSync } from 'node:fs';
import { loadModelFile } from '../onnx/load';
import type { BoundMethod, BoundsReport } from '../protocol/reports';
import { buildBoundGraph, computeBounds, linfBall, marginSpec, toBoundsReport, UnsupportedModelError, type BoundGraph } from '../bounds/index';
import { applyLimitFlags, type Command, type CommandSpec, InputError, jsonFlag, limitFlags, note, parseArgs, requireFile, writeResult } from './args';
import { modelInputError } from './model-errors';

const flags = {
  eps: { kind: 'number', value: 'E', required: true, help: 'L∞ radius of the input box (> 0)' },
  center: { kind: 'string', value: 'FILE', help: 'JSON center: a flat array (C order) or {"x0": [...]}; default all 0.5' },
  method: { kind: 'string', value: 'M', choices: ['ibp', 'crown', 'alpha-crown'], help: 'ibp, crown (default) or alpha-crown' },
  clip: { kind: 'string', value: 'LO,HI', help: 'clip the box to [LO, HI] (e.g. 0,1 for pixels)' },
  margin: { kind: 'number', value: 'LABEL', integer: true, help: 'also bound the margins y_LABEL − y_j (certified iff all > 0)' },
  json: jsonFlag,
  ...limitFlags,
} as const;

const spec = {
  name: 'bounds',
  usage: 'bounds <model.onnx> --eps E [--center FILE] [--method ibp|crown|alpha-crown] [--clip LO,HI] [--margin LABEL] [--json]',
  description:
    'Bounds every output of the model over the L∞ box of radius E around the center, with IBP, CROWN or\n' +
    'α-CROWN, and counts the unstable, active and inactive neurons of each ReLU layer.',
  positionals: [{ name: 'model.onnx', help: 'the ONNX model file' }],
  flags,
} as const satisfies CommandSpec<typeof flags>;

function readCenter(file: string, size: number): number[] {
  requireFile(file, 'center');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `is not valid JSON (${(e as Error).message})`, 'give a flat array of numbers or {"x0": [...]}');
  }
  const arr = Array.isArray(doc) ? doc : doc !== null && typeof doc === 'object' ? (doc as { x0?: unknown }).x0 : undefined;
  if (!Array.isArray(arr) || !arr.every((v) => typeof v === 'number' && Number.isFinite(v)))
    throw new InputError(file, 'holds no array of finite numbers', 'give a flat array of numbers or {"x0": [...]}');
  if (arr.length !== size)
    throw new InputError(file, `has ${arr.length} numbers but the model input has ${size}`, `give ${size} numbers in C order`);
  return arr as number[];
}

function parseClip(text: string): [number, number] {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || parts[0] > parts[1])
    throw new InputError('--clip', `'${text}' is not LO,HI with LO ≤ HI`, 'e.g. --clip 0,1');
  return [parts[0], parts[1]];
}

const fmt = (v: number): string => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : v.toFixed(5));

export function formatBounds(report: BoundsReport, notes: string[]): string {
  const lines = [`method ${report.method}, eps ${report.eps}, ${report.time_s.toFixed(3)} s`];
  lines.push(...notes);
  if (report.layers.length > 0) {
    lines.push('', 'layer'.padEnd(24) + 'size'.padStart(7) + 'unstable'.padStart(10) + 'active'.padStart(8) + 'inactive'.padStart(10) + 'grafted'.padStart(9));
    for (const l of report.layers)
      lines.push(l.name.padEnd(24) + String(l.size).padStart(7) + String(l.unstable).padStart(10) + String(l.active).padStart(8) + String(l.inactive).padStart(10) + String(l.grafted).padStart(9));
  }
  lines.push('', 'output'.padEnd(8) + 'lower'.padStart(14) + 'upper'.padStart(14));
  report.output.lower.forEach((l, i) => lines.push(String(i).padEnd(8) + fmt(l).padStart(14) + fmt(report.output.upper[i]).padStart(14)));
  if (report.margin !== null) {
    const m = report.margin;
    const certified = m.lower.every((v) => v > 0);
    lines.push('', `margins of label ${m.label} (y_${m.label} − y_j): ${certified ? 'certified' : 'not certified'}`);
    m.others.forEach((j, k) => lines.push(`  j=${j}`.padEnd(8) + fmt(m.lower[k]).padStart(14)));
  }
  return lines.join('\n') + '\n';
}

export const boundsCommand: Command = {
  name: spec.name,
  summary: 'IBP / CROWN / α-CROWN bounds of a model over an L∞ box, per-layer unstable ReLUs',
  usage: spec.usage,
  async run(argv, io) {
    const args = parseArgs(spec, argv, io);
    if (!args) return 0;
    applyLimitFlags(args.flags);
    const [file] = args.positionals;
    const eps = args.flags.eps;
    if (!Number.isFinite(eps) || eps <= 0) throw new InputError('--eps', `must be a number > 0, got ${eps}`, 'e.g. --eps 0.02');
    const method = (args.flags.method ?? 'crown') as BoundMethod;
    const clip = args.flags.clip !== undefined ? parseClip(args.flags.clip) : null;
    requireFile(file, 'model');
    let bg: BoundGraph;
    try {
      bg = buildBoundGraph(loadModelFile(file).graph, method);
    } catch (error) {
      if (error instanceof UnsupportedModelError) throw new InputError(file, error.message.replace(/\.\s*Remove.*$/, ''), 'remove or replace them, or use a model without them');
      throw modelInputError(file, error);
    }
    const center = args.flags.center !== undefined ? readCenter(args.flags.center, bg.inputSize) : new Array<number>(bg.inputSize).fill(0.5);
    let margin: ReturnType<typeof marginSpec> | null = null;
    if (args.flags.margin !== undefined) {
      const label = args.flags.margin;
      if (label < 0 || label >= bg.outputSize)
        throw new InputError('--margin', `label ${label} is out of range: the model has ${bg.outputSize} outputs`, `give a label from 0 to ${bg.outputSize - 1}`);
      margin = marginSpec(bg.outputSize, label);
    }
    const result = computeBounds(bg, linfBall(center, eps, clip), { method, spec: margin ?? undefined });
    const report = toBoundsReport(result, eps, margin);
    const notes: string[] = [];
    if (report.layers.length === 0) notes.push('the model has no ReLU layers: the bounds are of its affine/other ops only.');
    if (args.flags.json) for (const n of notes) note(io, n);
    writeResult(io, args.flags.json, report, () => formatBounds(report, notes));
    return 0;
  },
};
