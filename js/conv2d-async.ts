// conv2dAsync and conv2dBackwardAsync: the same results as their synchronous twins, spread over the worker threads.

import {
  allocateGradients, allocateOutput, backwardCalls, checkBackward, checkForward, checkSelection, disposeGradients,
  forwardCall, gradientTargets, type Conv2dGradients, type GradientSelection,
} from "./conv2d.js";
import type { Conv2dOptions } from "./geometry.js";
import { runCalls } from "./schedule.js";
import { pin, runtimeOf, unpin, type Tensor } from "./tensor.js";

// The arguments are checked and the outputs allocated synchronously, so bad input still throws at
// the call; only the computation is awaited. Inputs and outputs are pinned while it runs: a dispose()
// meanwhile takes effect when the call ends, so no worker ever writes into memory given to another
// tensor. With one thread (the default, and wherever threads are missing) the work runs on the
// calling thread and the Promise simply resolves; with threads, the calling thread stays free.

/** conv2d, awaited: out = x ⋆ w + b on the runtime's threads. */
export async function conv2dAsync(x: Tensor, w: Tensor, b: Tensor | null | undefined, options?: Conv2dOptions): Promise<Tensor> {
  const where = "conv2dAsync";
  const runtime = runtimeOf(x, where, "x");
  const checked = checkForward(runtime, x, w, b, options, where);
  const out = allocateOutput(runtime, checked.geometry);
  const used = [x, w, b, out];
  pin(used);
  try {
    await runCalls(runtime, [forwardCall(checked, out)]);
  } catch (error) {
    out.dispose();
    throw error;
  } finally {
    unpin(used);
  }
  return out;
}

/** conv2dBackward, awaited: dx, dw and db (those selected) on the runtime's threads. */
export async function conv2dBackwardAsync(
  dy: Tensor, x: Tensor, w: Tensor, options?: Conv2dOptions, which?: GradientSelection,
): Promise<Conv2dGradients> {
  const where = "conv2dBackwardAsync";
  const runtime = runtimeOf(dy, where, "dy");
  const { geometry, dyAddress, xAddress, wAddress } = checkBackward(runtime, dy, x, w, options, where);
  const gradients = allocateGradients(runtime, geometry, x, w, checkSelection(which, where));
  const used = [dy, x, w, gradients.dx, gradients.dw, gradients.db];
  pin(used);
  try {
    await runCalls(runtime, backwardCalls(geometry, dyAddress, xAddress, wAddress, gradientTargets(gradients), false));
  } catch (error) {
    disposeGradients(gradients);
    throw error;
  } finally {
    unpin(used);
  }
  return gradients;
}
