// importOnnx on files torch.onnx.export wrote: PyTorch's outputs and gradients, fine-tuning state, no leaks, and every refusal naming what it refuses.

import { describe, it, expect, beforeAll } from "vitest";
import { init, tensor, scope, memoryUsage, softmaxCrossEntropy, ConvError, ErrorCode, SGD } from "../../js/index.js";
import { importOnnx } from "../../js/onnx/index.js";
import { encodeModel, TensorProto_DataType } from "../../js/onnx/proto.js";
import { fixtureBytes, fixtureTensors, scaledError, torchRun } from "../helpers/torch-fixtures.js";

beforeAll(async () => {
  await init({ simd: "fixed" });
});

/** [file, the -io fixture, the expected output's key]: every ONNX file PyTorch wrote for the tests. */
const FILES = [
  ["lenet.onnx", "lenet", "logits_eval"], ["lenet-opset11.onnx", "lenet", "logits_eval"],
  ["resnet.onnx", "resnet", "logits_eval"], ["resnet-bn.onnx", "resnet", "logits_eval"],
  ["ops.onnx", "ops", "y_eval"], ["ops-opset11.onnx", "ops", "y_eval"],
] as const;

const input = (io: ReturnType<typeof fixtureTensors>) => tensor(io.x!.data as Float32Array, io.x!.shape);

function caught(run: () => unknown): ConvError {
  try {
    run();
  } catch (e) {
    if (e instanceof ConvError) return e;
    throw e;
  }
  throw new Error("expected a ConvError");
}

describe.each(FILES)("importOnnx(%s)", (file, io, key) => {
  it("gives PyTorch's eval-mode output within 1e-4", () => {
    const model = importOnnx(fixtureBytes(file)).eval();
    const data = fixtureTensors(`${io}-io.safetensors`);
    const x = input(data);
    const y = model.forward(x);
    expect(y.shape).toEqual(data[key]!.shape);
    expect(scaledError(y.toFloat32Array(), data[key]!.data as Float32Array)).toBeLessThan(1e-4);
    for (const t of [x, y]) t.dispose();
    model.dispose();
  });
});

