// reshape (a copy under a new shape of the same size) and the Flatten layer ([N, …] → [N, product of the rest]).

import { ErrorCode, fail } from "../core/errors.js";
import { requireGradShape } from "../core/checks.js";
import { checkShape, shapeText, sizeOf } from "../core/shape.js";
import { allocateTensor, runKernel, runtimeOf, tensorAddress, type Tensor } from "../core/tensor.js";
import { LayerBase, type Parameter } from "./layer.js";

/**
 * The same values in the same order under another shape (same number of elements). A new tensor:
 * tensors never share memory, so disposing one can never pull the data from under another.
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return reshapeCopy(x, shape, "reshape");
}

function reshapeCopy(x: Tensor, shape: readonly number[], where: string): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const size = checkShape(shape, where, "shape");
  if (size !== x.size) {
    fail(ErrorCode.DATA_LENGTH, where, "shape", `a shape of ${x.size} elements (as x ${shapeText(x.shape)})`, `${shapeText(shape)}, ${size} elements`);
  }
  const y = allocateTensor(runtime, shape, where);
  runKernel([y], () => runtime.kernels.copyTensor(xAddress, y._address, size));
  return y;
}

/** [N, d1, d2, …] from [N, d1·d2·…]: Flatten's output shape. */
function flattened(shape: readonly number[]): number[] {
  const [batch, ...rest] = shape;
  return [batch ?? 1, sizeOf(rest)];
}

/** [N, d1, d2, …] → [N, d1·d2·…] (nn.Flatten); backward reshapes dy back. No parameters. */
export class Flatten extends LayerBase {
  protected readonly kind = "Flatten";
  private inputShape: readonly number[] | null = null;

  forward(x: Tensor): Tensor {
    const where = "Flatten.forward";
    runtimeOf(x, where, "x");
    const y = reshapeCopy(x, flattened(x.shape), where);
    this.inputShape = x.shape;
    return y;
  }

  protected inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null {
    const inputShape = this.inputShape;
    if (inputShape === null) fail(ErrorCode.INVALID_OPTION, where, "this", "a forward() call before backward()", "no cached input");
    if (!inputGrad) return null;
    runtimeOf(dy, where, "dy");
    requireGradShape(dy, flattened(inputShape), where);
    return reshapeCopy(dy, inputShape, where);
  }

  parameters(): Parameter[] {
    return [];
  }

  zeroGrad(): void {}

  dispose(): void {
    this.inputShape = null;
  }
}
