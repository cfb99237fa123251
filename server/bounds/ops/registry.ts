// The explicit registry of bound ops: ONNX op type → builder. Everything else is unsupported, reported together.
import type { IRNode } from '../../ir/graph';
import { GraftedReluBound, ReluBound, SigmoidBound, TanhBound } from './activation';
import { ConvBound, ConvTransposeBound } from './conv';
import { GemmBound, MatMulBound } from './dense';
import { AddBound, BatchNormalizationBound, DivBound, MulBound, NegBound, RelabelBound, SubBound } from './elementwise';
import { AveragePoolBound, GlobalAveragePoolBound, MaxPoolBound } from './pool';
import { ConcatBound, ExpandBound, GatherBound, PadBound, SliceBound, SplitBound, TransposeBound } from './shape';
import type { BoundOpBuilder } from './types';

const builders: ReadonlyMap<string, BoundOpBuilder> = new Map<string, BoundOpBuilder>([
  ['Gemm', GemmBound.build],
  ['MatMul', MatMulBound.build],
  ['Conv', ConvBound.build],
  ['ConvTranspose', ConvTransposeBound.build],
  ['BatchNormalization', BatchNormalizationBound.build],
  ['Add', AddBound.build],
  ['Sub', SubBound.build],
  ['Mul', MulBound.build],
  ['Div', DivBound.build],
  ['Neg', NegBound.build],
  ['Identity', RelabelBound.build],
  ['Dropout', RelabelBound.build],
  ['Flatten', RelabelBound.build],
  ['Reshape', RelabelBound.build],
  ['Squeeze', RelabelBound.build],
  ['Unsqueeze', RelabelBound.build],
  ['Transpose', TransposeBound.build],
  ['Slice', SliceBound.build],
  ['Gather', GatherBound.build],
  ['Concat', ConcatBound.build],
  ['Pad', PadBound.build],
  ['Split', SplitBound.build],
  ['Expand', ExpandBound.build],
  ['AveragePool', AveragePoolBound.build],
  ['GlobalAveragePool', GlobalAveragePoolBound.build],
  ['MaxPool', MaxPoolBound.build],
  ['Relu', ReluBound.build],
  ['GraftedRelu', GraftedReluBound.build],
  ['Sigmoid', SigmoidBound.build],
  ['Tanh', TanhBound.build],
]);

export function boundOpBuilder(node: IRNode): BoundOpBuilder | undefined {
  return builders.get(node.opType);
}

export function supportedBoundOps(): string[] {
  return [...builders.keys()];
}
