// The error catalogue of the training layers, loss and optimisers: typed ConvErrors naming the argument, nothing left behind.

import { describe, it, expect, beforeAll } from "vitest";
import {
  init, createRuntime, tensor, relu, reluBackward, maxPool2x2, maxPool2x2Backward, maxPool2x2OutputShape, reshape, linear, linearBackward,
  softmaxCrossEntropy, countCorrect, Linear, ReLU, MaxPool2x2, Flatten, Sequential, SGD, Adam, Conv2d, memoryUsage,
  ConvError, ErrorCode, type Runtime, type Tensor,
} from "../../js/index.js";
import { randomData } from "../helpers/setup.js";

let runtime: Runtime;
let x4: Tensor, x2: Tensor, w: Tensor, b: Tensor, logits: Tensor;

beforeAll(async () => {
  runtime = await init();
  x4 = tensor(randomData(1, 2 * 3 * 4 * 4), [2, 3, 4, 4]);
  x2 = tensor(randomData(2, 2 * 6), [2, 6]);
  w = tensor(randomData(3, 5 * 6), [5, 6]);
  b = tensor(randomData(4, 5), [5]);
  logits = tensor(randomData(5, 2 * 5), [2, 5]);
});

/**
 * Runs a bad call and checks: a ConvError with the code and the argument, a message that says what was
 * expected and what came; no bytes leaked; the inputs untouched; a valid call still gives its answer.
 */
function expectConvError(bad: () => unknown, code: string, argument?: string): ConvError {
  const inputs = [x4, x2, w, b, logits].map((t) => t.toFloat32Array());
  const before = linear(x2, w, b);
  const expected = before.toFloat32Array();
  before.dispose();
  const bytes = memoryUsage(runtime).bytesInUse;
  let caught: unknown;
  try {
    bad();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConvError);
  const error = caught as ConvError;
  expect(error.code).toBe(code);
  if (argument !== undefined) expect(error.argument).toBe(argument);
  if (error.expected !== undefined) expect(error.message).toContain(error.expected);
  if (error.received !== undefined) expect(error.message).toContain(error.received);
  expect(memoryUsage(runtime).bytesInUse).toBe(bytes);
  [x4, x2, w, b, logits].forEach((t, i) => expect(t.toFloat32Array()).toEqual(inputs[i]));
  const after = linear(x2, w, b);
  expect(after.toFloat32Array()).toEqual(expected);
  after.dispose();
  return error;
}

