// The op registry: the forward-pass definition of every supported ONNX op of the default domain.
import type { OpDef } from './types';
import { Add, Sub, Mul, Div, Pow } from './binary';
import { Neg, Relu, LeakyRelu, Sigmoid, Tanh, Exp, Abs, Sqrt, Sign, Clip } from './unary';
import { Gemm } from './gemm';
import { MatMul } from './matmul';
import { Conv } from './conv';
import { ConvTranspose } from './convTranspose';
import { BatchNormalization } from './batchNormalization';
import { AveragePool, MaxPool, GlobalAveragePool } from './pool';
import { Pad } from './pad';
import { Reshape, Flatten, Squeeze, Unsqueeze } from './reshape';
import { Transpose } from './transpose';
import { Concat, Split } from './concat';
import { Slice } from './slice';
import { Identity, Dropout } from './identity';
import { Softmax } from './softmax';
import { Shape, Cast, ConstantOfShape, Constant } from './shape';
import { Gather, Expand } from './gather';
import { ReduceMean, ReduceSum } from './reduce';
import { GraftedRelu } from './graftedRelu';

const REGISTRY: ReadonlyMap<string, OpDef> = new Map(
  [
    Gemm, MatMul, Add, Sub, Mul, Div, Neg, Relu, LeakyRelu, Sigmoid, Tanh, Exp, Abs, Sqrt, Pow, Sign, Clip,
    Conv, ConvTranspose, BatchNormalization, AveragePool, MaxPool, GlobalAveragePool, Pad, Flatten, Reshape,
    Transpose, Squeeze, Unsqueeze, Concat, Slice, Split, Identity, Dropout, Softmax, Shape, Gather, Cast,
    ConstantOfShape, Expand, ReduceMean, ReduceSum, Constant,
  ].map((op) => [op.opType, op]),
);

/** graftcert's own ops (domain `graftcert`): the grafted ReLU, which the loader also recognises in standard ONNX. */
const GRAFTCERT_OPS: ReadonlyMap<string, OpDef> = new Map([[GraftedRelu.opType, GraftedRelu]]);

/** The definition of `opType` in `domain` ('' or 'ai.onnx', or 'graftcert'), or undefined when unsupported. */
export function getOp(opType: string, domain: string): OpDef | undefined {
  if (domain === 'graftcert') return GRAFTCERT_OPS.get(opType);
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  return REGISTRY.get(opType);
}

/** Every supported op type of the default domain, sorted. */
export function supportedOps(): string[] {
  return [...REGISTRY.keys()].sort();
}
