// relu and reluBackward (y = max(x, 0), dx = dy·[x > 0]) and the ReLU layer.

import { runKernel } from "./conv2d.js";
import { cachedInput, requireGradShape, wantsInputGrad, type BackwardOptions, type Layer, type Parameter } from "./layer.js";
import { Tensor, allocateTensor, runtimeOf, tensorAddress } from "./tensor.js";

/** y = max(x, 0) elementwise, any shape (torch.relu; NaN stays NaN). */
export function relu(x: Tensor): Tensor {
  const runtime = runtimeOf(x, "relu", "x");
  const xAddress = tensorAddress(x, runtime, "relu", "x");
  const y = allocateTensor(runtime, x.shape, x.size);
  runKernel([y], () => runtime.kernels.reluForward(xAddress, y._address, x.size));
  return y;
}

/** dL/dx = dy where x > 0, else 0 (the gradient at 0 is 0, as in PyTorch); dy has x's shape. */
export function reluBackward(dy: Tensor, x: Tensor): Tensor {
  const where = "reluBackward";
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  requireGradShape(dy, x.shape, where);
  const dx = allocateTensor(runtime, x.shape, x.size);
  runKernel([dx], () => runtime.kernels.reluBackward(xAddress, dyAddress, dx._address, x.size));
  return dx;
}

/** The ReLU layer: no parameters; keeps its input (not a copy) for backward. */
export class ReLU implements Layer {
  private input: Tensor | null = null;

  forward(x: Tensor): Tensor {
    const y = relu(x);
    this.input = x;
    return y;
  }

  backward(dy: Tensor, options?: BackwardOptions): Tensor | null {
    const where = "ReLU.backward";
    const inputGrad = wantsInputGrad(options, where);
    const x = cachedInput(this.input, where);
    if (!inputGrad) return null;
    return reluBackward(dy, x);
  }

  parameters(): Parameter[] {
    return [];
  }

  zeroGrad(): void {}

  dispose(): void {
    this.input = null;
  }
}
