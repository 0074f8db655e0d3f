// What each ONNX operator becomes here: a node that runs forward on graph values and backward on their gradients, built from this library's layers where one exists.

import { ErrorCode, describe, fail } from "../core/errors.js";
import type { Runtime } from "../core/runtime.js";
import { Tensor } from "../core/tensor.js";
import { reshape } from "../nn/flatten.js";
import type { Layer, Parameter } from "../nn/layer.js";
import { linear, linearBackward, Linear } from "../nn/linear.js";
import { Conv2d } from "../nn/conv2d-layer.js";
import { ConvTranspose2d } from "../nn/conv-transpose2d-layer.js";
import { BatchNorm2d } from "../nn/batch-norm.js";
import { ReLU, Sigmoid, Tanh, LeakyReLU } from "../nn/activations.js";
import { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from "../nn/pool.js";
import { MaxPool2x2 } from "../nn/max-pool.js";
import { Dropout } from "../nn/dropout.js";
import { sum } from "../nn/residual.js";
import type { AttributeProto, NodeProto } from "./proto.js";
import {
  broadcastIndex, broadcastShape, concatData, stridedIndex, gatherData, host, isHost, reduceTo, sliceAxis, softmaxData, softmaxGradData, toTensor, valuesOf,
  type HostValue, type Value,
} from "./values.js";

/** A graph node as the model runs it. */
export interface GraphNode {
  /** forward: the node's outputs from its inputs (undefined where an optional input is absent). */
  run(inputs: (Value | undefined)[]): Value[];
  /** dL/d(each input) from dL/d(each output) (null where none flows); `want[i]` says whether input i needs one. */
  grad(douts: (Tensor | null)[], want: boolean[]): (Tensor | null)[];
  /** The learnable tensors, by the initializer each came from. */
  readonly params: [string, Parameter][];
  /** The state-dict tensors (parameters and running statistics), by initializer name. */
  readonly state: [string, Tensor][];
  /** The layer inside, for train()/eval(), zeroGrad() and dispose(). */
  readonly layer: Layer | null;
}

/** What a builder may ask of the graph at import. */
export interface BuildContext {
  readonly node: NodeProto;
  readonly runtime: Runtime;
  readonly opset: number;
  /** "Conv (node "conv1")", as errors name the node. */
  readonly where: string;
  /** The constant an input is (an initializer, a Constant node's output, through Identity), or null. */
  constant(index: number): HostValue | null;
  /** An input's name ("" where absent). */
  input(index: number): string;
}

type Builder = (ctx: BuildContext) => GraphNode;

// ─── attributes ───

function attribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}
function ints(node: NodeProto, name: string, fallback: number[]): number[] {
  const a = attribute(node, name);
  return a ? a.ints.map(Number) : fallback;
}
function int(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? Number(a.i) : fallback;
}
function float(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? a.f : fallback;
}
function text(node: NodeProto, name: string, fallback: string): string {
  const a = attribute(node, name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}

function unsupported(ctx: BuildContext, what: string, received: string): never {
  return fail(ErrorCode.UNSUPPORTED, "importOnnx", `node "${ctx.node.name}"`, `${ctx.node.opType} ${what}`, received);
}

/** A constant input the node needs, or ERR_UNSUPPORTED (a weight computed at run time, say). */
function required(ctx: BuildContext, index: number, what: string): HostValue {
  const c = ctx.constant(index);
  if (!c) unsupported(ctx, `with a constant ${what} (an initializer)`, `"${ctx.input(index)}", computed in the graph`);
  return c;
}

function tensorInput(v: Value | undefined, ctx: { where: string }, index = 0): Tensor {
  if (!(v instanceof Tensor)) fail(ErrorCode.NOT_A_TENSOR, ctx.where, `input ${index}`, "a tensor computed from the model's input", describe(v));
  return v;
}

// ─── nodes built on layers ───

/**
 * A node that is one of this library's layers, applied to input 0; `names` maps the layer's
 * state-dict names ("weight", "running_mean") to the initializers they were loaded from.
 */
function layerNode(layer: Layer, names: Record<string, string>, ctx: BuildContext, values: Record<string, HostValue | null> = {}): GraphNode {
  const own = layer.stateDict?.() ?? {};
  for (const [key, value] of Object.entries(values)) {
    if (value) own[key]!.write(Float32Array.from(value.data));
  }
  const rename = (key: string) => names[key];
  const where = ctx.where;
  return {
    layer,
    params: layer.parameters().filter((p) => rename(p.name)).map((p) => [rename(p.name)!, p]),
    state: Object.entries(own).filter(([k]) => rename(k)).map(([k, t]) => [rename(k)!, t]),
    run: (inputs) => [layer.forward(tensorInput(inputs[0], { where }))],
    grad: (douts, want) => [douts[0] ? layer.backward(douts[0], { inputGrad: want[0] ?? false }) : null],
  };
}

/** ONNX pads [top, left, bottom, right] (and auto_pad) as this library's per-side pads. */
function padSides(ctx: BuildContext, kernel: number[], dilation: number[], stride: number[]) {
  const auto = text(ctx.node, "auto_pad", "NOTSET");
  if (auto === "VALID") return { top: 0, left: 0, bottom: 0, right: 0 };
  if (auto === "SAME_UPPER" || auto === "SAME_LOWER") {
    if (stride.some((s) => s !== 1)) unsupported(ctx, "auto_pad SAME with a stride above 1", JSON.stringify(stride));
    const total = kernel.map((k, i) => dilation[i]! * (k - 1));
    const small = total.map((t) => Math.floor(t / 2));
    const [first, second] = auto === "SAME_UPPER" ? [small, total.map((t, i) => t - small[i]!)] : [total.map((t, i) => t - small[i]!), small];
    return { top: first[0]!, left: first[1]!, bottom: second[0]!, right: second[1]! };
  }
  const [top = 0, left = 0, bottom = 0, right = 0] = ints(ctx.node, "pads", [0, 0, 0, 0]);
  return { top, left, bottom, right };
}

/** The spatial attributes a 2-D conv or pool node has, checked to be 2-D. */
function spatial(ctx: BuildContext, kernel: number[]) {
  if (kernel.length !== 2) unsupported(ctx, "in 2-D (kernel_shape of two)", JSON.stringify(kernel));
  const stride = ints(ctx.node, "strides", [1, 1]);
  const dilation = ints(ctx.node, "dilations", [1, 1]);
  return { stride: stride as [number, number], dilation: dilation as [number, number], pad: padSides(ctx, kernel, dilation, stride) };
}

const conv: Builder = (ctx) => {
  const w = required(ctx, 1, "weight");
  const b = ctx.input(2) ? required(ctx, 2, "bias") : null;
  if (w.shape.length !== 4) unsupported(ctx, "in 2-D (a weight of rank 4)", `weight ${JSON.stringify(w.shape)}`);
  const [F, Cg, KH, KW] = w.shape as [number, number, number, number];
  const groups = int(ctx.node, "group", 1);
  const kernel = ints(ctx.node, "kernel_shape", [KH, KW]);
  if (kernel[0] !== KH || kernel[1] !== KW) fail(ErrorCode.MODEL_FILE, "importOnnx", `node "${ctx.node.name}"`, `kernel_shape ${KH}×${KW} as its weight`, JSON.stringify(kernel));
  const layer = new Conv2d({ inChannels: Cg * groups, outChannels: F, kernelSize: [KH, KW], groups, bias: b !== null, runtime: ctx.runtime, ...spatial(ctx, kernel) });
  return layerNode(layer, { weight: ctx.input(1), bias: ctx.input(2) }, ctx, { weight: w, bias: b });
};

const convTranspose: Builder = (ctx) => {
  const w = required(ctx, 1, "weight");
  const b = ctx.input(2) ? required(ctx, 2, "bias") : null;
  if (w.shape.length !== 4) unsupported(ctx, "in 2-D (a weight of rank 4)", `weight ${JSON.stringify(w.shape)}`);
  if (attribute(ctx.node, "output_shape")) unsupported(ctx, "without output_shape (give pads and output_padding)", "output_shape");
  const [C, Fg, KH, KW] = w.shape as [number, number, number, number];
  const groups = int(ctx.node, "group", 1);
  const kernel = ints(ctx.node, "kernel_shape", [KH, KW]);
  const { stride, dilation, pad } = spatial(ctx, kernel);
  const layer = new ConvTranspose2d({
    inChannels: C, outChannels: Fg * groups, kernelSize: [KH, KW], groups, bias: b !== null, runtime: ctx.runtime, stride, dilation, pad,
    outputPadding: ints(ctx.node, "output_padding", [0, 0]) as [number, number],
  });
  return layerNode(layer, { weight: ctx.input(1), bias: ctx.input(2) }, ctx, { weight: w, bias: b });
};

const batchNorm: Builder = (ctx) => {
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => required(ctx, i, ["scale", "bias", "mean", "var"][i - 1]!));
  const layer = new BatchNorm2d({
    numFeatures: scale!.shape[0]!, eps: float(ctx.node, "epsilon", 1e-5), momentum: 1 - float(ctx.node, "momentum", 0.9), runtime: ctx.runtime,
  });
  return layerNode(layer, { weight: ctx.input(1), bias: ctx.input(2), running_mean: ctx.input(3), running_var: ctx.input(4) }, ctx,
    { weight: scale!, bias: bias!, running_mean: mean!, running_var: variance! });
};