describe("training an imported model", () => {
  it.each(["lenet.onnx", "resnet-bn.onnx"])("%s: one training step gives PyTorch's loss and every parameter's gradient, named as PyTorch names them", (file) => {
    const torch = torchRun(file.startsWith("lenet") ? "lenet" : "resnet");
    const model = importOnnx(fixtureBytes(file));
    const x = tensor(torch.x.data as Float32Array, torch.x.shape);
    const logits = model.forward(x);
    expect(scaledError(logits.toFloat32Array(), torch.logitsTrain)).toBeLessThan(1e-4);
    const { loss, grad } = softmaxCrossEntropy(logits, torch.labels);
    expect(Math.abs(loss - torch.lossTrain)).toBeLessThan(1e-5 * Math.max(1, torch.lossTrain));
    model.backward(grad, { inputGrad: false });
    expect(model.parameters().map((p) => p.name).sort()).toEqual([...torch.grads.keys()].sort());
    for (const p of model.parameters()) {
      const want = torch.grads.get(p.name)!;
      const scale = Math.max(1e-8, ...want.map(Math.abs));
      expect(scaledError(p.grad.toFloat32Array(), want) / scale, p.name).toBeLessThan(1e-3);
    }
    // Batch norm's running statistics moved as PyTorch's did (ONNX's momentum 0.9 is PyTorch's 0.1).
    const state = model.stateDict();
    for (const [name, want] of torch.afterTrain) if (state[name]) expect(scaledError(state[name]!.toFloat32Array(), want), name).toBeLessThan(1e-5);
    for (const t of [x, logits, grad]) t.dispose();
    model.dispose();
  });

  it("foldBatchNorm folds each Conv → BatchNormalization pair (ε and the conv's own bias included) and computes what the unfolded graph does", () => {
    const torch = torchRun("resnet");
    const x = tensor(torch.x.data as Float32Array, torch.x.shape);
    const folded = importOnnx(fixtureBytes("resnet-bn.onnx"), { foldBatchNorm: true }).eval();
    expect(folded.parameters().length).toBe(20);
    expect(scaledError(folded.forward(x).toFloat32Array(), torch.logitsEval)).toBeLessThan(1e-4);
    folded.dispose();
    // A conv with a bias, and a batch norm with a large ε and statistics far from 0 and 1.
    const w = { name: "w", dims: [3n, 2n, 3n, 3n], dataType: TensorProto_DataType.FLOAT, rawData: new Uint8Array(Float32Array.from({ length: 54 }, (_, i) => Math.sin(i)).buffer) };
    const vector = (name: string, values: number[]) => ({ name, dims: [3n], dataType: TensorProto_DataType.FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) });
    const bytes = graph([
      { opType: "Conv", name: "c", input: ["x", "w", "b"], output: ["h"], attribute: [{ name: "pads", type: 7, ints: [1n, 1n, 1n, 1n] }] },
      { opType: "BatchNormalization", name: "bn", input: ["h", "g", "beta", "mu", "var"], output: ["y"], attribute: [{ name: "epsilon", type: 1, f: 0.5 }] },
    ], [w, vector("b", [1, -2, 0.5]), vector("g", [2, 0.5, -1]), vector("beta", [0.1, 0.2, 0.3]), vector("mu", [3, -1, 0]), vector("var", [0.2, 4, 1])]);
    const plain = importOnnx(bytes).eval();
    const fused = importOnnx(bytes, { foldBatchNorm: true }).eval();
    expect(fused.parameters().map((p) => p.name)).toEqual(["w", "beta"]);
    const input = tensor(Float32Array.from({ length: 2 * 2 * 5 * 5 }, (_, i) => Math.cos(i)), [2, 2, 5, 5]);
    const want = plain.forward(input).toFloat32Array();
    expect(scaledError(fused.forward(input).toFloat32Array(), want)).toBeLessThan(1e-5);
    for (const t of [x, input]) t.dispose();
    for (const m of [plain, fused]) m.dispose();
  });

  it("ops.onnx in eval mode: dL/dx and dL/dθ of L = Σ y·probe are PyTorch's (conv groups and dilation, transposed conv, BN, pools, concat, arithmetic, MatMul, softmax)", () => {
    const data = fixtureTensors("ops-io.safetensors");
    const model = importOnnx(fixtureBytes("ops.onnx")).eval();
    const x = input(data);
    const y = model.forward(x);
    const probe = tensor(data.probe!.data as Float32Array, data.probe!.shape);
    const dx = model.backward(probe);
    const grads = Object.entries(data).filter(([k]) => k.startsWith("grad."));
    expect(grads.length).toBeGreaterThan(8);
    const ours = new Map(model.parameters().map((p) => [p.name, p.grad]));
    for (const [k, v] of [...grads, ["grad_x", data.grad_x!] as const]) {
      const got = k === "grad_x" ? dx : ours.get(k.slice(5));
      expect(got, k).toBeDefined();
      const want = v.data as Float32Array;
      expect(scaledError(got!.toFloat32Array(), want) / Math.max(1e-8, ...want.map(Math.abs)), k).toBeLessThan(1e-3);
    }
    for (const t of [x, y, probe, dx]) t.dispose();
    model.dispose();
  });

  it("its state dict has the initializers' names and loads back; SGD steps lower the loss; nothing leaks over 200 steps", () => {
    const torch = torchRun("resnet");
    const model = importOnnx(fixtureBytes("resnet-bn.onnx"));
    const file = fixtureTensors("resnet.safetensors");
    // The graph keeps PyTorch's names: its state dict is PyTorch's but for num_batches_tracked (not in the graph).
    expect(Object.keys(model.stateDict()).sort()).toEqual(Object.keys(file).filter((k) => !k.endsWith("num_batches_tracked")).sort());
    const optimizer = new SGD(model.parameters(), { lr: 0.05 });
    const x = tensor(torch.x.data as Float32Array, torch.x.shape);
    const step = () => {
      model.zeroGrad();
      const logits = model.forward(x);
      const { loss, grad } = softmaxCrossEntropy(logits, torch.labels);
      model.backward(grad, { inputGrad: false });
      optimizer.step();
      logits.dispose();
      grad.dispose();
      return loss;
    };
    const first = step();
    for (let i = 0; i < 8; i++) step();
    const bytes = memoryUsage().bytesInUse;
    let last = 0;
    for (let i = 0; i < 200; i++) last = step();
    expect(memoryUsage().bytesInUse).toBe(bytes);
    expect(last).toBeLessThan(first / 4);
    const { missingKeys } = model.loadStateDict(file, { strict: false });
    expect(missingKeys).toEqual([]);
    model.eval();
    const y = model.forward(x);
    expect(scaledError(y.toFloat32Array(), torch.logitsEval)).toBeLessThan(1e-4);
    for (const t of [x, y]) t.dispose();
    optimizer.dispose?.();
    model.dispose();
  });
});

