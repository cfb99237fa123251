// A trainable tfjs copy of a Graph (weights as tf.variable, ReLUs optionally grafted), exportable back to a Graph.
import * as tf from '@tensorflow/tfjs';
import type { Graph, IRNode, IRValue, Tensor } from '../ir/graph';
import { seededNormal, seededRandom } from '../tensor/tfjs';

/** A ReLU layer of the network, in graph order; `layerIndex` in the graft API is the position in this list. */
export interface ReluLayer {
  readonly node: string;
  readonly input: string;
  readonly output: string;
  /** Per-sample activation shape (the IR shape without its batch dimension). */
  readonly shape: readonly number[];
  readonly size: number;
}

/** The grafted activation of one layer: y = (1 − m)·relu(x) + m·(a·x + b), per neuron. */
export interface GraftState {
  readonly mask: Uint8Array;
  readonly slope: Float32Array;
  readonly intercept: Float32Array;
}

export interface MlpOptions {
  /** Seed of the weight initialisation (He normal, zero biases). */
  readonly seed?: number;
  /** Model input shape with its batch dimension, e.g. [1, 1, 28, 28]; default [1, sizes[0]]. */
  readonly inputShape?: readonly number[];
  readonly inputName?: string;
  readonly outputName?: string;
  readonly name?: string;
}

/** Ops the network can train through; anything else is reported together in one error. */
export const SUPPORTED_OPS: readonly string[] = [
  'Flatten', 'Reshape', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Conv', 'BatchNormalization', 'Relu',
  'Identity', 'Dropout', 'GraftedRelu',
];

/** How `toGraph` writes a grafted layer (GRAFTING.md §5). */
export type GraftExportForm =
  /** `Relu(x ⊙ (1 − m)) + (a ⊙ m) ⊙ x + (b ⊙ m)` in standard ops: runs in onnxruntime and other tools. */
  | 'standard-onnx'
  /** One `GraftedRelu` node (domain `graftcert`, inputs [x, mask, slope, intercept]): what the bounds engine reads. */
  | 'grafted-relu';

type Env = Map<string, tf.Tensor>;
/** An interval as centre and radius (IBP through affine maps: c' = Wc + b, r' = |W|r). */
interface Box { readonly c: tf.Tensor; readonly r: tf.Tensor }
type IntervalStep = (env: Map<string, Box>, batch: number, record: (layer: number, lower: tf.Tensor, upper: tf.Tensor) => void) => void;
type Step = (env: Env, batch: number, recordPreActivation?: (layer: number, z: tf.Tensor) => void, shifts?: readonly tf.Tensor[]) => void;

interface Graft {
  readonly mask: tf.Tensor; // [1, ...shape] float32 of 0/1, fixed
  readonly hostMask: Uint8Array; // the same mask on the host: read without a device round trip
  readonly keep: tf.Tensor; // 1 − mask
  readonly slope: tf.Variable;
  readonly intercept: tf.Variable;
}

/** Whether the current backend implements a kernel (wasm lacks the convolution filter gradients). */
function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/**
 * The one-hot kernel [kh, kw, C, kh·kw·C] whose convolution extracts each output position's receptive field,
 * ordered (i, j, c) like a [kh, kw, C, O] filter flattened to rows. Convolution with it followed by a product
 * with the flattened filter is the convolution itself (im2col), but trains through MatMul's gradient, which
 * every backend has; the input gradient goes through Conv2DBackpropInput, which wasm has.
 */
function identityPatchKernel(kh: number, kw: number, channels: number): tf.Tensor4D {
  const depth = kh * kw * channels;
  const data = new Float32Array(kh * kw * channels * depth);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let c = 0; c < channels; c++) {
        const row = (i * kw + j) * channels + c;
        data[row * depth + row] = 1;
      }
    }
  }
  return tf.tensor4d(data, [kh, kw, channels, depth]);
}

function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function intsAttr(node: IRNode, name: string, fallback: readonly number[]): readonly number[] {
  const a = node.attrs[name];
  return a !== undefined && a.kind === 'ints' ? a.value : fallback;
}

function numAttr(node: IRNode, name: string, fallback: number): number {
  const a = node.attrs[name];
  return a !== undefined && (a.kind === 'int' || a.kind === 'float') ? a.value : fallback;
}

function strAttr(node: IRNode, name: string, fallback: string): string {
  const a = node.attrs[name];
  return a !== undefined && a.kind === 'string' ? a.value : fallback;
}

export class TrainableNetwork {
  readonly graph: Graph;
  readonly inputName: string;
  readonly outputName: string;
  /** Model input shape with batch dimension, as in the graph (e.g. [1, 1, 28, 28]). */
  readonly inputShape: readonly number[];
  readonly reluLayers: readonly ReluLayer[];

