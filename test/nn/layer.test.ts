// What every layer promises (js/nn/layer.ts): backward with { inputGrad: false } returns null and allocates nothing, and backward before forward is an error.

import { describe, it, expect, beforeAll } from "vitest";
import {
  init, tensor, Conv2d, Linear, ReLU, MaxPool2x2, Flatten, Sequential, ConvError, ErrorCode, type Layer, type Runtime,
} from "../../js/index.js";
import { randomData } from "../helpers/setup.js";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await init();
});

/** Each layer with an input it takes. */
const LAYERS: [string, () => Layer, number[]][] = [
  ["Conv2d", () => new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1, runtime }), [2, 2, 6, 6]],
  ["Linear", () => new Linear({ inFeatures: 5, outFeatures: 4, runtime }), [3, 5]],
  ["ReLU", () => new ReLU(), [2, 3, 4, 4]],
  ["MaxPool2x2", () => new MaxPool2x2(), [2, 3, 4, 4]],
  ["Flatten", () => new Flatten(), [2, 3, 4, 4]],
  ["Sequential", () => new Sequential([new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, runtime }), new ReLU(), new Flatten()]), [2, 2, 6, 6]],
];

describe.each(LAYERS)("%s", (_, make, shape) => {
  it("backward(dy, { inputGrad: false }) returns null and leaves no tensor behind; by default it returns dx shaped like x", () => {
    const layer = make();
    const x = tensor(randomData(1, shape.reduce((a, b) => a * b, 1)), shape, runtime);
    const y = layer.forward(x);
    const dy = tensor(randomData(2, y.size), y.shape, runtime);
    const before = runtime.memoryUsage().bytesInUse;
    expect(layer.backward(dy, { inputGrad: false })).toBeNull();
    expect(runtime.memoryUsage().bytesInUse).toBe(before);
    const dx = layer.backward(dy)!; // the Layer interface types it Tensor | null; the classes narrow it
    expect(dx.shape).toEqual(x.shape);
    for (const t of [x, y, dy, dx]) t.dispose();
    layer.dispose();
  });

  it("backward before any forward is ERR_INVALID_OPTION naming this", () => {
    const layer = make();
    const dy = tensor([1], [1], runtime);
    let error: unknown;
    try {
      layer.backward(dy);
    } catch (e) {
      error = e;
    }
    // Sequential names the layer at fault; the others themselves.
    expect(error).toBeInstanceOf(ConvError);
    expect((error as ConvError).code).toBe(ErrorCode.INVALID_OPTION);
    dy.dispose();
    layer.dispose();
  });
});
