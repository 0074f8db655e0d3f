// exportOnnx: this library's layers, in evaluation semantics, as ONNX model bytes: one node per op, the weights as initializers named as in stateDict().

import type { MessageInitShape } from "@bufbuild/protobuf";
import { ConvError, ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, requireOptionsObject } from "../core/checks.js";
import type { Runtime } from "../core/runtime.js";
import { sizeOf } from "../core/shape.js";
import { scope, zeros, type Tensor } from "../core/tensor.js";
import { convGeometry, outputShape } from "../conv/geometry.js";
import { transposedGeometry } from "../conv/transposed.js";
import { inLayer, type Layer } from "../nn/layer.js";
import { Conv2d } from "../nn/conv2d-layer.js";
import { ConvTranspose2d } from "../nn/conv-transpose2d-layer.js";
import { Linear } from "../nn/linear.js";
import { BatchNorm2d } from "../nn/batch-norm.js";
import { LeakyReLU, ReLU, Sigmoid, Tanh } from "../nn/activations.js";
import { MaxPool2x2, maxPool2x2OutputShape } from "../nn/max-pool.js";
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, avgPool2d, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from "../nn/pool.js";
import { Flatten } from "../nn/flatten.js";
import { Dropout } from "../nn/dropout.js";
import { Residual } from "../nn/residual.js";
import { Sequential } from "../nn/sequential.js";
import { OnnxModel } from "./import.js";
import {
  AttributeProto_AttributeType as AttributeType, TensorProto_DataType as DataType, encodeModel,
  type AttributeProtoSchema, type NodeProtoSchema, type TensorProtoSchema, type ValueInfoProtoSchema,
} from "./proto.js";

export interface ExportOnnxOptions {
  /** The input's shape, batch included: [N, C, H, W], or [N, features] for a model that starts with Linear. */
  inputShape: readonly number[];
  /** The default ONNX opset to write, 11 to 20 (default 17, ONNX 1.12's; the IR version follows it). */
  opset?: number;
  /** Write the batch axis as the symbolic dimension "batch" (default true); false writes inputShape[0]. */
  dynamicBatch?: boolean;
  /** The graph input's name (default "input"). */
  inputName?: string;
  /** The graph output's name (default "output"). */
  outputName?: string;
}

/** A value of the graph being written: its name and its shape, [N, …] with N = inputShape[0]. */
export interface OnnxValue {
  readonly name: string;
  readonly shape: readonly number[];
}

/** A node attribute, by AttributeProto's field names: { i: 1 }, { ints: [2, 2] }, { f: 0.01 }, { floats }, { s }. */
export type OnnxAttribute =
  | { i: number } | { ints: readonly number[] } | { f: number } | { floats: readonly number[] } | { s: string };

/**
 * What a layer's `toOnnxNodes(ctx)` hook is given to write itself (an imported model's layers use it to
 * be written back): it adds nodes and initializers and returns its output value with the output's shape.
 * - `opset`: the default-domain opset being written; `input`: the layer's input value.
 * - `prefix`: the layer's state-dict prefix ("3.main.1.", "" for the model itself); initializers start with it.
 * - `fresh(base)`: a name no value, node or initializer has yet (base itself when free).
 * - `node(opType, inputs, attributes?, outputs = 1)`: adds a node, returns its fresh output names.
 * - `initializer(name, shape, data)`: adds a FLOAT (Float32Array) or INT64 (BigInt64Array) initializer, returns its name.
 * - `layer(child, input, name)`: writes a layer inside this one as exportOnnx would; `name` extends the place errors
 *   give ("layers[2].name") and the prefix of its initializers ("2.name.").
 */
export interface OnnxExportContext {
  readonly opset: number;
  readonly input: OnnxValue;
  readonly prefix: string;
  fresh(base: string): string;
  node(opType: string, inputs: readonly string[], attributes?: Readonly<Record<string, OnnxAttribute>>, outputs?: number): string[];
  initializer(name: string, shape: readonly number[], data: Float32Array | BigInt64Array): string;
  layer(child: Layer, input: OnnxValue, name: string): OnnxValue;
}