/** A pool's symmetric pads, or ERR_UNSUPPORTED for ONNX's asymmetric ones. */
function poolOptions(ctx: BuildContext) {
  const kernel = ints(ctx.node, "kernel_shape", []);
  const { stride, dilation, pad } = spatial(ctx, kernel);
  if (pad.top !== pad.bottom || pad.left !== pad.right) unsupported(ctx, "with equal pads on both sides", JSON.stringify(pad));
  return { kernelSize: kernel as [number, number], stride, dilation, pad: [pad.top, pad.left] as [number, number], ceilMode: int(ctx.node, "ceil_mode", 0) === 1 };
}

const maxPool: Builder = (ctx) => {
  if (ctx.node.output.length > 1 && ctx.node.output[1]) unsupported(ctx, "without its Indices output", `output "${ctx.node.output[1]}"`);
  const o = poolOptions(ctx);
  // The 2×2, stride-2 pool of most conv nets has a kernel of its own.
  const plain2x2 = [...o.kernelSize, ...o.stride].every((v) => v === 2) && [...o.pad, ...o.dilation.map((d) => d - 1)].every((v) => v === 0) && !o.ceilMode;
  return layerNode(plain2x2 ? new MaxPool2x2() : new MaxPool2d(o), {}, ctx);
};

const averagePool: Builder = (ctx) => {
  const { dilation, ...options } = poolOptions(ctx);
  if (dilation.some((d) => d !== 1)) unsupported(ctx, "without dilations", JSON.stringify(dilation));
  return layerNode(new AvgPool2d({ ...options, countIncludePad: int(ctx.node, "count_include_pad", 0) === 1 }), {}, ctx);
};

