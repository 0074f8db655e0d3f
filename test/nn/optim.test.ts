// SGD (with momentum) and Adam against float64 references of torch.optim's update rules, over several steps.

import { describe, it, expect, beforeAll } from "vitest";
import { init, tensor, SGD, Adam, Linear, memoryUsage, type Parameter, type Runtime } from "../../js/index.js";
import { referenceSgdStep, referenceAdamStep } from "../reference/training.js";
import { randomData } from "../helpers/setup.js";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await init();
});

/**
 * Two parameters, 37 and 6 elements (SIMD body and scalar tail), and a fresh gradient before every step.
 * Tolerance: each step rounds a handful of float32 operations (≈ 1e-7 relative each) and the parameters
 * stay O(1), so after five steps the float32 values are within 1e-5 of the float64 ones. A wrong rule
 * (no bias correction, momentum applied twice, ε inside the root) is off by ≥ 1e-3.
 */
function runSteps(
  make: (params: Parameter[]) => { step(): void; dispose(): void },
  reference: (p: Float64Array, g: Float32Array, state: Float64Array[], t: number) => void,
) {
  const shapes = [[37], [2, 3]];
  const params: Parameter[] = shapes.map((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return { name: `p${i}`, value: tensor(randomData(10 + i, size), shape), grad: tensor(new Float32Array(size), shape) };
  });
  const expected = params.map((p) => Float64Array.from(p.value.toFloat32Array()));
  const states = params.map((p) => [new Float64Array(p.value.size), new Float64Array(p.value.size)]);
  const optimizer = make(params);
  for (let t = 1; t <= 5; t++) {
    params.forEach((p, i) => {
      const g = randomData(100 * t + i, p.value.size);
      p.grad.write(g);
      reference(expected[i]!, g, states[i]!, t);
    });
    optimizer.step();
  }
  const worst = Math.max(...params.map((p, i) => {
    const actual = p.value.toFloat32Array();
    return Math.max(...Array.from(actual, (v, k) => Math.abs(v - expected[i]![k]!)));
  }));
  optimizer.dispose();
  for (const p of params) {
    p.value.dispose();
    p.grad.dispose();
  }
  return worst;
}

describe("optimisers against the update rule", () => {
  it("SGD without momentum: p −= lr·g", () => {
    expect(runSteps((p) => new SGD(p, { lr: 0.1 }), (p, g, [v]) => referenceSgdStep(p, g, v!, 0.1, 0, 0))).toBeLessThan(1e-5);
  });

  it("SGD with momentum and weight decay, torch.optim.SGD's form", () => {
    const error = runSteps((p) => new SGD(p, { lr: 0.05, momentum: 0.9, weightDecay: 0.01 }),
      (p, g, [v]) => referenceSgdStep(p, g, v!, 0.05, 0.9, 0.01));
    expect(error).toBeLessThan(1e-5);
  });

  it("Adam with PyTorch's defaults and bias correction", () => {
    const error = runSteps((p) => new Adam(p), (p, g, [m, v], t) => referenceAdamStep(p, g, m!, v!, t, 1e-3, 0.9, 0.999, 1e-8, 0));
    expect(error).toBeLessThan(1e-5);
  });

  it("Adam with other betas, eps, weight decay and a larger rate", () => {
    const error = runSteps((p) => new Adam(p, { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }),
      (p, g, [m, v], t) => referenceAdamStep(p, g, m!, v!, t, 0.01, 0.8, 0.99, 1e-6, 0.1));
    expect(error).toBeLessThan(1e-5);
  });

  it("a wrong rule is told apart: Adam without bias correction", () => {
    const error = runSteps((p) => new Adam(p, { lr: 0.01 }), (p, g, [m, v]) => {
      for (let i = 0; i < p.length; i++) {
        m![i] = 0.9 * m![i]! + 0.1 * g[i]!;
        v![i] = 0.999 * v![i]! + 0.001 * g[i]! * g[i]!;
        p[i] = p[i]! - (0.01 * m![i]!) / (Math.sqrt(v![i]!) + 1e-8);
      }
    });
    expect(error).toBeGreaterThan(1e-3);
  });

  it("the first Adam step moves every parameter by lr against the sign of its gradient", () => {
    const p: Parameter = { name: "p", value: tensor([1, 2, 3, 4, 5], [5]), grad: tensor([0.5, -2, 1e-3, -1e-3, 30], [5]) };
    const adam = new Adam([p], { lr: 0.1 });
    adam.step();
    const moved = Array.from(p.value.toFloat32Array(), (v, i) => v - (i + 1));
    expect(moved.map((d) => Math.round(d * 1e4) / 1e4)).toEqual([-0.1, 0.1, -0.1, 0.1, -0.1]);
    adam.dispose();
    p.value.dispose();
    p.grad.dispose();
  });

  it("lr can change between steps (a schedule), zeroGrad clears gradients, dispose frees the state", () => {
    const before = memoryUsage(runtime).bytesInUse;
    const layer = new Linear({ inFeatures: 4, outFeatures: 3, seed: 2 });
    const sgd = new SGD(layer.parameters(), { lr: 1, momentum: 0.5 });
    const weights = layer.weight.toFloat32Array();
    layer.weightGrad.write(new Float32Array(12).fill(1));
    sgd.lr = 0.25;
    expect(sgd.lr).toBe(0.25);
    sgd.step();
    expect(Array.from(layer.weight.toFloat32Array(), (v, i) => v - weights[i]!).every((d) => Math.abs(d + 0.25) < 1e-6)).toBe(true);
    // Every gradient non-zero before each zeroGrad, the last parameter's (the bias) included.
    const fill = () => {
      layer.weightGrad.write(new Float32Array(12).fill(1));
      layer.biasGrad!.write(new Float32Array(3).fill(2));
    };
    fill();
    sgd.zeroGrad();
    expect(layer.weightGrad.toFloat32Array().every((v) => v === 0)).toBe(true);
    expect(layer.biasGrad!.toFloat32Array().every((v) => v === 0)).toBe(true);
    const adam = new Adam(layer.parameters());
    fill();
    adam.zeroGrad();
    expect(layer.weightGrad.toFloat32Array().every((v) => v === 0)).toBe(true);
    expect(layer.biasGrad!.toFloat32Array().every((v) => v === 0)).toBe(true);
    adam.dispose();
    sgd.dispose();
    layer.dispose();
    expect(memoryUsage(runtime).bytesInUse).toBe(before);
  });
});