/** A layer that writes itself to ONNX (exportOnnx calls this instead of its own rules). */
export interface OnnxExportable {
  toOnnxNodes(ctx: OnnxExportContext): OnnxValue;
}

const WHERE = "exportOnnx";
const KEYS = ["inputShape", "opset", "dynamicBatch", "inputName", "outputName"];
/** The IR version each opset was released with (onnx.helper.VERSION_TABLE): opset 11 → IR 6, …, 17 → 8, 19 → 9. */
const IR_VERSION: Record<number, number> = { 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9 };
// Named here, not by the classes' .name, which minifiers rename.
const WRITTEN = "Sequential, Residual, Conv2d, ConvTranspose2d, Linear, BatchNorm2d, ReLU, Sigmoid, Tanh, LeakyReLU, MaxPool2x2, MaxPool2d, " +
  "AvgPool2d, AdaptiveAvgPool2d, Flatten, Dropout";
const LEAVES = [Conv2d, ConvTranspose2d, Linear, BatchNorm2d, ReLU, Sigmoid, Tanh, LeakyReLU, MaxPool2x2, MaxPool2d, AvgPool2d,
  AdaptiveAvgPool2d, Flatten, Dropout];

/**
 * The model as ONNX ModelProto bytes, as it computes in evaluation mode whatever its mode: Dropout
 * is left out and BatchNorm2d normalises with its running statistics. Shapes are derived from
 * `inputShape` by the layers' own geometry and written for every value, the batch axis symbolic
 * unless `dynamicBatch` is false. Layers exportOnnx cannot write fail together, in one ConvError.
 */
export function exportOnnx(model: Layer, options: ExportOnnxOptions): Uint8Array {
  const opts = requireOptionsObject(options, KEYS, WHERE);
  if (typeof (model as Partial<Layer> | null)?.forward !== "function") fail(ErrorCode.INVALID_OPTION, WHERE, "model", "a layer", describe(model));
  const inputShape = checkInputShape(opts.inputShape);
  const opset = opts.opset ?? 17;
  if (!Number.isInteger(opset) || opset < 11 || opset > 20) fail(ErrorCode.INVALID_OPTION, WHERE, "options.opset", "an integer from 11 to 20", describe(opset));
  const dynamicBatch = booleanOption(opts.dynamicBatch, true, WHERE, "options.dynamicBatch");
  const inputName = nameOption(opts.inputName, "input", "options.inputName");
  const outputName = nameOption(opts.outputName, "output", "options.outputName");
  if (inputName === outputName) fail(ErrorCode.INVALID_OPTION, WHERE, "options.outputName", `a name other than inputName "${inputName}"`, describe(outputName));
  // An imported model writes its own graph back, its initializers holding the current weights.
  if (model instanceof OnnxModel) return model.toOnnxBytes();
  const unsupported = unsupportedLayers(model, "");
  if (unsupported.length) {
    fail(ErrorCode.UNSUPPORTED, WHERE, "model", `${WRITTEN} or layers with a toOnnxNodes(ctx) method`, unsupported.join(", "));
  }

  const graph = new Graph(opset, model.parameters()[0]?.value.runtime, [inputName, outputName]);
  let output = graph.layer(model, { name: inputName, shape: inputShape }, "", "");
  // The last value is renamed outputName (reserved, so no other value has it); a model that is the identity gets an Identity node.
  if (output.name === inputName) output = { name: graph.node("Identity", [inputName], {}, 1, "Identity")[0]!, shape: output.shape };
  graph.shapes.delete(output.name);
  for (const node of graph.nodes) for (const list of [node.input, node.output]) list.forEach((n, i) => { if (n === output.name) list[i] = outputName; });
  const valueInfo = (name: string, shape: readonly number[]): MessageInitShape<typeof ValueInfoProtoSchema> => ({
    name,
    type: { value: { case: "tensorType", value: { elemType: DataType.FLOAT, shape: { dim: shape.map((d, axis) => ({
      value: axis === 0 && dynamicBatch ? { case: "dimParam", value: "batch" } : { case: "dimValue", value: BigInt(d) },
    })) } } } },
  });
  return encodeModel({
    irVersion: BigInt(IR_VERSION[opset]!),
    producerName: "wasm-conv2d",
    opsetImport: [{ domain: "", version: BigInt(opset) }],
    graph: {
      name: "wasm-conv2d",
      node: graph.nodes,
      initializer: graph.initializers,
      input: [valueInfo(inputName, inputShape)],
      output: [valueInfo(outputName, output.shape)],
      valueInfo: [...graph.shapes].map(([name, shape]) => valueInfo(name, shape)),
    },
  });
}

