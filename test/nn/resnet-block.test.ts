// Residual and the layers of a ResNet: the sum and its gradient, parameter names, train()/eval() through containers, and centred-difference checks of whole networks.

import { describe, it, expect, beforeAll } from "vitest";
import {
  init, tensor, scope, Residual, Sequential, Conv2d, ConvTranspose2d, BatchNorm2d, ReLU, Tanh, Sigmoid, LeakyReLU, Dropout,
  MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Linear, softmaxCrossEntropy, mseLoss, ConvError, ErrorCode, type Layer, type Tensor,
} from "../../js/index.js";
import { randomData } from "../helpers/setup.js";
import { normError, numerical } from "../helpers/centred-difference.js";

beforeAll(async () => {
  await init();
});

/** Every parameter's and the input's analytic gradient against centred differences, in norm. */
function networkErrors(model: Layer, x: Tensor, loss: (y: Tensor) => { loss: number; grad: Tensor | null }, step: number): Map<string, number> {
  const xData = x.toFloat32Array();
  const value = () => loss(model.forward(x)).loss;
  model.zeroGrad();
  const dx = scope(() => {
    const g = model.backward(loss(model.forward(x)).grad!)!;
    return g.toFloat32Array();
  });
  const errors = new Map<string, number>();
  for (const p of model.parameters()) errors.set(p.name, normError(p.grad.toFloat32Array(), numerical(p.value, p.value.toFloat32Array(), value, step)));
  errors.set("x", normError(dx, numerical(x, xData, value, step)));
  return errors;
}

/** A ResNet basic block with a downsampling shortcut (conv 1×1, stride 2, and batch norm), as torchvision's. */
function basicBlock(inC: number, outC: number, seed: number): Layer {
  return new Sequential([
    new Residual(
      new Sequential([
        new Conv2d({ inChannels: inC, outChannels: outC, kernelSize: 3, stride: 2, pad: 1, bias: false, seed }),
        new BatchNorm2d({ numFeatures: outC }), new ReLU(),
        new Conv2d({ inChannels: outC, outChannels: outC, kernelSize: 3, pad: 1, bias: false, seed: seed + 1 }),
        new BatchNorm2d({ numFeatures: outC }),
      ]),
      new Sequential([new Conv2d({ inChannels: inC, outChannels: outC, kernelSize: 1, stride: 2, bias: false, seed: seed + 2 }), new BatchNorm2d({ numFeatures: outC })]),
    ),
    new ReLU(),
  ]);
}

describe("Residual", () => {
  it("y = main(x) + x without a shortcut, main(x) + shortcut(x) with one; dx sums both paths", () => {
    scope(() => {
      const xData = randomData(1, 2 * 3 * 4 * 4), dyData = randomData(2, xData.length);
      const x = tensor(xData, [2, 3, 4, 4]), dy = tensor(dyData, [2, 3, 4, 4]);
      const identity = new Residual(new ReLU());
      const y = identity.forward(x).toFloat32Array();
      expect(y).toEqual(Float32Array.from(xData, (v) => Math.fround(Math.max(v, 0) + v)));
      expect(identity.backward(dy).toFloat32Array()).toEqual(Float32Array.from(dyData, (g, i) => Math.fround((xData[i]! > 0 ? g : 0) + g)));
      const both = new Residual(new ReLU(), new Tanh());
      both.forward(x).toFloat32Array().forEach((v, i) => expect(v).toBeCloseTo(Math.max(xData[i]!, 0) + Math.tanh(xData[i]!), 6));
      const dx = both.backward(dy).toFloat32Array();
      dx.forEach((g, i) => expect(g).toBeCloseTo((xData[i]! > 0 ? dyData[i]! : 0) + dyData[i]! * (1 - Math.tanh(xData[i]!) ** 2), 5));
      identity.dispose();
      both.dispose();
    });
  });

  it("names its parameters main.… and shortcut.…, as a PyTorch module with those attributes, inside Sequential's indices", () => {
    const block = basicBlock(2, 4, 3);
    expect(block.parameters().map((p) => p.name)).toEqual([
      "0.main.0.weight", "0.main.1.weight", "0.main.1.bias", "0.main.3.weight", "0.main.4.weight", "0.main.4.bias",
      "0.shortcut.0.weight", "0.shortcut.1.weight", "0.shortcut.1.bias",
    ]);
    block.dispose();
  });

  it("a main path that changes the shape without a shortcut is ERR_SHAPE_MISMATCH naming Residual.forward; nothing leaks", () => {
    scope(() => {
      const block = new Residual(new MaxPool2d({ kernelSize: 2 }));
      try {
        block.forward(tensor(new Float32Array(16), [1, 1, 4, 4]));
        throw new Error("no error");
      } catch (e) {
        expect(e).toBeInstanceOf(ConvError);
        expect((e as ConvError).code).toBe(ErrorCode.SHAPE_MISMATCH);
        expect((e as ConvError).message).toMatch(/^Residual\.forward/);
      }
      expect(() => new Residual({} as Layer)).toThrow(/Residual: main/);
      block.dispose();
    });
  });
});