const gemm: Builder = (ctx) => {
  const w = required(ctx, 1, "B");
  const c = ctx.input(2) ? required(ctx, 2, "C") : null;
  const [alpha, beta, transA] = [float(ctx.node, "alpha", 1), float(ctx.node, "beta", 1), int(ctx.node, "transA", 0)];
  if (alpha !== 1 || beta !== 1 || transA !== 0) unsupported(ctx, "with alpha = beta = 1 and transA = 0", JSON.stringify({ alpha, beta, transA }));
  if (int(ctx.node, "transB", 0) === 0) return matMul(ctx, w, c);
  const [out, inFeatures] = w.shape as [number, number];
  if (c && c.data.length !== out) unsupported(ctx, `with a bias C of ${out} values`, JSON.stringify(c.shape));
  const layer = new Linear({ inFeatures, outFeatures: out, bias: c !== null, runtime: ctx.runtime });
  return layerNode(layer, { weight: ctx.input(1), bias: ctx.input(2) }, ctx, { weight: w, bias: c && host([out], c.data, false) });
};

/**
 * x·B (+ C) with B a constant [K, N] learnt in ONNX's layout: MatMul, and Gemm without transB.
 * x may have leading dimensions (MatMul's batch); the product runs as linear() on x as [M, K].
 */
