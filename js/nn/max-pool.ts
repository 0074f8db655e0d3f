// maxPool2x2 and maxPool2x2Backward (2×2 windows, stride 2, floor mode; the first maximum wins) and the MaxPool2x2 layer, which can also run the ReLU before it.

import { ErrorCode, fail } from "../core/errors.js";
import { requireGradShape, requireRank } from "../core/checks.js";
import { checkShape, shapeText } from "../core/shape.js";
import { allocateTensor, runKernel, runtimeOf, tensorAddress, type Tensor } from "../core/tensor.js";
import { ParameterFreeLayer } from "./layer.js";

/** [N, C, ⌊H/2⌋, ⌊W/2⌋] for x of shape [N, C, H, W], with H, W ≥ 2. */
export function maxPool2x2OutputShape(xShape: readonly number[]): number[] {
  return outputShape(xShape, "maxPool2x2OutputShape", "xShape");
}

/**
 * y[n,c,i,j] = max of x[n,c,2i..2i+1,2j..2j+1] (torch.nn.functional.max_pool2d(x, 2)). An odd last row
 * or column is dropped (floor mode). NaN in a window wins, as in PyTorch.
 */
export function maxPool2x2(x: Tensor): Tensor {
  return poolForward(x, "maxPool2x2");
}

/**
 * dL/dx: each dy[n,c,i,j] goes to its window's maximum in x (the first one on ties, as PyTorch); every
 * other element of dx is 0. The argmax is recomputed from x, so x must be the forward input.
 */
export function maxPool2x2Backward(dy: Tensor, x: Tensor): Tensor {
  return poolGradient(dy, x, "maxPool2x2Backward");
}

function outputShape(xShape: readonly number[], where: string, argument: string): number[] {
  checkShape(xShape, where, argument);
  if (xShape.length !== 4) fail(ErrorCode.RANK, where, argument, "a rank-4 shape [N, C, H, W]", shapeText(xShape));
  const [n, c, h, w] = xShape as [number, number, number, number];
  if (h < 2 || w < 2) {
    fail(ErrorCode.KERNEL_TOO_LARGE, where, argument, "an input of at least 2×2 pixels (the pooling window)", `${h}×${w} ${shapeText(xShape)}`);
  }
  // Math.floor, not >> 1: a shape's dimensions may pass 2^31, where a shift wraps (2^53 >> 1 is 0).
  return [n, c, Math.floor(h / 2), Math.floor(w / 2)];
}

function poolForward(x: Tensor, where: string, relu = false): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  requireRank(x, 4, "[N, C, H, W]", where, "x");
  const shape = outputShape(x.shape, where, "x");
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const y = allocateTensor(runtime, shape, where);
  const k = runtime.kernels;
  runKernel([y], () => (relu ? k.reluMaxPool2x2Forward(xAddress, y._address, n * c, h, w) : k.maxPool2x2Forward(xAddress, y._address, n * c, h, w)));
  return y;
}

function poolGradient(dy: Tensor, x: Tensor, where: string, relu = false): Tensor {
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  requireRank(x, 4, "[N, C, H, W]", where, "x");
  requireGradShape(dy, outputShape(x.shape, where, "x"), where);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const dx = allocateTensor(runtime, x.shape, where);
  const k = runtime.kernels;
  runKernel([dx], () => (relu
    ? k.reluMaxPool2x2Backward(xAddress, dyAddress, dx._address, n * c, h, w)
    : k.maxPool2x2Backward(xAddress, dyAddress, dx._address, n * c, h, w)));
  return dx;
}

/** The 2×2, stride-2 max-pooling layer (nn.MaxPool2d(2)): no parameters; keeps its input for backward. */
export class MaxPool2x2 extends ParameterFreeLayer {
  /** Whether the kept input is that of a ReLU before this pool (_forwardAfterRelu), not this pool's own. */
  private readonly kept: { afterRelu: boolean };

  constructor() {
    const kept = { afterRelu: false };
    super("MaxPool2x2", (x, where) => {
      const y = poolForward(x, where);
      kept.afterRelu = false;
      return y;
    }, (dy, x, where) => poolGradient(dy, x, where, kept.afterRelu));
    this.kept = kept;
  }

  /**
   * @internal maxPool2x2(relu(x)) in one pass, the ReLU's output never made: how Sequential runs a
   * ReLU followed by this pool (the same bits as the two layers; assembly/pool/max_pool_2x2.ts says
   * why). Keeps x: backward() then gives dL/dx through both, the ReLU's mask included.
   */
  _forwardAfterRelu(x: Tensor): Tensor {
    const y = poolForward(x, "MaxPool2x2.forward", true);
    this.kept.afterRelu = true;
    this._keepInput(x);
    return y;
  }
}
