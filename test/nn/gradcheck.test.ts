// Numerical gradient checks (centred differences) of every training layer and a whole network, and that wrong gradients fail them.

import { describe, it, expect, beforeAll } from "vitest";
import {
  init, tensor, scope, relu, reluBackward, maxPool2x2, maxPool2x2Backward, linear, linearBackward, softmaxCrossEntropy,
  reshape, relError, Sequential, Conv2d, ReLU, MaxPool2x2, Flatten, Linear, type Tensor, type LinearGradients,
} from "../../js/index.js";
import { randomData } from "../helpers/setup.js";
import { normError, numerical } from "../helpers/centred-difference.js";

/**
 * Tolerances. rel_error is cs231n's elementwise maximum. ReLU, max-pool, flatten and linear are
 * piecewise linear, so a centred difference is exact while no step crosses a kink or a tie: the data
 * keep every |x| ≥ 0.1 and window values ≥ 0.1 apart, and the step (0.01 or 1) stays inside; what is
 * left is float32 rounding of the forward pass (≈ 1e-5). Softmax cross-entropy is smooth: with h = 0.05
 * the truncation error is ≈ h²/6 ≈ 4e-4 of a gradient entry and the rounding of the float32 loss
 * (≈ 2e-7 / (2h·N)) ≈ 1e-3 of the smallest entry (logits in [−1, 1] keep every probability ≥ e⁻²/K).
 * The network is checked as a whole in norm (‖a − n‖ / (‖a‖ + ‖n‖)): its tiniest entries sit at the
 * float32 rounding floor of the loss, where an elementwise ratio means nothing. A wrong gradient is
 * off by O(1) in both measures; 1e-2 separates the two.
 */
const TOLERANCE = 1e-2;

beforeAll(async () => {
  await init();
});

/** L = Σ y·r with fixed random r: every output element takes part with its own weight. */
function weightedSum(y: Tensor, r: Float32Array): number {
  const values = y.toFloat32Array();
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * r[i]!;
  return sum;
}

/** Away from the kink at 0: |x| ≥ 0.1. */
function awayFromZero(data: Float32Array): Float32Array {
  return data.map((v) => Math.sign(v || 1) * (0.1 + Math.abs(v)));
}

/** Distinct values 0.1 apart in a seeded order: no two in a window are within a step of each other. */
function spreadValues(n: number, seed: number): Float32Array {
  const keys = randomData(seed, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a]! - keys[b]!);
  const out = new Float32Array(n);
  order.forEach((index, rank) => { out[index] = (rank - n / 2) * 0.1; });
  return out;
}

