// maxPool2x2 and maxPool2x2Backward (2×2 windows, stride 2, floor mode; the first maximum wins) and the MaxPool2x2 layer.

import { ErrorCode, describe, fail } from "./errors.js";
import { runKernel } from "./conv2d.js";
import { cachedInput, requireGradShape, requireRank, wantsInputGrad, type BackwardOptions, type Layer, type Parameter } from "./layer.js";
import { Tensor, allocateTensor, runtimeOf, tensorAddress } from "./tensor.js";

/** [N, C, ⌊H/2⌋, ⌊W/2⌋] for x of shape [N, C, H, W], with H, W ≥ 2. */
export function maxPool2x2OutputShape(xShape: readonly number[], where = "maxPool2x2OutputShape"): number[] {
  const [n, c, h, w] = xShape as [number, number, number, number];
  if (h < 2 || w < 2) {
    fail(ErrorCode.KERNEL_TOO_LARGE, where, "x", "an input of at least 2×2 pixels (the pooling window)", `${h}×${w} ${describe([...xShape])}`);
  }
  return [n, c, h >> 1, w >> 1];
}

/**
 * y[n,c,i,j] = max of x[n,c,2i..2i+1,2j..2j+1] (torch.nn.functional.max_pool2d(x, 2)). An odd last row
 * or column is dropped (floor mode). NaN in a window wins, as in PyTorch.
 */
export function maxPool2x2(x: Tensor): Tensor {
  const where = "maxPool2x2";
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  requireRank(x, 4, "[N, C, H, W]", where, "x");
  const shape = maxPool2x2OutputShape(x.shape, where);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const y = allocateTensor(runtime, shape, shape.reduce((a, b) => a * b, 1));
  runKernel([y], () => runtime.kernels.maxPool2x2Forward(xAddress, y._address, n * c, h, w));
  return y;
}

/**
 * dL/dx: each dy[n,c,i,j] goes to its window's maximum in x (the first one on ties, as PyTorch); every
 * other element of dx is 0. The argmax is recomputed from x, so x must be the forward input.
 */
export function maxPool2x2Backward(dy: Tensor, x: Tensor): Tensor {
  const where = "maxPool2x2Backward";
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  requireRank(x, 4, "[N, C, H, W]", where, "x");
  requireGradShape(dy, maxPool2x2OutputShape(x.shape, where), where);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const dx = allocateTensor(runtime, x.shape, x.size);
  runKernel([dx], () => runtime.kernels.maxPool2x2Backward(xAddress, dyAddress, dx._address, n * c, h, w));
  return dx;
}

/** The 2×2, stride-2 max-pooling layer (nn.MaxPool2d(2)): no parameters; keeps its input for backward. */
export class MaxPool2x2 implements Layer {
  private input: Tensor | null = null;

  forward(x: Tensor): Tensor {
    const y = maxPool2x2(x);
    this.input = x;
    return y;
  }

  backward(dy: Tensor, options?: BackwardOptions): Tensor | null {
    const where = "MaxPool2x2.backward";
    const inputGrad = wantsInputGrad(options, where);
    const x = cachedInput(this.input, where);
    if (!inputGrad) return null;
    return maxPool2x2Backward(dy, x);
  }

  parameters(): Parameter[] {
    return [];
  }

  zeroGrad(): void {}

  dispose(): void {
    this.input = null;
  }
}
