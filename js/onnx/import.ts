// importOnnx: ONNX model bytes to a layer that runs the graph forward and backward, its parameters named by the initializers, so it can be fine-tuned and saved.

import { ConvError, ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, requireOptionsObject } from "../core/checks.js";
import { runtimeArgument, type Runtime } from "../core/runtime.js";
import { Tensor, allocateTensor, keep, retrack, runtimeOf, tensorAddress } from "../core/tensor.js";
import { LayerBase, type Parameter } from "../nn/layer.js";
import { sum } from "../nn/residual.js";
import { clone } from "@bufbuild/protobuf";
import { decodeModel, encodeModel, ModelProtoSchema, TensorProto_DataType, type ModelProto, type NodeProto } from "./proto.js";
import { foldBatchNorm } from "./fold.js";
import { buildNode, SUPPORTED_OPS, type GraphNode } from "./nodes.js";
import { host, tensorValue, type HostValue, type Value } from "./values.js";

export interface ImportOnnxOptions {
  /** The runtime to allocate in (default: the latest init()). */
  runtime?: Runtime;
  /**
   * Fold each BatchNormalization into the Conv before it (default false): for inference, one pass
   * over the activations fewer. The folded model's batch norms are gone from its parameters, so
   * fine-tune without it. bench/RESULTS.md says how much it changes the output.
   */
  foldBatchNorm?: boolean;
}

/** The default-domain opsets importOnnx reads: those torch.onnx.export and tf2onnx write today. */
export const OPSETS = { min: 7, max: 20 } as const;

const WHERE = "importOnnx";

/** A Constant node's value attribute (value, value_float(s), value_int(s)) as a host value. */
function constantValue(node: NodeProto): HostValue {
  const a = node.attribute[0];
  if (!a) fail(ErrorCode.MODEL_FILE, WHERE, `node "${node.name}"`, "a Constant with a value", "none");
  if (a.name === "value" && a.t) return tensorValue(a.t, WHERE);
  if (a.name === "value_float") return host([], [a.f], false);
  if (a.name === "value_floats") return host([a.floats.length], a.floats, false);
  if (a.name === "value_int") return host([], [Number(a.i)], true);
  if (a.name === "value_ints") return host([a.ints.length], a.ints.map(Number), true);
  return fail(ErrorCode.UNSUPPORTED, WHERE, `node "${node.name}"`, "a Constant of a tensor, float(s) or int(s)", a.name);
}

/**
 * An ONNX graph as a layer: forward(x) runs its nodes in order; backward(dy) runs them in reverse,
 * adding into each parameter's grad and returning dL/dx. Parameters and the state dict are named by
 * the graph's initializers (torch.onnx.export keeps the PyTorch names); batch norm starts in eval
 * mode's role only when eval() is called, as any layer here. exportOnnx writes it back out.
 */
export class OnnxModel extends LayerBase {
  protected readonly kind = "OnnxModel";
  readonly runtime: Runtime;
  /** The graph's input and output names. */
  readonly inputName: string;
  readonly outputName: string;
  /** The model as read (its initializers updated from the current tensors when exported). */
  private readonly proto: ModelProto;
  private readonly nodes: { proto: NodeProto; node: GraphNode }[];
  private readonly constants: Map<string, HostValue>;
  private env = new Map<string, Value>();
  private owned = new Set<Tensor>();
  private input: Tensor | null = null;

