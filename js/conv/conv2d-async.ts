// conv2dAsync and conv2dBackwardAsync: the same results as their synchronous twins, on the worker threads, the calling thread left free.

import { checkGradientSelection, type GradientSelection } from "../core/checks.js";
import { pin, runtimeOf, unpin, type Tensor } from "../core/tensor.js";
import {
  allocateGradients, allocateOutput, backwardCalls, checkBackward, checkForward, disposeGradients, forwardCall, gradientTargets,
  type Conv2dGradients,
} from "./calls.js";
import type { Conv2dOptions } from "./geometry.js";
import { runCalls } from "./schedule.js";

// The arguments are checked and the outputs allocated before anything runs, so bad input rejects
// the returned Promise at once; only the computation is awaited. Inputs and outputs are pinned while it runs: a dispose()
// meanwhile takes effect when the call ends, so no worker ever writes into memory given to another
// tensor. With one thread (the default, and wherever threads are missing) the work runs on the
// calling thread and the Promise simply resolves; with threads, the calling thread stays free.

/** conv2d, awaited: out = x ⋆ w + b on the runtime's threads. */
export async function conv2dAsync(x: Tensor, w: Tensor, b: Tensor | null | undefined, options?: Conv2dOptions): Promise<Tensor> {
  return forwardConv2dAsync(x, w, b, options, "conv2dAsync");
}

/** conv2dBackward, awaited: dx, dw and db (those selected) on the runtime's threads. */
export async function conv2dBackwardAsync<const S extends GradientSelection = {}>(
  dy: Tensor, x: Tensor, w: Tensor, options?: Conv2dOptions, which?: S,
): Promise<Conv2dGradients<S>> {
  const where = "conv2dBackwardAsync";
  const runtime = runtimeOf(dy, where, "dy");
  const checked = checkBackward(runtime, dy, x, w, options, where);
  const gradients = allocateGradients(runtime, checked.geometry, x, w, checkGradientSelection(which, where), where);
  const used = [dy, x, w, gradients.dx, gradients.dw, gradients.db];
  pin(used);
  try {
    await runCalls(runtime, backwardCalls(checked, gradientTargets(gradients), false), where);
  } catch (error) {
    disposeGradients(gradients);
    throw error;
  } finally {
    unpin(used);
  }
  return gradients as unknown as Conv2dGradients<S>;
}

/** @internal conv2dAsync with errors named by `where` (a layer's forwardAsync()). */
export async function forwardConv2dAsync(
  x: unknown, w: unknown, b: unknown, options: Conv2dOptions | undefined, where: string,
): Promise<Tensor> {
  const runtime = runtimeOf(x, where, "x");
  const checked = checkForward(runtime, x, w, b, options, where);
  const out = allocateOutput(runtime, checked.geometry, where);
  const used = [x as Tensor, w as Tensor, b as Tensor | null, out];
  pin(used);
  try {
    await runCalls(runtime, [forwardCall(checked, out)], where);
  } catch (error) {
    out.dispose();
    throw error;
  } finally {
    unpin(used);
  }
  return out;
}