/** The graph being written: nodes, initializers, the shape of every value, and the names taken. */
class Graph {
  readonly nodes: (MessageInitShape<typeof NodeProtoSchema> & { input: string[]; output: string[] })[] = [];
  readonly initializers: MessageInitShape<typeof TensorProtoSchema>[] = [];
  readonly shapes = new Map<string, readonly number[]>();
  private readonly used: Set<string>;

  constructor(readonly opset: number, readonly runtime: Runtime | undefined, reserved: string[]) {
    this.used = new Set(reserved);
  }

  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  node(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, OnnxAttribute>> = {}, outputs = 1, base = opType): string[] {
    const output = Array.from({ length: outputs }, (_, i) => this.fresh(i === 0 ? base : `${base}:${i}`));
    this.nodes.push({ opType, name: output[0]!, input: [...inputs], output, attribute: Object.entries(attributes).map(([name, a]) => attribute(name, a)) });
    return output;
  }

  initializer(name: string, shape: readonly number[], data: Float32Array | BigInt64Array): string {
    const unique = this.fresh(name);
    const bytes = new DataView(new ArrayBuffer(data.length * data.BYTES_PER_ELEMENT));
    // raw_data is little-endian whatever the platform's order.
    if (data instanceof Float32Array) data.forEach((v, i) => bytes.setFloat32(4 * i, v, true));
    else data.forEach((v, i) => bytes.setBigInt64(8 * i, v, true));
    this.initializers.push({
      name: unique, dims: shape.map(BigInt), dataType: data instanceof Float32Array ? DataType.FLOAT : DataType.INT64,
      rawData: new Uint8Array(bytes.buffer),
    });
    return unique;
  }

  /** Writes one layer on input x; returns its output value (with the output's shape recorded). */
  layer(layer: Layer, x: OnnxValue, place: string, prefix: string): OnnxValue {
    const hook = (layer as Partial<OnnxExportable>).toOnnxNodes;
    let y: OnnxValue;
    if (typeof hook === "function") {
      const ctx: OnnxExportContext = {
        opset: this.opset, input: x, prefix,
        fresh: (base) => this.fresh(base),
        node: (opType, inputs, attributes, outputs) => this.node(opType, inputs, attributes, outputs, `${prefix}${opType}`),
        initializer: (name, shape, data) => this.initializer(name, shape, data),
        layer: (child, input, name) => this.layer(child, input, place ? `${place}.${name}` : name, `${prefix}${name}.`),
      };
      y = inLayer(WHERE, place || "model", layer, () => hook.call(layer, ctx));
    } else if (layer instanceof Sequential) {
      y = layer.layers.reduce((value, child, i) => this.layer(child, value, `${place ? `${place}.` : ""}layers[${i}]`, `${prefix}${i}.`), x);
    } else if (layer instanceof Residual) {
      const main = this.layer(layer.main, x, `${place ? `${place}.` : ""}main`, `${prefix}main.`);
      const other = layer.shortcut ? this.layer(layer.shortcut, x, `${place ? `${place}.` : ""}shortcut`, `${prefix}shortcut.`) : x;
      if (main.shape.join() !== other.shape.join()) {
        fail(ErrorCode.SHAPE_MISMATCH, `${WHERE}: ${place || "model"}`, "shortcut", `the main path's shape [${main.shape}]`, `[${other.shape}]`);
      }
      y = { name: this.node("Add", [main.name, other.name], {}, 1, `${prefix}Add`)[0]!, shape: main.shape };
    } else {
      const name = (layer as { name?: unknown }).name;
      y = this.leaf(layer, x, prefix, `${WHERE}: ${place || "model"}${typeof name === "string" && name ? `, a ${name}` : ""}`);
    }
    if (y.name !== x.name) this.shapes.set(y.name, y.shape);
    return y;
  }