describe("train() and eval()", () => {
  it("pass through Sequential and Residual to every layer, and return the layer", () => {
    const bn = new BatchNorm2d({ numFeatures: 2 }), drop = new Dropout({ p: 0.3 }), inner = new BatchNorm2d({ numFeatures: 2 });
    const model = new Sequential([bn, new Residual(new Sequential([inner, new ReLU()]), drop)]);
    const all = [model, bn, drop, inner];
    expect(all.map((l) => l.training)).toEqual([true, true, true, true]);
    expect(model.eval()).toBe(model);
    expect(all.map((l) => l.training)).toEqual([false, false, false, false]);
    model.train();
    expect(all.map((l) => l.training)).toEqual([true, true, true, true]);
    model.train(false);
    expect(inner.training).toBe(false);
    expect(() => model.train("no" as never)).toThrow(ConvError);
    model.dispose();
  });
});

describe("centred-difference checks of whole networks (every parameter and the input)", () => {
  it("a ResNet: conv → batch norm → ReLU → basic block with downsampling → global average pool → linear → softmax cross-entropy", () => {
    const model = new Sequential([
      new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1, bias: false, seed: 21 }), new BatchNorm2d({ numFeatures: 3 }), new ReLU(),
      basicBlock(3, 4, 22), new AdaptiveAvgPool2d(1), new Flatten(), new Linear({ inFeatures: 4, outFeatures: 3, seed: 25 }),
    ]);
    const x = tensor(randomData(26, 3 * 2 * 6 * 6), [3, 2, 6, 6]);
    // Step 1e-3: batch norm scales each perturbation up by 1/σ, and a step of 1e-2 crosses ReLU kinks.
    const errors = networkErrors(model, x, (y) => softmaxCrossEntropy(y, [0, 2, 1]), 1e-3);
    expect(errors.size).toBe(1 + 2 + 9 + 2 + 1);
    for (const [name, e] of errors) expect(e, name).toBeLessThan(1e-2);
    model.dispose();
    x.dispose();
  });

  it("a network of the smooth and pooling layers: conv → tanh → max-pool 3/2 pad 1 → sigmoid → avg-pool → leaky ReLU → transposed conv → MSE", () => {
    const model = new Sequential([
      new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, seed: 31 }), new Tanh(), new MaxPool2d({ kernelSize: 3, stride: 2, pad: 1 }),
      new Sigmoid(), new AvgPool2d({ kernelSize: 2, stride: 1, pad: 1, countIncludePad: false }), new LeakyReLU({ negativeSlope: 0.2 }),
      new ConvTranspose2d({ inChannels: 2, outChannels: 1, kernelSize: 2, stride: 2, seed: 32 }),
    ]);
    const x = tensor(randomData(33, 2 * 1 * 9 * 9), [2, 1, 9, 9]);
    scope(() => {
      const shape = model.forward(x).shape;
      const target = tensor(randomData(34, shape.reduce((a, b) => a * b, 1)), shape);
      const errors = networkErrors(model, x, (y) => mseLoss(y, target), 1e-3);
      expect(errors.size).toBe(5);
      for (const [name, e] of errors) expect(e, name).toBeLessThan(1e-2);
    });
    model.dispose();
    x.dispose();
  });

  it("fails for a batch norm whose backward forgets the mean of dy (the −Σdy/n term of dx)", () => {
    class ForgetfulBatchNorm extends BatchNorm2d {
      override backward(dy: Tensor): Tensor {
        const right = super.backward(dy)!;
        const [N, C, H, W] = dy.shape as [number, number, number, number];
        const g = dy.toFloat32Array(), out = right.toFloat32Array();
        right.dispose();
        for (let c = 0; c < C; c++) {
          let mean = 0;
          for (let n = 0; n < N; n++) for (let j = 0; j < H * W; j++) mean += g[(n * C + c) * H * W + j]!;
          mean /= N * H * W;
          for (let n = 0; n < N; n++) for (let j = 0; j < H * W; j++) { const k = (n * C + c) * H * W + j; out[k] = out[k]! + mean; }
        }
        return tensor(out, dy.shape);
      }
    }
    const model = new Sequential([
      new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, pad: 1, seed: 41 }), new ForgetfulBatchNorm({ numFeatures: 2 }), new Tanh(),
    ]);
    const x = tensor(randomData(42, 2 * 1 * 5 * 5), [2, 1, 5, 5]);
    scope(() => {
      const target = tensor(randomData(43, 2 * 2 * 5 * 5), [2, 2, 5, 5]);
      const errors = networkErrors(model, x, (y) => mseLoss(y, target), 1e-3);
      // A conv bias before batch norm has no effect (dL/db = 0); the forgotten term gives it one.
      expect(errors.get("0.bias")!).toBeGreaterThan(1e-2);
    });
    model.dispose();
    x.dispose();
  });
});