  /** @internal importOnnx builds it. */
  constructor(proto: ModelProto, runtime: Runtime) {
    super();
    this.proto = proto;
    this.runtime = runtime;
    const graph = proto.graph;
    if (!graph) fail(ErrorCode.MODEL_FILE, WHERE, "bytes", "a model with a graph", "none");
    const opset = Number(proto.opsetImport.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? 0);
    if (opset < OPSETS.min || opset > OPSETS.max) fail(ErrorCode.UNSUPPORTED, WHERE, "bytes", `a model of opset ${OPSETS.min}–${OPSETS.max}`, `opset ${opset}`);
    const bad = graph.node.filter((n) => (n.domain !== "" && n.domain !== "ai.onnx") || !SUPPORTED_OPS.includes(n.opType));
    if (bad.length) {
      fail(ErrorCode.UNSUPPORTED, WHERE, "bytes", `operators among ${SUPPORTED_OPS.join(", ")}`,
        bad.map((n) => `${n.domain ? n.domain + "." : ""}${n.opType} (node "${n.name}")`).join(", "));
    }
    const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
    const inputs = graph.input.filter((i) => !initializers.has(i.name));
    if (inputs.length !== 1 || graph.output.length !== 1) {
      fail(ErrorCode.UNSUPPORTED, WHERE, "bytes", "a graph of one input and one output", `${inputs.length} inputs and ${graph.output.length} outputs`);
    }
    this.inputName = inputs[0]!.name;
    this.outputName = graph.output[0]!.name;
    this.constants = new Map();
    const decoded = new Map<string, HostValue>();
    const known = new Set([this.inputName, ...initializers.keys()]);
    const aliases = new Map<string, string>();
    // A weight may reach its node through Identity (torch does that for shared initializers).
    const constant = (name: string): HostValue | null => {
      const source = aliases.get(name) ?? name;
      const c = this.constants.get(source);
      if (c) return c;
      const t = initializers.get(source);
      if (!t) return null;
      if (!decoded.has(source)) decoded.set(source, tensorValue(t, WHERE));
      return decoded.get(source)!;
    };
    const nodes: { proto: NodeProto; node: GraphNode }[] = [];
    const used = new Map<string, number>();
    try {
      for (const n of graph.node) {
        for (const name of n.input) {
          if (name && !known.has(name)) fail(ErrorCode.MODEL_FILE, WHERE, `node "${n.name}"`, "inputs made by an earlier node, the graph input or an initializer (nodes in topological order)", `"${name}"`);
        }
        for (const name of n.output) known.add(name);
        if (n.opType === "Constant") {
          this.constants.set(n.output[0]!, constantValue(n));
          continue;
        }
        if (n.opType === "Identity" && constant(n.input[0]!)) aliases.set(n.output[0]!, aliases.get(n.input[0]!) ?? n.input[0]!);
        const where = `${WHERE}: node "${n.name}" (${n.opType})`;
        const node = buildNode({
          node: n, runtime, opset, where, input: (i) => aliases.get(n.input[i] ?? "") ?? n.input[i] ?? "", constant: (i) => (n.input[i] ? constant(n.input[i]!) : null),
        });
        // An initializer two nodes learn from (torch merges equal ones) is learnt by each separately: the later copies are named "name#2", ….
        for (const pair of node.state) {
          const count = (used.get(pair[0]) ?? 0) + 1;
          used.set(pair[0], count);
          if (count > 1) pair[0] = `${pair[0]}#${count}`;
        }
        for (const pair of node.params) pair[0] = node.state.find(([, t]) => t === pair[1].value)?.[0] ?? pair[0];
        nodes.push({ proto: n, node });
      }
      if (!known.has(this.outputName)) fail(ErrorCode.MODEL_FILE, WHERE, "bytes", "a graph output made by a node", `"${this.outputName}"`);
    } catch (error) {
      for (const { node } of nodes) node.layer?.dispose();
      throw error;
    } finally {
      // The weights are in the layers now; the nodes' build contexts must not keep float64 copies of them alive.
      decoded.clear();
    }
    this.nodes = nodes;
  }

  override get name(): string {
    return `OnnxModel(${this.nodes.length} nodes)`;
  }

  /** Runs the graph on x (kept for backward(); do not dispose it before then). The output is the caller's. */
  forward(x: Tensor): Tensor {
    const where = "OnnxModel.forward";
    const own = runtimeOf(x, where, "x");
    if (own !== this.runtime) fail(ErrorCode.FOREIGN_TENSOR, where, "x", `a tensor of ${this.runtime.label}, which this model was imported into`, `one of ${own.label}`);
    this.release();
    this.env.set(this.inputName, x);
    try {
      for (const { proto, node } of this.nodes) {
        const inputs = proto.input.map((name) => (name ? this.value(name) : undefined));
        const outputs = this.step(proto, "forward", () => node.run(inputs));
        outputs.forEach((v, i) => {
          if (proto.output[i]) this.env.set(proto.output[i]!, v);
          if (v instanceof Tensor && v !== x && !inputs.includes(v)) this.owned.add(keep(v));
        });
      }
      const y = this.env.get(this.outputName);
      if (!(y instanceof Tensor)) fail(ErrorCode.UNSUPPORTED, where, "x", "a graph whose output depends on its input", describe(y));
      this.input = x;
      // The output is the caller's, in the caller's scope as any layer's output is (unless it is x itself).
      if (this.owned.delete(y)) retrack(y);
      return y;
    } catch (error) {
      this.release();
      throw error;
    }
  }