  /** One of this library's layers (not a container) as its ONNX node. */
  private leaf(layer: Layer, x: OnnxValue, prefix: string, where: string): OnnxValue {
    const op = (opType: string, inputs: string[], attributes: Record<string, OnnxAttribute>, shape: readonly number[]): OnnxValue =>
      ({ name: this.node(opType, inputs, attributes, 1, `${prefix}${opType}`)[0]!, shape });
    const weights = (l: { weight: Tensor | null; bias: Tensor | null }) =>
      [l.weight, l.bias].flatMap((t, i) => (t ? [this.initializer(`${prefix}${i ? "bias" : "weight"}`, t.shape, t.toFloat32Array())] : []));
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const pooled = (kernel: Pair, stride: Pair | undefined, pad: Pair | undefined) => {
      const [pH, pW] = pair(pad, 0);
      return { kernel_shape: { ints: pair(kernel) }, strides: { ints: pair(stride ?? kernel) }, pads: { ints: [pH, pW, pH, pW] } };
    };
    // ONNX's ceil mode (its spec to opset 20, onnxruntime 1.30) has ⌈(H + 2p − span) / s⌉ + 1 windows, keeping a last one that
    // starts in the end padding where PyTorch and this library drop it; a Slice then keeps the windows both have.
    const ceilPool = (opType: string, o: MaxPool2dOptions & AvgPool2dOptions, attributes: Record<string, OnnxAttribute>, shape: number[]) => {
      const [k, s, p, d] = [pair(o.kernelSize), pair(o.stride ?? o.kernelSize), pair(o.pad, 0), pair(o.dilation, 1)];
      const onnx = [H, W].map((size, i) => Math.ceil((size + 2 * p[i]! - d[i]! * (k[i]! - 1) - 1) / s[i]!) + 1);
      attributes = { ...attributes, ceil_mode: { i: o.ceilMode ? 1 : 0 } };
      if (!o.ceilMode || (onnx[0] === shape[2] && onnx[1] === shape[3])) return op(opType, [x.name], attributes, shape);
      const windows = op(opType, [x.name], attributes, [N, C, onnx[0]!, onnx[1]!]).name;
      const ints = (name: string, values: number[]) => this.initializer(`${prefix}${name}`, [2], BigInt64Array.from(values, BigInt));
      return op("Slice", [windows, ints("starts", [0, 0]), ints("ends", shape.slice(2)), ints("axes", [2, 3])], {}, shape);
    };
    // The pools' output size by their own code, on one zero plane: the rule (ceil mode's last window included) lives in one place.
    const poolShape = (run: (plane: Tensor) => Tensor): number[] => {
      try {
        return [N, C, ...scope(() => run(zeros([1, 1, H, W], this.runtime)).shape.slice(2))];
      } catch (error) {
        if (!(error instanceof ConvError)) throw error;
        return fail(error.code, where, "x", error.expected ?? "", error.received ?? "");
      }
    };
    const rank4 = () => { if (x.shape.length !== 4) fail(ErrorCode.RANK, where, "x", "[N, C, H, W]", `shape [${x.shape}]`); };

    if (layer instanceof Conv2d) {
      const g = convGeometry(x.shape, layer.weight.shape, layer.options, where);
      return op("Conv", [x.name, ...weights(layer)], {
        kernel_shape: { ints: [g.kernelHeight, g.kernelWidth] }, strides: { ints: [g.strideHeight, g.strideWidth] },
        pads: { ints: [g.padTop, g.padLeft, g.padBottom, g.padRight] }, dilations: { ints: [g.dilationHeight, g.dilationWidth] }, group: { i: g.groups },
      }, outputShape(g));
    }
    if (layer instanceof ConvTranspose2d) {
      const t = transposedGeometry(x.shape, layer.weight.shape, layer.options, where);
      const g = t.conv;
      return op("ConvTranspose", [x.name, ...weights(layer)], {
        kernel_shape: { ints: [g.kernelHeight, g.kernelWidth] }, strides: { ints: [g.strideHeight, g.strideWidth] },
        pads: { ints: [g.padTop, g.padLeft, g.padBottom, g.padRight] }, dilations: { ints: [g.dilationHeight, g.dilationWidth] }, group: { i: g.groups },
        output_padding: { ints: pair(layer.options.outputPadding, 0) },
      }, t.outShape);
    }
    if (layer instanceof Linear) {
      if (x.shape.length !== 2 || x.shape[1] !== layer.inFeatures) {
        fail(ErrorCode.CHANNELS, where, "x", `[N, ${layer.inFeatures}] (add a Flatten before a Linear)`, `shape [${x.shape}]`);
      }
      return op("Gemm", [x.name, ...weights(layer)], { transB: { i: 1 } }, [N, layer.outFeatures]);
    }
    if (layer instanceof BatchNorm2d) {
      rank4();
      if (C !== layer.numFeatures) fail(ErrorCode.CHANNELS, where, "x", `[N, ${layer.numFeatures}, H, W]`, `shape [${x.shape}]`);
      if (!layer.runningMean || !layer.runningVar) {
        fail(ErrorCode.UNSUPPORTED, where, "trackRunningStats", "true (ONNX's evaluation-mode BatchNormalization has no batch statistics)", "false");
      }
      const constant = (name: string, value: number, t: Tensor | null) =>
        this.initializer(`${prefix}${name}`, [C], t ? t.toFloat32Array() : new Float32Array(C).fill(value));
      const inputs = [x.name, constant("weight", 1, layer.weight), constant("bias", 0, layer.bias),
        constant("running_mean", 0, layer.runningMean), constant("running_var", 1, layer.runningVar)];
      // ONNX's momentum weighs the running value, PyTorch's the batch's (torch.onnx writes 1 − momentum too).
      return op("BatchNormalization", inputs, { epsilon: { f: layer.eps }, momentum: { f: 1 - layer.momentum } }, x.shape);
    }
    if (layer instanceof ReLU) return op("Relu", [x.name], {}, x.shape);
    if (layer instanceof Sigmoid) return op("Sigmoid", [x.name], {}, x.shape);
    if (layer instanceof Tanh) return op("Tanh", [x.name], {}, x.shape);
    if (layer instanceof LeakyReLU) return op("LeakyRelu", [x.name], { alpha: { f: layer.negativeSlope } }, x.shape);
    if (layer instanceof MaxPool2x2) return op("MaxPool", [x.name], pooled(2, 2, 0), maxPool2x2OutputShape(x.shape));
    if (layer instanceof MaxPool2d) {
      rank4();
      const o = layer.options;
      return ceilPool("MaxPool", o, { ...pooled(o.kernelSize, o.stride, o.pad), dilations: { ints: pair(o.dilation, 1) } },
        poolShape((plane) => maxPool2d(plane, o)));
    }
    if (layer instanceof AvgPool2d) {
      rank4();
      const o = layer.options;
      return ceilPool("AveragePool", o, { ...pooled(o.kernelSize, o.stride, o.pad), count_include_pad: { i: o.countIncludePad === false ? 0 : 1 } },
        poolShape((plane) => avgPool2d(plane, o)));
    }
    if (layer instanceof AdaptiveAvgPool2d) {
      rank4();
      const [outH, outW] = layer.outputSize;
      if (outH === 1 && outW === 1) return op("GlobalAveragePool", [x.name], {}, [N, C, 1, 1]);
      // Equal windows tile the input exactly only when the output size divides it; other windows overlap and vary in size.
      if (H % outH !== 0 || W % outW !== 0) {
        fail(ErrorCode.UNSUPPORTED, where, "outputSize", `1×1 or a divisor of the input's size ${H}×${W} (equal windows)`, `${outH}×${outW}`);
      }
      const window: [number, number] = [H / outH, W / outW];
      return op("AveragePool", [x.name], pooled(window, window, 0), [N, C, outH, outW]);
    }
    if (layer instanceof Flatten) return op("Flatten", [x.name], { axis: { i: 1 } }, [N, sizeOf(x.shape.slice(1))]);
    // Dropout is the identity in evaluation mode: its input goes on as its output.
    if (layer instanceof Dropout) return x;
    // Only a layer that a toOnnxNodes hook hands to ctx.layer gets here unchecked.
    return fail(ErrorCode.UNSUPPORTED, where, "layer", `${WRITTEN} or a layer with a toOnnxNodes(ctx) method`, describe(layer));
  }
}

