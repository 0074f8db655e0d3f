// relu and reluBackward (y = max(x, 0), dx = dy·[x > 0]) and the ReLU layer.

import { requireGradShape } from "../core/checks.js";
import { allocateTensor, runKernel, runtimeOf, tensorAddress, type Tensor } from "../core/tensor.js";
import { ParameterFreeLayer } from "./layer.js";

/** y = max(x, 0) elementwise, any shape (torch.relu; NaN stays NaN). */
export function relu(x: Tensor): Tensor {
  return reluForward(x, "relu");
}

/** dL/dx = dy where x > 0, else 0 (the gradient at 0 is 0, as in PyTorch); dy has x's shape. */
export function reluBackward(dy: Tensor, x: Tensor): Tensor {
  return reluGradient(dy, x, "reluBackward");
}

function reluForward(x: Tensor, where: string): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const y = allocateTensor(runtime, x.shape, where);
  runKernel([y], () => runtime.kernels.reluForward(xAddress, y._address, x.size));
  return y;
}

function reluGradient(dy: Tensor, x: Tensor, where: string): Tensor {
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  requireGradShape(dy, x.shape, where);
  const dx = allocateTensor(runtime, x.shape, where);
  runKernel([dx], () => runtime.kernels.reluBackward(xAddress, dyAddress, dx._address, x.size));
  return dx;
}

/** The ReLU layer: no parameters; keeps its input (not a copy) for backward. */
export class ReLU extends ParameterFreeLayer {
  constructor() {
    super("ReLU", reluForward, reluGradient);
  }
}