function matMul(ctx: BuildContext, b: HostValue, c: HostValue | null): GraphNode {
  if (b.shape.length !== 2) unsupported(ctx, "with a constant 2-D B", JSON.stringify(b.shape));
  const [K, N] = b.shape as [number, number];
  const made: Tensor[] = [];
  const make = (shape: number[], data: ArrayLike<number>) => {
    const t = toTensor(ctx.runtime, shape, data);
    made.push(t);
    return t;
  };
  const weight = { name: "weight", value: make([K, N], b.data), grad: make([K, N], new Float64Array(K * N)) };
  const bias = c ? { name: "bias", value: make([N], c.data), grad: make([N], new Float64Array(N)) } : null;
  const transposed = () => {
    const v = weight.value.toFloat32Array();
    const t = new Float32Array(K * N);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) t[n * K + k] = v[k * N + n]!;
    return toTensor(ctx.runtime, [N, K], t);
  };
  let saved: { x2: Tensor; wt: Tensor; shape: readonly number[] } | null = null;
  const release = () => {
    saved?.x2.dispose();
    saved?.wt.dispose();
    saved = null;
  };
  const layer: Layer = {
    forward: (x) => x, backward: () => null, parameters: () => (bias ? [weight, bias] : [weight]),
    zeroGrad: () => {
      weight.grad.write(new Float32Array(K * N));
      bias?.grad.write(new Float32Array(N));
    },
    dispose: () => {
      release();
      for (const t of made) t.dispose();
    },
  };
  return {
    layer,
    params: [[ctx.input(1), weight], ...(bias ? [[ctx.input(2), bias] as [string, Parameter]] : [])],
    state: [[ctx.input(1), weight.value], ...(bias ? [[ctx.input(2), bias.value] as [string, Tensor]] : [])],
    run: (inputs) => {
      const x = tensorInput(inputs[0], ctx);
      if (x.shape[x.shape.length - 1] !== K) fail(ErrorCode.SHAPE_MISMATCH, ctx.where, "input 0", `[…, ${K}] (B is ${K}×${N})`, JSON.stringify(x.shape));
      release();
      const x2 = reshape(x, [x.size / K, K]);
      const wt = transposed();
      saved = { x2, wt, shape: x.shape };
      const y2 = linear(x2, wt, bias?.value);
      const y = reshape(y2, [...x.shape.slice(0, -1), N]);
      y2.dispose();
      return [y];
    },
    grad: (douts, want) => {
      const dy = douts[0];
      if (!dy || !saved) return [null];
      const dy2 = reshape(dy, [dy.size / N, N]);
      const g = linearBackward(dy2, saved.x2, saved.wt, { dx: want[0] ?? false, dw: true, db: bias !== null });
      dy2.dispose();
      const dw = g.dw!.toFloat32Array();
      g.dw!.dispose();
      const acc = weight.grad.toFloat32Array();
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) acc[k * N + n]! += dw[n * K + k]!;
      weight.grad.write(acc);
      if (bias && g.db) {
        const db = g.db.toFloat32Array();
        g.db.dispose();
        bias.grad.write(bias.grad.toFloat32Array().map((v, i) => v + db[i]!));
      }
      if (!g.dx) return [null];
      const dx = reshape(g.dx, saved.shape);
      g.dx.dispose();
      return [dx];
    },
  };
}

// ─── nodes computed on the host ───

/** A node without parameters whose forward and backward are plain functions of its inputs. */
function plain(run: GraphNode["run"], grad: GraphNode["grad"] = () => []): GraphNode {
  return { run, grad, params: [], state: [], layer: null };
}

/** The runtime a value lives in, for results made on the host. */
const hostResult = (runtime: Runtime, shape: readonly number[], data: Float64Array, asTensor: boolean, int = false): Value =>
  asTensor ? toTensor(runtime, shape, data) : host(shape, data, int);

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Div: (a, b) => a / b,
};

/**
 * Add, Sub, Mul, Div with NumPy broadcasting. Two tensors of one shape are added in wasm; anything
 * else (a constant scale, a per-channel shift) is computed on the host, and its backward reduces the
 * gradient over the broadcast axes.
 */
const arithmetic: Builder = (ctx) => {
  const op = ctx.node.opType;
  const f = ARITHMETIC[op]!;
  let saved: { a: { shape: readonly number[]; data: Float64Array }; b: { shape: readonly number[]; data: Float64Array }; out: number[] } | null = null;
  let sameShapeAdd = false;
  return plain((inputs) => {
    const [a, b] = inputs as [Value, Value];
    if (op === "Add" && a instanceof Tensor && b instanceof Tensor && a.shape.join() === b.shape.join()) {
      sameShapeAdd = true;
      return [sum(ctx.runtime, a, b, ctx.where, "input 1", "input 0's")];
    }
    sameShapeAdd = false;
    const av = valuesOf(a);
    const bv = valuesOf(b);
    const out = broadcastShape(av.shape, bv.shape, ctx.where);
    const ia = broadcastIndex(av.shape, out);
    const ib = broadcastIndex(bv.shape, out);
    const data = new Float64Array(ia.length);
    for (let n = 0; n < data.length; n++) data[n] = f(av.data[ia[n]!]!, bv.data[ib[n]!]!);
    const anyTensor = a instanceof Tensor || b instanceof Tensor;
    if (anyTensor) saved = { a: av, b: bv, out };
    const int = isHost(a) && isHost(b) && a.int && b.int;
    return [hostResult(ctx.runtime, out, int && op === "Div" ? data.map(Math.trunc) : data, anyTensor, int)];
  }, (douts, want) => {
    const dy = douts[0];
    if (!dy) return [null, null];
    if (sameShapeAdd) return [want[0] ? reshape(dy, dy.shape) : null, want[1] ? reshape(dy, dy.shape) : null];
    const { a, b, out } = saved!;
    const g = Float64Array.from(dy.toFloat32Array());
    const ia = broadcastIndex(a.shape, out);
    const ib = broadcastIndex(b.shape, out);
    const partial = (which: 0 | 1) => g.map((d, n) => {
      const x = a.data[ia[n]!]!;
      const y = b.data[ib[n]!]!;
      if (op === "Add") return d;
      if (op === "Sub") return which === 0 ? d : -d;
      if (op === "Mul") return d * (which === 0 ? y : x);
      return which === 0 ? d / y : (-d * x) / (y * y);
    });
    return [0, 1].map((i) => (want[i] ? toTensor(ctx.runtime, (i ? b : a).shape, reduceTo(partial(i as 0 | 1), out, (i ? b : a).shape)) : null));
  });
};