describe("bad input to the training layers", () => {
  it("relu and reluBackward", () => {
    expectConvError(() => relu([1, 2] as never), ErrorCode.NOT_A_TENSOR, "x");
    const small = tensor([1, 2], [2]);
    expectConvError(() => reluBackward(small, x4), ErrorCode.GRAD_SHAPE, "dy");
    small.dispose();
    expectConvError(() => reluBackward(x4, small), ErrorCode.DISPOSED, "x");
    expectConvError(() => new ReLU().backward(x4), ErrorCode.INVALID_OPTION, "this");
  });

  it("max-pool: rank, too small an input, dy's shape", () => {
    const e = expectConvError(() => maxPool2x2(x2), ErrorCode.RANK, "x");
    expect(e.message).toMatch(/rank-4/);
    const thin = tensor([1, 2, 3], [1, 1, 1, 3]);
    expectConvError(() => maxPool2x2(thin), ErrorCode.KERNEL_TOO_LARGE, "x");
    thin.dispose();
    expectConvError(() => maxPool2x2OutputShape([1, 1, 5, 1]), ErrorCode.KERNEL_TOO_LARGE, "xShape");
    const wrong = tensor(new Float32Array(2 * 3 * 2 * 3), [2, 3, 2, 3]);
    const g = expectConvError(() => maxPool2x2Backward(wrong, x4), ErrorCode.GRAD_SHAPE, "dy");
    expect(g.expected).toMatch(/\[2, 3, 2, 2\]/);
    wrong.dispose();
    expectConvError(() => new MaxPool2x2().backward(x4), ErrorCode.INVALID_OPTION, "this");
  });

  it("reshape and Flatten", () => {
    expectConvError(() => reshape(x2, [5, 2]), ErrorCode.DATA_LENGTH, "shape");
    expectConvError(() => reshape(x2, [3, 0]), ErrorCode.DIMENSION, "shape[1]");
    expectConvError(() => reshape(x2, "12" as never), ErrorCode.DIMENSION, "shape");
    expectConvError(() => new Flatten().backward(x2), ErrorCode.INVALID_OPTION, "this");
    const flatten = new Flatten();
    const y = flatten.forward(x4);
    expectConvError(() => flatten.backward(x2), ErrorCode.GRAD_SHAPE, "dy");
    expectConvError(() => flatten.backward(y, { inputGrad: "yes" } as never), ErrorCode.INVALID_OPTION, "options.inputGrad");
    y.dispose();
  });

  it("linear: ranks, features, bias, dy, which", () => {
    expectConvError(() => linear(x4, w, b), ErrorCode.RANK, "x");
    expectConvError(() => linear(x2, b, null), ErrorCode.RANK, "w");
    const w7 = tensor(new Float32Array(5 * 7), [5, 7]);
    const e = expectConvError(() => linear(x2, w7, b), ErrorCode.CHANNELS, "w");
    expect(e.expected).toMatch(/= 6/);
    w7.dispose();
    const b4 = tensor([1, 2, 3, 4], [4]);
    expectConvError(() => linear(x2, w, b4), ErrorCode.BIAS, "b");
    b4.dispose();
    expectConvError(() => linearBackward(x2, x2, w), ErrorCode.GRAD_SHAPE, "dy");
    expectConvError(() => linearBackward(logits, x2, w, { dW: true } as never), ErrorCode.UNKNOWN_OPTION, "which.dW");
    expectConvError(() => linearBackward(logits, x2, w, { dx: 1 } as never), ErrorCode.INVALID_OPTION, "which.dx");
  });

  it("the Linear layer's options and backward", () => {
    expectConvError(() => new Linear({ inFeatures: 0, outFeatures: 2 }), ErrorCode.DIMENSION, "options.inFeatures");
    expectConvError(() => new Linear({ inFeatures: 2, outFeatures: 1.5 }), ErrorCode.DIMENSION, "options.outFeatures");
    expectConvError(() => new Linear({ inFeatures: 2, outFeatures: 2, bias: "no" } as never), ErrorCode.INVALID_OPTION, "options.bias");
    expectConvError(() => new Linear({ inFeatures: 2, outFeatures: 2, seed: 0.5 }), ErrorCode.INVALID_OPTION, "options.seed");
    expectConvError(() => new Linear({ in: 2, outFeatures: 2 } as never), ErrorCode.UNKNOWN_OPTION, "options.in");
    expectConvError(() => new Linear(null as never), ErrorCode.INVALID_OPTION, "options");
    const layer = new Linear({ inFeatures: 6, outFeatures: 5 });
    expectConvError(() => layer.backward(logits), ErrorCode.INVALID_OPTION, "this");
    const y = layer.forward(x2);
    expectConvError(() => layer.backward(x2), ErrorCode.GRAD_SHAPE, "dy");
    expectConvError(() => layer.forward(x4), ErrorCode.RANK, "x");
    y.dispose();
    layer.dispose();
  });

  it("softmaxCrossEntropy and countCorrect: labels of the wrong count, kind or range", () => {
    const e = expectConvError(() => softmaxCrossEntropy(logits, [0, 5]), ErrorCode.LABEL, "labels[1]");
    expect(e.expected).toMatch(/\[0, 5\)/);
    expectConvError(() => softmaxCrossEntropy(logits, [0, -1]), ErrorCode.LABEL, "labels[1]");
    expectConvError(() => softmaxCrossEntropy(logits, [0.5, 1]), ErrorCode.LABEL, "labels[0]");
    expectConvError(() => softmaxCrossEntropy(logits, [0, "1"] as never), ErrorCode.LABEL, "labels[1]");
    expectConvError(() => softmaxCrossEntropy(logits, [0]), ErrorCode.LABEL, "labels");
    expectConvError(() => softmaxCrossEntropy(logits, new Float32Array([0, 1]) as never), ErrorCode.LABEL, "labels");
    expectConvError(() => softmaxCrossEntropy(logits, "01" as never), ErrorCode.LABEL, "labels");
    expectConvError(() => softmaxCrossEntropy(x4, [0, 1]), ErrorCode.RANK, "logits");
    expectConvError(() => softmaxCrossEntropy(logits, [0, 1], { grad: 1 } as never), ErrorCode.INVALID_OPTION, "options.grad");
    expectConvError(() => softmaxCrossEntropy(logits, [0, 1], { reduction: "sum" } as never), ErrorCode.UNKNOWN_OPTION, "options.reduction");
    expectConvError(() => countCorrect(logits, new Int32Array([7, 0])), ErrorCode.LABEL, "labels[0]");
    expectConvError(() => countCorrect({} as never, [0, 0]), ErrorCode.NOT_A_TENSOR, "logits");
  });

  it("Sequential: not layers, an empty list", () => {
    expectConvError(() => new Sequential([]), ErrorCode.INVALID_OPTION, "layers");
    expectConvError(() => new Sequential([new ReLU(), {} as never]), ErrorCode.INVALID_OPTION, "layers[1]");
    expectConvError(() => new Sequential("relu" as never), ErrorCode.INVALID_OPTION, "layers");
  });

  it("Sequential frees what it made when a layer in the middle fails", () => {
    const model = new Sequential([new ReLU(), new Flatten(), new MaxPool2x2()]);
    expectConvError(() => model.forward(x4), ErrorCode.RANK, "x");
    model.dispose();
  });

  it("SGD and Adam: parameters and hyperparameters", () => {
    const layer = new Linear({ inFeatures: 6, outFeatures: 5 });
    const params = layer.parameters();
    expectConvError(() => new SGD(params, {} as never), ErrorCode.INVALID_OPTION, "options.lr");
    expectConvError(() => new SGD(params, undefined as never), ErrorCode.INVALID_OPTION, "options");
    expectConvError(() => new SGD(params, { lr: -1 }), ErrorCode.INVALID_OPTION, "options.lr");
    expectConvError(() => new SGD(params, { lr: 0.1, momentum: NaN }), ErrorCode.INVALID_OPTION, "options.momentum");
    expectConvError(() => new SGD(params, { lr: 0.1, nesterov: true } as never), ErrorCode.UNKNOWN_OPTION, "options.nesterov");
    expectConvError(() => new SGD([], { lr: 0.1 }), ErrorCode.INVALID_OPTION, "parameters");
    expectConvError(() => new Adam(params, { betas: [0.9, 1] }), ErrorCode.INVALID_OPTION, "options.betas");
    expectConvError(() => new Adam(params, { eps: 0 }), ErrorCode.INVALID_OPTION, "options.eps");
    expectConvError(() => new Adam(params, { weightDecay: -0.1 }), ErrorCode.INVALID_OPTION, "options.weightDecay");
    expectConvError(() => new Adam([{ name: "w", value: w, grad: b }]), ErrorCode.GRAD_SHAPE, "parameters[0].grad");
    expectConvError(() => new Adam([{ name: "w", value: w, grad: "g" } as never]), ErrorCode.NOT_A_TENSOR, "parameters[0].grad");
    const adam = new Adam(params);
    expectConvError(() => { adam.lr = -1; }, ErrorCode.INVALID_OPTION, "lr");
    adam.dispose();
    layer.dispose();
  });

  it("an optimiser whose parameters were disposed changes nothing", async () => {
    const a = new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 });
    const c = new Linear({ inFeatures: 6, outFeatures: 5 });
    const adam = new Adam([...c.parameters(), ...a.parameters()]);
    const before = c.weight.toFloat32Array();
    a.dispose();
    expectConvError(() => adam.step(), ErrorCode.DISPOSED, "parameters[2].value");
    expect(c.weight.toFloat32Array()).toEqual(before);
    expect(adam.stepCount).toBe(0);
    adam.dispose();
    c.dispose();
  });

  it("a layer given an input it was not built for names itself, what it was built for and what came", () => {
    const conv = new Conv2d({ inChannels: 1, outChannels: 8, kernelSize: 5, runtime });
    const three = tensor(new Float32Array(2 * 3 * 8 * 8), [2, 3, 8, 8]);
    const e = expectConvError(() => conv.forward(three), ErrorCode.CHANNELS, "x");
    expect(e.message).toBe("Conv2d.forward: x: expected [N, 1, H, W] (this Conv2d(1 → 8, 5×5) was built for inChannels = 1), received shape [2, 3, 8, 8]");
    const nhwc = tensor(new Float32Array(2 * 8 * 8 * 1), [2, 8, 8, 1]);
    expect(expectConvError(() => conv.forward(nhwc), ErrorCode.CHANNELS, "x").message).toMatch(/its last axis is 1: is x NHWC\? Conv2d takes NCHW/);
    expect(expectConvError(() => conv.forward(x2), ErrorCode.RANK, "x").message).toMatch(/^Conv2d\.forward: x: expected \[N, 1, H, W\]/);
    const dense = new Linear({ inFeatures: 4 * 5 * 5, outFeatures: 3, runtime });
    const unflattened = tensor(new Float32Array(2 * 4 * 5 * 5), [2, 4, 5, 5]);
    expect(expectConvError(() => dense.forward(unflattened), ErrorCode.RANK, "x").message).toMatch(/Linear\(100 → 3\).*add a Flatten before it/);
    const model = new Sequential([new ReLU(), conv]);
    const inModel = expectConvError(() => model.forward(three), ErrorCode.CHANNELS, "x");
    expect(inModel.message).toMatch(/^Sequential\.forward: layers\[1\], a Conv2d\(1 → 8, 5×5\): Conv2d\.forward: x: expected/);
    for (const t of [three, nhwc, unflattened]) t.dispose();
    dense.dispose();
    model.dispose();
  });

  it("tensors from another runtime", async () => {
    const other = await createRuntime();
    const foreign = tensor(randomData(9, 5 * 6), [5, 6], other);
    expectConvError(() => linear(x2, foreign, null), ErrorCode.FOREIGN_TENSOR, "w");
    foreign.dispose();
  });
});