  private readonly steps: Step[] = [];
  /** Trainable copies of graph constants, by constant name. */
  private readonly variables = new Map<string, tf.Variable>();
  /** Variables stored as the transpose of their constant. */
  private readonly transposed = new Set<string>();
  /** Fixed tensors (normalisation constants, BN statistics), by constant name. */
  private readonly fixed = new Map<string, tf.Tensor>();
  private readonly grafts = new Map<number, Graft>();
  /** Interval (IBP) steps, compiled on first use by `intervalPreActivations`. */
  private intervalSteps: IntervalStep[] | undefined;
  private disposed = false;

  constructor(graph: Graph) {
    if (graph.inputs.length !== 1) throw new Error(`The trainable network needs a model with one input, '${graph.name}' has ${graph.inputs.length}.`);
    if (graph.outputs.length !== 1) throw new Error(`The trainable network needs a model with one output, '${graph.name}' has ${graph.outputs.length}.`);
    const unsupported = [...new Set(graph.nodes
      .filter((n) => !SUPPORTED_OPS.includes(n.opType) || (n.domain !== '' && n.opType !== 'GraftedRelu'))
      .map((n) => n.opType))];
    if (unsupported.length > 0) {
      throw new Error(`Model '${graph.name}' uses ops the trainer does not support: ${unsupported.join(', ')} (supported: ${SUPPORTED_OPS.join(', ')}).`);
    }
    this.graph = graph;
    this.inputName = graph.inputs[0].name;
    this.outputName = graph.outputs[0].name;
    this.inputShape = graph.inputs[0].shape;
    const relus: ReluLayer[] = [];
    const producers = new Map<string, IRNode>();
    for (const n of graph.nodes) for (const o of n.outputs) producers.set(o, n);
    this.reluLayers = relus;
    try {
      for (const node of graph.nodes) this.steps.push(this.compile(node, producers, relus));
      relus.forEach((layer, index) => {
        const node = graph.nodes.find((n) => n.name === layer.node)!;
        if (node.opType === 'GraftedRelu') this.setGraft(index, ...this.graftConstants(node, layer));
      });
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /** A fully connected ReLU network Flatten → (Gemm → Relu)* → Gemm with He-normal weights, for training from scratch. */
  static mlp(sizes: readonly number[], options: MlpOptions = {}): TrainableNetwork {
    return new TrainableNetwork(mlpGraph(sizes, options));
  }

  // ---- construction -------------------------------------------------------------------------------------

  private shapeOf(name: string): readonly number[] {
    const v = this.graph.values.get(name);
    if (v === undefined) throw new Error(`Value '${name}' has no known shape in model '${this.graph.name}'.`);
    return v.shape;
  }

  /**
   * The trainable copy of constant `name`. `transposed` stores a matrix as its transpose: Gemm(transB=1) weights
   * are kept as [K, N] so every product runs untransposed (the fast path of the wasm backend).
   */
  private variable(name: string, dims?: readonly number[], transposed = false): tf.Variable {
    let v = this.variables.get(name);
    if (v !== undefined) {
      if (this.transposed.has(name) !== transposed) throw new Error(`Constant '${name}' is used both as a transposed and as a plain weight.`);
      return v;
    }
    const c = this.graph.constants.get(name)!;
    v = tf.tidy(() => {
      const t = tf.tensor(Float32Array.from(c.data), [...(dims ?? c.dims)], 'float32');
      return tf.variable(transposed ? t.transpose() : t, true);
    });
    this.variables.set(name, v);
    if (transposed) this.transposed.add(name);
    return v;
  }

  private constant(name: string, dims?: readonly number[]): tf.Tensor {
    let t = this.fixed.get(name);
    if (t === undefined) {
      const c = this.graph.constants.get(name)!;
      t = tf.keep(tf.tensor(Float32Array.from(c.data), [...(dims ?? c.dims)], 'float32'));
      this.fixed.set(name, t);
    }
    return t;
  }

  private isConstant(name: string): boolean {
    return this.graph.constants.has(name);
  }

  private compile(node: IRNode, producers: Map<string, IRNode>, relus: ReluLayer[]): Step {
    const where = `${node.opType} node '${node.name}'`;
    const [in0, in1, in2] = node.inputs;
    const out = node.outputs[0];
    const get = (env: Env, name: string): tf.Tensor => {
      const t = env.get(name);
      if (t === undefined) throw new Error(`${where}: input '${name}' was not computed.`);
      return t;
    };
    const batchShape = (b: number): number[] => [b, ...this.shapeOf(out).slice(1)];

    switch (node.opType) {
      case 'Identity':
      case 'Dropout':
        return (env) => void env.set(out, get(env, in0));

      case 'Flatten': {
        if (numAttr(node, 'axis', 1) !== 1) throw new Error(`${where}: only axis=1 keeps the batch dimension; got axis=${numAttr(node, 'axis', 1)}.`);
        return (env, b) => void env.set(out, get(env, in0).reshape([b, -1]));
      }

      case 'Reshape':
        return (env, b) => void env.set(out, get(env, in0).reshape(batchShape(b)));

      case 'Gemm': {
        if (numAttr(node, 'transA', 0) !== 0) throw new Error(`${where}: transA=1 would mix the batch dimension; export the model with transA=0.`);
        if (this.isConstant(in0) || !this.isConstant(in1)) throw new Error(`${where}: expects a data input A and a constant weight B.`);
        const transB = numAttr(node, 'transB', 0) !== 0;
        const alpha = numAttr(node, 'alpha', 1);
        const beta = numAttr(node, 'beta', 1);
        const w = this.variable(in1, undefined, transB); // [K, N]
        const c = in2 !== undefined && in2 !== '' ? this.variable(in2) : undefined;
        return (env) => {
          let y = tf.matMul(get(env, in0), w);
          if (alpha !== 1) y = y.mul(alpha);
          if (c !== undefined) y = y.add(beta === 1 ? c : c.mul(beta));
          env.set(out, y);
        };
      }

      case 'MatMul': {
        if (this.isConstant(in0) || !this.isConstant(in1)) throw new Error(`${where}: expects a data input times a constant weight matrix.`);
        const w = this.variable(in1);
        if (w.rank !== 2) throw new Error(`${where}: the weight must be a matrix, got shape [${w.shape.join(', ')}].`);
        return (env) => {
          const x = get(env, in0);
          if (x.rank === 2) return void env.set(out, tf.matMul(x, w));
          const xShape = x.shape as number[];
          const outShape = [...xShape.slice(0, -1), (w.shape as number[])[1]];
          env.set(out, tf.matMul(x.reshape([-1, xShape[xShape.length - 1]]), w).reshape(outShape));
        };
      }

      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        // A constant added right after a MatMul is its bias and trains; other constants (normalisation) stay fixed.
        const operand = (name: string, other: string): ((env: Env) => tf.Tensor) => {
          if (!this.isConstant(name)) return (env) => get(env, name);
          const isBias = node.opType === 'Add' && producers.get(other)?.opType === 'MatMul';
          const t = isBias ? this.variable(name) : this.constant(name);
          return () => t;
        };
        const a = operand(in0, in1);
        const b = operand(in1, in0);
        const op = { Add: tf.add, Sub: tf.sub, Mul: tf.mul, Div: tf.div }[node.opType as 'Add' | 'Sub' | 'Mul' | 'Div'];
        return (env) => void env.set(out, op(a(env), b(env)));
      }

      case 'Conv':
        return this.compileConv(node, where, get);

      case 'BatchNormalization': {
        const channels = this.shapeOf(in0)[1];
        const rank = this.shapeOf(in0).length;
        const paramShape = [channels, ...new Array<number>(Math.max(0, rank - 2)).fill(1)];
        const eps = numAttr(node, 'epsilon', 1e-5);
        const [, , , meanName, varName] = node.inputs;
        for (const n of [in1, in2, meanName, varName]) {
          if (!this.isConstant(n)) throw new Error(`${where}: scale, bias, mean and variance must be constants (inference mode).`);
        }
        const scale = this.variable(in1, paramShape);
        const bias = this.variable(in2, paramShape);
        const mean = this.constant(meanName, paramShape);
        const invStd = tf.keep(tf.tidy(() => tf.rsqrt(this.constant(varName, paramShape).add(eps))));
        this.fixed.set(`${node.name}#invStd`, invStd);
        return (env) => void env.set(out, get(env, in0).sub(mean).mul(invStd).mul(scale).add(bias));
      }

      case 'Relu':
      case 'GraftedRelu': {
        const layer = relus.length;
        const shape = this.shapeOf(in0).slice(1);
        relus.push({ node: node.name, input: in0, output: out, shape, size: sizeOf(shape) });
        return (env, _b, record, shifts) => {
          // A shift added to the pre-activation (zero) lets tf.grads read ∂loss/∂z (gradient significance).
          const z = shifts === undefined ? get(env, in0) : get(env, in0).add(shifts[layer].reshape(get(env, in0).shape));
          record?.(layer, z);
          const g = this.grafts.get(layer);
          if (g === undefined) return void env.set(out, tf.relu(z));
          env.set(out, tf.relu(z).mul(g.keep).add(z.mul(g.slope).add(g.intercept).mul(g.mask)));
        };
      }
    }
    throw new Error(`${where}: unsupported.`);
  }

  private compileConv(node: IRNode, where: string, get: (env: Env, name: string) => tf.Tensor): Step {
    const [in0, in1, in2] = node.inputs;
    const out = node.outputs[0];
    const xShape = this.shapeOf(in0);
    if (xShape.length !== 4) throw new Error(`${where}: only 2-D convolutions (4-D input) are supported, got [${xShape.join(', ')}].`);
    if (!this.isConstant(in1)) throw new Error(`${where}: the kernel must be a constant.`);
    const autoPad = strAttr(node, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new Error(`${where}: auto_pad=${autoPad} is not supported; export explicit pads.`);
    const w = this.variable(in1); // ONNX layout [O, I/group, kh, kw]
    const [outChannels, perGroup, kh, kw] = w.shape as number[];
    const inChannels = xShape[1];
    const group = numAttr(node, 'group', 1);
    const depthwise = group > 1 && group === inChannels && perGroup === 1;
    if (group !== 1 && !depthwise) throw new Error(`${where}: group=${group} is supported only as a depthwise convolution.`);
    const strides = intsAttr(node, 'strides', [1, 1]);
    const dilations = intsAttr(node, 'dilations', [1, 1]);
    const pads = autoPad === 'VALID' ? [0, 0, 0, 0] : intsAttr(node, 'pads', [0, 0, 0, 0]);
    const padding: [[number, number], [number, number], [number, number], [number, number]] =
      [[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]];
    const bias = in2 !== undefined && in2 !== '' ? this.variable(in2) : undefined;
    const multiplier = outChannels / inChannels;
    const stride: [number, number] = [strides[0], strides[1]];
    const dilation: [number, number] = [dilations[0], dilations[1]];
    // Patch extraction for backends without a filter gradient kernel (wasm): built once, on first use.
    let patchKernel: tf.Tensor4D | undefined;
    /** Receptive fields [B·H'·W', kh·kw·C] and the output's [B, H', W'] dims. */
    const patches = (x: tf.Tensor4D): { rows: tf.Tensor2D; dims: [number, number, number] } => {
      if (patchKernel === undefined) {
        patchKernel = tf.keep(identityPatchKernel(kh, kw, inChannels));
        this.fixed.set(`${node.name}#patches`, patchKernel);
      }
      const p = tf.conv2d(x, patchKernel, stride, padding, 'NHWC', dilation);
      return { rows: p.reshape([-1, kh * kw * inChannels]) as tf.Tensor2D, dims: [p.shape[0], p.shape[1], p.shape[2]] };
    };
    return (env) => {
      // tfjs convolves NHWC: transpose in and out so the rest of the graph keeps ONNX's NCHW.
      const x = get(env, in0).transpose([0, 2, 3, 1]) as tf.Tensor4D;
      const im2col = !hasKernel(depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter');
      let y: tf.Tensor4D;
      if (depthwise) {
        // filter [kh, kw, C, multiplier]; output channel c·multiplier + k, as ONNX's group convolution orders them.
        const filter = w.reshape([inChannels, multiplier, kh, kw]).transpose([2, 3, 0, 1]) as tf.Tensor4D;
        if (im2col) {
          const { rows, dims } = patches(x);
          y = rows.reshape([-1, kh * kw, inChannels, 1]).mul(filter.reshape([1, kh * kw, inChannels, multiplier]))
            .sum(1).reshape([...dims, outChannels]);
        } else {
          y = tf.depthwiseConv2d(x, filter, stride, padding, 'NHWC', dilation);
        }
      } else {
        const filter = w.transpose([2, 3, 1, 0]) as tf.Tensor4D; // [kh, kw, C, O]
        if (im2col) {
          const { rows, dims } = patches(x);
          y = tf.matMul(rows, filter.reshape([kh * kw * inChannels, outChannels])).reshape([...dims, outChannels]);
        } else {
          y = tf.conv2d(x, filter, stride, padding, 'NHWC', dilation);
        }
      }
      if (bias !== undefined) y = y.add(bias);
      env.set(out, y.transpose([0, 3, 1, 2]));
    };
  }

  // ---- interval bounds (IBP) in tfjs, differentiable: for bound-based regularisers ------------------------

  /**
   * IBP bounds of every ReLU layer's pre-activation [B, size] for the input box [lower, upper] ([B, ...]), as
   * differentiable tfjs tensors (the ReLU-stability regulariser trains through them). Fully connected graphs only
   * (Gemm, MatMul, elementwise ops with constants, Flatten/Reshape, BatchNormalization, (grafted) ReLU). Use inside tf.tidy.
   */
  intervalPreActivations(lower: tf.Tensor, upper: tf.Tensor): { lower: tf.Tensor2D; upper: tf.Tensor2D }[] {
    if (this.intervalSteps === undefined) {
      const producers = new Map<string, IRNode>();
      for (const n of this.graph.nodes) for (const o of n.outputs) producers.set(o, n);
      let layer = 0;
      this.intervalSteps = this.graph.nodes.map((n) => this.compileInterval(n, producers, () => layer++));
    }
    const batch = lower.shape[0];
    const shape = [batch, ...this.inputShape.slice(1)];
    const l = lower.reshape(shape), u = upper.reshape(shape);
    const env = new Map<string, Box>([[this.inputName, { c: l.add(u).div(2), r: u.sub(l).div(2) }]]);
    const out: { lower: tf.Tensor2D; upper: tf.Tensor2D }[] = new Array(this.reluLayers.length);
    for (const step of this.intervalSteps) {
      step(env, batch, (k, lo, hi) => { out[k] = { lower: lo.reshape([batch, -1]) as tf.Tensor2D, upper: hi.reshape([batch, -1]) as tf.Tensor2D }; });
    }
    return out;
  }

  private compileInterval(node: IRNode, producers: Map<string, IRNode>, nextLayer: () => number): IntervalStep {
    const where = `${node.opType} node '${node.name}'`;
    const [in0, in1, in2] = node.inputs;
    const out = node.outputs[0];
    const get = (env: Map<string, Box>, name: string): Box => {
      const b = env.get(name);
      if (b === undefined) throw new Error(`${where}: input '${name}' was not bounded.`);
      return b;
    };
    const outShape = (b: number): number[] => [b, ...this.shapeOf(out).slice(1)];
    switch (node.opType) {
      case 'Identity':
      case 'Dropout':
        return (env) => void env.set(out, get(env, in0));
      case 'Flatten':
        return (env, b) => { const x = get(env, in0); env.set(out, { c: x.c.reshape([b, -1]), r: x.r.reshape([b, -1]) }); };
      case 'Reshape':
        return (env, b) => { const x = get(env, in0); env.set(out, { c: x.c.reshape(outShape(b)), r: x.r.reshape(outShape(b)) }); };
      case 'Gemm': {
        const transB = numAttr(node, 'transB', 0) !== 0;
        const alpha = numAttr(node, 'alpha', 1);
        const beta = numAttr(node, 'beta', 1);
        const w = this.variable(in1, undefined, transB);
        const c = in2 !== undefined && in2 !== '' ? this.variable(in2) : undefined;
        return (env) => {
          const x = get(env, in0);
          let centre = tf.matMul(x.c, w).mul(alpha);
          if (c !== undefined) centre = centre.add(c.mul(beta));
          env.set(out, { c: centre, r: tf.matMul(x.r, w.abs()).mul(Math.abs(alpha)) });
        };
      }
      case 'MatMul': {
        const w = this.variable(in1);
        return (env) => {
          const x = get(env, in0);
          env.set(out, { c: tf.matMul(x.c.reshape([-1, x.c.shape[x.c.rank - 1]]), w).reshape(outShape(x.c.shape[0])), r: tf.matMul(x.r.reshape([-1, x.r.shape[x.r.rank - 1]]), w.abs()).reshape(outShape(x.r.shape[0])) });
        };
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const constName = this.isConstant(in1) ? in1 : this.isConstant(in0) ? in0 : undefined;
        if (constName === undefined) {
          if (node.opType !== 'Add' && node.opType !== 'Sub') throw new Error(`${where}: the interval bounds support ${node.opType} by a constant only.`);
          return (env) => {
            const a = get(env, in0), b = get(env, in1);
            env.set(out, { c: node.opType === 'Add' ? a.c.add(b.c) : a.c.sub(b.c), r: a.r.add(b.r) });
          };
        }
        const data = constName === in0 ? in1 : in0;
        const isBias = node.opType === 'Add' && producers.get(data)?.opType === 'MatMul';
        const k = isBias ? this.variable(constName) : this.constant(constName);
        return (env) => {
          const x = get(env, data);
          switch (node.opType) {
            case 'Add': return void env.set(out, { c: x.c.add(k), r: x.r });
            case 'Sub': return void env.set(out, { c: constName === in1 ? x.c.sub(k) : tf.sub(k, x.c), r: x.r });
            case 'Mul': return void env.set(out, { c: x.c.mul(k), r: x.r.mul(k.abs()) });
            default:
              if (constName !== in1) throw new Error(`${where}: the interval bounds cannot divide by a variable.`);
              return void env.set(out, { c: x.c.div(k), r: x.r.div(k.abs()) });
          }
        };
      }
      case 'BatchNormalization': {
        const channels = this.shapeOf(in0)[1];
        const rank = this.shapeOf(in0).length;
        const paramShape = [channels, ...new Array<number>(Math.max(0, rank - 2)).fill(1)];
        const [, , , meanName] = node.inputs;
        const scale = this.variable(in1, paramShape);
        const bias = this.variable(in2, paramShape);
        const mean = this.constant(meanName, paramShape);
        const invStd = this.fixed.get(`${node.name}#invStd`)!;
        return (env) => {
          const x = get(env, in0);
          const k = invStd.mul(scale);
          env.set(out, { c: x.c.sub(mean).mul(k).add(bias), r: x.r.mul(k.abs()) });
        };
      }
      case 'Relu':
      case 'GraftedRelu': {
        const layer = nextLayer();
        return (env, _b, record) => {
          const x = get(env, in0);
          const lo = x.c.sub(x.r), hi = x.c.add(x.r);
          record(layer, lo, hi);
          const g = this.grafts.get(layer);
          let l = tf.relu(lo), u = tf.relu(hi);
          if (g !== undefined) {
            const p = lo.mul(g.slope).add(g.intercept), q = hi.mul(g.slope).add(g.intercept);
            l = l.mul(g.keep).add(tf.minimum(p, q).mul(g.mask));
            u = u.mul(g.keep).add(tf.maximum(p, q).mul(g.mask));
          }
          env.set(out, { c: l.add(u).div(2), r: u.sub(l).div(2) });
        };
      }
    }
    throw new Error(`${where}: the interval bounds (stability regulariser) support fully connected models only.`);
  }

  // ---- forward --------------------------------------------------------------------------------------------

  private run(x: tf.Tensor, record?: (layer: number, z: tf.Tensor) => void, shifts?: readonly tf.Tensor[]): tf.Tensor {
    if (this.disposed) throw new Error('The trainable network was disposed.');
    const perSample = sizeOf(this.inputShape.slice(1));
    const batch = x.shape[0];
    if (x.size !== batch * perSample) {
      throw new Error(`Input batch [${x.shape.join(', ')}] does not match the model input [${this.inputShape.join(', ')}] per sample.`);
    }
    const env: Env = new Map([[this.inputName, x.reshape([batch, ...this.inputShape.slice(1)])]]);
    for (const step of this.steps) step(env, batch, record, shifts);
    const y = env.get(this.outputName);
    if (y === undefined) throw new Error(`Output '${this.outputName}' was not computed.`);
    return y.reshape([batch, -1]);
  }

  /** Logits [B, classes] of a batch [B, ...] (any layout with the model's per-sample size). Use inside tf.tidy. */
  logits(x: tf.Tensor): tf.Tensor2D {
    return this.run(x) as tf.Tensor2D;
  }

  /** Logits plus each ReLU layer's pre-activation [B, size] (for significance scores). Use inside tf.tidy. */
  logitsAndPreActivations(x: tf.Tensor): { logits: tf.Tensor2D; preActivations: tf.Tensor2D[] } {
    const pre: tf.Tensor2D[] = new Array(this.reluLayers.length);
    const logits = this.run(x, (layer, z) => { pre[layer] = z.reshape([z.shape[0], -1]) as tf.Tensor2D; }) as tf.Tensor2D;
    return { logits, preActivations: pre };
  }

  /**
   * Per-sample gradients of the summed cross-entropy with respect to each ReLU layer's pre-activation, [B, size]
   * per layer (the gradient significance of GRAFTING.md §1). Use inside tf.tidy.
   */
  preActivationGradients(x: tf.Tensor, labels: tf.Tensor): tf.Tensor2D[] {
    const batch = x.shape[0];
    const zeros = this.reluLayers.map((l) => tf.zeros([batch, l.size]));
    const classes = (this.graph.outputs[0].shape as number[]).reduce((a, b) => a * b, 1);
    const oneHot = tf.oneHot(labels.toInt() as tf.Tensor1D, classes);
    const lossOf = (...shifts: tf.Tensor[]): tf.Scalar =>
      tf.losses.softmaxCrossEntropy(oneHot, this.run(x, undefined, shifts), undefined, undefined, tf.Reduction.SUM) as tf.Scalar;
    return tf.grads(lossOf)(zeros) as tf.Tensor2D[];
  }

  // ---- grafting ---------------------------------------------------------------------------------------------

  /** Mask, slope and intercept of a GraftedRelu node (constant inputs 1–3, each full-size or a single value). */
  private graftConstants(node: IRNode, layer: ReluLayer): [Uint8Array, Float32Array, Float32Array] {
    const read = (position: number, what: string): Float32Array => {
      const c = this.graph.constants.get(node.inputs[position] ?? '');
      if (c === undefined) throw new Error(`GraftedRelu node '${node.name}' needs a constant ${what} as input ${position}.`);
      if (c.data.length === layer.size) return Float32Array.from(c.data);
      if (c.data.length === 1) return new Float32Array(layer.size).fill(c.data[0]);
      throw new Error(`GraftedRelu node '${node.name}': ${what} has ${c.data.length} values, the layer has ${layer.size}.`);
    };
    return [Uint8Array.from(read(1, 'mask'), (v) => (v !== 0 ? 1 : 0)), read(2, 'slope'), read(3, 'intercept')];
  }

  private checkLayer(layerIndex: number): ReluLayer {
    const layer = this.reluLayers[layerIndex];
    if (layer === undefined) throw new Error(`ReLU layer ${layerIndex} does not exist; the model has ${this.reluLayers.length}.`);
    return layer;
  }

  /**
   * Grafts the neurons of ReLU layer `layerIndex` where mask is 1: y = (1 − m)·relu(x) + m·(a·x + b).
   * Slope and intercept default to 0.4 and 0 (GRAFTING.md §2); a layer already grafted is replaced.
   */
  setGraft(layerIndex: number, mask: Uint8Array, slope?: ArrayLike<number> | number, intercept?: ArrayLike<number> | number): void {
    const layer = this.checkLayer(layerIndex);
    const n = layer.size;
    if (mask.length !== n) throw new Error(`Graft mask of ReLU layer ${layerIndex} ('${layer.node}') has ${mask.length} entries, the layer has ${n}.`);
    const fill = (v: ArrayLike<number> | number | undefined, fallback: number, what: string): Float32Array => {
      if (v === undefined || typeof v === 'number') return new Float32Array(n).fill(v ?? fallback);
      if (v.length !== n) throw new Error(`Graft ${what} of ReLU layer ${layerIndex} has ${v.length} entries, the layer has ${n}.`);
      return Float32Array.from(v);
    };
    const a = fill(slope, 0.4, 'slope');
    const b = fill(intercept, 0, 'intercept');
    this.clearGraft(layerIndex);
    const shape = [1, ...layer.shape];
    const m = Float32Array.from(mask, (v) => (v !== 0 ? 1 : 0));
    this.grafts.set(layerIndex, {
      mask: tf.keep(tf.tensor(m, shape)),
      hostMask: Uint8Array.from(m),
      keep: tf.keep(tf.tensor(m.map((v) => 1 - v), shape)),
      slope: tf.tidy(() => tf.variable(tf.tensor(a, shape), true)),
      intercept: tf.tidy(() => tf.variable(tf.tensor(b, shape), true)),
    });
  }

  clearGraft(layerIndex: number): void {
    this.checkLayer(layerIndex);
    const g = this.grafts.get(layerIndex);
    if (g === undefined) return;
    tf.dispose([g.mask, g.keep, g.slope, g.intercept]);
    this.grafts.delete(layerIndex);
  }

  /**
   * The current graft of a layer (copies), or undefined when the layer is a plain ReLU. Asynchronous: slopes and
   * intercepts are trained on the device, and backends such as webgpu cannot read synchronously in Node.
   */
  async graft(layerIndex: number): Promise<GraftState | undefined> {
    this.checkLayer(layerIndex);
    const g = this.grafts.get(layerIndex);
    if (g === undefined) return undefined;
    const [slope, intercept] = await Promise.all([g.slope.data(), g.intercept.data()]);
    return { mask: Uint8Array.from(g.hostMask), slope: Float32Array.from(slope), intercept: Float32Array.from(intercept) };
  }

  /** 1 − mask of a grafted layer as a [1, ...shape] tensor (owned by the network), or undefined when not grafted. */
  graftKeep(layerIndex: number): tf.Tensor | undefined {
    this.checkLayer(layerIndex);
    return this.grafts.get(layerIndex)?.keep;
  }

  // ---- parameters ------------------------------------------------------------------------------------------

  /** The network's own weights (kernels, biases, BN scale/shift), for the optimiser of the weights. */
  weights(): tf.Variable[] {
    return [...this.variables.values()];
  }

  /** Slopes and intercepts of grafted layers, for their own optimiser (GRAFTING.md §3: a larger lr, no decay). */
  graftParams(): tf.Variable[] {
    return [...this.grafts.keys()].sort((a, b) => a - b).flatMap((k) => [this.grafts.get(k)!.slope, this.grafts.get(k)!.intercept]);
  }

  /** Current values of the trainable constants, by constant name, in the graph's layout (read asynchronously). */
  async trainedConstants(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.variables) {
      const host = this.transposed.has(name) ? tf.tidy(() => v.transpose()) : v;
      try {
        out.set(name, Float32Array.from((await host.data()) as Float32Array));
      } finally {
        if (host !== v) host.dispose();
      }
    }
    return out;
  }

  /**
   * The graph with the trained weights. Grafted ReLUs are written as `form` says: by default in standard ONNX ops,
   * `Relu(x ⊙ (1 − m)) + (a ⊙ m) ⊙ x + (b ⊙ m)` with node and value names ending in `_graft_*`; or as one
   * `GraftedRelu` node, which the bounds engine relaxes exactly and counts as grafted. Ungrafted layers stay `Relu`.
   */
  async toGraph(form: GraftExportForm = 'standard-onnx'): Promise<Graph> {
    const constants = new Map<string, Tensor>(this.graph.constants);
    for (const [name, values] of await this.trainedConstants()) {
      const old = this.graph.constants.get(name)!;
      constants.set(name, { dtype: old.dtype, dims: old.dims, data: Float64Array.from(values) });
    }
    const values = new Map<string, IRValue>(this.graph.values);
    const nodes: IRNode[] = [];
    let layer = -1;
    for (const node of this.graph.nodes) {
      if (node.opType !== 'Relu' && node.opType !== 'GraftedRelu') {
        nodes.push(node);
        continue;
      }
      layer++;
      const state = await this.graft(layer);
      if (state === undefined) {
        nodes.push(node.opType === 'Relu' ? node : { name: node.name, opType: 'Relu', domain: '', inputs: [node.inputs[0]], outputs: node.outputs, attrs: {} });
        continue;
      }
      const { input, output } = this.reluLayers[layer];
      const dims = [1, ...this.reluLayers[layer].shape];
      const dtype = values.get(output)?.dtype ?? 'float32';
      const base = node.name;
      const keepName = `${base}_graft_keep`, slopeName = `${base}_graft_slope`, interceptName = `${base}_graft_intercept`;
      const mask = state.mask;
      if (form === 'grafted-relu') {
        const maskName = `${base}_graft_mask`;
        constants.set(maskName, { dtype: 'float32', dims, data: Float64Array.from(mask) });
        constants.set(slopeName, { dtype: 'float32', dims, data: Float64Array.from(state.slope) });
        constants.set(interceptName, { dtype: 'float32', dims, data: Float64Array.from(state.intercept) });
        nodes.push({ name: base, opType: 'GraftedRelu', domain: 'graftcert', inputs: [input, maskName, slopeName, interceptName], outputs: [output], attrs: {} });
        continue;
      }
      constants.set(keepName, { dtype: 'float32', dims, data: Float64Array.from(mask, (m) => 1 - m) });
      constants.set(slopeName, { dtype: 'float32', dims, data: Float64Array.from(state.slope, (a, i) => (mask[i] ? a : 0)) });
      constants.set(interceptName, { dtype: 'float32', dims, data: Float64Array.from(state.intercept, (b, i) => (mask[i] ? b : 0)) });
      const mid = (suffix: string): string => {
        const name = `${output}_graft_${suffix}`;
        values.set(name, { name, dtype, shape: values.get(output)?.shape ?? dims });
        return name;
      };
      const masked = mid('masked'), relu = mid('relu'), linear = mid('linear'), sum = mid('sum');
      const mk = (suffix: string, opType: string, inputs: string[], out: string): IRNode =>
        ({ name: `${base}_graft_${suffix}`, opType, domain: '', inputs, outputs: [out], attrs: {} });
      nodes.push(
        mk('mask', 'Mul', [input, keepName], masked),
        mk('relu', 'Relu', [masked], relu),
        mk('slope', 'Mul', [input, slopeName], linear),
        mk('sum', 'Add', [relu, linear], sum),
        mk('intercept', 'Add', [sum, interceptName], output),
      );
    }
    return { ...this.graph, nodes, constants, values };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const k of [...this.grafts.keys()]) this.clearGraft(k);
    tf.dispose([...this.variables.values(), ...this.fixed.values()]);
    this.variables.clear();
    this.fixed.clear();
  }
}

/** The Graph of a Flatten → (Gemm(transB=1) → Relu)* → Gemm network with seeded He-normal weights and zero biases. */
export function mlpGraph(sizes: readonly number[], options: MlpOptions = {}): Graph {
  if (sizes.length < 2) throw new Error(`An MLP needs at least an input and an output size, got [${sizes.join(', ')}].`);
  const inputShape = options.inputShape ?? [1, sizes[0]];
  if (sizeOf(inputShape) !== sizes[0]) throw new Error(`MLP input shape [${inputShape.join(', ')}] does not have ${sizes[0]} elements.`);
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'logits';
  const normal = seededNormal(seededRandom(options.seed ?? 0));
  const values = new Map<string, IRValue>();
  const constants = new Map<string, Tensor>();
  const nodes: IRNode[] = [];
  const value = (name: string, shape: readonly number[]): string => {
    values.set(name, { name, dtype: 'float32', shape });
    return name;
  };
  let current = value(inputName, inputShape);
  if (inputShape.length !== 2) {
    nodes.push({ name: 'flatten', opType: 'Flatten', domain: '', inputs: [current], outputs: [value('flatten_out', [1, sizes[0]])], attrs: { axis: { kind: 'int', value: 1 } } });
    current = 'flatten_out';
  }
  for (let l = 1; l < sizes.length; l++) {
    const fanIn = sizes[l - 1], fanOut = sizes[l];
    const last = l === sizes.length - 1;
    const std = Math.sqrt((last ? 1 : 2) / fanIn);
    const w = new Float64Array(fanOut * fanIn);
    for (let i = 0; i < w.length; i++) w[i] = Math.fround(normal() * std);
    const wName = `fc${l}.weight`, bName = `fc${l}.bias`;
    constants.set(wName, { dtype: 'float32', dims: [fanOut, fanIn], data: w });
    constants.set(bName, { dtype: 'float32', dims: [fanOut], data: new Float64Array(fanOut) });
    const gemmOut = value(last ? outputName : `fc${l}_out`, [1, fanOut]);
    nodes.push({
      name: `fc${l}`, opType: 'Gemm', domain: '', inputs: [current, wName, bName], outputs: [gemmOut],
      attrs: { transB: { kind: 'int', value: 1 } },
    });
    current = gemmOut;
    if (!last) {
      const reluOut = value(`relu${l}_out`, [1, fanOut]);
      nodes.push({ name: `relu${l}`, opType: 'Relu', domain: '', inputs: [current], outputs: [reluOut], attrs: {} });
      current = reluOut;
    }
  }
  return {
    name: options.name ?? `mlp_${sizes.join('_')}`,
    opset: 13,
    inputs: [values.get(inputName)!],
    outputs: [values.get(outputName)!],
    nodes,
    constants,
    values,
  };
}