  protected inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null {
    const x = this.input;
    if (!x) fail(ErrorCode.INVALID_OPTION, where, "this", "a forward() call before backward()", "no cached input");
    tensorAddress(dy, this.runtime, where, "dy");
    const grads = new Map<string, Tensor>([[this.outputName, dy]]);
    const made = new Set<Tensor>();
    const free = (t: Tensor | undefined) => {
      if (t && made.has(t)) {
        made.delete(t);
        t.dispose();
      }
    };
    try {
      for (let k = this.nodes.length - 1; k >= 0; k--) {
        const { proto, node } = this.nodes[k]!;
        const douts = proto.output.map((name) => grads.get(name) ?? null);
        if (douts.every((d) => d === null)) continue;
        const values = proto.input.map((name) => (name ? this.value(name) : undefined));
        // Tensors come from the input (constants are host values): each one's gradient is wanted, but x's only with inputGrad.
        const want = values.map((v) => v instanceof Tensor && (v !== x || inputGrad));
        const dins = this.step(proto, "backward", () => node.grad(douts, want));
        for (const name of proto.output) {
          // A node may hand a gradient straight back (Dropout in eval mode): then it lives on as its input's.
          if (!dins.includes(grads.get(name) ?? null)) free(grads.get(name));
          grads.delete(name);
        }
        dins.forEach((d, i) => {
          if (!d) return;
          const name = proto.input[i]!;
          made.add(d);
          const before = grads.get(name);
          if (!before) return grads.set(name, d);
          grads.set(name, sum(this.runtime, before, d, where, `the gradient of "${name}"`, "its other gradient's"));
          free(before);
          free(d);
          made.add(grads.get(name)!);
        });
      }
      const dx = grads.get(this.inputName) ?? null;
      if (dx) made.delete(dx);
      if (inputGrad && !dx) return allocateZeros(this.runtime, x.shape, where);
      return inputGrad ? dx : (dx?.dispose(), null);
    } finally {
      for (const t of made) t.dispose();
    }
  }

  /** The learnable tensors of every node, named by the initializers they came from. */
  parameters(): Parameter[] {
    return this.nodes.flatMap(({ node }) => node.params.map(([name, p]) => ({ ...p, name })));
  }

  protected override namedState(): [string, Tensor][] {
    return this.nodes.flatMap(({ node }) => node.state);
  }

  zeroGrad(): void {
    for (const { node } of this.nodes) node.layer?.zeroGrad();
  }

  protected override onModeChange(mode: boolean): void {
    for (const { node } of this.nodes) node.layer?.train?.(mode);
  }

  /** Frees every tensor the model holds (not the last input or output, which are the caller's). */
  dispose(): void {
    this.release();
    for (const { node } of this.nodes) node.layer?.dispose();
  }

  /**
   * @internal The model's bytes with every initializer that is a parameter or buffer holding its
   * current values (exportOnnx's route for an imported model: the graph itself is written unchanged).
   */
  toOnnxBytes(): Uint8Array {
    const model = clone(ModelProtoSchema, this.proto);
    const state = new Map(this.namedState());
    for (const t of model.graph!.initializer) {
      const current = state.get(t.name);
      if (!current) continue;
      const values = current.toFloat32Array();
      t.dataType = TensorProto_DataType.FLOAT;
      t.floatData = [];
      t.rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    }
    return encodeModel(model);
  }

  private value(name: string): Value | undefined {
    return this.env.get(name) ?? this.constants.get(name) ?? this.initializerValue(name);
  }

  private initializerValue(name: string): HostValue | undefined {
    const t = this.proto.graph!.initializer.find((i) => i.name === name);
    if (!t) return undefined;
    const v = tensorValue(t, WHERE);
    this.constants.set(name, v);
    return v;
  }

  /** Runs one node's step; a ConvError from it gains the node's name and op type. */
  private step<T>(proto: NodeProto, what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      // A node's own checks name it already ("importOnnx: node "n4" (Gemm): …"); a layer's errors gain it here.
      if (!(error instanceof ConvError) || error.message.includes(`node "${proto.name}"`)) throw error;
      throw new ConvError(error.code, `OnnxModel.${what}: node "${proto.name}" (${proto.opType}): ${error.message}`, {
        argument: error.argument, expected: error.expected, received: error.received, cause: error,
      });
    }
  }

  private release(): void {
    for (const t of this.owned) t.dispose();
    this.owned.clear();
    this.env.clear();
    this.input = null;
  }
}

function allocateZeros(runtime: Runtime, shape: readonly number[], where: string): Tensor {
  return allocateTensor(runtime, shape, where).write(new Float32Array(shape.reduce((p, d) => p * d, 1)));
}

/**
 * An ONNX model (bytes of a ModelProto, as torch.onnx.export or tf2onnx write it) as a layer of this
 * library. Every node whose operator is not supported is named in one ERR_UNSUPPORTED; a malformed
 * file is ERR_MODEL_FILE.
 */
export function importOnnx(bytes: Uint8Array | ArrayBuffer, options: ImportOnnxOptions = {}): OnnxModel {
  const opts = requireOptionsObject(options, ["runtime", "foldBatchNorm"], WHERE);
  const runtime = runtimeArgument(opts.runtime, WHERE, "options.runtime");
  const fold = booleanOption(opts.foldBatchNorm, false, WHERE, "options.foldBatchNorm");
  const data = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (!(data instanceof Uint8Array)) fail(ErrorCode.INVALID_OPTION, WHERE, "bytes", "a Uint8Array or ArrayBuffer of an ONNX model", describe(bytes));
  const model = decodeModel(data);
  return new OnnxModel(fold ? foldBatchNorm(model).model : model, runtime);
}

