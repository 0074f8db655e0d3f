// Property test: a ReLU followed by a MaxPool2x2 in a Sequential (one fused kernel each way) against the float64 reference, and bit for bit against the two layers run apart.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { tensor, scope, Sequential, Conv2d, ReLU, MaxPool2x2, Flatten, Linear, ConvError, type Tensor } from "../../js/index.js";
import { firstMismatch } from "../reference/conv2d.js";
import { referenceMaxPool, referenceRelu } from "../reference/training.js";
import { randomData } from "../helpers/setup.js";
import { BUILDS, initBuild } from "../helpers/builds.js";

// fast-check prints the seed and the shrunk counterexample of a failure; FC_SEED replays a run.
const runs = (numRuns: number) => ({ numRuns, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined });

/** A subclass is not fused (Sequential fuses the classes themselves): the pair run as two layers, the kernels the fused one must equal. */
class ApartReLU extends ReLU {}

/** x's values: random, rounded to {−1, 0, 1} (ties, windows of zeros and of negatives), or with NaN, ±0 and −∞ sprinkled in. */
function inputData(seed: number, size: number, kind: "random" | "ties" | "special"): Float32Array {
  const data = randomData(seed, size);
  if (kind === "ties") return data.map((v) => Math.round(v));
  if (kind === "special") {
    const specials = [NaN, 0, -0, -Infinity, -1];
    for (let i = seed % 7; i < size; i += 7) data[i] = specials[i % specials.length]!;
  }
  return data;
}

function bits(t: Tensor | null): Uint32Array {
  return new Uint32Array(t!.toFloat32Array().buffer);
}

