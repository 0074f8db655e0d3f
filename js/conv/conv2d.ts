// conv2d and conv2dBackward: check the arguments, allocate the outputs, run each direction's kernels on this thread (and the pool's).

import { checkGradientSelection, type GradientSelection } from "../core/checks.js";
import { runKernel, runtimeOf, type Tensor } from "../core/tensor.js";
import {
  allocateGradients, allocateOutput, backwardCalls, checkBackward, checkForward, disposeGradients, forwardCall, gradientTargets,
  type Conv2dGradients,
} from "./calls.js";
import type { Conv2dOptions } from "./geometry.js";
import { runSynchronously } from "./schedule.js";

/** out = x ⋆ w + b, exactly torch.nn.functional.conv2d (NCHW, cross-correlation). b may be null. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null | undefined, options?: Conv2dOptions): Tensor {
  return forwardConv2d(x, w, b, options, "conv2d");
}

/**
 * Gradients of L through out = conv2d(x, w, b, options), given dy = dL/dout: dx, dw and db. Pass
 * `which` to skip some (a first layer needs no dx); skipped ones are null, and typed so.
 */
export function conv2dBackward<const S extends GradientSelection = {}>(
  dy: Tensor, x: Tensor, w: Tensor, options?: Conv2dOptions, which?: S,
): Conv2dGradients<S> {
  const where = "conv2dBackward";
  const runtime = runtimeOf(dy, where, "dy");
  const checked = checkBackward(runtime, dy, x, w, options, where);
  const gradients = allocateGradients(runtime, checked.geometry, x, w, checkGradientSelection(which, where), where);
  try {
    runSynchronously(runtime, backwardCalls(checked, gradientTargets(gradients), false), where);
  } catch (error) {
    disposeGradients(gradients);
    throw error;
  }
  return gradients as unknown as Conv2dGradients<S>;
}

/** @internal conv2d with errors named by `where` (a layer's forward()). */
export function forwardConv2d(x: unknown, w: unknown, b: unknown, options: Conv2dOptions | undefined, where: string): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const checked = checkForward(runtime, x, w, b, options, where);
  // The output first: when it cannot exist, that is the error worth reporting, not the scratch.
  const out = allocateOutput(runtime, checked.geometry, where);
  runKernel([out], () => runSynchronously(runtime, [forwardCall(checked, out)], where));
  return out;
}
