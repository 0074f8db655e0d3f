// Batch norm folded into the convolution before it, for inference: a rewritten ONNX graph with one node fewer per pair and the same function up to float rounding.

import { clone, create } from "@bufbuild/protobuf";
import { ModelProtoSchema, TensorProtoSchema, TensorProto_DataType, type ModelProto, type TensorProto } from "./proto.js";
import { tensorValue } from "./values.js";

/** A float initializer's values, or null when it is none (or not a FLOAT one). */
function floats(t: TensorProto | undefined): Float64Array | null {
  return t && t.dataType === TensorProto_DataType.FLOAT ? tensorValue(t).data : null;
}

function floatTensor(name: string, dims: bigint[], values: ArrayLike<number>): TensorProto {
  const data = Float32Array.from(values);
  return create(TensorProtoSchema, { name, dims, dataType: TensorProto_DataType.FLOAT, rawData: new Uint8Array(data.buffer) });
}

/**
 * The model with each Conv → BatchNormalization pair (the conv's output read by that batch norm
 * only, its weight by that conv only, all five parameters initializers) replaced by one Conv:
 * W′ = W·γ/√(σ² + ε) per output channel, b′ = (b − μ)·γ/√(σ² + ε) + β, computed in float64 and
 * rounded once. The folded bias is named after β. Returns the new model and how many pairs it folded.
 */
export function foldBatchNorm(model: ModelProto): { model: ModelProto; folded: number } {
  const out = clone(ModelProtoSchema, model);
  const graph = out.graph;
  if (!graph) return { model: out, folded: 0 };
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const readers = new Map<string, number>();
  for (const n of graph.node) for (const name of n.input) readers.set(name, (readers.get(name) ?? 0) + 1);
  const outputs = new Set(graph.output.map((o) => o.name));
  const removed = new Set<object>();
  let folded = 0;
  for (const bn of graph.node) {
    if (bn.opType !== "BatchNormalization" || bn.output.filter(Boolean).length !== 1) continue;
    const conv = graph.node.find((n) => n.opType === "Conv" && n.output[0] === bn.input[0]);
    if (!conv || readers.get(conv.output[0]!) !== 1 || outputs.has(conv.output[0]!) || readers.get(conv.input[1]!) !== 1) continue;
    const w = initializers.get(conv.input[1]!);
    const [weight, gamma, beta, mean, variance] = [w, ...bn.input.slice(1, 5).map((n) => initializers.get(n))].map(floats);
    const bias = conv.input[2] ? floats(initializers.get(conv.input[2])) : null;
    if (!weight || !gamma || !beta || !mean || !variance || (conv.input[2] && !bias) || (bias && readers.get(conv.input[2]!) !== 1)) continue;
    const eps = bn.attribute.find((a) => a.name === "epsilon")?.f ?? 1e-5;
    const F = gamma.length;
    const perChannel = weight.length / F;
    const scale = gamma.map((g, f) => g / Math.sqrt(variance[f]! + eps));
    const newWeight = weight.map((v, i) => v * scale[Math.floor(i / perChannel)]!);
    const newBias = scale.map((s, f) => ((bias?.[f] ?? 0) - mean[f]!) * s + beta[f]!);
    const biasName = bn.input[2]!;
    const replace = (t: TensorProto) => graph.initializer.splice(graph.initializer.indexOf(initializers.get(t.name)!), 1, t);
    replace(floatTensor(w!.name, w!.dims, newWeight));
    if (conv.input[2]) graph.initializer = graph.initializer.filter((t) => t.name !== conv.input[2]);
    // β becomes the folded bias unless another node reads it too; the statistics and γ go when no one else does.
    const unshared = (name: string) => readers.get(name) === 1;
    const name = unshared(biasName) ? biasName : `${conv.output[0]}.folded_bias`;
    graph.initializer = graph.initializer.filter((t) => t.name !== name && !(bn.input.slice(1, 5).includes(t.name) && unshared(t.name)));
    graph.initializer.push(floatTensor(name, [BigInt(F)], newBias));
    conv.input = [conv.input[0]!, conv.input[1]!, name];
    conv.output = [bn.output[0]!];
    removed.add(bn);
    folded++;
  }
  graph.node = graph.node.filter((n) => !removed.has(n));
  // Older files list initializers among the graph's inputs too: the ones folded away go from there as well.
  const left = new Set(graph.initializer.map((t) => t.name));
  graph.input = graph.input.filter((i) => !initializers.has(i.name) || left.has(i.name));
  return { model: out, folded };
}
