// `graftcert verify <model.onnx> <property.vnnlib> ...`: complete verification, VNN-COMP result file.
import { basename } from 'node:path';
import { verifyProperty, type VerifyOutcome } from '../certify/verify/index';
import { readVnnlibFile, VnnlibError, writeResultFile, type VnnlibProperty } from '../certify/vnnlib/index';
import { sizeOf } from '../tensor/types';
import { applyLimitFlags, type Command, type CommandSpec, type FlagSpecs, InputError, jsonFlag, limitFlags, note, parseArgs, requireFile, writeResult } from './args';
import { loadModel } from './certify';

const spec = {
  name: 'verify',
  usage: 'verify <model.onnx> <property.vnnlib> [--timeout S] [--results FILE] [--workers N] [--json]',
  description:
    'Complete verification of a VNN-LIB property (VNN-COMP): falsification (sampling, PGD), then CROWN/α-CROWN,\n' +
    'then branch and bound (input splitting for small inputs, ReLU splitting otherwise). Result words:\n' +
    'unsat = the property holds, sat = a counterexample exists (re-checked in float64), timeout, unknown, error.\n' +
    'Exit 0 when a result was produced, 2 for bad input.',
  positionals: [
    { name: 'model.onnx', help: 'the ONNX model file' },
    { name: 'property.vnnlib', help: 'the VNN-LIB property (.vnnlib or .vnnlib.gz)' },
  ],
  flags: {
    timeout: { kind: 'number', value: 'S', min: 0, help: 'seconds before answering timeout (default 60)' },
    results: { kind: 'string', value: 'FILE', help: 'write the VNN-COMP result file here' },
    workers: { kind: 'number', value: 'N', integer: true, min: 1, help: 'threads for branch-and-bound domains (default min(2, cores); 1 = this thread)' },
    json: jsonFlag,
    ...limitFlags,
  },
} as const satisfies CommandSpec<FlagSpecs>;

/** The `verify --json` document. */
export interface VerifyJson {
  result: VerifyOutcome['result'];
  time_s: number;
  /** How it was decided: pgd, bounds, input-split, relu-split (null when undecided). */
  method: VerifyOutcome['method'];
  domains: number;
  counterexample?: { x: number[]; y: number[] };
  reason: string | null;
  phases: VerifyOutcome['phases'];
  /** Threads that bounded branch-and-bound domains, as certify's `workers` (1: this thread only). */
  workers: number;
  /** The branch-and-bound worker pool, when one started: threads, domains they bounded, seconds to the first ready. */
  pool: VerifyOutcome['pool'];
}

export const verifyCommand: Command = {
  name: spec.name,
  summary: 'verify a VNN-LIB property (sat/unsat) and write the VNN-COMP result file',
  usage: spec.usage,
  async run(argv, io) {
    const args = parseArgs(spec, argv, io);
    if (!args) return 0;
    applyLimitFlags(args.flags);
    const [modelFile, propertyFile] = args.positionals;
    const { flags } = args;
    const model = loadModel(modelFile);
    const property = loadProperty(propertyFile, model.graph);
    let outcome: VerifyOutcome;
    try {
      outcome = await verifyProperty(model.graph, property, { timeout_s: flags.timeout ?? 60, modelFile, workers: flags.workers });
    } catch (error) {
      // A crash still leaves a result file the VNN-COMP harness can read.
      if (flags.results !== undefined) writeResultFile(flags.results, { status: 'error' });
      throw error;
    }
    if (flags.results !== undefined) {
      try {
        writeResultFile(flags.results, outcome.counterexample !== null ? { status: 'sat', counterexample: outcome.counterexample } : { status: outcome.result });
      } catch (error) {
        throw new InputError(flags.results, `cannot write the result file (${(error as Error).message})`, 'check the folder exists and is writable');
      }
    }
    const doc = toVerifyJson(outcome);
    writeResult(io, flags.json, doc, () => formatVerify(basename(modelFile), basename(propertyFile), outcome));
    if (flags.json && outcome.reason !== null) note(io, `${outcome.result}: ${outcome.reason}`);
    return 0;
  },
};

/** Reads the property against the model's input and output sizes; every problem is bad input with line:column. */
export function loadProperty(file: string, graph: { inputs: readonly { shape: readonly number[] }[]; outputs: readonly { shape: readonly number[] }[] }): VnnlibProperty {
  requireFile(file, 'property');
  if (graph.inputs.length !== 1) throw new InputError(file, `the model has ${graph.inputs.length} inputs; VNN-LIB 1.0 properties need exactly one`);
  const nInputs = sizeOf(graph.inputs[0].shape);
  const nOutputs = sizeOf(graph.outputs[0].shape);
  let property: VnnlibProperty;
  try {
    property = readVnnlibFile(file, { nInputs, nOutputs });
  } catch (error) {
    if (error instanceof VnnlibError) throw new InputError(file, error.reason, undefined, { line: error.line, column: error.column });
    throw error;
  }
  if (property.nInputs !== nInputs || property.nOutputs !== nOutputs)
    throw new InputError(
      file,
      `declares ${property.nInputs} inputs and ${property.nOutputs} outputs but the model has ${nInputs} inputs and ${nOutputs} outputs`,
      'pair the property with the model it was written for',
    );
  return property;
}

export function toVerifyJson(o: VerifyOutcome): VerifyJson {
  const doc: VerifyJson = { result: o.result, time_s: o.time_s, method: o.method, domains: o.domains, reason: o.reason, phases: o.phases, workers: o.pool?.workers ?? 1, pool: o.pool };
  if (o.counterexample !== null) doc.counterexample = { x: Array.from(o.counterexample.x), y: Array.from(o.counterexample.y) };
  return doc;
}

const methodWords: Record<NonNullable<VerifyOutcome['method']>, string> = {
  pgd: 'falsified by sampling/PGD',
  bounds: 'verified by CROWN/α-CROWN bounds',
  'input-split': 'branch and bound (input splitting)',
  'relu-split': 'branch and bound (ReLU splitting)',
};

export function formatVerify(model: string, property: string, o: VerifyOutcome): string {
  const lines = [`${model} ⊨ ${property}: ${o.result}${o.result === 'unsat' ? ' (the property holds)' : o.result === 'sat' ? ' (counterexample found)' : ''}`];
  if (o.method !== null) lines.push(`  how     ${methodWords[o.method]}${o.domains > 0 ? `, ${o.domains} domains` : ''}`);
  if (o.pool !== null) lines.push(`  workers ${o.pool.workers} (bounded ${o.pool.domains} domains${o.pool.startup_s !== null ? `, ready after ${o.pool.startup_s.toFixed(2)} s` : ''})`);
  if (o.reason !== null) lines.push(`  reason  ${o.reason}`);
  lines.push(`  time    ${o.time_s.toFixed(2)} s (falsification ${o.phases.falsify_s.toFixed(2)} s, bounds ${o.phases.bounds_s.toFixed(2)} s, BaB ${o.phases.bab_s.toFixed(2)} s)`);
  if (o.counterexample !== null) {
    const show = (a: Float64Array) => (a.length <= 8 ? Array.from(a, (v) => v.toPrecision(6)).join(', ') : `${a.length} values`);
    lines.push(`  x       ${show(o.counterexample.x)}`, `  y       ${show(o.counterexample.y)} (meets disjunct ${o.counterexample.disjunct})`);
  }
  return lines.join('\n');
}