/** A one-input, one-output graph of these nodes (and initializers), as bytes. */
function graph(nodes: object[], initializer: object[] = [], opset = 17): Uint8Array {
  const info = (name: string) => ({ name, type: { value: { case: "tensorType" as const, value: { elemType: TensorProto_DataType.FLOAT } } } });
  return encodeModel({
    irVersion: 8n, opsetImport: [{ domain: "", version: BigInt(opset) }],
    graph: { name: "g", node: nodes as never, initializer: initializer as never, input: [info("x")], output: [info("y")] },
  });
}

describe("importOnnx's refusals", () => {
  it("names every unsupported node at once, with its op type", () => {
    const e = caught(() => importOnnx(graph([
      { opType: "Resize", name: "up", input: ["x"], output: ["a"] },
      { opType: "Relu", name: "r", input: ["a"], output: ["b"] },
      { opType: "LSTM", name: "rnn", input: ["b"], output: ["y"] },
    ])));
    expect(e.code).toBe(ErrorCode.UNSUPPORTED);
    expect(e.message).toMatch(/Resize \(node "up"\), LSTM \(node "rnn"\)/);
  });

  it("refuses bytes that are not a model, and a truncated file", () => {
    expect(caught(() => importOnnx(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).code).toBe(ErrorCode.MODEL_FILE);
    const bytes = fixtureBytes("lenet.onnx");
    expect(caught(() => importOnnx(bytes.subarray(0, bytes.length - 1000))).code).toBe(ErrorCode.MODEL_FILE);
    expect(caught(() => importOnnx("model.onnx" as never)).code).toBe(ErrorCode.INVALID_OPTION);
  });

  it("refuses a node reading a value nothing made, an opset outside 7–20, and a weight of the wrong size", () => {
    expect(caught(() => importOnnx(graph([{ opType: "Relu", name: "r", input: ["nowhere"], output: ["y"] }]))).message).toMatch(/"nowhere"/);
    expect(caught(() => importOnnx(graph([{ opType: "Relu", name: "r", input: ["x"], output: ["y"] }], [], 21))).code).toBe(ErrorCode.UNSUPPORTED);
    const w = { name: "w", dataType: TensorProto_DataType.FLOAT, dims: [4n, 1n, 3n, 3n], rawData: new Uint8Array(4 * 9 * 4 - 4) };
    const e = caught(() => importOnnx(graph([{ opType: "Conv", name: "c", input: ["x", "w"], output: ["y"] }], [w])));
    expect(e.code).toBe(ErrorCode.MODEL_FILE);
    expect(e.message).toMatch(/36 values/);
    const huge = { name: "w", dataType: TensorProto_DataType.FLOAT, dims: [1n << 40n, 1n << 20n], rawData: new Uint8Array(16) };
    expect(caught(() => importOnnx(graph([{ opType: "Conv", name: "c", input: ["x", "w"], output: ["y"] }], [huge]))).code).toBe(ErrorCode.MODEL_FILE);
  });

  it("its output belongs to the caller's scope, as any layer's: a training loop inside scope() leaks nothing", () => {
    const model = importOnnx(fixtureBytes("lenet.onnx"));
    const x = tensor(new Float32Array(2 * 784).fill(0.5), [2, 1, 28, 28]);
    const step = () => scope(() => {
      const y = model.forward(x);
      model.backward(tensor(new Float32Array(20).fill(0.1), [2, 10]), { inputGrad: false });
      return y.shape.length;
    });
    step();
    const before = memoryUsage().bytesInUse;
    for (let i = 0; i < 20; i++) step();
    expect(memoryUsage().bytesInUse).toBe(before);
    x.dispose();
    model.dispose();
  });

  it("an input of the wrong shape fails in forward naming the node, and leaves nothing allocated", () => {
    const model = importOnnx(fixtureBytes("lenet.onnx"));
    const before = memoryUsage().bytesInUse;
    const x = tensor(new Float32Array(2 * 3 * 28 * 28), [2, 3, 28, 28]);
    const e = caught(() => model.forward(x));
    expect(e.message).toMatch(/^OnnxModel\.forward: node ".*" \(Conv\)/);
    x.dispose();
    expect(memoryUsage().bytesInUse).toBe(before);
    model.dispose();
  });
});