type Pair = number | readonly [number, number];

function pair(value: Pair | undefined, fallback?: number): [number, number] {
  const v = value ?? fallback!;
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

function attribute(name: string, a: OnnxAttribute): MessageInitShape<typeof AttributeProtoSchema> {
  if ("i" in a) return { name, type: AttributeType.INT, i: BigInt(a.i) };
  if ("ints" in a) return { name, type: AttributeType.INTS, ints: a.ints.map(BigInt) };
  if ("f" in a) return { name, type: AttributeType.FLOAT, f: a.f };
  if ("floats" in a) return { name, type: AttributeType.FLOATS, floats: [...a.floats] };
  return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.s) };
}

/** Where each layer exportOnnx cannot write sits, with its name ("layers[3] (MyLayer)"); containers are looked into. */
function unsupportedLayers(layer: Layer, place: string): string[] {
  const at = (child: string) => (place ? `${place}.${child}` : child);
  if (typeof (layer as Partial<OnnxExportable>).toOnnxNodes === "function") return [];
  if (layer instanceof Sequential) return layer.layers.flatMap((child, i) => unsupportedLayers(child, at(`layers[${i}]`)));
  if (layer instanceof Residual) {
    return [...unsupportedLayers(layer.main, at("main")), ...(layer.shortcut ? unsupportedLayers(layer.shortcut, at("shortcut")) : [])];
  }
  if (LEAVES.some((kind) => layer instanceof kind)) return [];
  const name = (layer as { name?: unknown }).name;
  return [`${place || "model"} (${typeof name === "string" && name ? name : describe(layer)})`];
}

function checkInputShape(value: unknown): number[] {
  const expected = "[N, C, H, W] or [N, features] of positive integers";
  if (!Array.isArray(value)) fail(ErrorCode.DIMENSION, WHERE, "options.inputShape", expected, describe(value));
  if (value.length !== 4 && value.length !== 2) fail(ErrorCode.RANK, WHERE, "options.inputShape", expected, describe(value));
  for (let i = 0; i < value.length; i++) {
    const d: unknown = value[i];
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1) fail(ErrorCode.DIMENSION, WHERE, `options.inputShape[${i}]`, "a positive integer", describe(d));
  }
  return [...value] as number[];
}

function nameOption(value: unknown, fallback: string, argument: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value === "") fail(ErrorCode.INVALID_OPTION, WHERE, argument, "a non-empty string", describe(value));
  return value;
}
