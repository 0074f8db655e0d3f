// Sequential and the parameterless layers: composition, backward through all layers, parameters, zeroGrad, memory.

import { describe, it, expect, beforeAll } from "vitest";
import {
  init, tensor, scope, conv2d, relu, maxPool2x2, reshape, linear, softmaxCrossEntropy, Sequential, Conv2d, ReLU,
  MaxPool2x2, Flatten, Linear, Adam, memoryUsage, ConvError, type Runtime, type Tensor,
} from "../../js/index.js";
import { firstMismatch } from "../reference/conv2d.js";
import { referenceLinear } from "../reference/training.js";
import { randomData } from "../helpers/setup.js";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await init();
});

const network = (seed: number) => new Sequential([
  new Conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, pad: 1, seed }), new ReLU(), new MaxPool2x2(),
  new Flatten(), new Linear({ inFeatures: 4 * 4 * 4, outFeatures: 3, seed: seed + 1 }),
]);

describe("Linear layer", () => {
  it("initialises W Kaiming-uniform and b PyTorch-style, reproducibly from the seed", () => {
    const make = (seed: number) => new Linear({ inFeatures: 50, outFeatures: 20, seed });
    const a = make(3), b = make(3), c = make(4);
    const weights = a.weight.toFloat32Array();
    const bound = Math.sqrt(6 / 50);
    expect(a.weight.shape).toEqual([20, 50]);
    expect(Math.max(...weights.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...weights.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Math.max(...a.bias!.toFloat32Array().map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(50));
    expect(b.weight.toFloat32Array()).toEqual(weights);
    expect(c.weight.toFloat32Array()).not.toEqual(weights);
    for (const layer of [a, b, c]) layer.dispose();
  });

  it("forward and backward match the reference; gradients accumulate until zeroGrad; no bias when asked", () => {
    const layer = new Linear({ inFeatures: 9, outFeatures: 6, seed: 1 });
    const xData = randomData(1, 5 * 9), dyData = randomData(2, 5 * 6);
    const ref = referenceLinear(xData, layer.weight.toFloat32Array(), layer.bias!.toFloat32Array(), 5, 9, 6, dyData);
    scope(() => {
      const x = tensor(xData, [5, 9]);
      expect(firstMismatch(layer.forward(x).toFloat32Array(), ref.y)).toBeNull();
      const dy = tensor(dyData, [5, 6]);
      expect(firstMismatch(layer.backward(dy)!.toFloat32Array(), ref.dx)).toBeNull();
      expect(layer.backward(dy, { inputGrad: false })).toBeNull();
      expect(firstMismatch(layer.weightGrad.toFloat32Array(), ref.dw.map((v) => 2 * v))).toBeNull();
      expect(firstMismatch(layer.biasGrad!.toFloat32Array(), ref.db.map((v) => 2 * v))).toBeNull();
    });
    layer.zeroGrad();
    expect(layer.weightGrad.toFloat32Array().every((v) => v === 0)).toBe(true);
    layer.dispose();
    const plain = new Linear({ inFeatures: 2, outFeatures: 2, bias: false });
    expect(plain.bias).toBeNull();
    expect(plain.parameters().map((p) => p.name)).toEqual(["weight"]);
    plain.dispose();
  });
});

describe("Sequential", () => {
  it("forward is the composition of its layers", () => {
    const model = network(5);
    const [conv, , , , dense] = model.layers as [Conv2d, ReLU, MaxPool2x2, Flatten, Linear];
    scope(() => {
      const x = tensor(randomData(3, 2 * 1 * 8 * 8), [2, 1, 8, 8]);
      const manual = linear(reshape(maxPool2x2(relu(conv2d(x, conv.weight, conv.bias, { pad: 1 }))), [2, 64]), dense.weight, dense.bias);
      expect(model.forward(x).toFloat32Array()).toEqual(manual.toFloat32Array());
    });
    model.dispose();
  });

  it("backward fills every parameter's gradient as the layers' own backward calls do", () => {
    const model = network(6);
    const layers = model.layers;
    scope(() => {
      const x = tensor(randomData(4, 2 * 1 * 8 * 8), [2, 1, 8, 8]);
      const { grad } = softmaxCrossEntropy(model.forward(x), [0, 2]);
      expect(model.backward(grad!, { inputGrad: false })).toBeNull();
      const viaModel = model.parameters().map((p) => p.grad.toFloat32Array());
      model.zeroGrad();
      expect(model.parameters().every((p) => p.grad.toFloat32Array().every((v) => v === 0))).toBe(true);
      // By hand, layer by layer, on the same cached inputs.
      model.forward(x);
      let dy = grad!;
      for (let i = layers.length - 1; i >= 0; i--) dy = layers[i]!.backward(dy, { inputGrad: i > 0 }) ?? dy;
      model.parameters().forEach((p, i) => expect(p.grad.toFloat32Array()).toEqual(viaModel[i]));
      const dx = model.backward(grad!);
      expect(dx!.shape).toEqual([2, 1, 8, 8]);
    });
    expect(model.parameters().map((p) => p.name)).toEqual(["0.weight", "0.bias", "4.weight", "4.bias"]);
    model.dispose();
  });

  it("a training loop without scope() holds steady memory: Sequential frees its activations and gradients", () => {
    const model = network(7);
    const adam = new Adam(model.parameters(), { lr: 1e-2 });
    const x = tensor(randomData(5, 4 * 64), [4, 1, 8, 8]);
    const step = () => {
      const logits = model.forward(x);
      const { loss, grad } = softmaxCrossEntropy(logits, [0, 1, 2, 0]);
      adam.zeroGrad();
      model.backward(grad!, { inputGrad: false });
      adam.step();
      logits.dispose();
      grad!.dispose();
      return loss;
    };
    const first = step();
    const held = memoryUsage(runtime).bytesInUse;
    let last = first;
    for (let i = 0; i < 200; i++) last = step();
    expect(memoryUsage(runtime).bytesInUse).toBe(held);
    // Four fixed digits-sized inputs: 200 Adam steps fit them.
    expect(last).toBeLessThan(first / 10);
    adam.dispose();
    model.dispose();
    x.dispose();
  });
});

describe("Sequential with layers that hand tensors straight back", () => {
  /** An identity layer: forward and backward return what they get. */
  class Identity extends ReLU {
    override forward(x: Tensor): Tensor {
      return x;
    }
    override backward(dy: Tensor): Tensor {
      return dy;
    }
  }

  it("keeps them alive and leaks nothing, also when a backward fails", () => {
    const before = memoryUsage(runtime).bytesInUse;
    const model = new Sequential([new Linear({ inFeatures: 3, outFeatures: 2, seed: 1 }), new Identity(), new ReLU(), new Identity()]);
    const x = tensor(randomData(1, 6), [2, 3]);
    const y = model.forward(x);
    expect(y.disposed).toBe(false);
    const dy = tensor(randomData(2, 4), [2, 2]);
    const dx = model.backward(dy)!;
    expect(dx.shape).toEqual([2, 3]);
    dx.dispose();
    // A dy of the wrong shape fails in the ReLU, after the identity handed it on: nothing is left behind.
    const wrong = tensor(randomData(3, 6), [2, 3]);
    expect(() => model.backward(wrong)).toThrow(ConvError);
    for (const t of [y, dy, wrong, x]) t.dispose();
    model.dispose();
    expect(memoryUsage(runtime).bytesInUse).toBe(before);
  });

  it("frees a gradient made between layers when the layer below fails", () => {
    const model = new Sequential([new Linear({ inFeatures: 4, outFeatures: 3, seed: 2 }), new Flatten(), new ReLU()]);
    const x = tensor(randomData(4, 8), [2, 4]);
    const y = model.forward(x);
    x.dispose(); // the first layer's cached input is gone: its backward fails after ReLU and Flatten made theirs
    const bytes = memoryUsage(runtime).bytesInUse;
    const dy = tensor(randomData(5, 6), [2, 3]);
    expect(() => model.backward(dy)).toThrow(ConvError);
    dy.dispose();
    expect(memoryUsage(runtime).bytesInUse).toBe(bytes);
    y.dispose();
    model.dispose();
  });
});