/** A node that changes only the shape: the same values, laid out anew (copied in wasm for tensors). */
function reshaping(ctx: BuildContext, shapeOf: (inputs: (Value | undefined)[], x: Value) => number[]): GraphNode {
  let inShape: readonly number[] = [];
  return plain((inputs) => {
    const x = inputs[0]!;
    const shape = shapeOf(inputs, x);
    inShape = x.shape;
    if (shape.reduce((p, d) => p * d, 1) !== x.shape.reduce((p, d) => p * d, 1)) {
      fail(ErrorCode.SHAPE_MISMATCH, ctx.where, "shape", `as many elements as ${JSON.stringify(x.shape)}`, JSON.stringify(shape));
    }
    return [isHost(x) ? host(shape, x.data, x.int) : reshape(x, shape)];
  }, (douts) => [douts[0] ? reshape(douts[0], inShape) : null]);
}

/** An axes list from the attribute (older opsets) or input 1 (newer ones). */
function axesOf(ctx: BuildContext, inputs: (Value | undefined)[], rank: number): number[] | null {
  const given = inputs[1];
  const list = given ? Array.from(valuesOf(given).data) : attribute(ctx.node, "axes") ? ints(ctx.node, "axes", []) : null;
  return list ? list.map((a) => (a < 0 ? a + rank : a)) : null;
}

/** The shape Reshape's `shape` input asks for: 0 copies the input's dimension (unless allowzero), −1 takes the rest. */
function reshapeTarget(ctx: BuildContext, inputs: (Value | undefined)[], x: Value): number[] {
  const spec = inputs[1];
  if (!isHost(spec)) fail(ErrorCode.UNSUPPORTED, "importOnnx", `node "${ctx.node.name}"`, "Reshape with a shape known on the host", describe(spec));
  const allowZero = int(ctx.node, "allowzero", 0) === 1;
  const shape = Array.from(spec.data, (d, i) => (d === 0 && !allowZero ? x.shape[i]! : d));
  const unknown = shape.indexOf(-1);
  if (unknown >= 0) {
    const rest = shape.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
    shape[unknown] = rest === 0 ? 0 : x.shape.reduce((p, d) => p * d, 1) / rest;
  }
  return shape;
}


/**
 * An elementwise function of one tensor computed on the host, f(x), and its derivative from x:
 * Clip (ReLU6), HardSigmoid, HardSwish.
 */
function elementwise(ctx: BuildContext, f: (x: number) => number, df: (x: number) => number): GraphNode {
  let saved: { shape: readonly number[]; x: Float64Array } | null = null;
  return plain((inputs) => {
    const x = tensorInput(inputs[0], ctx);
    const values = Float64Array.from(x.toFloat32Array());
    saved = { shape: x.shape, x: values };
    return [toTensor(ctx.runtime, x.shape, values.map(f))];
  }, (douts, want) => {
    const dy = douts[0];
    if (!dy || !saved || !want[0]) return [null];
    const g = dy.toFloat32Array();
    const x = saved.x;
    return [toTensor(ctx.runtime, saved.shape, Float64Array.from(g, (d, i) => d * df(x[i]!)))];
  });
}

/** The bounds Clip takes: attributes before opset 11, optional constant inputs from 11. */
function clipBounds(ctx: BuildContext): [number, number] {
  if (ctx.opset < 11) return [float(ctx.node, "min", -Infinity), float(ctx.node, "max", Infinity)];
  const bound = (i: number, fallback: number) => (ctx.input(i) ? required(ctx, i, i === 1 ? "min" : "max").data[0]! : fallback);
  return [bound(1, -Infinity), bound(2, Infinity)];
}

