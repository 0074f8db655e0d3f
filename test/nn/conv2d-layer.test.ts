// Conv2d layer: initialisation, forward against the reference, backward accumulation, zeroGrad, parameters.

import { describe, it, expect, beforeAll } from "vitest";
import { init, createRuntime, tensor, scope, conv2dBackward, Conv2d, ConvError, ErrorCode, type Runtime } from "../../js/index.js";
import { referenceConv2d, firstMismatch } from "../reference/conv2d.js";
import { randomData } from "../helpers/setup.js";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await init();
});

describe("Conv2d", () => {
  it("initialises weights Kaiming-uniform and bias PyTorch-style, reproducibly from the seed", () => {
    const make = (seed: number) => new Conv2d({ inChannels: 6, outChannels: 8, kernelSize: [3, 5], groups: 2, seed, runtime });
    const a = make(7), b = make(7), c = make(8);
    const fanIn = 3 * 3 * 5;
    const weights = a.weight.toFloat32Array();
    expect(a.weight.shape).toEqual([8, 3, 3, 5]);
    expect(Math.max(...weights.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / fanIn));
    // Uniform on ±bound: the spread should fill most of the interval, not sit near zero.
    expect(Math.max(...weights.map(Math.abs))).toBeGreaterThan(0.9 * Math.sqrt(6 / fanIn));
    const mean = weights.reduce((s, v) => s + v, 0) / weights.length;
    expect(Math.abs(mean)).toBeLessThan(0.1 * Math.sqrt(6 / fanIn));
    expect(Math.max(...a.bias!.toFloat32Array().map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
    expect(b.weight.toFloat32Array()).toEqual(weights);
    expect(c.weight.toFloat32Array()).not.toEqual(weights);
    expect(a.weightGrad.toFloat32Array().every((v) => v === 0)).toBe(true);
    for (const layer of [a, b, c]) layer.dispose();
  });

  it("packs its weights again when they change (a write, one element, loadStateDict), other layers' calls in between", () => {
    const layers = [1, 2].map((seed) => new Conv2d({ inChannels: 8, outChannels: 16, kernelSize: 3, pad: 1, seed, runtime }));
    const x = tensor(randomData(40, 2 * 8 * 12 * 12), [2, 8, 12, 12], runtime);
    const ref = { N: 2, C: 8, H: 12, W: 12, F: 16, KH: 3, KW: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1 };
    const expectReference = (layer: Conv2d) => scope(() => {
      const y = layer.forward(x).toFloat32Array();
      expect(firstMismatch(y, referenceConv2d(ref, x.toFloat32Array(), layer.weight.toFloat32Array(), layer.bias!.toFloat32Array()).out)).toBeNull();
    });
    for (const layer of layers) expectReference(layer);
    for (const layer of layers) expectReference(layer);
    layers[0]!.weight.write(randomData(41, layers[0]!.weight.size));
    expectReference(layers[0]!);
    const one = layers[1]!.weight.toFloat32Array();
    one[one.length - 1]! += 0.5; // the last weight only: a comparison that stopped early would miss it
    layers[1]!.weight.write(one);
    expectReference(layers[1]!);
    layers[1]!.loadStateDict(layers[0]!.stateDict());
    expectReference(layers[1]!);
    expectReference(layers[0]!);
    x.dispose();
    for (const layer of layers) layer.dispose();
  });

  it("forward and backward agree with the reference; gradients accumulate until zeroGrad", () => {
    const options = { stride: 2, pad: { top: 1, bottom: 0, left: 2, right: 1 }, dilation: [1, 2] as [number, number], groups: 2 };
    const layer = new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: 3, ...options, seed: 3, runtime });
    const xData = randomData(30, 2 * 4 * 9 * 10);
    const x = tensor(xData, [2, 4, 9, 10], runtime);
    const wData = layer.weight.toFloat32Array();
    const bData = layer.bias!.toFloat32Array();
    const ref = { N: 2, C: 4, H: 9, W: 10, F: 6, KH: 3, KW: 3, strideH: 2, strideW: 2,
      padTop: 1, padBottom: 0, padLeft: 2, padRight: 1, dilationH: 1, dilationW: 2, groups: 2 };
    scope(() => {
      const y = layer.forward(x);
      const dyData = randomData(31, y.size);
      const expected = referenceConv2d(ref, xData, wData, bData, dyData);
      expect(firstMismatch(y.toFloat32Array(), expected.out)).toBeNull();
      const dy = tensor(dyData, y.shape, runtime);
      const dx = layer.backward(dy)!;
      expect(firstMismatch(dx.toFloat32Array(), expected.dx)).toBeNull();
      expect(firstMismatch(layer.weightGrad.toFloat32Array(), expected.dw)).toBeNull();
      expect(firstMismatch(layer.biasGrad!.toFloat32Array(), expected.db)).toBeNull();
      // A second backward adds the same gradients again; a first layer skips dx.
      expect(layer.backward(dy, { inputGrad: false })).toBeNull();
      expect(firstMismatch(layer.weightGrad.toFloat32Array(), expected.dw.map((v) => 2 * v))).toBeNull();
      expect(firstMismatch(layer.biasGrad!.toFloat32Array(), expected.db.map((v) => 2 * v))).toBeNull();
      layer.zeroGrad();
      expect(layer.weightGrad.toFloat32Array().every((v) => v === 0)).toBe(true);
      expect(layer.biasGrad!.toFloat32Array().every((v) => v === 0)).toBe(true);
    });
    expect(layer.parameters().map((p) => p.name)).toEqual(["weight", "bias"]);
    expect(layer.parameters()[0]!.grad).toBe(layer.weightGrad);
    x.dispose();
    layer.dispose();
  });

  it("accumulates gradients on the direct paths too (2 → 8 channels, 5×5 over rows of 20: forward, dx and dw direct)", () => {
    const layer = new Conv2d({ inChannels: 2, outChannels: 8, kernelSize: 5, pad: 2, seed: 4, runtime });
    const xData = randomData(40, 2 * 2 * 16 * 20);
    const x = tensor(xData, [2, 2, 16, 20], runtime);
    const ref = { N: 2, C: 2, H: 16, W: 20, F: 8, KH: 5, KW: 5, strideH: 1, strideW: 1,
      padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, dilationH: 1, dilationW: 1, groups: 1 };
    scope(() => {
      const y = layer.forward(x);
      const dyData = randomData(41, y.size);
      const expected = referenceConv2d(ref, xData, layer.weight.toFloat32Array(), layer.bias!.toFloat32Array(), dyData);
      expect(firstMismatch(y.toFloat32Array(), expected.out)).toBeNull();
      const dy = tensor(dyData, y.shape, runtime);
      expect(firstMismatch(layer.backward(dy)!.toFloat32Array(), expected.dx)).toBeNull();
      expect(firstMismatch(layer.weightGrad.toFloat32Array(), expected.dw)).toBeNull();
      layer.backward(dy, { inputGrad: false });
      expect(firstMismatch(layer.weightGrad.toFloat32Array(), expected.dw.map((v) => 2 * v))).toBeNull();
      expect(firstMismatch(layer.biasGrad!.toFloat32Array(), expected.db.map((v) => 2 * v))).toBeNull();
    });
    x.dispose();
    layer.dispose();
  });

  it("has no bias when asked, and checks its options at construction", () => {
    const layer = new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 1, bias: false, runtime });
    expect(layer.bias).toBeNull();
    expect(layer.parameters().map((p) => p.name)).toEqual(["weight"]);
    layer.dispose();
    const code = (fn: () => unknown) => {
      try { fn(); } catch (e) { return (e as ConvError).code; }
      return "no error";
    };
    expect(code(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2, runtime }))).toBe(ErrorCode.GROUPS);
    expect(code(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 0, runtime }))).toBe(ErrorCode.DIMENSION);
    expect(code(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 0, runtime }))).toBe(ErrorCode.STRIDE);
    expect(code(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, pad: "full" as "same", runtime }))).toBe(ErrorCode.PAD);
    expect(code(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, bias: 1 as never, runtime }))).toBe(ErrorCode.INVALID_OPTION);
    expect(code(() => new Conv2d(null as never))).toBe(ErrorCode.INVALID_OPTION);
    const fresh = new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 1, runtime });
    expect(code(() => fresh.backward(tensor([1], [1, 1, 1, 1], runtime)))).toBe(ErrorCode.INVALID_OPTION);
    fresh.dispose();
  });

  it("a backward that cannot have its memory fails before it adds anything into weightGrad and biasGrad", async () => {
    // A runtime of its own, whose scratch block refuses to grow past what dw and db need: dx (a
    // stride-2 scatter into band buffers) needs more. The memory for every direction is reserved
    // before the first runs, so the failure must come before db and dw are accumulated.
    const own = await createRuntime({ simd: "fixed" });
    const layer = new Conv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, stride: 2, pad: 1, seed: 4, runtime: own });
    const x = tensor(randomData(40, 2 * 8 * 20 * 20), [2, 8, 20, 20], own);
    const y = layer.forward(x);
    const dy = tensor(randomData(41, y.size), y.shape, own);
    conv2dBackward(dy, x, layer.weight, layer.options, { dx: false });
    const limit = own.memoryUsage().scratchBytes; // what dw and db need
    layer.backward(dy); // a first, full step: the grads are not zero
    expect(own.memoryUsage().scratchBytes).toBeGreaterThan(limit); // dx does need more
    const weightGrad = layer.weightGrad.toFloat32Array(), biasGrad = layer.biasGrad!.toFloat32Array();
    const allocator = (own as unknown as { allocator: { scratch(bytes: number, where: string): number } }).allocator;
    const scratch = allocator.scratch.bind(allocator);
    allocator.scratch = (bytes, where) => {
      if (bytes > limit) throw new ConvError(ErrorCode.OUT_OF_MEMORY, `${where}: memory: refused by the test`);
      return scratch(bytes, where);
    };
    const before = own.memoryUsage().bytesInUse;
    expect(() => layer.backward(dy)).toThrowError(/refused by the test/);
    expect(layer.weightGrad.toFloat32Array()).toEqual(weightGrad);
    expect(layer.biasGrad!.toFloat32Array()).toEqual(biasGrad);
    expect(own.memoryUsage().bytesInUse).toBe(before);
  });
});
