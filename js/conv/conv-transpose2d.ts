// convTranspose2d and convTranspose2dBackward, and their async twins: transposed convolution on conv2d's kernels, on this thread (and the pool's) or on the workers alone.

import { checkGradientSelection, type GradientSelection } from "../core/checks.js";
import { allocateTensor, pin, runKernel, runtimeOf, unpin, type Tensor } from "../core/tensor.js";
import { disposeGradients, gradientTargets, type Conv2dGradients } from "./calls.js";
import { runCalls, runSynchronously } from "./schedule.js";
import {
  allocateTransposedGradients, checkTransposedBackward, checkTransposedForward, transposedBackwardRun, transposedForwardRun,
  type ConvTranspose2dOptions, type TransposedRun,
} from "./transposed.js";

/**
 * y = x ⋆ᵀ w + b, exactly torch.nn.functional.conv_transpose2d (NCHW): x [N, C_in, H, W], w [C_in,
 * C_out / groups, KH, KW], b [C_out] or null; y [N, C_out, Ho, Wo] with
 * Ho = (H − 1)·s − p_t − p_b + d·(KH − 1) + outputPadding + 1. The adjoint of conv2d: conv2d's dx.
 */
export function convTranspose2d(x: Tensor, w: Tensor, b: Tensor | null | undefined, options?: ConvTranspose2dOptions): Tensor {
  return forwardConvTranspose2d(x, w, b, options, "convTranspose2d");
}

/** Gradients of L through y = convTranspose2d(x, w, b, options), given dy = dL/dy: dx, dw, db (`which` skips some, typed null). */
export function convTranspose2dBackward<const S extends GradientSelection = {}>(
  dy: Tensor, x: Tensor, w: Tensor, options?: ConvTranspose2dOptions, which?: S,
): Conv2dGradients<S> {
  const where = "convTranspose2dBackward";
  const runtime = runtimeOf(dy, where, "dy");
  const checked = checkTransposedBackward(runtime, dy, x, w, options, where);
  const gradients = allocateTransposedGradients(runtime, checked.geometry, x, w, checkGradientSelection(which, where), where);
  try {
    runTransposed(runtime, () => transposedBackwardRun(runtime, checked, gradientTargets(gradients), false, where), where);
  } catch (error) {
    disposeGradients(gradients);
    throw error;
  }
  return gradients as unknown as Conv2dGradients<S>;
}

/** convTranspose2d, awaited, on the runtime's threads. */
export async function convTranspose2dAsync(x: Tensor, w: Tensor, b: Tensor | null | undefined, options?: ConvTranspose2dOptions): Promise<Tensor> {
  return forwardConvTranspose2dAsync(x, w, b, options, "convTranspose2dAsync");
}

/** convTranspose2dBackward, awaited, on the runtime's threads. */
export async function convTranspose2dBackwardAsync<const S extends GradientSelection = {}>(
  dy: Tensor, x: Tensor, w: Tensor, options?: ConvTranspose2dOptions, which?: S,
): Promise<Conv2dGradients<S>> {
  const where = "convTranspose2dBackwardAsync";
  const runtime = runtimeOf(dy, where, "dy");
  const checked = checkTransposedBackward(runtime, dy, x, w, options, where);
  const gradients = allocateTransposedGradients(runtime, checked.geometry, x, w, checkGradientSelection(which, where), where);
  const used = [dy, x, w, gradients.dx, gradients.dw, gradients.db];
  pin(used);
  try {
    await runTransposedAsync(runtime, () => transposedBackwardRun(runtime, checked, gradientTargets(gradients), false, where), where);
  } catch (error) {
    disposeGradients(gradients);
    throw error;
  } finally {
    unpin(used);
  }
  return gradients as unknown as Conv2dGradients<S>;
}

/** @internal convTranspose2d with errors named by `where` (a layer's forward()). */
export function forwardConvTranspose2d(x: unknown, w: unknown, b: unknown, options: ConvTranspose2dOptions | undefined, where: string): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const checked = checkTransposedForward(runtime, x, w, b, options, where);
  const y = allocateTensor(runtime, checked.geometry.outShape, where);
  runKernel([y], () => runTransposed(runtime, () => transposedForwardRun(runtime, checked, y, where), where));
  return y;
}

/** @internal convTranspose2dAsync with errors named by `where`. */
export async function forwardConvTranspose2dAsync(
  x: unknown, w: unknown, b: unknown, options: ConvTranspose2dOptions | undefined, where: string,
): Promise<Tensor> {
  const runtime = runtimeOf(x, where, "x");
  const checked = checkTransposedForward(runtime, x, w, b, options, where);
  const y = allocateTensor(runtime, checked.geometry.outShape, where);
  const used = [x as Tensor, w as Tensor, b as Tensor | null, y];
  pin(used);
  try {
    await runTransposedAsync(runtime, () => transposedForwardRun(runtime, checked, y, where), where);
  } catch (error) {
    y.dispose();
    throw error;
  } finally {
    unpin(used);
  }
  return y;
}

/** @internal Makes a transposed run, runs its calls here (and on the pool), then its after-step; frees its temporaries either way. */
export function runTransposed(runtime: Parameters<typeof runSynchronously>[0], make: () => TransposedRun, where: string): void {
  const run = make();
  try {
    runSynchronously(runtime, run.calls, where);
    run.after();
  } finally {
    run.dispose();
  }
}

/** @internal The same on the workers alone. */
export async function runTransposedAsync(runtime: Parameters<typeof runCalls>[0], make: () => TransposedRun, where: string): Promise<void> {
  const run = make();
  try {
    await runCalls(runtime, run.calls, where);
    run.after();
  } finally {
    run.dispose();
  }
}
