// reshape (a copy under a new shape of the same size) and the Flatten layer ([N, …] → [N, product of the rest]).

import { ErrorCode, describe, fail } from "./errors.js";
import { runKernel } from "./conv2d.js";
import { requireGradShape, wantsInputGrad, type BackwardOptions, type Layer, type Parameter } from "./layer.js";
import { Tensor, allocateTensor, runtimeOf, tensorAddress } from "./tensor.js";

/**
 * The same values in the same order under another shape (same number of elements). A new tensor:
 * tensors never share memory, so disposing one can never pull the data from under another.
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const where = "reshape";
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  if (!Array.isArray(shape)) fail(ErrorCode.DIMENSION, where, "shape", "an array of positive integers", describe(shape));
  shape.forEach((d, i) => {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1) fail(ErrorCode.DIMENSION, where, `shape[${i}]`, "a positive integer", describe(d));
  });
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== x.size) {
    fail(ErrorCode.DATA_LENGTH, where, "shape", `a shape of ${x.size} elements (as x ${describe([...x.shape])})`, `${describe([...shape])}, ${size} elements`);
  }
  const y = allocateTensor(runtime, shape, size);
  runKernel([y], () => runtime.kernels.copyFloats(xAddress, y._address, size));
  return y;
}

/** [N, d1, d2, …] → [N, d1·d2·…] (nn.Flatten); backward reshapes dy back. No parameters. */
export class Flatten implements Layer {
  private inputShape: readonly number[] | null = null;

  forward(x: Tensor): Tensor {
    const runtime = runtimeOf(x, "Flatten.forward", "x");
    tensorAddress(x, runtime, "Flatten.forward", "x");
    const [batch, ...rest] = x.shape;
    const y = reshape(x, [batch ?? 1, rest.reduce((a, b) => a * b, 1)]);
    this.inputShape = x.shape;
    return y;
  }

  backward(dy: Tensor, options?: BackwardOptions): Tensor | null {
    const where = "Flatten.backward";
    const inputGrad = wantsInputGrad(options, where);
    if (this.inputShape === null) fail(ErrorCode.INVALID_OPTION, where, "this", "a forward() call before backward()", "no cached input");
    if (!inputGrad) return null;
    runtimeOf(dy, where, "dy");
    const [batch, ...rest] = this.inputShape;
    requireGradShape(dy, [batch!, rest.reduce((a, b) => a * b, 1)], where);
    return reshape(dy, this.inputShape);
  }

  parameters(): Parameter[] {
    return [];
  }

  zeroGrad(): void {}

  dispose(): void {
    this.inputShape = null;
  }
}