describe.each(BUILDS)("the %s build", (build) => {
  beforeAll(async () => {
    await initBuild(build);
  });

  it("Sequential([ReLU, MaxPool2x2]) equals maxPool(relu(x)) and its gradient, and the two layers apart bit for bit: odd and even sizes, ties, NaN, ±0", () => {
    const shape = fc.record({
      N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 4 }),
      H: fc.integer({ min: 2, max: 21 }), W: fc.integer({ min: 2, max: 21 }),
      kind: fc.constantFrom("random" as const, "ties" as const, "special" as const), seed: fc.nat(),
    });
    fc.assert(fc.property(shape, ({ N, C, H, W, kind, seed }) => {
      scope(() => {
        const xData = inputData(seed, N * C * H * W, kind);
        const Ho = H >> 1, Wo = W >> 1;
        const dyData = randomData(seed + 1, N * C * Ho * Wo);
        // The reference composes the two definitions: relu, then the pool of its output; back through both.
        const relu = referenceRelu(xData);
        const pool = referenceMaxPool(relu.y, N * C, H, W, dyData);
        const dx = referenceRelu(xData, pool.dx).dx;

        const x = tensor(xData, [N, C, H, W]), dy = tensor(dyData, [N, C, Ho, Wo]);
        const fused = new Sequential([new ReLU(), new MaxPool2x2()]);
        const apart = new Sequential([new ApartReLU(), new MaxPool2x2()]);
        const y = fused.forward(x), yApart = apart.forward(x);
        expect(y.shape).toEqual([N, C, Ho, Wo]);
        expect(firstMismatch(y.toFloat32Array(), pool.y)).toBeNull();
        const g = fused.backward(dy), gApart = apart.backward(dy);
        expect(firstMismatch(g.toFloat32Array(), dx)).toBeNull();
        // NaN's bits may differ between the two (an engine may canonicalise a NaN); every number's may not.
        const same = (a: Tensor, b: Tensor) => {
          const [u, v] = [bits(a), bits(b)];
          const [p, q] = [a.toFloat32Array(), b.toFloat32Array()];
          for (let i = 0; i < u.length; i++) if (u[i] !== v[i] && !(Number.isNaN(p[i]) && Number.isNaN(q[i]))) return `index ${i}: ${p[i]} ≠ ${q[i]}`;
          return null;
        };
        expect(same(y, yApart)).toBeNull();
        expect(same(g, gApart)).toBeNull();
        fused.dispose();
        apart.dispose();
      });
    }), runs(250));
  });

  it("fused first, in the middle and last, with and without the input gradient: the same outputs and gradients as apart", () => {
    scope(() => {
      const conv = (seed: number) => new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1, seed });
      const linear = () => new Linear({ inFeatures: 3 * 3 * 3, outFeatures: 4, seed: 5 });
      const networks = (Relu: typeof ReLU) => [
        new Sequential([new Relu(), new MaxPool2x2(), new Flatten(), new Linear({ inFeatures: 2 * 3 * 3, outFeatures: 4, seed: 5 })]),
        new Sequential([conv(1), new Relu(), new MaxPool2x2(), new Flatten(), linear()]),
        new Sequential([conv(2), new Relu(), new MaxPool2x2()]),
      ];
      const fused = networks(ReLU), apart = networks(ApartReLU);
      const x = tensor(inputData(3, 2 * 2 * 7 * 6, "special").map((v) => (Number.isNaN(v) ? 0 : v)), [2, 2, 7, 6]);
      fused.forEach((model, i) => {
        const y = model.forward(x), yApart = apart[i]!.forward(x);
        expect(bits(y)).toEqual(bits(yApart));
        const dy = tensor(randomData(4 + i, y.size), y.shape);
        // Both accumulate the parameters' gradients of this call too.
        for (const m of [model, apart[i]!]) expect(m.backward(dy, { inputGrad: false })).toBeNull();
        expect(bits(model.backward(dy))).toEqual(bits(apart[i]!.backward(dy)));
        model.parameters().forEach((p, k) => expect(bits(p.grad)).toEqual(bits(apart[i]!.parameters()[k]!.grad)));
      });
      for (const m of [...fused, ...apart]) m.dispose();
    });
  });

  it("the two layers' own backward after the Sequential's forward give its gradient; the pool's own forward after it is the pool's alone", () => {
    scope(() => {
      const relu = new ReLU(), pool = new MaxPool2x2();
      const model = new Sequential([relu, pool]);
      const x = tensor(inputData(8, 2 * 3 * 6 * 6, "ties"), [2, 3, 6, 6]), dy = tensor(randomData(9, 2 * 3 * 3 * 3), [2, 3, 3, 3]);
      model.forward(x);
      const viaModel = bits(model.backward(dy));
      expect(bits(relu.backward(pool.backward(dy)))).toEqual(viaModel);
      // Alone, on another input: the pool's own gradient, no ReLU's mask left over.
      const other = tensor(inputData(10, 2 * 3 * 6 * 6, "random"), [2, 3, 6, 6]);
      pool.forward(other);
      const alone = referenceMaxPool(other.toFloat32Array(), 6, 6, 6, dy.toFloat32Array());
      expect(firstMismatch(pool.backward(dy).toFloat32Array(), alone.dx)).toBeNull();
      model.dispose();
    });
  });

  it("errors name the layer the unfused pair would: the pool for a shape it cannot take, the ReLU for a disposed input", () => {
    const model = new Sequential([new ReLU(), new MaxPool2x2()]);
    const flat = tensor([1, 2, 3, 4], [4]);
    expect(() => model.forward(flat)).toThrow(/Sequential\.forward: layers\[1\], a MaxPool2x2: MaxPool2x2\.forward: x/);
    flat.dispose();
    let error: unknown;
    try { model.forward(flat); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ConvError);
    expect(String((error as Error).message)).toMatch(/layers\[0\], a ReLU: ReLU\.forward: x: expected a live tensor/);
    expect(() => new Sequential([new ReLU(), new MaxPool2x2()]).backward(tensor([1], [1, 1, 1, 1])))
      .toThrow(/layers\[1\], a MaxPool2x2: MaxPool2x2\.backward: this: expected a forward\(\) call before backward\(\)/);
    const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
    model.forward(x);
    expect(() => model.backward(tensor([1, 2, 3], [1, 1, 1, 3]))).toThrow(/layers\[1\], a MaxPool2x2: MaxPool2x2\.backward: dy/);
    model.dispose();
  });
});