describe("gradient checks of the training layers", () => {
  const reluCheck = (backward: (dy: Tensor, x: Tensor) => Tensor) => scope(() => {
    const xData = awayFromZero(randomData(1, 2 * 3 * 5 * 5));
    const r = randomData(2, xData.length);
    const x = tensor(xData, [2, 3, 5, 5]);
    const analytic = backward(tensor(r, x.shape), x).toFloat32Array();
    return relError(analytic, numerical(x, xData, () => weightedSum(relu(x), r), 1e-2));
  });

  it("ReLU", () => {
    expect(reluCheck(reluBackward)).toBeLessThan(TOLERANCE);
  });

  it("fails for a wrong ReLU gradient (passing dy where x < 0)", () => {
    expect(reluCheck((dy) => reshape(dy, dy.shape))).toBeGreaterThan(TOLERANCE);
  });

  const poolCheck = (backward: (dy: Tensor, x: Tensor) => Tensor) => scope(() => {
    const xData = spreadValues(2 * 2 * 7 * 6, 3);
    const x = tensor(xData, [2, 2, 7, 6]);
    const r = randomData(4, 2 * 2 * 3 * 3);
    const analytic = backward(tensor(r, [2, 2, 3, 3]), x).toFloat32Array();
    return relError(analytic, numerical(x, xData, () => weightedSum(maxPool2x2(x), r), 1e-2));
  });

  it("2×2 max-pool (odd height: the dropped row gets no gradient)", () => {
    expect(poolCheck(maxPool2x2Backward)).toBeLessThan(TOLERANCE);
  });

  it("fails for a wrong max-pool gradient (always the top-left of the window)", () => {
    const topLeft = (dy: Tensor, x: Tensor) => {
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const g = dy.toFloat32Array(), out = new Float32Array(x.size);
      for (let p = 0; p < n * c; p++) for (let i = 0; i < h >> 1; i++) for (let j = 0; j < w >> 1; j++) {
        out[p * h * w + 2 * i * w + 2 * j] = g[(p * (h >> 1) + i) * (w >> 1) + j]!;
      }
      return tensor(out, x.shape);
    };
    expect(poolCheck(topLeft)).toBeGreaterThan(TOLERANCE);
  });

  const linearCheck = (backward: (dy: Tensor, x: Tensor, w: Tensor) => LinearGradients) => scope(() => {
    const [N, inF, outF] = [3, 7, 5];
    const xData = randomData(5, N * inF), wData = randomData(6, outF * inF), bData = randomData(7, outF);
    const r = randomData(8, N * outF);
    const x = tensor(xData, [N, inF]), w = tensor(wData, [outF, inF]), b = tensor(bData, [outF]);
    const g = backward(tensor(r, [N, outF]), x, w);
    const loss = () => weightedSum(linear(x, w, b), r);
    return {
      dx: relError(g.dx!.toFloat32Array(), numerical(x, xData, loss, 1)),
      dw: relError(g.dw!.toFloat32Array(), numerical(w, wData, loss, 1)),
      db: relError(g.db!.toFloat32Array(), numerical(b, bData, loss, 1)),
    };
  });

  it("linear: dx, dW and db", () => {
    const errors = linearCheck(linearBackward);
    expect(errors.dx).toBeLessThan(TOLERANCE);
    expect(errors.dw).toBeLessThan(TOLERANCE);
    expect(errors.db).toBeLessThan(TOLERANCE);
  });

  it("fails for a wrong linear gradient (db summing all rows but the last)", () => {
    const errors = linearCheck((dy, x, w) => {
      const right = linearBackward(dy, x, w);
      const [n, out] = dy.shape as [number, number];
      const values = dy.toFloat32Array(), db = new Float32Array(out);
      for (let i = 0; i < n - 1; i++) for (let o = 0; o < out; o++) db[o]! += values[i * out + o]!;
      return { ...right, db: tensor(db, [out]) };
    });
    expect(errors.db).toBeGreaterThan(TOLERANCE);
  });

  const lossCheck = (scaleGrad: number) => scope(() => {
    const [N, K] = [4, 10];
    const zData = randomData(9, N * K);
    const labels = [3, 0, 9, 3];
    const z = tensor(zData, [N, K]);
    const analytic = softmaxCrossEntropy(z, labels).grad!.toFloat32Array().map((v) => v * scaleGrad);
    return relError(analytic, numerical(z, zData, () => softmaxCrossEntropy(z, labels, { grad: false }).loss, 5e-2));
  });

  it("softmax cross-entropy (mean over the batch)", () => {
    expect(lossCheck(1)).toBeLessThan(TOLERANCE);
  });

  it("fails for a wrong softmax cross-entropy gradient (summed, not averaged, over the batch)", () => {
    expect(lossCheck(4)).toBeGreaterThan(TOLERANCE);
  });

  /** conv → ReLU → pool → flatten → linear → softmax CE; every parameter's gradient through Sequential. */
  const networkCheck = (pool: MaxPool2x2) => {
    const model = new Sequential([
      new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1, seed: 11 }), new ReLU(), pool,
      new Flatten(), new Linear({ inFeatures: 3 * 3 * 3, outFeatures: 4, seed: 12 }),
    ]);
    const labels = [1, 3];
    const x = tensor(randomData(13, 2 * 2 * 6 * 6), [2, 2, 6, 6]);
    const loss = () => softmaxCrossEntropy(model.forward(x), labels, { grad: false }).loss;
    scope(() => model.backward(softmaxCrossEntropy(model.forward(x), labels).grad!, { inputGrad: false }));
    const errors = model.parameters().map((p) => {
      const data = p.value.toFloat32Array();
      return normError(p.grad.toFloat32Array(), numerical(p.value, data, loss, 1e-2));
    });
    model.dispose();
    x.dispose();
    return errors;
  };

  it("a whole network: every parameter of conv → ReLU → max-pool → flatten → linear → softmax cross-entropy", () => {
    const errors = networkCheck(new MaxPool2x2());
    expect(errors).toHaveLength(4);
    for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
  });

  it("fails for a network whose max-pool sends its gradient to the wrong pixel", () => {
    class ShiftedPool extends MaxPool2x2 {
      override backward(dy: Tensor): Tensor {
        const right = super.backward(dy)!;
        const values = right.toFloat32Array();
        right.dispose();
        // One pixel to the right: what an off-by-one in the argmax does.
        return tensor(Float32Array.from(values, (_, i) => (i > 0 ? values[i - 1]! : 0)), right.shape);
      }
    }
    const errors = networkCheck(new ShiftedPool());
    // The conv's weight and bias gradients come through the wrong pool; the linear layer's do not.
    expect(Math.max(errors[0]!, errors[1]!)).toBeGreaterThan(TOLERANCE);
    expect(errors[2]!).toBeLessThan(TOLERANCE);
    expect(errors[3]!).toBeLessThan(TOLERANCE);
  });
});
