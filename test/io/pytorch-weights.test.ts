// PyTorch's weights in: the LeNet and the ResNet saved by PyTorch as safetensors load by state dict into the examples' networks and give PyTorch's logits, loss, gradients and running statistics.

import { describe, it, expect, beforeAll } from "vitest";
import { init, tensor, softmaxCrossEntropy, loadSafetensors, saveSafetensors, ConvError, ErrorCode } from "wasm-conv2d";
import { leNet } from "../../examples/mnist/lenet.mjs";
import { resNet } from "../../examples/mnist/resnet.mjs";
import { fixtureBytes, scaledError, torchRun } from "../helpers/torch-fixtures.js";

// The examples import the package by its name, so this file does too (the built dist/).
beforeAll(async () => {
  await init({ simd: "fixed" });
});

const NETS = [["lenet", leNet], ["resnet", resNet]] as const;

describe.each(NETS)("PyTorch's %s", (net, build) => {
  const torch = torchRun(net);
  const file = () => loadSafetensors(fixtureBytes(`${net}.safetensors`));

  it("has exactly the state-dict keys, shapes and dtypes this library's network has", () => {
    const model = build(1);
    const ours = Object.entries(model.stateDict()).map(([k, t]) => [k, t.shape.join("×")] as const);
    const theirs = Object.entries(file()).map(([k, v]) => [k, v.shape.join("×")] as const);
    expect(new Map(ours)).toEqual(new Map(theirs));
    for (const [k, v] of Object.entries(file())) expect(v.dtype, k).toBe(k.endsWith("num_batches_tracked") ? "I64" : "F32");
    model.dispose();
  });

  it("loaded by state dict, gives PyTorch's eval-mode logits within 1e-4", () => {
    const model = build(1);
    expect(model.loadStateDict(file())).toEqual({ missingKeys: [], unexpectedKeys: [] });
    model.eval();
    const x = tensor(torch.x.data as Float32Array, torch.x.shape);
    const logits = model.forward(x);
    expect(scaledError(logits.toFloat32Array(), torch.logitsEval)).toBeLessThan(1e-4);
    x.dispose();
    model.dispose();
  });

  it("one training step from those weights gives PyTorch's loss, logits, every parameter's gradient and running statistics", () => {
    const model = build(1);
    model.loadStateDict(file());
    model.train();
    const x = tensor(torch.x.data as Float32Array, torch.x.shape);
    const logits = model.forward(x);
    expect(scaledError(logits.toFloat32Array(), torch.logitsTrain)).toBeLessThan(1e-4);
    const { loss, grad } = softmaxCrossEntropy(logits, torch.labels);
    expect(Math.abs(loss - torch.lossTrain)).toBeLessThan(1e-5 * Math.max(1, torch.lossTrain));
    model.zeroGrad();
    model.backward(grad, { inputGrad: false });
    const params = model.parameters();
    expect(params.map((p) => p.name).sort()).toEqual([...torch.grads.keys()].sort());
    for (const p of params) {
      const want = torch.grads.get(p.name)!;
      expect(scaledError(p.grad.toFloat32Array(), want) / Math.max(1e-8, Math.max(...want.map(Math.abs))) , p.name).toBeLessThan(1e-3);
    }
    const state = model.stateDict();
    for (const [name, want] of torch.afterTrain) expect(scaledError(state[name]!.toFloat32Array(), want), name).toBeLessThan(1e-5);
    for (const t of [x, logits, grad]) t.dispose();
    model.dispose();
  });

  it("saved here, the file has PyTorch's keys, dtypes and the values loaded", () => {
    const model = build(1);
    model.loadStateDict(file());
    const saved = loadSafetensors(saveSafetensors(model, { metadata: { format: "pt" } }));
    const original = file();
    expect(Object.keys(saved).sort()).toEqual(Object.keys(original).sort());
    for (const [k, v] of Object.entries(original)) {
      expect(saved[k]!.dtype, k).toBe(v.dtype);
      expect(Array.from(saved[k]!.data as ArrayLike<number | bigint>, String), k).toEqual(Array.from(v.data as ArrayLike<number | bigint>, String));
    }
    model.dispose();
  });
});

describe("loadStateDict's refusals", () => {
  const original = () => loadSafetensors(fixtureBytes("resnet.safetensors"));

  it("strict: one ERR_STATE_DICT names every missing, unexpected and wrongly shaped key, and nothing is written", () => {
    const model = resNet(1);
    const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.toFloat32Array()]));
    const dict: Record<string, unknown> = { ...original(), extra: { shape: [1], data: [0] } };
    delete dict["0.weight"];
    delete dict["8.bias"];
    dict["3.0.main.0.weight"] = { shape: [16, 16, 1, 1], data: new Float32Array(256) };
    let error: unknown;
    try {
      model.loadStateDict(dict as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConvError);
    expect((error as ConvError).code).toBe(ErrorCode.STATE_DICT);
    const message = (error as ConvError).message;
    for (const name of ['"0.weight"', '"8.bias"', '"extra"', '"3.0.main.0.weight"', "[16, 16, 3, 3]", "[16, 16, 1, 1]"]) expect(message).toContain(name);
    expect(message).toMatch(/^Sequential\.loadStateDict/);
    for (const [k, t] of Object.entries(model.stateDict())) expect(t.toFloat32Array(), k).toEqual(before[k]);
    model.dispose();
  });

  it("not strict: missing and unexpected keys are reported and skipped, the rest loaded", () => {
    const model = resNet(1);
    const dict: Record<string, unknown> = { ...original(), extra: { shape: [1], data: [0] } };
    delete dict["8.bias"];
    const result = model.loadStateDict(dict as never, { strict: false });
    expect(result).toEqual({ missingKeys: ["8.bias"], unexpectedKeys: ["extra"] });
    expect(Array.from(model.stateDict()["8.weight"]!.toFloat32Array())).toEqual(Array.from(original()["8.weight"]!.data as Float32Array));
    model.dispose();
  });

  it("refuses values that are not tensors, data of the wrong length, and bad options", () => {
    const model = leNet(1);
    const dict = { ...original() } as Record<string, unknown>;
    const lenet = loadSafetensors(fixtureBytes("lenet.safetensors")) as Record<string, unknown>;
    expect(() => model.loadStateDict({ ...lenet, "0.bias": "zeros" } as never)).toThrow(/"0\.bias".*"zeros"/);
    expect(() => model.loadStateDict({ ...lenet, "0.bias": { shape: [8], data: new Float32Array(7) } } as never)).toThrow(/7 values/);
    expect(() => model.loadStateDict(lenet as never, { strict: "yes" } as never)).toThrow(/strict/);
    expect(() => model.loadStateDict(null as never)).toThrow(ConvError);
    expect(Object.keys(dict).length).toBeGreaterThan(0);
    model.dispose();
  });
});