/** For each element of x (shape), its index in the output of a permutation of the axes. */
function permutedIndex(shape: readonly number[], perm: readonly number[]): Int32Array {
  const outShape = perm.map((p) => shape[p]!);
  const outStrides = outShape.map((_, i) => outShape.slice(i + 1).reduce((a, d) => a * d, 1));
  // The stride in the output of each input axis.
  const strideOf = shape.map((_, axis) => outStrides[perm.indexOf(axis)]!);
  return stridedIndex(shape, strideOf);
}

/**
 * A node that places each input element at one output position (Transpose, constant Pad): out[index[i]]
 * = x[i], the rest `fill`; its backward gathers dy at those positions.
 */
function placing(ctx: BuildContext, layout: (inputs: (Value | undefined)[], x: Value) => { shape: number[]; index: Int32Array; fill: number }): GraphNode {
  let saved: { shape: readonly number[]; index: Int32Array } | null = null;
  return plain((inputs) => {
    const x = inputs[0]!;
    const { shape, index, fill } = layout(inputs, x);
    const values = valuesOf(x).data;
    const out = new Float64Array(shape.reduce((a, d) => a * d, 1)).fill(fill);
    index.forEach((at, i) => { out[at] = values[i]!; });
    saved = { shape: x.shape, index };
    return [isHost(x) ? host(shape, out, x.int) : toTensor(ctx.runtime, shape, out)];
  }, (douts, want) => {
    const dy = douts[0];
    if (!dy || !saved || !want[0]) return [null];
    const g = dy.toFloat32Array();
    return [toTensor(ctx.runtime, saved.shape, Float64Array.from(saved.index, (at) => g[at]!))];
  });
}

