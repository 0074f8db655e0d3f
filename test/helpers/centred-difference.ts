// Centred-difference gradients for the layer tests, and the norm-wise error that compares one with an analytic gradient.

import { scope, type Tensor } from "../../js/index.js";

/** dL/dθ by centred differences, θ = data written into target; L() reads the forward pass (float64 sums). Restores target. */
export function numerical(target: Tensor, data: Float32Array, loss: () => number, step: number): Float64Array {
  const grad = new Float64Array(data.length);
  const perturbed = data.slice();
  for (let i = 0; i < data.length; i++) {
    perturbed[i] = data[i]! + step;
    target.write(perturbed);
    const plus = scope(loss);
    perturbed[i] = data[i]! - step;
    target.write(perturbed);
    const minus = scope(loss);
    perturbed[i] = data[i]!;
    grad[i] = (plus - minus) / (2 * step);
  }
  target.write(data);
  return grad;
}

/** ‖a − b‖ / max(1e-8, ‖a‖ + ‖b‖): a whole gradient against its centred difference (gradcheck.test.ts says why in norm). */
export function normError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(1e-8, Math.sqrt(na) + Math.sqrt(nb));
}
