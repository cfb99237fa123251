// `graftcert inspect <model.onnx> [--json]`: the model's inputs, outputs, ReLU layers and parameters.
import { formatInspect, inspectModelFile } from '../inspect';
import type { InspectReport } from '../protocol/reports';
import { applyLimitFlags, type Command, type CommandSpec, jsonFlag, limitFlags, parseArgs, requireFile, writeResult } from './args';
import { modelInputError } from './model-errors';

const spec = {
  name: 'inspect',
  usage: 'inspect <model.onnx> [--json]',
  description:
    'Loads an ONNX model and lists its inputs, outputs, nodes, ReLU layers, parameter count and any op\n' +
    'the engine cannot run. Exit 0 when the file decodes, 2 when it does not.',
  positionals: [{ name: 'model.onnx', help: 'the ONNX model file' }],
  flags: { json: jsonFlag, ...limitFlags },
} as const satisfies CommandSpec<{ json: typeof jsonFlag } & typeof limitFlags>;

export const inspectCommand: Command = {
  name: spec.name,
  summary: 'list a model\'s inputs, outputs, ReLU layers and parameters',
  usage: spec.usage,
  async run(argv, io) {
    const args = parseArgs(spec, argv, io);
    if (!args) return 0;
    applyLimitFlags(args.flags);
    const [file] = args.positionals;
    requireFile(file, 'model');
    let report: InspectReport;
    try {
      report = inspectModelFile(file);
    } catch (error) {
      throw modelInputError(file, error);
    }
    writeResult(io, args.flags.json, report, () => formatInspect(report));
    return 0;
  },
};