const BUILDERS: Record<string, Builder> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  BatchNormalization: batchNorm,
  Relu: (ctx) => layerNode(new ReLU(), {}, ctx),
  Sigmoid: (ctx) => layerNode(new Sigmoid(), {}, ctx),
  Tanh: (ctx) => layerNode(new Tanh(), {}, ctx),
  LeakyRelu: (ctx) => layerNode(new LeakyReLU({ negativeSlope: float(ctx.node, "alpha", 0.01) }), {}, ctx),
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: (ctx) => layerNode(new AdaptiveAvgPool2d(1), {}, ctx),
  Gemm: gemm,
  MatMul: (ctx) => matMul(ctx, required(ctx, 1, "B"), null),
  Add: arithmetic, Sub: arithmetic, Mul: arithmetic, Div: arithmetic,
  Dropout: (ctx) => {
    const ratio = ctx.opset < 12 ? float(ctx.node, "ratio", 0.5) : ctx.input(1) ? required(ctx, 1, "ratio").data[0]! : 0.5;
    if (ctx.node.output.length > 1 && ctx.node.output[1]) unsupported(ctx, "without its mask output", `output "${ctx.node.output[1]}"`);
    return layerNode(new Dropout({ p: ratio }), {}, ctx);
  },
  Identity: () => plain((inputs) => [inputs[0]!], (douts) => [douts[0] ? reshape(douts[0], douts[0].shape) : null]),
  Flatten: (ctx) => reshaping(ctx, (_inputs, x) => {
    const axis = int(ctx.node, "axis", 1);
    const a = axis < 0 ? axis + x.shape.length : axis;
    const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
    return [outer, x.shape.slice(a).reduce((p, d) => p * d, 1)];
  }),
  Reshape: (ctx) => reshaping(ctx, (inputs, x) => reshapeTarget(ctx, inputs, x)),
  Squeeze: (ctx) => reshaping(ctx, (inputs, x) => {
    const axes = axesOf(ctx, inputs, x.shape.length);
    return x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  }),
  Unsqueeze: (ctx) => reshaping(ctx, (inputs, x) => {
    const rank = x.shape.length + (axesOf(ctx, inputs, 0) ?? []).length;
    const axes = axesOf(ctx, inputs, rank) ?? [];
    const shape = [...x.shape];
    for (const a of [...axes].sort((p, q) => p - q)) shape.splice(a, 0, 1);
    return shape;
  }),
  Concat: (ctx) => {
    let parts: readonly number[][] = [];
    const axis = int(ctx.node, "axis", 0);
    return plain((inputs) => {
      const values = inputs.map((v) => valuesOf(v!));
      parts = values.map((v) => [...v.shape]);
      const { shape, data } = concatData(values, axis, ctx.where);
      const anyTensor = inputs.some((v) => v instanceof Tensor);
      return [hostResult(ctx.runtime, shape, data, anyTensor, inputs.every((v) => isHost(v) && v.int))];
    }, (douts, want) => {
      const dy = douts[0];
      if (!dy) return parts.map(() => null);
      const a = axis < 0 ? axis + dy.shape.length : axis;
      const g = Float64Array.from(dy.toFloat32Array());
      let start = 0;
      return parts.map((shape, i) => {
        const part = want[i] ? toTensor(ctx.runtime, shape, sliceAxis(g, dy.shape, a, start, shape[a]!)) : null;
        start += shape[a]!;
        return part;
      });
    });
  },
  Clip: (ctx) => {
    const [lo, hi] = clipBounds(ctx);
    return elementwise(ctx, (x) => Math.min(Math.max(x, lo), hi), (x) => (x > lo && x < hi ? 1 : 0));
  },
  HardSigmoid: (ctx) => {
    const [alpha, beta] = [float(ctx.node, "alpha", 0.2), float(ctx.node, "beta", 0.5)];
    return elementwise(ctx, (x) => Math.min(Math.max(alpha * x + beta, 0), 1), (x) => (alpha * x + beta > 0 && alpha * x + beta < 1 ? alpha : 0));
  },
  HardSwish: (ctx) => elementwise(ctx, (x) => x * Math.min(Math.max(x / 6 + 0.5, 0), 1),
    (x) => (x <= -3 ? 0 : x >= 3 ? 1 : x / 3 + 0.5)),
  Transpose: (ctx) => placing(ctx, (_inputs, x) => {
    const rank = x.shape.length;
    const perm = ints(ctx.node, "perm", Array.from({ length: rank }, (_, i) => rank - 1 - i));
    if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      fail(ErrorCode.MODEL_FILE, "importOnnx", `node "${ctx.node.name}"`, `perm, a permutation of the ${rank} axes`, JSON.stringify(perm));
    }
    return { shape: perm.map((p) => x.shape[p]!), index: permutedIndex(x.shape, perm), fill: 0 };
  }),
  Pad: (ctx) => placing(ctx, (inputs, x) => {
    const mode = text(ctx.node, "mode", "constant");
    if (mode !== "constant") unsupported(ctx, "in constant mode", mode);
    const rank = x.shape.length;
    const given = ctx.opset < 11 ? ints(ctx.node, "pads", []) : inputs[1] ? Array.from(valuesOf(inputs[1]).data) : [];
    const axes = ctx.opset >= 18 && inputs[3] ? Array.from(valuesOf(inputs[3]).data, (a) => (a < 0 ? a + rank : a)) : x.shape.map((_, i) => i);
    const pads = new Array<number>(2 * rank).fill(0);
    axes.forEach((a, i) => { pads[a] = given[i] ?? 0; pads[a + rank] = given[i + axes.length] ?? 0; });
    if (pads.some((p) => p < 0)) unsupported(ctx, "with non-negative pads (a negative one crops)", JSON.stringify(pads));
    const fill = ctx.opset < 11 ? float(ctx.node, "value", 0) : inputs[2] ? valuesOf(inputs[2]).data[0] ?? 0 : 0;
    const shape = x.shape.map((d, i) => d + pads[i]! + pads[i + rank]!);
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
    const offset = x.shape.reduce((sum, _, i) => sum + pads[i]! * strides[i]!, 0);
    return { shape, index: stridedIndex(x.shape, strides, offset), fill };
  }),
  ReduceMean: (ctx) => {
    let saved: { shape: readonly number[]; kept: number[]; count: number } | null = null;
    return plain((inputs) => {
      const x = tensorInput(inputs[0], ctx);
      const rank = x.shape.length;
      const listed = ctx.opset >= 18 ? (inputs[1] ? Array.from(valuesOf(inputs[1]).data) : null) : attribute(ctx.node, "axes") ? ints(ctx.node, "axes", []) : null;
      const axes = (listed ?? x.shape.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const count = x.size / kept.reduce((a, d) => a * d, 1);
      const mean = reduceTo(Float64Array.from(x.toFloat32Array()), x.shape, kept).map((v) => v / count);
      saved = { shape: x.shape, kept, count };
      const shape = int(ctx.node, "keepdims", 1) === 1 ? kept : x.shape.filter((_, i) => !axes.includes(i));
      return [toTensor(ctx.runtime, shape, mean)];
    }, (douts, want) => {
      const dy = douts[0];
      if (!dy || !saved || !want[0]) return [null];
      const g = dy.toFloat32Array();
      const index = broadcastIndex(saved.kept, saved.shape);
      return [toTensor(ctx.runtime, saved.shape, Float64Array.from(index, (i) => g[i]! / saved!.count))];
    });
  },
  Slice: (ctx) => {
    let saved: { shape: readonly number[]; index: Int32Array } | null = null;
    return plain((inputs) => {
      const x = inputs[0]!;
      const list = (i: number, name: string) => (ctx.opset < 10 ? (attribute(ctx.node, name) ? ints(ctx.node, name, []) : null)
        : inputs[i] ? Array.from(valuesOf(inputs[i]!).data) : null);
      const starts = list(1, "starts") ?? [];
      const ends = list(2, "ends") ?? [];
      const rank = x.shape.length;
      const axes = (list(3, "axes") ?? starts.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
      const steps = list(4, "steps") ?? starts.map(() => 1);
      if (steps.some((st) => st < 1)) unsupported(ctx, "with positive steps", JSON.stringify(steps));
      const begin = x.shape.map(() => 0);
      const size = [...x.shape];
      const step = x.shape.map(() => 1);
      axes.forEach((a, i) => {
        const n = x.shape[a]!;
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
        begin[a] = clamp(starts[i]!);
        step[a] = steps[i]!;
        size[a] = Math.max(0, Math.ceil((clamp(ends[i]!) - begin[a]!) / steps[i]!));
      });
      const strides = x.shape.map((_, i) => x.shape.slice(i + 1).reduce((p, d) => p * d, 1));
      // Output element n reads x at Σ (begin + its index · step) · stride on each axis.
      const index = stridedIndex(size, strides.map((s, i) => s * step[i]!), strides.reduce((at, s, i) => at + begin[i]! * s, 0));
      const values = valuesOf(x).data;
      const data = Float64Array.from(index, (i) => values[i]!);
      saved = { shape: x.shape, index };
      return [isHost(x) ? host(size, data, x.int) : toTensor(ctx.runtime, size, data)];
    }, (douts, want) => {
      const dy = douts[0];
      if (!dy || !saved || !want[0]) return [null];
      const g = dy.toFloat32Array();
      const dx = new Float64Array(saved.shape.reduce((p, d) => p * d, 1));
      saved.index.forEach((i, n) => { dx[i]! += g[n]!; });
      return [toTensor(ctx.runtime, saved.shape, dx)];
    });
  },
  Softmax: (ctx) => {
    let saved: { y: Float64Array; groups: [number, number, number] } | null = null;
    return plain((inputs) => {
      const x = tensorInput(inputs[0], ctx);
      const rank = x.shape.length;
      const axis = int(ctx.node, "axis", ctx.opset < 13 ? 1 : -1);
      const a = axis < 0 ? axis + rank : axis;
      const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
      // Before opset 13 softmax ran over the flattened trailing axes; from 13 over the one axis.
      const length = ctx.opset < 13 ? x.size / outer : x.shape[a]!;
      const groups: [number, number, number] = [outer, length, x.size / outer / length];
      const y = softmaxData(Float64Array.from(x.toFloat32Array()), ...groups);
      saved = { y, groups };
      return [toTensor(ctx.runtime, x.shape, y)];
    }, (douts, want) => {
      const dy = douts[0];
      if (!dy || !saved || !want[0]) return [null];
      return [toTensor(ctx.runtime, dy.shape, softmaxGradData(saved.y, Float64Array.from(dy.toFloat32Array()), ...saved.groups))];
    });
  },
  Shape: (ctx) => plain((inputs) => {
    const shape = inputs[0]!.shape;
    const start = int(ctx.node, "start", 0);
    const end = int(ctx.node, "end", shape.length);
    const dims = shape.slice(start, end);
    return [host([dims.length], dims, true)];
  }),
  Gather: (ctx) => plain((inputs) => {
    const [data, indices] = inputs;
    if (!isHost(data) || !isHost(indices)) unsupported(ctx, "on constants and shapes", "a tensor computed from the input");
    const { shape, data: out } = gatherData(data, indices, int(ctx.node, "axis", 0), ctx.where);
    return [host(shape, out, data.int)];
  }),
  Cast: (ctx) => plain((inputs) => {
    const x = inputs[0]!;
    const to = int(ctx.node, "to", 1);
    const toInt = [6, 7, 9].includes(to);
    if (!isHost(x)) {
      if (to !== 1) unsupported(ctx, "of a tensor to FLOAT only", `to ${to}`);
      return [x];
    }
    return [host(x.shape, toInt ? x.data.map(Math.trunc) : x.data, toInt)];
  }),
};

/** The operator types importOnnx runs. */
export const SUPPORTED_OPS: readonly string[] = [...Object.keys(BUILDERS), "Constant"];

/** The node for an ONNX NodeProto (the caller has checked its op type is one of SUPPORTED_OPS). */
export function buildNode(ctx: BuildContext): GraphNode {
  return BUILDERS[ctx.node.opType]!(ctx);
}
